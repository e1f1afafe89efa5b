import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ConcurrencyLimit, WindowLimit } from "@effect-msgraph/spec/Bucket"
import * as QuotaStore from "../src/QuotaStore.js"
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
