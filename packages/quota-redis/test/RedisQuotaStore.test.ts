import { Bucket, QuotaStore, Throttler } from "@effect-msgraph/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, ConfigProvider, Effect, Exit, Fiber, Layer, Logger, Option, Scope } from "effect"
import { Redis } from "ioredis"
import * as RedisQuotaStore from "../src/RedisQuotaStore.js"
import { startRedis, startRedisWith, whenRedis } from "./redisServer.js"
import { freshNamespace, useRedis } from "./target.js"

const { ConcurrencyLimit, Demand, TokenBucketLimit, WindowLimit } = Bucket
const entry = (key: string, limit: QuotaStore.Entry["limit"], cost = 1): QuotaStore.Entry => ({ key, limit, cost })
const HOUR = 3_600_000

/** Real time, for what happens in Redis's own clock (lease expiry, key expiry). */
const sleep = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Takes until admitted, `every` ms apart, at most `times` tries; the outcomes seen on the way. */
const takeUntilTaken = (store: QuotaStore.QuotaStoreService, entries: ReadonlyArray<QuotaStore.Entry>, every: number, times: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < times; i++) {
      if ((yield* store.take(entries, Date.now()))._tag === "Taken") return i
      yield* sleep(every)
    }
    return -1
  })

/** A clock `offset` ms away from the real one: a process whose clock is wrong. */
const skewed = (offset: number): Clock.Clock => {
  const clock = Clock.make()
  return {
    ...clock,
    unsafeCurrentTimeMillis: () => Date.now() + offset,
    currentTimeMillis: Effect.sync(() => Date.now() + offset),
    unsafeCurrentTimeNanos: () => BigInt(Date.now() + offset) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(Date.now() + offset) * 1_000_000n)
  }
}

whenRedis(() => {
  const redis = useRedis()
  const store = (options: RedisQuotaStore.RedisQuotaStore.Options = {}) =>
    Effect.orDie(RedisQuotaStore.make({ client: redis.client!, ...options }))

  describe("RedisQuotaStore: time", () => {
    it.live("dates buckets by the Redis server's clock: a process hours ahead still finds the window full", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const honest = yield* store({ namespace })
        const ahead = yield* store({ namespace })
        const w = WindowLimit.make({ limit: 3, windowMillis: 60_000 })
        expect(yield* honest.take([entry("w", w, 3)], Date.now())).toEqual({ _tag: "Taken" })
        // three hours on in its own clock: the window would have emptied long ago if its clock counted
        const now = Date.now() + 3 * HOUR
        const outcome = yield* ahead.take([entry("w", w)], now)
        expect(outcome).toMatchObject({ _tag: "Blocked", keys: ["w"] })
        // the retry instant comes back in the caller's own clock: within one window of its now
        const retryAt = (outcome as QuotaStore.Blocked).retryAtMillis!
        expect(retryAt).toBeGreaterThan(now)
        expect(retryAt).toBeLessThanOrEqual(now + 60_000 + 1)
        // and a process hours behind does not see the units as taken in its future
        const behind = yield* store({ namespace })
        expect(yield* behind.take([entry("w", w)], Date.now() - 3 * HOUR)).toMatchObject({ _tag: "Blocked" })
      })))

    // Found by the Throttler property over Redis on a loaded machine: Redis expired a window's key by
    // its own clock while virtual time stood still, so the same instant found the window empty.
    it.live("with the caller's clock, real time passing in Redis does not empty a bucket the caller's clock still counts", () =>
      Effect.scoped(Effect.gen(function*() {
        const s = yield* store({ namespace: freshNamespace(), clock: "caller" })
        const w = WindowLimit.make({ limit: 3, windowMillis: 50 })
        const t = TokenBucketLimit.make({ capacity: 2, refillPerSecond: 20 })
        const now = 1_000
        expect(yield* s.take([entry("w", w, 3), entry("t", t, 2)], now)).toEqual({ _tag: "Taken" })
        // longer, in Redis's clock, than the window and the token bucket's refill
        yield* sleep(200)
        expect(yield* s.take([entry("w", w)], now)).toEqual({ _tag: "Blocked", retryAtMillis: now + 50, keys: ["w"] })
        expect(yield* s.take([entry("t", t)], now)).toEqual({ _tag: "Blocked", retryAtMillis: now + 50, keys: ["t"] })
        // and the caller's clock still empties them
        expect(yield* s.take([entry("w", w, 3), entry("t", t, 2)], now + 100)).toEqual({ _tag: "Taken" })
      })))

    it.live("two Throttlers whose clocks are three hours apart admit no more than a window's limit between them", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const limit = WindowLimit.make({ limit: 5, windowMillis: 60_000 })
        const demand = Demand.make({
          key: "app/tenant",
          entryId: "e",
          service: "outlook",
          scope: "appTenant",
          limit,
          cost: 1,
          retryAfter: true
        })
        const throttlerOn = (clock: Clock.Clock) =>
          Effect.gen(function*() {
            const scope = yield* Effect.scope
            const quota = yield* store({ namespace })
            return yield* Throttler.make().pipe(
              Effect.provideService(QuotaStore.QuotaStore, quota),
              Effect.withClock(clock),
              Scope.extend(scope)
            )
          })
        const honest = yield* throttlerOn(skewed(0))
        const ahead = yield* throttlerOn(skewed(3 * HOUR))
        let admitted = 0
        for (let i = 0; i < 6; i++) {
          for (const throttler of [honest, ahead]) {
            const permit = yield* throttler.tryAdmit([demand])
            if (Option.isSome(permit)) admitted++
          }
        }
        expect(admitted).toBe(5)
      })))
  })

  describe("RedisQuotaStore: concurrency leases", () => {
    it.live("a blocked permit is polled for: the retry instant is at most permitPollMillis away", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const a = yield* store({ namespace })
        const b = yield* store({ namespace, permitPollMillis: 40 })
        const c = ConcurrencyLimit.make({ permits: 2 })
        expect(yield* a.take([entry("c", c, 2)], Date.now())).toEqual({ _tag: "Taken" })
        const now = Date.now()
        const blocked = yield* b.take([entry("c", c)], now)
        expect(blocked).toMatchObject({ _tag: "Blocked", keys: ["c"] })
        expect((blocked as QuotaStore.Blocked).retryAtMillis).toBeLessThanOrEqual(now + 41)
        // a release in another process is seen on the next poll
        yield* a.release([entry("c", c, 2)], Date.now())
        expect(yield* b.take([entry("c", c)], Date.now())).toEqual({ _tag: "Taken" })
      })))

    it.live("a process that dies holding permits gives them back when its lease expires", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const c = ConcurrencyLimit.make({ permits: 2 })
        // the dying process has a connection of its own, cut before its scope could give anything back
        const own = new Redis(redis.server!.url)
        const dying = yield* Scope.make()
        const doomed = yield* Effect.orDie(RedisQuotaStore.make({ client: own, namespace, leaseMillis: 1000 })).pipe(
          Scope.extend(dying)
        )
        expect(yield* doomed.take([entry("c", c)], Date.now())).toEqual({ _tag: "Taken" })
        // a live process holds the other permit and renews it, so the bucket itself stays
        const survivor = yield* store({ namespace, leaseMillis: 300, permitPollMillis: 20 })
        expect(yield* survivor.take([entry("c", c)], Date.now())).toEqual({ _tag: "Taken" })
        own.disconnect()
        yield* Scope.close(dying, Exit.void)
        expect(yield* survivor.take([entry("c", c)], Date.now())).toMatchObject({ _tag: "Blocked" })
        // the dead one's lease is 1 s: polled every 100 ms, its permit is back within 3 s
        expect(yield* takeUntilTaken(survivor, [entry("c", c)], 100, 30)).toBeGreaterThan(0)
        // and only that one: the survivor's own permit is still held
        expect(yield* survivor.take([entry("c", c)], Date.now())).toMatchObject({ _tag: "Blocked" })
      })))

    it.live("token units in flight from a process that died stop holding the refill back when its lease ends", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const t = TokenBucketLimit.make({ capacity: 10, refillPerSecond: 1 })
        const options = { namespace, clock: "caller" as const, unitsInFlight: true, leaseMillis: 1000 }
        const doomed = yield* store(options)
        const survivor = yield* store(options)
        // the whole bucket in flight, never answered: the process died with its requests
        expect(yield* doomed.take([entry("t", t, 10)], 0)).toEqual({ _tag: "Taken" })
        expect(yield* survivor.take([entry("t", t)], 900)).toMatchObject({ _tag: "Blocked", keys: ["t"] })
        // its lease ended at 1000: the refill is no longer capped by its units
        expect(yield* survivor.take([entry("t", t)], 1500)).toEqual({ _tag: "Taken" })
      })))

    it.live("a live process renews its leases: its permits stay taken well past the lease", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const c = ConcurrencyLimit.make({ permits: 1 })
        const holder = yield* store({ namespace, leaseMillis: 300 })
        const other = yield* store({ namespace })
        expect(yield* holder.take([entry("c", c)], Date.now())).toEqual({ _tag: "Taken" })
        // four leases long: renewal every 100 ms keeps the permit
        for (let i = 0; i < 6; i++) {
          yield* sleep(200)
          expect(yield* other.take([entry("c", c)], Date.now())).toMatchObject({ _tag: "Blocked" })
        }
        yield* holder.release([entry("c", c)], Date.now())
        expect(yield* other.take([entry("c", c)], Date.now())).toEqual({ _tag: "Taken" })
      })))
  })

  describe("RedisQuotaStore: answers ending flights", () => {
    /** Script calls Redis has run since the last reset. */
    const scriptCalls = Effect.promise(async () => {
      const stats = String(await redis.client!.info("commandstats"))
      return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
    })
    const resetStats = Effect.promise(() => redis.client!.config("RESETSTAT"))
    const w = WindowLimit.make({ limit: 1, windowMillis: 60_000 })

    it.live("an answer goes with the store's next call: answer and take cost one round trip, and the units are dated at the answer", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const s = yield* store({ namespace, unitsInFlight: true })
        const other = yield* store({ namespace, unitsInFlight: true })
        expect(yield* s.take([entry("w", w)], Date.now())).toEqual({ _tag: "Taken" })
        yield* resetStats
        const answeredAt = Date.now()
        yield* s.adjust([entry("w", w)], { _tag: "Redate", takenAtMillis: answeredAt }, answeredAt)
        expect(yield* s.take([entry("w", w)], Date.now())).toMatchObject({ _tag: "Blocked" })
        expect(yield* scriptCalls).toBe(1)
        // dated at the answer, not floating: the other process waits for the window, not for a poll
        const now = Date.now()
        const blocked = yield* other.take([entry("w", w)], now)
        expect((blocked as QuotaStore.Blocked).retryAtMillis).toBeGreaterThan(now + 59_000)
        expect((blocked as QuotaStore.Blocked).retryAtMillis).toBeLessThanOrEqual(answeredAt + 60_000 + 50)
      })))

    it.live("an answer with no call after it reaches Redis on its own within 10 ms, and a closing store sends the ones left", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const other = yield* store({ namespace, unitsInFlight: true })
        const waits = (key: string) =>
          Effect.map(other.take([entry(key, w)], Date.now()), (outcome) =>
            (outcome as QuotaStore.Blocked).retryAtMillis! - Date.now())
        const s = yield* store({ namespace, unitsInFlight: true })
        expect(yield* s.take([entry("alone", w)], Date.now())).toEqual({ _tag: "Taken" })
        // floating: another process polls
        expect(yield* waits("alone")).toBeLessThanOrEqual(51)
        yield* s.adjust([entry("alone", w)], { _tag: "Redate", takenAtMillis: Date.now() }, Date.now())
        yield* sleep(60)
        expect(yield* waits("alone")).toBeGreaterThan(59_000)
        // closed right after the answer, before the 10 ms
        const closing = yield* Scope.make()
        const brief = yield* store({ namespace, unitsInFlight: true }).pipe(Scope.extend(closing))
        expect(yield* brief.take([entry("closing", w)], Date.now())).toEqual({ _tag: "Taken" })
        yield* brief.adjust([entry("closing", w)], { _tag: "Redate", takenAtMillis: Date.now() }, Date.now())
        yield* Scope.close(closing, Exit.void)
        expect(yield* waits("closing")).toBeGreaterThan(59_000)
      })))
  })

  describe("RedisQuotaStore: keys", () => {
    it.live("keys carry the namespace's hash tag, and idle buckets expire by themselves", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const s = yield* store({ namespace })
        const client = redis.client!
        const w = WindowLimit.make({ limit: 10, windowMillis: 300 })
        const t = TokenBucketLimit.make({ capacity: 4, refillPerSecond: 20 })
        const keys = ["outlook/mailbox/app/alice@contoso.com", "identity/app/tenant"]
        expect(keys.map(s.redisKey)).toEqual(keys.map((k) => `{${namespace}}:${k}`))
        expect(yield* s.take([entry(keys[0]!, w, 3), entry(keys[1]!, t, 4)], Date.now())).toEqual({ _tag: "Taken" })
        const ttl = yield* Effect.promise(() => Promise.all(keys.map((k) => client.pttl(s.redisKey(k)))))
        // the window's run leaves after 300 ms; the token bucket is full again after 200 ms
        expect(ttl[0]).toBeGreaterThan(0)
        expect(ttl[0]).toBeLessThanOrEqual(302)
        expect(ttl[1]).toBeGreaterThan(0)
        expect(ttl[1]).toBeLessThanOrEqual(202)
        yield* sleep(450)
        expect(yield* Effect.promise(() => client.exists(...keys.map(s.redisKey)))).toBe(0)
      })))

    it.live("a window stored by the previous version, every run in its array, counts all its runs", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const s = yield* store({ namespace })
        const w = WindowLimit.make({ limit: 5, windowMillis: 60_000 })
        // [kind, units, last, pausedUntil, factor, adaptedAt, (date, units)...], dated by Redis's clock
        const old = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local s = { 0, 0, 0, 0, 1, 0 }
for i = 1, #ARGV, 2 do
  s[#s + 1] = now - tonumber(ARGV[i])
  s[#s + 1] = tonumber(ARGV[i + 1])
  s[2] = s[2] + tonumber(ARGV[i + 1])
end
redis.call('SET', KEYS[1], cmsgpack.pack(s), 'PX', 60000)`
        const write = (key: string, runs: ReadonlyArray<number>) =>
          Effect.promise(() => redis.client!.eval(old, 1, s.redisKey(key), ...runs))
        const waits = (key: string, cost: number) =>
          Effect.map(s.take([entry(key, w, cost)], Date.now()), (outcome) =>
            outcome._tag === "Blocked" ? outcome.retryAtMillis! - Date.now() : 0)
        // two runs: ten values, as long as the new layout's array
        yield* write("two", [2000, 2, 1000, 3])
        const two = yield* waits("two", 1)
        expect(two).toBeGreaterThan(57_000)
        expect(two).toBeLessThanOrEqual(58_100)
        // three runs, 3 units: 2 more fit, then the oldest run must leave
        yield* write("three", [3000, 1, 2000, 1, 1000, 1])
        expect(yield* waits("three", 2)).toBe(0)
        const three = yield* waits("three", 1)
        expect(three).toBeGreaterThan(56_000)
        expect(three).toBeLessThanOrEqual(57_100)
      })))

    it.live("a busy sliding window of 20 sub-windows takes under 400 bytes of Redis memory", () =>
      Effect.scoped(Effect.gen(function*() {
        const namespace = freshNamespace()
        const s = yield* store({ namespace })
        const w = WindowLimit.make({ limit: 10_000, windowMillis: 600_000 })
        // runs in many sub-windows: the worst case for a window
        const start = Date.now()
        for (let i = 0; i < 30; i++) {
          yield* s.take([entry("w", w)], start + i * 40_000)
          yield* sleep(1)
        }
        const used = yield* Effect.promise(() => redis.client!.memory("USAGE", s.redisKey("w")))
        expect(used).toBeGreaterThan(0)
        expect(used).toBeLessThan(400)
      })))
  })

  describe("RedisQuotaStore: failures", () => {
    it.live("an unreachable Redis fails take with QuotaStoreError once maxWaitMillis has passed, and admits nothing", () =>
      Effect.scoped(Effect.gen(function*() {
        // a port nothing listens on: a server started and stopped
        const gone = yield* Effect.promise(startRedis)
        yield* Effect.promise(gone.stop)
        const s = yield* Effect.orDie(RedisQuotaStore.make({ url: gone.url, timeoutMillis: 200, maxWaitMillis: 400 }))
        const error = yield* Effect.flip(s.take([entry("w", WindowLimit.make({ limit: 1, windowMillis: 1000 }))], Date.now()))
        expect(error).toBeInstanceOf(QuotaStore.QuotaStoreError)
        expect(error.operation).toBe("take")
      })))

    it.live("a Redis that stops answering fails with QuotaStoreError after timeoutMillis; waiting, the store resumes when it answers again", () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(Effect.promise(startRedis), (s) => Effect.promise(s.stop))
        const w = WindowLimit.make({ limit: 100, windowMillis: 60_000 })
        const bounded = yield* Effect.orDie(RedisQuotaStore.make({ url: server.url, timeoutMillis: 150, maxWaitMillis: 300 }))
        const waiting = yield* Effect.orDie(RedisQuotaStore.make({ url: server.url, timeoutMillis: 150 }))
        server.freeze()
        const failed = yield* Effect.flip(bounded.take([entry("w", w)], Date.now()))
        expect(failed).toBeInstanceOf(QuotaStore.QuotaStoreError)
        expect(failed.operation).toBe("take")
        // the default fails closed: it keeps trying, admitting nothing, until Redis answers
        const fiber = yield* Effect.fork(waiting.take([entry("w", w)], Date.now()))
        yield* sleep(600)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        server.thaw()
        expect(yield* Fiber.join(fiber)).toEqual({ _tag: "Taken" })
        // the call that timed out still ran once Redis woke: its unit counts though nothing was sent
        // (conservative), so with two units counted, 99 more do not fit
        expect(yield* waiting.take([entry("w", w, 99)], Date.now())).toMatchObject({ _tag: "Blocked" })
      })))

    it.live("with onUnavailable: fallback, an unreachable Redis gives per-process limits and a loud warning without the password", () =>
      Effect.gen(function*() {
        const gone = yield* Effect.promise(startRedis)
        yield* Effect.promise(gone.stop)
        const logs: Array<string> = []
        const logger = Logger.make(({ message }) => void logs.push(String(message)))
        const url = `redis://msgraph:s3cret-password@127.0.0.1:${gone.port}`
        yield* Effect.scoped(Effect.gen(function*() {
          const s = yield* Effect.orDie(RedisQuotaStore.make({ url, timeoutMillis: 200, onUnavailable: "fallback" }))
          const w = WindowLimit.make({ limit: 1, windowMillis: 60_000 })
          expect(yield* s.take([entry("w", w)], Date.now())).toEqual({ _tag: "Taken" })
          expect(yield* s.fallingBack).toBe(true)
          // the limit still holds within this process
          expect(yield* s.take([entry("w", w)], Date.now())).toMatchObject({ _tag: "Blocked" })
        })).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        const warning = logs.find((l) => l.includes("QUOTA STORE FALLBACK"))
        expect(warning).toBeDefined()
        expect(warning).toContain(`127.0.0.1:${gone.port}`)
        expect(logs.join("\n")).not.toContain("s3cret-password")
      }))

    it.live("a Redis that refuses the URL's credentials: the warning says why (WRONGPASS, NOAUTH), never the password", () =>
      Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => startRedisWith(["--requirepass", "the-right-one"])),
          (s) => Effect.promise(s.stop)
        )
        const logs: Array<string> = []
        const logger = Logger.make(({ message }) => void logs.push(String(message)))
        const w = WindowLimit.make({ limit: 1, windowMillis: 1000 })
        for (const [url, reason] of [
          [`redis://msgraph:s3cret-password@127.0.0.1:${server.port}`, "WRONGPASS"],
          [`redis://127.0.0.1:${server.port}`, "NOAUTH"]
        ] as const) {
          logs.length = 0
          yield* Effect.scoped(Effect.gen(function*() {
            const s = yield* Effect.orDie(RedisQuotaStore.make({ url, timeoutMillis: 200, maxWaitMillis: 300 }))
            // the connection has tried to log in by now
            yield* sleep(300)
            const error = yield* Effect.flip(s.take([entry("w", w)], Date.now()))
            expect(error).toBeInstanceOf(QuotaStore.QuotaStoreError)
          })).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
          expect(logs.join("\n")).toContain(reason)
          expect(logs.join("\n")).not.toContain("s3cret-password")
        }
      }).pipe(Effect.scoped))

    it.effect("rejects a URL that is not redis:// and a namespace with a brace, with nothing sent", () =>
      Effect.gen(function*() {
        const url = yield* Effect.flip(Effect.scoped(RedisQuotaStore.make({ url: "http://127.0.0.1:6379" })))
        expect(url).toMatchObject({ _tag: "InvalidRedisOptions", option: "url" })
        const namespace = yield* Effect.flip(Effect.scoped(RedisQuotaStore.make({ namespace: "a{b}" })))
        expect(namespace).toMatchObject({ _tag: "InvalidRedisOptions", option: "namespace" })
      }))
  })

  describe("RedisQuotaStore.layerConfig", () => {
    it.live("reads MSGRAPH_REDIS_URL and provides the QuotaStore", () =>
      Effect.gen(function*() {
        const namespace = freshNamespace()
        const w = WindowLimit.make({ limit: 1, windowMillis: 60_000 })
        const outcome = yield* Effect.flatMap(QuotaStore.QuotaStore, (s) => s.take([entry("w", w)], Date.now())).pipe(
          Effect.provide(
            RedisQuotaStore.layerConfig({ namespace }).pipe(
              Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["MSGRAPH_REDIS_URL", redis.server!.url]]))))
            )
          )
        )
        expect(outcome).toEqual({ _tag: "Taken" })
        expect(yield* Effect.promise(() => redis.client!.exists(`{${namespace}}:w`))).toBe(1)
      }))
  })
})
