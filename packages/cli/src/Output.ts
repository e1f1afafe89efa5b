/**
 * Where the CLI writes: standard output for results, standard error for progress and messages, and
 * whether standard error is a terminal (the progress bar is drawn only then). A test provides
 * {@link layerMemory} and reads what was written.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Ref } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface OutputService {
  readonly stdout: (text: string) => Effect.Effect<void>
  readonly stderr: (text: string) => Effect.Effect<void>
  /** Whether standard error is a TTY. */
  readonly stderrIsTTY: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Output extends Context.Tag("@effect-msgraph/cli/Output")<Output, OutputService>() {}

/**
 * What {@link layerMemory} captured.
 *
 * @since 0.1.0
 * @category models
 */
export interface Captured {
  readonly stdout: Ref.Ref<string>
  readonly stderr: Ref.Ref<string>
}

/**
 * The process's own streams.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode: Layer.Layer<Output> = Layer.sync(Output, () => ({
  stdout: (text) => Effect.sync(() => void process.stdout.write(text)),
  stderr: (text) => Effect.sync(() => void process.stderr.write(text)),
  stderrIsTTY: process.stderr.isTTY === true
}))

/**
 * Captures both streams in memory; `stderrIsTTY` as given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: { readonly stderrIsTTY?: boolean } = {}): Effect.Effect<{ readonly service: OutputService; readonly captured: Captured }> =>
  Effect.gen(function*() {
    const stdout = yield* Ref.make("")
    const stderr = yield* Ref.make("")
    return {
      captured: { stdout, stderr },
      service: {
        stdout: (text) => Ref.update(stdout, (s) => s + text),
        stderr: (text) => Ref.update(stderr, (s) => s + text),
        stderrIsTTY: options.stderrIsTTY ?? false
      }
    }
  })

/**
 * @since 0.1.0
 * @category accessors
 */
export const stdout = (text: string): Effect.Effect<void, never, Output> => Effect.flatMap(Output, (o) => o.stdout(text))

/**
 * @since 0.1.0
 * @category accessors
 */
export const stderr = (text: string): Effect.Effect<void, never, Output> => Effect.flatMap(Output, (o) => o.stderr(text))
