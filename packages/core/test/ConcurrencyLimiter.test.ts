import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, FastCheck, Fiber, TestClock } from "effect"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"

describe("ConcurrencyLimiter", () => {
  it.effect.prop(
    "never has more than `permits` units in flight, and runs every task exactly once",
    [
      FastCheck.integer({ min: 1, max: 6 }),
      FastCheck.array(
        FastCheck.record({
          gap: FastCheck.integer({ min: 0, max: 50 }),
          cost: FastCheck.integer({ min: 1, max: 7 }),
          duration: FastCheck.integer({ min: 0, max: 200 }),
          outcome: FastCheck.constantFrom("succeed", "fail", "die")
        }),
        { maxLength: 25 }
      )
    ],
    ([permits, tasks]) =>
      Effect.scoped(Effect.gen(function*() {
        const limiter = yield* ConcurrencyLimiter.make({ permits })
        let inFlight = 0
        let peak = 0
        const runs = tasks.map(() => 0)
        const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
        for (let id = 0; id < tasks.length; id++) {
          const task = tasks[id]!
          if (task.gap > 0) yield* TestClock.adjust(task.gap)
          const body = Effect.gen(function*() {
            runs[id]!++
            inFlight += task.cost
            peak = Math.max(peak, inFlight)
            yield* Effect.sleep(task.duration)
            inFlight -= task.cost
            if (task.outcome === "fail") return yield* Effect.fail("boom" as const)
            if (task.outcome === "die") return yield* Effect.die("bang")
          })
          fibers.push(yield* Effect.fork(Effect.ignore(Effect.catchAllDefect(limiter.withCost(task.cost)(body), () => Effect.void))))
        }
        for (let i = 0; i <= tasks.length + 1; i++) yield* TestClock.adjust(201)
        for (let id = 0; id < tasks.length; id++) {
          const exit = yield* Fiber.poll(fibers[id]!)
          expect(exit._tag).toBe("Some")
          expect(runs[id]).toBe(tasks[id]!.cost > permits ? 0 : 1)
        }
        expect(peak).toBeLessThanOrEqual(permits)
      })),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect("gives the permit back when the task is interrupted", () =>
    Effect.scoped(Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ permits: 1 })
      const started = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(limiter(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
      yield* Deferred.await(started)
      const waiter = yield* Effect.fork(limiter(Effect.succeed("second")))
      yield* Fiber.interrupt(holder)
      expect(yield* Fiber.join(waiter)).toBe("second")
    })))

  it.effect("withdraws an interrupted waiter so that it never takes a permit", () =>
    Effect.scoped(Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ permits: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(limiter(Deferred.await(gate)))
      yield* Effect.yieldNow()
      let ran = false
      const waiter = yield* Effect.fork(limiter(Effect.sync(() => void (ran = true))))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      const third = yield* Effect.fork(limiter(Effect.succeed("third")))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(third)).toBe("third")
      expect(ran).toBe(false)
    })))

  it.effect("fails at once with CostExceedsCapacity for more permits than exist", () =>
    Effect.scoped(Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ permits: 4 })
      const exit = yield* Effect.exit(limiter.withCost(5)(Effect.void))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(limiter.withCost(5)(Effect.void))
      expect(error._tag).toBe("CostExceedsCapacity")
    })))
})
