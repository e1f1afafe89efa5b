/**
 * The Redis store's machinery: options checked into settings, the connection, the script call, the
 * lease book (which permits this process holds in Redis, for renewal and release) and the failure
 * policy (wait and retry, or fall back to an in-process store).
 *
 * @internal
 */
import { QuotaStore } from "@effect-msgraph/core"
import { Clock, Duration, Effect, Either, Schedule } from "effect"
import type * as Scope from "effect/Scope"
import { type Cluster, Redis } from "ioredis"
import { createHash, randomBytes } from "node:crypto"
import type { RedisQuotaStore } from "../RedisQuotaStore.js"
import { ANSWER, HEADER, luaFor, Op } from "./script.js"

type Entry = QuotaStore.Entry
type Operation = QuotaStore.QuotaStoreError["operation"]

/** @internal */
export interface Settings {
  readonly url: string
  readonly client: Redis | Cluster | undefined
  readonly namespace: string
  readonly leaseMillis: number
  readonly permitPollMillis: number
  readonly timeoutMillis: number
  readonly onUnavailable: "wait" | "fallback"
  readonly maxWaitMillis: number
  readonly fallbackMillis: number
  readonly clock: "redis" | "caller"
  readonly memory: QuotaStore.QuotaStore.MemoryOptions
  readonly windowSlots: number
  readonly adaptiveMemoryMillis: number
  readonly tokenReserveMillis: number
  readonly unitsInFlight: boolean
}

/** @internal */
export const defaults = {
  url: "redis://127.0.0.1:6379",
  namespace: "msgraph",
  leaseMillis: 30_000,
  permitPollMillis: 50,
  timeoutMillis: 1000,
  fallbackMillis: 5000,
  windowSlots: 20,
  adaptiveMemoryMillis: 10 * 60_000
} as const

const positive = (n: number) => Number.isFinite(n) && n > 0

/** @internal */
export const validate = (
  options: RedisQuotaStore.Options
): Effect.Effect<Settings, { readonly option: string; readonly detail: string }> =>
  Effect.suspend(() => {
    const bad = (option: string, detail: string) => Effect.fail({ option, detail })
    const url = options.url ?? defaults.url
    if (options.client === undefined && !isRedisUrl(url)) {
      return bad("url", "expected redis://host:port or rediss://host:port")
    }
    const namespace = options.namespace ?? defaults.namespace
    if (namespace === "" || /[{}]/.test(namespace)) return bad("namespace", "must be non-empty and contain no brace")
    const durations = {
      leaseMillis: options.leaseMillis ?? defaults.leaseMillis,
      permitPollMillis: options.permitPollMillis ?? defaults.permitPollMillis,
      timeoutMillis: options.timeoutMillis ?? defaults.timeoutMillis,
      fallbackMillis: options.fallbackMillis ?? defaults.fallbackMillis,
      maxWaitMillis: options.maxWaitMillis ?? Infinity
    }
    for (const [name, value] of Object.entries(durations)) {
      if (!(value === Infinity || positive(value)) || (name !== "maxWaitMillis" && value === Infinity)) {
        return bad(name, "must be a positive number of milliseconds")
      }
    }
    const windowSlots = options.windowSlots ?? defaults.windowSlots
    if (!Number.isInteger(windowSlots) || windowSlots < 1) return bad("windowSlots", "must be a positive integer")
    const { adaptiveMemoryMillis: _a, tokenReserveMillis: _t, unitsInFlight: _f, windowSlots: _w } = options
    return Effect.succeed<Settings>({
      url,
      client: options.client,
      namespace,
      ...durations,
      onUnavailable: options.onUnavailable ?? "wait",
      clock: options.clock ?? "redis",
      memory: {
        windowSlots,
        ...(_a === undefined ? {} : { adaptiveMemoryMillis: _a }),
        ...(_t === undefined ? {} : { tokenReserveMillis: _t }),
        ...(_f === undefined ? {} : { unitsInFlight: _f })
      },
      windowSlots,
      adaptiveMemoryMillis: options.adaptiveMemoryMillis ?? defaults.adaptiveMemoryMillis,
      tokenReserveMillis: options.tokenReserveMillis ?? 0,
      unitsInFlight: options.unitsInFlight ?? false
    })
  })

/** @internal */
export const isRedisUrl = (url: string): boolean => {
  try {
    const parsed = new URL(url)
    return (parsed.protocol === "redis:" || parsed.protocol === "rediss:") && parsed.hostname !== ""
  } catch {
    return false
  }
}

/** `host:port` of a URL, without credentials: what logs may show. @internal */
export const redactedTarget = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return "redis"
  }
}

type Reply = unknown
type Scripted = (numKeys: number, ...args: Array<string | number>) => Promise<Reply>

/** A permit count this process holds in Redis on one bucket. */
interface Held {
  readonly entry: Entry
  count: number
}

const kindOf = (entry: Entry): number =>
  entry.limit._tag === "Window" ? 0 : entry.limit._tag === "TokenBucket" ? 1 : 2

const capacityOf = (entry: Entry): number =>
  entry.limit._tag === "Window"
    ? entry.limit.limit
    : entry.limit._tag === "TokenBucket"
    ? entry.limit.capacity
    : entry.limit.permits

const rateOf = (entry: Entry): number =>
  entry.limit._tag === "Window"
    ? entry.limit.windowMillis
    : entry.limit._tag === "TokenBucket"
    ? entry.limit.refillPerSecond / 1000
    : 0

const taken: QuotaStore.Taken = { _tag: "Taken" }

/**
 * The answers that ended flights on one bucket, not yet told to Redis: their units, and the latest
 * instant they are dated at (a window's: the redate's, see `QuotaStore.Adjustment`; a token bucket's:
 * the answer).
 */
interface Answer {
  readonly entry: Entry
  readonly cost: number
  readonly answeredAt: number
}

const noAnswers: ReadonlyArray<Answer> = []

/** When a redate dates window units: `datedAtMillis` taken within `[takenAtMillis, now]`, or now. */
const windowDate = (adjustment: Extract<QuotaStore.Adjustment, { readonly _tag: "Redate" }>, nowMillis: number): number => {
  const asked = adjustment.datedAtMillis ?? nowMillis
  return Math.min(nowMillis, Math.max(adjustment.takenAtMillis, asked))
}

/** At most how long an answer waits for another call to go with (less if `permitPollMillis` is). */
const ANSWER_FLUSH_MILLIS = 10

const backoff = Schedule.exponential(Duration.millis(100), 2).pipe(Schedule.either(Schedule.spaced(Duration.seconds(2))))

/** @internal */
export const make = (settings: Settings): Effect.Effect<RedisQuotaStore, never, Scope.Scope> =>
  Effect.gen(function*() {
    const own = settings.client === undefined ? yield* connect(settings) : undefined
    const client = settings.client ?? own!.client
    // one command per script text: stores with other settings may share this client
    const lua = luaFor(settings)
    const command = `msgraphQuota${createHash("sha1").update(lua).digest("hex").slice(0, 12)}`
    client.defineCommand(command, { lua })
    const script = (client as unknown as Record<string, Scripted>)[command]!.bind(client)
    // 96 random bits: unique among the processes that share a quota, and short to store and compare
    const owner = randomBytes(12).toString("base64url")
    // whether each call carries the caller's instant (virtual time in tests)
    const callerClock = settings.clock === "caller"
    const prefix = `{${settings.namespace}}:`
    const redisKey = (key: string) => prefix + key
    const held = new Map<string, Held>()
    const fallback = yield* QuotaStore.makeMemory(settings.memory)
    const target = settings.client === undefined ? redactedTarget(settings.url) : "the given Redis client"
    let fallbackUntil = -Infinity
    let warnedWaiting = false
    // set when the scope closes: operations still waiting for Redis then fail rather than retry
    let closed = false
    /**
     * Answers seen (with `unitsInFlight`) and not yet told to Redis: each goes with this store's
     * next call, or on its own after `flushMillis`. In a busy process the next take follows an answer
     * at once, so most answers cost no round trip of their own. Answers on one bucket add up, dated
     * by the latest: a call carries one per bucket however many came (units dated later leave the
     * window later, and a bucket's refill waits a little longer: both only hold others back).
     */
    let answers = new Map<string, Answer>()
    const answer = (entry: Entry, cost: number, answeredAt: number) => {
      const found = answers.get(entry.key)
      if (found === undefined) answers.set(entry.key, { entry, cost, answeredAt })
      else answers.set(entry.key, { entry, cost: found.cost + cost, answeredAt: Math.max(found.answeredAt, answeredAt) })
    }
    let flushing = false
    const flushMillis = Math.min(ANSWER_FLUSH_MILLIS, settings.permitPollMillis)
    const scope = yield* Effect.scope

    /**
     * One script call: `op` over `entries`, with one operation parameter, carrying the answers seen
     * since the last call. If it fails, they wait for the next one.
     */
    const call = (
      operation: Operation,
      op: string,
      entries: ReadonlyArray<Entry>,
      nowMillis: number,
      p1 = 0
    ): Effect.Effect<Reply, QuotaStore.QuotaStoreError> =>
      Effect.suspend(() => {
        const carried = answers.size === 0 ? noAnswers : [...answers.values()]
        if (answers.size > 0) answers = new Map()
        return Effect.tryPromise({
          try: () => {
            const r = carried.length
            const n = entries.length
            const args = new Array<string | number>(r + n + HEADER + r * ANSWER + n * 4)
            for (let i = 0; i < r; i++) args[i] = prefix + carried[i]!.entry.key
            for (let i = 0; i < n; i++) args[r + i] = prefix + entries[i]!.key
            let at = r + n
            args[at++] = op
            args[at++] = callerClock ? nowMillis : ""
            args[at++] = owner
            args[at++] = p1
            args[at++] = r
            for (let i = 0; i < r; i++) {
              const { answeredAt, cost, entry } = carried[i]!
              args[at++] = kindOf(entry)
              args[at++] = capacityOf(entry)
              args[at++] = rateOf(entry)
              args[at++] = cost
              args[at++] = Math.max(0, nowMillis - answeredAt)
            }
            for (let i = 0; i < n; i++) {
              const entry = entries[i]!
              args[at++] = kindOf(entry)
              args[at++] = capacityOf(entry)
              args[at++] = rateOf(entry)
              args[at++] = entry.cost
            }
            const reply = script(r + n, ...args)
            // told to Redis unless the call fails, whatever becomes of the fiber that waits for it
            // (a take may be interrupted while its call runs)
            if (r > 0) {
              reply.catch(() => {
                for (const a of carried) answer(a.entry, a.cost, a.answeredAt)
              })
            }
            return reply
          },
          catch: (cause) => new QuotaStore.QuotaStoreError({ operation, cause })
        })
      })

    /**
     * Fail closed: on a failure, retry with backoff (100 ms doubling, at most 2 s apart) for up to
     * `maxWaitMillis`. The call that succeeds costs nothing more than the call itself. Only the waits
     * between attempts can be interrupted, even where the caller masks interruption (the client's
     * admission sweep does): nothing is held then, and a process that waits for Redis must still
     * stop on a signal or a deadline. Once the store is closed, it stops retrying.
     */
    const retrying = <A>(effect: Effect.Effect<A, QuotaStore.QuotaStoreError>, maxWaitMillis: number) =>
      Effect.catchAll(effect, (first) =>
        Effect.gen(function*() {
          if (!warnedWaiting) {
            warnedWaiting = true
            yield* Effect.logWarning(
              `quota store: Redis at ${target} failed during ${first.operation} (${explain(first.cause, own?.lastError())}); ` +
                `admitting nothing until it answers`
            )
          }
          const schedule = maxWaitMillis === Infinity ? backoff : backoff.pipe(Schedule.upTo(Duration.millis(maxWaitMillis)))
          const driver = yield* Schedule.driver(schedule)
          let error = first
          while (!closed) {
            const more = yield* Effect.either(Effect.interruptible(driver.next(error)))
            if (Either.isLeft(more) || closed) break
            const attempt = yield* Effect.either(effect)
            if (Either.isRight(attempt)) {
              warnedWaiting = false
              return attempt.right
            }
            error = attempt.left
          }
          return yield* Effect.fail(error)
        }))

    /**
     * Runs an operation against Redis under the failure policy. With `"fallback"`, `local` answers
     * while Redis is down (and for `fallbackMillis` after each failure).
     */
    const guarded = <A>(
      remote: Effect.Effect<A, QuotaStore.QuotaStoreError>,
      local: Effect.Effect<A, QuotaStore.QuotaStoreError>,
      maxWaitMillis = settings.maxWaitMillis
    ): Effect.Effect<A, QuotaStore.QuotaStoreError> => {
      if (settings.onUnavailable === "wait") return retrying(remote, maxWaitMillis)
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        now < fallbackUntil ? local : remote.pipe(
          Effect.catchAll((error) =>
            Effect.flatMap(Clock.currentTimeMillis, (at) => {
              const warn = fallbackUntil === -Infinity || at >= fallbackUntil
              fallbackUntil = at + settings.fallbackMillis
              return (warn
                ? Effect.logWarning(
                  `QUOTA STORE FALLBACK: Redis at ${target} failed during ${error.operation} ` +
                    `(${explain(error.cause, own?.lastError())}); this process now admits against its own in-memory ` +
                    `quota, NOT shared with other processes, and tries Redis again in ${settings.fallbackMillis} ms`
                )
                : Effect.void).pipe(Effect.zipRight(local))
            })
          )
        ))
    }

    const hold = (entries: ReadonlyArray<Entry>) => {
      for (const entry of entries) {
        if (entry.limit._tag !== "Concurrency") continue
        const found = held.get(entry.key)
        if (found === undefined) held.set(entry.key, { entry, count: entry.cost })
        else found.count += entry.cost
      }
    }

    const take = (entries: ReadonlyArray<Entry>, nowMillis: number): Effect.Effect<QuotaStore.TakeResult, QuotaStore.QuotaStoreError> =>
      guarded(
        Effect.flatMap(call("take", Op.take, entries, nowMillis), (reply) => {
          const outcome = decodeTake(reply, entries, nowMillis)
          if (outcome === undefined) {
            return Effect.fail(new QuotaStore.QuotaStoreError({ operation: "take", cause: new Error("unexpected reply") }))
          }
          if (outcome._tag === "Taken") hold(entries)
          return Effect.succeed(outcome)
        }),
        fallback.take(entries, nowMillis)
      )

    const release = (entries: ReadonlyArray<Entry>, nowMillis: number): Effect.Effect<void, QuotaStore.QuotaStoreError> =>
      Effect.suspend(() => {
        // permits taken from Redis go back to Redis; the rest were taken from the fallback
        const remote: Array<Entry> = []
        const local: Array<Entry> = []
        for (const entry of entries) {
          if (entry.limit._tag !== "Concurrency") continue
          const found = held.get(entry.key)
          if (found !== undefined && found.count >= entry.cost) {
            found.count -= entry.cost
            if (found.count <= 0) held.delete(entry.key)
            remote.push(entry)
          } else {
            local.push(entry)
          }
        }
        const back = local.length === 0 ? Effect.void : fallback.release(local, nowMillis)
        if (remote.length === 0) return back
        // past the lease the permits have come back anyway: never wait longer than that
        return Effect.zipRight(
          back,
          guarded(Effect.asVoid(call("release", Op.release, remote, nowMillis)), Effect.void, settings.leaseMillis)
        )
      })

    const pause = (entries: ReadonlyArray<Entry>, untilMillis: number, nowMillis: number) =>
      guarded(
        Effect.asVoid(call("pause", Op.pause, entries, nowMillis, untilMillis - nowMillis)),
        fallback.pause(entries, untilMillis, nowMillis)
      )

    const adjust = (entries: ReadonlyArray<Entry>, adjustment: QuotaStore.Adjustment, nowMillis: number) => {
      const local = fallback.adjust(entries, adjustment, nowMillis)
      switch (adjustment._tag) {
        case "Scale":
          return adjustment.factor > 0
            ? guarded(Effect.asVoid(call("adjust", Op.scale, entries, nowMillis, adjustment.factor)), local)
            : Effect.void
        case "Charge":
          return guarded(Effect.asVoid(call("adjust", Op.charge, entries, nowMillis)), local)
        case "Redate": {
          // with flights counted, every window and token bucket ends one; otherwise windows move only
          // when time has passed
          const moved = entries.filter((e) =>
            settings.unitsInFlight
              ? e.limit._tag !== "Concurrency"
              : e.limit._tag === "Window" && nowMillis > adjustment.takenAtMillis
          )
          if (moved.length === 0) return Effect.void
          // an answer that ends flights goes with the next call; a redate without flights moves units
          // earlier in the window, which must not wait
          if (settings.unitsInFlight) return answered(moved, nowMillis, windowDate(adjustment, nowMillis), local)
          return guarded(
              Effect.asVoid(call("adjust", Op.redate, moved, nowMillis, nowMillis - adjustment.takenAtMillis)),
              local
            )
        }
      }
    }

    /** Sends the answers still waiting, if no other call took them meanwhile. */
    const flush: Effect.Effect<void> = Effect.suspend(() => {
      flushing = false
      if (answers.size === 0) return Effect.void
      // once sent, not interrupted (a shutdown waits at most timeoutMillis for it); on failure they
      // stay for the next call, or for the shutdown's
      return Effect.uninterruptible(
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.ignore(call("adjust", Op.answers, [], now)))
      )
    })

    /**
     * Answers that end flights: kept for this store's next call (at most `flushMillis` away). While
     * falling back, the in-process store answers at once, as it took the units.
     */
    const answered = (
      entries: ReadonlyArray<Entry>,
      nowMillis: number,
      datedAt: number,
      local: Effect.Effect<void, QuotaStore.QuotaStoreError>
    ): Effect.Effect<void, QuotaStore.QuotaStoreError> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (now < fallbackUntil) return local
        // a window's units are dated as the redate asks; a token bucket's flight ends at the answer
        for (const entry of entries) answer(entry, entry.cost, entry.limit._tag === "Window" ? datedAt : nowMillis)
        if (flushing) return Effect.void
        flushing = true
        return Effect.asVoid(Effect.forkIn(Effect.zipRight(Effect.sleep(Duration.millis(flushMillis)), flush), scope))
      })

    const renew: Effect.Effect<void, QuotaStore.QuotaStoreError> = Effect.suspend(() => {
      if (held.size === 0) return Effect.void
      const entries = [...held.values()].map((h) => ({ ...h.entry, cost: h.count }))
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(call("take", Op.renew, entries, now), (lost) =>
          typeof lost === "number" && lost > 0
            ? Effect.logWarning(
              `quota store: ${lost} concurrency lease(s) of this process had expired before renewal; ` +
                `raise leaseMillis if Redis or this process stalls for that long`
            )
            : Effect.void))
    })

    const factor = (key: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(
          call("take", Op.inspect, [{ key, limit: { _tag: "Concurrency", permits: 1 } as Entry["limit"], cost: 0 }], now),
          (reply) => Number((reply as ReadonlyArray<string>)[0])
        ))

    // renew what this process holds, well before the lease runs out
    yield* renew.pipe(
      Effect.catchAll((error) => Effect.logWarning(`quota store: lease renewal failed (${describe(error.cause)})`)),
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, settings.leaseMillis / 3)))),
      Effect.interruptible,
      Effect.forkScoped
    )
    // a clean shutdown gives back whatever it still holds, without waiting on a dead Redis
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        // the answers still waiting go with it
        if (held.size === 0 && answers.size === 0) return Effect.void
        const entries = [...held.values()].map((h) => ({ ...h.entry, cost: h.count }))
        held.clear()
        return Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.ignore(call("release", Op.release, entries, now)))
      })
    )

    return {
      [QuotaStore.TypeId]: QuotaStore.TypeId,
      take,
      release,
      pause,
      adjust,
      factor,
      redisKey,
      renew,
      fallingBack: Effect.map(Clock.currentTimeMillis, (now) => now < fallbackUntil)
    } satisfies RedisQuotaStore
  })

/** The reply of `take`, with its retry instant translated from Redis's clock to the caller's. */
const decodeTake = (reply: Reply, entries: ReadonlyArray<Entry>, nowMillis: number): QuotaStore.TakeResult | undefined => {
  if (reply === 1) return taken
  if (!Array.isArray(reply)) return undefined
  const retry = Number(reply[1])
  const serverNow = Number(reply[2])
  const indexes = reply[3] as ReadonlyArray<number>
  if (!Number.isFinite(retry) || !Number.isFinite(serverNow) || !Array.isArray(indexes)) return undefined
  const retryAt = serverNow === nowMillis ? retry : nowMillis + (retry - serverNow)
  return {
    _tag: "Blocked",
    // as the in-memory store: never before the next millisecond, and not late by float rounding
    retryAtMillis: Math.max(nowMillis + 1, Math.ceil(retryAt - 1e-6)),
    keys: indexes.map((i) => entries[i - 1]!.key)
  }
}

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/**
 * A failure's message, with why the connection is down when a command only says that it is (a
 * refused password or login reads "Stream isn't writeable" otherwise). Redis's and Node's
 * messages name the host, never the password.
 */
const explain = (cause: unknown, connection: string | undefined): string => {
  const message = describe(cause)
  return connection === undefined || message.includes(connection) ? message : `${message}; the connection failed with: ${connection}`
}

/**
 * A connection of our own: commands fail at once while disconnected, and after `timeoutMillis`;
 * `lastError` is why it is down (`undefined` while it is up).
 */
const connect = (settings: Settings): Effect.Effect<{ readonly client: Redis; readonly lastError: () => string | undefined }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const client = new Redis(settings.url, {
        lazyConnect: true,
        // no auto-pipelining: a store has a few calls in flight at a time, and batching them cost more
        // client CPU per call (a pipeline object, a deferred write, a callback per reply) than the
        // writes it saved (measured: 19-21 against 25-28 µs per script call with 8 in flight)
        enableAutoPipelining: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: settings.timeoutMillis,
        connectTimeout: Math.max(settings.timeoutMillis, 1000),
        retryStrategy: (times) => Math.min(100 * times, 2000)
      })
      // failures reach callers through the operations, with the last of these; keep the client from
      // printing them too
      let lastError: string | undefined
      client.on("error", (error: Error) => void (lastError = error.message))
      client.on("ready", () => void (lastError = undefined))
      yield* Effect.promise(() => client.connect().catch(() => undefined))
      return { client, lastError: () => lastError }
    }),
    ({ client }) => Effect.promise(() => client.quit().catch(() => client.disconnect()))
  )
