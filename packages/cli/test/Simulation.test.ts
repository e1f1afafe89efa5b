import { assert, describe, it } from "@effect/vitest"
import { DependencyResolver } from "@effect-msgraph/core"
import { Latency } from "@effect-msgraph/emulator"
import { Clock, Effect, Either, FastCheck as fc, TestContext } from "effect"
import * as Examples from "../src/Examples.js"
import * as Simulation from "../src/Simulation.js"

describe("Simulation", () => {
  it.live("driveClock runs an hour of sleeps in virtual time", () =>
    Effect.gen(function*() {
      const at = yield* Simulation.driveClock(
        Effect.gen(function*() {
          yield* Effect.sleep("30 minutes")
          yield* Effect.all([Effect.sleep("10 minutes"), Effect.sleep("30 minutes")], { concurrency: 2 })
          return yield* Clock.currentTimeMillis
        })
      )
      assert.strictEqual(at, 3_600_000)
    }).pipe(Effect.provide(TestContext.TestContext)))

  it.live("the onboarding example succeeds against the emulator, which gets enough licences", () =>
    Effect.gen(function*() {
      const workload = Examples.onboarding(60)
      assert.strictEqual(Simulation.licensesFor(workload), 60)
      const result = yield* Simulation.simulate(workload)
      assert.strictEqual(result.summary.succeeded, workload.length)
      assert.deepStrictEqual(
        [result.report.limitViolations, result.report.duplicateExecutions, result.report.orderViolations],
        [0, 0, 0]
      )
    }))

  it.live.prop(
    "no simulated run beats the duration lower bound, and the emulator sees no violation",
    [fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 25 }), fc.constantFrom(1, 2), fc.integer({ min: 0, max: 1_000 })],
    ([channels, posts, stricter, seed]) =>
      Effect.gen(function*() {
        const workload = Examples.teamsPosting({ teams: 1, channelsPerTeam: channels, postsPerChannel: posts })
        const result = yield* Simulation.simulate(workload, { stricter, seed, client: { maxAttempts: 100, maxRetryTime: "1 hour" } })
        assert.strictEqual(result.summary.failed, 0)
        assert.isTrue(result.summary.durationMs >= result.bound.ms, `${result.summary.durationMs} < ${result.bound.ms}`)
        assert.strictEqual(result.report.limitViolations, 0)
        assert.strictEqual(result.multiplier, 1 / stricter)
      }),
    { fastCheck: { numRuns: 8 } }
  )

  it.live("stricter limits raise the lower bound; it counts every request, admitted or not", () =>
    Effect.gen(function*() {
      const workload = Examples.directoryReport(1_500)
      const client = { maxAttempts: 3 } as const
      // limits alone: no latency keeps the run quick
      const documented = yield* Simulation.simulate(workload, { client, latency: "none" })
      const stricter = yield* Simulation.simulate(workload, { stricter: 8, client, latency: "none" })
      assert.isTrue(stricter.bound.ms > documented.bound.ms, `${stricter.bound.ms} <= ${documented.bound.ms}`)
      const bottleneck = stricter.bound.bottleneck!
      assert.strictEqual(bottleneck.entryId, "identityAccess.appTenant.resourceUnits.M")
      assert.strictEqual(bottleneck.requests, workload.length)
      // judged against the documented limits, which the stricter emulator keeps the client well under
      assert.strictEqual(stricter.report.limitViolations, 0)
    }))

  it.live("fault profiles are seeded: the same seed gives the same run", () =>
    Effect.gen(function*() {
      const workload = Examples.directoryReport(200)
      const a = yield* Simulation.simulate(workload, { faults: "heavy", seed: 3, client: { maxAttempts: 10 } })
      const b = yield* Simulation.simulate(workload, { faults: "heavy", seed: 3, client: { maxAttempts: 10 } })
      assert.deepStrictEqual(a.summary, b.summary)
      assert.isTrue(a.report.requests > workload.length, "heavy faults cause retries")
    }))

  it("planningOptions: with realistic latency, each request's expected latency by service and the client's concurrency", () => {
    // nothing takes time: every plan would be estimated at 0, so the round-trip rule, and no estimate
    assert.deepStrictEqual(Simulation.planningOptions("none"), { policy: "fewestRoundTrips" })
    const options = Simulation.planningOptions("realistic", { concurrency: 6 })
    assert.strictEqual(options.concurrency, 6)
    assert.strictEqual(Simulation.planningOptions("realistic").concurrency, 4)
    const perItem = options.latency!.perItemMillis as (r: { id: string; method: string; url: string }) => number
    assert.strictEqual(perItem({ id: "a", method: "POST", url: "/users/{{create-0#/body/id}}/sendMail" }), 60 + 240 / 2)
    assert.strictEqual(perItem({ id: "b", method: "POST", url: "/users" }), 30 + 120 / 2)
    // and every round trip its expected cost (50 ms + 50 ms of jitter / 2)
    assert.strictEqual(options.latency!.perRoundTripMillis, 50 + 50 / 2)
    // and the resolver picks parallel batches for the onboarding example with it
    const workload = Examples.onboarding(50)
    assert.strictEqual(Either.getOrThrow(DependencyResolver.plan(workload, { policy: "fewestRoundTrips" })).policy, "chains")
    assert.strictEqual(Either.getOrThrow(DependencyResolver.plan(workload, Simulation.planningOptions("realistic"))).policy, "waves")
  })

  it("the resolver's default latency model is the emulator's realistic profile, coarsened: its expected round trip and its expected item latency of a request of no particular service", () => {
    // core cannot read the emulator's profile (the emulator does not depend on core, nor core on
    // it), so the two figures are written in both; this is where they must agree
    assert.deepStrictEqual(DependencyResolver.defaultLatency, {
      perItemMillis: Latency.expected(Latency.realistic.services.graph),
      perRoundTripMillis: Latency.expected(Latency.realistic.roundTrip)
    })
    // the figure sits between the cheapest service's and Outlook's
    assert.isAbove(DependencyResolver.defaultLatency.perItemMillis as number, Latency.expected(Latency.realistic.services.identity))
    assert.isBelow(DependencyResolver.defaultLatency.perItemMillis as number, Latency.expected(Latency.realistic.services.outlook))
  })

  it("a library user's default plan for onboarding is the one the realistic profile chooses", () => {
    const workload = Examples.onboarding(50)
    const byDefault = Either.getOrThrow(DependencyResolver.plan(workload))
    const realistic = Either.getOrThrow(DependencyResolver.plan(workload, Simulation.planningOptions("realistic")))
    assert.strictEqual(byDefault.policy, "waves")
    assert.strictEqual(byDefault.policy, realistic.policy)
    assert.strictEqual(byDefault.roundTrips, realistic.roundTrips)
  })

  it.live("with realistic latency the client plans by estimated duration: onboarding runs as parallel waves, faster than chains", () =>
    Effect.gen(function*() {
      const workload = Examples.onboarding(60)
      const timed = yield* Simulation.simulate(workload, { latency: "realistic" })
      // forcing the round-trip rule (chains: sequential batches, run item by item on the server)
      const chains = yield* Simulation.simulate(workload, { latency: "realistic", client: { planning: { policy: "chains" } } })
      assert.strictEqual(timed.summary.succeeded, workload.length)
      assert.strictEqual(chains.summary.succeeded, workload.length)
      assert.isTrue(timed.summary.roundTrips > chains.summary.roundTrips)
      assert.isTrue(timed.summary.durationMs < chains.summary.durationMs)
    }))

  it.live("with realistic latency no run beats the bound, which counts only requests the emulator executed", () =>
    Effect.gen(function*() {
      const workload = Examples.onboarding(10)
      const result = yield* Simulation.simulate(workload, { latency: "realistic" })
      // a round trip (50 ms at least) and the create (30 ms), a second round trip (the licence needs
      // the create's answer), then license, member (30 ms each) and mail (60 ms) one after another
      assert.strictEqual(result.bound.latencyMs, 50 + 30 + 50 + 2 * 30 + 60)
      assert.isTrue(result.summary.durationMs >= result.bound.ms)
      // a workload whose first request fails: its dependents never run, so they add nothing (nor a
      // round trip for the reference)
      const failing = [
        { id: "ghost", method: "GET", url: "/users/nobody@contoso.onmicrosoft.com" },
        { id: "after", method: "GET", url: "/users/{{ghost#/body/id}}/messages" }
      ] as const
      const failed = yield* Simulation.simulate(failing, { latency: "realistic", client: { maxAttempts: 1 } })
      assert.strictEqual(failed.summary.failed, 2)
      assert.strictEqual(failed.bound.latencyMs, 50 + 30)
    }))
})
