import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Clock, Deferred, Effect, Exit, Fiber, Option, Schedule, Stream, TestClock } from "effect"
import { ConcurrencyLimit, Demand, type Limit, TokenBucketLimit, WindowLimit } from "@effect-msgraph/spec/Bucket"
import type * as Scope from "effect/Scope"
import * as runner from "../src/internal/throttle/runner.js"
import * as QuotaStore from "../src/QuotaStore.js"
import * as Throttler from "../src/Throttler.js"
import type { ThrottleError } from "../src/ThrottleError.js"
import type * as ThrottleFeedback from "../src/ThrottleFeedback.js"

const window = (limit: number, windowMillis: number) => WindowLimit.make({ limit, windowMillis })
const tokens = (capacity: number, refillPerSecond: number) => TokenBucketLimit.make({ capacity, refillPerSecond })

// what the catalogue's identity and access entries say of their limits
const resourceUnits = { family: "identityAndAccess", measure: "resourceUnits", costBasis: "identityResourceUnits" } as const
const writeQuota = { family: "identityAndAccess", measure: "writeRequests", costBasis: "identityWriteCost", writeQuota: true } as const

const demand = (
  key: string,
  limit: Limit,
  cost = 1,
  extra: Partial<
    Pick<Demand, "entryId" | "service" | "scope" | "retryAfter" | "measure" | "costBasis" | "writeQuota" | "family">
  > = {}
) =>
  Demand.make({
    ...extra,
    key,
    entryId: extra.entryId ?? key,
    service: extra.service ?? "outlook",
    scope: extra.scope ?? "appMailbox",
    limit,
    cost,
    retryAfter: extra.retryAfter ?? true
  })

/** A throttler over a memory store the test can inspect. */
const withThrottler = <A, E>(
  f: (throttler: Throttler.ThrottlerService, store: QuotaStore.MemoryQuotaStore) => Effect.Effect<A, E, Scope.Scope>,
  options: Throttler.Throttler.Options = {},
  storeOptions: QuotaStore.QuotaStore.MemoryOptions = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const store = yield* QuotaStore.makeMemory(storeOptions)
    const throttler = yield* Throttler.make(options).pipe(Effect.provideService(QuotaStore.QuotaStore, store))
    return yield* f(throttler, store)
  }))

const admittedAt = (
  throttler: Throttler.ThrottlerService,
  demands: ReadonlyArray<Demand>,
  priority?: "high" | "normal" | "low",
  leadMillis?: number
) =>
  throttler.admit(demands, { priority, leadMillis }).pipe(
    Effect.zip(Clock.currentTimeMillis),
    Effect.map(([permit, at]) => ({ permit, at })),
    Effect.fork
  )

describe("Throttler admission", () => {
  it.effect("admits at once when every bucket has room, and takes from all of them", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const a = window(2, 1000)
        const b = window(1, 1000)
        const first = yield* Fiber.join(yield* admittedAt(throttler, [demand("a", a), demand("b", b)]))
        expect(first.at).toBe(0)
        expect(first.permit.admittedAt - first.permit.arrivedAt).toBe(0)
        // b is now full: a request on a and b waits, and takes nothing while it waits...
        const second = yield* admittedAt(throttler, [demand("a", a), demand("b", b)])
        yield* TestClock.adjust(1)
        expect(yield* Fiber.poll(second)).toEqual(Option.none())
        // ...so a request on a alone still finds a's second unit (no bucket is held while another is awaited).
        const third = yield* Fiber.join(yield* admittedAt(throttler, [demand("a", a)]))
        expect(third.at).toBe(1)
        yield* TestClock.adjust(2000)
        const late = yield* Fiber.join(second)
        // b frees at 1000, one window after its take, and so does a's first unit (windows of no more
        // units than sub-windows are exact).
        expect(late.at).toBe(1000)
      })))

  it.effect("fails at once with a typed error for a demand that can never fit, and for a bad cost", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const tooBig = yield* Effect.flip(throttler.admit([demand("a", window(5, 1000), 2), demand("b", window(3, 1000), 4)]))
        expect(tooBig).toMatchObject({ _tag: "CostExceedsCapacity", key: "b", cost: 4, capacity: 3 })
        // Two demands on one key add up.
        const merged = yield* Effect.flip(throttler.admit([demand("a", window(5, 1000), 3), demand("a", window(5, 1000), 3)]))
        expect(merged).toMatchObject({ _tag: "CostExceedsCapacity", key: "a", cost: 6 })
        const negative = yield* Effect.flip(throttler.admit([demand("a", window(5, 1000), -1)]))
        expect(negative).toMatchObject({ _tag: "InvalidDemand", reason: "CostNegative" })
        const nan = yield* Effect.flip(throttler.admit([demand("a", window(5, 1000), Number.NaN)]))
        expect(nan).toMatchObject({ _tag: "InvalidDemand", reason: "CostNotFinite" })
        const badLimit = yield* Effect.flip(throttler.admit([demand("a", window(0, 1000), 1)]))
        expect(badLimit).toMatchObject({ _tag: "InvalidDemand", reason: "LimitNotPositive" })
        expect(yield* throttler.waiting).toBe(0)
      })))

  it.effect("serves high before normal before low under contention, and first come first served within a level", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const k = window(1, 1000)
        yield* throttler.admit([demand("k", k)])
        const fibers = []
        for (const priority of ["low", "normal", "high", "low", "normal", "high"] as const) {
          fibers.push(yield* Effect.fork(Effect.map(throttler.admit([demand("k", k)], { priority }), (p) => [priority, p] as const)))
        }
        yield* TestClock.adjust("10 seconds")
        const results = yield* Effect.forEach(fibers, Fiber.join)
        const order = [...results].sort((x, y) => x[1].admission - y[1].admission).map(([priority, p]) => `${priority}${p.arrival}`)
        // arrival numbers: the filler is 1 (admitted as 2); then 3, 4, 5, 6, 7, 8.
        expect(order).toEqual(["high5", "high8", "normal4", "normal7", "low3", "low6"])
      })))

  it.effect("tryAdmit takes at once when there is room, and otherwise neither waits, queues nor takes", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        const k = window(2, 1000)
        const other = window(5, 1000)
        expect(Option.isSome(yield* throttler.tryAdmit([demand("k", k), demand("o", other)]))).toBe(true)
        expect(Option.isSome(yield* throttler.tryAdmit([demand("k", k)]))).toBe(true)
        // k is full: nothing is taken from `o` either, and nothing waits
        expect(yield* throttler.tryAdmit([demand("k", k), demand("o", other, 3)])).toEqual(Option.none())
        expect(yield* throttler.waiting).toBe(0)
        expect(yield* store.take([{ key: "o", limit: other, cost: 4 }], 0)).toEqual({ _tag: "Taken" })
      })))

  it.effect("tryAdmit does not overtake a waiter that claims the bucket, even with room for itself", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const k = tokens(4, 1)
        yield* throttler.admit([demand("k", k, 4)])
        // waits for 3 tokens, and claims k
        const costly = yield* admittedAt(throttler, [demand("k", k, 3)])
        yield* TestClock.adjust(1000)
        // one token is back, enough for a cheap request, but it is the waiter's
        expect(yield* throttler.tryAdmit([demand("k", k, 1)])).toEqual(Option.none())
        yield* TestClock.adjust(2000)
        expect((yield* Fiber.join(costly)).at).toBe(3000)
      })))

  it.effect("a waiter held back by a better-ranked claim does not keep its own claims on buckets that have room", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const a = window(1, 1000)
        const b = window(1, 5000)
        const t = window(2, 1000)
        yield* throttler.admit([demand("a", a), demand("b", b), demand("t", t, 2)])
        // short on a and t until 1 s: it claims both
        const held = yield* admittedAt(throttler, [demand("a", a), demand("t", t)])
        // ranked ahead of it, short on a (1 s) and b (5 s): from 1 s on it holds `held` back
        const first = yield* admittedAt(throttler, [demand("a", a), demand("b", b)], undefined, 5_000)
        yield* TestClock.adjust(1500)
        // t has had room since 1 s, and `held` cannot go before `first`: a request on t alone goes now
        const cheap = yield* admittedAt(throttler, [demand("t", t)])
        yield* TestClock.adjust("10 seconds")
        expect((yield* Fiber.join(cheap)).at).toBe(1500)
        expect((yield* Fiber.join(first)).at).toBe(5000)
        expect((yield* Fiber.join(held)).at).toBe(6000)
      })))

  it.effect("wake-ups due at one instant are tried in rank order, whatever order their timers were set in", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const b = window(1, 1000)
        const c = window(1, 1000)
        const d = window(1, 500)
        yield* throttler.admit([demand("c", c), demand("d", d)])
        // short on d until 500 ms: its wake-up is set first, and reorders the later ones when it fires
        const early = yield* admittedAt(throttler, [demand("d", d)])
        // short on c only (b has room): wakes up at 1 s
        const better = yield* admittedAt(throttler, [demand("b", b), demand("c", c)])
        // b is not claimed, so this takes it; then `worse` is short on b and also wakes up at 1 s
        yield* Fiber.join(yield* admittedAt(throttler, [demand("b", b)], "low"))
        const worse = yield* admittedAt(throttler, [demand("b", b)], "low")
        yield* TestClock.adjust("3 seconds")
        expect((yield* Fiber.join(early)).at).toBe(500)
        // at 1 s b and c both have room again: the normal request goes before the low one
        expect((yield* Fiber.join(better)).at).toBe(1000)
        expect((yield* Fiber.join(worse)).at).toBe(2000)
      })))

  it.effect("a waiter freed by a claim lifted at a wake-up goes before a lower-ranked waiter due at that instant", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const b = window(1, 1000)
        const c = window(2, 1000)
        yield* throttler.admit([demand("b", b), demand("c", c, 2)])
        // short on c: claims it until 1 s
        const first = yield* admittedAt(throttler, [demand("c", c)], "high")
        // held back by that claim, so never tried: it claims nothing
        const held = yield* admittedAt(throttler, [demand("b", b), demand("c", c)])
        // short on b: claims it until 1 s
        const worse = yield* admittedAt(throttler, [demand("b", b)], "low")
        yield* TestClock.adjust("3 seconds")
        // at 1 s `first` goes and lifts its claim on c; `held` then fits, and ranks ahead of `worse`
        expect((yield* Fiber.join(first)).at).toBe(1000)
        expect((yield* Fiber.join(held)).at).toBe(1000)
        expect((yield* Fiber.join(worse)).at).toBe(2000)
      })))

  it.effect("answered: a request's window units count from its answer, since Graph counted it on arrival", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const k = window(1, 1000)
        const permit = yield* throttler.admit([demand("k", k)])
        // no time has passed: nothing changes
        yield* throttler.answered(permit)
        // the answer comes 300 ms after admission
        yield* TestClock.adjust(300)
        yield* throttler.answered(permit)
        const next = yield* admittedAt(throttler, [demand("k", k)])
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(next)).at).toBe(1300)
      })))

  it.effect("a lead ranks a request ahead of earlier ones of its level, never of a better level", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const k = window(1, 1000)
        yield* throttler.admit([demand("k", k)])
        const order: Array<string> = []
        const wait = (name: string, options: Throttler.AdmitOptions) =>
          Effect.fork(Effect.tap(throttler.admit([demand("k", k)], options), () => Effect.sync(() => void order.push(name))))
        const fibers = [
          yield* wait("normal", {}),
          yield* wait("high", { priority: "high" }),
          yield* wait("low, lead 40 s", { priority: "low", leadMillis: 40_000 }),
          yield* wait("normal, lead 2 s", { leadMillis: 2_000 }),
          yield* wait("normal, lead 1 s", { leadMillis: 1_000 })
        ]
        yield* TestClock.adjust("10 seconds")
        yield* Effect.forEach(fibers, Fiber.join)
        // ageing is 10 s here: a lead counts for at most 5 s, so the low request stays behind every
        // normal one, and the normal ones with a lead go first within their level, in lead order
        expect(order).toEqual(["high", "normal, lead 2 s", "normal, lead 1 s", "normal", "low, lead 40 s"])
      }), { agingMillis: 10_000 }))

  it.effect("ages waiting requests so that low priority still progresses", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const k = window(1, 1000)
        yield* throttler.admit([demand("k", k)])
        const low = yield* admittedAt(throttler, [demand("k", k)], "low") // rank 0 + 2 * 100
        yield* TestClock.adjust(150)
        const earlyHigh = yield* admittedAt(throttler, [demand("k", k)], "high") // rank 150
        yield* TestClock.adjust(100)
        const lateHigh = yield* admittedAt(throttler, [demand("k", k)], "high") // rank 250
        yield* TestClock.adjust("10 seconds")
        const [l, e, h] = yield* Effect.forEach([low, earlyHigh, lateHigh], Fiber.join)
        expect(e.permit.admission).toBeLessThan(l.permit.admission)
        expect(l.permit.admission).toBeLessThan(h.permit.admission)
      }), { agingMillis: 100 }))

  it.effect("lets a request use a bucket that a better-ranked waiter is not short on (backfilling)", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const shared = window(10, 1000)
        const scarce = window(1, 1000)
        yield* throttler.admit([demand("scarce", scarce)])
        // Waits for `scarce` only; it is not short on `shared`, so it does not claim it.
        const waiting = yield* admittedAt(throttler, [demand("shared", shared), demand("scarce", scarce)], "high")
        const other = yield* Fiber.join(yield* admittedAt(throttler, [demand("shared", shared)], "low"))
        expect(other.at).toBe(0)
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(waiting)).at).toBe(1000)
      })))

  it.effect("waits out a monthly window without asking a JavaScript timer for more than 2^31 - 1 ms", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const month = window(1, 31 * 24 * 3_600_000)
        yield* throttler.admit([demand("meetings/alice", month)])
        const next = yield* admittedAt(throttler, [demand("meetings/alice", month)])
        yield* TestClock.adjust(1)
        const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
        expect(sleeps.length).toBeGreaterThan(0)
        for (const at of sleeps) expect(at - 1).toBeLessThanOrEqual(2 ** 31 - 1)
        yield* TestClock.adjust(33 * 24 * 3_600_000)
        // Exactly one window after the first take.
        expect((yield* Fiber.join(next)).at).toBe(31 * 24 * 3_600_000)
      })))

  it.effect("withdraws an interrupted waiter without taking anything", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const k = window(1, 1000)
        yield* throttler.admit([demand("k", k)])
        const waiter = yield* Effect.fork(throttler.admit([demand("k", k)]))
        yield* TestClock.adjust(10)
        expect(yield* throttler.waiting).toBe(1)
        yield* Fiber.interrupt(waiter)
        expect(yield* throttler.waiting).toBe(0)
        yield* TestClock.adjust(1040)
        const next = yield* Fiber.join(yield* admittedAt(throttler, [demand("k", k)]))
        expect(next.at).toBe(1050)
      })))

  it.effect("withPermit gives concurrency back on success, failure and interruption", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const c = ConcurrencyLimit.make({ permits: 1 })
        const d = [demand("c", c)]
        expect(yield* throttler.withPermit(d)(Effect.succeed(1))).toBe(1)
        expect(yield* Effect.flip(throttler.withPermit(d)(Effect.fail("boom")))).toBe("boom")
        const started = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(throttler.withPermit(d)(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
        yield* Deferred.await(started)
        const next = yield* Effect.fork(throttler.withPermit(d)(Effect.succeed("next")))
        yield* Effect.yieldNow()
        expect(yield* Fiber.poll(next)).toEqual(Option.none())
        yield* Fiber.interrupt(holder)
        expect(yield* Fiber.join(next)).toBe("next")
      })))

  it.effect("a released permit admits the request waiting on its bucket at once, and wakes no other bucket's waiter early", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const c = ConcurrencyLimit.make({ permits: 1 })
        const idle = ConcurrencyLimit.make({ permits: 1 })
        const w = window(1, 1000)
        const holdsC = yield* throttler.admit([demand("c", c)])
        const holdsIdle = yield* throttler.admit([demand("idle", idle)])
        yield* throttler.admit([demand("w", w)])
        const onC = yield* admittedAt(throttler, [demand("c", c)])
        const onW = yield* admittedAt(throttler, [demand("w", w)])
        yield* TestClock.adjust(10)
        expect(yield* Fiber.poll(onC)).toEqual(Option.none())
        // nobody waits on "idle": its release admits nobody, least of all the window's waiter
        yield* throttler.release(holdsIdle)
        yield* Effect.yieldNow()
        expect(yield* Fiber.poll(onC)).toEqual(Option.none())
        expect(yield* Fiber.poll(onW)).toEqual(Option.none())
        // "c" has a waiter: it goes now, without waiting for a timer
        yield* throttler.release(holdsC)
        yield* Effect.yieldNow()
        const c1 = yield* Fiber.poll(onC)
        expect(Option.map(c1, Exit.map((r) => r.at))).toEqual(Option.some(Exit.succeed(10)))
        yield* TestClock.adjust(990)
        expect((yield* Fiber.join(onW)).at).toBe(1000)
      })))

  it.effect("admitAll admits a stream in admission order without a fiber per waiting item", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const k = window(2, 1000)
        const items = [1, 2, 3, 4, 5, 99]
        const fiber = yield* throttler.admitAll(Stream.fromIterable(items), (n) => ({
          demands: [demand("k", k, n === 99 ? 3 : 1)],
          priority: n === 5 ? "high" : "normal"
        })).pipe(
          Stream.mapEffect((a) => Effect.map(Clock.currentTimeMillis, (at) => ({ a, at }))),
          Stream.runCollect,
          Effect.fork
        )
        yield* TestClock.adjust("5 seconds")
        const out = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
        expect(out.map(({ a, at }) => [a._tag, a.item, at])).toEqual([
          ["Admitted", 1, 0],
          ["Admitted", 2, 0],
          ["Rejected", 99, 0],
          ["Admitted", 5, 1000],
          ["Admitted", 3, 1000],
          ["Admitted", 4, 2000]
        ])
      })))
})

describe("Throttler feedback", () => {
  it.effect("a 429 with Retry-After pauses the request's own buckets until then, whatever the spelling", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const mailbox = demand("outlook/alice", window(100, 600_000))
        const global = demand("global/app", window(130_000, 10_000), 1, { service: "global", scope: "app", family: "global" })
        for (const retryAfter of ["3", "2.128", "Thu, 01 Jan 1970 00:00:11 GMT"]) {
          const now = yield* Clock.currentTimeMillis
          const millis = retryAfter === "3" ? 3000 : retryAfter === "2.128" ? 2128 : 11_000 - now
          const result = yield* throttler.feedback({ status: 429, headers: { "retry-after": retryAfter } }, [mailbox, global])
          expect(Option.getOrThrow(result.paused)).toEqual({ keys: ["outlook/alice"], untilMillis: now + millis, reason: "RetryAfter" })
          // The global bucket is not paused by one mailbox's 429.
          expect((yield* Fiber.join(yield* admittedAt(throttler, [global]))).at).toBe(now)
          const next = yield* admittedAt(throttler, [mailbox])
          yield* TestClock.adjust(millis - 1)
          expect(yield* Fiber.poll(next)).toEqual(Option.none())
          yield* TestClock.adjust(1)
          expect((yield* Fiber.join(next)).at).toBe(now + millis)
        }
        // adaptation off (floor 1): this checks pauses only, with one unit used per 429
      }), { policy: { floor: 1 } }))

  it.effect("x-ms-throttle-scope picks the buckets to pause, narrowed by its Read/Write limit", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const identity = { service: "identityAccess", retryAfter: true } as const
        const ru = demand("id/ru/app1/t1", tokens(3500, 350), 1, { ...identity, ...resourceUnits, scope: "appTenant", entryId: "identityAccess.appTenant.resourceUnits.S" })
        const appWrites = demand("id/w/app1/t1", tokens(3000, 20), 1, { ...identity, ...writeQuota, scope: "appTenant", entryId: "identityAccess.appTenant.writes" })
        const tenantWrites = demand("id/w/t1", tokens(18000, 60), 1, { ...identity, ...writeQuota, scope: "tenant", entryId: "identityAccess.tenant.writes" })
        const all = [ru, appWrites, tenantWrites]
        const scoped = (scope: string) =>
          throttler.feedback({ status: 429, headers: { "Retry-After": "1", "x-ms-throttle-scope": scope } }, all)
        const tenantWrite = yield* scoped("Tenant/Write/9a3d526c-b3c1-4479-ba74-197b5c5751ae/0785ef7c-2d7a-4542-b048-95bcab406e0b")
        expect(Option.getOrThrow(tenantWrite.paused).keys).toEqual(["id/w/t1"])
        const pairRead = yield* scoped("Tenant_Application/Read/9a3d526c/0785ef7c")
        expect(Option.getOrThrow(pairRead.paused).keys).toEqual(["id/ru/app1/t1"])
        const pairAll = yield* scoped("Tenant_Application/ReadWrite/9a3d526c/0785ef7c")
        expect(Option.getOrThrow(pairAll.paused).keys).toEqual(["id/ru/app1/t1", "id/w/app1/t1"])
        // An Application scope the request has no demand for falls back to the request's own buckets.
        const app = yield* scoped("Application/ReadWrite/9a3d526c/0785ef7c")
        expect(Option.getOrThrow(app.paused).keys).toEqual(["id/ru/app1/t1", "id/w/app1/t1", "id/w/t1"])
      })))

  it.effect("a 429 without Retry-After backs off exponentially with jitter, capped, and a success resets it", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        // OneNote is documented to send no Retry-After.
        const onenote = demand("onenote/app", window(240, 60_000), 1, { service: "onenote", scope: "app", retryAfter: false })
        const delays: Array<number> = []
        for (let i = 0; i < 10; i++) {
          const now = yield* Clock.currentTimeMillis
          const result = yield* throttler.feedback({ status: 429 }, [onenote])
          const paused = Option.getOrThrow(result.paused)
          expect(paused.reason).toBe("Backoff")
          delays.push(paused.untilMillis - now)
          yield* TestClock.adjust(paused.untilMillis - now)
        }
        // 1 s, 2 s, 4 s, ... each jittered by +-20%, never above 60 s.
        for (let i = 0; i < 6; i++) {
          expect(delays[i]).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** i)
          expect(delays[i]).toBeLessThanOrEqual(1.2 * 1000 * 2 ** i)
        }
        for (const d of delays) expect(d).toBeLessThanOrEqual(60_000)
        expect(delays[9]).toBe(60_000)
        yield* throttler.feedback({ status: 200 }, [onenote])
        const now = yield* Clock.currentTimeMillis
        const again = Option.getOrThrow((yield* throttler.feedback({ status: 429 }, [onenote])).paused)
        expect(again.untilMillis - now).toBeLessThanOrEqual(1200)
      })))

  it.effect("a 429 sets a bucket's limit to a margin under the share used; clean windows probe upwards, halving the gap, and it settles under the refused share", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        const d = demand("k", window(10, 1000))
        // 8 of the 10 are used when Graph refuses: its limit is at most 0.8 of the documented one
        for (let i = 0; i < 8; i++) yield* Fiber.join(yield* admittedAt(throttler, [d]))
        const refused = yield* throttler.feedback({ status: 429, headers: { "Retry-After": "0" } }, [d])
        expect(refused.lowered).toEqual(["k"])
        expect(yield* store.factor("k")).toBeCloseTo(0.9 * 0.8, 10)
        // a 429 for a request admitted before that lowering belongs to the same episode: admitted
        // more than a window before it began, it was not among the 8 counted and tells nothing
        const episodeRefusal = (admittedAt: number) =>
          throttler.feedbackAll([{ response: { status: 429, headers: { "Retry-After": "0" } }, demands: [d], admittedAt }])
        yield* episodeRefusal(-1_001)
        expect(yield* store.factor("k")).toBeCloseTo(0.72, 10)
        // one of the 8: Graph refused 2 of them, so it accepted at most 6 and refused at 7 of 10
        yield* episodeRefusal(-1)
        expect(yield* store.factor("k")).toBeCloseTo(0.9 * 0.7, 10)
        // successes within the window change nothing; after a clean window the gap is halved
        yield* throttler.feedback({ status: 200 }, [d])
        expect(yield* store.factor("k")).toBeCloseTo(0.63, 10)
        yield* TestClock.adjust("1 second")
        yield* throttler.feedback({ status: 200 }, [d])
        expect(yield* store.factor("k")).toBeCloseTo((0.63 + 0.7) / 2, 10)
        // settled: never at or above the refused share, however long it stays clean short of a reprobe
        for (let i = 0; i < 8; i++) {
          yield* TestClock.adjust("1 second")
          yield* throttler.feedback({ status: 200 }, [d])
          const factor = yield* store.factor("k")
          expect(factor).toBeGreaterThanOrEqual(0.665 - 1e-9)
          expect(factor).toBeLessThan(0.7)
        }
      })))

  it.effect("a 429 that names no bucket lowers the window that could have refused it: not a window holding only the refused request, not a fuller one's emptier neighbour", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        // a Teams post holds its channel's window, its team's and the app's for the tenant
        const team = demand("team", window(4, 1000), 1, { service: "teams", scope: "app", retryAfter: false })
        const tenant = demand("tenant", window(50, 1000), 1, { service: "teams", scope: "appTenant", retryAfter: false })
        const channel = (n: number) => demand(`channel-${n}`, window(1, 1000), 1, { service: "teams", scope: "app", retryAfter: false })
        for (let n = 0; n < 4; n++) yield* Fiber.join(yield* admittedAt(throttler, [channel(n), team, tenant]))
        const refused = yield* throttler.feedback({ status: 429, headers: {} }, [channel(3), team, tenant])
        // every implicated bucket waits; only the team's window, full at 4 of 4, is lowered
        expect(Option.getOrThrow(refused.paused).keys).toEqual(expect.arrayContaining(["channel-3", "team", "tenant"]))
        expect(refused.lowered).toEqual(["team"])
        expect(yield* store.factor("team")).toBeCloseTo(0.9, 10)
        expect(yield* store.factor("tenant")).toBe(1)
        expect(yield* store.factor("channel-3")).toBe(1)
      })))

  it.effect("429s with nothing used step the limit down by `decrease`, never below the floor", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        const d = demand("k", window(10, 1000))
        const factors: Array<number> = []
        for (let i = 0; i < 12; i++) {
          yield* throttler.feedback({ status: 429, headers: { "Retry-After": "0" } }, [d])
          factors.push(yield* store.factor("k"))
        }
        expect(factors.slice(0, 3).map((f) => Number(f.toFixed(4)))).toEqual([0.5, 0.25, 0.125])
        expect(Math.min(...factors)).toBe(0.02)
        // at 0.02 the window admits a lone request at a time, one per window
        const first = yield* Fiber.join(yield* admittedAt(throttler, [d]))
        const second = yield* admittedAt(throttler, [d])
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(second)).at - first.at).toBe(1000)
      }), { policy: { floor: 0.02 } }))

  it.effect("feedbackAll: a batch answered 429 as a whole, given once per item, steps the backoff and lowers the limit once", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        const onenote = demand("onenote/app", window(24_000, 60_000), 1, { service: "onenote", scope: "app", retryAfter: false })
        // the same headers for each of the ten items, as the executor gives a whole-batch answer;
        // `1e9` and `-5` are not Retry-After values, so the buckets back off on their own
        let used = 0
        for (const retryAfter of [undefined, "1e9", "-5"]) {
          const headers: Record<string, string> = retryAfter === undefined ? {} : { "Retry-After": retryAfter }
          yield* throttler.feedback({ status: 200 }, [onenote])
          const before = yield* store.factor("onenote/app")
          const start = yield* Clock.currentTimeMillis
          yield* throttler.feedbackAll(Array.from({ length: 10 }, () => ({ response: { status: 429, headers }, demands: [onenote] })))
          // one step, not ten: by `decrease` while nothing was used, then to a margin under the share
          // used (`used` units of 24,000), never below the floor
          const once = used === 0 ? before * 0.5 : Math.max(0.005, 0.9 * Math.max(0.005, Math.min(before, used / 24_000)))
          expect(yield* store.factor("onenote/app")).toBeCloseTo(once, 10)
          used++
          const next = yield* admittedAt(throttler, [onenote])
          yield* TestClock.adjust("2 seconds")
          const at = (yield* Fiber.join(next)).at - start
          // the first step: 1 s with +-20% jitter, where ten steps would reach the 60 s cap
          expect(at).toBeGreaterThanOrEqual(800)
          expect(at).toBeLessThanOrEqual(1200)
        }
        // ten answers given one by one are ten events
        yield* throttler.feedback({ status: 200 }, [onenote])
        const now = yield* Clock.currentTimeMillis
        let last = Option.none<{ readonly untilMillis: number }>()
        for (let i = 0; i < 10; i++) last = (yield* throttler.feedback({ status: 429 }, [onenote])).paused
        expect(Option.getOrThrow(last).untilMillis - now).toBe(60_000)
      })))

  it.effect("feedbackAll: items of one response answered 429 each step their buckets once, whatever their headers", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        // large windows: the unit each takes below leaves the limit, once lowered by a later 429, room for more
        const a = demand("mbx/a", window(10_000, 60_000), 1, { retryAfter: false })
        const b = demand("mbx/b", window(10_000, 60_000), 1, { retryAfter: false })
        const start = yield* Clock.currentTimeMillis
        // item-level 429s with different headers, two buckets, a success between them
        yield* throttler.feedbackAll([
          { response: { status: 429, headers: { "request-id": "1" } }, demands: [a] },
          { response: { status: 429, headers: { "request-id": "2", "Retry-After": "soon" } }, demands: [a, b] },
          { response: { status: 429, headers: { "request-id": "3" } }, demands: [b] },
          { response: { status: 429, headers: { "request-id": "4" } }, demands: [a] }
        ])
        // lowered once each (nothing was used, so by `decrease`)
        expect(yield* store.factor("mbx/a")).toBeCloseTo(0.5, 10)
        expect(yield* store.factor("mbx/b")).toBeCloseTo(0.5, 10)
        const first = yield* admittedAt(throttler, [a])
        const second = yield* admittedAt(throttler, [b])
        yield* TestClock.adjust("2 seconds")
        for (const fiber of [first, second]) {
          const at = (yield* Fiber.join(fiber)).at - start
          expect(at).toBeGreaterThanOrEqual(800)
          expect(at).toBeLessThanOrEqual(1200)
        }
        // the next response is a new event: the schedule goes on from its first step
        const now = yield* Clock.currentTimeMillis
        yield* throttler.feedbackAll([{ response: { status: 429 }, demands: [a] }, { response: { status: 429 }, demands: [a] }])
        const again = yield* admittedAt(throttler, [a])
        yield* TestClock.adjust("3 seconds")
        const waited = (yield* Fiber.join(again)).at - now
        expect(waited).toBeGreaterThanOrEqual(1600)
        expect(waited).toBeLessThanOrEqual(2400)
      })))

  it.effect("x-ms-throttle-limit-percentage of 0.8 or more slows the bucket before any 429", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const d = demand("id/ru", tokens(3500, 350), 1, { service: "identityAccess", scope: "appTenant" })
        const calm = yield* throttler.feedback({ status: 200, headers: { "x-ms-throttle-limit-percentage": "0.7" } }, [d])
        expect(calm.paused).toEqual(Option.none())
        const busy = yield* throttler.feedback({ status: 200, headers: { "x-ms-throttle-limit-percentage": "0.9" } }, [d])
        expect(Option.getOrThrow(busy.paused)).toEqual({ keys: ["id/ru"], untilMillis: 500, reason: "Slowdown" })
        const next = yield* admittedAt(throttler, [d])
        yield* TestClock.adjust(1000)
        expect((yield* Fiber.join(next)).at).toBe(500)
      })))

  it.effect("a utilisation hint the client's own buckets explain does not slow it; a higher one does", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const d = demand("id/ru", tokens(1000, 100), 1, { service: "identityAccess", scope: "appTenant" })
        // the client itself has used 90% of the bucket
        yield* throttler.admit([demand("id/ru", tokens(1000, 100), 900, { service: "identityAccess", scope: "appTenant" })])
        const own = yield* throttler.feedback({ status: 200, headers: { "x-ms-throttle-limit-percentage": "0.9" } }, [d])
        expect(own.paused).toEqual(Option.none())
        // the server sees 99%: someone else uses the same quota
        const shared = yield* throttler.feedback({ status: 200, headers: { "x-ms-throttle-limit-percentage": "0.99" } }, [d])
        expect(Option.getOrThrow(shared.paused)).toMatchObject({ keys: ["id/ru"], reason: "Slowdown" })
      })))

  it.effect("a low RateLimit-Remaining slows the bucket, and none remaining waits for RateLimit-Reset", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const d = demand("sp/site", window(600, 60_000), 1, { service: "files", scope: "tenant" })
        const fine = yield* throttler.feedback({ status: 200, headers: { "RateLimit-Limit": "100", "RateLimit-Remaining": "50" } }, [d])
        expect(fine.paused).toEqual(Option.none())
        const low = yield* throttler.feedback({ status: 200, headers: { "RateLimit-Limit": "100", "RateLimit-Remaining": "5" } }, [d])
        expect(Option.getOrThrow(low.paused).untilMillis).toBe(750)
        const none = yield* throttler.feedback(
          { status: 200, headers: { "RateLimit-Limit": "100", "RateLimit-Remaining": "0", "RateLimit-Reset": "30" } },
          [d]
        )
        expect(Option.getOrThrow(none.paused).untilMillis).toBe(30_000)
      })))

  it.effect("reports on an identity bucket reveal its capacity: the share applied drops to it before any 429", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        const identity = { service: "identityAccess", scope: "appTenant", ...resourceUnits } as const
        const ru = (cost: number) => demand("id/ru", tokens(1000, 100), cost, identity)
        // Graph's bucket holds 250 (4 times stricter than documented): 200 units answered with 0.8
        // reported (a lower bound: 200 / 0.8), then 5 more at each of 0.82, 0.84, ... 1 (a fit)
        yield* throttler.admit([ru(200)])
        const first = yield* throttler.feedback(
          { status: 200, headers: { "x-ms-resource-unit": "200", "x-ms-throttle-limit-percentage": "0.8" } },
          [ru(200)]
        )
        expect(first.lowered).toEqual(["id/ru"])
        expect(yield* store.factor("id/ru")).toBeCloseTo(0.25, 6)
        for (let i = 1; i <= 10; i++) {
          const used = (0.8 + 0.02 * i).toFixed(2)
          yield* throttler.feedback({ status: 200, headers: { "x-ms-resource-unit": "5", "x-ms-throttle-limit-percentage": used } }, [ru(5)])
        }
        expect(yield* store.factor("id/ru")).toBeCloseTo(0.25, 2)
      })))

  it.effect("a permit admitted before Graph refused on its identity bucket is stale; revoking it gives its units back", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const direct = runner.directOf(throttler)!
        const identity = { service: "identityAccess", scope: "appTenant", ...resourceUnits } as const
        const ru = (cost: number) => demand("id/ru", tokens(1000, 100), cost, identity)
        const early = yield* throttler.admit([ru(500)])
        expect(direct.stale(early)).toBe(false)
        yield* TestClock.adjust(10)
        yield* throttler.feedback({ status: 429, headers: { "Retry-After": "0" } }, [ru(1)])
        expect(direct.stale(early)).toBe(true)
        // the 429 emptied the bucket; the units of the batch that was never sent come back
        yield* runner.toEffect(direct.revoke(early))
        const again = yield* admittedAt(throttler, [ru(500)])
        const readmitted = yield* Fiber.join(again)
        expect(readmitted.at).toBe(10)
        // admitted after what Graph said: not stale
        expect(direct.stale(readmitted.permit)).toBe(false)
      })))

  it.effect("x-ms-resource-unit above the estimate charges the difference to the resource-unit buckets only", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const identity = { service: "identityAccess", scope: "appTenant" } as const
        const ru = demand("id/ru", tokens(10, 1), 1, { ...identity, ...resourceUnits, entryId: "identityAccess.appTenant.resourceUnits.S" })
        const writes = demand("id/w", tokens(10, 1), 1, { ...identity, ...writeQuota, entryId: "identityAccess.appTenant.writes" })
        yield* throttler.admit([ru, writes])
        const result = yield* throttler.feedback({ status: 200, headers: { "x-ms-resource-unit": "5" } }, [ru, writes])
        expect(result.charged).toEqual(["id/ru"])
        // 10 - 1 - 4 = 5 units left on id/ru: a cost of 6 waits one second; id/w still has 9.
        const big = yield* admittedAt(throttler, [demand("id/ru", tokens(10, 1), 6, identity)])
        const w = yield* Fiber.join(yield* admittedAt(throttler, [demand("id/w", tokens(10, 1), 9, identity)]))
        expect(w.at).toBe(0)
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(big)).at).toBe(1000)
      })))

  it.effect("a 503 with Retry-After pauses without lowering the limit; other errors change nothing", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        const d = demand("k", window(10, 1000))
        const unavailable = yield* throttler.feedback({ status: 503, headers: { "Retry-After": "2" } }, [d])
        expect(Option.getOrThrow(unavailable.paused)).toMatchObject({ reason: "Unavailable", untilMillis: 2000 })
        expect(yield* store.factor("k")).toBe(1)
        const notFound = yield* throttler.feedback({ status: 404 }, [d])
        expect(notFound.paused).toEqual(Option.none())
        expect(notFound.lowered).toEqual([])
      })))

  it.effect("every delay policy is a replaceable Schedule", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const d = demand("k", window(10, 1000), 1, { retryAfter: false })
        const result = yield* throttler.feedback({ status: 429 }, [d])
        expect(Option.getOrThrow(result.paused).untilMillis).toBe(7000)
        const slow = yield* throttler.feedback({ status: 200, headers: { "x-ms-throttle-limit-percentage": "1.2" } }, [d])
        expect(Option.getOrThrow(slow.paused).untilMillis).toBe(3000)
      }), {
      policy: { backoff: Schedule.spaced(7000), slowdown: Schedule.spaced(3000) }
    }))
})

describe("Throttler layers", () => {
  it.effect("layerMemory provides a working throttler", () =>
    Effect.gen(function*() {
      const throttler = yield* Throttler.Throttler
      const permit = yield* throttler.admit([demand("k", window(1, 1000))])
      expect(permit.admission).toBeGreaterThan(0)
      const exit = yield* Effect.exit(throttler.admit([demand("k", window(1, 1000), 2)]))
      expect(Exit.isFailure(exit)).toBe(true)
    }).pipe(Effect.provide(Throttler.layerMemory())))
})

describe("Throttler: synchronous entry points over an in-memory store", () => {
  /**
   * The built-in throttler's direct operations, read as synchronous ones: `tryAdmit` answers the
   * permit, `undefined`, or the error it dies with; `feedback` says whether the answer was done at
   * once (`false`: it waits on an Effect, here never run).
   */
  const syncOf = (throttler: Throttler.ThrottlerService) => {
    const direct = runner.directOf(throttler)
    if (direct === undefined) return undefined
    return {
      tryAdmit: (demands: ReadonlyArray<Demand>, options: Throttler.AdmitOptions) => {
        const step = direct.tryAdmit(demands, options)
        if (!Effect.isEffect(step)) return step
        const exit = Effect.runSyncExit(step)
        return Exit.isSuccess(exit) ? exit.value : Cause.squash(exit.cause) as ThrottleError
      },
      settle: (permit: Throttler.Permit) => {
        if (Effect.isEffect(direct.settle(permit))) throw new Error("settle waited on an Effect")
      },
      feedback: (response: ThrottleFeedback.Response, demands: ReadonlyArray<Demand>) =>
        !Effect.isEffect(direct.feedbackAll([{ response, demands }]))
    }
  }

  it.effect("tryAdmit admits now what fits, refuses what does not, and settle gives the permits back to a waiter", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const sync = syncOf(throttler)!
        const permits = ConcurrencyLimit.make({ permits: 2 })
        const mailbox = [demand("mbx/a", permits, 2), demand("rate/a", window(10, 1000))]
        const first = sync.tryAdmit(mailbox, {})
        expect(first !== undefined && "entries" in first).toBe(true)
        expect(sync.tryAdmit([demand("mbx/a", permits)], {})).toBeUndefined()
        // a request that can never fit is refused with its error, not queued
        const error = sync.tryAdmit([demand("rate/a", window(10, 1000), 11)], {})
        expect(error !== undefined && !("entries" in error) ? error._tag : undefined).toBe("CostExceedsCapacity")
        const waiting = yield* admittedAt(throttler, [demand("mbx/a", permits)])
        yield* TestClock.adjust(5)
        expect(yield* Fiber.poll(waiting)).toEqual(Option.none())
        sync.settle(first as Throttler.Permit)
        expect((yield* Fiber.join(waiting)).at).toBe(5)
        // settling twice gives back nothing more
        sync.settle(first as Throttler.Permit)
        expect(sync.tryAdmit([demand("mbx/a", permits, 2)], {})).toBeUndefined()
      })))

  it.effect("settle dates a window's units from the answer, as answered does", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const sync = syncOf(throttler)!
        const rate = demand("rate/b", window(1, 1000))
        const permit = sync.tryAdmit([rate], {}) as Throttler.Permit
        yield* TestClock.adjust(600)
        sync.settle(permit)
        // taken at 0 but answered at 600: counted until 1600
        const next = yield* admittedAt(throttler, [rate])
        yield* TestClock.adjust(999)
        expect(yield* Fiber.poll(next)).toEqual(Option.none())
        yield* TestClock.adjust(1)
        expect((yield* Fiber.join(next)).at).toBe(1600)
      })))

  it.effect("feedback is done now for a plain success, and left alone (nothing changed) for a 429 that steps the backoff", () =>
    withThrottler((throttler, store) =>
      Effect.gen(function*() {
        const sync = syncOf(throttler)!
        const mailbox = demand("outlook/carol", window(100, 600_000))
        expect(sync.feedback({ status: 200, headers: {} }, [mailbox])).toBe(true)
        // without Retry-After the backoff schedule is stepped, which is an Effect, here never run
        expect(sync.feedback({ status: 429, headers: {} }, [mailbox])).toBe(false)
        // the 429 paused nothing: the mailbox is admitted at once
        expect((yield* Fiber.join(yield* admittedAt(throttler, [mailbox]))).at).toBe(0)
        const result = yield* throttler.feedback({ status: 429, headers: { "retry-after": "3" } }, [mailbox])
        expect(Option.isSome(result.paused)).toBe(true)
        const lowered = yield* store.factor("outlook/carol")
        expect(lowered).toBeLessThan(1)
        // a success once a clean window (10 minutes after the pause) has passed raises the limit, now
        yield* TestClock.adjust("604 seconds")
        sync.feedback({ status: 200, headers: {} }, [mailbox])
        expect(yield* store.factor("outlook/carol")).toBeGreaterThan(lowered)
      })))

  it.effect("a success without throttling headers restores its buckets as a success read in full does", () =>
    Effect.gen(function*() {
      // one throttler gets a bare 200 (the quiet path); the other a 200 whose only throttling header
      // is an empty x-ms-throttle-information (read in full, same signals)
      const raise = (headers: Record<string, string>) =>
        withThrottler((throttler, store) =>
          Effect.gen(function*() {
            const sync = syncOf(throttler)!
            const mailbox = demand("outlook/dave", window(100, 600_000))
            yield* throttler.feedback({ status: 429, headers: {} }, [mailbox])
            const lowered = yield* store.factor("outlook/dave")
            // a clean window after the backoff (at most 1.2 s)
            yield* TestClock.adjust("602 seconds")
            expect(sync.feedback({ status: 204, headers }, [mailbox])).toBe(true)
            const raised = yield* store.factor("outlook/dave")
            // a 404 without headers changes nothing
            expect(sync.feedback({ status: 404, headers }, [mailbox])).toBe(true)
            expect(yield* store.factor("outlook/dave")).toBe(raised)
            return { lowered, raised }
          })
        )
      const quiet = yield* raise({ "content-type": "application/json" })
      const full = yield* raise({ "content-type": "application/json", "x-ms-throttle-information": " " })
      expect(quiet.raised).toBeGreaterThan(quiet.lowered)
      expect(quiet).toEqual(full)
    }))

  it.effect("sync feedback still reads throttling headers in any case: they pause, charge or leave it to the full path", () =>
    withThrottler((throttler) =>
      Effect.gen(function*() {
        const sync = syncOf(throttler)!
        const d = demand("svc/a", window(100, 60_000))
        // a slowdown hint the client's own load does not explain needs a schedule
        expect(sync.feedback({ status: 200, headers: { "X-MS-Throttle-Limit-Percentage": "1.5" } }, [d])).toBe(false)
        expect(sync.feedback({ status: 200, headers: { "ratelimit-limit": "10", "RATELIMIT-REMAINING": "0" } }, [d]))
          .toBe(false)
        // a 503's Retry-After pause steps no schedule: done now
        expect(sync.feedback({ status: 503, headers: { "RETRY-AFTER": "2" } }, [d])).toBe(true)
        expect(sync.feedback({ status: 503, headers: {} }, [d])).toBe(true)
        // a reported resource-unit cost above the estimate is charged to the bucket
        const identity = { service: "identityAccess", scope: "appTenant" } as const
        const ru = demand("id/ru", tokens(10, 1), 1, { ...identity, ...resourceUnits, entryId: "identityAccess.appTenant.resourceUnits.S" })
        yield* throttler.admit([ru])
        expect(sync.feedback({ status: 200, headers: { "X-Ms-Resource-Unit": "5" } }, [ru])).toBe(true)
        // 10 - 1 - 4 = 5 units left: a cost of 6 waits one second
        const big = yield* admittedAt(throttler, [demand("id/ru", tokens(10, 1), 6, identity)])
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(big)).at).toBe(1000)
      })))

  it.effect("a throttler over a store that is not the in-memory one answers its direct operations through Effects", () =>
    Effect.scoped(Effect.gen(function*() {
      const memory = yield* QuotaStore.makeMemory()
      // a copy is not the store `makeMemory` built: it is driven through its Effects
      const remote: QuotaStore.QuotaStoreService = { ...memory }
      const throttler = yield* Throttler.make().pipe(Effect.provideService(QuotaStore.QuotaStore, remote))
      const direct = runner.directOf(throttler)!
      expect(Effect.isEffect(direct.tryAdmit([demand("k", window(1, 1000))], {}))).toBe(true)
      // a 429 pauses through the store (a success on a bucket never lowered asks the store nothing)
      expect(Effect.isEffect(direct.feedbackAll([{ response: { status: 429, headers: { "retry-after": "1" } }, demands: [demand("k", window(1, 1000))] }])))
        .toBe(true)
    })))
})
