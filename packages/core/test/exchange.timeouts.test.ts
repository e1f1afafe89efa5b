import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, FastCheck as fc, Fiber, Option } from "effect"
import { Timeouts } from "../src/internal/client/exchange.js"
import * as VirtualClock from "../src/VirtualClock.js"

const timeoutMillis = 100

/** A call that starts `startMillis` in and answers after `takesMillis`; records its end or its interruption. */
interface Call {
  readonly startMillis: number
  readonly takesMillis: number
}

/** Runs the calls within one `Timeouts`, watched as the executor watches them; what each came to, and when. */
const runCalls = (calls: ReadonlyArray<Call>) =>
  Effect.scoped(Effect.gen(function*() {
    const timeouts = new Timeouts(timeoutMillis, yield* Effect.clock)
    yield* Effect.forkScoped(timeouts.watch)
    const world = (yield* VirtualClock.current)!
    const interrupted = new Set<number>()
    const fibers = yield* Effect.forEach(calls, (call, i) =>
      Effect.fork(Effect.gen(function*() {
        yield* Effect.sleep(call.startMillis)
        const call$ = Effect.as(Effect.sleep(call.takesMillis), i).pipe(Effect.onInterrupt(() => Effect.sync(() => void interrupted.add(i))))
        const result = yield* timeouts.within(call$)
        return { result, at: yield* Clock.currentTimeMillis }
      })))
    const results = yield* Fiber.joinAll(fibers)
    // once every call is done, the watcher sleeps no more: nothing is left to move the clock
    yield* Effect.yieldNow()
    return { results, interrupted, pendingSleeps: world.pendingSleeps() }
  }))

describe("exchange Timeouts", () => {
  it.live("a call answered in time gives its result, a slower one none once the timeout passed (and is interrupted)", () =>
    Effect.gen(function*() {
      const { interrupted, pendingSleeps, results } = yield* VirtualClock.run(runCalls([
        { startMillis: 0, takesMillis: 30 },
        { startMillis: 10, takesMillis: 500 }
      ]))
      assert.deepStrictEqual(results, [{ result: Option.some(0), at: 30 }, { result: Option.none(), at: 110 }])
      assert.deepStrictEqual([...interrupted], [1])
      assert.strictEqual(pendingSleeps, 0)
    }))

  it.live.prop(
    "any calls end as Effect.timeoutTo ends them: their result before the timeout, none at it; no sleep outlives them",
    [fc.array(fc.record({ gap: fc.integer({ min: 0, max: 60 }), takesMillis: fc.integer({ min: 1, max: 250 }).filter((n) => n !== timeoutMillis) }), { maxLength: 40 })],
    ([specs]) =>
      Effect.gen(function*() {
        let start = 0
        const calls = specs.map(({ gap, takesMillis }) => ({ startMillis: (start += gap), takesMillis }))
        const { interrupted, pendingSleeps, results } = yield* VirtualClock.run(runCalls(calls))
        assert.deepStrictEqual(
          results,
          calls.map((call, i) =>
            call.takesMillis < timeoutMillis
              ? { result: Option.some(i), at: call.startMillis + call.takesMillis }
              : { result: Option.none(), at: call.startMillis + timeoutMillis }
          )
        )
        assert.deepStrictEqual([...interrupted].sort((a, b) => a - b), calls.flatMap((call, i) => call.takesMillis > timeoutMillis ? [i] : []))
        assert.strictEqual(pendingSleeps, 0)
      }),
    { fastCheck: { numRuns: 100 } }
  )
})
