// The client over an HttpClient of the user's own making: one built with `HttpClient.filterStatusOk`,
// which fails every non-2xx answer with a ResponseError. The answer is still Graph's answer, and is
// read as one: a 429 is resent, a 4xx ends BatchRejected with Graph's error.
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import type { Workload } from "@effect-msgraph/core/Workload"
import { Effect, Fiber, Layer, Option, TestClock } from "effect"
import { type Answer, type Call, fakeBatch } from "./utils/fakeBatch.js"

/** The client over the fake endpoint wrapped in `filterStatusOk`, and the calls the endpoint saw. */
const strictClient = (answer: (call: Call, index: number) => Answer) => {
  const fake = fakeBatch(answer)
  const strict = Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, HttpClient.filterStatusOk)).pipe(
    Layer.provide(fake.layer)
  )
  const layer = GraphClient.layer().pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("token"), GraphClient.layerUnthrottled, strict))
  )
  return { calls: fake.calls, layer }
}

/** Runs the workload, moving the TestClock 100 ms at a time until it ends (at most a minute). */
const runAll = (workload: Workload) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.flatMap(GraphClient.GraphClient, (graph) => graph.runAll(workload)))
    for (let i = 0; i < 600 && Option.isNone(yield* fiber.poll); i++) yield* TestClock.adjust("100 millis")
    return yield* Fiber.join(fiber)
  })

const create: Workload = [{ id: "create", method: "POST", url: "/users", body: { displayName: "Ada" } }]

describe("an HttpClient that fails non-2xx answers (filterStatusOk)", () => {
  it.effect("a batch answered 429 is resent after its Retry-After, even a POST: Graph ran none of it", () => {
    const fake = strictClient((_call, i) => i === 0 ? { _tag: "Batch", status: 429, headers: { "Retry-After": "1" } } : { _tag: "Items", item: () => undefined })
    return Effect.gen(function*() {
      const { outcomes } = yield* runAll(create)
      expect(outcomes).toMatchObject([{ _tag: "Success", id: "create", status: 200, attempts: 2 }])
      expect(fake.calls.map((c) => c.at)).toStrictEqual([0, 1_000])
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a batch answered 400 ends BatchRejected with Graph's error, sent once", () => {
    const fake = strictClient(() => ({ _tag: "Batch", status: 400 }))
    return Effect.gen(function*() {
      const { outcomes } = yield* runAll([{ id: "read", method: "GET", url: "/me" }])
      expect(outcomes).toMatchObject([{ _tag: "Failure", error: { _tag: "BatchRejected", status: 400, error: { code: "TooManyRequests" } } }])
      expect(fake.calls).toHaveLength(1)
    }).pipe(Effect.provide(fake.layer))
  })
})
