/**
 * The runner: an admission queue wired to the `Clock` and to a quota store, shared by the `Throttler` and the
 * standalone limiters. It also validates and merges demands, and turns admission into Effects that
 * only allocate a suspension for requests that actually wait.
 *
 * The store is reached through a {@link QuotaPort}, which has two implementations: the in-memory
 * store that `QuotaStore.makeMemory` built, driven synchronously, and any other `QuotaStore`, driven
 * through its Effects. Every operation above the port (release, settle, try-admit, feedback) is
 * written once, as a {@link Step}: a value when the port answered at once, an Effect otherwise.
 *
 * @internal
 */
import { Duration, Effect, Exit, FiberId, Runtime } from "effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type { Demand, Limit } from "@effect-msgraph/spec/Bucket"
import type { Adjustment, Entry, QuotaStoreService, TakeResult } from "../../QuotaStore.js"
import type { AdmitOptions, AnsweredRequest, Permit, ThrottlerService } from "../../Throttler.js"
import { QuotaStoreError } from "../../QuotaStore.js"
import { CostExceedsCapacity, InvalidDemand, type ThrottleError } from "../../ThrottleError.js"
import { AdmissionQueue, type Driver, type Listener, type Waiter } from "./admissionQueue.js"
import { faceOf, type Local } from "../quota/memory.js"

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
 * What is done now, or the Effect that does it. `A` is never an Effect (nor an `Option`, which is
 * one in Effect 3).
 *
 * @internal
 */
export type Step<A> = A | Effect.Effect<A, QuotaStoreError>

/**
 * `f` after `step`: at once when `step` is a value.
 *
 * @internal
 */
export const andThen = <A, B>(step: Step<A>, f: (a: A) => Step<B>): Step<B> =>
  Effect.isEffect(step) ? Effect.flatMap(step, (a) => toEffect(f(a))) : f(step)

/** @internal */
export const toEffect = <A>(step: Step<A>): Effect.Effect<A, QuotaStoreError> =>
  Effect.isEffect(step) ? step : Effect.succeed(step)

/**
 * How the runner reaches its store. Two implementations: {@link localPort} and {@link effectPort}.
 *
 * @internal
 */
export interface QuotaPort {
  /** How the admission queue takes. */
  readonly driver: Driver
  readonly take: (entries: ReadonlyArray<Entry>, nowMillis: number) => Step<TakeResult>
  readonly release: (entries: ReadonlyArray<Entry>, nowMillis: number) => Step<void>
  readonly pause: (entries: ReadonlyArray<Entry>, untilMillis: number, nowMillis: number) => Step<void>
  readonly adjust: (entries: ReadonlyArray<Entry>, adjustment: Adjustment, nowMillis: number) => Step<void>
  /**
   * The fraction of a bucket's limit this process uses now; `undefined` for a store that other
   * processes may share (it cannot tell its own use from theirs).
   */
  readonly utilisation: ((entry: Entry, nowMillis: number) => number) | undefined
  /** Whether the buckets have room now, without taking (for tests of work conservation). */
  readonly check: ((entries: ReadonlyArray<Entry>, nowMillis: number) => boolean) | undefined
}

/**
 * The in-memory store that `QuotaStore.makeMemory` built: every call answers at once.
 *
 * @internal
 */
export const localPort = (local: Local): QuotaPort => ({
  driver: { _tag: "Local", local },
  take: local.take,
  release: local.release,
  pause: local.pause,
  adjust: local.adjust,
  utilisation: local.utilisation,
  check: local.check
})

/**
 * Any store, through its Effects. The admission queue's takes run on `runtime` and call back.
 *
 * @internal
 */
export const effectPort = (store: QuotaStoreService, runtime: Runtime.Runtime<never>): QuotaPort => ({
  driver: {
    _tag: "Remote",
    take: (entries, nowMillis, done) =>
      Runtime.runCallback(runtime)(store.take(entries, nowMillis), {
        onExit: (exit) =>
          done(Exit.isSuccess(exit) ? { _tag: "Ok", outcome: exit.value } : { _tag: "Error", cause: exit.cause })
      }),
    release: (entries, nowMillis) => {
      Runtime.runCallback(runtime)(Effect.ignore(store.release(entries, nowMillis)))
    }
  },
  take: store.take,
  release: store.release,
  pause: store.pause,
  adjust: store.adjust,
  utilisation: undefined,
  check: undefined
})

/**
 * An admission queue wired to the `Clock` (so `TestClock` drives it) and to a store, with one timer fiber
 * that is interrupted when the scope closes.
 *
 * @internal
 */
export interface Runner {
  readonly queue: AdmissionQueue
  readonly port: QuotaPort
  readonly now: () => number
}

const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * The built-in `Throttler`'s operations as {@link Step}s, which callers in this package that admit
 * many requests at once (the throttled admission) use to avoid an Effect per request when the store
 * answers at once. A `Throttler` without them is used through its interface.
 *
 * @internal
 */
export interface Direct {
  readonly runner: Runner
  /** `tryAdmit`: the permit, or `undefined` when the request cannot go now. Invalid demands die. */
  readonly tryAdmit: (demands: ReadonlyArray<Demand>, options: AdmitOptions) => Step<Permit | undefined>
  /** `answered` (with its window units dated `datedBeforeMillis` before now, see `Throttler.AnsweredOptions`) then `release`. */
  readonly settle: (permit: Permit, datedBeforeMillis?: number) => Step<void>
  /** `feedbackAll`. */
  readonly feedbackAll: (answers: ReadonlyArray<AnsweredRequest>) => Step<void>
  /** Whether a permit not sent yet was admitted on a share since shown wrong (see `feedback.stale`). */
  readonly stale: (permit: Permit) => boolean
  /** `settle` for a permit that will not be sent: its token-bucket units are given back as well. */
  readonly revoke: (permit: Permit) => Step<void>
  /**
   * The question asked just before one batch's permits are sent, and again after each wait (see
   * `feedback.roomFor`): `undefined` when they may go now, else an Effect that ends when it is worth
   * asking again. The permits are read once, when it is made.
   */
  readonly roomFor: (permits: ReadonlyArray<Permit>) => () => Effect.Effect<void> | undefined
  /** A permit found not `stale` is about to be sent. */
  readonly sending: (permit: Permit) => void
}

const directs = new WeakMap<ThrottlerService, Direct>()

/**
 * Records the direct operations of a `Throttler` built by `Throttler.make`.
 *
 * @internal
 */
export const registerDirect = (throttler: ThrottlerService, direct: Direct): ThrottlerService => {
  directs.set(throttler, direct)
  return throttler
}

/**
 * The direct operations of a `Throttler` built by `Throttler.make`; `undefined` for any other.
 *
 * @internal
 */
export const directOf = (throttler: ThrottlerService): Direct | undefined => directs.get(throttler)

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
    // Set below; the timer fiber only runs once the admission queue exists.
    let queueRef: AdmissionQueue | undefined
    const fire = Effect.sync(() => {
      timerFiber = undefined
      queueRef!.onTimer()
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
    const local = faceOf(store)
    const port = local !== undefined ? localPort(local) : effectPort(store, runtime)
    const queue = new AdmissionQueue(
      port.driver,
      { agingMillis },
      timer,
      now
    )
    queueRef = queue
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        if (timerFiber !== undefined) timerFiber.unsafeInterruptAsFork(FiberId.none)
        timerFiber = undefined
      })
    )
    return { queue, port, now }
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
export const release = (runner: Runner, permit: Waiter): Step<void> => {
  if (permit.released || !holdsPermits(permit.entries)) return undefined
  permit.released = true
  return andThen(runner.port.release(permit.entries, runner.now()), () => runner.queue.wakeEntries(permit.entries))
}

/**
 * Counts a permit's sliding-window units from now (or `datedBeforeMillis` earlier, no earlier than its
 * admission), and ends its units' flight (see `ThrottlerService.answered`). A flight that ends can
 * make room that no timer foresaw (a window's floating units are dated, a token bucket refills
 * again), so its buckets' waiters are woken.
 *
 * @internal
 */
export const answered = (runner: Runner, permit: Waiter, datedBeforeMillis = 0): Step<void> => {
  const now = runner.now()
  const entries = answeredEntries(permit.entries)
  if (entries.length === 0) return undefined
  const redate: Adjustment = datedBeforeMillis > 0
    ? { _tag: "Redate", takenAtMillis: permit.admittedAt, datedAtMillis: now - datedBeforeMillis }
    : { _tag: "Redate", takenAtMillis: permit.admittedAt }
  const adjusted = runner.port.adjust(entries, redate, now)
  // no continuation to allocate when the store answered at once (the in-memory one, every time)
  if (!Effect.isEffect(adjusted)) return runner.queue.wakeEntries(entries)
  return andThen(adjusted, () => runner.queue.wakeEntries(entries))
}

/**
 * Admits normalised entries only if they can go now (see `AdmissionQueue.tryArrive`), taking from a store
 * outside the process after the queue has allowed it.
 *
 * @internal
 */
export const tryAdmit = (
  runner: Runner,
  entries: ReadonlyArray<Entry>,
  level: number,
  leadMillis: number
): Step<Waiter | undefined> => {
  const tried = runner.queue.tryArrive(entries, level, leadMillis)
  if (tried !== "Check") return tried
  const now = runner.now()
  return andThen(
    runner.port.take(entries, now),
    (outcome) => outcome._tag === "Taken" ? runner.queue.admitted(entries, level, now) : undefined
  )
}

/**
 * Gives back what a permit that will not be sent took: its flight ends (`answered`), its token
 * buckets get their units back (a negative charge; Graph never counted them), its concurrency
 * permits are released. A window's units stay counted from now, which is conservative.
 *
 * @internal
 */
export const revoke = (runner: Runner, permit: Waiter): Step<void> =>
  andThen(answered(runner, permit), () => {
    const tokens = permit.entries.filter((e) => e.limit._tag === "TokenBucket" && e.cost > 0)
    const refund = tokens.length === 0
      ? undefined
      : runner.port.adjust(tokens.map((e) => ({ ...e, cost: -e.cost })), { _tag: "Charge" }, runner.now())
    return andThen(refund, () => andThen(release(runner, permit), () => runner.queue.wakeEntries(tokens)))
  })

/**
 * What an answer changes in the store (a `Redate`): every sliding window (its units are dated now,
 * or land from their flight even when no time has passed) and every token bucket (its units are no
 * longer in flight).
 *
 * @internal
 */
export const answeredEntries = (entries: ReadonlyArray<Entry>): ReadonlyArray<Entry> =>
  // the entries themselves when none is a concurrency permit (the common case): no copy per answer
  holdsPermits(entries) ? entries.filter((e) => e.limit._tag !== "Concurrency") : entries

/** @internal */
export const keysOf = (entries: ReadonlyArray<Entry>): Array<string> => entries.map((e) => e.key)

/**
 * Admits already-normalised entries at `level`. Requests admitted on arrival cost one call to the
 * admission queue and no suspension; the others suspend until it resumes them. Interrupting a waiting
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
 * it offers the request to the admission queue right away.
 *
 * @internal
 */
export const unsafeAdmit = (
  runner: Runner,
  entries: ReadonlyArray<Entry>,
  level: number,
  leadMillis = 0
): Effect.Effect<Waiter, QuotaStoreError> => {
  const waiter = runner.queue.arrive(entries, level, fiberListener, undefined, leadMillis)
  if (waiter.admission > 0) return Effect.succeed(waiter)
  return Effect.async<Waiter, QuotaStoreError>((resume) => {
    if (waiter.admission > 0) return resume(Effect.succeed(waiter))
    if (waiter.failure !== undefined) return resume(Effect.fail(storeFailure(waiter.failure)))
    waiter.payload = resume
    return Effect.suspend(() => {
      if (waiter.admission > 0) return Effect.ignore(toEffect(release(runner, waiter)))
      runner.queue.cancel(waiter)
      return Effect.void
    })
  })
}
