/**
 * The optional load model: beyond a knee of items in flight per app each item's latency is scaled by
 * `inFlight / knee`, at the ceiling new items answer 503 with Retry-After, and without it nothing
 * changes. Time is the TestClock's throughout.
 */
import { GraphError } from "@effect-msgraph/spec"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Either, FastCheck, Fiber, Option, TestClock } from "effect"
import { batch, get } from "./utils/graph.js"

const fixed = { identity: { baseMillis: 100, jitterMillis: 0 } }
const jittered = { identity: { baseMillis: 100, jitterMillis: 80 }, graph: { baseMillis: 40, jitterMillis: 160 } }

/** A batch of `n` parallel reads of `/me`, as app `app` (identity latency). */
const reads = (n: number, app?: string) =>
  batch(Array.from({ length: n }, (_, i) => get(String(i + 1), "/me")), app === undefined ? {} : { "x-emulator-app-id": app })

/** Runs `effect` with the emulator of `options`, moving the TestClock on until it is done. */
const withEmulator = <A, E>(options: Emulator.Emulator.Options, effect: Effect.Effect<A, E, Emulator.Emulator | import("@effect/platform").HttpClient.HttpClient>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect.pipe(Effect.provide(Emulator.layerTest(options))))
    yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })

/** How long each item of the audit took, in audit order. */
const took = Effect.map(Emulator.audit, (log) => log.map((e) => e.finishedAt - e.startedAt))

/** Two batches of `n`, the second sent while the first is in flight; then the audit, timed from the start. */
const overlapping = (n: number, secondApp?: string) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const first = yield* Effect.fork(reads(n))
    // 10 ms in, while every item of the first batch is still in flight
    const second = yield* Effect.fork(Effect.delay(reads(n, secondApp), "10 millis"))
    yield* Fiber.join(first)
    yield* Fiber.join(second)
    const log = yield* Emulator.audit
    return log.map((e) => ({ ...e, startedAt: e.startedAt - start, finishedAt: e.finishedAt - start }))
  })

describe("load model: latency beyond the knee", () => {
  it.effect("up to the knee each item takes its modelled latency", () =>
    Effect.gen(function*() {
      const durations = yield* withEmulator({ latency: fixed, load: { knee: 20 } }, Effect.zipRight(reads(20), took))
      assert.deepStrictEqual(durations, Array(20).fill(100))
    }))

  it.effect("beyond the knee each item takes latency × inFlight / knee", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* withEmulator({ latency: fixed, load: { knee: 10 } }, Effect.zipRight(reads(20), took)), Array(20).fill(200))
      assert.deepStrictEqual(yield* withEmulator({ latency: fixed, load: { knee: 5 } }, Effect.zipRight(reads(20), took)), Array(20).fill(400))
      assert.deepStrictEqual(yield* withEmulator({ latency: fixed, load: { knee: 8 } }, Effect.zipRight(reads(20), took)), Array(20).fill(250))
    }))

  it.effect("items in flight count across batches of the same app: a batch sent while another runs is slower", () =>
    Effect.gen(function*() {
      const log = yield* withEmulator({ latency: fixed, load: { knee: 10 } }, overlapping(10))
      const byRequest = (http: number) => log.filter((e) => e.httpRequest === http).map((e) => e.finishedAt - e.startedAt)
      assert.deepStrictEqual(byRequest(1), Array(10).fill(100), "the first batch alone is at the knee")
      assert.deepStrictEqual(byRequest(2), Array(10).fill(200), "the second starts with 20 in flight")
    }))

  it.effect("another app's items in flight do not slow an app down", () =>
    Effect.gen(function*() {
      const log = yield* withEmulator({ latency: fixed, load: { knee: 10 } }, overlapping(10, "another-app"))
      assert.deepStrictEqual(log.map((e) => e.finishedAt - e.startedAt), Array(20).fill(100))
    }))

  it.effect("answered items leave the queue: the next batch takes its modelled latency again", () =>
    Effect.gen(function*() {
      const durations = yield* withEmulator({ latency: fixed, load: { knee: 10 } }, Effect.zipRight(Effect.zipRight(reads(20), reads(10)), took))
      assert.deepStrictEqual(durations, [...Array(20).fill(200), ...Array(10).fill(100)])
    }))

  it.effect("items abandoned by their caller leave the queue too", () =>
    Effect.gen(function*() {
      const durations = yield* withEmulator(
        { latency: fixed, load: { knee: 10, ceiling: 20 } },
        Effect.gen(function*() {
          const abandoned = yield* Effect.fork(reads(20))
          yield* Effect.sleep("50 millis")
          yield* Fiber.interrupt(abandoned)
          yield* reads(10)
          return yield* took
        })
      )
      assert.deepStrictEqual(durations, Array(10).fill(100), "nothing of the interrupted batch is still counted")
    }))
})

describe("load model: 503 beyond the ceiling", () => {
  it.effect("at the ceiling new items answer 503 with Retry-After, run nothing and spend no quota", () =>
    Effect.gen(function*() {
      const { answer, log } = yield* withEmulator(
        { latency: fixed, load: { ceiling: 15 } },
        Effect.gen(function*() {
          const answer = yield* reads(20)
          return { answer, log: yield* Emulator.audit }
        })
      )
      const refused = Object.values(answer.byId).filter((r) => r.status === 503)
      assert.strictEqual(refused.length, 5)
      assert.strictEqual(Object.values(answer.byId).filter((r) => r.status === 200).length, 15)
      for (const item of refused) {
        assert.strictEqual(item.headers["Retry-After"], "1")
        assert.strictEqual(Option.getOrThrow(GraphError.fromBody(item.body)).error.code, "serviceNotAvailable")
      }
      const refusedLog = log.filter((e) => e.status === 503)
      assert.deepStrictEqual(refusedLog.map((e) => e.itemId), ["16", "17", "18", "19", "20"], "the items admitted last are refused")
      assert.isTrue(refusedLog.every((e) => !e.admitted && !e.executed && e.retryAfterMillis === 1000))
    }))

  it.effect("Retry-After is the configured whole seconds, and a later batch runs once the queue has drained", () =>
    Effect.gen(function*() {
      const [first, second] = yield* withEmulator(
        { latency: fixed, load: { knee: 10, ceiling: 12, retryAfterSeconds: 4 } },
        Effect.all([reads(20), reads(12)])
      )
      const statuses = (a: typeof first) => Object.values(a.byId).map((r) => r.status as number)
      assert.strictEqual(statuses(first).filter((s) => s === 503).length, 8)
      assert.isTrue(Object.values(first.byId).filter((r) => r.status === 503).every((r) => r.headers["Retry-After"] === "4"))
      assert.deepStrictEqual(statuses(second), Array(12).fill(200))
    }))

  it.effect("a batch sent while the app is at its ceiling is refused whole", () =>
    Effect.gen(function*() {
      const log = yield* withEmulator({ latency: fixed, load: { ceiling: 10 } }, overlapping(10))
      assert.deepStrictEqual(log.filter((e) => e.httpRequest === 2).map((e) => e.status), Array(10).fill(503))
      assert.deepStrictEqual(log.filter((e) => e.httpRequest === 1).map((e) => e.status), Array(10).fill(200))
    }))
})

describe("load model: off by default, deterministic when on", () => {
  it.effect("without a load model 40 items in flight each take their modelled latency, and none is refused", () =>
    Effect.gen(function*() {
      const log = yield* withEmulator({ latency: fixed }, overlapping(20))
      assert.deepStrictEqual(log.map((e) => [e.status, e.finishedAt - e.startedAt]), Array(40).fill([200, 100]))
    }))

  it.effect.prop(
    "a knee and a ceiling the traffic never reaches change nothing: the audit is the one without a load model",
    [FastCheck.integer({ min: 0, max: 1_000_000 })],
    ([seed]) =>
      Effect.gen(function*() {
        const strip = Effect.map(overlapping(20), (log) => log.map(({ requestId: _, ...rest }) => rest))
        const off = yield* withEmulator({ seed, latency: jittered }, strip)
        const unreached = yield* withEmulator({ seed, latency: jittered, load: { knee: 40, ceiling: 41 } }, strip)
        assert.deepStrictEqual(unreached, off)
      }),
    { fastCheck: { numRuns: 5 } }
  )

  it.effect.prop(
    "the same seed and traffic give the same latencies and refusals",
    [FastCheck.integer({ min: 0, max: 1_000_000 })],
    ([seed]) =>
      Effect.gen(function*() {
        const options = { seed, latency: jittered, load: { knee: 6, ceiling: 30 } }
        const summary = Effect.map(overlapping(20), (log) => log.map((e) => [e.itemId, e.status, e.startedAt, e.finishedAt]))
        const a = yield* withEmulator(options, summary)
        const b = yield* withEmulator(options, summary)
        assert.deepStrictEqual(a, b)
        assert.isTrue(a.some(([, status]) => status === 503), "the second batch crosses the ceiling")
      }),
    { fastCheck: { numRuns: 5 } }
  )

  it.effect("refuses a knee, ceiling or Retry-After that is not a whole number in range", () =>
    Effect.gen(function*() {
      const refused = (load: Emulator.LoadModel) => Effect.map(Effect.either(Emulator.make({ load })), Either.match({ onLeft: (e) => e.option, onRight: () => "accepted" }))
      assert.strictEqual(yield* refused({ knee: 0 }), "load.knee")
      assert.strictEqual(yield* refused({ knee: 2.5 }), "load.knee")
      assert.strictEqual(yield* refused({ ceiling: -1 }), "load.ceiling")
      assert.strictEqual(yield* refused({ retryAfterSeconds: 0.5 }), "load.retryAfterSeconds")
      assert.strictEqual(yield* refused({ knee: 1, ceiling: 1, retryAfterSeconds: 0 }), "accepted")
    }))
})
