import { Bucket } from "@effect-msgraph/spec"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { Accounting, type Enforced } from "../src/internal/accounting.js"

const enforced = (limit: Bucket.Limit, cost = 1, key = "k"): Enforced => ({
  demand: new Bucket.Demand({ key, entryId: "e", service: "test", scope: "app", limit, cost, retryAfter: true }),
  limit
})

describe("server-side accounting", () => {
  it.prop(
    "a window admits exactly what a brute-force count over the last windowMillis allows, and its wait is exact",
    [
      FastCheck.array(FastCheck.record({ gap: FastCheck.integer({ min: 0, max: 700 }), cost: FastCheck.integer({ min: 1, max: 3 }) }), { maxLength: 80 }),
      FastCheck.integer({ min: 1, max: 8 })
    ],
    ([steps, limit]) => {
      const windowMillis = 1_000
      const accounting = new Accounting()
      const admitted: Array<{ at: number; cost: number }> = []
      let now = 0
      for (const { cost, gap } of steps) {
        now += gap
        const used = admitted.filter((a) => a.at > now - windowMillis).reduce((n, a) => n + a.cost, 0)
        const verdict = accounting.tryAdmit([enforced(new Bucket.WindowLimit({ limit, windowMillis }), cost)], now)
        const fits = used + cost <= limit
        assert.strictEqual(verdict._tag, fits ? "Admitted" : "Throttled")
        if (fits) admitted.push({ at: now, cost })
        else if (verdict._tag === "Throttled" && cost <= limit) {
          // After the wait the request fits; one millisecond earlier it does not.
          const after = now + verdict.retryAfterMillis
          const usedAt = (t: number) => admitted.filter((a) => a.at > t - windowMillis).reduce((n, a) => n + a.cost, 0)
          assert.isAtMost(usedAt(after) + cost, limit)
          assert.isAbove(usedAt(after - 1) + cost, limit)
        }
      }
    },
    { fastCheck: { numRuns: 200 } }
  )

  it("a token bucket refills continuously and says how long the missing units take", () => {
    const accounting = new Accounting()
    const bucket = enforced(new Bucket.TokenBucketLimit({ capacity: 10, refillPerSecond: 2 }), 4)
    assert.strictEqual(accounting.tryAdmit([bucket], 0)._tag, "Admitted")
    assert.strictEqual(accounting.tryAdmit([bucket], 0)._tag, "Admitted")
    const refused = accounting.tryAdmit([bucket], 0)
    assert.deepStrictEqual(refused._tag === "Throttled" ? refused.retryAfterMillis : undefined, 1_000)
    assert.strictEqual(accounting.tryAdmit([bucket], 999)._tag, "Throttled")
    assert.strictEqual(accounting.tryAdmit([bucket], 1_000)._tag, "Admitted")
  })

  it("admits all demands of a request or none of them", () => {
    const accounting = new Accounting()
    const wide = enforced(new Bucket.WindowLimit({ limit: 100, windowMillis: 1_000 }), 1, "wide")
    const narrow = enforced(new Bucket.WindowLimit({ limit: 1, windowMillis: 1_000 }), 1, "narrow")
    accounting.tryAdmit([wide, narrow], 0)
    assert.strictEqual(accounting.tryAdmit([wide, narrow], 0)._tag, "Throttled")
    assert.strictEqual(accounting.usage(wide, 0).used, 1, "the refused request did not use the wide bucket")
  })

  it("gives concurrency permits back on release", () => {
    const accounting = new Accounting()
    const permits = enforced(new Bucket.ConcurrencyLimit({ permits: 1 }))
    assert.strictEqual(accounting.tryAdmit([permits], 0)._tag, "Admitted")
    assert.strictEqual(accounting.tryAdmit([permits], 0)._tag, "Throttled")
    accounting.release([permits])
    assert.strictEqual(accounting.tryAdmit([permits], 0)._tag, "Admitted")
  })

  it("forgets idle buckets, so memory follows the live state rather than every key ever seen", () => {
    const accounting = new Accounting()
    for (let i = 0; i < 1_000; i++) {
      accounting.tryAdmit([
        enforced(new Bucket.WindowLimit({ limit: 1, windowMillis: 1_000 }), 1, `channel/${i}`),
        enforced(new Bucket.TokenBucketLimit({ capacity: 5, refillPerSecond: 1 }), 1, `ru/${i}`)
      ], 0)
    }
    const sizes = () => [(accounting as any).windows.size, (accounting as any).tokens.size]
    assert.deepStrictEqual(sizes(), [1_000, 1_000])
    accounting.sweep(500)
    assert.deepStrictEqual(sizes(), [1_000, 1_000], "still in use")
    accounting.sweep(1_000)
    assert.deepStrictEqual(sizes(), [0, 0])
  })
})
