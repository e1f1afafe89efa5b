import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FastCheck as fc, TestClock } from "effect"
import * as fairGate from "../src/internal/client/fairGate.js"

describe("fairGate", () => {
  it.effect("a released permit goes to the oldest waiter, not to the fiber that released it and asks again", () =>
    Effect.gen(function*() {
      const gate = yield* fairGate.make(1)
      const order: Array<string> = []
      const done = yield* Deferred.make<void>()
      // A holds the permit and, as soon as it gives it back, asks again (as the next batch of a
      // mailbox does when the previous one ends); B asked while A held it
      const a = yield* Effect.fork(
        gate.withPermit(Deferred.await(done)).pipe(
          Effect.zipRight(gate.withPermit(Effect.sync(() => order.push("A again"))))
        )
      )
      yield* Effect.yieldNow()
      const b = yield* Effect.fork(gate.withPermit(Effect.sync(() => order.push("B"))))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(done, undefined)
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      expect(order).toEqual(["B", "A again"])
      expect(gate.available).toBe(1)
    }))

  it.effect("a waiter interrupted before its turn takes nothing: the next one goes when the holder ends", () =>
    Effect.gen(function*() {
      const gate = yield* fairGate.make(1)
      const done = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(gate.withPermit(Deferred.await(done)))
      yield* Effect.yieldNow()
      const quitter = yield* Effect.fork(gate.withPermit(Effect.void))
      const patient = yield* Effect.fork(gate.withPermit(Effect.succeed("patient")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(quitter)
      yield* Deferred.succeed(done, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(patient)).toBe("patient")
      expect(gate.available).toBe(1)
    }))

  it.effect("a holder that fails or is interrupted gives its permit back", () =>
    Effect.gen(function*() {
      const gate = yield* fairGate.make(2)
      const failed = yield* Effect.exit(gate.withPermit(Effect.fail("boom")))
      expect(failed._tag).toBe("Failure")
      const stuck = yield* Effect.fork(gate.withPermit(Effect.never))
      yield* Effect.yieldNow()
      expect(gate.available).toBe(1)
      yield* Fiber.interrupt(stuck)
      expect(gate.available).toBe(2)
    }))

  // Random tasks ask for a permit at random times, hold it for random durations, some ask again the
  // moment they give it back (as the next batch of a mailbox does), and some are interrupted at
  // random times, including the instant a permit is handed to them.
  const task = fc.record({
    askAt: fc.integer({ min: 0, max: 20 }),
    holdFor: fc.integer({ min: 0, max: 10 }),
    again: fc.boolean(),
    interruptAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined })
  })
  it.effect.prop(
    "never more holders than permits, the tasks left alone start in the order they asked, and every permit comes back",
    [fc.integer({ min: 1, max: 4 }), fc.array(task, { minLength: 1, maxLength: 30 })],
    ([permits, tasks]) =>
      Effect.gen(function*() {
        const gate = yield* fairGate.make(permits)
        let holding = 0
        let most = 0
        const asked: Array<string> = []
        const started: Array<string> = []
        const hold = (name: string, millis: number) =>
          Effect.sync(() => asked.push(name)).pipe(
            Effect.zipRight(gate.withPermit(
              Effect.sync(() => {
                started.push(name)
                holding++
                most = Math.max(most, holding)
              }).pipe(Effect.zipRight(Effect.sleep(millis)), Effect.ensuring(Effect.sync(() => holding--)))
            ))
          )
        const fibers = yield* Effect.forEach(tasks, (t, i) =>
          Effect.fork(
            Effect.sleep(t.askAt).pipe(
              Effect.zipRight(hold(`${i}`, t.holdFor)),
              Effect.zipRight(t.again ? hold(`${i} again`, t.holdFor) : Effect.void)
            )
          ))
        yield* Effect.forEach(tasks, (t, i) =>
          t.interruptAt === undefined
            ? Effect.void
            : Effect.fork(Effect.sleep(t.interruptAt).pipe(Effect.zipRight(Fiber.interrupt(fibers[i]!)))))
        yield* TestClock.adjust(1_000)
        yield* Effect.forEach(fibers, Fiber.await)
        expect(most).toBeLessThanOrEqual(permits)
        expect(gate.available).toBe(permits)
        const kept = (name: string) => tasks[Number.parseInt(name, 10)]!.interruptAt === undefined
        expect(started.filter(kept)).toEqual(asked.filter(kept))
        expect(started.filter(kept).length).toBe(tasks.reduce((n, t) => n + (t.interruptAt === undefined ? (t.again ? 2 : 1) : 0), 0))
      }),
    { fastCheck: { numRuns: 60 } }
  )
})
