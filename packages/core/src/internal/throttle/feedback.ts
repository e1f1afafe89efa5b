/**
 * What the `Throttler` learns from an answer: pauses (Retry-After, backoff, slowdown), adaptive
 * limits, charges. There is one path for every store: each answer is decided here once, and what it
 * changes is applied through the runner's port, at once with the in-memory store and as Effects with
 * any other (see `runner.Step`). Only stepping a `Schedule` is always an Effect. (`Option`s are
 * Effects too, so what a step yields is always a record, never a bare `Option`.)
 *
 * @internal
 */
import { Deferred, Effect, Exit, FiberId, Option, type Schedule, ScheduleDecision, ScheduleIntervals } from "effect"
import type { Demand, Limit } from "@effect-msgraph/spec/Bucket"
import * as RetryAfter from "@effect-msgraph/spec/RetryAfter"
import * as ThrottleFeedback from "../../ThrottleFeedback.js"
import type { AnsweredRequest, FeedbackResult, Throttler } from "../../Throttler.js"
import * as CapacityGauge from "./capacityGauge.js"
import * as LimitEstimate from "./limitEstimate.js"
import { andThen, keysOf, normalise, type Runner, type Step, toEffect } from "./runner.js"

const maxStreaks = 100_000

/** Per-bucket estimates kept at most; beyond it, those idle longest are forgotten. */
const maxEstimates = 100_000

/**
 * An estimate without feedback for this long is forgotten: the bucket starts again from the
 * documented limit (three times Outlook's 10-minute window, the longest in the catalogue).
 */
const estimateMemoryMillis = 30 * 60_000

/**
 * While a lowered estimate holds, its factor is written to the store again at least this often, so
 * that the store does not forget it as unused (see `QuotaStore.MemoryOptions.adaptiveMemoryMillis`).
 */
const refreshMillis = 60_000

/**
 * How far the server's utilisation figure may exceed the client's own view of its buckets and still
 * be put down to the client's own requests (rounding, requests still in flight).
 */
const explainedMargin = 0.05

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
  /** The last report per gauged bucket, aligned once the event's answers are all in. */
  readonly reports: Map<string, { demand: Demand; used: number }>
}

/** No bucket (what most answers lower, restore or charge). */
const noKeys: ReadonlyArray<string> = []

/** An event's answers yield nothing (see `apply`). */
const nothing = (): undefined => undefined

/** The room check of a batch without gauged buckets: it may always go (see `Feedback.roomFor`). */
const noRoomNeeded = (): undefined => undefined

/** What an answer changed, before its signals are attached. */
type Changes = Omit<FeedbackResult, "signals">

const unchanged: Changes = { paused: Option.none(), lowered: [], restored: [], charged: [] }

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
const isResourceUnitBucket = (d: Demand): boolean => d.measure === "resourceUnits"

/**
 * The buckets whose real capacity Graph's reports reveal (see `capacityGauge`): identity and access
 * resource units, token buckets, which `x-ms-resource-unit` and `x-ms-throttle-limit-percentage`
 * are about.
 */
const isGauged = (d: Demand): boolean => d.limit._tag === "TokenBucket" && isResourceUnitBucket(d)

/**
 * The bucket an `x-ms-throttle-limit-percentage` is about: Graph reports on the fullest of a request's
 * identity limits. For a request with no write quota that is a resource-unit bucket, and the one with
 * the least documented capacity (the application and tenant pair's, not the application's across
 * every tenant). A write's report may be about its write quota, so it teaches no capacity.
 */
const reportedBucket = (entries: ReadonlyArray<Demand>): Demand | undefined => {
  let found: Demand | undefined
  for (const d of entries) {
    if (d.writeQuota) return undefined
    if (!isGauged(d) || d.limit._tag !== "TokenBucket") continue
    if (found === undefined || (found.limit._tag === "TokenBucket" && d.limit.capacity < found.limit.capacity)) found = d
  }
  return found
}

/**
 * After a report, the client keeps no more tokens in a gauged bucket than Graph's has left below
 * this share of its capacity. 1: only what Graph certainly no longer has is charged. A lower
 * target would also leave room for the units in flight that Graph has not counted yet, but it
 * charges again the units Graph has counted and the client took at admission, and at the
 * documented limits that cost a second of sending at the first report.
 */
const alignTarget = 1

/** Gauges kept at most; beyond it, the idlest are forgotten. */
const maxGauges = 10_000

/**
 * A gauged bucket lowered by more than this share makes what was admitted on it before stale (see
 * `Feedback.stale`); a smaller move is the fit's noise.
 */
const staleDrop = 0.05

/** @internal */
export interface Feedback {
  /** One answer, with what it did. */
  readonly feedback: (response: ThrottleFeedback.Response, demands: ReadonlyArray<Demand>) => Step<FeedbackResult>
  /** The answers of one response, in order, as one event per bucket (see `ThrottlerService.feedbackAll`). */
  readonly feedbackAll: (answers: ReadonlyArray<AnsweredRequest>) => Step<void>
  /**
   * Whether entries admitted at `admittedAt` went out on a share Graph has since shown to be wrong:
   * a gauged bucket among them was lowered by more than `staleDrop`, or Graph refused a request on
   * it. Such a batch, not sent yet, would only meet 429s: it is better admitted again.
   */
  readonly stale: (entries: ReadonlyArray<{ readonly key: string }>, admittedAt: number) => boolean
  /**
   * A stale permit's units were given back: a gauged bucket reported on since is aligned again with
   * Graph's last report, so that the refund does not hand out room Graph no longer has.
   */
  readonly revoked: (entries: ReadonlyArray<Demand>) => Step<void>
  /**
   * The question asked just before permits' entries (each of one batch's permits, one list each)
   * are sent, and again after each wait: `undefined` when they may go now; otherwise an Effect that
   * ends when it is worth asking again. A gauged bucket whose capacity Graph has not told yet holds
   * its units in flight to `CapacityGauge.allowance`; one with nothing in flight lets any batch go.
   * The entries are read once, here.
   */
  readonly roomFor: (entries: ReadonlyArray<ReadonlyArray<Demand>>) => () => Effect.Effect<void> | undefined
  /**
   * A permit found not stale is sent: its gauged buckets count its units in flight until answered
   * (`released`). `sent` identifies the permit (its entries array).
   */
  readonly sending: (entries: ReadonlyArray<Demand>, admittedAt: number) => void
  /** A permit is released (answered, or not sent): the units `sending` counted are in flight no more. */
  readonly released: (entries: ReadonlyArray<Demand>) => void
}

/** The per-bucket schedule state, and the stepping of the backoff and slowdown schedules. */
interface Streaks {
  /** A success: the buckets' streaks end. */
  readonly end: (entries: ReadonlyArray<Demand>) => void
  readonly backoffUntil: (
    hit: ReadonlyArray<Demand>,
    fresh: ReadonlyArray<Demand>,
    now: number,
    signals: ThrottleFeedback.Signals
  ) => Step<number>
  /** The latest end of the slowdown step of each of `slowed`. */
  readonly slowdownUntil: (slowed: ReadonlyArray<Demand>, now: number, used: number) => Effect.Effect<number>
}

const makeStreaks = (policy: Throttler.Policy): Streaks => {
  const streaks = new Map<string, Streak>()
  const cap = (millis: number) => Math.min(millis, policy.maxPauseMillis)
  const of = (key: string, now: number): Streak => {
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
      streak = { backoff: policy.backoff.initial, slowdown: policy.slowdown.initial, lastBackoffMillis: 0, updatedAt: now }
      streaks.set(key, streak)
    }
    streak.updatedAt = now
    return streak
  }

  /** The latest end of the hit buckets' backoff, stepping the schedule of those this event has not stepped. */
  const backoffUntil = (
    hit: ReadonlyArray<Demand>,
    fresh: ReadonlyArray<Demand>,
    now: number,
    signals: ThrottleFeedback.Signals
  ): Step<number> => {
    const from = (i: number, until: number): Step<number> => {
      for (; i < hit.length; i++) {
        const streak = of(hit[i]!.key, now)
        if (fresh.includes(hit[i]!)) {
          const next = i
          return Effect.flatMap(stepDelay(policy.backoff, streak.backoff, now, signals), (step) => {
            streak.backoff = step.state
            if (step.delayMillis !== undefined) streak.lastBackoffMillis = step.delayMillis
            return toEffect(from(next + 1, Math.max(until, now + cap(streak.lastBackoffMillis))))
          })
        }
        until = Math.max(until, now + cap(streak.lastBackoffMillis))
      }
      return until
    }
    return from(0, now)
  }

  return {
    end: (entries) => {
      if (streaks.size === 0) return
      for (const d of entries) streaks.delete(d.key)
    },
    backoffUntil,
    slowdownUntil: (slowed, now, used) =>
      Effect.reduce(slowed, now, (until, d) => {
        const streak = of(d.key, now)
        return Effect.map(stepDelay(policy.slowdown, streak.slowdown, now, used), (step) => {
          streak.slowdown = step.state
          return step.delayMillis === undefined ? until : Math.max(until, now + cap(step.delayMillis))
        })
      })
  }
}

/** A bucket's learnt limit (see `limitEstimate`), and what the store was last told. */
interface Learnt {
  estimate: LimitEstimate.Estimate
  /** The factor the store was last given (1 before any). */
  applied: number
  appliedAt: number
  updatedAt: number
}

/**
 * How long a bucket takes to start afresh: a window's length, or a token bucket's refill of its
 * whole capacity. A clean stretch this long at a share proves it. A concurrency cap is not adapted
 * (`undefined`): a 429 that does not name its bucket implicates the mailbox's window and its cap
 * alike, and the requests held at that moment say nothing about how many Graph allows at once.
 */
const cleanWindowOf = (limit: Limit): number | undefined => {
  switch (limit._tag) {
    case "Window":
      return limit.windowMillis
    case "TokenBucket":
      return (limit.capacity / limit.refillPerSecond) * 1000
    case "Concurrency":
      return undefined
  }
}

/** A window's documented limit, which its estimate counts in whole requests; `undefined` otherwise. */
const windowUnits = (limit: Limit): number | undefined => limit._tag === "Window" ? limit.limit : undefined

/** Whether a bucket's limit is learnt (see `cleanWindowOf`). */
const adapts = (d: Demand): boolean => d.limit._tag !== "Concurrency"

/**
 * One `Learnt` per bucket that Graph has shown to be stricter than documented; bounded. An estimate
 * idle for `estimateMemoryMillis` starts again from the documented limit (the store is told so by
 * the next `learn`).
 */
const makeEstimates = () => {
  const learnt = new Map<string, Learnt>()
  const fresh = (found: Learnt, now: number): Learnt => {
    if (now - found.updatedAt > estimateMemoryMillis) {
      found.estimate = LimitEstimate.initial(now)
      found.updatedAt = now
    }
    return found
  }
  return {
    /** The bucket's estimate, if it has one. */
    get: (key: string, now: number): Learnt | undefined => {
      const found = learnt.get(key)
      return found === undefined ? undefined : fresh(found, now)
    },
    /** The bucket's estimate, started at the documented limit if it has none. */
    of: (key: string, now: number): Learnt => {
      const found = learnt.get(key)
      if (found !== undefined) return fresh(found, now)
      if (learnt.size >= maxEstimates) {
        // forget those back at the documented limit and idle, then the oldest, down to half
        for (const [k, l] of learnt) {
          if (l.applied >= 1 && now - l.updatedAt > estimateMemoryMillis) learnt.delete(k)
        }
        for (const k of learnt.keys()) {
          if (learnt.size < maxEstimates / 2) break
          learnt.delete(k)
        }
      }
      const made: Learnt = { estimate: LimitEstimate.initial(now), applied: 1, appliedAt: now, updatedAt: now }
      learnt.set(key, made)
      return made
    }
  }
}

/** What each kind of answer changes, applied through the runner's port. */
const makeChanges = (runner: Runner, policy: Throttler.Policy) => {
  const port = runner.port
  const streaks = makeStreaks(policy)
  const estimates = makeEstimates()
  const gauges = new Map<string, CapacityGauge.Gauge>()
  /** Per gauged bucket, when admissions on it last went stale (see `Feedback.stale`). */
  const invalidated = new Map<string, number>()
  /**
   * The entries of the permits sent and not released yet, with how many such permits hold them
   * (permits of requests priced alike may share one entries array; see `Feedback.released`).
   */
  const out = new WeakMap<ReadonlyArray<Demand>, number>()
  /** Per gauged bucket, the batches waiting for its units in flight to come down (see `Feedback.roomFor`). */
  const roomWaiters = new Map<string, Deferred.Deferred<void>>()
  const wakeRoom = (key: string) => {
    const waiting = roomWaiters.get(key)
    if (waiting === undefined) return
    roomWaiters.delete(key)
    Deferred.unsafeDone(waiting, Exit.void)
  }
  const invalidate = (key: string, now: number) => {
    if (!invalidated.has(key) && invalidated.size >= maxGauges) invalidated.clear()
    invalidated.set(key, now)
  }
  const cap = (millis: number) => Math.min(millis, policy.maxPauseMillis)

  /**
   * Moves a bucket's estimate to `next`, and has the store apply its factor when it changed (or
   * when the store was last told long ago). Returns whether the factor went down.
   */
  const learn = (d: Demand, learnt: Learnt, next: LimitEstimate.Estimate, now: number): Step<boolean> => {
    const before = learnt.applied
    learnt.estimate = next
    learnt.updatedAt = now
    if (next.factor === before && (next.factor >= 1 || now - learnt.appliedAt < refreshMillis)) return false
    if (isGauged(d) && next.factor < before * (1 - staleDrop)) invalidate(d.key, now)
    learnt.applied = next.factor
    learnt.appliedAt = now
    return andThen(port.adjust([d], { _tag: "Scale", factor: next.factor }, now), () => next.factor < before)
  }

  const loweredKeys = (d: Demand, down: boolean): ReadonlyArray<string> => down ? [d.key] : noKeys

  /** `learn` for each of `list` in order; the keys whose factor went down. */
  const learnEach = (
    list: ReadonlyArray<Demand>,
    next: (d: Demand, learnt: Learnt) => LimitEstimate.Estimate | undefined,
    now: number
  ): Step<ReadonlyArray<string>> => {
    const lowered: Array<string> = []
    const from = (i: number): Step<ReadonlyArray<string>> => {
      for (; i < list.length; i++) {
        const d = list[i]!
        const learnt = estimates.of(d.key, now)
        const estimate = next(d, learnt)
        if (estimate === undefined) continue
        const step = learn(d, learnt, estimate, now)
        if (Effect.isEffect(step)) {
          const at = i
          return andThen(step, (down) => {
            if (down) lowered.push(d.key)
            return from(at + 1)
          })
        }
        if (step) lowered.push(d.key)
      }
      return lowered
    }
    return from(0)
  }

  // Feedback is about what was sent: invalid demands cannot have been admitted, so use the
  // positive-cost ones as given.
  const sentEntries = (demands: ReadonlyArray<Demand>): ReadonlyArray<Demand> => {
    const normalised = normalise(demands)
    return Array.isArray(normalised)
      ? normalised as ReadonlyArray<Demand>
      : demands.filter((d) => Number.isFinite(d.cost) && d.cost > 0)
  }

  /**
   * Whether a utilisation hint is the client's own pace: its fullest bucket among `hit` is within
   * `explainedMargin` of what the server reports. Admission already keeps that pace within the
   * limit, so it needs no pause; a hint well above it means others use the same quota. Unknown (so
   * not explained) with a store that other processes may share.
   */
  const explainedLocally = (hit: ReadonlyArray<Demand>, used: number, now: number): boolean => {
    const utilisation = port.utilisation
    if (utilisation === undefined) return false
    let own = 0
    for (const d of hit) own = Math.max(own, utilisation(d, now))
    return own >= used - explainedMargin
  }

  /** A bucket's gauge, made (starting at `start`) when it has none or was idle too long. */
  const gaugeOf = (key: string, now: number, start: number): CapacityGauge.Gauge => {
    let gauge = gauges.get(key)
    if (gauge !== undefined && now - gauge.updatedAt > estimateMemoryMillis) gauge = undefined
    if (gauge === undefined) {
      if (gauges.size >= maxGauges) {
        // the first made are the first forgotten, down to half
        for (const k of gauges.keys()) {
          if (gauges.size < maxGauges / 2) break
          gauges.delete(k)
        }
      }
      gauge = CapacityGauge.make(Math.min(start, now))
      gauges.set(key, gauge)
    }
    return gauge
  }

  /**
   * Graph answered a request without refusing it, so it took its units: its gauged buckets count
   * them (`x-ms-resource-unit` when the answer says, else the estimate).
   */
  const took = (signals: ThrottleFeedback.Signals | undefined, entries: ReadonlyArray<Demand>, now: number, admittedAt: number) => {
    for (const d of entries) {
      if (!isGauged(d)) continue
      const units = signals !== undefined && Option.isSome(signals.resourceUnits) ? signals.resourceUnits.value : d.cost
      const gauge = gaugeOf(d.key, now, admittedAt)
      gauge.settled += d.cost
      CapacityGauge.took(gauge, units, now)
      // the allowance grew with the units answered
      if (!CapacityGauge.known(gauge)) wakeRoom(d.key)
    }
  }

  /** Whether Graph took an answered request's units: it answered it and did not refuse it. */
  const tookUnits = (status: number): boolean => status >= 200 && status < 500 && status !== 429

  /**
   * A report that `used` of a gauged bucket is in use, or a 429 on it: the capacity it reveals
   * becomes the share of the documented limit applied.
   */
  const gaugeReport = (
    d: Demand,
    used: number | "refused",
    now: number,
    admittedAt: number
  ): Step<ReadonlyArray<string>> => {
    if (d.limit._tag !== "TokenBucket") return noKeys
    const documented = d.limit.capacity
    const k = d.limit.refillPerSecond / documented
    const gauge = gaugeOf(d.key, now, admittedAt)
    const capacity = used === "refused" ? CapacityGauge.refused(gauge, now, k) : CapacityGauge.reported(gauge, used, now, k)
    if (capacity === undefined) return noKeys
    // a lower bound only: a bucket this full would have reported from 0.8, so probe up to that much more
    const upTo = CapacityGauge.fitted(gauge) ? undefined : capacity / CapacityGauge.reportedFrom / documented
    // `learnEach` of one bucket, without its list and closures: most answers carry a report
    const learnt = estimates.of(d.key, now)
    const step = learn(d, learnt, LimitEstimate.gauged(learnt.estimate, now, capacity / documented, policy, upTo), now)
    return Effect.isEffect(step) ? Effect.map(step, (down) => loweredKeys(d, down)) : loweredKeys(d, step)
  }

  /**
   * After a report, this process keeps no more tokens in a gauged bucket than Graph has left below
   * `alignTarget` of its capacity: what it held beyond is charged. Graph's bucket is the one that
   * answers 429; a client that started full, or refilled while Graph's did not, would otherwise
   * spend what Graph no longer has. Only with a store that tells this process's own use.
   */
  const align = (d: Demand, used: number, now: number, inFlight = 0): Step<void> => {
    const utilisation = port.utilisation
    const capacity = gauges.get(d.key)?.capacity
    if (utilisation === undefined || capacity === undefined || d.limit._tag !== "TokenBucket") return undefined
    const held = (1 - utilisation(d, now)) * d.limit.capacity
    const excess = held - ((alignTarget - used) * capacity - inFlight)
    return excess > 1e-6 ? port.adjust([{ ...d, cost: excess }], { _tag: "Charge" }, now) : undefined
  }

  /** The alignments an event's reports call for, once its answers are all in. */
  const alignAll = (stepped: Stepped, now: number): Step<void> => {
    if (stepped.reports.size === 0) return undefined
    const reports = [...stepped.reports.values()]
    stepped.reports.clear()
    const from = (i: number): Step<void> => {
      for (; i < reports.length; i++) {
        const step = align(reports[i]!.demand, reports[i]!.used, now)
        if (Effect.isEffect(step)) {
          const next = i + 1
          return andThen(step, () => from(next))
        }
      }
      return undefined
    }
    return from(0)
  }

  const pause = (entries: ReadonlyArray<Demand>, until: number, now: number): Step<void> =>
    entries.length === 0 ? undefined : port.pause(entries, until, now)

  /**
   * A success: the buckets' streaks end, a bucket with a lowered estimate counts a clean window
   * towards its next probe upwards, and their waiters look again. A bucket never lowered costs
   * one map lookup.
   */
  const restore = (entries: ReadonlyArray<Demand>, now: number): Step<void> => {
    streaks.end(entries)
    if (entries.length === 0) return undefined
    return restoreFrom(entries, 0, now)
  }

  /** Whether a success probes a bucket's estimate upwards: it was lowered. */
  const probes = (d: Demand, now: number): boolean => {
    if (!adapts(d)) return false
    const learnt = estimates.get(d.key, now)
    return learnt !== undefined && !(learnt.applied >= 1 && learnt.estimate.factor >= 1 && learnt.estimate.hi >= 1)
  }

  const probed = (d: Demand, learnt: Learnt, now: number): LimitEstimate.Estimate =>
    LimitEstimate.succeeded(learnt.estimate, now, cleanWindowOf(d.limit) ?? 0, policy, windowUnits(d.limit))

  /**
   * `restore`'s probes, then the wake. While the store answers at once, each bucket is probed as
   * it is found, with no list or continuation (every answer of the bench's independent GETs probes
   * its resource-unit buckets, lowered by the reports); a probe reads only its own bucket's
   * estimate, so that decides as listing them first would. At the first probe the store answers
   * with an Effect, the rest are listed before it runs, as before.
   */
  const restoreFrom = (entries: ReadonlyArray<Demand>, i: number, now: number): Step<void> => {
    for (; i < entries.length; i++) {
      const d = entries[i]!
      if (!probes(d, now)) continue
      const learnt = estimates.get(d.key, now)!
      const step = learn(d, learnt, probed(d, learnt, now), now)
      if (Effect.isEffect(step)) {
        const rest = entries.slice(i + 1).filter((e) => probes(e, now))
        return andThen(
          step,
          () => andThen(learnEach(rest, (e, l) => probed(e, l, now), now), () => runner.queue.wakeEntries(entries))
        )
      }
    }
    return runner.queue.wakeEntries(entries)
  }

  /** A 429: pauses the implicated buckets and lowers those this event has not lowered yet. */
  const throttled = (
    signals: ThrottleFeedback.Signals,
    entries: ReadonlyArray<Demand>,
    now: number,
    admittedAt: number,
    stepped: Stepped | undefined
  ): Step<Changes> => {
    const hit = ThrottleFeedback.implicated(signals, entries)
    // the buckets this event has not stepped yet: only they step and are lowered
    const fresh = firstTime(stepped?.backoff, hit)
    const retryAfter = signals.retryAfter
    const until = Option.isSome(retryAfter)
      ? now + cap(RetryAfter.delayMillis(retryAfter.value, now))
      : streaks.backoffUntil(hit, fresh, now, signals)
    const reason = Option.isSome(retryAfter) ? "RetryAfter" as const : "Backoff" as const
    const utilisation = port.utilisation
    // a gauged bucket learns its capacity from the refusal as from any report (Graph had no room
    // left); the others step down
    const gauged = hit.filter(isGauged)
    for (const d of gauged) invalidate(d.key, now)
    for (const d of entries) if (isGauged(d)) gaugeOf(d.key, now, admittedAt).settled += d.cost
    const reports = (i: number): Step<unknown> => {
      for (; i < gauged.length; i++) {
        const step = gaugeReport(gauged[i]!, "refused", now, admittedAt)
        if (Effect.isEffect(step)) {
          const next = i + 1
          return andThen(step, () => reports(next))
        }
      }
      return undefined
    }
    return andThen(andThen(until, (untilMillis) => andThen(reports(0), () => untilMillis)), (untilMillis) =>
      andThen(andThen(pause(hit, untilMillis, now), () => drain(hit, now)), () =>
        andThen(
          fresh.length > 0
            ? learnEach(blamed(fresh.filter((d) => adapts(d) && !isGauged(d)), now), (d, learnt) =>
              LimitEstimate.throttled(
                learnt.estimate,
                now,
                admittedAt,
                // what this process used of the bucket; unknown with a store others may share
                utilisation === undefined ? undefined : utilisation(d, now),
                untilMillis,
                policy,
                utilisation === undefined || d.limit._tag !== "Window"
                  ? undefined
                  : { costShare: d.cost / d.limit.limit, windowMillis: d.limit.windowMillis }
              ), now)
            : [],
          (lowered) => ({
            ...unchanged,
            paused: Option.some({ keys: keysOf(hit), untilMillis, reason }),
            lowered
          })
        )))
  }

  /**
   * The buckets a 429 lowers: of its windows, only those `LimitEstimate.suspects` names, when this
   * process knows what it used of each (the pause still covers every implicated bucket); the other
   * kinds of bucket as given.
   */
  const blamed = (adapting: ReadonlyArray<Demand>, now: number): ReadonlyArray<Demand> => {
    const utilisation = port.utilisation
    if (utilisation === undefined) return adapting
    const windows: Array<Demand> = []
    for (const d of adapting) if (d.limit._tag === "Window") windows.push(d)
    if (windows.length < 2) return adapting
    const suspect = LimitEstimate.suspects(windows.map((d) => {
      const units = (d.limit as Extract<Limit, { _tag: "Window" }>).limit
      return { units, used: utilisation(d, now) * units, cost: d.cost }
    }))
    return adapting.filter((d) => d.limit._tag !== "Window" || suspect[windows.indexOf(d)])
  }

  /**
   * A 429 says Graph's bucket is empty: a token bucket of this process that still holds tokens
   * (admitted at a share above Graph's, or refilled while Graph's was not) is charged what it holds,
   * so that after the pause it sends at the refill rate instead of bursting into an empty bucket.
   * A gauged bucket in debt (its limit was lowered below the units it had in flight, see
   * `capacityGauge`) is given back the refused request's units instead, up to the debt: Graph did
   * not take them, and its empty bucket is what the client's should mirror, not a debt of requests
   * Graph never counted. Only with a store that tells this process's own use.
   */
  const drain = (hit: ReadonlyArray<Demand>, now: number): Step<void> => {
    const utilisation = port.utilisation
    if (utilisation === undefined) return undefined
    const held: Array<Demand> = []
    for (const d of hit) {
      if (d.limit._tag !== "TokenBucket") continue
      const tokens = (1 - utilisation(d, now)) * d.limit.capacity
      if (tokens > 0) held.push({ ...d, cost: tokens })
      else if (tokens < 0 && isGauged(d)) held.push({ ...d, cost: -Math.min(d.cost, -tokens) })
    }
    return held.length === 0 ? undefined : port.adjust(held, { _tag: "Charge" }, now)
  }

  /** A 503 with Retry-After: pauses the implicated buckets until then. */
  const unavailable = (
    signals: ThrottleFeedback.Signals,
    retryAfter: RetryAfter.RetryAfter,
    entries: ReadonlyArray<Demand>,
    now: number
  ): Step<Changes> => {
    const hit = ThrottleFeedback.implicated(signals, entries)
    const untilMillis = now + cap(RetryAfter.delayMillis(retryAfter, now))
    return andThen(pause(hit, untilMillis, now), () => ({
      ...unchanged,
      paused: Option.some({ keys: keysOf(hit), untilMillis, reason: "Unavailable" as const })
    }))
  }

  /**
   * A success restores its buckets, and charges what the server says it cost beyond the estimate.
   * `detailed`: whether the caller reads the keys restored and charged (one answer on its own);
   * an event of several answers does not, and is spared the lists.
   */
  const succeeded = (
    signals: ThrottleFeedback.Signals,
    entries: ReadonlyArray<Demand>,
    now: number,
    detailed: boolean
  ): Step<Changes> => {
    const restored = restore(entries, now)
    return Effect.isEffect(restored)
      ? andThen(restored, () => chargeExtra(signals, entries, now, detailed))
      : chargeExtra(signals, entries, now, detailed)
  }

  /** The rest of `succeeded`, once its buckets are restored. */
  const chargeExtra = (
    signals: ThrottleFeedback.Signals,
    entries: ReadonlyArray<Demand>,
    now: number,
    detailed: boolean
  ): Step<Changes> => {
    const restored = detailed && entries.length > 0 ? keysOf(entries) : []
    const done = detailed ? { ...unchanged, restored } : unchanged
    if (Option.isNone(signals.resourceUnits)) return done
    const units = signals.resourceUnits.value
    let extra: Array<Demand> | undefined
    for (const d of entries) {
      if (isResourceUnitBucket(d) && units > d.cost) (extra ??= []).push({ ...d, cost: units - d.cost })
    }
    if (extra === undefined) return done
    const charged = extra
    // The server says the request cost more than estimated: take the difference, now, whether or
    // not the bucket has it (a negative balance delays later requests).
    return andThen(
      port.adjust(charged, { _tag: "Charge" }, now),
      () => detailed ? { ...unchanged, restored, charged: keysOf(charged) } : unchanged
    )
  }

  /**
   * A utilisation hint at or above the threshold that the client's own pace does not explain (or
   * `RateLimit-Remaining: 0`): steps the slowdown schedule of the buckets this event has not slowed
   * yet, and pauses them unless the answer paused them already.
   */
  const slowdown = (
    signals: ThrottleFeedback.Signals,
    entries: ReadonlyArray<Demand>,
    now: number,
    admittedAt: number,
    stepped: Stepped | undefined,
    changes: Changes
  ): Step<Changes> => {
    // a report on a gauged bucket: its capacity is learnt and its tokens aligned, which replaces
    // the slowdown (see `capacityGauge`)
    const reported = signals.succeeded && Option.isSome(signals.limitPercentage) ? reportedBucket(entries) : undefined
    if (reported !== undefined) {
      const share = (signals.limitPercentage as Option.Some<number>).value
      const lowered = gaugeReport(reported, share, now, admittedAt)
      return Effect.isEffect(lowered)
        ? andThen(lowered, (keys) => afterReport(reported, share, now, stepped, changes, keys))
        : afterReport(reported, share, now, stepped, changes, lowered)
    }
    const used = Option.getOrElse(ThrottleFeedback.utilisation(signals), () => 0)
    const learnt = learnCapacity(entries, used, now)
    return Effect.isEffect(learnt)
      ? andThen(learnt, () => slowdownAt(signals, entries, now, stepped, changes, used))
      : slowdownAt(signals, entries, now, stepped, changes, used)
  }

  /** The rest of `slowdown` after a report, once the bucket's capacity is learnt. */
  const afterReport = (
    reported: Demand,
    share: number,
    now: number,
    stepped: Stepped | undefined,
    changes: Changes,
    lowered: ReadonlyArray<string>
  ): Step<Changes> => {
    const next = lowered.length === 0 ? changes : { ...changes, lowered: [...changes.lowered, ...lowered] }
    if (stepped === undefined) return andThen(align(reported, share, now), () => next)
    // the event's last report per bucket is the one aligned (see `alignAll`)
    const last = stepped.reports.get(reported.key)
    if (last === undefined) stepped.reports.set(reported.key, { demand: reported, used: share })
    else {
      last.demand = reported
      last.used = share
    }
    return next
  }

  /**
   * A utilisation figure from Graph: when this process's own use of its fullest bucket is a
   * smaller share of the documented limit than Graph reports of its real one, Graph's capacity is
   * about their ratio (an upper bound learnt without a 429; see `LimitEstimate.reported`). Only with a
   * store that tells this process's own use; the fullest bucket is the one Graph reports on.
   */
  const learnCapacity = (entries: ReadonlyArray<Demand>, used: number, now: number): Step<unknown> => {
    const utilisation = port.utilisation
    if (utilisation === undefined || !(used > 0)) return undefined
    let fullest: Demand | undefined
    let own = 0
    for (const d of ThrottleFeedback.own(entries)) {
      if (!adapts(d)) continue
      const share = utilisation(d, now)
      if (share > own) {
        own = share
        fullest = d
      }
    }
    if (fullest === undefined || own >= used) return undefined
    return learnEach([fullest], (_, learnt) => LimitEstimate.reported(learnt.estimate, now, own, used, policy), now)
  }

  const slowdownAt = (
    signals: ThrottleFeedback.Signals,
    entries: ReadonlyArray<Demand>,
    now: number,
    stepped: Stepped | undefined,
    changes: Changes,
    used: number
  ): Step<Changes> => {
    const hit = used >= policy.slowdownThreshold ? ThrottleFeedback.own(entries) : []
    if (hit.length === 0 || explainedLocally(hit, used, now)) return changes
    // a bucket this event has slowed already keeps that pause
    const slowed = firstTime(stepped?.slowdown, hit)
    return andThen(streaks.slowdownUntil(slowed, now, used), (stepUntil) => {
      let until = stepUntil
      // RateLimit-Remaining: 0 with a reset time: nothing is left until then.
      if (Option.isSome(signals.rateLimit) && signals.rateLimit.value.remaining <= 0) {
        const reset = signals.rateLimit.value.resetSeconds
        if (Option.isSome(reset)) until = Math.max(until, now + cap(reset.value * 1000))
      }
      if (until <= now || Option.isSome(changes.paused)) return changes
      return andThen(pause(hit, until, now), () => ({
        ...changes,
        paused: Option.some({ keys: keysOf(hit), untilMillis: until, reason: "Slowdown" as const })
      }))
    })
  }

  const stale = (entries: ReadonlyArray<{ readonly key: string }>, admittedAt: number): boolean => {
    if (invalidated.size === 0) return false
    for (const e of entries) {
      const at = invalidated.get(e.key)
      if (at !== undefined && at > admittedAt) return true
    }
    return false
  }

  const sending = (entries: ReadonlyArray<Demand>, admittedAt: number): void => {
    const now = runner.now()
    let gated = false
    for (const d of entries) {
      if (!isGauged(d)) continue
      const gauge = gaugeOf(d.key, now, admittedAt)
      gauge.sent += d.cost
      gauge.outstanding += d.cost
      gated = true
    }
    if (gated) out.set(entries, (out.get(entries) ?? 0) + 1)
  }

  const released = (entries: ReadonlyArray<Demand>): void => {
    const held = out.get(entries)
    if (held === undefined) return
    if (held > 1) out.set(entries, held - 1)
    else out.delete(entries)
    for (const d of entries) {
      if (!isGauged(d)) continue
      const gauge = gauges.get(d.key)
      if (gauge !== undefined) gauge.outstanding = Math.max(0, gauge.outstanding - d.cost)
      wakeRoom(d.key)
    }
  }

  const roomFor = (entries: ReadonlyArray<ReadonlyArray<Demand>>): () => Effect.Effect<void> | undefined => {
    // the units per gauged bucket, in order of first appearance: a batch's permits share a few
    // buckets, so a short list, no Map. Summed once per batch: a batch waiting for room asks again
    // at every wake (about eight times a batch at 1M independent GETs)
    let units: Array<{ readonly key: string; readonly demand: Demand; cost: number }> | undefined
    for (const list of entries) {
      for (const d of list) {
        if (!isGauged(d) || d.limit._tag !== "TokenBucket") continue
        if (units === undefined) units = []
        let seen: { cost: number } | undefined
        for (let i = 0; i < units.length && seen === undefined; i++) if (units[i]!.key === d.key) seen = units[i]
        if (seen === undefined) units.push({ key: d.key, demand: d, cost: d.cost })
        else seen.cost += d.cost
      }
    }
    if (units === undefined) return noRoomNeeded
    const gaugedUnits = units
    return () => {
      const now = runner.now()
      for (const { cost, demand, key } of gaugedUnits) {
        const gauge = gauges.get(key)
        // nothing sent yet, or nothing in flight: any batch may go
        if (gauge === undefined || gauge.outstanding <= 0 || CapacityGauge.known(gauge)) continue
        if (now - gauge.updatedAt > estimateMemoryMillis) continue
        const limit = demand.limit as Extract<Limit, { _tag: "TokenBucket" }>
        const allowed = CapacityGauge.allowance(gauge, limit.capacity, limit.refillPerSecond / limit.capacity, now)
        if (gauge.outstanding + cost <= allowed) continue
        let waiting = roomWaiters.get(key)
        if (waiting === undefined) {
          waiting = Deferred.unsafeMake<void>(FiberId.none)
          roomWaiters.set(key, waiting)
        }
        return Deferred.await(waiting)
      }
      return undefined
    }
  }

  const revoked = (entries: ReadonlyArray<Demand>): Step<void> => {
    const now = runner.now()
    const from = (i: number): Step<void> => {
      for (; i < entries.length; i++) {
        const d = entries[i]!
        if (!isGauged(d) || d.limit._tag !== "TokenBucket") continue
        const gauge = gauges.get(d.key)
        // a report (or 429) of the current streak (older ones say nothing of Graph's bucket now)
        if (gauge === undefined || now - gauge.lastSignalAt > (0.8 * d.limit.capacity / d.limit.refillPerSecond) * 1000) continue
        // and less what was sent since, which Graph may not have counted yet
        const step = align(d, gauge.lastUsed, now, CapacityGauge.inFlight(gauge))
        if (Effect.isEffect(step)) {
          const next = i + 1
          return andThen(step, () => from(next))
        }
      }
      return undefined
    }
    return from(0)
  }

  return { sentEntries, restore, throttled, unavailable, succeeded, slowdown, took, tookUnits, alignAll, stale, revoked, roomFor, sending, released }
}

/** @internal */
export const make = (runner: Runner, policy: Throttler.Policy): Feedback => {
  const { alignAll, released, restore, revoked, roomFor, sending, sentEntries, slowdown, stale, succeeded, throttled, took, tookUnits, unavailable } =
    makeChanges(
    runner,
    policy
  )

  /**
   * `stepped`: the buckets this event has already stepped; `undefined` for a single answer, the
   * only case whose result is read (an event's answers yield `undefined`).
   */
  const apply = (
    signals: ThrottleFeedback.Signals,
    now: number,
    demands: ReadonlyArray<Demand>,
    admittedAt: number | undefined,
    stepped: Stepped | undefined
  ): Step<FeedbackResult | undefined> => {
    const entries = sentEntries(demands)
    const detailed = stepped === undefined
    const result = detailed ? (changes: Changes): FeedbackResult => ({ signals, ...changes }) : nothing
    if (tookUnits(signals.status)) took(signals, entries, now, admittedAt ?? now)
    if (signals.throttled) return andThen(throttled(signals, entries, now, admittedAt ?? now, stepped), result)
    const changes = signals.unavailable && Option.isSome(signals.retryAfter)
      ? unavailable(signals, signals.retryAfter.value, entries, now)
      : signals.succeeded
      ? succeeded(signals, entries, now, detailed)
      : unchanged
    // no continuation to allocate when the changes were made at once (the in-memory store, every time)
    if (!Effect.isEffect(changes)) return andThen(slowdown(signals, entries, now, admittedAt ?? now, stepped, changes), result)
    return andThen(changes, (made) => andThen(slowdown(signals, entries, now, admittedAt ?? now, stepped, made), result))
  }

  /**
   * An answer's signals, or `undefined` when it is decided without them: no throttling header and
   * not a 429 or 509 (with no hint, utilisation reads 0, below any positive slowdown threshold). Then
   * a 2xx restores its buckets and any other status changes nothing, which is what `apply` would
   * decide. One pass over the headers tells both.
   */
  const signalsOf = (response: ThrottleFeedback.Response, now: number): ThrottleFeedback.Signals | undefined =>
    response.status !== 429 && response.status !== 509 && policy.slowdownThreshold > 0
      ? ThrottleFeedback.fromSignalHeaders(response, now)
      : ThrottleFeedback.fromResponse(response, now)

  // once per answered item that waits on an Effect: no stack trace, which costs more than the rest of the span
  const spanned = <A, E>(effect: Effect.Effect<A, E>, response: ThrottleFeedback.Response) =>
    Effect.withSpan(effect, "Throttler.feedback", { attributes: { status: response.status }, captureStackTrace: false })

  /** The answers in order, from `from`; one that waits on an Effect runs before the answers after it. */
  const feedbackFrom = (answers: ReadonlyArray<AnsweredRequest>, from: number, stepped: Stepped): Step<void> => {
    for (let i = from; i < answers.length; i++) {
      const { admittedAt, demands, response } = answers[i]!
      let step: Step<FeedbackResult | undefined | void>
      const now = runner.now()
      const signals = signalsOf(response, now)
      if (signals !== undefined) step = apply(signals, now, demands, admittedAt, stepped)
      else {
        const entries = sentEntries(demands)
        if (tookUnits(response.status)) took(undefined, entries, now, admittedAt ?? now)
        step = response.status >= 200 && response.status < 300 ? restore(entries, now) : undefined
      }
      if (Effect.isEffect(step)) {
        return Effect.flatMap(spanned(step, response), () => toEffect(feedbackFrom(answers, i + 1, stepped)))
      }
    }
    return alignAll(stepped, runner.now())
  }

  return {
    // a single answer's result is always built (`detailed`)
    feedback: (response, demands) => {
      const now = runner.now()
      return apply(ThrottleFeedback.fromResponse(response, now), now, demands, undefined, undefined) as Step<FeedbackResult>
    },
    feedbackAll: (answers) => feedbackFrom(answers, 0, { backoff: new Set(), slowdown: new Set(), reports: new Map() }),
    stale,
    revoked,
    roomFor,
    sending,
    released
  }
}
