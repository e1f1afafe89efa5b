/**
 * Where the CLI writes: standard output for results, standard error for progress and messages, and
 * whether standard error is a terminal (the progress bar is drawn only then). A test provides
 * {@link makeMemory} and reads what was written.
 *
 * Text that came from outside (ids, URLs, file names, Graph's messages, parser messages) passes
 * through {@link escape} before it is printed, so it cannot move the cursor, clear the screen, set
 * the terminal's title or start a line of its own; {@link json} does the same for `--json`.
 *
 * @since 0.1.0
 */
import { Context, Effect, FiberRef, HashSet, Layer, Logger, Ref } from "effect"
import { writeWaiting } from "./internal/stream.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface OutputService {
  /** Fails when standard output cannot be written (a pipe whose reader has gone). */
  readonly stdout: (text: string) => Effect.Effect<void, Error>
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
 * The process's own streams. A write to standard output waits until the stream has taken it
 * (results can be large: `--out -`), and fails when it cannot be written.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode: Layer.Layer<Output> = Layer.sync(Output, () => {
  // a write's failure (EPIPE) is its callback's, which `stdout` reports; as an event it would be
  // an uncaught error that ends the process before the run can stop cleanly
  if (process.stdout.listenerCount("error") === 0) process.stdout.on("error", () => {})
  return {
    stdout: (text) => writeWaiting(process.stdout, text),
    stderr: (text) => Effect.sync(() => void process.stderr.write(text)),
    stderrIsTTY: process.stderr.isTTY === true
  }
})

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
 * Runs `effect` with its output captured in memory ({@link makeMemory}): its result, and what it
 * wrote to standard output and standard error. For tests and tools that read what a command prints.
 *
 * @since 0.1.0
 * @category constructors
 */
export const capture = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly stderrIsTTY?: boolean } = {}
): Effect.Effect<{ readonly value: A; readonly stdout: string; readonly stderr: string }, E, Exclude<R, Output>> =>
  Effect.gen(function*() {
    const memory = yield* makeMemory(options)
    const value = yield* Effect.provideService(effect, Output, memory.service)
    return { value, stdout: yield* Ref.get(memory.captured.stdout), stderr: yield* Ref.get(memory.captured.stderr) }
  })

/**
 * Log lines (the Redis quota store's warnings, say) on standard error, escaped: standard output
 * carries the report, `--json` and `--out -`, which a log line there would corrupt.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLogger: Layer.Layer<never, never, Output> = Layer.scopedDiscard(
  Effect.flatMap(Output, (output) =>
    // the only logger: `NodeRuntime.runMain` installs one that prints to standard output
    Effect.locallyScoped(
      FiberRef.currentLoggers,
      HashSet.make(Logger.make(({ logLevel, message }) => {
        const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
        Effect.runSync(output.stderr(`${logLevel.label}: ${escape(text)}\n`))
      }))
    ))
)

/**
 * Writes to standard output; a failure is dropped (a report nobody reads any more). `--out -`
 * writes through the service's own `stdout`, which says when it fails (see `Results.toStdout`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const stdout = (text: string): Effect.Effect<void, never, Output> => Effect.flatMap(Output, (o) => Effect.ignore(o.stdout(text)))

/**
 * @since 0.1.0
 * @category accessors
 */
export const stderr = (text: string): Effect.Effect<void, never, Output> => Effect.flatMap(Output, (o) => o.stderr(text))

/**
 * C0 controls (newline and tab included), DEL, C1 controls, the line and paragraph separators, and
 * the bidirectional marks, embeddings, overrides and isolates.
 */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const escaped = (c: string): string => {
  switch (c) {
    case "\n":
      return "\\n"
    case "\r":
      return "\\r"
    case "\t":
      return "\\t"
    default:
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  }
}

/**
 * Outside text made safe to print in a line: every control or bidirectional character becomes a
 * visible escape (`\n`, `\t`, `\u001b`, `\u202e`), so the text stays on its line and reads as
 * written. Nothing else changes, and text without such characters comes back as it was (escaping
 * twice is escaping once).
 *
 * @since 0.1.0
 * @category formatting
 */
export const escape = (text: string): string => text.replace(unsafe, escaped)

/**
 * `JSON.stringify`, with the characters it leaves raw (DEL, C1, the line and paragraph separators
 * and the bidirectional controls) written as `\uXXXX` escapes too: the same JSON value, and nothing
 * a terminal would act on. Such characters occur only inside strings, where the escape is valid.
 *
 * @since 0.1.0
 * @category formatting
 */
export const json = (value: unknown): string => JSON.stringify(value).replace(unsafe, escaped)
