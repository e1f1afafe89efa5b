import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, FastCheck, Fiber, TestClock } from "effect"
import * as TokenBucket from "../src/TokenBucket.js"
import { type Offered, simulate as harness } from "./limiterHarness.js"

const simulate = (options: TokenBucket.TokenBucket.Options, requests: ReadonlyArray<Offered>) =>
  Effect.scoped(Effect.flatMap(TokenBucket.make(options), (bucket) =>
    // A full refill takes capacity / rate; each waiting request needs at most that.
    harness(bucket, requests, Math.ceil((options.capacity / options.refillPerSecond) * 1000) + 1)))

const bucketArb = FastCheck.record({
  capacity: FastCheck.integer({ min: 1, max: 10 }),
  refillPerSecond: FastCheck.oneof(FastCheck.integer({ min: 1, max: 50 }), FastCheck.double({ min: 0.5, max: 40, noNaN: true }))
})

const requestsArb = FastCheck.array(
  FastCheck.record({ gap: FastCheck.integer({ min: 0, max: 400 }), cost: FastCheck.integer({ min: 0, max: 11 }) }),
  { maxLength: 25 }
)

const EPS = 1e-6

describe("TokenBucket", () => {
  it.effect.prop(
    "admissions match the documented refill: never more than capacity + rate * t in any interval, and no later than the refill allows",
    [bucketArb, requestsArb],
    ([options, requests]) =>
      Effect.gen(function*() {
        const { admitted: all, arrivals, exits } = yield* simulate(options, requests)
        const rate = options.refillPerSecond / 1000
        for (let id = 0; id < requests.length; id++) {
          const times = all.filter((a) => a.id === id).length
          if (requests[id]!.cost > options.capacity) {
            expect(times).toBe(0)
            expect(Exit.isFailure(exits[id]!)).toBe(true)
          } else {
            expect(times).toBe(1)
          }
        }
        const admitted = all.filter((a) => a.cost > 0)
        // First come first served.
        const order = admitted.map((a) => a.id)
        expect(order).toEqual([...order].sort((a, b) => a - b))
        // Bound over every interval between two admissions.
        for (let i = 0; i < admitted.length; i++) {
          let sum = 0
          for (let j = i; j < admitted.length; j++) {
            sum += admitted[j]!.cost
            expect(sum).toBeLessThanOrEqual(options.capacity + rate * (admitted[j]!.at - admitted[i]!.at) + EPS)
          }
        }
        // Replay the bucket: full at the start, refilled continuously, capped at capacity.
        let tokens = options.capacity
        let last = 0
        const level = (t: number) => Math.min(options.capacity, tokens + (t - last) * rate)
        for (let i = 0; i < admitted.length; i++) {
          const a = admitted[i]!
          expect(level(a.at)).toBeGreaterThanOrEqual(a.cost - EPS)
          const earliest = Math.max(arrivals[a.id]!, i > 0 ? admitted[i - 1]!.at : 0)
          if (a.at > earliest) expect(level(a.at - 1)).toBeLessThan(a.cost)
          tokens = level(a.at) - a.cost
          last = a.at
        }
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect("starts full and refills continuously: 5 at once, then one every 200 ms at 5 per second", () =>
    Effect.scoped(Effect.gen(function*() {
      const bucket = yield* TokenBucket.make({ capacity: 5, refillPerSecond: 5 })
      const times: Array<number> = []
      const task = Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => void times.push(t)))
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 8 }, () => bucket(task)), { concurrency: "unbounded" }))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(times).toEqual([0, 0, 0, 0, 0, 200, 400, 600])
    })))

  it.effect("fails at once with CostExceedsCapacity for a cost above the capacity", () =>
    Effect.scoped(Effect.gen(function*() {
      const bucket = yield* TokenBucket.make({ capacity: 3500, refillPerSecond: 350 })
      const error = yield* Effect.flip(bucket.withCost(3501)(Effect.void))
      expect(error._tag).toBe("CostExceedsCapacity")
    })))

  it.effect("rejects a non-positive refill rate when built", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(TokenBucket.make({ capacity: 1, refillPerSecond: 0 })))
      expect(error.reason).toBe("LimitNotPositive")
    }))
})
