/**
 * Shared plumbing between the `Throttler` and the standalone limiters: validating and merging
 * demands, wiring an engine to the `Clock` and to a quota store, and turning admission into Effects
 * that only allocate a suspension for requests that actually wait.
 *
 * @internal
 */
import { Duration, Effect, Exit, FiberId, Runtime } from "effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type { Demand, Limit } from "../Bucket.js"
import type { Entry, Local, QuotaStoreService } from "../QuotaStore.js"
import type * as ThrottleFeedback from "../ThrottleFeedback.js"
import type { AdmitOptions, Permit } from "../Throttler.js"
import { QuotaStoreError } from "../QuotaStore.js"
import { CostExceedsCapacity, InvalidDemand, type ThrottleError } from "../ThrottleError.js"
import { Engine, type Listener, type Waiter } from "./engine.js"

/**
 * A demand as the throttler reads it (every `Bucket.Demand` is one).
 *
 * @internal
 */
export interface DemandLike extends Entry {
  readonly entryId: string
  readonly service: string
  readonly scope: string
  readonly retryAfter: boolean
}

const positive = (n: number): boolean => Number.isFinite(n) && n > 0

/** The most a single demand on this limit may cost, or `undefined` when the limit is malformed. */
export const capacityOf = (limit: Limit): number | undefined => {
  switch (limit._tag) {
    case "Window":
      return positive(limit.limit) && positive(limit.windowMillis) ? limit.limit : undefined
    case "TokenBucket":
      return positive(limit.capacity) && positive(limit.refillPerSecond) ? limit.capacity : undefined
    case "Concurrency":
      return positive(limit.permits) ? limit.permits : undefined
  }
}

const check = (demand: DemandLike, cost: number): ThrottleError | undefined => {
  if (!Number.isFinite(cost)) return new InvalidDemand({ key: demand.key, entryId: demand.entryId, reason: "CostNotFinite" })
  if (cost < 0) return new InvalidDemand({ key: demand.key, entryId: demand.entryId, reason: "CostNegative" })
  const capacity = capacityOf(demand.limit)
  if (capacity === undefined) {
    return new InvalidDemand({ key: demand.key, entryId: demand.entryId, reason: "LimitNotPositive" })
  }
  if (cost > capacity) {
    return new CostExceedsCapacity({ key: demand.key, entryId: demand.entryId, cost, capacity })
  }
  return undefined
}

/**
 * Validates a request's demands and returns the entries to take: zero costs dropped, demands on the
 * same key merged (their costs added). Returns the input array itself when nothing needs changing,
 * which is the common case, so admission does not allocate here.
 *
 * @internal
 */
export const normalise = <D extends DemandLike>(demands: ReadonlyArray<D>): ReadonlyArray<D> | ThrottleError => {
  const n = demands.length
  let clean = true
  for (let i = 0; i < n; i++) {
    const d = demands[i]!
    const error = check(d, d.cost)
    if (error !== undefined) return error
    if (d.cost === 0) clean = false
    for (let j = 0; j < i && clean; j++) if (demands[j]!.key === d.key) clean = false
  }
  if (clean) return demands
  const merged = new Map<string, D>()
  for (const d of demands) {
    if (d.cost === 0) continue
    const seen = merged.get(d.key)
    merged.set(d.key, seen === undefined ? d : { ...seen, cost: seen.cost + d.cost })
  }
  const out = [...merged.values()]
  for (const d of out) {
    const error = check(d, d.cost)
    if (error !== undefined) return error
  }
  return out
}

/** Whether any entry holds a concurrency permit that must be given back. */
export const holdsPermits = (entries: ReadonlyArray<Entry>): boolean => {
  for (let i = 0; i < entries.length; i++) if (entries[i]!.limit._tag === "Concurrency") return true
  return false
}

/**
 * An engine wired to the `Clock` (so `TestClock` drives it) and to a store, with one timer fiber
 * that is interrupted when the scope closes.
 *
 * @internal
 */
export interface Runner {
  readonly engine: Engine
  readonly store: QuotaStoreService
  readonly now: () => number
}

const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * Where a service built on a runner keeps it, for tests and diagnostics.
 *
 * @internal
 */
export const RunnerId: unique symbol = Symbol.for("@effect-msgraph/core/internal/Runner")

/**
 * Where the built-in `Throttler` keeps its synchronous entry points, when its store answers
 * synchronously. Callers in this package that admit many requests at once (the client's admission)
 * use them to avoid an Effect per request; a Throttler without them is used through its interface.
 *
 * @internal
 */
export const SyncId: unique symbol = Symbol.for("@effect-msgraph/core/internal/SyncThrottler")

/**
 * The built-in Throttler's operations that need no Effect when the store is in memory.
 *
 * @internal
 */
export interface SyncThrottler {
  /** `tryAdmit`, now: the permit, `undefined` when the request cannot go now, or why it never can. */
  readonly tryAdmit: (demands: ReadonlyArray<Demand>, options: AdmitOptions) => Permit | undefined | ThrottleError
  /** `answered` then `release`, now. */
  readonly settle: (permit: Permit) => void
  /**
   * `feedback`, now, without its span or its result, when the answer needs no schedule (the common
   * case: no throttling and no load above the slowdown threshold): `true`. `false`, having changed
   * nothing, when it does.
   */
  readonly feedback: (
    response: ThrottleFeedback.Response,
    demands: ReadonlyArray<Demand>
  ) => boolean
}

/** @internal */
export const makeRunner = (
  store: QuotaStoreService,
  agingMillis: number
): Effect.Effect<Runner, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    let timerFiber: Fiber.RuntimeFiber<void> | undefined
    let closed = false
    // Set below; the timer fiber only runs once the engine exists.
    let engineRef: Engine | undefined
    const fire = Effect.sync(() => {
      timerFiber = undefined
      engineRef!.onTimer()
    })
    const timer = {
      arm: (atMillis: number) => {
        if (closed) return
        if (timerFiber !== undefined) timerFiber.unsafeInterruptAsFork(FiberId.none)
        // JavaScript timers cannot wait longer than 2^31 - 1 ms (about 24.8 days; a monthly window
        // can ask for more): wake up early, find nothing due, and re-arm.
        const delay = Math.min(MAX_TIMER_MILLIS, Math.max(0, atMillis - now()))
        timerFiber = Runtime.runFork(runtime)(Effect.zipRight(clock.sleep(Duration.millis(delay)), fire))
      }
    }
    const local = store.unsafeLocal
    const engine = new Engine(
      local !== undefined
        ? { _tag: "Local", local }
        : {
          _tag: "Remote",
          take: (entries, nowMillis, done) =>
            Runtime.runCallback(runtime)(store.take(entries, nowMillis), {
              onExit: (exit) =>
                done(
                  Exit.isSuccess(exit)
                    ? { _tag: "Ok", outcome: exit.value }
                    : { _tag: "Error", cause: exit.cause }
                )
            }),
          release: (entries, nowMillis) => {
            Runtime.runCallback(runtime)(Effect.ignore(store.release(entries, nowMillis)))
          }
        },
      { agingMillis },
      timer,
      now
    )
    engineRef = engine
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        if (timerFiber !== undefined) timerFiber.unsafeInterruptAsFork(FiberId.none)
        timerFiber = undefined
      })
    )
    return { engine, store, now }
  })

type Resume = (effect: Effect.Effect<Waiter, QuotaStoreError>) => void

const storeFailure = (cause: unknown) => new QuotaStoreError({ operation: "take", cause })

/** Resumes the fiber waiting on a waiter (its `payload`), if it has registered yet. */
export const fiberListener: Listener = {
  admitted: (waiter) => {
    const resume = waiter.payload as Resume | undefined
    if (resume !== undefined) resume(Effect.succeed(waiter))
  },
  failed: (waiter, cause) => {
    waiter.failure = cause
    const resume = waiter.payload as Resume | undefined
    if (resume !== undefined) resume(Effect.fail(storeFailure(cause)))
  }
}

/**
 * Gives back a permit's concurrency units and wakes whoever waits on them. Idempotent.
 *
 * @internal
 */
export const release = (runner: Runner, permit: Waiter): Effect.Effect<void, QuotaStoreError> => {
  if (permit.released || !holdsPermits(permit.entries)) return Effect.void
  const local = runner.store.unsafeLocal
  if (local !== undefined) return Effect.sync(() => releaseNow(runner, local, permit))
  permit.released = true
  return Effect.suspend(() => runner.store.release(permit.entries, runner.now())).pipe(
    Effect.tap(() => Effect.sync(() => runner.engine.wake(keysOf(permit.entries))))
  )
}

/**
 * {@link release} with an in-memory store, now. Idempotent.
 *
 * @internal
 */
export const releaseNow = (runner: Runner, local: Local, permit: Waiter): void => {
  if (permit.released || !holdsPermits(permit.entries)) return
  permit.released = true
  local.release(permit.entries, runner.now())
  runner.engine.wake(keysOf(permit.entries))
}

/**
 * What an answer changes in the store (a `Redate`): sliding windows taken before now, and every token
 * bucket (its units are no longer in flight).
 *
 * @internal
 */
export const answeredEntries = (entries: ReadonlyArray<Entry>, admittedAt: number, now: number): ReadonlyArray<Entry> =>
  entries.filter((e) => e.limit._tag === "TokenBucket" || (e.limit._tag === "Window" && now > admittedAt))

/** @internal */
export const keysOf = (entries: ReadonlyArray<Entry>): Array<string> => entries.map((e) => e.key)

/**
 * Admits already-normalised entries at `level`. Requests admitted on arrival cost one engine call
 * and no suspension; the others suspend until the engine resumes them. Interrupting a waiting
 * request withdraws it; interrupting one that was admitted but not yet resumed gives its permits
 * back.
 *
 * @internal
 */
export const admitEntries = (
  runner: Runner,
  entries: ReadonlyArray<Entry>,
  level: number
): Effect.Effect<Waiter, QuotaStoreError> => Effect.suspend(() => unsafeAdmit(runner, entries, level))

/**
 * The body of {@link admitEntries}, to be called inside an `Effect.suspend` the caller already has:
 * it offers the request to the engine right away.
 *
 * @internal
 */
export const unsafeAdmit = (
  runner: Runner,
  entries: ReadonlyArray<Entry>,
  level: number,
  leadMillis = 0
): Effect.Effect<Waiter, QuotaStoreError> => {
  const waiter = runner.engine.arrive(entries, level, fiberListener, undefined, leadMillis)
  if (waiter.admission > 0) return Effect.succeed(waiter)
  return Effect.async<Waiter, QuotaStoreError>((resume) => {
    if (waiter.admission > 0) return resume(Effect.succeed(waiter))
    if (waiter.failure !== undefined) return resume(Effect.fail(storeFailure(waiter.failure)))
    waiter.payload = resume
    return Effect.suspend(() => {
      if (waiter.admission > 0) return Effect.ignore(release(runner, waiter))
      runner.engine.cancel(waiter)
      return Effect.void
    })
  })
}
