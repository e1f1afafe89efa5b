import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck, Fiber, Scheduler } from "effect"
import { allAtOnce } from "../src/internal/engine/batch.js"

/**
 * The scheduler of a simulation's world (`VirtualClock`): every task in the order it was
 * scheduled. (Effect's default scheduler interleaves the same fibers differently.)
 */
const inOrder = (): Scheduler.Scheduler => {
  let queue: Array<Scheduler.Task> = []
  let scheduled = false
  const drain = () => {
    scheduled = false
    while (queue.length > 0) {
      const run = queue
      queue = []
      for (const task of run) task()
    }
  }
  return Scheduler.make((task) => {
    queue.push(task)
    if (!scheduled) {
      scheduled = true
      setImmediate(drain)
    }
  }, Scheduler.defaultShouldYield)
}

/** `n` yields, then a log line. */
const after = (log: Array<string>, name: string, n: number): Effect.Effect<void> =>
  Effect.zipRight(Effect.forEach(Array.from({ length: n }), () => Effect.yieldNow(), { discard: true }), Effect.sync(() => void log.push(name)))

/**
 * A parallel batch's items next to other fibers that log at every turn: the log is the order in
 * which the scheduler ran everything.
 */
const scenario = (
  run: (a: ReadonlyArray<Effect.Effect<void>>, b: ReadonlyArray<Effect.Effect<void>>) => Effect.Effect<void>,
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  others: number
) =>
  Effect.gen(function*() {
    const log: Array<string> = []
    const noise = yield* Effect.forEach(Array.from({ length: others }, (_, k) => k), (k) =>
      Effect.fork(Effect.forEach(Array.from({ length: 30 }, (_, t) => t), (t) => after(log, `other ${k}.${t}`, 1), { discard: true })))
    yield* run(a.map((n, i) => after(log, `a${i}`, n)), b.map((n, i) => after(log, `b${i}`, n)))
    log.push("caller")
    yield* Fiber.joinAll(noise)
    return log
  }).pipe(Effect.withScheduler(inOrder()))

describe("allAtOnce: a parallel batch's items on Effect.all's schedule", () => {
  it.effect.prop(
    "in a simulation's scheduler, everything runs in the order Effect.all of two unbounded forEach gives",
    [
      FastCheck.array(FastCheck.integer({ min: 0, max: 6 }), { maxLength: 6 }),
      FastCheck.array(FastCheck.integer({ min: 0, max: 6 }), { maxLength: 6 }),
      FastCheck.integer({ min: 0, max: 3 })
    ],
    ([a, b, others]) =>
      Effect.gen(function*() {
        if (a.length + b.length === 0) return
        const expected = yield* scenario(
          (xs, ys) =>
            Effect.all([
              Effect.forEach(xs, (x) => x, { concurrency: "unbounded", discard: true }),
              Effect.forEach(ys, (y) => y, { concurrency: "unbounded", discard: true })
            ], { concurrency: "unbounded", discard: true }),
          a,
          b,
          others
        )
        const actual = yield* scenario((xs, ys) => allAtOnce([...xs, ...ys]), a, b, others)
        assert.deepStrictEqual(actual, expected)
      })
  )

  it.effect("a fiber that dies interrupts the others, and the caller fails with its defect", () =>
    Effect.gen(function*() {
      const ended: Array<string> = []
      const exit = yield* Effect.exit(allAtOnce([
        Effect.onInterrupt(Effect.never, () => Effect.sync(() => void ended.push("interrupted"))),
        Effect.zipRight(Effect.yieldNow(), Effect.dieMessage("boom"))
      ]))
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(ended, ["interrupted"])
    }))

  it.effect("interrupting the caller interrupts every fiber", () =>
    Effect.gen(function*() {
      const ended: Array<number> = []
      const caller = yield* Effect.fork(allAtOnce([0, 1, 2].map((i) => Effect.onInterrupt(Effect.never, () => Effect.sync(() => void ended.push(i))))))
      // its fibers are forked after five turns, and run from the next
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      yield* Fiber.interrupt(caller)
      assert.deepStrictEqual([...ended].sort(), [0, 1, 2])
    }))
})
