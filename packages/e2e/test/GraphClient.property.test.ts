import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Audit, Emulator } from "@effect-msgraph/emulator"
import { Duration, Effect, FastCheck as fc, Schedule } from "effect"
import { driveClock, firstSuccess, inProcess } from "./utils/harness.js"

/** A random DAG of reads and creates; each request depends on up to two earlier ones. */
const workloadArb = fc.array(
  fc.record({
    create: fc.boolean(),
    deps: fc.array(fc.nat(), { maxLength: 2 })
  }),
  { minLength: 1, maxLength: 60 }
).map((nodes) =>
  nodes.map((node, i): WorkloadRequest => {
    const dependsOn = i === 0 ? [] : [...new Set(node.deps.map((d) => `r${d % i}`))]
    return node.create
      ? {
        id: `r${i}`,
        method: "POST",
        url: "/users",
        body: { accountEnabled: true, displayName: `P${i}`, mailNickname: `p${i}`, userPrincipalName: `p${i}@contoso.onmicrosoft.com` },
        dependsOn
      }
      : { id: `r${i}`, method: "GET", url: `/users?$top=1&$skip=${i}`, dependsOn }
  })
)

const faultsArb = fc.record({
  seed: fc.nat(),
  item503: fc.double({ min: 0, max: 0.3, noNaN: true }),
  item504After: fc.double({ min: 0, max: 0.3, noNaN: true }),
  batch500: fc.double({ min: 0, max: 0.3, noNaN: true }),
  drop: fc.double({ min: 0, max: 0.2, noNaN: true }),
  malformed: fc.double({ min: 0, max: 0.2, noNaN: true }),
  missing: fc.double({ min: 0, max: 0.2, noNaN: true })
})

describe("GraphClient properties", () => {
  it.effect.prop(
    "random DAG workloads under random faults: one outcome each, order kept, no create executed twice",
    { workload: workloadArb, faults: faultsArb },
    ({ faults, workload }) =>
      Effect.gen(function*() {
        const client = yield* GraphClient.GraphClient
        const { outcomes } = yield* driveClock(client.runAll(workload), "1 second")
        // exactly one outcome per request
        expect(outcomes.map((o) => o.id).sort()).toStrictEqual(workload.map((w) => w.id).sort())
        const byId = new Map(outcomes.map((o) => [o.id, o]))
        const audit = yield* Emulator.audit
        // a request that succeeded had every dependency succeed first, on the server
        const firstOk = firstSuccess(audit)
        for (const request of workload) {
          const outcome = byId.get(request.id)!
          if (outcome._tag === "Success") {
            for (const dep of request.dependsOn ?? []) {
              // the dependency succeeded, or ran and then lost its own answer (UnknownOutcome)...
              const depOutcome = byId.get(dep)!
              expect(depOutcome._tag === "Success" || depOutcome.error._tag === "UnknownOutcome").toBe(true)
              // ...and on the server it completed successfully before this request ran
              expect(firstOk.get(dep)!).toBeLessThan(firstOk.get(request.id)!)
            }
          } else if (outcome.error._tag === "DependencyFailed") {
            if (outcome.attempts === 0) {
              // not sent
              expect(audit.some((a) => a.itemId === request.id && a.executed)).toBe(false)
            } else {
              // sent before the dependency's failure was known, in a batch whose answer was lost:
              // only an idempotent request is ever resent, so only one can be here
              expect(request.method).toBe("GET")
            }
          }
        }
        expect(Audit.duplicateExecutions(audit.filter((a) => a.method === "POST"))).toBe(0)
        expect(Audit.limitViolations(audit)).toBe(0)
      }).pipe(Effect.provide(inProcess({
        seed: faults.seed,
        licenses: 100,
        faults: {
          items: [{ status: 503, rate: faults.item503 }, { status: 504, rate: faults.item504After, phase: "after" }],
          batches: [{ status: 500, rate: faults.batch500, phase: "after" }],
          dropConnection: { rate: faults.drop, phase: "after" },
          malformedJson: { rate: faults.malformed },
          missingItem: { rate: faults.missing }
        }
      }, {
        maxAttempts: 8,
        backoff: Schedule.exponential("500 millis").pipe(Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(10))))
      }))),
    { timeout: 300_000, fastCheck: { numRuns: 25 } }
  )
})
