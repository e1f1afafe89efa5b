import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Audit, Emulator } from "@effect-msgraph/emulator"
import { Duration, Effect, Schedule } from "effect"
import { driveClock, inProcess } from "./utils/harness.js"

const fast: GraphClient.GraphClient.Options = {
  maxAttempts: 30,
  maxRetryTime: "2 hours",
  backoff: Schedule.exponential("200 millis", 2).pipe(Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(5))))
}

const reads = (n: number, url: (i: number) => string): Array<WorkloadRequest> =>
  Array.from({ length: n }, (_, i) => ({ id: `get-${i}`, method: "GET", url: url(i) }))

const creates = (n: number): Array<WorkloadRequest> =>
  Array.from({ length: n }, (_, i) => ({
    id: `create-${i}`,
    method: "POST",
    url: "/users",
    body: { accountEnabled: true, displayName: `F${i}`, mailNickname: `f${i}`, userPrincipalName: `f${i}@contoso.onmicrosoft.com` }
  }))

const outcomeTags = (outcomes: ReadonlyArray<GraphClient.Outcome>) => {
  const counts: Record<string, number> = {}
  for (const o of outcomes) {
    const tag = o._tag === "Success" ? "Success" : o.error._tag
    counts[tag] = (counts[tag] ?? 0) + 1
  }
  return counts
}

/** Executions of POST/PATCH beyond the first of the same request: must always be zero. */
const nonIdempotentDuplicates = (audit: ReadonlyArray<Audit.AuditEntry>) =>
  Audit.duplicateExecutions(audit.filter((a) => a.method === "POST" || a.method === "PATCH"))

const runChecked = (workload: ReadonlyArray<WorkloadRequest>, step: Duration.DurationInput = "250 millis") =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const { outcomes, summary } = yield* driveClock(client.runAll(workload), step)
    // exactly one outcome per request
    expect(outcomes.map((o) => o.id).sort()).toStrictEqual(workload.map((w) => w.id).sort())
    const audit = yield* Emulator.audit
    return { outcomes, summary, audit, report: yield* Emulator.report }
  })

describe("throttling storms", () => {
  it.effect("Outlook beyond its mailbox limit: 429s with Retry-After are waited out; nothing is lost or duplicated", () =>
    Effect.gen(function*() {
      // 1% of the documented 10,000 per 10 minutes: 100 per 10 minutes for this mailbox
      const { outcomes, summary, report } = yield* runChecked(reads(260, (i) => `/me/messages?$top=1&$skip=${i}`), "2 seconds")
      expect(outcomeTags(outcomes)).toStrictEqual({ Success: 260 })
      expect(summary.throttled429).toBeGreaterThan(0)
      expect(summary.retries).toBeGreaterThan(0)
      expect(report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0, orderViolations: 0 })
    }).pipe(Effect.provide(inProcess({ multiplier: { outlook: 0.01 } }, fast))))

  it.effect("every request carries its own version 4 client-request-id, and keeps it on every retry", () =>
    Effect.gen(function*() {
      const { audit, summary } = yield* runChecked(reads(120, (i) => `/me/messages?$top=1&$skip=${i}`), "2 seconds")
      expect(summary.retries).toBeGreaterThan(0)
      const byItem = new Map<string, Set<string>>()
      for (const entry of audit) {
        expect(entry.clientRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        const ids = byItem.get(entry.itemId!) ?? new Set<string>()
        ids.add(entry.clientRequestId)
        byItem.set(entry.itemId!, ids)
      }
      expect(byItem.size).toBe(120)
      // one id per request across its attempts, and no two requests share one
      expect([...byItem.values()].every((ids) => ids.size === 1)).toBe(true)
      expect(new Set([...byItem.values()].flatMap((ids) => [...ids])).size).toBe(120)
      expect(audit.length).toBeGreaterThan(120)
    }).pipe(Effect.provide(inProcess({ multiplier: { outlook: 0.005 } }, fast))))

  it.effect("OneNote, whose 429s carry no Retry-After: backoff takes over and every request succeeds", () =>
    Effect.gen(function*() {
      const { outcomes, summary, audit, report } = yield* runChecked(reads(60, (i) => `/me/onenote/pages?$top=1&$skip=${i}`), "1 second")
      const throttled = audit.filter((a) => a.status === 429)
      expect(throttled.length).toBeGreaterThan(0)
      expect(outcomeTags(outcomes)).toStrictEqual({ Success: 60 })
      expect(summary.retries).toBeGreaterThan(0)
      expect(report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0 })
    }).pipe(Effect.provide(inProcess({ multiplier: { onenote: 0.2 } }, {
      // 24 per minute and 80 per hour for 60 requests: an unthrottled client needs backoffs that span minutes
      maxAttempts: 40,
      maxRetryTime: "1 hour",
      backoff: Schedule.exponential("1 second", 2).pipe(Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(30))))
    }))))

  it.effect("when retries run out the request ends Throttled, with the attempts it made", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* runChecked(reads(40, (i) => `/me/messages?$skip=${i}`), "2 seconds")
      const throttled = outcomes.filter((o) => o._tag === "Failure" && o.error._tag === "Throttled")
      expect(throttled.length).toBeGreaterThan(0)
      for (const o of throttled) expect(o).toMatchObject({ attempts: 2, error: { _tag: "Throttled", status: 429, attempts: 2 } })
    }).pipe(Effect.provide(inProcess({ multiplier: { outlook: 0.001 } }, { maxAttempts: 2 }))))
})

describe("fault modes", () => {
  it.effect("item 503 and 504, with and without Retry-After, are retried to success", () =>
    Effect.gen(function*() {
      const { outcomes, report } = yield* runChecked([...reads(60, (i) => `/users?$top=1&$skip=${i}`), ...creates(20)])
      expect(outcomeTags(outcomes)).toStrictEqual({ Success: 80 })
      expect(report.duplicateExecutions).toBe(0)
    }).pipe(Effect.provide(inProcess({
      seed: 7,
      faults: { items: [{ status: 503, rate: 0.2, retryAfterSeconds: 2 }, { status: 504, rate: 0.2 }] }
    }, fast))))

  for (const status of [500, 502, 503, 504] as const) {
    it.effect(`batch-level ${status} after execution: reads are resent, creates end UnknownOutcome and are never duplicated`, () =>
      Effect.gen(function*() {
        const { outcomes, audit } = yield* runChecked([...reads(40, (i) => `/users?$top=1&$skip=${i}`), ...creates(40)])
        const tags = outcomeTags(outcomes)
        expect(tags["UnknownOutcome"]).toBeGreaterThan(0)
        expect((tags["Success"] ?? 0) + (tags["UnknownOutcome"] ?? 0)).toBe(80)
        for (const o of outcomes) {
          if (o._tag === "Failure") expect(o.id.startsWith("create-")).toBe(true)
        }
        expect(nonIdempotentDuplicates(audit)).toBe(0)
      }).pipe(Effect.provide(inProcess({ seed: 3, faults: { batches: [{ status, rate: 0.4, phase: "after" }] } }, fast))))
  }

  it.effect("a batch-level 503 before execution with Retry-After: reads succeed after waiting", () =>
    Effect.gen(function*() {
      const { outcomes, report } = yield* runChecked(reads(60, (i) => `/users?$top=1&$skip=${i}`))
      expect(outcomeTags(outcomes)).toStrictEqual({ Success: 60 })
      expect(report.duplicateExecutions).toBe(0)
    }).pipe(Effect.provide(inProcess({ seed: 5, faults: { batches: [{ status: 503, rate: 0.5, retryAfterSeconds: 3, phase: "before" }] } }, fast))))

  it.effect("a dropped connection: reads are resent, creates end UnknownOutcome", () =>
    Effect.gen(function*() {
      // which batches lose their connection depends on the seed: the invariants must hold for each
      let unknown = 0
      for (const seed of [1, 2, 3, 4, 5]) {
        const { outcomes, audit } = yield* runChecked([...reads(40, (i) => `/users?$top=1&$skip=${i}`), ...creates(40)]).pipe(
          Effect.provide(inProcess({ seed, faults: { dropConnection: { rate: 0.4, phase: "after" } } }, fast))
        )
        for (const o of outcomes) {
          if (o._tag === "Failure") expect(o).toMatchObject({ id: expect.stringMatching(/^create-/), error: { _tag: "UnknownOutcome", cause: "BatchTransportError" } })
        }
        unknown += outcomes.filter((o) => o._tag === "Failure").length
        expect(nonIdempotentDuplicates(audit)).toBe(0)
      }
      expect(unknown).toBeGreaterThan(0)
    }))

  it.effect("malformed JSON: a BatchDecodeError; reads are resent, creates end UnknownOutcome", () =>
    Effect.gen(function*() {
      const { outcomes, audit } = yield* runChecked([...reads(40, (i) => `/users?$top=1&$skip=${i}`), ...creates(40)])
      const tags = outcomeTags(outcomes)
      expect(tags["UnknownOutcome"]).toBeGreaterThan(0)
      expect(Object.keys(tags).sort()).toStrictEqual(["Success", "UnknownOutcome"])
      for (const o of outcomes) if (o._tag === "Failure") expect(o.error).toMatchObject({ cause: "BatchDecodeError" })
      expect(nonIdempotentDuplicates(audit)).toBe(0)
    }).pipe(Effect.provide(inProcess({ seed: 13, faults: { malformedJson: { rate: 0.4 } } }, fast))))

  it.effect("a response missing an item: that read is resent, that create ends UnknownOutcome", () =>
    Effect.gen(function*() {
      const { outcomes, audit } = yield* runChecked([...reads(60, (i) => `/users?$top=1&$skip=${i}`), ...creates(60)])
      const tags = outcomeTags(outcomes)
      expect(tags["UnknownOutcome"]).toBeGreaterThan(0)
      expect(tags["Success"]).toBeGreaterThan(60)
      expect(Object.keys(tags).sort()).toStrictEqual(["Success", "UnknownOutcome"])
      expect(nonIdempotentDuplicates(audit)).toBe(0)
    }).pipe(Effect.provide(inProcess({ seed: 17, faults: { missingItem: { rate: 0.5 } } }, fast))))

  it.effect("realistic latency: the workload completes, in virtual time", () =>
    Effect.gen(function*() {
      const { outcomes, summary } = yield* runChecked([...reads(100, (i) => `/users?$top=1&$skip=${i}`), ...creates(20)])
      expect(outcomeTags(outcomes)).toStrictEqual({ Success: 120 })
      expect(summary.durationMs).toBeGreaterThan(0)
    }).pipe(Effect.provide(inProcess({ seed: 19, latency: "realistic" }, fast))))
})
