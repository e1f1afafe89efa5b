/**
 * What every `QuotaStore` must do, written once and run against each store: the in-memory one here,
 * and the Redis one in packages/quota-redis. A target says how to build a store and, for a store
 * that answers over a network, how to wait until every call in flight has been answered (virtual
 * time does not wait for sockets).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import type * as Scope from "effect/Scope"
import { TokenBucketLimit, WindowLimit } from "@effect-msgraph/spec/Bucket"
import * as QuotaStore from "../../src/QuotaStore.js"

/** A store under test, with the inspection the suite reads. */
export interface TestStore extends QuotaStore.QuotaStoreService {
  /** The adaptive factor of a bucket (1 = the catalogue's limit). */
  readonly factor: (key: string) => Effect.Effect<number, QuotaStore.QuotaStoreError>
}

/** How the suites reach a store. */
export interface StoreTarget {
  readonly name: string
  /** A fresh store, sharing no bucket with any other store this target made. */
  readonly make: (options: QuotaStore.QuotaStore.MemoryOptions) => Effect.Effect<TestStore, never, Scope.Scope>
  /**
   * For a store answered over a network: waits until every call in flight has been answered.
   * `undefined` for a store answered within the scheduler (virtual time then needs no help).
   */
  readonly settle: Effect.Effect<void> | undefined
  /** Whether the store answers synchronously (the Throttler then drives it without Effects). */
  readonly local: boolean
}

/** The in-memory store as a target. */
export const memoryTarget: StoreTarget = {
  name: "QuotaStore.makeMemory",
  make: (options) => QuotaStore.makeMemory(options),
  settle: undefined,
  local: true
}

const window = (limit: number, windowMillis: number) => WindowLimit.make({ limit, windowMillis })
const entry = (key: string, limit: QuotaStore.Entry["limit"], cost = 1): QuotaStore.Entry => ({ key, limit, cost })

/** The store's contract, on explicit instants. */
export const quotaStoreSuite = (target: StoreTarget) =>
  describe(target.name, () => {
    it.scoped("takes from every bucket or from none, and says which were short and when to retry", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ windowSlots: 10 })
        const a = window(3, 1000)
        const b = window(1, 1000)
        expect(yield* store.take([entry("a", a), entry("b", b)], 0)).toEqual({ _tag: "Taken" })
        // b is full: nothing is taken from a either.
        expect(yield* store.take([entry("a", a, 2), entry("b", b)], 10)).toEqual({
          _tag: "Blocked",
          retryAtMillis: 1000,
          keys: ["b"]
        })
        expect(yield* store.take([entry("a", a, 2)], 20)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("a", a)], 30)).toMatchObject({ _tag: "Blocked", keys: ["a"] })
      }))

    it.scoped("a sub-window's takes are dated by the latest of them: exact for one instant, late by at most a sub-window", () =>
      Effect.gen(function*() {
        // 20 per second in 10 sub-windows of 100 ms
        const w = window(20, 1000)
        const store = yield* target.make({ windowSlots: 10 })
        // takes at one instant leave together, exactly one window later
        expect(yield* store.take([entry("w", w, 20)], 0)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("w", w)], 999)).toEqual({ _tag: "Blocked", retryAtMillis: 1000, keys: ["w"] })
        expect(yield* store.take([entry("w", w, 20)], 1000)).toEqual({ _tag: "Taken" })
        // takes at 1000 and 1090 share the sub-window [1000, 1100): the run is dated 1090, so the units
        // taken at 1000 are counted until 2090, 90 ms longer than an exact log would count them
        const later = yield* target.make({ windowSlots: 10 })
        expect(yield* later.take([entry("w", w, 10)], 1000)).toEqual({ _tag: "Taken" })
        expect(yield* later.take([entry("w", w, 10)], 1090)).toEqual({ _tag: "Taken" })
        expect(yield* later.take([entry("w", w)], 2000)).toEqual({ _tag: "Blocked", retryAtMillis: 2090, keys: ["w"] })
        // a take in the next sub-window starts a run of its own
        const apart = yield* target.make({ windowSlots: 10 })
        expect(yield* apart.take([entry("w", w, 10)], 1050)).toEqual({ _tag: "Taken" })
        expect(yield* apart.take([entry("w", w, 10)], 1100)).toEqual({ _tag: "Taken" })
        expect(yield* apart.take([entry("w", w)], 2000)).toEqual({ _tag: "Blocked", retryAtMillis: 2050, keys: ["w"] })
      }))

    it.scoped("a window of no more units than sub-windows is exact: each unit leaves one window after its own take", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ windowSlots: 10 })
        // a team's four posts a second
        const team = window(4, 1000)
        for (const at of [0, 30, 60, 90]) expect(yield* store.take([entry("t", team)], at)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("t", team)], 500)).toEqual({ _tag: "Blocked", retryAtMillis: 1000, keys: ["t"] })
        expect(yield* store.take([entry("t", team)], 1000)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("t", team)], 1000)).toEqual({ _tag: "Blocked", retryAtMillis: 1030, keys: ["t"] })
        expect(yield* store.take([entry("t", team)], 1030)).toEqual({ _tag: "Taken" })
        // a charge beyond the limit is counted like any take, until it leaves the window
        yield* store.adjust([entry("t", team, 50)], { _tag: "Charge" }, 1040)
        expect(yield* store.take([entry("t", team)], 2039)).toMatchObject({ _tag: "Blocked", retryAtMillis: 2040 })
      }))

    it.scoped("Redate counts window units from a later instant, and leaves other buckets alone", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ windowSlots: 10 })
        const w = window(1, 1000)
        const big = window(100, 1000)
        const t = TokenBucketLimit.make({ capacity: 1, refillPerSecond: 1 })
        expect(yield* store.take([entry("w", w), entry("b", big, 60), entry("t", t)], 0)).toEqual({ _tag: "Taken" })
        yield* store.adjust([entry("w", w), entry("b", big, 60), entry("t", t)], { _tag: "Redate", takenAtMillis: 0 }, 300)
        // the unit taken at 0 now leaves at 1300, not 1000
        expect(yield* store.take([entry("w", w)], 1000)).toEqual({ _tag: "Blocked", retryAtMillis: 1300, keys: ["w"] })
        // moved, not added: 60 units in the window, not 120
        expect(yield* store.take([entry("b", big, 40)], 1000)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("b", big)], 1000)).toMatchObject({ _tag: "Blocked", keys: ["b"] })
        // the token bucket is not redated: it refilled at 1000
        expect(yield* store.take([entry("t", t)], 1000)).toEqual({ _tag: "Taken" })
        // a unit that had already left is counted again from the later instant
        yield* store.adjust([entry("w", w)], { _tag: "Redate", takenAtMillis: 0 }, 1500)
        expect(yield* store.take([entry("w", w)], 2000)).toEqual({ _tag: "Blocked", retryAtMillis: 2500, keys: ["w"] })
      }))

    it.scoped("Redate moves units out of an older run of a window with several, not only out of the last", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ windowSlots: 10 })
        const w = window(100, 1000)
        expect(yield* store.take([entry("w", w, 5)], 0)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("w", w, 5)], 250)).toEqual({ _tag: "Taken" })
        // the 5 taken at 0 leave the first run and count from 300
        yield* store.adjust([entry("w", w, 5)], { _tag: "Redate", takenAtMillis: 0 }, 300)
        expect(yield* store.take([entry("w", w, 5)], 450)).toEqual({ _tag: "Taken" })
        // 15 units in the runs at 250, 300 and 450
        expect(yield* store.take([entry("w", w, 86)], 900)).toMatchObject({ _tag: "Blocked", keys: ["w"] })
        expect(yield* store.take([entry("w", w, 85)], 900)).toEqual({ _tag: "Taken" })
        // full: room comes back as the runs at 250, 300 and 450 leave, 5 units each
        expect(yield* store.take([entry("w", w, 5)], 1000)).toEqual({ _tag: "Blocked", retryAtMillis: 1250, keys: ["w"] })
        expect(yield* store.take([entry("w", w, 10)], 1250)).toEqual({ _tag: "Blocked", retryAtMillis: 1300, keys: ["w"] })
        expect(yield* store.take([entry("w", w, 10)], 1300)).toEqual({ _tag: "Taken" })
      }))

    it.scoped("pauses only ever extend, and a paused bucket is short until the pause ends", () =>
      Effect.gen(function*() {
        const store = yield* target.make({})
        const t = TokenBucketLimit.make({ capacity: 10, refillPerSecond: 1 })
        yield* store.pause([entry("t", t)], 5000, 0)
        yield* store.pause([entry("t", t)], 3000, 0)
        expect(yield* store.take([entry("t", t)], 4999)).toEqual({ _tag: "Blocked", retryAtMillis: 5000, keys: ["t"] })
        expect(yield* store.take([entry("t", t)], 5000)).toEqual({ _tag: "Taken" })
      }))

    it.scoped("a lowered limit still admits a lone request that fits the catalogue's value", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ windowSlots: 10 })
        const w = window(10, 1000)
        yield* store.adjust([entry("w", w)], { _tag: "Scale", factor: 0.1 }, 0)
        expect(yield* store.factor("w")).toBeCloseTo(0.1)
        // Effective limit 1, but a cost of 5 may still go into an empty window...
        expect(yield* store.take([entry("w", w, 5)], 0)).toEqual({ _tag: "Taken" })
        // ...and nothing more until it has left.
        expect(yield* store.take([entry("w", w, 1)], 50)).toMatchObject({ _tag: "Blocked", retryAtMillis: 1000 })
      }))

    it.scoped("Scale sets a bucket's factor, never above the catalogue's value; one that is not positive changes nothing", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ windowSlots: 10 })
        const w = window(10, 1000)
        // a bucket without state set to the catalogue's value stays as it was
        yield* store.adjust([entry("w", w)], { _tag: "Scale", factor: 1 }, 0)
        expect(yield* store.factor("w")).toBe(1)
        yield* store.adjust([entry("w", w)], { _tag: "Scale", factor: 0.3 }, 0)
        expect(yield* store.factor("w")).toBeCloseTo(0.3)
        for (const factor of [0, -1, Number.NaN]) {
          yield* store.adjust([entry("w", w)], { _tag: "Scale", factor }, 0)
          expect(yield* store.factor("w")).toBeCloseTo(0.3)
        }
        // 3 of 10 admitted, then the window is full at that share
        expect(yield* store.take([entry("w", w, 3)], 0)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("w", w)], 0)).toMatchObject({ _tag: "Blocked", retryAtMillis: 1000 })
        // raised, the units held are kept and the rest of the new share is admitted at once
        yield* store.adjust([entry("w", w)], { _tag: "Scale", factor: 5 }, 0)
        expect(yield* store.factor("w")).toBe(1)
        expect(yield* store.take([entry("w", w, 7)], 0)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("w", w)], 0)).toMatchObject({ _tag: "Blocked", retryAtMillis: 1000 })
      }))

    it.scoped("a token bucket set to a factor refills at that share of its rate, up to that share of its capacity", () =>
      Effect.gen(function*() {
        const store = yield* target.make({})
        const t = TokenBucketLimit.make({ capacity: 10, refillPerSecond: 10 })
        yield* store.adjust([entry("t", t)], { _tag: "Scale", factor: 0.5 }, 0)
        // 5 tokens at most, then one every 200 ms
        expect(yield* store.take([entry("t", t, 5)], 0)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("t", t)], 0)).toEqual({ _tag: "Blocked", retryAtMillis: 200, keys: ["t"] })
        // ten seconds later it holds 5 again, not 10
        expect(yield* store.take([entry("t", t, 5)], 10_000)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("t", t)], 10_000)).toEqual({ _tag: "Blocked", retryAtMillis: 10_200, keys: ["t"] })
      }))

    it.scoped.prop(
      "a window set to a factor never holds more than that share of N in any interval of length W (or one lone request)",
      [
        FastCheck.integer({ min: 1, max: 40 }),
        FastCheck.double({ min: 0.01, max: 1.5, noNaN: true }),
        FastCheck.array(FastCheck.record({ at: FastCheck.integer({ min: 0, max: 3000 }), cost: FastCheck.integer({ min: 1, max: 10 }) }), {
          maxLength: 80
        })
      ],
      ([limit, factor, attempts]) =>
        Effect.gen(function*() {
          const store = yield* target.make({ windowSlots: 10 })
          const w = window(limit, 1000)
          yield* store.adjust([entry("w", w)], { _tag: "Scale", factor }, 0)
          const taken: Array<{ at: number; cost: number }> = []
          for (const { at, cost } of [...attempts].sort((x, y) => x.at - y.at)) {
            if (cost > limit) continue
            if ((yield* store.take([entry("w", w, cost)], at))._tag === "Taken") taken.push({ at, cost })
          }
          const share = Math.min(1, factor) * limit
          for (const start of taken) {
            const inside = taken.filter((t) => t.at >= start.at && t.at < start.at + 1000)
            const units = inside.reduce((n, t) => n + t.cost, 0)
            // a lowered window still admits a lone request into an empty window
            if (inside.length > 1) expect(units).toBeLessThanOrEqual(share + 1e-9)
            expect(units).toBeLessThanOrEqual(limit)
          }
        })
    )

    it.scoped("a token bucket's retry time is not pushed a millisecond late by floating-point refill", () =>
      Effect.gen(function*() {
        const store = yield* target.make({})
        const t = TokenBucketLimit.make({ capacity: 5, refillPerSecond: 4 })
        expect(yield* store.take([entry("t", t)], 0)).toEqual({ _tag: "Taken" })
        // 4.012 tokens at 3 ms; the fifth is back at 250 ms, which the arithmetic puts at 250.0000000000001
        expect(yield* store.take([entry("t", t, 5)], 3)).toEqual({ _tag: "Blocked", retryAtMillis: 250, keys: ["t"] })
        expect(yield* store.take([entry("t", t, 5)], 250)).toEqual({ _tag: "Taken" })
      }))

    it.scoped("tokenReserveMillis keeps that much refill in a token bucket, except from a request that needs it all", () =>
      Effect.gen(function*() {
        // 4 a second: 250 ms of refill is one token
        const store = yield* target.make({ tokenReserveMillis: 250 })
        const t = TokenBucketLimit.make({ capacity: 10, refillPerSecond: 4 })
        expect(yield* store.take([entry("t", t, 9)], 0)).toEqual({ _tag: "Taken" })
        // one token left, which is the reserve
        expect(yield* store.take([entry("t", t)], 0)).toEqual({ _tag: "Blocked", retryAtMillis: 250, keys: ["t"] })
        expect(yield* store.take([entry("t", t)], 250)).toEqual({ _tag: "Taken" })
        // a request for the whole capacity waits for a full bucket, not for more than there can be
        expect(yield* store.take([entry("t", t, 10)], 250)).toEqual({ _tag: "Blocked", retryAtMillis: 2500, keys: ["t"] })
        expect(yield* store.take([entry("t", t, 10)], 2500)).toEqual({ _tag: "Taken" })
      }))

    it.scoped("with unitsInFlight, a token bucket refills only up to its capacity less the units not yet answered", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ unitsInFlight: true })
        const t = TokenBucketLimit.make({ capacity: 10, refillPerSecond: 1 })
        expect(yield* store.take([entry("t", t, 10)], 0)).toEqual({ _tag: "Taken" })
        // Graph may still hold a full bucket (the 10 have not arrived), wasting its refill: so does the store
        expect(yield* store.take([entry("t", t, 2)], 2000)).toMatchObject({ _tag: "Blocked", keys: ["t"] })
        // answered at 3 s: Graph took the 10 no later than that, and refills from there at the latest
        yield* store.adjust([entry("t", t, 10)], { _tag: "Redate", takenAtMillis: 0 }, 3000)
        expect(yield* store.take([entry("t", t, 2)], 4000)).toMatchObject({ _tag: "Blocked", keys: ["t"] })
        expect(yield* store.take([entry("t", t, 2)], 5000)).toEqual({ _tag: "Taken" })
        // without it, the store counts the refill Graph's full bucket may have wasted
        const plain = yield* target.make({})
        expect(yield* plain.take([entry("p", t, 10)], 0)).toEqual({ _tag: "Taken" })
        expect(yield* plain.take([entry("p", t, 2)], 2000)).toEqual({ _tag: "Taken" })
      }))

    it.scoped.prop(
      "with unitsInFlight, Graph's token bucket is never short, whenever each admitted request arrives before its answer",
      [
        FastCheck.integer({ min: 1, max: 20 }),
        FastCheck.integer({ min: 1, max: 10 }),
        FastCheck.array(
          FastCheck.record({
            at: FastCheck.integer({ min: 0, max: 5000 }),
            cost: FastCheck.integer({ min: 1, max: 20 }),
            answerAfter: FastCheck.integer({ min: 0, max: 3000 }),
            arrival: FastCheck.double({ min: 0, max: 1, noNaN: true })
          }),
          { maxLength: 60 }
        )
      ],
      ([capacity, refillPerSecond, attempts]) =>
        Effect.gen(function*() {
          const store = yield* target.make({ unitsInFlight: true })
          const t = TokenBucketLimit.make({ capacity, refillPerSecond })
          const answers: Array<{ takenAt: number; at: number; cost: number }> = []
          const arrivals: Array<{ at: number; cost: number }> = []
          for (const a of [...attempts].sort((x, y) => x.at - y.at)) {
            if (a.cost > capacity) continue
            // answers due by now reach the store first, in their order
            answers.sort((x, y) => x.at - y.at)
            while (answers.length > 0 && answers[0]!.at <= a.at) {
              const done = answers.shift()!
              yield* store.adjust([entry("t", t, done.cost)], { _tag: "Redate", takenAtMillis: done.takenAt }, done.at)
            }
            if ((yield* store.take([entry("t", t, a.cost)], a.at))._tag !== "Taken") continue
            answers.push({ takenAt: a.at, at: a.at + a.answerAfter, cost: a.cost })
            arrivals.push({ at: a.at + a.arrival * a.answerAfter, cost: a.cost })
          }
          // Graph's bucket, full from the start, takes each request's units when it arrives
          let tokens = capacity
          let last = 0
          for (const { at, cost } of arrivals.sort((x, y) => x.at - y.at)) {
            tokens = Math.min(capacity, tokens + ((at - last) / 1000) * refillPerSecond)
            last = at
            expect(tokens + 1e-6).toBeGreaterThanOrEqual(cost)
            tokens -= cost
          }
        })
    )

    it.scoped("with unitsInFlight, a window's units not yet answered are counted as taken now, then from their answer", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ unitsInFlight: true, windowSlots: 10 })
        const w = window(1, 1000)
        expect(yield* store.take([entry("w", w)], 0)).toEqual({ _tag: "Taken" })
        // still waiting for a send slot, or in transit, at 2 s: Graph may count it at any moment
        expect(yield* store.take([entry("w", w)], 2000)).toMatchObject({ _tag: "Blocked", keys: ["w"] })
        // answered at 2.5 s: Graph counted it no later than that, so it leaves at 3.5 s
        yield* store.adjust([entry("w", w)], { _tag: "Redate", takenAtMillis: 0 }, 2500)
        expect(yield* store.take([entry("w", w)], 3000)).toEqual({ _tag: "Blocked", retryAtMillis: 3500, keys: ["w"] })
        expect(yield* store.take([entry("w", w)], 3500)).toEqual({ _tag: "Taken" })
        // answered at once (virtual time without latency): counted for one window from the answer
        yield* store.adjust([entry("w", w)], { _tag: "Redate", takenAtMillis: 3500 }, 3500)
        expect(yield* store.take([entry("w", w)], 4499)).toEqual({ _tag: "Blocked", retryAtMillis: 4500, keys: ["w"] })
        expect(yield* store.take([entry("w", w)], 4500)).toEqual({ _tag: "Taken" })
        // a wider window: floating units and dated runs add up
        const big = window(10, 1000)
        expect(yield* store.take([entry("b", big, 6)], 0)).toEqual({ _tag: "Taken" })
        yield* store.adjust([entry("b", big, 6)], { _tag: "Redate", takenAtMillis: 0 }, 100)
        expect(yield* store.take([entry("b", big, 4)], 200)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("b", big, 1)], 1000)).toMatchObject({ _tag: "Blocked", keys: ["b"] })
        // the 6 left at 1.1 s; the 4 still float
        expect(yield* store.take([entry("b", big, 6)], 5000)).toEqual({ _tag: "Taken" })
        expect(yield* store.take([entry("b", big, 1)], 9000)).toMatchObject({ _tag: "Blocked", keys: ["b"] })
        yield* store.adjust([entry("b", big, 4)], { _tag: "Redate", takenAtMillis: 200 }, 9000)
        yield* store.adjust([entry("b", big, 6)], { _tag: "Redate", takenAtMillis: 5000 }, 9000)
        expect(yield* store.take([entry("b", big, 1)], 9999)).toEqual({ _tag: "Blocked", retryAtMillis: 10000, keys: ["b"] })
        expect(yield* store.take([entry("b", big, 10)], 10000)).toEqual({ _tag: "Taken" })
      }))

    it.scoped.prop(
      "with unitsInFlight, Graph's sliding window never holds more than N in an interval W, whenever each admitted request arrives before its answer",
      [
        FastCheck.integer({ min: 1, max: 8 }),
        FastCheck.integer({ min: 100, max: 2000 }),
        FastCheck.array(
          FastCheck.record({
            at: FastCheck.integer({ min: 0, max: 5000 }),
            cost: FastCheck.integer({ min: 1, max: 5 }),
            answerAfter: FastCheck.integer({ min: 0, max: 3000 }),
            arrival: FastCheck.double({ min: 0, max: 1, noNaN: true })
          }),
          { maxLength: 60 }
        )
      ],
      ([limit, windowMillis, attempts]) =>
        Effect.gen(function*() {
          const store = yield* target.make({ unitsInFlight: true, windowSlots: 10 })
          const w = window(limit, windowMillis)
          const answers: Array<{ takenAt: number; at: number; cost: number }> = []
          const arrivals: Array<{ at: number; cost: number }> = []
          for (const a of [...attempts].sort((x, y) => x.at - y.at)) {
            if (a.cost > limit) continue
            // answers due by now reach the store first, in their order
            answers.sort((x, y) => x.at - y.at)
            while (answers.length > 0 && answers[0]!.at <= a.at) {
              const done = answers.shift()!
              yield* store.adjust([entry("w", w, done.cost)], { _tag: "Redate", takenAtMillis: done.takenAt }, done.at)
            }
            if ((yield* store.take([entry("w", w, a.cost)], a.at))._tag !== "Taken") continue
            answers.push({ takenAt: a.at, at: a.at + a.answerAfter, cost: a.cost })
            // Graph counts it when it arrives: after a wait for a send slot and transit, before its answer
            arrivals.push({ at: a.at + a.arrival * a.answerAfter, cost: a.cost })
          }
          // every interval of length W that starts at an arrival (the worst ones do)
          for (const start of arrivals) {
            let units = 0
            for (const b of arrivals) if (b.at >= start.at && b.at < start.at + windowMillis) units += b.cost
            expect(units).toBeLessThanOrEqual(limit)
          }
        })
    )

    it.scoped("with unitsInFlight, a Redate's datedAtMillis dates window units then, within the take and the answer", () =>
      Effect.gen(function*() {
        const store = yield* target.make({ unitsInFlight: true, windowSlots: 10 })
        const w = window(1, 1000)
        const t = TokenBucketLimit.make({ capacity: 1, refillPerSecond: 1 })
        expect(yield* store.take([entry("w", w), entry("t", t)], 0)).toEqual({ _tag: "Taken" })
        // answered at 400, dated at 270: the window's unit leaves at 1270; the token bucket's flight ends at the answer
        yield* store.adjust([entry("w", w), entry("t", t)], { _tag: "Redate", takenAtMillis: 0, datedAtMillis: 270 }, 400)
        expect(yield* store.take([entry("w", w)], 1269)).toEqual({ _tag: "Blocked", retryAtMillis: 1270, keys: ["w"] })
        expect(yield* store.take([entry("w", w)], 1270)).toEqual({ _tag: "Taken" })
        // an instant before the take is taken as the take's
        yield* store.adjust([entry("w", w)], { _tag: "Redate", takenAtMillis: 1270, datedAtMillis: 500 }, 1300)
        expect(yield* store.take([entry("w", w)], 2269)).toEqual({ _tag: "Blocked", retryAtMillis: 2270, keys: ["w"] })
        // and one after the answer as the answer's
        expect(yield* store.take([entry("w", w)], 2270)).toEqual({ _tag: "Taken" })
        yield* store.adjust([entry("w", w)], { _tag: "Redate", takenAtMillis: 2270, datedAtMillis: 9000 }, 2400)
        expect(yield* store.take([entry("w", w)], 3399)).toEqual({ _tag: "Blocked", retryAtMillis: 3400, keys: ["w"] })
        expect(yield* store.take([entry("w", w)], 3400)).toEqual({ _tag: "Taken" })
      }))

    it.scoped.prop(
      "with unitsInFlight, units dated their least latencies before the answer keep Graph's window within N, whenever latencies are at least those",
      [
        FastCheck.integer({ min: 1, max: 8 }),
        FastCheck.integer({ min: 100, max: 2000 }),
        // least time from an admission to Graph's count, and from the count to the answer
        FastCheck.integer({ min: 0, max: 300 }),
        FastCheck.integer({ min: 0, max: 300 }),
        FastCheck.array(
          FastCheck.record({
            at: FastCheck.integer({ min: 0, max: 5000 }),
            cost: FastCheck.integer({ min: 1, max: 5 }),
            // how much longer than the least each stretch takes (0 half the time: the edge)
            before: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 1500 })),
            after: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 1500 }))
          }),
          { maxLength: 60 }
        )
      ],
      ([limit, windowMillis, pre, post, attempts]) =>
        Effect.gen(function*() {
          const store = yield* target.make({ unitsInFlight: true, windowSlots: 10 })
          const w = window(limit, windowMillis)
          const answers: Array<{ takenAt: number; at: number; cost: number }> = []
          const arrivals: Array<{ at: number; cost: number }> = []
          // a greedy client: each request, in turn from its own instant, goes as soon as the store lets it
          const queue = [...attempts].filter((a) => a.cost <= limit).sort((x, y) => x.at - y.at)
          let now = 0
          while (queue.length > 0) {
            const a = queue[0]!
            if (now < a.at) now = a.at
            answers.sort((x, y) => x.at - y.at)
            while (answers.length > 0 && answers[0]!.at <= now) {
              const done = answers.shift()!
              yield* store.adjust(
                [entry("w", w, done.cost)],
                { _tag: "Redate", takenAtMillis: done.takenAt, datedAtMillis: done.at - pre - post },
                done.at
              )
            }
            const outcome = yield* store.take([entry("w", w, a.cost)], now)
            if (outcome._tag === "Taken") {
              queue.shift()
              const arrival = now + pre + a.before
              arrivals.push({ at: arrival, cost: a.cost })
              answers.push({ takenAt: now, at: arrival + post + a.after, cost: a.cost })
              continue
            }
            // blocked: try again when the store says, or at the next answer
            const next = Math.min(outcome.retryAtMillis ?? Infinity, answers.length > 0 ? Math.max(now + 1, answers[0]!.at) : Infinity)
            now = Number.isFinite(next) ? next : now + 1
          }
          for (const start of arrivals) {
            let units = 0
            for (const b of arrivals) if (b.at >= start.at && b.at < start.at + windowMillis) units += b.cost
            expect(units).toBeLessThanOrEqual(limit)
          }
        })
    )

    it.scoped("charging takes units even from a bucket that does not have them", () =>
      Effect.gen(function*() {
        const store = yield* target.make({})
        const t = TokenBucketLimit.make({ capacity: 4, refillPerSecond: 2 })
        yield* store.adjust([entry("t", t, 6)], { _tag: "Charge" }, 0)
        // 4 - 6 = -2: one unit is back after 1.5 s.
        expect(yield* store.take([entry("t", t)], 0)).toEqual({ _tag: "Blocked", retryAtMillis: 1500, keys: ["t"] })
      }))

    it.scoped.prop(
      "a sliding window never holds more than N units in any interval of length W, whatever the sub-window count",
      [
        FastCheck.integer({ min: 1, max: 10 }),
        FastCheck.integer({ min: 1, max: 500 }),
        FastCheck.integer({ min: 1, max: 40 }),
        FastCheck.array(FastCheck.record({ at: FastCheck.integer({ min: 0, max: 3000 }), cost: FastCheck.integer({ min: 1, max: 10 }) }), {
          maxLength: 80
        })
      ],
      ([limit, windowMillis, windowSlots, attempts]) =>
        Effect.gen(function*() {
          const store = yield* target.make({ windowSlots })
          const w = window(limit, windowMillis)
          const taken: Array<{ at: number; cost: number }> = []
          for (const { at, cost } of [...attempts].sort((x, y) => x.at - y.at)) {
            if (cost > limit) continue
            if ((yield* store.take([entry("w", w, cost)], at))._tag === "Taken") taken.push({ at, cost })
          }
          for (const start of taken) {
            const inside = taken.filter((t) => t.at >= start.at && t.at < start.at + windowMillis)
            expect(inside.reduce((n, t) => n + t.cost, 0)).toBeLessThanOrEqual(limit)
          }
        })
    )
  })
