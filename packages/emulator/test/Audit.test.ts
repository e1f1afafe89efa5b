import { Bucket } from "@effect-msgraph/spec"
import * as Audit from "@effect-msgraph/emulator/Audit"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { batch, get, post, postBatch } from "./utils/graph.js"

let seq = 0
const entry = (fields: Partial<Audit.AuditEntry>): Audit.AuditEntry => ({
  seq: ++seq,
  httpRequest: 1,
  itemId: undefined,
  requestId: `r${seq}`,
  clientRequestId: `c${seq}`,
  method: "GET",
  url: "/x",
  service: "test",
  priority: "normal",
  demands: [],
  bucketKeys: [],
  status: 200,
  admitted: true,
  executed: true,
  startedAt: 0,
  finishedAt: 0,
  dependsOn: [],
  retryAfterMillis: undefined,
  throttledBy: undefined,
  ...fields
})

const demand = (limit: Bucket.Limit, cost = 1) =>
  new Bucket.Demand({ key: "k", entryId: "e", service: "test", scope: "app", limit, cost, retryAfter: true })

describe("limitViolations", () => {
  it("counts requests beyond a window, by the documented limit", () => {
    const d = demand(new Bucket.WindowLimit({ limit: 2, windowMillis: 1_000 }))
    const at = (t: number) => entry({ demands: [d], startedAt: t, finishedAt: t })
    assert.strictEqual(Audit.limitViolations([at(0), at(500), at(999)]), 1)
    assert.strictEqual(Audit.limitViolations([at(0), at(500), at(1_000)]), 0, "the first unit left at 1,000 ms")
    assert.strictEqual(Audit.limitViolations([at(0), at(1), at(2), at(3)]), 2, "a refused request is not counted again")
  })

  it("counts requests beyond a token bucket", () => {
    const d = demand(new Bucket.TokenBucketLimit({ capacity: 4, refillPerSecond: 2 }), 2)
    const at = (t: number) => entry({ demands: [d], startedAt: t })
    assert.strictEqual(Audit.limitViolations([at(0), at(0), at(0)]), 1)
    assert.strictEqual(Audit.limitViolations([at(0), at(0), at(1_000)]), 0, "one second refills two units")
  })

  it("counts requests beyond a concurrency limit", () => {
    const d = demand(new Bucket.ConcurrencyLimit({ permits: 2 }))
    const span = (start: number, end: number) => entry({ demands: [d], startedAt: start, finishedAt: end })
    assert.strictEqual(Audit.limitViolations([span(0, 100), span(10, 100), span(20, 30)]), 1)
    assert.strictEqual(Audit.limitViolations([span(0, 10), span(10, 20), span(20, 30)]), 0)
  })

  // uses of one bucket: start and duration in ms, and whether the engine admitted it (numbers in admission order)
  const uses = FastCheck.array(
    FastCheck.record({ startedAt: FastCheck.integer({ min: 0, max: 3_000 }), runs: FastCheck.integer({ min: 0, max: 500 }), admitted: FastCheck.boolean() }),
    { maxLength: 40 }
  )
  const limits = FastCheck.constantFrom<ReadonlyArray<Bucket.Limit>>(
    [new Bucket.WindowLimit({ limit: 3, windowMillis: 1_000 })],
    [new Bucket.TokenBucketLimit({ capacity: 3, refillPerSecond: 2 })],
    [new Bucket.ConcurrencyLimit({ permits: 2 })]
  )
  // numbered here, not by `entry`'s counter (other tests rely on its numbers)
  const template = entry({})
  const entriesOf = (drawn: ReadonlyArray<{ startedAt: number; runs: number; admitted: boolean }>, limit: Bucket.Limit, seqOf: (i: number) => number) =>
    drawn.map((u, i): Audit.AuditEntry => ({ ...template, demands: [demand(limit)], seq: seqOf(i), startedAt: u.startedAt, finishedAt: u.startedAt + u.runs, admitted: u.admitted }))

  it.prop("counts by the order of admission (start, then number), whatever order the entries come in", [uses, limits, FastCheck.integer()], ([drawn, [limit], salt]) => {
    const entries = entriesOf(drawn, limit!, (i) => i + 1)
    const shuffled = entries.map((e, i) => ({ e, key: Math.imul(i + 1, salt | 1) >>> 0 })).sort((a, b) => a.key - b.key).map((x) => x.e)
    assert.strictEqual(Audit.limitViolations(shuffled), Audit.limitViolations(entries))
  })

  it.prop("counts the same whether the numbers are dense (as the engine gives them) or sparse", [uses, limits, FastCheck.boolean()], ([drawn, [limit], inOrder]) => {
    // in order: starts that never decrease with the number, as in the engine's log; otherwise any starts
    const ordered = inOrder ? [...drawn].sort((a, b) => a.startedAt - b.startedAt) : drawn
    const dense = entriesOf(ordered, limit!, (i) => 100 + i)
    const sparse = entriesOf(ordered, limit!, (i) => 100 + 7 * i)
    assert.strictEqual(Audit.limitViolations(dense.slice().reverse()), Audit.limitViolations(sparse))
  })

  it("ignores requests that were not admitted", () => {
    const d = demand(new Bucket.WindowLimit({ limit: 1, windowMillis: 1_000 }))
    assert.strictEqual(Audit.limitViolations([entry({ demands: [d] }), entry({ demands: [d], admitted: false, executed: false, status: 429 })]), 0)
  })
})

describe("duplicateExecutions", () => {
  it("counts executions after the first of the same client request id", () => {
    assert.strictEqual(Audit.duplicateExecutions([entry({ clientRequestId: "a" }), entry({ clientRequestId: "a" }), entry({ clientRequestId: "a" })]), 2)
    assert.strictEqual(
      Audit.duplicateExecutions([entry({ clientRequestId: "a", executed: false, status: 429 }), entry({ clientRequestId: "a" })]),
      0,
      "a throttled attempt was never executed"
    )
  })

  it.effect("identifies batch items by client-request-id, else by batch id and a hash of method, url and body", () =>
    Effect.gen(function*() {
      yield* batch([get("1", "/me"), post("2", "/groups", { displayName: "g", mailNickname: "g" })])
      yield* batch([get("1", "/me")]) // same id, same request: a duplicate
      yield* batch([get("1", "/organization")]) // same id, other request: not a duplicate
      yield* batch([get("9", "/me", { "client-request-id": "abc" })])
      yield* batch([get("10", "/organization", { "client-request-id": "abc" })]) // same client-request-id
      const log = yield* Emulator.audit
      assert.match(log[0]!.clientRequestId, /^1#[0-9a-f]{8}$/)
      assert.strictEqual(log.at(-1)!.clientRequestId, "abc")
      assert.strictEqual((yield* Emulator.report).duplicateExecutions, 2)
    }).pipe(Effect.provide(Emulator.layerTest())))
})

describe("orderViolations", () => {
  it("counts requests that started before a dependency completed successfully", () => {
    const a = entry({ clientRequestId: "a", startedAt: 0, finishedAt: 10 })
    assert.strictEqual(Audit.orderViolations([a, entry({ dependsOn: ["a"], startedAt: 10 })]), 0)
    assert.strictEqual(Audit.orderViolations([a, entry({ dependsOn: ["a"], startedAt: 5 })]), 1, "overlapped")
    assert.strictEqual(Audit.orderViolations([entry({ dependsOn: ["a"], startedAt: 20 }), { ...a, seq: 999 }]), 1, "ran before")
    const failed = entry({ clientRequestId: "f", status: 500 })
    assert.strictEqual(Audit.orderViolations([failed, entry({ dependsOn: ["f"], startedAt: 20 })]), 1, "dependency failed")
    assert.strictEqual(Audit.orderViolations([failed, entry({ dependsOn: ["f"], executed: false, status: 424 })]), 0, "424 is correct")
  })

  it.effect("reads dependencies across batches from x-emulator-depends-on", () =>
    Effect.gen(function*() {
      // The dependent runs first: a violation the emulator could not prevent, the audit reports it.
      yield* batch([get("2", "/organization", { "client-request-id": "second", "x-emulator-depends-on": "first" })])
      yield* batch([get("1", "/me", { "client-request-id": "first" })])
      yield* batch([get("3", "/organization", { "client-request-id": "third", "x-emulator-depends-on": "first" })])
      assert.strictEqual((yield* Emulator.report).orderViolations, 1)
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect.prop(
    "the emulator itself never breaks the order of a valid serial batch",
    [FastCheck.integer({ min: 1, max: 20 }), FastCheck.integer({ min: 0, max: 1_000 })],
    ([n, seed]) =>
      Effect.gen(function*() {
        const requests = Array.from({ length: n }, (_, i) => ({ ...get(`i${i}`, `/organization?i=${i}`), ...(i > 0 ? { dependsOn: [`i${i - 1}`] } : {}) }))
        const answer = yield* postBatch({ requests })
        assert.strictEqual(answer.status, 200)
        const report = yield* Emulator.report
        assert.strictEqual(report.orderViolations, 0)
        assert.strictEqual(report.requests, n)
      }).pipe(Effect.provide(Emulator.layerTest({ seed }))),
    { fastCheck: { numRuns: 30 } }
  )
})

describe("earlyRetries", () => {
  it("counts attempts made before the previous attempt's Retry-After had passed", () => {
    const throttled = entry({ clientRequestId: "x", status: 429, admitted: false, executed: false, startedAt: 0, finishedAt: 0, retryAfterMillis: 2_000 })
    assert.strictEqual(Audit.earlyRetries([throttled, entry({ clientRequestId: "x", startedAt: 1_999 })]), 1)
    assert.strictEqual(Audit.earlyRetries([throttled, entry({ clientRequestId: "x", startedAt: 2_000 })]), 0)
    assert.strictEqual(Audit.earlyRetries([throttled, entry({ clientRequestId: "y", startedAt: 10 })]), 0, "another request")
  })

  it.effect("are reported for a client that ignores Retry-After", () =>
    Effect.gen(function*() {
      const headers = { "client-request-id": "again" }
      yield* batch([get("1", "/identityProtection/riskyUsers", headers)])
      yield* batch([get("1", "/identityProtection/riskyUsers", headers)]) // throttled, no Retry-After: not early
      yield* Emulator.setFaults({ items: [{ status: 503, rate: 1, retryAfterSeconds: 5 }] })
      yield* batch([get("2", "/me", { "client-request-id": "busy" })])
      yield* Emulator.setFaults({})
      yield* batch([get("2", "/me", { "client-request-id": "busy" })]) // at once, 5 s too early
      const report = yield* Emulator.report
      assert.strictEqual(report.earlyRetries, 1)
    }).pipe(Effect.provide(Emulator.layerTest())))
})

describe("the log", () => {
  it.effect("records time, bucket keys, status and priority for every item", () =>
    Effect.gen(function*() {
      yield* batch([get("a", "/me", { "x-ms-throttle-priority": "high" })])
      const [e] = yield* Emulator.audit
      assert.strictEqual(e!.itemId, "a")
      assert.strictEqual(e!.status, 200)
      assert.strictEqual(e!.priority, "high")
      assert.strictEqual(e!.startedAt, 0)
      assert.deepStrictEqual(e!.bucketKeys, e!.demands.map((d) => d.key))
      assert.isAbove(e!.bucketKeys.length, 0)
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("names the bucket whose limit answered a 429, and no bucket for other refusals", () =>
    Effect.gen(function*() {
      yield* batch([get("1", "/identityProtection/riskyUsers")])
      yield* batch([get("2", "/identityProtection/riskyUsers")]) // over its window: 429
      yield* Emulator.setFaults({ items: [{ status: 503, rate: 1, retryAfterSeconds: 5 }] })
      yield* batch([get("3", "/identityProtection/riskyUsers")]) // a fault, not a limit
      const [admitted, refused, faulted] = yield* Emulator.audit
      assert.strictEqual(refused!.status, 429)
      const by = refused!.demands.find((d) => d.key === refused!.throttledBy)
      assert.isDefined(by, "one of the request's own buckets")
      assert.match(by!.entryId, /identityProtection/)
      assert.strictEqual(admitted!.throttledBy, undefined)
      assert.strictEqual(faulted!.status, 503)
      assert.strictEqual(faulted!.throttledBy, undefined)
      assert.deepStrictEqual([...Audit.throttledByBucket(yield* Emulator.audit)], [[refused!.throttledBy, 1]])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("is bounded: the oldest entries go first", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) yield* batch([get(String(i), "/me")])
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => e.itemId), ["2", "3", "4"])
      assert.strictEqual(yield* Effect.flatMap(Emulator.Emulator, (e) => e.auditDropped), 2)
    }).pipe(Effect.provide(Emulator.layerTest({ auditCapacity: 3 }))))
})
