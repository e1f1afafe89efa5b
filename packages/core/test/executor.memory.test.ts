import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, DefaultServices, Effect, FastCheck, Layer, Stream, Tracer } from "effect"
import * as GraphClient from "../src/GraphClient.js"
import * as executor from "../src/internal/client/executor.js"
import { MAX, prepare, Scheduler } from "../src/internal/plan/scheduler.js"
import * as TokenProvider from "../src/TokenProvider.js"
import type { Workload } from "../src/Workload.js"

/**
 * A `$batch` server in process: every item 200 with a tiny body, except batches holding an item
 * whose id starts with `wait-`, which are never answered.
 */
const fakeBatch = HttpClient.make((request) =>
  Effect.gen(function*() {
    const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "{}"
    const { requests } = JSON.parse(text) as { requests: ReadonlyArray<{ id: string }> }
    if (requests.some((r) => r.id.startsWith("wait-"))) return yield* Effect.never
    const responses = requests.map((r) => ({ id: r.id, status: 200, body: { id: r.id } }))
    return HttpClientResponse.fromWeb(
      request,
      new Response(JSON.stringify({ responses }), { status: 200, headers: { "content-type": "application/json" } })
    )
  })
)

const client = GraphClient.layer().pipe(
  Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("t"), GraphClient.layerUnthrottled, Layer.succeed(HttpClient.HttpClient, fakeBatch)))
)

const gets = (prefix: string, n: number): Workload =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, method: "GET", url: `/users/u${i}` }))

/**
 * A tracer of the user's: the built-in tracer's spans under another tracer object. Under the
 * built-in tracer itself the client opens no request span (nothing could read it).
 */
const builtIn = Context.get(DefaultServices.liveServices, Tracer.Tracer)
const usersTracer = Tracer.make({ span: builtIn.span, context: builtIn.context })

/** Runs `use` with the counting function of the next run the executor starts. */
const probed = <A, E, R>(use: (held: () => executor.Held) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      let held: (() => executor.Held) | undefined
      executor.probe.onRun = (f) => void (held = f)
      return () => held!()
    }),
    use,
    () => Effect.sync(() => void (executor.probe.onRun = undefined))
  )

describe("bounded memory", () => {
  it.effect("a run keeps no per-request state for settled requests, and hands the rest out only as batches can go", () =>
    probed((held) =>
      Effect.gen(function*() {
        // five batches of 20 are answered; every batch after them hangs
        const waiting = 10_000
        const workload = [...gets("done", 5 * MAX), ...gets("wait", waiting)]
        const graph = yield* GraphClient.GraphClient
        const settled = yield* graph.run(workload).pipe(Stream.take(5 * MAX), Stream.runCollect)
        expect(Chunk.toReadonlyArray(settled).every((e) => e._tag === "Success" && e.id.startsWith("done-"))).toBe(true)
        const now = held()
        const scheduler = now.scheduler!
        expect(scheduler.pending).toBe(waiting)
        // the run holds no wire request between rounds: the batches sent hold theirs, and the others
        // are made again from the workload when their turn comes
        expect(scheduler.requests).toBe(0)
        expect(scheduler.ready).toBeLessThan(waiting)
        expect(scheduler.responses).toBe(0)
        // the executor's entries are those of the requests sent and not settled: none for the 100 done
        expect(now.spans).toBeGreaterThan(0)
        expect(now.attempts).toBe(now.spans)
        expect(now.firstSent).toBe(now.spans)
        expect(now.correlation).toBeLessThanOrEqual(now.spans)
        // at most two handfuls of the live batches' worth of requests left the ready queue
        expect(scheduler.ready).toBeGreaterThanOrEqual(waiting - 2 * 64 * MAX)
      }).pipe(Effect.provide(client), Effect.withTracer(usersTracer))
    ))

  it.effect("under Effect's built-in tracer a run opens no request span", () =>
    probed((held) =>
      Effect.gen(function*() {
        const workload = [...gets("done", 5 * MAX), ...gets("wait", 1_000)]
        const graph = yield* GraphClient.GraphClient
        yield* graph.run(workload).pipe(Stream.take(5 * MAX), Stream.runCollect)
        const now = held()
        // requests were sent and are not settled (the hanging batches'), yet no span is held
        expect(now.attempts).toBeGreaterThan(0)
        expect(now.firstSent).toBe(now.attempts)
        expect(now.spans).toBe(0)
      }).pipe(Effect.provide(client))
    ))

  it.effect("after a run every per-request map and the scheduler's per-request data are empty", () =>
    probed((held) =>
      Effect.gen(function*() {
        const graph = yield* GraphClient.GraphClient
        const { summary } = yield* graph.runAll(gets("done", 1_000))
        expect(summary.succeeded).toBe(1_000)
        expect(held()).toEqual({
          attempts: 0,
          firstSent: 0,
          notBefore: 0,
          schedules: 0,
          correlation: 0,
          spans: 0,
          affinities: 0,
          scheduler: { pending: 0, ready: 0, requests: 0, responses: 0 }
        })
      }).pipe(Effect.provide(client))
    ))
})

describe("Scheduler.nextRound with a limit", () => {
  it.prop(
    "rounds limited to k requests hand out the requests of one unlimited round, in the same order",
    [FastCheck.array(FastCheck.constantFrom("high" as const, "normal" as const, "low" as const), { minLength: 1, maxLength: 120 }), FastCheck.integer({ min: 1, max: 50 })],
    ([priorities, k]) => {
      const workload: Workload = priorities.map((priority, i) => ({ id: `r${i}`, method: "GET", url: `/users/u${i}`, priority }))
      const settings = { host: "graph.microsoft.com", version: "v1.0" as const, maxRequests: MAX }
      const order = (scheduler: Scheduler, limit: number) => {
        const ids: Array<string> = []
        for (;;) {
          const round = scheduler.nextRound(limit)
          if (round.batches.length === 0) return ids
          for (const batch of round.batches) {
            expect(batch.requests.length).toBeLessThanOrEqual(MAX)
            for (const item of batch.requests) ids.push(item.id)
          }
          if (limit !== Infinity) expect(round.batches.reduce((n, b) => n + b.requests.length, 0)).toBeLessThanOrEqual(limit)
        }
      }
      const whole = order(new Scheduler(prepare(workload, settings).pipe((e) => e._tag === "Right" ? e.right : undefined)!, "waves", settings, true), Infinity)
      const limited = order(new Scheduler(prepare(workload, settings).pipe((e) => e._tag === "Right" ? e.right : undefined)!, "waves", settings, true), k)
      expect(limited).toEqual(whole)
      expect(new Set(whole).size).toBe(workload.length)
    }
  )
})
