import { Bucket } from "@effect-msgraph/core"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Emulator } from "@effect-msgraph/emulator"
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

  it("describes limits in words", () => {
    assert.strictEqual(LowerBound.describeLimit(windowLimit(10_000, 600_000)), "10,000 per 600 s")
    assert.strictEqual(LowerBound.describeLimit(new Bucket.TokenBucketLimit({ capacity: 5_000, refillPerSecond: 500 })), "capacity 5,000 + 500/s")
  })
})
