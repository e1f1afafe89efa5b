// Bounded waits and backoff against a fake `$batch` endpoint, in virtual time: a Retry-After beyond
// the deadline ends requests at once, a request waiting behind a long pause ends by the deadline,
// and one whole-batch 429 is one backoff step, not one per item.
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Emulator } from "@effect-msgraph/emulator"
import { Chunk, Clock, type Duration, Effect, Fiber, Layer, Option, Redacted, Schedule, Stream, TestClock } from "effect"
import { type Answer, type Call, fakeBatch } from "./utils/fakeBatch.js"

const throttledAdmission = GraphClient.layerThrottledMemory(Emulator.defaultIdentity, {
  catalog: { tenantSize: "M", delegated: true }
}).pipe(Layer.orDie)

/** The throttled client over a fake endpoint; `calls` fills as it is called. */
const client = (
  options: GraphClient.GraphClient.Options,
  answer: (call: Call, index: number) => Answer,
  latency?: Duration.DurationInput
) => {
  const fake = fakeBatch(answer, latency)
  const layer = GraphClient.layer(options).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("fake-token"), throttledAdmission, fake.layer))
  )
  return { calls: fake.calls, layer }
}

const mail = (id: string, skip: number, dependsOn?: ReadonlyArray<string>): WorkloadRequest => ({
  id,
  method: "GET",
  url: `/me/messages?$top=1&$skip=${skip}`,
  ...(dependsOn === undefined ? {} : { dependsOn })
})

/**
 * Advances the TestClock by `step` until the effect completes, at most `maxSteps` times: these tests
 * build their client outside a VirtualClock world, and bound the virtual time they allow.
 */
const driveClock = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput, maxSteps = 200_000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxSteps; i++) {
      const done = yield* fiber.poll
      if (Option.isSome(done)) return yield* Fiber.join(fiber)
      yield* TestClock.adjust(step)
    }
    return yield* Effect.dieMessage("the effect did not finish within the simulated time")
  })

const runAll = (workload: ReadonlyArray<WorkloadRequest>, step: Duration.DurationInput, maxSteps?: number) =>
  Effect.flatMap(GraphClient.GraphClient, (graph) => driveClock(graph.runAll(workload), step, maxSteps))

const errorOf = (outcome: GraphClient.Outcome | undefined) => outcome?._tag === "Failure" ? outcome.error : undefined

const huge = { "Retry-After": "1000000000" }

describe("bounded waits", () => {
  it.effect("a batch answered 429 with Retry-After: 1000000000 ends its requests Throttled at once, with the Retry-After", () => {
    const fake = client({}, () => ({ _tag: "Batch", status: 429, headers: huge }))
    return Effect.gen(function*() {
      const { outcomes, summary } = yield* runAll([mail("a", 0), mail("b", 1), mail("c", 2)], "1 hour", 48)
      expect(summary.durationMs).toBe(0)
      expect(fake.calls).toHaveLength(1)
      for (const outcome of outcomes) {
        // maxRetryTime (10 minutes by default) is what the wait would have passed
        expect(errorOf(outcome)).toMatchObject({ _tag: "Throttled", status: 429, attempts: 1, retryAfterMillis: 1e12, reason: "RetryTime" })
      }
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("with a deadline, a Retry-After past it ends the requests at once, though maxRetryTime would allow the wait", () => {
    const fake = client({ deadline: "1 hour", maxRetryTime: "1000 days" }, () => ({ _tag: "Batch", status: 429, headers: { "Retry-After": "7200" } }))
    return Effect.gen(function*() {
      const { outcomes, summary } = yield* runAll([mail("a", 0), mail("b", 1)], "10 minutes", 48)
      expect(summary.durationMs).toBe(0)
      expect(fake.calls).toHaveLength(1)
      for (const outcome of outcomes) {
        expect(errorOf(outcome)).toMatchObject({ _tag: "Throttled", status: 429, retryAfterMillis: 7_200_000, reason: "Deadline" })
      }
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a request never sent, waiting for admission behind a 24 h pause, ends Throttled at the deadline; its dependent DependencyFailed", () => {
    // `a` is answered 429 with a huge Retry-After, which pauses the mailbox's buckets for the
    // Throttler's 24 h cap; `c` becomes ready once `b` succeeds (waves: in a later batch than `b`)
    // and waits for those buckets
    const fake = client({ deadline: "5 minutes", planning: { policy: "waves" } }, () => ({
      _tag: "Items",
      item: (id) => id === "a" ? { status: 429, headers: huge } : undefined
    }))
    return Effect.gen(function*() {
      const workload = [mail("a", 0), mail("b", 1), mail("c", 2, ["b"]), mail("d", 3, ["c"])]
      const { outcomes, summary } = yield* runAll(workload, "1 minute", 2 * 24 * 60)
      const byId = new Map(outcomes.map((o) => [o.id, o]))
      expect(summary.durationMs).toBe(5 * 60_000)
      expect(byId.get("b")?._tag).toBe("Success")
      expect(errorOf(byId.get("a"))).toMatchObject({ _tag: "Throttled", status: 429, attempts: 1, retryAfterMillis: 1e12, reason: "Deadline" })
      expect(errorOf(byId.get("c"))).toMatchObject({ _tag: "Throttled", status: 0, attempts: 0, reason: "Deadline" })
      expect(errorOf(byId.get("d"))).toMatchObject({ _tag: "DependencyFailed", dependency: "c", status: 0 })
      // c was never sent
      expect(fake.calls.flatMap((c) => c.ids).sort()).toStrictEqual(["a", "b"])
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("nothing is sent after the deadline: batches admitted before it but waiting for a call slot end Throttled (Deadline) at it, unsent", () => {
    // one call at a time, each answered after 1 s: of 5 batches of 20, those whose slot comes at
    // 0, 1 and 2 s go out; the deadline (2.5 s) comes while the other two wait for a slot
    const fake = client({ deadline: "2500 millis", concurrency: 1 }, () => ({ _tag: "Items", item: () => undefined }), "1 second")
    return Effect.gen(function*() {
      const workload = Array.from({ length: 100 }, (_, i): WorkloadRequest => ({ id: `u${i}`, method: "GET", url: `/users/u${i}` }))
      const graph = yield* GraphClient.GraphClient
      const timed = graph.run(workload).pipe(
        Stream.mapEffect((event) => Effect.map(Clock.currentTimeMillis, (at) => ({ event, at }))),
        Stream.runCollect
      )
      const events = Chunk.toReadonlyArray(yield* driveClock(timed, "100 millis", 1_000))
      expect(fake.calls.map((c) => c.at)).toStrictEqual([0, 1_000, 2_000])
      const expired = events.filter(({ event }) => event._tag === "Failure")
      expect(expired).toHaveLength(40)
      for (const { at, event } of expired) {
        expect(errorOf(event as GraphClient.Outcome)).toMatchObject({ _tag: "Throttled", status: 0, attempts: 0, reason: "Deadline" })
        expect(at).toBe(2_500)
      }
      expect(events.filter(({ event }) => event._tag === "Success")).toHaveLength(60)
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("the deadline and a token that is slow to come", () => {
  /** The unthrottled client over a fake endpoint, with `token` as its token provider. */
  const withToken = (token: Effect.Effect<Redacted.Redacted<string>, TokenProvider.TokenError>) => {
    const fake = fakeBatch(() => ({ _tag: "Items", item: () => undefined }))
    const layer = GraphClient.layer({ deadline: "10 seconds" }).pipe(
      Layer.provide(Layer.mergeAll(
        Layer.succeed(TokenProvider.TokenProvider, TokenProvider.TokenProvider.of({ token })),
        GraphClient.layerUnthrottled,
        fake.layer
      ))
    )
    return { calls: fake.calls, layer }
  }
  const reads = Array.from({ length: 3 }, (_, i): WorkloadRequest => ({ id: `u${i}`, method: "GET", url: `/users/u${i}` }))

  for (const [name, token] of [
    ["a token that comes after the deadline", Effect.as(Effect.sleep("30 seconds"), Redacted.make("late"))],
    ["a token that never comes", Effect.never]
  ] as const) {
    it.effect(`waiting for ${name}, the requests end Throttled (Deadline) at the deadline, unsent`, () => {
      const fake = withToken(token)
      return Effect.gen(function*() {
        const graph = yield* GraphClient.GraphClient
        const { outcomes, summary } = yield* driveClock(graph.runAll(reads), "1 second", 60)
        expect(fake.calls).toStrictEqual([])
        expect(summary.durationMs).toBe(10_000)
        expect(outcomes.map(errorOf)).toMatchObject(reads.map(() => ({ _tag: "Throttled", status: 0, reason: "Deadline" })))
      }).pipe(Effect.provide(fake.layer))
    })
  }
})

describe("backoff that does not multiply by batch size", () => {
  for (const retryAfter of [undefined, "1e9", "-5"]) {
    it.effect(`one whole-batch 429 (Retry-After ${retryAfter ?? "absent"}) on a 10-item batch pauses the bucket for the first backoff step, not the cap`, () => {
      // the client's own resend delay is 10 ms: when the resend goes is up to the Throttler's pause
      const fake = client(
        { backoff: Schedule.spaced("10 millis") },
        (_, index) =>
          index === 0
            ? { _tag: "Batch", status: 429, headers: retryAfter === undefined ? {} : { "Retry-After": retryAfter } }
            : { _tag: "Items", item: () => undefined }
      )
      return Effect.gen(function*() {
        const workload = Array.from({ length: 10 }, (_, i) => mail(`m${i}`, i))
        const { outcomes } = yield* runAll(workload, "50 millis")
        expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
        expect(fake.calls[0]!.ids).toHaveLength(10)
        const resent = fake.calls[1]!.at - fake.calls[0]!.at
        // the first step of the default backoff: 1 s with +-20% jitter (ten steps reach 60 s)
        expect(resent).toBeGreaterThanOrEqual(800)
        expect(resent).toBeLessThanOrEqual(1250)
      }).pipe(Effect.provide(fake.layer))
    })
  }
})
