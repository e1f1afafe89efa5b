// Window units dated before their answer (`Admission.LeastLatency`) keep every window within its
// documented limit whenever the real latencies are at least the assumed ones: no 429, and the
// emulator's audit (which re-checks every window over the instants it counted the items) finds no
// excess. And the assumption matters: a client that assumes more than the service takes is caught.
import type { Admission, Workload } from "@effect-msgraph/core"
import { Latency } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as Examples from "../src/Examples.js"
import * as Simulation from "../src/Simulation.js"

// Teams windows of one second (a channel's one post, a team's four) bind; Outlook's are long
const workloadArb = fc.record({
  teams: fc.integer({ min: 1, max: 2 }),
  channels: fc.integer({ min: 1, max: 5 }),
  posts: fc.integer({ min: 2, max: 8 }),
  mailboxes: fc.integer({ min: 0, max: 2 })
}).map(({ channels, mailboxes, posts, teams }): Workload.Workload => [
  ...Examples.teamsPosting({ teams, channelsPerTeam: channels, postsPerChannel: posts }),
  ...(mailboxes === 0 ? [] : Examples.mailboxSync({ mailboxes, busy: 0, quietRequests: 6 }))
])

// no jitter sometimes: every latency then sits at its least, the edge of the assumption
const modelArb = fc.record({
  baseMillis: fc.integer({ min: 0, max: 300 }),
  jitterMillis: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 600 }))
})

const latencyArb: fc.Arbitrary<Latency.Profile> = fc.oneof(
  fc.constant(Latency.realistic),
  fc.record({
    roundTrip: modelArb,
    services: fc.record(Object.fromEntries(Latency.serviceNames.map((s) => [s, modelArb])) as Record<Latency.ServiceName, typeof modelArb>)
  })
)

/** The model's least latencies, each scaled by `fraction` (at most 1: never more than the service takes). */
const assumed = (profile: Latency.Profile, fraction: number): Admission.LeastLatency => {
  const least = Simulation.leastLatencyOf(profile)
  return {
    perRoundTripMillis: least.perRoundTripMillis * fraction,
    perItemMillis: (request) => least.perItemMillis(request) * fraction
  }
}

describe("Simulation: window units dated before the answer", () => {
  it.live.prop(
    "with latencies at least the assumed ones, no window takes more than its documented limit",
    [
      workloadArb,
      latencyArb,
      fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
      fc.integer({ min: 1, max: 8 }),
      fc.constantFrom("auto" as const, "chains" as const, "waves" as const),
      fc.integer({ min: 0, max: 1_000 })
    ],
    ([workload, latency, fraction, concurrency, policy, seed]) =>
      Effect.gen(function*() {
        const result = yield* Simulation.simulate(workload, {
          latency,
          leastLatency: assumed(latency, fraction),
          seed,
          client: { concurrency, planning: { policy } }
        })
        assert.strictEqual(result.summary.failed, 0)
        assert.strictEqual(result.report.throttled, 0)
        assert.strictEqual(result.report.limitViolations, 0)
      }),
    { fastCheck: { numRuns: 30 } }
  )

  it.live("a client that assumes a longer round trip than the service's least meets 429s", () =>
    Effect.gen(function*() {
      // the round trip takes 0 to 200 ms, a Teams post exactly 80 ms; the client assumes 150 ms + 80 ms
      const latency: Latency.Profile = {
        ...Latency.none,
        roundTrip: { baseMillis: 0, jitterMillis: 200 },
        services: { ...Latency.none.services, teams: { baseMillis: 80, jitterMillis: 0 } }
      }
      const workload = Examples.teamsPosting({ teams: 1, channelsPerTeam: 1, postsPerChannel: 30 })
      const wrong = yield* Simulation.simulate(workload, {
        latency,
        leastLatency: { perRoundTripMillis: 150, perItemMillis: () => 80 },
        client: { maxAttempts: 100, maxRetryTime: "1 hour" }
      })
      assert.isAbove(wrong.report.throttled, 0)
      // the same run with the model's own least latencies: none
      const right = yield* Simulation.simulate(workload, { latency })
      assert.strictEqual(right.report.throttled, 0)
      assert.strictEqual(right.report.limitViolations, 0)
    }))

  it.live("dating before the answer frees a one-second window sooner than dating at the answer", () =>
    Effect.gen(function*() {
      const workload = Examples.teamsPosting({ teams: 1, channelsPerTeam: 1, postsPerChannel: 10 })
      const atAnswer = yield* Simulation.simulate(workload, { leastLatency: { perRoundTripMillis: 0, perItemMillis: () => 0 } })
      const before = yield* Simulation.simulate(workload, {})
      assert.strictEqual(before.report.throttled, 0)
      // nine gaps, each at least 50 ms (round trip) + 80 ms (Teams item) shorter under `realistic`
      assert.isAtMost(before.summary.durationMs, atAnswer.summary.durationMs - 9 * 130 + 200)
    }))
})
