import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "effect/FastCheck"
import { ConcurrencyLimit, TokenBucketLimit, WindowLimit } from "@effect-msgraph/spec/Bucket"
import * as QuotaStore from "../src/QuotaStore.js"
import { defaultOptions, MemoryQuota } from "../src/internal/quota/memory.js"
import { memoryTarget, quotaStoreSuite } from "./suites/quotaStore.js"

const window = (limit: number, windowMillis: number) => WindowLimit.make({ limit, windowMillis })
const entry = (key: string, limit: QuotaStore.Entry["limit"], cost = 1): QuotaStore.Entry => ({ key, limit, cost })

// the contract every store passes (the Redis store runs the same suite)
quotaStoreSuite(memoryTarget)

describe("QuotaStore.makeMemory", () => {
  it.effect("reports a concurrency shortage as 'after a release', and gives permits back", () =>
    Effect.gen(function*() {
      const store = yield* QuotaStore.makeMemory()
      const c = ConcurrencyLimit.make({ permits: 2 })
      expect(yield* store.take([entry("c", c, 2)], 0)).toEqual({ _tag: "Taken" })
      expect(yield* store.take([entry("c", c)], 0)).toEqual({ _tag: "Blocked", retryAtMillis: undefined, keys: ["c"] })
      yield* store.release([entry("c", c)], 5)
      expect(yield* store.take([entry("c", c)], 5)).toEqual({ _tag: "Taken" })
    }))

  it.effect("a refusal from take is the caller's own: later refusals do not rewrite it", () =>
    Effect.gen(function*() {
      const store = yield* QuotaStore.makeMemory()
      const w = window(1, 1000)
      yield* store.take([entry("a", w), entry("b", w)], 0)
      const first = yield* store.take([entry("a", w)], 10)
      const second = yield* store.take([entry("a", w), entry("b", w)], 20)
      expect(first).toEqual({ _tag: "Blocked", retryAtMillis: 1000, keys: ["a"] })
      expect(second).toEqual({ _tag: "Blocked", retryAtMillis: 1000, keys: ["a", "b"] })
    }))

  it("the admission queue's attempt refuses as take does, in a record its next call rewrites", () => {
    const quota = new MemoryQuota()
    const w = window(1, 1000)
    expect(quota.attempt([entry("a", w), entry("b", w)], 0)).toEqual({ _tag: "Taken" })
    const first = quota.attempt([entry("a", w)], 10)
    expect(first).toEqual({ _tag: "Blocked", retryAtMillis: 1000, keys: ["a"] })
    const second = quota.attempt([entry("b", w), entry("a", w)], 500)
    expect(second).toEqual(quota.take([entry("b", w), entry("a", w)], 500))
    expect(second).toEqual({ _tag: "Blocked", retryAtMillis: 1000, keys: ["b", "a"] })
    // one record: whoever keeps a refusal's keys copies them (see `AdmissionQueue.blocked`)
    expect(first).toBe(second)
  })

  // The admission queue asks again only when something could have changed the answer: a refusal it
  // is spared is always the refusal a take would have given.
  it.prop(
    "an attempt answered 'as before' is one a take would have refused the same way, whatever ran in between",
    [
      fc.array(
        fc.record({
          op: fc.constantFrom(
            "take", "take", "take", "refused", "refused", "refused",
            "charge", "redate", "release", "pause", "scale", "sweep", "check"
          ),
          keys: fc.subarray(["w", "t", "c"], { minLength: 1 }),
          cost: fc.integer({ min: 1, max: 6 }),
          advance: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1, 50),
          factor: fc.constantFrom(0.5, 1)
        }),
        { minLength: 1, maxLength: 60 }
      )
    ],
    ([ops]) => {
      const quota = new MemoryQuota({ ...defaultOptions, unitsInFlight: true })
      const limits: Record<string, QuotaStore.Entry["limit"]> = {
        w: window(6, 100),
        t: TokenBucketLimit.make({ capacity: 6, refillPerSecond: 20 }),
        c: ConcurrencyLimit.make({ permits: 3 })
      }
      const remembered: Array<{ entries: Array<QuotaStore.Entry>; version: number; keys: Array<string>; retryAt: number | undefined }> = []
      let now = 0
      for (const { advance, cost, factor, keys, op } of ops) {
        now += advance
        const entries = keys.map((k) => entry(k, limits[k]!, cost))
        switch (op) {
          case "take":
          case "refused": {
            // "refused": asked again with every refusal remembered, at this instant or an earlier one
            for (const r of op === "refused" ? remembered : []) {
              const answer = quota.attempt(r.entries, now, r.version)
              if (answer === undefined) {
                expect(quota.check(r.entries, now)).toBe(false)
                const again = quota.attempt(r.entries, now)!
                expect(again).toEqual({ _tag: "Blocked", retryAtMillis: r.retryAt, keys: r.keys })
              }
            }
            const outcome = quota.attempt(entries, now)!
            if (outcome._tag === "Blocked") {
              remembered.push({ entries, version: quota.version, keys: [...outcome.keys], retryAt: outcome.retryAtMillis })
            }
            break
          }
          case "charge":
            quota.charge(entries, now)
            break
          case "redate":
            quota.redate(entries, Math.max(0, now - 10), now)
            break
          case "release":
            quota.release(entries, now)
            break
          case "pause":
            quota.pause(entries, now + 20, now)
            break
          case "scale":
            quota.scale(entries, factor, now)
            break
          case "sweep":
            quota.sweep(now)
            break
          case "check":
            quota.check(entries, now)
            quota.utilisation(entries[0]!, now)
            break
        }
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.effect("drops idle buckets, so memory stays bounded with 100,000 keys", () =>
    Effect.gen(function*() {
      const store = yield* QuotaStore.makeMemory({ windowSlots: 10 })
      const w = window(10_000, 600_000)
      const c = ConcurrencyLimit.make({ permits: 4 })
      for (let i = 0; i < 100_000; i++) yield* store.take([entry(`mailbox/${i}`, w), entry(`mailbox/${i}/c`, c)], i % 1000)
      expect(yield* store.size).toBe(200_000)
      // Give the permits back; the windows still hold their units for ten minutes.
      for (let i = 0; i < 100_000; i++) yield* store.release([entry(`mailbox/${i}/c`, c)], 1000)
      yield* store.sweep(1000)
      expect(yield* store.size).toBe(100_000)
      // Waves of 100,000 new mailboxes an hour apart: earlier waves are swept away as later ones
      // arrive, so the map stays within twice the live buckets (plus 4096) instead of growing.
      const sizes: Array<number> = []
      for (let wave = 1; wave <= 5; wave++) {
        for (let i = 0; i < 100_000; i++) yield* store.take([entry(`wave${wave}/${i}`, w)], wave * 3_600_000)
        sizes.push(yield* store.size)
      }
      for (const size of sizes) expect(size).toBeLessThanOrEqual(2 * 100_000 + 4096)
    }))
})
