// An endpoint that goes down in the middle of a run (a restart, a network cut: every call refused
// for ten seconds), in virtual time. The run is not harmed by it: the refused calls spend no
// attempt once the endpoint has answered, so every request runs once it is back, and they teach the
// adaptive in-flight limit nothing (a refused call's few milliseconds are no latency of Graph's).
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import * as VirtualClock from "@effect-msgraph/core/VirtualClock"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { HttpClient, HttpClientError } from "@effect/platform"
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { batchAnswer, batchIds } from "./utils/fakeBatch.js"

/** What a refused `connect` looks like to the client: Node's error, the cause of a Transport failure. */
const refused = (request: Parameters<Parameters<typeof HttpClient.make>[0]>[0]) =>
  new HttpClientError.RequestError({
    request,
    reason: "Transport",
    cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:443"), { code: "ECONNREFUSED", syscall: "connect" })
  })

/**
 * A `$batch` endpoint that answers every item 200 after `millis`, except between `down` and `up`
 * (virtual ms since the start), when every call is refused at once.
 */
const endpoint = (options: { readonly down: number; readonly up: number; readonly millis: number }) => {
  const seen = { answered: 0, refused: 0 }
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (now >= options.down && now < options.up) {
          seen.refused++
          return yield* Effect.fail(refused(request))
        }
        yield* Effect.sleep(Duration.millis(options.millis))
        seen.answered++
        return batchAnswer(request, batchIds(request).map((id) => ({ id, status: 200, body: { id } })))
      })
    )
  )
  return { seen, layer }
}

const users = (n: number): ReadonlyArray<WorkloadRequest> =>
  Array.from({ length: n }, (_, i) => ({ id: `u${i}`, method: "GET", url: `/users/u${i}?$select=id` }))

const run = (options: { readonly down: number; readonly up: number }, workload: ReadonlyArray<WorkloadRequest>) => {
  const fake = endpoint({ ...options, millis: 200 })
  // two attempts, one second apart: a ten-second outage outlasts them many times over
  const client = GraphClient.layer({ maxAttempts: 2, backoff: Schedule.spaced("1 second") }).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("token"), GraphClient.layerUnthrottled, fake.layer))
  )
  return VirtualClock.run(Effect.gen(function*() {
    const { outcomes, summary } = yield* Effect.flatMap(GraphClient.GraphClient, (graph) => graph.runAll(workload))
    return { outcomes, summary, seen: fake.seen }
  }).pipe(Effect.provide(client))).pipe(Effect.orDie)
}

describe("an endpoint down in the middle of a run", () => {
  it.effect("every request runs once it is back, the refused calls spending no attempt; the in-flight limit is what it was without the outage", () =>
    Effect.gen(function*() {
      const workload = users(6_000) // 300 batches of 20
      const calm = yield* run({ down: Infinity, up: Infinity }, workload)
      const cut = yield* run({ down: 2_000, up: 12_000 }, workload)
      expect(cut.seen.refused).toBeGreaterThan(0)
      expect(cut.outcomes.filter((o) => o._tag === "Failure")).toEqual([])
      expect(cut.summary.succeeded).toBe(6_000)
      // every refused call is a resend, and only the answered attempt counts
      expect(cut.outcomes.every((o) => o.attempts === 1)).toBe(true)
      // the limit grows back as it would have: refused calls of a millisecond set no baseline
      expect(calm.summary.inFlight!.limit).toBeGreaterThan(4)
      expect(cut.summary.inFlight!.limit).toBeGreaterThanOrEqual(calm.summary.inFlight!.limit / 2)
    }), { timeout: 60_000 })
})
