/**
 * `--out`: every outcome of a run as one NDJSON line (`OutcomeRecord` of core), in the order the
 * requests ended, to a file or to standard output.
 *
 * Lines are streamed, never collected: a writer buffers at most {@link Options.bufferBytes} (plus one
 * line) and, once that is full, writes it out before it takes the next outcome. The run waits for the
 * disk (or for the reader of a pipe), so memory stays bounded however large the output. The writer
 * only needs a `write` for text, so a journal can put the same lines elsewhere (and sync them).
 *
 * A write that fails (a full disk, a closed pipe) ends the writing: the failure is kept, later lines
 * are dropped, and `failure` completes, so that `run` can stop sending what it can no longer record.
 *
 * @since 0.1.0
 */
import { type GraphClient, OutcomeRecord } from "@effect-msgraph/core"
import { FileSystem } from "@effect/platform"
import { Data, Deferred, Effect, Option, type Scope } from "effect"
import { json, Output } from "./Output.js"

/**
 * Results could not be written: `target` is the file (or `-`), `reason` what the system said.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResultsError extends Data.TaggedError("ResultsError")<{
  readonly target: string
  readonly reason: string
}> {
  override get message() {
    return `cannot write results to ${this.target === "-" ? "standard output" : this.target}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Writer {
  /** Adds the outcome's line; when the buffer is full, waits until it is written out. */
  readonly write: (outcome: GraphClient.Outcome) => Effect.Effect<void>
  /** Adds a record's line, as `write` does an outcome's (a resumed run's earlier outcomes). */
  readonly record: (record: OutcomeRecord.OutcomeRecord) => Effect.Effect<void>
  /** Writes out what is buffered. */
  readonly flush: Effect.Effect<void>
  /** Completes with the first failed write. */
  readonly failure: Effect.Effect<ResultsError>
  /** The first failed write, if any. */
  readonly failed: Effect.Effect<Option.Option<ResultsError>>
  /** Lines written out so far (buffered lines not included). */
  readonly written: () => number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Text buffered before it is written out, in UTF-16 code units. Default {@link defaultBufferBytes}. */
  readonly bufferBytes?: number
}

/**
 * 64 KiB: one write per few hundred typical lines.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBufferBytes = 64 * 1024

/**
 * One outcome's line: its `OutcomeRecord` as JSON (`Output.json`: control and bidirectional
 * characters escaped, so the line is safe on a terminal too), then a newline.
 *
 * @since 0.1.0
 * @category formatting
 */
export const line = (outcome: GraphClient.Outcome): string => `${json(OutcomeRecord.fromOutcome(outcome))}\n`

/**
 * A writer over `write`, which receives text of whole lines.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  write: (text: string) => Effect.Effect<void, ResultsError>,
  options: Options = {}
): Effect.Effect<Writer> =>
  Effect.gen(function*() {
    const limit = options.bufferBytes ?? defaultBufferBytes
    const failure = yield* Deferred.make<ResultsError>()
    let buffer: Array<string> = []
    let size = 0
    let lines = 0
    let broken = false
    const flush = Effect.suspend(() => {
      if (buffer.length === 0 || broken) return Effect.void
      const text = buffer.join("")
      const count = buffer.length
      buffer = []
      size = 0
      return write(text).pipe(
        Effect.tap(() => void (lines += count)),
        Effect.catchAll((error) => {
          broken = true
          return Deferred.succeed(failure, error)
        }),
        Effect.asVoid
      )
    })
    const add = (text: string) =>
      Effect.suspend(() => {
        if (broken) return Effect.void
        buffer.push(text)
        size += text.length
        return size >= limit ? flush : Effect.void
      })
    return {
      write: (outcome) => Effect.suspend(() => add(line(outcome))),
      record: (record) => Effect.suspend(() => add(`${json(record)}\n`)),
      flush,
      failure: Deferred.await(failure),
      failed: Deferred.poll(failure).pipe(Effect.flatMap((polled) => Option.isNone(polled) ? Effect.succeedNone : Effect.asSome(polled.value))),
      written: () => lines
    } satisfies Writer
  })

const reasonOf = (error: { readonly message: string }) => error.message

/**
 * A writer to a file, created or emptied when opened (a file that cannot be opened fails here, before
 * anything is sent), and closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toFile = (path: string, options: Options = {}): Effect.Effect<Writer, ResultsError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = yield* fs.open(path, { flag: "w" }).pipe(Effect.mapError((e) => new ResultsError({ target: path, reason: reasonOf(e) })))
    const encoder = new TextEncoder()
    return yield* make(
      (text) => file.writeAll(encoder.encode(text)).pipe(Effect.mapError((e) => new ResultsError({ target: path, reason: reasonOf(e) }))),
      options
    )
  })

/**
 * A writer to standard output (`--out -`), through the `Output` service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toStdout = (options: Options = {}): Effect.Effect<Writer, never, Output> =>
  Effect.flatMap(Output, (output) =>
    make((text) => output.stdout(text).pipe(Effect.mapError((e) => new ResultsError({ target: "-", reason: reasonOf(e) }))), options))

/**
 * `--out TARGET`: `-` is standard output, anything else a file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (
  target: string,
  options: Options = {}
): Effect.Effect<Writer, ResultsError, FileSystem.FileSystem | Output | Scope.Scope> =>
  target === "-" ? toStdout(options) : toFile(target, options)
