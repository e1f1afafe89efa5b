// The adaptive in-flight limit end to end, in virtual time: against a `$batch` endpoint whose
// latency grows with the items in flight beyond a knee (and that refuses beyond a ceiling), in-flight
// work settles near the knee rather than at the client's ceiling, at the same throughput; and a
// mailbox sync over several mailboxes gets more than 4 batches in flight, with no 429; under
// throttled admission the limit opens to what admission lets through.
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import * as VirtualClock from "@effect-msgraph/core/VirtualClock"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Examples, Simulation } from "@effect-msgraph/cli"
import { Emulator, Latency } from "@effect-msgraph/emulator"
import { HttpClient } from "@effect/platform"
import { Clock, Duration, Effect, Fiber, Layer } from "effect"
import { batchAnswer, batchIds } from "./utils/fakeBatch.js"

/** What the loaded endpoint saw. */
interface Load {
  /** Items in flight now, and the most at once. */
  items: number
  peakItems: number
  /** Calls in flight now, the most at once, and their integral over time (for the time average). */
  calls: number
  peakCalls: number
  callMillis: number
  lastChange: number
  refused: number
}

/**
 * A `$batch` endpoint under load, written for this test (processor sharing, as a service with
 * `knee` workers): a call's items take `itemMillis × max(1, n / knee)` where `n` is the items in
 * flight once they arrive, after a round trip of `roundTripMillis`; while `ceiling` items are in
 * flight, further items answer 503 with Retry-After: 1. Every other item answers 200.
 */
const loadedEndpoint = (options: { knee: number; ceiling: number; itemMillis: number; roundTripMillis: number }) => {
  const load: Load = { items: 0, peakItems: 0, calls: 0, peakCalls: 0, callMillis: 0, lastChange: 0, refused: 0 }
  const account = (now: number, calls: number) => {
    load.callMillis += load.calls * (now - load.lastChange)
    load.lastChange = now
    load.calls += calls
    load.peakCalls = Math.max(load.peakCalls, load.calls)
  }
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.gen(function*() {
        const ids = batchIds(request)
        account(yield* Clock.currentTimeMillis, 1)
        const admitted = Math.max(0, Math.min(ids.length, options.ceiling - load.items))
        load.refused += ids.length - admitted
        load.items += admitted
        load.peakItems = Math.max(load.peakItems, load.items)
        const slowdown = Math.max(1, load.items / options.knee)
        yield* Effect.sleep(Duration.millis(options.roundTripMillis + options.itemMillis * slowdown))
        load.items -= admitted
        account(yield* Clock.currentTimeMillis, -1)
        const json = { "content-type": "application/json" }
        const responses = ids.map((id, i) =>
          i < admitted
            ? { id, status: 200, headers: json, body: { id } }
            : { id, status: 503, headers: { ...json, "Retry-After": "1" }, body: { error: { code: "serviceNotAvailable", message: "busy" } } }
        )
        return batchAnswer(request, responses)
      })
    )
  )
  return { load, layer }
}

const users = (n: number): ReadonlyArray<WorkloadRequest> =>
  Array.from({ length: n }, (_, i) => ({ id: `u${i}`, method: "GET", url: `/users/u${i}?$select=id` }))

/** Runs the workload with the client's options against a fresh loaded endpoint, in a virtual world of its own. */
const runLoaded = (options: GraphClient.GraphClient.Options, workload: ReadonlyArray<WorkloadRequest>) => {
  const endpoint = loadedEndpoint({ knee: 100, ceiling: 400, itemMillis: 200, roundTripMillis: 50 })
  const client = GraphClient.layer(options).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("token"), GraphClient.layerUnthrottled, endpoint.layer))
  )
  return VirtualClock.run(Effect.gen(function*() {
    const { outcomes, summary } = yield* Effect.flatMap(GraphClient.GraphClient, (graph) => graph.runAll(workload))
    return { outcomes, summary, load: endpoint.load }
  }).pipe(Effect.provide(client))).pipe(Effect.orDie)
}

describe("in-flight work", () => {
  it.effect("against latency that grows beyond a knee, in-flight work settles near the knee, not at the ceiling, at the service's throughput, where a fixed 64 is refused", () =>
    Effect.gen(function*() {
      const workload = users(8_000) // 400 batches of 20
      const adaptive = yield* runLoaded({}, workload)
      const fixed = yield* runLoaded({ concurrency: 64 }, workload)
      expect(adaptive.outcomes.every((o) => o._tag === "Success")).toBe(true)
      // the knee is 100 items: 5 batches of 20; the client's ceiling is 64 batches
      const averageCalls = adaptive.load.callMillis / adaptive.summary.durationMs
      expect(adaptive.summary.inFlight!.peak).toBeGreaterThan(4)
      expect(adaptive.summary.inFlight!.peak).toBeLessThanOrEqual(15)
      expect(averageCalls).toBeGreaterThan(4)
      expect(averageCalls).toBeLessThan(12)
      // the ceiling (400 items in flight) is never reached: nothing refused
      expect(adaptive.load.refused).toBe(0)
      // the service serves 100 items per 200 ms however many wait: 8,000 items take 16 s at best
      expect(adaptive.summary.durationMs).toBeLessThan(16_000 * 1.2)
      // a fixed 64 pushes 1,280 items at it: refusals, and requests that run out of attempts
      expect(fixed.summary.inFlight!.peak).toBeGreaterThan(20)
      expect(fixed.load.refused).toBeGreaterThan(0)
      expect(fixed.summary.failed).toBeGreaterThan(0)
    }), { timeout: 120_000 })

  it.effect("a fixed concurrency keeps the gate fixed: never more calls in flight than it says", () =>
    Effect.gen(function*() {
      const run = yield* runLoaded({ concurrency: 3 }, users(2_000))
      expect(run.summary.inFlight).toEqual({ limit: 3, peak: 3 })
    }), { timeout: 60_000 })

  it.effect("the bound on calls in flight is the client's: execute from many fibers and concurrent runs share it", () =>
    Effect.gen(function*() {
      const endpoint = loadedEndpoint({ knee: 100, ceiling: 400, itemMillis: 200, roundTripMillis: 50 })
      const client = GraphClient.layer({ concurrency: 3 }).pipe(
        Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("token"), GraphClient.layerUnthrottled, endpoint.layer))
      )
      const { runs } = yield* VirtualClock.run(Effect.gen(function*() {
        const graph = yield* GraphClient.GraphClient
        // 100 fibers with one call each: 100 $batch calls, since batching happens within one fiber
        const fibers = yield* Effect.forEach(users(100), (request) => Effect.fork(graph.execute(request)))
        // and three workloads at once
        const runs = yield* Effect.all([graph.runAll(users(200)), graph.runAll(users(200)), graph.runAll(users(200))], {
          concurrency: "unbounded"
        })
        yield* Effect.forEach(fibers, Fiber.join)
        return { runs }
      }).pipe(Effect.provide(client))).pipe(Effect.orDie)
      expect(runs.every((run) => run.summary.succeeded === 200)).toBe(true)
      expect(endpoint.load.peakCalls).toBe(3)
      // each run's summary counts its own calls in flight, under the client's limit
      expect(runs.map((run) => run.summary.inFlight!.limit)).toEqual([3, 3, 3])
      expect(runs.every((run) => run.summary.inFlight!.peak >= 1 && run.summary.inFlight!.peak <= 3)).toBe(true)
    }), { timeout: 60_000 })

  it.effect("maxConcurrency caps the adaptive limit", () =>
    Effect.gen(function*() {
      const run = yield* runLoaded({ maxConcurrency: 3 }, users(2_000))
      expect(run.summary.inFlight!.peak).toBeLessThanOrEqual(3)
      expect(run.summary.inFlight!.limit).toBeLessThanOrEqual(3)
    }), { timeout: 60_000 })

  it.effect("a mailbox sync over 12 mailboxes gets more than 4 batches in flight, no 429, and ends sooner than with 4", () =>
    Effect.gen(function*() {
      // 12 mailboxes of 200 requests: Outlook runs 4 at a time per mailbox, so one batch per mailbox
      const workload = Examples.mailboxSync({ mailboxes: 12, busy: 12, busyRequests: 200 })
      const adaptive = yield* Simulation.simulate(workload)
      const four = yield* Simulation.simulate(workload, { client: { concurrency: 4 } })
      expect(adaptive.summary.failed).toBe(0)
      expect(adaptive.summary.throttled429).toBe(0)
      expect(adaptive.report.limitViolations).toBe(0)
      expect(adaptive.summary.inFlight!.peak).toBeGreaterThan(4)
      expect(four.summary.inFlight!.peak).toBeLessThanOrEqual(4)
      expect(adaptive.summary.durationMs).toBeLessThan(four.summary.durationMs)
    }).pipe(Effect.orDie), { timeout: 300_000 })
  it.effect("under throttled admission the limit opens beyond 4 to what admission and the identity allowance let through: onboarding ends sooner than with a fixed 4", () =>
    Effect.gen(function*() {
      // 200 users: each level of the chains (create, license, member, welcome) is 10 or 11 batches
      const workload = Examples.onboarding(200)
      const opened = yield* Simulation.simulate(workload)
      const four = yield* Simulation.simulate(workload, { client: { concurrency: 4 } })
      expect(opened.summary.failed).toBe(0)
      expect(opened.summary.throttled429).toBe(0)
      expect(opened.report.limitViolations).toBe(0)
      // the first wave alone is 11 batches of creates, all admitted at once. Until Graph's first
      // report on the identity bucket its units in flight are held to 1/100 of its capacity (50
      // units: 2 batches) plus a fifth of what the answers without a report show it holds
      // (capacityGauge's allowance), which grows about a quarter a round trip: peak 10, 2.8 s. When
      // the wave went at once it took 1.9 s, less than half a fixed 4's 5.1 s; climbing from 4, 3.2 s
      expect(opened.summary.inFlight!.peak).toBeGreaterThan(4)
      expect(opened.summary.inFlight!.peak).toBeLessThanOrEqual(GraphClient.defaultMaxConcurrency / 4)
      expect(opened.summary.durationMs).toBeLessThan(four.summary.durationMs)
    }).pipe(Effect.orDie), { timeout: 120_000 })
})

describe("in-flight work under throttled admission against a loaded Graph", () => {
  it.effect("the identity allowance keeps the opening under the emulator's load ceiling: no 503, the limit settles below the opening's 16, every request succeeds", () =>
    Effect.gen(function*() {
      // 4,000 directory reads (200 batches): the opening alone would put 16 batches, 320 items, in
      // flight, and the emulator queues beyond 50 items in flight and refuses (503, Retry-After) at
      // 200: before the identity allowance, the first round trips met 503s and the limit dropped back
      // to 4 (the drop itself: inFlight.test.ts). The allowance holds the bucket's units in flight
      // to 50 units (one batch) at first, growing a quarter per round trip, and latency above the
      // knee stops the limit before the ceiling
      const workload = Examples.directoryReport(4_000)
      const emulator = Emulator.layerTest({ tenantSize: "M", latency: Latency.realistic, load: { knee: 50, ceiling: 200 } })
      const client = GraphClient.layer({}).pipe(
        Layer.provide(Layer.mergeAll(
          TokenProvider.layerStatic("token"),
          GraphClient.layerThrottledMemory(Emulator.defaultIdentity, { catalog: { tenantSize: "M", delegated: true } })
        )),
        Layer.provideMerge(emulator)
      )
      const { outcomes, summary } = yield* VirtualClock.run(
        Effect.flatMap(GraphClient.GraphClient, (graph) => graph.runAll(workload)).pipe(Effect.provide(client))
      ).pipe(Effect.orDie)
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary.retries).toBe(0)
      expect(summary.inFlight!.limit).toBeLessThan(16)
    }), { timeout: 120_000 })
})
