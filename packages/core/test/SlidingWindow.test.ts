import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, FastCheck, Fiber, TestClock } from "effect"
import * as SlidingWindow from "../src/SlidingWindow.js"
import { type Offered, simulate as harness } from "./limiterHarness.js"

const simulate = (options: SlidingWindow.SlidingWindow.Options, requests: ReadonlyArray<Offered>) =>
  Effect.scoped(Effect.flatMap(SlidingWindow.make(options), (window) =>
    // Head-of-line order admits at least one request per W plus one sub-window.
    harness(window, requests, Number(options.window) * (1 + 1 / (options.windowSlots ?? 20)) + 1)))

const windowArb = FastCheck.record({
  limit: FastCheck.integer({ min: 1, max: 8 }),
  window: FastCheck.integer({ min: 5, max: 400 }),
  windowSlots: FastCheck.integer({ min: 1, max: 25 })
})

const requestsArb = FastCheck.array(
  FastCheck.record({ gap: FastCheck.integer({ min: 0, max: 120 }), cost: FastCheck.integer({ min: 0, max: 9 }) }),
  { maxLength: 25 }
)

describe("SlidingWindow", () => {
  it.effect.prop(
    "never admits more than N units in any interval of length W, and admits every valid request exactly once",
    [windowArb, requestsArb],
    ([options, requests]) =>
      Effect.gen(function*() {
        const { admitted, exits } = yield* simulate(options, requests)
        // Every interval [s, s + W): the maximum is reached by an interval starting at an admission.
        for (const start of admitted) {
          const inside = admitted.filter((a) => a.at >= start.at && a.at < start.at + options.window)
          expect(inside.reduce((n, a) => n + a.cost, 0)).toBeLessThanOrEqual(options.limit)
        }
        // Exactly once, or a typed failure for costs above the limit.
        for (let id = 0; id < requests.length; id++) {
          const times = admitted.filter((a) => a.id === id).length
          const exit = exits[id]!
          if (requests[id]!.cost > options.limit) {
            expect(times).toBe(0)
            expect(Exit.isFailure(exit)).toBe(true)
            if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("CostExceedsCapacity")
          } else {
            expect(times).toBe(1)
            expect(Exit.isSuccess(exit)).toBe(true)
          }
        }
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "is at most one sub-window later than an exact log, and first come first served",
    [windowArb, requestsArb],
    ([options, requests]) =>
      Effect.gen(function*() {
        const valid = requests.map((r) => ({ ...r, cost: Math.min(r.cost, options.limit) }))
        const result = yield* simulate(options, valid)
        const arrivals = result.arrivals
        // A zero cost takes nothing from the window, so it is not queued behind anyone.
        const admitted = result.admitted.filter((a) => a.cost > 0)
        const order = admitted.map((a) => a.id)
        expect(order).toEqual([...order].sort((a, b) => a - b))
        const slot = options.window / options.windowSlots
        for (let i = 0; i < admitted.length; i++) {
          const a = admitted[i]!
          const earliest = Math.max(arrivals[a.id]!, i > 0 ? admitted[i - 1]!.at : 0)
          if (a.at <= earliest) continue
          // It waited: an exact log must still have refused it one sub-window earlier, give or take
          // the millisecond that wake-ups are rounded up to.
          const probe = Math.floor(a.at - slot - 1)
          if (probe < earliest) continue
          const used = admitted
            .slice(0, i)
            .filter((b) => b.at > probe - options.window && b.at <= probe)
            .reduce((n, b) => n + b.cost, 0)
          expect(used + a.cost).toBeGreaterThan(options.limit)
        }
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect("fails at once with CostExceedsCapacity for a cost above the limit", () =>
    Effect.scoped(Effect.gen(function*() {
      const window = yield* SlidingWindow.make({ limit: 3, window: "1 second" })
      const error = yield* Effect.flip(window.take(4))
      expect(error._tag).toBe("CostExceedsCapacity")
      if (error._tag === "CostExceedsCapacity") {
        expect(error.cost).toBe(4)
        expect(error.capacity).toBe(3)
      }
    })))

  it.effect("rejects a non-positive limit when built", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(SlidingWindow.make({ limit: 0, window: "1 second" })))
      expect(error.reason).toBe("LimitNotPositive")
    }))

  it.effect("wraps an effect in the familiar form and runs it once admitted", () =>
    Effect.scoped(Effect.gen(function*() {
      const window = yield* SlidingWindow.make({ limit: 2, window: "10 seconds", windowSlots: 10 })
      const runs: Array<number> = []
      const task = Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => void runs.push(t)))
      const fiber = yield* Effect.fork(Effect.all([window(task), window(task), window(task)], { concurrency: "unbounded" }))
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.join(fiber)
      // Two at once; the third once they have left the window, exactly 10 s later.
      expect(runs).toEqual([0, 0, 10_000])
    })))

  it.effect("does not let cheap requests overtake a costly one that is waiting", () =>
    Effect.scoped(Effect.gen(function*() {
      const window = yield* SlidingWindow.make({ limit: 3, window: "1 second", windowSlots: 1000 })
      const order: Array<string> = []
      const mark = (name: string) => Effect.sync(() => void order.push(name))
      yield* window.take(2)
      const costly = yield* Effect.fork(window.withCost(3)(mark("costly")))
      yield* TestClock.adjust(10)
      const cheap = yield* Effect.fork(window.withCost(1)(mark("cheap")))
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(costly)
      yield* Fiber.join(cheap)
      expect(order).toEqual(["costly", "cheap"])
    })))
})
