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
 * there is none) and learns the bucket's real limit when Graph is stricter than documented: it applies
 * a margin under the share of the limit the client had used when Graph refused, then probes upwards
 * by halving the gap, one clean window at a time, until it is within `precision`.
 * `x-ms-throttle-limit-percentage` tells how full Graph's bucket is: on the identity resource-unit
 * buckets, fitted against the units the client had answered (`x-ms-resource-unit`), it gives Graph's
 * capacity at the first report, and batches admitted before on a share it shows too high are not
 * sent but admitted again (`Admission.Permission.stale`); on other buckets it reveals an upper bound
 * on the capacity, and >= 0.8 (or a low `RateLimit-Remaining`) not explained by the client's own
 * pace slows admission down. Every delay is a `Schedule` in {@link Throttler.Policy}.
 *
 * Bucket state lives in a {@link QuotaStore}; `layerMemory` brings its own in-memory store.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import type * as Scope from "effect/Scope"
import type { Demand } from "@effect-msgraph/spec/Bucket"
import type { Waiter } from "./internal/throttle/admissionQueue.js"
import * as LimitEstimate from "./internal/throttle/limitEstimate.js"
import * as runner from "./internal/throttle/runner.js"
import * as throttlerFeedback from "./internal/throttle/feedback.js"
import * as QuotaStore from "./QuotaStore.js"
import { CostExceedsCapacity, InvalidDemand, type ThrottleError } from "./ThrottleError.js"
import * as ThrottleFeedback from "./ThrottleFeedback.js"
import * as ThrottlePriority from "./ThrottlePriority.js"

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
 * What the caller knows of an answered request's timing, for {@link ThrottlerService.answered}.
 *
 * @since 0.1.0
 * @category models
 */
export interface AnsweredOptions {
  /**
   * How long before now its window units may be dated (default 0: at the answer). Sound when it is
   * at most the least time from Graph's count of this request to its answer, plus the least time
   * from the admission of any later request on the same windows to Graph's count of that one: a
   * window checks admissions, and a request admitted `W` after the date is then counted at least
   * `W` after this one was. Both are assumptions of the caller (a latency model, see
   * `Admission.LeastLatency`); never earlier than the admission.
   */
  readonly datedBeforeMillis?: number | undefined
}

/**
 * A request to admit, for {@link ThrottlerService.admitAll}.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdmitRequest {
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
 * - `lowered`: buckets whose effective limit this answer lowered (a 429 that taught something new);
 * - `restored`: buckets a success cleared of their backoff (and counted towards a probe upwards);
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
  /**
   * When the request was admitted (its permit's `admittedAt`), if known: a 429 for a request
   * admitted before its bucket's limit was last lowered went out at the old share, and teaches
   * nothing new. Without it, the answer is taken as news.
   */
  readonly admittedAt?: number | undefined
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
   * counting from the answer is the only date that is sure not to be early. Its units are no longer
   * in flight (see `QuotaStore.MemoryOptions.unitsInFlight`): a token bucket refills fully again, and
   * a window's units, counted as taken now until then, are dated now (or `datedBeforeMillis` earlier, see
   * {@link AnsweredOptions}). Nothing changes for concurrency buckets, nor for windows that do not
   * count flights when no time has passed.
   */
  readonly answered: (permit: Permit, options?: AnsweredOptions) => Effect.Effect<void, QuotaStore.QuotaStoreError>
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
    requestOf: (item: A) => AdmitRequest
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
   * Every pause and adaptation policy (whether and when a request is resent is the client's:
   * `GraphClient.Options`). Schedules are stepped once per event on each implicated bucket
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
    /** Utilisation from which responses slow admission down (default 0.8). */
    readonly slowdownThreshold: number
    /**
     * After a 429, the bucket's limit becomes `margin` times the share of the documented limit the
     * client had used in it when Graph refused (known with the in-memory store; default 0.9).
     */
    readonly margin: number
    /**
     * After a 429 when the share used is unknown (a store other processes share), the limit becomes
     * at most this times the share applied until then (default 0.5), and at most `margin` times it.
     */
    readonly decrease: number
    /**
     * After a 429 the limit probes upwards, halving the gap between the share it sustained for a
     * whole clean window and the share Graph refused, one clean window per step, until the gap is at
     * most this share of the refused one (default 0.05). A clean window is the bucket's window, or
     * the time a token bucket takes to refill, or 10 s for a concurrency cap.
     */
    readonly precision: number
    /**
     * Lowest effective limit, as a share of the catalogue's (default 0.005: Graph 200 times stricter).
     * 1 turns adaptation off.
     */
    readonly floor: number
    /**
     * Clean windows after which a limit that has settled probes one `precision` step upwards again,
     * in case Graph's limit grew back (default 10).
     */
    readonly reprobeWindows: number
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
  slowdownThreshold: 0.8,
  margin: LimitEstimate.defaults.margin,
  decrease: LimitEstimate.defaults.decrease,
  precision: LimitEstimate.defaults.precision,
  floor: LimitEstimate.defaults.floor,
  reprobeWindows: LimitEstimate.defaults.reprobeWindows,
  maxPauseMillis: 24 * 60 * 60 * 1000
}

/** A lead is at most half the ageing step, so it reorders requests within a level, never across. */
const leadOf = (options: AdmitOptions | undefined, agingMillis: number): number => {
  const lead = options?.leadMillis
  return lead !== undefined && Number.isFinite(lead) && lead > 0 ? Math.min(lead, agingMillis / 2) : 0
}

const isThrottleError = (u: unknown): u is ThrottleError => u instanceof CostExceedsCapacity || u instanceof InvalidDemand

/** `tryAdmit` as a step: the permit, `undefined` when the request cannot go now, or why it never can. */
const tryAdmitStep = (
  run: runner.Runner,
  agingMillis: number,
  demands: ReadonlyArray<Demand>,
  options: AdmitOptions | undefined
): runner.Step<Permit | undefined> | ThrottleError => {
  const entries = runner.normalise(demands)
  if (!Array.isArray(entries)) return entries as ThrottleError
  return runner.tryAdmit(run, entries, ThrottlePriority.level(options?.priority), leadOf(options, agingMillis))
}

/**
 * `admitAll`: each item waits as a record in the admission queue, and is emitted when admitted.
 */
const admitAllOver = (run: runner.Runner): ThrottlerService["admitAll"] => <A, E, R>(
  items: Stream.Stream<A, E, R>,
  requestOf: (item: A) => AdmitRequest
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
          for (const waiter of run.queue.waiters()) {
            if (waiter.listener === listener) run.queue.cancel(waiter)
          }
        })
      )
      yield* items.pipe(
        Stream.runForEach((item) =>
          Effect.sync(() => {
            const { demands, priority } = requestOf(item)
            const entries = runner.normalise(demands)
            if (!Array.isArray(entries)) {
              emit.single({ _tag: "Rejected", item, error: entries as ThrottleError })
              return
            }
            pending++
            run.queue.arrive(entries as ReadonlyArray<Demand>, ThrottlePriority.level(priority), listener, item)
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

// once per answered item: no stack trace, which costs more than the rest of the span
const spanned = <A, E>(effect: Effect.Effect<A, E>, response: ThrottleFeedback.Response) =>
  Effect.withSpan(effect, "Throttler.feedback", { attributes: { status: response.status }, captureStackTrace: false })

/** The service over a runner; `feedback` decides what answers change. */
const serviceOver = (
  run: runner.Runner,
  feedback: throttlerFeedback.Feedback,
  policy: Throttler.Policy,
  agingMillis: number
): ThrottlerService => {
  const admit: ThrottlerService["admit"] = (demands, opts) =>
    Effect.suspend((): Effect.Effect<Permit, ThrottleError | QuotaStore.QuotaStoreError> => {
      const entries = runner.normalise(demands)
      if (!Array.isArray(entries)) return Effect.fail(entries as ThrottleError)
      return runner.unsafeAdmit(run, entries, ThrottlePriority.level(opts?.priority), leadOf(opts, agingMillis))
    })
  const release = (permit: Permit) => Effect.suspend(() => runner.toEffect(runner.release(run, permit as Waiter)))
  return {
    admit,
    tryAdmit: (demands, opts) =>
      Effect.suspend((): Effect.Effect<Option.Option<Permit>, ThrottleError | QuotaStore.QuotaStoreError> => {
        const step = tryAdmitStep(run, agingMillis, demands, opts)
        return isThrottleError(step)
          ? Effect.fail(step as ThrottleError)
          : Effect.map(runner.toEffect(step as runner.Step<Permit | undefined>), Option.fromNullable)
      }),
    release,
    answered: (permit, opts) => Effect.suspend(() => runner.toEffect(runner.answered(run, permit as Waiter, opts?.datedBeforeMillis))),
    withPermit: (demands, opts) => (self) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(admit(demands, opts)), (permit) =>
          runner.holdsPermits(permit.entries)
            ? Effect.ensuring(restore(self), Effect.ignore(release(permit)))
            : restore(self))
      ),
    admitAll: admitAllOver(run),
    feedback: (response, demands) =>
      spanned(Effect.suspend(() => runner.toEffect(feedback.feedback(response, demands))), response),
    feedbackAll: (answers) => Effect.suspend(() => runner.toEffect(feedback.feedbackAll(answers))),
    policy,
    waiting: Effect.sync(() => run.queue.waiting)
  }
}

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
    const run = yield* runner.makeRunner(store, agingMillis)
    const feedback = throttlerFeedback.make(run, policy)
    return runner.registerDirect(serviceOver(run, feedback, policy, agingMillis), {
      runner: run,
      tryAdmit: (demands, opts) => {
        const step = tryAdmitStep(run, agingMillis, demands, opts)
        // the caller checked the demands: one the throttler refuses outright is a defect
        return isThrottleError(step) ? Effect.die(step) : step as runner.Step<Permit | undefined>
      },
      settle: (permit, datedBeforeMillis) => {
        feedback.released(permit.entries as ReadonlyArray<Demand>)
        const answered = runner.answered(run, permit as Waiter, datedBeforeMillis)
        return Effect.isEffect(answered)
          ? runner.andThen(answered, () => runner.release(run, permit as Waiter))
          : runner.release(run, permit as Waiter)
      },
      feedbackAll: feedback.feedbackAll,
      stale: (permit) => feedback.stale(permit.entries, permit.admittedAt),
      revoke: (permit) => runner.andThen(runner.revoke(run, permit as Waiter), () => feedback.revoked(permit.entries as ReadonlyArray<Demand>)),
      roomFor: (permits) => feedback.roomFor(permits.map((p) => p.entries as ReadonlyArray<Demand>)),
      sending: (permit) => feedback.sending(permit.entries as ReadonlyArray<Demand>, permit.admittedAt)
    })
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
