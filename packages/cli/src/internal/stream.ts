/**
 * Writing to Node streams from Effect.
 *
 * @internal
 */
import { Effect } from "effect"

/**
 * Writes `text` and, when the stream's buffer is then full (`write` returned false), waits until it
 * drains, fails or closes: a slow reader of a pipe holds the writer back instead of letting output
 * pile up in memory.
 *
 * @internal
 */
export const writeWaiting = (stream: NodeJS.WritableStream, text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (stream.write(text)) return resume(Effect.void)
    const done = () => {
      stream.off("drain", done)
      stream.off("error", done)
      stream.off("close", done)
      resume(Effect.void)
    }
    stream.on("drain", done)
    stream.on("error", done)
    stream.on("close", done)
  })
