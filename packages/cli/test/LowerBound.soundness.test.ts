// The duration lower bound is sound: no simulated run, of any client, under any latency profile,
// ever takes less. Small random workloads mixing every kind of bound (dependency chains, Outlook's
// four concurrent requests per mailbox, channel windows, identity resource units), in virtual time.
import type { Workload } from "@effect-msgraph/core"
import { Latency } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as Examples from "../src/Examples.js"
import * as Simulation from "../src/Simulation.js"

/**
 * Chains of response references: a user is created, then each step reads a user by the id the step
 * before it answered (a reference: a later call) or, by a plain `dependsOn`, after it (one
 * sequential batch can carry both).
 */
const referenceChains = (chains: ReadonlyArray<ReadonlyArray<boolean>>): Workload.Workload =>
  chains.flatMap((steps, c) => [
    {
      id: `head-${c}`,
      method: "POST",
      url: "/users",
      body: {
        accountEnabled: true,
        displayName: `Chain ${c}`,
        mailNickname: `chain${c}`,
        userPrincipalName: `chain${c}@contoso.onmicrosoft.com`,
        passwordProfile: { password: "Generated-1!" }
      }
    },
    ...steps.map((reference, s) => {
      const before = s === 0 ? `head-${c}` : `step-${c}-${s - 1}`
      return reference
        ? { id: `step-${c}-${s}`, method: "GET", url: `/users/{{${before}#/body/id}}` }
        : { id: `step-${c}-${s}`, method: "GET", url: `/users/{{head-${c}#/body/id}}`, dependsOn: [before] }
    })
  ])

const workloadArb = fc.record({
  chains: fc.array(fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), { maxLength: 3 }),
  users: fc.integer({ min: 0, max: 3 }),
  mailboxes: fc.integer({ min: 0, max: 2 }),
  reads: fc.integer({ min: 1, max: 25 }),
  channels: fc.integer({ min: 0, max: 2 }),
  posts: fc.integer({ min: 1, max: 4 }),
  directory: fc.integer({ min: 0, max: 40 })
}).map(({ chains, channels, directory, mailboxes, posts, reads, users }): Workload.Workload => [
  ...referenceChains(chains),
  ...(users === 0 ? [] : Examples.onboarding(users)),
  ...(mailboxes === 0 ? [] : Examples.mailboxSync({ mailboxes, busy: 0, quietRequests: reads })),
  ...(channels === 0 ? [] : Examples.teamsPosting({ teams: 1, channelsPerTeam: channels, postsPerChannel: posts })),
  ...(directory === 0 ? [] : Examples.directoryReport(directory))
]).filter((workload) => workload.length > 0)

// no jitter half the time: runs then come close to the bound, where an unsound one would show
const modelArb = fc.record({
  baseMillis: fc.integer({ min: 0, max: 150 }),
  jitterMillis: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 150 }))
})

/** Every latency at its least: the runs closest to the bound. */
const leastOf = (profile: Latency.Profile): Latency.Profile => ({
  roundTrip: { baseMillis: profile.roundTrip.baseMillis, jitterMillis: 0 },
  services: Object.fromEntries(Latency.serviceNames.map((s) => [s, { baseMillis: profile.services[s].baseMillis, jitterMillis: 0 }])) as Latency.Profile["services"]
})

/** The default profile, the same without jitter, or any other: a calibration could give any figures. */
const latencyArb: fc.Arbitrary<Latency.Profile> = fc.oneof(
  fc.constant(Latency.realistic),
  fc.constant(leastOf(Latency.realistic)),
  fc.record({
    roundTrip: modelArb,
    services: fc.record(Object.fromEntries(Latency.serviceNames.map((s) => [s, modelArb])) as Record<Latency.ServiceName, typeof modelArb>)
  })
)

/** Any client: its concurrency, its plan, with or without client-side throttling. */
const clientArb = fc.record({
  concurrency: fc.integer({ min: 1, max: 8 }),
  policy: fc.constantFrom("auto" as const, "chains" as const, "waves" as const),
  unthrottled: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1_000 })
})

describe("LowerBound soundness", () => {
  it.live.prop(
    "no simulated run of any client, throttled or not, under any latency, beats the bound",
    [workloadArb, latencyArb, clientArb],
    ([workload, latency, client]) =>
      Effect.gen(function*() {
        const result = yield* Simulation.simulate(workload, {
          latency,
          seed: client.seed,
          unthrottled: client.unthrottled,
          client: { concurrency: client.concurrency, maxAttempts: 100, maxRetryTime: "1 hour", planning: { policy: client.policy } }
        })
        // every request ran, so the bound counts no more work than the run did
        assert.strictEqual(result.summary.failed, 0)
        assert.isAtLeast(result.summary.durationMs, result.bound.ms, `bound by ${result.bound.by?.kind}`)
      }),
    { fastCheck: { numRuns: 20 } }
  )
})
