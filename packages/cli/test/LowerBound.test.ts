import { Bucket, LimitCatalog } from "@effect-msgraph/core"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Emulator, Latency } from "@effect-msgraph/emulator"
import type { Workload } from "@effect-msgraph/core"
import * as Examples from "../src/Examples.js"
import * as LowerBound from "../src/LowerBound.js"

const windowLimit = (limit: number, windowMillis: number) => new Bucket.WindowLimit({ limit, windowMillis })
const demand = (key: string, limit: Bucket.Limit, cost = 1) =>
  new Bucket.Demand({ key, entryId: `e.${key}`, service: "svc", scope: "appTenant", limit, cost, retryAfter: true })

describe("LowerBound", () => {
  it("a window of N per W needs (ceil(C/N) - 1) windows after the first", () => {
    const w = windowLimit(4, 1_000)
    assert.deepStrictEqual([0, 1, 4, 5, 8, 9].map((c) => LowerBound.bucketBoundMs(w, c)), [0, 0, 0, 1_000, 1_000, 2_000])
  })

  it("a token bucket starts full and refills at its rate; concurrency alone forces nothing", () => {
    const tb = new Bucket.TokenBucketLimit({ capacity: 10, refillPerSecond: 5 })
    assert.deepStrictEqual([5, 10, 20].map((c) => LowerBound.bucketBoundMs(tb, c)), [0, 0, 2_000])
    assert.strictEqual(LowerBound.bucketBoundMs(new Bucket.ConcurrencyLimit({ permits: 4 }), 1_000), 0)
  })

  it("sums each bucket's cost and picks the bucket forcing the longest wait", () => {
    const slow = windowLimit(1, 1_000)
    const fast = windowLimit(100, 1_000)
    const bound = LowerBound.fromDemands([
      [demand("a", slow), demand("x", fast)],
      [demand("a", slow), demand("x", fast)],
      [demand("b", slow)],
      [demand("a", slow)]
    ])
    assert.strictEqual(bound.ms, 2_000)
    assert.strictEqual(bound.bottleneck?.key, "a")
    assert.strictEqual(bound.bottleneck?.requests, 3)
    assert.deepStrictEqual(bound.buckets.map((b) => b.key), ["a", "x", "b"]) // equal bounds: larger cost first
  })

  it("no bucket forcing a wait means no bottleneck; the critical path's latency is a floor", () => {
    const bound = LowerBound.fromDemands([[demand("a", windowLimit(10, 1_000))]], { criticalPathMs: 120 })
    assert.isUndefined(bound.bottleneck)
    assert.strictEqual(bound.ms, 120)
    assert.strictEqual(bound.latencyMs, 120)
    // a bucket forcing longer wins over the path
    assert.strictEqual(LowerBound.fromDemands([[demand("a", windowLimit(1, 1_000))], [demand("a", windowLimit(1, 1_000))]], { criticalPathMs: 120 }).ms, 1_000)
  })

  it("a critical path of k dependent requests needs k least latencies, as round trips or one sequential batch alike", () => {
    // onboarding: create -> license -> member -> welcome, however it is batched
    assert.strictEqual(LowerBound.criticalPathMs(Examples.onboarding(5), () => 30), 4 * 30)
    const byService = (request: Workload.WorkloadRequest) => Emulator.realisticLatency[Emulator.serviceOf(request.url)].baseMillis
    // three identity requests (30 ms) and a mail (60 ms)
    assert.strictEqual(LowerBound.criticalPathMs(Examples.onboarding(5), byService), 3 * 30 + 60)
    assert.strictEqual(LowerBound.criticalPathMs([{ id: "a", method: "GET", url: "/users", dependsOn: ["missing"] }], () => 30), 0)
  })

  it("counts a retried request once in the audit", () => {
    const limit = windowLimit(1, 60_000)
    const entry = (clientRequestId: string) => ({ clientRequestId, demands: [demand("k", limit)] })
    assert.strictEqual(LowerBound.fromAudit([entry("r1"), entry("r1"), entry("r2")]).ms, 60_000)
  })

  it.prop(
    "the bound grows with the cost and with stricter limits",
    [fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 500 }), fc.double({ min: 0.05, max: 1, noNaN: true })],
    ([n, w, c1, extra, m]) => {
      const limit = windowLimit(n, w)
      const tb = new Bucket.TokenBucketLimit({ capacity: n, refillPerSecond: n / 10 })
      for (const l of [limit, tb]) {
        assert.isTrue(LowerBound.bucketBoundMs(l, c1) <= LowerBound.bucketBoundMs(l, c1 + extra))
        assert.isTrue(LowerBound.bucketBoundMs(l, c1) <= LowerBound.bucketBoundMs(Emulator.scaleLimit(l, m), c1))
      }
    }
  )

  it("a concurrency bucket's permits force its requests' least latencies, after a round trip", () => {
    // 10 requests of at least 60 ms over 4 permits: one permit runs 3 of them one after another
    assert.strictEqual(LowerBound.concurrencyBoundMs(4, Array.from({ length: 10 }, () => 60)), 3 * 60)
    // unequal latencies: the permits' busy time, shared
    assert.strictEqual(LowerBound.concurrencyBoundMs(2, [100, 100, 100, 10]), 310 / 2)
    assert.strictEqual(LowerBound.concurrencyBoundMs(4, [60], 50), 50 + 60)
    assert.strictEqual(LowerBound.concurrencyBoundMs(4, [], 50), 0)
  })

  const latency: Latency.Profile = {
    roundTrip: { baseMillis: 50, jitterMillis: 10 },
    services: { ...Latency.none.services, outlook: { baseMillis: 60, jitterMillis: 100 }, identity: { baseMillis: 30, jitterMillis: 0 } }
  }
  const mailbox = (key: string) =>
    new Bucket.Demand({ key, entryId: "outlook.mailbox.concurrent", service: "outlook", scope: "mailbox", limit: new Bucket.ConcurrencyLimit({ permits: 4 }), cost: 1, retryAfter: false })
  const audited = (clientRequestId: string, executed: boolean, key = "mb-1") => ({
    clientRequestId,
    itemId: clientRequestId,
    executed,
    service: "outlook",
    demands: [mailbox(key), demand("global", windowLimit(130_000, 10_000))]
  })

  it("from the audit: the requests a concurrency bucket ran, at their service's least latency; the bucket names the bound", () => {
    const entries = [
      ...Array.from({ length: 9 }, (_, i) => audited(`m${i}`, true)),
      audited("m0", true), // a retry counts once
      audited("never", false), // throttled and never run: no latency
      audited("other", true, "mb-2")
    ]
    const bound = LowerBound.fromAudit(entries, { latency })
    assert.strictEqual(bound.ms, 50 + 3 * 60)
    assert.strictEqual(bound.by?.kind, "concurrency")
    assert.deepInclude(bound.concurrency[0], { key: "mb-1", permits: 4, requests: 9, leastMillis: 9 * 60, boundMs: 50 + 3 * 60 })
    assert.strictEqual(bound.concurrency[1]!.requests, 1)
    // --stricter 2: the emulator enforces 2 permits
    assert.strictEqual(LowerBound.fromAudit(entries, { latency, multiplier: () => 0.5 }).ms, 50 + 5 * 60)
    // without a latency model, permits force nothing
    const none = LowerBound.fromAudit(entries)
    assert.deepStrictEqual([none.ms, none.by, none.concurrency], [0, undefined, []])
  })

  it("the critical path needs a least round trip, and one more for every 20 requests on it", () => {
    const chain = (n: number): Workload.Workload =>
      Array.from({ length: n }, (_, i) => ({ id: `c${i}`, method: "GET", url: "/me", ...(i === 0 ? {} : { dependsOn: [`c${i - 1}`] }) }))
    assert.strictEqual(LowerBound.criticalPathMs(chain(4), () => 10, { roundTripMillis: 50 }), 50 + 4 * 10)
    // 45 dependent requests fill at least three batches: at least 45 × (10 + 50/20) ms
    assert.strictEqual(LowerBound.criticalPathMs(chain(45), () => 10, { roundTripMillis: 50 }), 45 * 10 + 45 * 2.5)
    // a response reference costs a round trip more: the request goes out once the answer is back
    const refs = (n: number): Workload.Workload =>
      Array.from({ length: n }, (_, i) => ({ id: `r${i}`, method: "GET", url: i === 0 ? "/me" : `/users/{{r${i - 1}#/body/id}}` }))
    assert.strictEqual(LowerBound.criticalPathMs(refs(4), () => 10, { roundTripMillis: 50 }), 4 * 50 + 4 * 10)
    // onboarding: a round trip, create, a round trip (the licence uses the create's answer), then
    // licence, membership and mail in one sequential batch (plain dependsOn)
    const byService = (request: Workload.WorkloadRequest) => Latency.least(Latency.itemOf(Latency.realistic, request.url))
    assert.strictEqual(LowerBound.criticalPathMs(Examples.onboarding(5), byService, { roundTripMillis: 50 }), 50 + 30 + 50 + 30 + 30 + 60)
    // a hop into a request that never ran counts nothing
    const ran = (r: Workload.WorkloadRequest) => r.id !== "r3"
    assert.strictEqual(LowerBound.criticalPathMs(refs(4), (r) => ran(r) ? 10 : 0, { roundTripMillis: 50, executed: ran }), 3 * 50 + 3 * 10)
    // a request that never ran adds nothing, and when none ran, no round trip either
    assert.strictEqual(LowerBound.criticalPathMs(chain(4), () => 0, { roundTripMillis: 50, executed: () => false }), 0)
    // from the audit, with the workload: the path names the bound
    const entries = chain(4).map((r) => ({ clientRequestId: r.id, itemId: r.id, executed: true, service: "identity", demands: [] }))
    const bound = LowerBound.fromAudit(entries, { latency, workload: chain(4) })
    assert.deepStrictEqual([bound.ms, bound.latencyMs, bound.by?.kind], [50 + 4 * 30, 50 + 4 * 30, "criticalPath"])
  })

  it("the largest of limit, critical path and concurrency bounds it, and says which", () => {
    const slow = windowLimit(1, 1_000)
    const limit = LowerBound.fromDemands([[demand("a", slow)], [demand("a", slow)]], { criticalPathMs: 120 })
    assert.strictEqual(limit.by?.kind, "limit")
    assert.strictEqual(limit.by?.kind === "limit" && limit.by.bucket.key, "a")
    assert.strictEqual(LowerBound.describeBinding(limit.by!).kind, "limit")
    assert.include(LowerBound.describeBinding(limit.by!).detail, "2 units at 1 per 1 s")
    assert.strictEqual(LowerBound.fromDemands([[demand("a", slow)]], { criticalPathMs: 120 }).by?.kind, "criticalPath")
    assert.isUndefined(LowerBound.fromDemands([[demand("a", slow)]]).by)
  })

  it("from the workload (run): every request that did not fail ran, at its service's least latency", () => {
    const workload: Workload.Workload = [
      ...Array.from({ length: 8 }, (_, i) => ({ id: `m${i}`, method: "GET", url: `/users/someone@contoso.com/messages?i=${i}` })),
      { id: "me", method: "GET", url: "/me" }
    ]
    const context = new LimitCatalog.ClassifyContext({ tenantId: "t", appId: "a", delegated: true, tenantSize: "M" })
    const bound = LowerBound.fromWorkload(workload, context, undefined, { latency })
    // eight mails through four permits: two after another, after a round trip
    assert.strictEqual(bound.ms, 50 + 2 * 60)
    assert.strictEqual(bound.by?.kind, "concurrency")
    const failed = LowerBound.fromWorkload(workload, context, undefined, { latency, failed: (id) => id.startsWith("m") && id !== "m0" })
    assert.strictEqual(failed.ms, 50 + 60)
    assert.strictEqual(LowerBound.fromWorkload(workload, context).ms, 0)
  })

  it("describes limits in words", () => {
    assert.strictEqual(LowerBound.describeLimit(windowLimit(10_000, 600_000)), "10,000 per 600 s")
    assert.strictEqual(LowerBound.describeLimit(new Bucket.TokenBucketLimit({ capacity: 5_000, refillPerSecond: 500 })), "capacity 5,000 + 500/s")
  })
})
