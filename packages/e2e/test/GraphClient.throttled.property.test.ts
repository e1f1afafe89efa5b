import { describe, expect, it } from "@effect/vitest"
import * as Bucket from "@effect-msgraph/spec/Bucket"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Audit, Emulator } from "@effect-msgraph/emulator"
import { Effect, FastCheck as fc, Layer } from "effect"
import { driveClock, firstSuccess, inProcess } from "./utils/harness.js"

/**
 * Requests that contend for a few small buckets: Teams channel posts (one per second per channel,
 * four per second per team), mailbox reads (a window lowered to 6 per 10 s per mailbox, on both
 * sides) and directory reads (the resource-unit bucket). Each may depend on up to two earlier ones
 * and carries a random priority.
 */
/** The mailboxes the mail reads address, created first (the reads take their ids from the answers). */
const mailboxes: ReadonlyArray<WorkloadRequest> = [0, 1, 2].map((m) => ({
  id: `mb${m}`,
  method: "POST",
  url: "/users",
  body: {
    accountEnabled: true,
    displayName: `Mailbox ${m}`,
    mailNickname: `mb${m}`,
    userPrincipalName: `mb${m}@contoso.onmicrosoft.com`,
    passwordProfile: { password: "not-a-secret-1!" }
  }
}))

const postArb = fc.record({ _tag: fc.constant("post" as const), team: fc.nat(1), channel: fc.nat(2) })
const mailArb = fc.record({ _tag: fc.constant("mail" as const), mailbox: fc.nat(2) })
const readArb = fc.record({ _tag: fc.constant("read" as const), top: fc.constantFrom(1, 100, 999) })

type Kind =
  | { readonly _tag: "post"; readonly team: number; readonly channel: number }
  | { readonly _tag: "mail"; readonly mailbox: number }
  | { readonly _tag: "read"; readonly top: number }

const workloadOf = (kindArb: fc.Arbitrary<Kind>, minLength: number) =>
  fc.array(
    fc.record({
      kind: kindArb,
      deps: fc.array(fc.nat(), { maxLength: 2 }),
      priority: fc.constantFrom(undefined, "high" as const, "low" as const)
    }),
    { minLength, maxLength: 80 }
  ).map((nodes): Array<WorkloadRequest> => [
  ...mailboxes,
  ...nodes.map(({ deps, kind, priority }, i): WorkloadRequest => {
    const dependsOn = i === 0 ? [] : [...new Set(deps.map((d) => `r${d % i}`))]
    const common = { id: `r${i}`, dependsOn, ...(priority === undefined ? {} : { priority }) }
    switch (kind._tag) {
      case "post":
        return {
          ...common,
          method: "POST",
          url: `/teams/team-${kind.team}/channels/channel-${kind.team}-${kind.channel}/messages`,
          body: { body: { contentType: "text", content: `post ${i}` } }
        }
      case "mail":
        return { ...common, method: "GET", url: `/users/{{mb${kind.mailbox}#/body/id}}/messages?$top=5` }
      case "read":
        return { ...common, method: "GET", url: `/users?$top=${kind.top}&$skip=${i}` }
    }
  })
  ])

const workloadArb = workloadOf(fc.oneof(postArb, mailArb, readArb), 1)

/** Mostly channel posts, and more of them: a stricter tenant answers some with 429. */
const postHeavyArb = workloadOf(fc.oneof({ arbitrary: postArb, weight: 4 }, { arbitrary: mailArb, weight: 1 }, { arbitrary: readArb, weight: 1 }), 30)

const MAILBOX = { entryId: "outlook.mailbox.requests", quantity: 6, windowMillis: 10_000 }

const throttled = (emulator: Emulator.Emulator.Options = {}, maxAttempts = 3) =>
  inProcess(
    {
      tenantSize: "M",
      overrides: { [MAILBOX.entryId]: new Bucket.WindowLimit({ limit: MAILBOX.quantity, windowMillis: MAILBOX.windowMillis }) },
      ...emulator
    },
    { maxAttempts },
    GraphClient.layerThrottledMemory(Emulator.defaultIdentity, {
      catalog: {
        tenantSize: "M",
        delegated: true,
        overrides: [
          new LimitCatalog.LimitOverride({
            entryId: MAILBOX.entryId,
            quantity: MAILBOX.quantity,
            window: new LimitCatalog.Window({ amount: MAILBOX.windowMillis / 1000, unit: "second" })
          })
        ]
      }
    }).pipe(Layer.orDie)
  )

describe("GraphClient properties, throttled", () => {
  it.effect.prop(
    "contended buckets: every request succeeds once, in dependency order, with zero 429s and no limit exceeded",
    { workload: workloadArb },
    ({ workload }) =>
      Effect.gen(function*() {
        const client = yield* GraphClient.GraphClient
        const { outcomes, summary } = yield* driveClock(client.runAll(workload), "1 second")
        // one outcome each, all successes: admission defers and waits, it never drops or rejects
        expect(outcomes.map((o) => o.id).sort()).toStrictEqual(workload.map((w) => w.id).sort())
        expect(outcomes.filter((o) => o._tag !== "Success").map((o) => o.id)).toStrictEqual([])
        expect(summary.throttled429).toBe(0)
        const audit = yield* Emulator.audit
        expect(audit.filter((a) => a.status === 429).length).toBe(0)
        expect(Audit.limitViolations(audit)).toBe(0)
        expect(Audit.duplicateExecutions(audit.filter((a) => a.method === "POST"))).toBe(0)
        // every dependency ran, successfully, before its dependent
        const ran = firstSuccess(audit)
        for (const request of workload) {
          for (const dep of request.dependsOn ?? []) expect(ran.get(dep)!).toBeLessThan(ran.get(request.id)!)
          const mailbox = /\{\{(mb\d)#/.exec(request.url)?.[1]
          if (mailbox !== undefined) expect(ran.get(mailbox)!).toBeLessThan(ran.get(request.id)!)
        }
      }).pipe(Effect.provide(throttled())),
    { timeout: 300_000, fastCheck: { numRuns: 25 } }
  )

  it.effect.prop(
    "a tenant four times as strict as documented, which the client is not told: one outcome each, no create twice, nothing admitted over the real limits",
    { workload: postHeavyArb, seed: fc.nat() },
    ({ seed, workload }) =>
      Effect.gen(function*() {
        const client = yield* GraphClient.GraphClient
        const { outcomes } = yield* driveClock(client.runAll(workload), "1 second")
        expect(outcomes.map((o) => o.id).sort()).toStrictEqual(workload.map((w) => w.id).sort())
        // what fails, fails for throttling, retries run out, or a dependency that did
        for (const o of outcomes) {
          if (o._tag === "Failure") expect(["Throttled", "DependencyFailed"]).toContain(o.error._tag)
        }
        const audit = yield* Emulator.audit
        expect(Audit.limitViolations(audit)).toBe(0)
        expect(Audit.duplicateExecutions(audit.filter((a) => a.method === "POST"))).toBe(0)
        // a dependent ran only after its dependencies succeeded
        const ran = firstSuccess(audit)
        for (const request of workload) {
          if (!ran.has(request.id)) continue
          for (const dep of request.dependsOn ?? []) expect(ran.get(dep)!).toBeLessThan(ran.get(request.id)!)
        }
      }).pipe(Effect.provide(throttled({ multiplier: 0.25, seed }, 8))),
    { timeout: 300_000, fastCheck: { numRuns: 25 } }
  )
})
