// `Run.nextRound` with a spread: the requests handed out never put more of one affinity in flight
// than its room allows, one affinity's backlog does not keep the others out, and every planning
// invariant of a run still holds (each request once, after its dependencies; same input, same order).
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer } from "effect"
import * as BatchBuilder from "@effect-msgraph/core/BatchBuilder"
import * as DR from "@effect-msgraph/core/DependencyResolver"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { dagSpec, dagWorkload, mulberry32 } from "./utils/dag.js"

const provided = <A, E>(effect: Effect.Effect<A, E, DR.DependencyResolver>) =>
  Effect.runSync(effect.pipe(Effect.provide(DR.layer.pipe(Layer.provide(BatchBuilder.layer())))))

/** The affinity written into each request's url (`?a=<key>`); none without one. */
const affinityOf = (url: string): string | undefined => /[?&]a=([^&]+)/.exec(url)?.[1]

/**
 * Drives a run as the executor does: up to `window` requests in flight, a spread that allows each
 * affinity `cap` of them, and the oldest batch answered (every item 200) when nothing more is handed
 * out. Returns the order requests were handed out in, checking the cap at every step.
 */
const drive = (run: DR.Run, window: number, cap: number) => {
  const alive = new Map<string, number>()
  const inFlight: Array<ReadonlyArray<string>> = []
  const handedOut: Array<string> = []
  let count = 0
  const spread: DR.Spread = {
    affinity: (item) => affinityOf(item.url),
    room: (key) => cap - (alive.get(key) ?? 0)
  }
  let guard = 0
  while (run.pending() > 0) {
    if (++guard > 100_000) throw new Error("run did not terminate")
    const round = run.nextRound(window - count, spread)
    for (const batch of round.batches) {
      inFlight.push(batch.requests.map((r) => r.id))
      for (const item of batch.requests) {
        handedOut.push(item.id)
        count++
        const key = affinityOf(item.url)
        if (key !== undefined) alive.set(key, (alive.get(key) ?? 0) + 1)
      }
    }
    for (const [, n] of alive) expect(n).toBeLessThanOrEqual(cap)
    if (round.batches.length > 0 && count < window) continue
    const oldest = inFlight.shift()
    if (oldest === undefined) throw new Error("nothing in flight and nothing handed out")
    for (const id of oldest) {
      const key = affinityOf(run.request(id)!.url)
      if (key !== undefined) alive.set(key, alive.get(key)! - 1)
      count--
      run.succeed(id, { status: 200, body: { id } })
    }
  }
  return handedOut
}

/** A random DAG whose requests carry one of `keys` affinities (or none), by a seeded draw. */
const withAffinities = (workload: ReadonlyArray<WorkloadRequest & { readonly dependsOn: ReadonlyArray<string> }>, seed: number, keys: number) => {
  const rand = mulberry32(seed)
  return workload.map((r) => {
    const k = Math.floor(rand() * (keys + 1))
    return k === keys ? r : { ...r, url: `${r.url}?a=k${k}` }
  })
}

describe("DependencyResolver spread", () => {
  it.prop(
    "with a spread, every request goes once, after its dependencies, within its affinity's room, in the same order every time",
    {
      spec: dagSpec(600),
      seed: fc.integer(),
      keys: fc.integer({ min: 1, max: 6 }),
      cap: fc.integer({ min: 1, max: 45 }),
      window: fc.integer({ min: 20, max: 200 })
    },
    ({ cap, keys, seed, spec, window }) =>
      provided(Effect.gen(function*() {
        // waves: the cap is checked on everything handed out, and chains absorb dependents of the
        // requests taken into sequential batches, past any spread (regroup keeps those batches too)
        const workload = withAffinities(dagWorkload({ ...spec, flow: 0 }), seed, keys)
        const resolver = yield* DR.DependencyResolver
        const options = { policy: "waves" as const }
        const first = drive(yield* resolver.start(workload, options), window, cap)
        const again = drive(yield* resolver.start(workload, options), window, cap)
        expect(again).toEqual(first)
        expect(new Set(first).size).toBe(workload.length)
        expect(first.length).toBe(workload.length)
        const at = new Map(first.map((id, i) => [id, i]))
        for (const r of workload) for (const d of r.dependsOn) expect(at.get(d)!).toBeLessThan(at.get(r.id)!)
      })),
    { fastCheck: { numRuns: 60 } }
  )

  it("one affinity's backlog does not fill a round: the others are handed out alongside it", () =>
    provided(Effect.gen(function*() {
      // 1,000 requests of mailbox a, then 40 each of b, c and d: in workload order a round of 200
      // would be a's alone
      const workload: Array<WorkloadRequest> = [
        ...Array.from({ length: 1_000 }, (_, i) => ({ id: `a${i}`, method: "GET" as const, url: `/users/a/messages/${i}?a=a` })),
        ...["b", "c", "d"].flatMap((m) => Array.from({ length: 40 }, (_, i) => ({ id: `${m}${i}`, method: "GET" as const, url: `/users/${m}/messages/${i}?a=${m}` })))
      ]
      const run = yield* (yield* DR.DependencyResolver).start(workload, { policy: "waves" })
      const round = run.nextRound(200, { affinity: (item) => affinityOf(item.url), room: () => 40 })
      const ids = round.batches.flatMap((b) => b.requests.map((r) => r.id))
      expect(ids.length).toBe(160)
      for (const m of ["a", "b", "c", "d"]) expect(ids.filter((id) => id.startsWith(m)).length).toBe(40)
      // a's passed-over requests come back, first in workload order, once a has room again
      const next = run.nextRound(200, { affinity: (item) => affinityOf(item.url), room: (key) => (key === "a" ? 20 : 0) })
      expect(next.batches.flatMap((b) => b.requests.map((r) => r.id))).toEqual(Array.from({ length: 20 }, (_, i) => `a${40 + i}`))
    })))
})
