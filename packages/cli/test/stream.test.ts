import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Writable } from "node:stream"
import { writeWaiting } from "../src/internal/stream.js"

describe("writeWaiting", () => {
  it.live("returns at once while the stream has room, and waits for 'drain' once its buffer is full", () =>
    Effect.gen(function*() {
      const pending: Array<() => void> = []
      const received: Array<string> = []
      const stream = new Writable({
        highWaterMark: 8,
        decodeStrings: false,
        write(chunk: string, _encoding, callback) {
          received.push(chunk)
          pending.push(() => callback())
        }
      })
      yield* writeWaiting(stream, "abc")
      const blocked = yield* Effect.fork(writeWaiting(stream, "0123456789"))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.isNull(blocked.unsafePoll(), "the write waits while the reader has not caught up")
      // the reader takes what was written: the buffer drains
      while (pending.length > 0) pending.shift()!()
      yield* Fiber.join(blocked)
      assert.deepStrictEqual(received, ["abc", "0123456789"])
    }))
})
