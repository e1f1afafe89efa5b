/**
 * Ending a run early (`run(workload, { stop, abandon })`), in virtual time against the in-process
 * emulator: nothing is sent after `stop`, the call in flight finishes, and the summary still comes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import type { Workload } from "@effect-msgraph/core/Workload"
import { Emulator } from "@effect-msgraph/emulator"
import { Chunk, Deferred, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"

/**
 * The client against the in-process emulator on the test's `TestClock`: these tests stop time at
 * chosen instants (a batch in flight) instead of letting a virtual clock run ahead.
 */
const inProcess = (emulator: Emulator.Emulator.Options, client: GraphClient.GraphClient.Options) =>
  GraphClient.layer(client).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("test-token"), GraphClient.layerUnthrottled)),
    Layer.provideMerge(Emulator.layerTest(emulator))
  )

// 60 independent reads: three batches of 20, one in flight at a time, each taking a second
const reads: Workload = Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, method: "GET", url: "/me" }))
const slow = { latency: { identity: { baseMillis: 1_000, jitterMillis: 0 } } } as const

/** Waits (without moving virtual time) until a batch is waiting on its answer. */
const untilInFlight = Effect.gen(function*() {
  while (Chunk.isEmpty(yield* TestClock.sleeps())) yield* Effect.yieldNow()
})

const collect = (options: (stop: Deferred.Deferred<void>, abandon: Deferred.Deferred<void>) => GraphClient.GraphClient.RunOptions) =>
  Effect.gen(function*() {
    const graph = yield* GraphClient.GraphClient
    const stop = yield* Deferred.make<void>()
    const abandon = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(Stream.runCollect(graph.run(reads, options(stop, abandon))))
    yield* untilInFlight
    return { fiber, stop, abandon }
  })

describe("GraphClient.run with stop", () => {
  it.effect("after stop, the call in flight finishes and nothing more is sent; the summary counts the rest as not run", () =>
    Effect.gen(function*() {
      const { fiber, stop } = yield* collect((stop) => ({ stop: Deferred.await(stop) }))
      yield* Deferred.succeed(stop, undefined)
      yield* TestClock.adjust("1 second")
      const events = Chunk.toArray(yield* Fiber.join(fiber))
      const summary = events.at(-1)
      const outcomes = events.filter((e) => e._tag !== "Summary")
      expect(outcomes).toHaveLength(20)
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary).toMatchObject({ _tag: "Summary", requests: 60, succeeded: 20, failed: 0, batches: 1 })
      expect((yield* Emulator.audit).length).toBe(20)
    }).pipe(Effect.provide(inProcess(slow, { concurrency: 1 }))))

  it.effect("abandon after stop: the call in flight is given up, and the run still ends with its summary", () =>
    Effect.gen(function*() {
      const { abandon, fiber, stop } = yield* collect((stop, abandon) => ({ stop: Deferred.await(stop), abandon: Deferred.await(abandon) }))
      yield* Deferred.succeed(stop, undefined)
      yield* Deferred.succeed(abandon, undefined)
      const events = Chunk.toArray(yield* Fiber.join(fiber))
      expect(events).toMatchObject([{ _tag: "Summary", requests: 60, succeeded: 0, failed: 0, batches: 1 }])
    }).pipe(Effect.provide(inProcess(slow, { concurrency: 1 }))))

  it.effect("without stop, the same run sends every batch", () =>
    Effect.gen(function*() {
      const graph = yield* GraphClient.GraphClient
      const fiber = yield* Effect.fork(Stream.runCollect(graph.run(reads)))
      yield* untilInFlight
      yield* TestClock.adjust("3 seconds")
      const events = Chunk.toArray(yield* Fiber.join(fiber))
      expect(events.at(-1)).toMatchObject({ _tag: "Summary", requests: 60, succeeded: 60, batches: 3 })
    }).pipe(Effect.provide(inProcess(slow, { concurrency: 1 }))))
})
