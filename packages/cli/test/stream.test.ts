import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber } from "effect"
import { Writable } from "node:stream"
import { writeWaiting } from "../src/internal/stream.js"

describe("writeWaiting", () => {
  it.live("waits until the stream has taken the text: a slow reader holds the writer back", () =>
    Effect.gen(function*() {
      const pending: Array<() => void> = []
      const received: Array<string> = []
      const stream = new Writable({
        decodeStrings: false,
        write(chunk: string, _encoding, callback) {
          received.push(chunk)
          pending.push(() => callback())
        }
      })
      const blocked = yield* Effect.fork(writeWaiting(stream, "0123456789"))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.isNull(blocked.unsafePoll(), "the write waits while the reader has not taken it")
      // the reader takes what was written
      while (pending.length > 0) pending.shift()!()
      yield* Fiber.join(blocked)
      assert.deepStrictEqual(received, ["0123456789"])
    }))

  it.live("fails with the stream's error, such as EPIPE once the reader of a pipe has gone", () =>
    Effect.gen(function*() {
      const stream = new Writable({
        write(_chunk, _encoding, callback) {
          callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))
        }
      })
      stream.on("error", () => {})
      const result = yield* Effect.either(writeWaiting(stream, "abc"))
      assert.isTrue(Either.isLeft(result))
      assert.include(Either.isLeft(result) ? result.left.message : "", "EPIPE")
    }))
})
