/**
 * Writing to Node streams from Effect.
 *
 * @internal
 */
import { Effect } from "effect"

/**
 * Writes `text` and waits until the stream has taken it (its write callback): a slow reader of a
 * pipe holds the writer back instead of letting output pile up in memory. Fails with the stream's
 * error when it could not be written, such as `EPIPE` once the reader of a pipe has gone (Node
 * reports it to that callback only, not as an `error` event of standard output).
 *
 * @internal
 */
export const writeWaiting = (stream: NodeJS.WritableStream, text: string): Effect.Effect<void, Error> =>
  Effect.async<void, Error>((resume) => {
    stream.write(text, (error) => resume(error === undefined || error === null ? Effect.void : Effect.fail(error)))
  })
