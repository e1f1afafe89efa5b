import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Either, Exit, FastCheck as fc, Fiber, Queue } from "effect"
import { SleeperHeap } from "../src/internal/virtualClock.js"
import * as VirtualClock from "../src/VirtualClock.js"

/** Forks one sleeper per duration, in order; each records its index and the time it woke. */
const wakeOrder = (durations: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const woke: Array<readonly [number, number]> = []
    const fibers = yield* Effect.forEach(durations, (ms, i) =>
      Effect.fork(Effect.zipRight(Effect.sleep(ms), Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void woke.push([i, now]))))))
    yield* Fiber.joinAll(fibers)
    return woke
  })

describe("VirtualClock", () => {
  it.live("sleepers wake in deadline order, each at its deadline", () =>
    Effect.gen(function*() {
      const woke = yield* VirtualClock.run(wakeOrder([30, 10, 20]))
      assert.deepStrictEqual(woke, [[1, 10], [2, 20], [0, 30]])
    }))

  it.live("sleepers due at the same instant wake in the order they went to sleep", () =>
    Effect.gen(function*() {
      const woke = yield* VirtualClock.run(wakeOrder([50, 50, 20, 50, 20]))
      assert.deepStrictEqual(woke.map(([i]) => i), [2, 4, 0, 1, 3])
    }))

  it.live.prop(
    "any set of sleeps wakes sorted by deadline, ties in registration order, each at its deadline",
    [fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 200 })],
    ([durations]) =>
      Effect.gen(function*() {
        const woke = yield* VirtualClock.run(wakeOrder(durations))
        const expected = durations.map((ms, i) => [i, ms] as const).sort((a, b) => a[1] - b[1] || a[0] - b[0])
        assert.deepStrictEqual(woke, expected)
      }),
    { fastCheck: { numRuns: 50 } }
  )

  it.live("time moves only once every fiber waits: busy fibers finish before a 1 ms sleep ends", () =>
    Effect.gen(function*() {
      let steps = 0
      const observed = yield* VirtualClock.run(Effect.gen(function*() {
        // two fibers handing a token back and forth 5,000 times, and one yielding 20,000 times:
        // none of it takes virtual time
        const ping = yield* Queue.unbounded<number>()
        const pong = yield* Queue.unbounded<number>()
        yield* Effect.fork(Effect.forever(Effect.flatMap(Queue.take(ping), (n) => Queue.offer(pong, n + 1))))
        yield* Effect.fork(Effect.gen(function*() {
          for (let i = 0; i < 5_000; i++) {
            yield* Queue.offer(ping, i)
            yield* Queue.take(pong)
            steps++
          }
        }))
        yield* Effect.fork(Effect.gen(function*() {
          for (let i = 0; i < 20_000; i++) {
            yield* Effect.yieldNow()
            steps++
          }
        }))
        yield* Effect.sleep("1 millis")
        return { steps, now: yield* Clock.currentTimeMillis }
      }))
      assert.deepStrictEqual(observed, { steps: 25_000, now: 1 })
    }))

  it.live("an interrupted sleeper leaves the heap at once, and time never moves to its deadline", () =>
    Effect.gen(function*() {
      const clock = yield* VirtualClock.make()
      const result = yield* VirtualClock.runIn(
        Effect.gen(function*() {
          const sleeper = yield* Effect.fork(Effect.sleep("1 hour"))
          yield* Effect.yieldNow()
          const before = clock.pendingSleeps()
          yield* Fiber.interrupt(sleeper)
          return { before, after: clock.pendingSleeps() }
        }),
        clock
      )
      assert.deepStrictEqual(result, { before: 1, after: 0 })
      assert.strictEqual(clock.unsafeNow(), 0)
      assert.strictEqual(clock.stats().jumps, 0)
    }))

  it.live("a timeout that loses its race leaves no sleeper behind", () =>
    Effect.gen(function*() {
      const clock = yield* VirtualClock.make()
      const at = yield* VirtualClock.runIn(
        Effect.gen(function*() {
          yield* Effect.forEach(Array.from({ length: 1_000 }, (_, i) => i), (i) => Effect.sleep(i + 1).pipe(Effect.timeout("1 hour")), {
            concurrency: "unbounded"
          })
          return yield* Clock.currentTimeMillis
        }),
        clock
      )
      assert.strictEqual(at, 1_000)
      assert.strictEqual(clock.pendingSleeps(), 0)
    }))

  it.live("a timeout fires at its virtual deadline", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(VirtualClock.run(Effect.timeout(Effect.never, "90 seconds").pipe(
        Effect.catchTag("TimeoutException", () => Clock.currentTimeMillis)
      )))
      assert.deepStrictEqual(exit, Exit.succeed(90_000))
    }))

  it.live("a fiber waiting on something no sleep can end is reported as Stalled, at the time it stalled", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(VirtualClock.run(Effect.gen(function*() {
        const never = yield* Deferred.make<void>()
        yield* Effect.sleep("5 seconds")
        yield* Deferred.await(never)
      })))
      assert.isTrue(Either.isLeft(result))
      const error = Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined)
      assert.instanceOf(error, VirtualClock.Stalled)
      assert.strictEqual((error as VirtualClock.Stalled).atMillis, 5_000)
    }))

  it.live("Effect.never alone is a stall, not an endless wait", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(VirtualClock.run(Effect.sleep("1 minute").pipe(Effect.zipRight(Effect.never))))
      assert.deepStrictEqual(Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value._tag : undefined), "VirtualClockStalled")
    }))

  it.live("a long virtual span costs one jump per distinct deadline", () =>
    Effect.gen(function*() {
      const clock = yield* VirtualClock.make()
      // 2,000 fibers sleeping 1..1,000 seconds: 1,000 distinct deadlines
      yield* VirtualClock.runIn(
        Effect.forEach(Array.from({ length: 2_000 }, (_, i) => i), (i) => Effect.sleep(`${(i % 1_000) + 1} seconds`), { concurrency: "unbounded" }),
        clock
      )
      assert.strictEqual(clock.unsafeNow(), 1_000_000)
      assert.strictEqual(clock.stats().jumps, 1_000)
    }))

  it.live("the same concurrent program gives the same trace on every run", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const trace: Array<string> = []
        const queue = yield* Queue.bounded<number>(3)
        const producer = Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) =>
          Effect.zipRight(Effect.sleep((i * 7) % 13), Queue.offer(queue, i)))
        const consumer = (name: string) =>
          Effect.forever(Effect.gen(function*() {
            const n = yield* Queue.take(queue)
            yield* Effect.sleep((n * 5) % 11)
            trace.push(`${name}:${n}@${yield* Clock.currentTimeMillis}`)
          }))
        const consumers = yield* Effect.forEach(["a", "b", "c"], (name) => Effect.fork(consumer(name)))
        yield* producer
        yield* Effect.sleep("1 second")
        yield* Fiber.interruptAll(consumers)
        return trace
      })
      const first = yield* VirtualClock.run(program)
      const second = yield* VirtualClock.run(program, { tasksPerSlice: 3 })
      assert.strictEqual(first.length, 40)
      assert.deepStrictEqual(second, first)
    }))

  it.live("a layer puts what it is provided to in a new world", () =>
    Effect.gen(function*() {
      const at = yield* Effect.zipRight(Effect.sleep("2 hours"), Clock.currentTimeMillis).pipe(Effect.provide(VirtualClock.layer({ startMillis: 1_000 })))
      assert.strictEqual(at, 1_000 + 7_200_000)
    }))

  it.live("run inside a layer's world joins that world instead of starting a new one", () =>
    Effect.gen(function*() {
      const inner = yield* VirtualClock.run(Effect.zipRight(Effect.sleep("1 second"), Clock.currentTimeMillis))
      const world = yield* VirtualClock.current
      return { inner, now: world?.unsafeNow() }
    }).pipe(
      Effect.provide(VirtualClock.layer({ startMillis: 5_000 })),
      Effect.map((r) => assert.deepStrictEqual(r, { inner: 6_000, now: 6_000 }))
    ))
})

describe("SleeperHeap", () => {
  it.prop(
    "after any pushes and removals, pops the remaining sleepers by deadline then registration order",
    [fc.array(fc.record({ deadline: fc.integer({ min: 0, max: 30 }), removed: fc.boolean() }), { maxLength: 300 })],
    ([specs]) => {
      const heap = new SleeperHeap()
      const sleepers = specs.map((s, seq) => ({ deadline: s.deadline, seq, index: -1, wake: () => {} }))
      for (const s of sleepers) heap.push(s)
      for (const [i, s] of sleepers.entries()) if (specs[i]!.removed) assert.isTrue(heap.remove(s))
      const kept = sleepers.filter((_, i) => !specs[i]!.removed)
      assert.strictEqual(heap.size, kept.length)
      const popped: Array<number> = []
      for (let s = heap.pop(); s !== undefined; s = heap.pop()) popped.push(s.seq)
      assert.deepStrictEqual(popped, [...kept].sort((a, b) => a.deadline - b.deadline || a.seq - b.seq).map((s) => s.seq))
      // removing twice, or after a pop, is a no-op
      for (const s of sleepers) assert.isFalse(heap.remove(s))
    }
  )
})
