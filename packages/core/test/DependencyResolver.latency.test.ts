import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Layer } from "effect"
import * as BatchBuilder from "@effect-msgraph/core/BatchBuilder"
import * as DR from "@effect-msgraph/core/DependencyResolver"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { dagSpec, dagWorkload } from "./utils/dag.js"
import { planOf, req } from "./utils/plan.js"


const chain = (prefix: string, k: number): Array<WorkloadRequest> =>
  Array.from({ length: k }, (_, i) => req(`${prefix}${i}`, i === 0 ? {} : { dependsOn: [`${prefix}${i - 1}`] }))

/** `chains` chains of `length` plain dependsOn edges each. */
const chains = (count: number, length: number) => Array.from({ length: count }, (_, c) => chain(`c${c}_`, length)).flat()

/** Like the onboarding example: a root per user, then a reference, then a short plain chain. */
const onboardingLike = (users: number): Array<WorkloadRequest> =>
  Array.from({ length: users }, (_, i) => [
    req(`create${i}`, { method: "POST", url: "/users", body: {}, headers: { "Content-Type": "application/json" } }),
    req(`license${i}`, { url: `/users/{{create${i}#/body/id}}/licenseDetails` }),
    req(`member${i}`, { url: `/users/{{create${i}#/body/id}}/memberOf`, dependsOn: [`license${i}`] }),
    req(`welcome${i}`, { url: `/users/{{create${i}#/body/id}}/messages`, dependsOn: [`member${i}`] })
  ]).flat()

const estimateOf = (plan: DR.Plan): number => {
  expect(plan.estimatedMillis).toBeDefined()
  return plan.estimatedMillis!
}

describe("DependencyResolver estimated duration", () => {
  it("a parallel batch takes as long as its slowest request; batches beyond the concurrency wait for a free call", () => {
    // 100 independent requests: 5 parallel batches, 2 at a time -> 3 turns of 10 ms
    const workload = Array.from({ length: 100 }, (_, i) => req(`u${i}`))
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: 10 }, concurrency: 2 }))).toBe(30)
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: 10 }, concurrency: 5 }))).toBe(10)
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: 10, perRoundTripMillis: 7 }, concurrency: 5 }))).toBe(17)
  })

  it("a sequential batch takes the sum of its requests, and a round trip costs its fixed part once", () => {
    const workload = chain("a", 5)
    const latency = { perItemMillis: 10, perRoundTripMillis: 3 }
    const asChain = planOf(workload, { policy: "chains", latency })
    expect(asChain.rounds.map((r) => r.batches.map((b) => b.shape))).toStrictEqual([["serial"]])
    expect(estimateOf(asChain)).toBe(3 + 5 * 10)
    expect(estimateOf(planOf(workload, { policy: "waves", latency }))).toBe(5 * (3 + 10))
    // the round trips saved are worth more than nothing here: chains is kept
    expect(planOf(workload, { latency }).policy).toBe("chains")
  })

  it("per-request latency: the sequential batch sums its slow and fast requests", () => {
    const workload = chain("a", 3)
    const perItemMillis = (request: WorkloadRequest) => (request.id === "a1" ? 100 : 5)
    expect(estimateOf(planOf(workload, { policy: "chains", latency: { perItemMillis } }))).toBe(110)
  })

  it("the estimate follows the pipelined executor: a slow branch does not hold back an independent one", () => {
    // twenty slow requests fill the first batch, so b0 goes in a batch of its own
    const workload = [...Array.from({ length: 20 }, (_, i) => req(`slow${i}`)), ...chain("b", 3)]
    const perItemMillis = (request: WorkloadRequest) => (request.id.startsWith("slow") ? 100 : 10)
    // b0, b1, b2 go out one after another while the slow batch runs; a barrier between rounds would give 120
    expect(estimateOf(planOf(workload, { policy: "waves", latency: { perItemMillis } }))).toBe(100)
  })

  it("with latency, auto prefers parallel batches when sequential items would run one after another", () => {
    const workload = chains(40, 4)
    expect(planOf(workload, { policy: "fewestRoundTrips" }).policy).toBe("chains")
    const latency = { perItemMillis: 100 }
    const waves = planOf(workload, { policy: "waves", latency })
    const packed = planOf(workload, { policy: "chains", latency })
    // chains: 8 sequential batches of 20, 4 at a time -> 2 turns of 2,000 ms
    expect(packed.batches).toBe(8)
    expect(estimateOf(packed)).toBe(4_000)
    // waves: 4 rounds of two parallel batches -> 4 turns of 100 ms
    expect(estimateOf(waves)).toBe(400)
    const auto = planOf(workload, { latency })
    expect(auto.policy).toBe("waves")
    expect(auto.estimatedMillis).toBe(400)
  })

  it("the onboarding shape: chains wins on round trips, waves on estimated duration", () => {
    const workload = onboardingLike(100)
    const plain = planOf(workload, { policy: "fewestRoundTrips" })
    expect(plain.policy).toBe("chains")
    expect(plain.estimatedMillis).toBeUndefined()
    const timed = planOf(workload, { latency: { perItemMillis: 90, perRoundTripMillis: 20 } })
    expect(timed.policy).toBe("waves")
    expect(timed.estimatedMillis!).toBeLessThan(planOf(workload, { policy: "chains", latency: { perItemMillis: 90, perRoundTripMillis: 20 } }).estimatedMillis!)
  })

  it("by default auto estimates under defaultLatency: the onboarding shape runs as parallel waves", () => {
    const workload = onboardingLike(100)
    const plan = planOf(workload)
    expect(plan.policy).toBe("waves")
    expect(plan).toStrictEqual(planOf(workload, { latency: DR.defaultLatency }))
    expect(estimateOf(plan)).toBeLessThan(estimateOf(planOf(workload, { policy: "chains", latency: DR.defaultLatency })))
    // a plain chain still goes into one sequential batch: one round trip beats five
    expect(planOf(chain("a", 5)).policy).toBe("chains")
  })

  it("fewestRoundTrips with latency: every plan is estimated, the choice is by round trips", () => {
    const workload = chains(40, 4)
    const plan = planOf(workload, { policy: "fewestRoundTrips", latency: { perItemMillis: 100 } })
    expect(plan.policy).toBe("chains")
    expect(plan.estimatedMillis).toBe(4_000)
  })

  it("a forced policy without latency is not estimated: the default model serves auto's choice only", () => {
    const workload = chains(40, 4)
    expect("estimatedMillis" in planOf(workload, { policy: "waves" })).toBe(false)
    expect("estimatedMillis" in planOf(workload, { policy: "chains" })).toBe(false)
  })

  it("a forced policy is kept, with its estimate", () => {
    const workload = chains(40, 4)
    const forced = planOf(workload, { policy: "chains", latency: { perItemMillis: 100 } })
    expect(forced.policy).toBe("chains")
    expect(forced.estimatedMillis).toBe(4_000)
  })

  it("times that are not finite non-negative numbers count as 0, and a concurrency below 1 as 1", () => {
    const workload = Array.from({ length: 40 }, (_, i) => req(`u${i}`))
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: -5, perRoundTripMillis: Number.NaN } }))).toBe(0)
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: () => Number.POSITIVE_INFINITY } }))).toBe(0)
    // two parallel batches of 10 ms, one at a time
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: 10 }, concurrency: 0 }))).toBe(20)
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: 10 }, concurrency: 1.9 }))).toBe(20)
    expect(estimateOf(planOf(workload, { latency: { perItemMillis: 10 }, concurrency: Number.NaN }))).toBe(10)
  })

  it("the empty workload is estimated at 0", () => {
    expect(planOf([], { latency: { perItemMillis: 10 } }).estimatedMillis).toBe(0)
  })

  it.effect("a run started with latency follows the policy the estimate chose", () =>
    Effect.gen(function*() {
      const resolver = yield* DR.DependencyResolver
      const workload = onboardingLike(50)
      expect((yield* resolver.start(workload, { policy: "fewestRoundTrips" })).policy).toBe("chains")
      expect((yield* resolver.start(workload, { latency: { perItemMillis: 90 } })).policy).toBe("waves")
      const planned = yield* resolver.plan(workload, { latency: { perItemMillis: 90 } })
      expect(planned.policy).toBe("waves")
      // and without options, under the default latency model
      expect((yield* resolver.start(workload)).policy).toBe("waves")
      expect((yield* resolver.plan(workload)).policy).toBe("waves")
    }).pipe(Effect.provide(DR.layer.pipe(Layer.provide(BatchBuilder.layer())))))
})

describe("DependencyResolver critical path", () => {
  it("counts the requests of the longest path through dependsOn and references alike", () => {
    const workload = [...onboardingLike(3), ...chain("long", 6)]
    expect(Either.getOrThrow(DR.criticalPath(workload))).toBe(6)
    expect(Either.getOrThrow(DR.criticalPath(onboardingLike(3)))).toBe(4)
  })

  it("sums the weights along the heaviest path", () => {
    const workload = [req("a"), req("b", { dependsOn: ["a"] }), req("c", { url: "/users/{{a#/body/id}}" }), req("d", { dependsOn: ["c"] })]
    const weight = (request: WorkloadRequest) => ({ a: 1, b: 50, c: 20, d: 20 })[request.id as "a" | "b" | "c" | "d"]
    // a -> b: 51; a -> c -> d: 41
    expect(Either.getOrThrow(DR.criticalPath(workload, weight))).toBe(51)
    expect(Either.getOrThrow(DR.criticalPath(workload, () => -1))).toBe(0)
  })

  it("adds the reference hop for each response reference on the path, never for a plain dependsOn", () => {
    const workload = [req("a"), req("b", { dependsOn: ["a"] }), req("c", { url: "/users/{{a#/body/id}}" }), req("d", { dependsOn: ["c"] })]
    const weight = (request: WorkloadRequest) => ({ a: 1, b: 50, c: 20, d: 20 })[request.id as "a" | "b" | "c" | "d"]
    // a -> b: 51 (no reference); a => c -> d: 1 + 100 + 20 + 20 = 141 (one reference, into c)
    expect(Either.getOrThrow(DR.criticalPath(workload, weight, { referenceHop: () => 100 }))).toBe(141)
    // the hop is the referencing request's: none for c, none at all
    expect(Either.getOrThrow(DR.criticalPath(workload, weight, { referenceHop: (r) => r.id === "c" ? 0 : 100 }))).toBe(51)
    // onboarding: create => licence => (dependsOn) member => (dependsOn) mail: two hops at most on one path
    const onboarding = onboardingLike(3)
    expect(Either.getOrThrow(DR.criticalPath(onboarding, () => 1, { referenceHop: () => 10 }))).toBe(4 + 10)
    expect(Either.getOrThrow(DR.criticalPath(onboarding, () => 1, { referenceHop: () => Number.NaN }))).toBe(4)
  })

  it("rejects a workload the planner rejects", () => {
    const result = DR.criticalPath([req("a", { dependsOn: ["b"] })])
    expect(Either.isLeft(result) && result.left._tag).toBe("UnknownDependency")
    const paths = DR.criticalPaths([req("a", { dependsOn: ["b"] })], [{}, {}])
    expect(Either.isLeft(paths) && paths.left._tag).toBe("UnknownDependency")
  })

  it.prop(
    "criticalPaths gives, in order, what criticalPath gives for each weighting, with each request's position",
    { spec: dagSpec(300), base: fc.integer({ min: 0, max: 50 }), hop: fc.integer({ min: 0, max: 80 }) },
    ({ base, hop, spec }) => {
      const workload: ReadonlyArray<WorkloadRequest> = dagWorkload(spec)
      const position = new Map(workload.map((request, v) => [request, v]))
      const weight = perItem(base, 17)
      const referenceHop = (request: WorkloadRequest) => request.id.length % 2 === 0 ? hop : hop / 2
      const paths = Either.getOrThrow(DR.criticalPaths(workload, [
        { weight: (request, v) => (position.get(request) === v ? weight(request) : Number.NaN) },
        {},
        { weight, referenceHop: (request, v) => (position.get(request) === v ? referenceHop(request) : Number.NaN) }
      ]))
      expect(paths).toEqual([
        Either.getOrThrow(DR.criticalPath(workload, weight)),
        Either.getOrThrow(DR.criticalPath(workload)),
        Either.getOrThrow(DR.criticalPath(workload, weight, { referenceHop }))
      ])
    }
  )
})

const latencyArb = fc.record({
  perItem: fc.integer({ min: 1, max: 300 }),
  perRoundTrip: fc.integer({ min: 0, max: 200 }),
  jitter: fc.integer({ min: 0, max: 300 }),
  concurrency: fc.integer({ min: 1, max: 8 })
})

/** A deterministic per-request latency: base plus a spread derived from the id. */
const perItem = (base: number, jitter: number) => (request: WorkloadRequest) => {
  let h = 0
  for (const ch of request.id) h = (h * 31 + ch.charCodeAt(0)) | 0
  return base + (jitter === 0 ? 0 : Math.abs(h) % jitter)
}

describe("DependencyResolver estimate properties", () => {
  it.prop(
    "with latency, auto's estimate is at most either policy's, and never below the critical path",
    { spec: dagSpec(400), latency: latencyArb },
    ({ latency, spec }) => {
      const workload = dagWorkload(spec)
      const model = { perItemMillis: perItem(latency.perItem, latency.jitter), perRoundTripMillis: latency.perRoundTrip }
      const options = { latency: model, concurrency: latency.concurrency }
      const auto = planOf(workload, options)
      const waves = planOf(workload, { ...options, policy: "waves" })
      const packed = planOf(workload, { ...options, policy: "chains" })
      expect(estimateOf(auto)).toBeLessThanOrEqual(estimateOf(waves))
      expect(estimateOf(auto)).toBeLessThanOrEqual(estimateOf(packed))
      // ties go to fewer round trips, then fewer batches
      const other = auto.policy === "waves" ? packed : waves
      if (other.estimatedMillis === auto.estimatedMillis) {
        expect(auto.roundTrips <= other.roundTrips).toBe(true)
        if (auto.roundTrips === other.roundTrips) expect(auto.batches).toBeLessThanOrEqual(other.batches)
      }
      // every request of a path runs after the previous one ended, and each path crosses round trips
      const path = Either.getOrThrow(DR.criticalPath(workload, model.perItemMillis))
      for (const plan of [waves, packed]) {
        expect(estimateOf(plan)).toBeGreaterThanOrEqual(path + model.perRoundTripMillis - 1e-6)
        expect(estimateOf(plan)).toBeGreaterThanOrEqual(plan.lowerBound.roundTrips * model.perRoundTripMillis)
      }
    },
    { fastCheck: { numRuns: 40 } }
  )

  it.prop(
    "without latency, auto is the choice under defaultLatency: the shorter estimate, then fewer round trips",
    { spec: dagSpec(400), concurrency: fc.integer({ min: 1, max: 16 }) },
    ({ concurrency, spec }) => {
      const workload = dagWorkload(spec)
      const auto = planOf(workload, { concurrency })
      expect(auto).toStrictEqual(planOf(workload, { latency: DR.defaultLatency, concurrency }))
      const waves = planOf(workload, { policy: "waves", latency: DR.defaultLatency, concurrency })
      const packed = planOf(workload, { policy: "chains", latency: DR.defaultLatency, concurrency })
      expect(estimateOf(auto)).toBe(Math.min(estimateOf(waves), estimateOf(packed)))
    },
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "a run follows the policy the plan chose, under every rule (start only counts, and only on a tie of estimates)",
    {
      spec: dagSpec(300),
      policy: fc.constantFrom(undefined, "auto" as const, "fewestRoundTrips" as const, "waves" as const, "chains" as const),
      latency: fc.option(latencyArb, { nil: undefined })
    },
    ({ latency, policy, spec }) =>
      Effect.gen(function*() {
        const resolver = yield* DR.DependencyResolver
        const workload = dagWorkload(spec)
        const options: DR.DependencyResolver.Options = {
          ...(policy === undefined ? {} : { policy }),
          ...(latency === undefined ? {} : {
            latency: { perItemMillis: perItem(latency.perItem, latency.jitter), perRoundTripMillis: latency.perRoundTrip },
            concurrency: latency.concurrency
          })
        }
        const run = yield* resolver.start(workload, options)
        expect(run.policy).toBe(planOf(workload, options).policy)
      }).pipe(Effect.provide(DR.layer.pipe(Layer.provide(BatchBuilder.layer())))),
    { fastCheck: { numRuns: 60 } }
  )

  it.prop(
    "fewestRoundTrips without latency: fewest round trips, then fewest batches, waves on a tie, no estimate",
    { spec: dagSpec(400), concurrency: fc.integer({ min: 1, max: 16 }) },
    ({ concurrency, spec }) => {
      const workload = dagWorkload(spec)
      const waves = planOf(workload, { policy: "waves" })
      const packed = planOf(workload, { policy: "chains" })
      const expected = packed.roundTrips < waves.roundTrips || (packed.roundTrips === waves.roundTrips && packed.batches < waves.batches)
        ? packed
        : waves
      const auto = planOf(workload, { policy: "fewestRoundTrips" })
      expect(auto).toStrictEqual(expected)
      expect("estimatedMillis" in auto).toBe(false)
      // a concurrency alone is only an input to the estimate
      expect(planOf(workload, { policy: "fewestRoundTrips", concurrency })).toStrictEqual(auto)
    },
    { fastCheck: { numRuns: 40 } }
  )
})
