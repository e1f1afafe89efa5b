/**
 * The `Throttler` decides when each request may be sent, so that the library uses as much of Graph's
 * quota as the documented limits allow and never more.
 *
 * A request arrives with its demands (one per bucket it counts against, from the cost calculator)
 * and an optional priority. It is admitted when every one of its buckets can hold its cost, and then
 * takes from all of them at once; a request never holds one bucket while waiting for another.
 * Waiting requests are served high before normal before low, first come first served within a level,
 * with ageing so that low priority still progresses, and a request that is short on a bucket keeps
 * cheaper latecomers off that bucket so that it is not overtaken forever.
 *
 * After each response, {@link ThrottlerService.feedback} applies what the server said: a 429 pauses the
 * buckets it implicates until `Retry-After` (or for an exponential, jittered, capped backoff when
 * there is none) and lowers their effective limits multiplicatively; successes restore them
 * additively; `x-ms-throttle-limit-percentage` >= 0.8 or a low `RateLimit-Remaining` slows them down
 * before any 429. Every delay is a `Schedule` in {@link Throttler.Policy}.
 *
 * Bucket state lives in a {@link QuotaStore}; `layerMemory` brings its own in-memory store.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Schedule, ScheduleDecision, ScheduleIntervals, Stream } from "effect"
import type * as Scope from "effect/Scope"
import type { Demand } from "./Bucket.js"
import * as admission from "./internal/admission.js"
import type { Waiter } from "./internal/engine.js"
import * as QuotaStore from "./QuotaStore.js"
import type { ThrottleError } from "./ThrottleError.js"
import * as ThrottleFeedback from "./ThrottleFeedback.js"
import * as ThrottlePriority from "./ThrottlePriority.js"
import * as RetryAfter from "./RetryAfter.js"

/**
 * Proof of admission. Give it back with {@link ThrottlerService.release} when the request has
 * completed if any of its demands was on a concurrency limit (`withPermit` does this for you).
 *
 * @since 0.1.0
 * @category models
 */
export interface Permit {
  /** What was taken: the request's demands with zero costs dropped and repeated keys merged. */
  readonly entries: ReadonlyArray<QuotaStore.Entry>
  /** Queue level: 0 high, 1 normal, 2 low. */
  readonly level: number
  /** The throttler's event number when the request arrived. */
  readonly arrival: number
  /** The throttler's event number when it was admitted; arrivals and admissions share one counter. */
  readonly admission: number
  /** Clock time of arrival, in milliseconds. */
  readonly arrivedAt: number
  /** Clock time of admission, in milliseconds (`admittedAt - arrivedAt` is the time spent waiting). */
  readonly admittedAt: number
}

/**
 * How a request waits.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdmitOptions {
  /** The queue level (default `normal`). */
  readonly priority?: ThrottlePriority.Priority | undefined
  /**
   * Ranks the request as if it had arrived this many milliseconds earlier, within its level: a
   * caller that knows how much work waits behind a bucket can serve the most loaded buckets first
   * (default 0; at most half of `agingMillis`, so it never crosses a priority level).
   */
  readonly leadMillis?: number | undefined
}

/**
 * A request to admit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Admission {
  readonly demands: ReadonlyArray<Demand>
  readonly priority?: ThrottlePriority.Priority | undefined
}

/**
 * One element of {@link ThrottlerService.admitAll}'s output.
 *
 * @since 0.1.0
 * @category models
 */
export type Admitted<A> =
  | { readonly _tag: "Admitted"; readonly item: A; readonly permit: Permit }
  | { readonly _tag: "Rejected"; readonly item: A; readonly error: ThrottleError | QuotaStore.QuotaStoreError }

/**
 * What {@link ThrottlerService.feedback} did.
 *
 * - `paused`: the buckets held back, until when, and why (`RetryAfter`: the server's `Retry-After`;
 *   `Backoff`: a 429 without one; `Unavailable`: a 503 with `Retry-After`; `Slowdown`: a
 *   utilisation hint);
 * - `lowered` / `restored`: buckets whose effective limit went down / was given a step back up;
 * - `charged`: identity buckets charged the resource units the server reported above the estimate.
 *
 * @since 0.1.0
 * @category models
 */
export interface FeedbackResult {
  readonly signals: ThrottleFeedback.Signals
  readonly paused: Option.Option<{
    readonly keys: ReadonlyArray<string>
    readonly untilMillis: number
    readonly reason: "RetryAfter" | "Backoff" | "Unavailable" | "Slowdown"
  }>
  readonly lowered: ReadonlyArray<string>
  readonly restored: ReadonlyArray<string>
  readonly charged: ReadonlyArray<string>
}

/**
 * One answer among several that arrived together, for {@link ThrottlerService.feedbackAll}: the
 * response (an item's own status and headers, or the whole batch's when the batch failed as a
 * whole) and what the request it answered consumed.
 *
 * @since 0.1.0
 * @category models
 */
export interface AnsweredRequest {
  readonly response: ThrottleFeedback.Response
  readonly demands: ReadonlyArray<Demand>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ThrottlerService {
  /**
   * Waits until every demand can be taken, takes them all at once, and returns the permit. Fails at
   * once with a `ThrottleError` for a demand that could never be satisfied. Interrupting a waiting
   * request withdraws it.
   */
  readonly admit: (
    demands: ReadonlyArray<Demand>,
    options?: AdmitOptions
  ) => Effect.Effect<Permit, ThrottleError | QuotaStore.QuotaStoreError>
  /**
   * Admits only if the demands can be taken right now: no better-ranked waiter claims their buckets
   * and every bucket has room. Otherwise returns `None` at once, having taken nothing and queued
   * nothing. Fails like `admit` for a demand that could never be satisfied.
   */
  readonly tryAdmit: (
    demands: ReadonlyArray<Demand>,
    options?: AdmitOptions
  ) => Effect.Effect<Option.Option<Permit>, ThrottleError | QuotaStore.QuotaStoreError>
  /** Gives back a permit's concurrency units. Idempotent; a no-op without concurrency demands. */
  readonly release: (permit: Permit) => Effect.Effect<void, QuotaStore.QuotaStoreError>
  /**
   * Says that the request a permit admitted has been answered: its sliding-window units are counted
   * from now instead of from its admission. Graph counts a request when it arrives, which is after
   * the client admitted it (queueing, connection set-up, transit) and no later than its answer, so
   * counting from the answer is the only date that is sure not to be early. A no-op when no time has
   * passed (virtual time without latency) and for the other kinds of bucket.
   */
  readonly answered: (permit: Permit) => Effect.Effect<void, QuotaStore.QuotaStoreError>
  /**
   * Runs `self` once admitted, and releases the permit when it completes, fails or is interrupted.
   */
  readonly withPermit: (
    demands: ReadonlyArray<Demand>,
    options?: { readonly priority?: ThrottlePriority.Priority | undefined }
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ThrottleError | QuotaStore.QuotaStoreError, R>
  /**
   * Admits a stream of items without a fiber per waiting item: each item waits as a small record in
   * the queue, and comes out (with its permit) when admitted, in admission order. Items that can
   * never be admitted come out as `Rejected`. The consumer releases permits that hold concurrency.
   */
  readonly admitAll: <A, E, R>(
    items: Stream.Stream<A, E, R>,
    admissionOf: (item: A) => Admission
  ) => Stream.Stream<Admitted<A>, E, R>
  /**
   * Applies what a response said to the buckets of the request it answered (`demands`: what the
   * request consumed). Call it once per response; for the answers of one `$batch` response, call
   * {@link ThrottlerService.feedbackAll} once instead.
   */
  readonly feedback: (
    response: ThrottleFeedback.Response,
    demands: ReadonlyArray<Demand>
  ) => Effect.Effect<FeedbackResult, QuotaStore.QuotaStoreError>
  /**
   * Applies the answers of one `$batch` response, in order, as `feedback` applies each, except that
   * the response counts as one event for each bucket: whatever number of its items a 429 (or a
   * utilisation hint) implicates a bucket through, its backoff (or slowdown) schedule is stepped,
   * and its effective limit lowered, at most once. A batch answered 429 as a whole, given here once
   * per item, pauses its buckets for the first backoff step, not for as many steps as it had items.
   */
  readonly feedbackAll: (answers: ReadonlyArray<AnsweredRequest>) => Effect.Effect<void, QuotaStore.QuotaStoreError>
  /** The policies in force. */
  readonly policy: Throttler.Policy
  /** Requests currently waiting. */
  readonly waiting: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Throttler extends Context.Tag("@effect-msgraph/core/Throttler")<Throttler, ThrottlerService>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Throttler {
  /**
   * Every delay and retry policy. Schedules are stepped once per event on each implicated bucket
   * (their state is per bucket and resets after a success); the delay of each step is how long the
   * bucket is held back. An event is one response: the answers of one `$batch` response given to
   * `feedbackAll` are one event, however many items they implicate a bucket through.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Policy {
    /** Pause after a 429 without `Retry-After`. Default: exponential from 1 s, jittered, capped at 60 s. */
    readonly backoff: Schedule.Schedule<unknown, ThrottleFeedback.Signals>
    /**
     * Pause after a utilisation hint (the input, a fraction of the limit, at or above
     * `slowdownThreshold`). Default: `(utilisation - 0.8) * 5 s`, at most 5 s.
     */
    readonly slowdown: Schedule.Schedule<unknown, number>
    /**
     * How often a client should resend a throttled request (the delay itself comes from the paused
     * buckets, so the default has none): 8 times.
     */
    readonly retry: Schedule.Schedule<unknown, ThrottleFeedback.Signals>
    /** Utilisation from which responses slow admission down (default 0.8). */
    readonly slowdownThreshold: number
    /** Multiplier applied to a bucket's effective limit on each 429 (default 0.7). */
    readonly decrease: number
    /** Share of the catalogue's limit given back on each success (default 0.05). */
    readonly increase: number
    /** Lowest effective limit, as a share of the catalogue's (default 0.1). */
    readonly floor: number
    /** Longest pause any response can cause (default 24 hours; `Retry-After` beyond it is capped). */
    readonly maxPauseMillis: number
  }

  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /**
     * How long a request waits before it ranks ahead of newer requests one priority level above
     * (default 30 s): a low request that has waited 60 s goes before a high one that just arrived.
     */
    readonly agingMillis?: number
    readonly policy?: Partial<Policy>
  }
}

/**
 * The default policies.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPolicy: Throttler.Policy = {
  backoff: Schedule.exponential("1 second", 2).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced("60 seconds"))
  ),
  slowdown: Schedule.identity<number>().pipe(
    Schedule.addDelay((u) => Duration.millis(Math.min(5000, Math.max(0, (u - 0.8) * 5000))))
  ),
  retry: Schedule.recurs(8),
  slowdownThreshold: 0.8,
  decrease: 0.7,
  increase: 0.05,
  floor: 0.1,
  maxPauseMillis: 24 * 60 * 60 * 1000
}

const maxStreaks = 100_000

/**
 * How far the server's utilisation figure may exceed the client's own view of its buckets and still
 * be put down to the client's own requests (rounding, requests still in flight).
 */
const explainedMargin = 0.05

/** A lead is at most half the ageing step, so it reorders requests within a level, never across. */
const leadOf = (options: AdmitOptions | undefined, agingMillis: number): number => {
  const lead = options?.leadMillis
  return lead !== undefined && Number.isFinite(lead) && lead > 0 ? Math.min(lead, agingMillis / 2) : 0
}

/** Per-bucket schedule state between events; dropped after a success. */
interface Streak {
  backoff: unknown
  slowdown: unknown
  lastBackoffMillis: number
  updatedAt: number
}

/** The buckets one event has stepped, per schedule (see `feedbackAll`). */
interface Stepped {
  readonly backoff: Set<string>
  readonly slowdown: Set<string>
}

/** The demands whose bucket `seen` does not hold yet, which are then added to it; all without `seen`. */
const firstTime = (seen: Set<string> | undefined, demands: ReadonlyArray<Demand>): ReadonlyArray<Demand> => {
  if (seen === undefined) return demands
  const fresh = demands.filter((d) => !seen.has(d.key))
  for (const d of fresh) seen.add(d.key)
  return fresh
}

const stepDelay = <In>(
  schedule: Schedule.Schedule<unknown, In>,
  state: unknown,
  now: number,
  input: In
): Effect.Effect<{ readonly state: unknown; readonly delayMillis: number | undefined }> =>
  Effect.map(schedule.step(now, input, state), ([next, , decision]) => ({
    state: next,
    delayMillis: ScheduleDecision.isDone(decision)
      ? undefined
      : Math.max(0, Math.round(ScheduleIntervals.start(decision.intervals) - now))
  }))

/** The identity and access resource-unit buckets, which `x-ms-resource-unit` measures. */
const isResourceUnitBucket = (d: admission.DemandLike): boolean =>
  d.limit._tag === "TokenBucket" && ThrottlePriority.isIdentityAndAccess(d) && !ThrottleFeedback.isWriteQuota(d)

/**
 * Builds a throttler over the {@link QuotaStore} in context. The scope owns its wake-up timer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Throttler.Options = {}
): Effect.Effect<ThrottlerService, never, QuotaStore.QuotaStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* QuotaStore.QuotaStore
    const policy: Throttler.Policy = { ...defaultPolicy, ...options.policy }
    const agingMillis = options.agingMillis ?? 30_000
    const runner = yield* admission.makeRunner(store, agingMillis)
    const streaks = new Map<string, Streak>()

    const admit: ThrottlerService["admit"] = (demands, opts) =>
      Effect.suspend((): Effect.Effect<Permit, ThrottleError | QuotaStore.QuotaStoreError> => {
        const entries = admission.normalise(demands)
        if (!Array.isArray(entries)) return Effect.fail(entries as ThrottleError)
        return admission.unsafeAdmit(
          runner,
          entries as ReadonlyArray<Demand>,
          ThrottlePriority.level(opts?.priority),
          leadOf(opts, agingMillis)
        )
      })

    const tryAdmit: ThrottlerService["tryAdmit"] = (demands, opts) =>
      Effect.suspend((): Effect.Effect<Option.Option<Permit>, ThrottleError | QuotaStore.QuotaStoreError> => {
        const entries = admission.normalise(demands)
        if (!Array.isArray(entries)) return Effect.fail(entries as ThrottleError)
        const level = ThrottlePriority.level(opts?.priority)
        const tried = runner.engine.tryArrive(entries as ReadonlyArray<Demand>, level, leadOf(opts, agingMillis))
        if (tried === undefined) return Effect.succeed(Option.none())
        if (tried !== "Check") return Effect.succeed(Option.some(tried))
        const now = runner.now()
        return Effect.map(
          store.take(entries as ReadonlyArray<Demand>, now),
          (outcome) =>
            outcome._tag === "Taken"
              ? Option.some(runner.engine.admitted(entries as ReadonlyArray<Demand>, level, now))
              : Option.none()
        )
      })

    const release = (permit: Permit) => admission.release(runner, permit as Waiter)

    const answered = (permit: Permit) =>
      Effect.suspend(() => {
        const now = runner.now()
        const answered = admission.answeredEntries(permit.entries, permit.admittedAt, now)
        if (answered.length === 0) return Effect.void
        return store.adjust(answered, { _tag: "Redate", takenAtMillis: permit.admittedAt }, now)
      })

    const withPermit: ThrottlerService["withPermit"] = (demands, opts) => (self) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(admit(demands, opts)), (permit) =>
          admission.holdsPermits(permit.entries)
            ? Effect.ensuring(restore(self), Effect.ignore(release(permit)))
            : restore(self))
      )

    const admitAll: ThrottlerService["admitAll"] = <A, E, R>(
      items: Stream.Stream<A, E, R>,
      admissionOf: (item: A) => Admission
    ) =>
      Stream.asyncPush<Admitted<A>, E, R>((emit) =>
        Effect.gen(function*() {
          let pending = 0
          let inputDone = false
          const finishIfDone = () => {
            if (inputDone && pending === 0) emit.end()
          }
          const listener = {
            admitted: (waiter: Waiter) => {
              pending--
              emit.single({ _tag: "Admitted", item: waiter.payload as A, permit: waiter })
              finishIfDone()
            },
            failed: (waiter: Waiter, cause: unknown) => {
              pending--
              emit.single({
                _tag: "Rejected",
                item: waiter.payload as A,
                error: new QuotaStore.QuotaStoreError({ operation: "take", cause })
              })
              finishIfDone()
            }
          }
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => {
              for (const waiter of runner.engine.waiters()) {
                if (waiter.listener === listener) runner.engine.cancel(waiter)
              }
            })
          )
          yield* items.pipe(
            Stream.runForEach((item) =>
              Effect.sync(() => {
                const { demands, priority } = admissionOf(item)
                const entries = admission.normalise(demands)
                if (!Array.isArray(entries)) {
                  emit.single({ _tag: "Rejected", item, error: entries as ThrottleError })
                  return
                }
                pending++
                runner.engine.arrive(entries as ReadonlyArray<Demand>, ThrottlePriority.level(priority), listener, item)
              })
            ),
            Effect.matchCauseEffect({
              onFailure: (cause) => Effect.sync(() => emit.halt(cause)),
              onSuccess: () =>
                Effect.sync(() => {
                  inputDone = true
                  finishIfDone()
                })
            }),
            Effect.forkScoped
          )
        })
      )

    /**
     * Whether a utilisation hint is the client's own pace: its fullest bucket among `hit` is within
     * `explainedMargin` of what the server reports. Admission already keeps that pace within the
     * limit, so it needs no pause; a hint well above it means others use the same quota. Unknown
     * (so not explained) with a store outside the process.
     */
    const explainedLocally = (hit: ReadonlyArray<Demand>, used: number, now: number): boolean => {
      const local = store.unsafeLocal
      if (local === undefined) return false
      let own = 0
      for (const d of hit) own = Math.max(own, local.utilisation(d, now))
      return own >= used - explainedMargin
    }

    const pause = (entries: ReadonlyArray<Demand>, until: number, now: number) =>
      entries.length === 0 ? Effect.void : store.pause(entries, until, now)

    const streakOf = (key: string, now: number): Streak => {
      let streak = streaks.get(key)
      if (streak === undefined) {
        if (streaks.size >= maxStreaks) {
          // Bounded: forget streaks idle for ten minutes, then the oldest, down to half.
          for (const [k, s] of streaks) if (now - s.updatedAt > 600_000) streaks.delete(k)
          for (const k of streaks.keys()) {
            if (streaks.size < maxStreaks / 2) break
            streaks.delete(k)
          }
        }
        streak = {
          backoff: policy.backoff.initial,
          slowdown: policy.slowdown.initial,
          lastBackoffMillis: 0,
          updatedAt: now
        }
        streaks.set(key, streak)
      }
      streak.updatedAt = now
      return streak
    }

    // Feedback is about what was sent: invalid demands cannot have been admitted, so use the
    // positive-cost ones as given.
    const sentEntries = (demands: ReadonlyArray<Demand>): ReadonlyArray<Demand> => {
      const normalised = admission.normalise(demands)
      return Array.isArray(normalised)
        ? normalised as ReadonlyArray<Demand>
        : demands.filter((d) => Number.isFinite(d.cost) && d.cost > 0)
    }

    const increase: QuotaStore.Adjustment = { _tag: "Increase", step: policy.increase }
    // reused by `feedbackQuiet` for the keys it wakes (`wake` reads them before it returns)
    const wakeKeys: Array<string> = []

    /**
     * The feedback of an answer that carries no throttling header and is not a 429 or 509, with an
     * in-memory store: what {@link feedbackNow} does for it (a 2xx restores its buckets, any other
     * status changes nothing), without reading its headers or building a result. `false`, having
     * changed nothing, for any other answer.
     */
    const feedbackQuiet = (
      local: QuotaStore.Local,
      response: ThrottleFeedback.Response,
      demands: ReadonlyArray<Demand>
    ): boolean => {
      const status = response.status
      // with no hint, utilisation reads 0: below any positive slowdown threshold
      if (status === 429 || status === 509 || !(policy.slowdownThreshold > 0)) return false
      if (ThrottleFeedback.hasSignalHeaders(response.headers)) return false
      if (status < 200 || status >= 300) return true
      const entries = sentEntries(demands)
      for (const d of entries) streaks.delete(d.key)
      if (entries.length > 0) {
        local.adjust(entries, increase, runner.now())
        for (const d of entries) wakeKeys.push(d.key)
        try {
          runner.engine.wake(wakeKeys)
        } finally {
          wakeKeys.length = 0
        }
      }
      return true
    }

    /**
     * The feedback of an answer that steps no schedule (it is not a 429 or a 503 with Retry-After,
     * and any slowdown hint is explained by the client's own load), with an in-memory store: done
     * now. `undefined`, having changed nothing, for the others, which `feedback` handles.
     */
    const feedbackNow = (
      local: QuotaStore.Local,
      response: ThrottleFeedback.Response,
      demands: ReadonlyArray<Demand>
    ): FeedbackResult | undefined => {
      const now = runner.now()
      const signals = ThrottleFeedback.fromResponse(response, now)
      if (signals.throttled || (signals.unavailable && Option.isSome(signals.retryAfter))) return undefined
      const entries = sentEntries(demands)
      const used = Option.getOrElse(ThrottleFeedback.utilisation(signals), () => 0)
      if (used >= policy.slowdownThreshold) {
        const hit = ThrottleFeedback.own(entries)
        if (hit.length > 0 && !explainedLocally(hit, used, now)) return undefined
      }
      let restored: ReadonlyArray<string> = []
      let charged: ReadonlyArray<string> = []
      if (signals.succeeded) {
        for (const d of entries) streaks.delete(d.key)
        if (entries.length > 0) {
          local.adjust(entries, increase, now)
          restored = admission.keysOf(entries)
          runner.engine.wake(restored)
        }
        if (Option.isSome(signals.resourceUnits)) {
          const extra = extraUnits(entries, signals.resourceUnits.value)
          if (extra.length > 0) {
            local.adjust(extra, { _tag: "Charge" }, now)
            charged = admission.keysOf(extra)
          }
        }
      }
      return { signals, paused: Option.none(), lowered: [], restored, charged }
    }

    /** What the server says a request cost beyond the estimate, on the resource-unit buckets. */
    const extraUnits = (entries: ReadonlyArray<Demand>, units: number): ReadonlyArray<Demand> =>
      entries.filter((d) => isResourceUnitBucket(d) && units > d.cost).map((d) => ({ ...d, cost: units - d.cost }))

    /**
     * `stepped`: the buckets this event has already stepped (see `feedbackAll`); they are paused
     * again without a new step and their limit is not lowered twice. `undefined`: a single answer.
     */
    const feedbackEffect = (response: ThrottleFeedback.Response, demands: ReadonlyArray<Demand>, stepped?: Stepped) =>
      Effect.gen(function*() {
        const now = runner.now()
        const signals = ThrottleFeedback.fromResponse(response, now)
        const entries = sentEntries(demands)
        let paused: FeedbackResult["paused"] = Option.none()
        let lowered: ReadonlyArray<string> = []
        let restored: ReadonlyArray<string> = []
        let charged: ReadonlyArray<string> = []
        const cap = (millis: number) => Math.min(millis, policy.maxPauseMillis)

        if (signals.throttled) {
          const hit = ThrottleFeedback.implicated(signals, entries)
          // the buckets this event has not stepped yet: only they step and are lowered
          const fresh = firstTime(stepped?.backoff, hit)
          let until: number
          let reason: "RetryAfter" | "Backoff"
          if (Option.isSome(signals.retryAfter)) {
            until = now + cap(RetryAfter.delayMillis(signals.retryAfter.value, now))
            reason = "RetryAfter"
          } else {
            until = now
            reason = "Backoff"
            for (const d of hit) {
              const streak = streakOf(d.key, now)
              if (fresh.includes(d)) {
                const step = yield* stepDelay(policy.backoff, streak.backoff, now, signals)
                streak.backoff = step.state
                if (step.delayMillis !== undefined) streak.lastBackoffMillis = step.delayMillis
              }
              until = Math.max(until, now + cap(streak.lastBackoffMillis))
            }
          }
          yield* pause(hit, until, now)
          if (fresh.length > 0) {
            yield* store.adjust(fresh, { _tag: "Decrease", factor: policy.decrease, floor: policy.floor }, now)
          }
          paused = Option.some({ keys: admission.keysOf(hit), untilMillis: until, reason })
          lowered = admission.keysOf(fresh)
        } else if (signals.unavailable && Option.isSome(signals.retryAfter)) {
          const hit = ThrottleFeedback.implicated(signals, entries)
          const until = now + cap(RetryAfter.delayMillis(signals.retryAfter.value, now))
          yield* pause(hit, until, now)
          paused = Option.some({ keys: admission.keysOf(hit), untilMillis: until, reason: "Unavailable" })
        } else if (signals.succeeded) {
          for (const d of entries) streaks.delete(d.key)
          if (entries.length > 0) {
            yield* store.adjust(entries, { _tag: "Increase", step: policy.increase }, now)
            runner.engine.wake(admission.keysOf(entries))
            restored = admission.keysOf(entries)
          }
          if (Option.isSome(signals.resourceUnits)) {
            const extra = extraUnits(entries, signals.resourceUnits.value)
            if (extra.length > 0) {
              // The server says the request cost more than estimated: take the difference, now,
              // whether or not the bucket has it (a negative balance delays later requests).
              yield* store.adjust(extra, { _tag: "Charge" }, now)
              charged = admission.keysOf(extra)
            }
          }
        }

        if (!signals.throttled) {
          const used = Option.getOrElse(ThrottleFeedback.utilisation(signals), () => 0)
          const hit = used >= policy.slowdownThreshold ? ThrottleFeedback.own(entries) : []
          if (hit.length > 0 && !explainedLocally(hit, used, now)) {
            let until = now
            // a bucket this event has slowed already keeps that pause
            for (const d of firstTime(stepped?.slowdown, hit)) {
              const streak = streakOf(d.key, now)
              const step = yield* stepDelay(policy.slowdown, streak.slowdown, now, used)
              streak.slowdown = step.state
              if (step.delayMillis !== undefined) until = Math.max(until, now + cap(step.delayMillis))
            }
            // RateLimit-Remaining: 0 with a reset time: nothing is left until then.
            if (Option.isSome(signals.rateLimit) && signals.rateLimit.value.remaining <= 0) {
              const reset = signals.rateLimit.value.resetSeconds
              if (Option.isSome(reset)) until = Math.max(until, now + cap(reset.value * 1000))
            }
            if (until > now && Option.isNone(paused)) {
              yield* pause(hit, until, now)
              paused = Option.some({ keys: admission.keysOf(hit), untilMillis: until, reason: "Slowdown" })
            }
          }
        }
        return { signals, paused, lowered, restored, charged } satisfies FeedbackResult as FeedbackResult
      })

    // once per answered item: no stack trace, which costs more than the rest of the span
    const spanned = <A, E>(effect: Effect.Effect<A, E>, response: ThrottleFeedback.Response) =>
      Effect.withSpan(effect, "Throttler.feedback", { attributes: { status: response.status }, captureStackTrace: false })

    const feedback: ThrottlerService["feedback"] = (response, demands) =>
      spanned(
        Effect.suspend(() => {
          const local = store.unsafeLocal
          const done = local === undefined ? undefined : feedbackNow(local, response, demands)
          return done === undefined ? feedbackEffect(response, demands) : Effect.succeed(done)
        }),
        response
      )

    /**
     * The answers in order, from `from`: with an in-memory store, those that step no schedule are
     * settled at once, and one that does runs as an Effect before the answers after it, so that a
     * 429's pause is in place before a later success wakes the same buckets.
     */
    const feedbackFrom = (answers: ReadonlyArray<AnsweredRequest>, from: number, stepped: Stepped): Effect.Effect<void, QuotaStore.QuotaStoreError> => {
      const local = store.unsafeLocal
      for (let i = from; i < answers.length; i++) {
        const { demands, response } = answers[i]!
        if (local !== undefined && (feedbackQuiet(local, response, demands) || feedbackNow(local, response, demands) !== undefined)) {
          continue
        }
        return Effect.zipRight(
          spanned(feedbackEffect(response, demands, stepped), response),
          Effect.suspend(() => feedbackFrom(answers, i + 1, stepped))
        )
      }
      return Effect.void
    }

    const feedbackAll: ThrottlerService["feedbackAll"] = (answers) =>
      Effect.suspend(() => feedbackFrom(answers, 0, { backoff: new Set(), slowdown: new Set() }))

    const service: ThrottlerService = {
      admit,
      tryAdmit,
      release,
      answered,
      withPermit,
      admitAll,
      feedback,
      feedbackAll,
      policy,
      waiting: Effect.sync(() => runner.engine.waiting)
    }
    Object.defineProperty(service, admission.RunnerId, { value: runner, enumerable: false })
    const local = store.unsafeLocal
    if (local !== undefined) {
      const sync: admission.SyncThrottler = {
        tryAdmit: (demands, opts) => {
          const entries = admission.normalise(demands)
          if (!Array.isArray(entries)) return entries as ThrottleError
          const tried = runner.engine.tryArrive(
            entries as ReadonlyArray<Demand>,
            ThrottlePriority.level(opts.priority),
            leadOf(opts, agingMillis)
          )
          // an in-memory store is never left to the caller to check
          return tried === "Check" ? undefined : tried
        },
        settle: (permit) => {
          const now = runner.now()
          const answered = admission.answeredEntries(permit.entries, permit.admittedAt, now)
          if (answered.length > 0) local.adjust(answered, { _tag: "Redate", takenAtMillis: permit.admittedAt }, now)
          admission.releaseNow(runner, local, permit as Waiter)
        },
        feedback: (response, demands) =>
          feedbackQuiet(local, response, demands) || feedbackNow(local, response, demands) !== undefined
      }
      Object.defineProperty(service, admission.SyncId, { value: sync, enumerable: false })
    }
    return service
  })

/**
 * Provides a throttler over the {@link QuotaStore} in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Throttler.Options = {}): Layer.Layer<Throttler, never, QuotaStore.QuotaStore> =>
  Layer.scoped(Throttler, make(options))

/**
 * Provides a throttler with its own in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (
  options: Throttler.Options & { readonly store?: QuotaStore.QuotaStore.MemoryOptions } = {}
): Layer.Layer<Throttler> => layer(options).pipe(Layer.provide(QuotaStore.layerMemory(options.store)))
