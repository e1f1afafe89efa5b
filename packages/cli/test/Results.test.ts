import type { GraphClient } from "@effect-msgraph/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Results from "../src/Results.js"

const success = (id: string, body: unknown = { id }): GraphClient.Success => ({
  _tag: "Success",
  id,
  status: 200,
  headers: { "Content-Type": "application/json", "request-id": `req-${id}` },
  body,
  attempts: 1
})

describe("Results writer", () => {
  it.effect("writes lines in the order outcomes came, each write at most the buffer and one line", () =>
    Effect.gen(function*() {
      const writes: Array<string> = []
      const writer = yield* Results.make((text) => Effect.sync(() => void writes.push(text)), { bufferBytes: 1_000 })
      const ids = Array.from({ length: 200 }, (_, i) => `r${199 - i}`)
      for (const id of ids) yield* writer.write(success(id))
      const before = writes.length
      yield* writer.flush
      const lines = writes.join("").split("\n").slice(0, -1)
      assert.deepStrictEqual(lines.map((l) => JSON.parse(l).id), ids)
      const longest = Math.max(...lines.map((l) => l.length + 1))
      for (const text of writes) assert.isAtMost(text.length, 1_000 + longest)
      // written while outcomes kept coming, not held until the end
      assert.isAbove(before, 10)
      assert.strictEqual(writer.written(), 200)
    }))

  it.effect("a failed write is kept, completes `failure`, and later lines are dropped", () =>
    Effect.gen(function*() {
      let calls = 0
      const writer = yield* Results.make(() => {
        calls++
        return Effect.fail(new Results.ResultsError({ target: "out.ndjson", reason: "ENOSPC: no space left on device" }))
      }, { bufferBytes: 1 })
      assert.isTrue(Option.isNone(yield* writer.failed))
      yield* writer.write(success("a"))
      yield* writer.write(success("b"))
      yield* writer.flush
      assert.strictEqual(calls, 1)
      const failure = yield* writer.failure
      assert.include(failure.message, "cannot write results to out.ndjson: ENOSPC")
      assert.isTrue(Option.isSome(yield* writer.failed))
      assert.strictEqual(writer.written(), 0)
    }))

  it("a line is one JSON record, with terminal controls from the response escaped", () => {
    const text = Results.line(success("x", { displayName: "evil\u001b]0;title\u0007\u202e" }))
    assert.isTrue(text.endsWith("\n"))
    assert.notMatch(text.slice(0, -1), /[\u0000-\u001f\u202e]/)
    assert.deepStrictEqual(JSON.parse(text).body, { displayName: "evil\u001b]0;title\u0007\u202e" })
  })
})
