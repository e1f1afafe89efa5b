import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Audit, Emulator } from "@effect-msgraph/emulator"
import { Duration, Effect, Layer, Ref, Schedule } from "effect"
import { driveClock, inProcess, TOKEN } from "./utils/harness.js"

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
  it.effect("item 503 and 504, with and without Retry-After: reads are retried to success, creates are never resent", () =>
    Effect.gen(function*() {
      const { outcomes, audit } = yield* runChecked([...reads(60, (i) => `/users?$top=1&$skip=${i}`), ...creates(20)])
      for (const o of outcomes) {
        if (o.id.startsWith("get-")) expect(o._tag).toBe("Success")
        else if (o._tag === "Failure") expect(o.error).toMatchObject({ _tag: "UnknownOutcome", cause: "ItemStatus" })
      }
      expect(outcomeTags(outcomes)["UnknownOutcome"]).toBeGreaterThan(0)
      // every create was sent once: a 503 or 504 item may have run, so it is never sent again
      const sends = audit.filter((a) => a.method === "POST")
      expect(new Set(sends.map((a) => a.clientRequestId)).size).toBe(sends.length)
    }).pipe(Effect.provide(inProcess({
      seed: 7,
      faults: { items: [{ status: 503, rate: 0.2, retryAfterSeconds: 2 }, { status: 504, rate: 0.2 }] }
    }, fast))))

  it.effect("an item that ran and then answered 504: creates end UnknownOutcome and never run twice, reads are resent and succeed", () =>
    Effect.gen(function*() {
      const { outcomes, audit } = yield* runChecked([...reads(40, (i) => `/users?$top=1&$skip=${i}`), ...creates(40)])
      const timedOut = audit.filter((a) => a.status === 504)
      // the fault struck both kinds, and each struck item did run
      expect(timedOut.some((a) => a.method === "GET")).toBe(true)
      expect(timedOut.some((a) => a.method === "POST")).toBe(true)
      expect(timedOut.every((a) => a.executed)).toBe(true)
      expect(nonIdempotentDuplicates(audit)).toBe(0)
      const byId = new Map(outcomes.map((o) => [o.id, o]))
      for (const entry of timedOut) {
        const outcome = byId.get(entry.itemId!)!
        if (entry.method === "GET") expect(outcome).toMatchObject({ _tag: "Success", status: 200 })
        else {
          expect(outcome).toMatchObject({
            _tag: "Failure",
            attempts: 1,
            error: { _tag: "UnknownOutcome", id: entry.itemId, method: "POST", cause: "ItemStatus", status: 504 }
          })
        }
      }
      // nothing else failed: a create not struck succeeded on its only send
      expect(outcomes.filter((o) => o._tag === "Failure").length).toBe(timedOut.filter((a) => a.method === "POST").length)
    }).pipe(Effect.provide(inProcess({ seed: 29, faults: { items: [{ status: 504, rate: 0.3, phase: "after" }] } }, fast))))

  it.effect("a request's idempotent marker overrides its method: a marked POST is resent after a 504, a marked GET is not", () =>
    Effect.gen(function*() {
      const upsert: WorkloadRequest = { ...creates(1)[0]!, id: "upsert", idempotent: true }
      const read: WorkloadRequest = { id: "read", method: "GET", url: "/users?$top=1", idempotent: false }
      const { outcomes, audit } = yield* runChecked([upsert, read])
      const byId = new Map(outcomes.map((o) => [o.id, o]))
      // every send runs and answers 504: the POST is resent until its attempts run out
      expect(byId.get("upsert")).toMatchObject({ _tag: "Failure", attempts: 2, error: { _tag: "Throttled", status: 504, attempts: 2 } })
      expect(byId.get("read")).toMatchObject({ _tag: "Failure", attempts: 1, error: { _tag: "UnknownOutcome", method: "GET", status: 504 } })
      expect(audit.filter((a) => a.itemId === "upsert").map((a) => [a.status, a.executed])).toEqual([[504, true], [504, true]])
      expect(audit.filter((a) => a.itemId === "read").map((a) => [a.status, a.executed])).toEqual([[504, true]])
    }).pipe(Effect.provide(inProcess({ faults: { items: [{ status: 504, rate: 1, phase: "after" }] } }, { ...fast, maxAttempts: 2 }))))

  it.effect("execute takes the idempotent marker too: a marked POST is resent after a 504, an unmarked one is not", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const [body1, body2] = creates(2).map((c) => c.body)
      const marked = yield* Effect.flip(driveClock(client.execute({ method: "POST", url: "/users", body: body1, idempotent: true })))
      const unmarked = yield* Effect.flip(driveClock(client.execute({ method: "POST", url: "/users", body: body2 })))
      expect(marked).toMatchObject({ _tag: "Throttled", status: 504, attempts: 2 })
      expect(unmarked).toMatchObject({ _tag: "UnknownOutcome", method: "POST", cause: "ItemStatus", status: 504 })
      expect((yield* Emulator.audit).map((a) => a.executed)).toEqual([true, true, true])
    }).pipe(Effect.provide(inProcess({ faults: { items: [{ status: 504, rate: 1, phase: "after" }] } }, { ...fast, maxAttempts: 2 }))))

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

describe("a scripted $batch answer", () => {
  /** A `$batch` endpoint that answers every item 504 except those it leaves out, counting calls. */
  const timingOut = (calls: Ref.Ref<number>, leaveOut: ReadonlySet<string>) =>
    Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) =>
        Effect.gen(function*() {
          yield* Ref.update(calls, (n) => n + 1)
          const sent = JSON.parse(request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "{}") as {
            requests: ReadonlyArray<{ id: string }>
          }
          const responses = sent.requests.filter((r) => !leaveOut.has(r.id)).map((r) => ({
            id: r.id,
            status: 504,
            headers: { "Content-Type": "application/json" },
            body: { error: { code: "gatewayTimeout", message: "The upstream service did not answer in time." } }
          }))
          return HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ responses }), { status: 200, headers: { "content-type": "application/json" } }))
        })
      )
    )

  it.effect("a read sent in the same batch after a create answered 504, and left without an answer, ends UnknownOutcome too; nothing is resent", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const { outcomes } = yield* Effect.gen(function*() {
        const client = yield* GraphClient.GraphClient
        return yield* driveClock(client.runAll([
          { ...creates(1)[0]!, id: "create" },
          { id: "read", method: "GET", url: "/users/f0@contoso.onmicrosoft.com", dependsOn: ["create"] }
        ]))
      }).pipe(Effect.provide(GraphClient.layer(fast).pipe(
        Layer.provide(Layer.mergeAll(TokenProvider.layerStatic(TOKEN), GraphClient.layerUnthrottled, timingOut(calls, new Set(["read"]))))
      )))
      const byId = new Map(outcomes.map((o) => [o.id, o]))
      expect(byId.get("create")).toMatchObject({ _tag: "Failure", error: { _tag: "UnknownOutcome", cause: "ItemStatus", status: 504 } })
      // the read may have run after the create did: resending it alone could not be ordered after the create
      expect(byId.get("read")).toMatchObject({ _tag: "Failure", attempts: 1, error: { _tag: "UnknownOutcome", method: "GET", cause: "BatchDecodeError" } })
      expect(yield* Ref.get(calls)).toBe(1)
    }))
})
