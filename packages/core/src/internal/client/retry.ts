/**
 * The one home of retry decisions: whether a request whose send did not settle it is sent again,
 * and when. Nothing else in the client decides a resend; the Throttler only learns from answers
 * (its pauses hold buckets back at admission, which is not a resend).
 *
 * - **whether**: what the status says about whether the request ran (`fateOfStatus`,
 *   `fateOfBatchError`), whether it may be sent again when it may have run (`resendable`: its own
 *   `idempotent` marker, else the client's rule for its method), and whether a dependency's fate
 *   is unknown (`unknownOutcomes`);
 * - **when**: Retry-After when the answer gives one, else the backoff `Schedule` (stepped per
 *   request), within the attempts, the retry time since the first send, and the run's deadline
 *   (`Ledger.decide`).
 *
 * @internal
 */
import { Clock, Duration, Effect, Option, Schedule, ScheduleDecision, ScheduleIntervals } from "effect"
import type { Headers } from "@effect-msgraph/spec/BatchRequest"
import * as RetryAfter from "@effect-msgraph/spec/RetryAfter"

/** How resends are bounded and spaced; `GraphClient.Options` resolved. */
export interface RetryPolicy {
  /** Attempts per request, the first included. */
  readonly maxAttempts: number
  /** No resend is scheduled past this long after a request was first sent. */
  readonly maxRetryMillis: number
  /** Which methods may be resent after a send that may have run (a request's marker overrides it). */
  readonly idempotent: (method: string) => boolean
  /** Delay before a resend whose answer carries no Retry-After. */
  readonly backoff: Schedule.Schedule<unknown, unknown>
}

/** Exponential from 1 s, doubling, with jitter, each delay capped at 60 s. */
export const defaultBackoff: Schedule.Schedule<unknown, unknown> = Schedule.exponential(Duration.seconds(1), 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(60)))
)

const idempotentMethods = new Set(["GET", "PUT", "DELETE"])

/** GET, PUT and DELETE may be resent after a send that may have run; POST and PATCH may not. */
export const defaultIdempotent = (method: string): boolean => idempotentMethods.has(method.toUpperCase())

/** Whether a request ran: `no` (it certainly did not) or `maybe` (it may have). */
export type Ran = "no" | "maybe"

/**
 * What an item's own status says about whether it ran: 429 and 509 are throttling answers, given
 * instead of running it (`no`); after a 503 or 504 it may or may not have run (`maybe`): Graph's
 * documentation does not say, and a 504 is a gateway that stopped waiting for the service that
 * runs the item. Any other status is the item's outcome (`undefined`: not resent).
 */
export const fateOfStatus = (status: number): Ran | undefined =>
  status === 429 || status === 509 ? "no" : status === 503 || status === 504 ? "maybe" : undefined

/**
 * What a failed `$batch` call says about its items, none of which got an answer of its own:
 * `rejected` (a 4xx other than 429: nothing ran, and sending it again would be rejected again,
 * so each item ends with the batch's error), `no` (a 429, or a call that never left the
 * process), else `maybe` (a 5xx, a transport failure once sent, an unreadable answer).
 */
export const fateOfBatchError = (
  error: { readonly _tag: string; readonly status?: number; readonly sent?: boolean }
): Ran | "rejected" => {
  if (error._tag === "BatchRejected") return error.status === 429 ? "no" : "rejected"
  return error._tag === "BatchTransportError" && error.sent === false ? "no" : "maybe"
}

/** Statuses whose resends, once exhausted, end the request `Throttled`. */
export const throttling = (status: number): boolean => status === 429 || status === 503 || status === 504 || status === 509

/**
 * Whether a request may be sent again after a send that may have run: its own `idempotent`
 * marker, else the policy's rule for its method.
 */
export const resendable = (policy: RetryPolicy, method: string, marker: boolean | undefined): boolean =>
  marker ?? policy.idempotent(method)

/** One request of a batch that its send left unsettled, for {@link unknownOutcomes}. */
export interface Unsettled {
  readonly id: string
  readonly ran: Ran
  /** {@link resendable} for it. */
  readonly resendable: boolean
}

/**
 * Which of one batch's unsettled requests (in batch order, dependencies before dependents) end
 * `UnknownOutcome` instead of being resent: one that may have run and may not be resent, and one
 * that may have run and depends on such a request (it may have run after its dependency did).
 * Every other one is resent when {@link Ledger.decide} allows, whatever its method.
 */
export const unknownOutcomes = (
  entries: ReadonlyArray<Unsettled>,
  dependencies: (id: string) => ReadonlyArray<string>
): ReadonlySet<string> => {
  const unknown = new Set<string>()
  for (const entry of entries) {
    if (entry.ran === "maybe" && (!entry.resendable || dependencies(entry.id).some((d) => unknown.has(d)))) {
      unknown.add(entry.id)
    }
  }
  return unknown
}

/** Why a request stopped being resent: attempts spent, `maxRetryTime` reached, or the deadline. */
export type GiveUpReason = "Attempts" | "RetryTime" | "Deadline"

/**
 * The decision for one unsettled answer: resend no earlier than `at`, or give up. Both carry the
 * answer's Retry-After in milliseconds, when it had a valid one.
 */
export type Decision =
  | { readonly _tag: "Resend"; readonly at: number; readonly retryAfterMillis: number | undefined }
  | { readonly _tag: "GiveUp"; readonly reason: GiveUpReason; readonly retryAfterMillis: number | undefined }

/** The last answer of a request waiting for its resend. */
export interface LastAnswer {
  readonly status: number
  readonly retryAfterMillis: number | undefined
}

/** A request's entry in the {@link Ledger}: each field unset until its first value. */
interface Entry {
  tries: number | undefined
  firstSent: number | undefined
  notBefore: number | undefined
  schedule: { readonly state: unknown } | undefined
  last: LastAnswer | undefined
}

/**
 * What one run knows per request to decide its resends: attempts, first send, the earliest next
 * send, the backoff schedule's state and the last answer, in one entry per request (one lookup
 * where there were five maps). Entries live from a request's first send to its outcome (`forget`).
 */
export class Ledger {
  private readonly entries = new Map<string, Entry>()

  constructor(
    readonly policy: RetryPolicy,
    /** Every request of the run ends by this instant (`Infinity`: no deadline). */
    readonly deadlineAt: number
  ) {}

  private entry(id: string): Entry {
    let entry = this.entries.get(id)
    if (entry === undefined) {
      entry = { tries: undefined, firstSent: undefined, notBefore: undefined, schedule: undefined, last: undefined }
      this.entries.set(id, entry)
    }
    return entry
  }

  /** Sends so far (0 before the first). */
  attempts(id: string): number {
    return this.entries.get(id)?.tries ?? 0
  }

  /** A send is about to leave at `now`: one more attempt. */
  sending(id: string, now: number): void {
    const entry = this.entry(id)
    entry.tries = (entry.tries ?? 0) + 1
    entry.firstSent ??= now
  }

  /** A send that did not count: Graph did not run the request (a 424 caused by packing). */
  uncount(id: string): void {
    const entry = this.entry(id)
    entry.tries = (entry.tries ?? 1) - 1
  }

  /** A send made by an earlier run (resuming), counted as this request's one attempt. */
  sentBefore(id: string): void {
    this.entry(id).tries = 1
  }

  /** How long the batch of these requests waits before it may go, from `now`. */
  waitMillis(ids: Iterable<string>, now: number): number {
    let wait = 0
    for (const id of ids) wait = Math.max(wait, (this.entries.get(id)?.notBefore ?? 0) - now)
    return wait
  }

  /** The last answer of a request waiting for its resend, if it got one. */
  lastAnswer(id: string): LastAnswer | undefined {
    return this.entries.get(id)?.last
  }

  /**
   * Whether and when a request answered `status` (with `headers`, when it had some) is resent:
   * Retry-After when valid, else the backoff's next step; given up when the attempts are spent or
   * the schedule is done (`Attempts`), or when the resend would come more than `maxRetryMillis`
   * after the first send or after the deadline (`Deadline` when the deadline comes first, else
   * `RetryTime`). A resend is recorded (its earliest time and this answer).
   */
  decide(id: string, status: number, headers: Headers | undefined): Effect.Effect<Decision> {
    return Effect.gen(this, function*() {
      const now = yield* Clock.currentTimeMillis
      const first = this.entries.get(id)?.firstSent ?? now
      const given = Option.map(yield* RetryAfter.delayFromHeaders(headers), Duration.toMillis)
      const retryAfterMillis = Option.getOrUndefined(given)
      const delay = this.attempts(id) < this.policy.maxAttempts ? yield* this.nextDelay(id, given, now) : Option.none()
      if (Option.isNone(delay)) return { _tag: "GiveUp", reason: "Attempts", retryAfterMillis } as const
      const at = now + delay.value
      if (at - first > this.policy.maxRetryMillis || at > this.deadlineAt) {
        const reason = this.deadlineAt < first + this.policy.maxRetryMillis ? "Deadline" : "RetryTime"
        return { _tag: "GiveUp", reason, retryAfterMillis } as const
      }
      const entry = this.entry(id)
      entry.notBefore = at
      entry.last = { status, retryAfterMillis }
      return { _tag: "Resend", at, retryAfterMillis } as const
    })
  }

  /** Delay before the next attempt: Retry-After when given, else the backoff schedule's step. */
  private nextDelay(id: string, given: Option.Option<number>, now: number): Effect.Effect<Option.Option<number>> {
    if (Option.isSome(given)) return Effect.succeed(given)
    const schedule = this.policy.backoff
    const kept = this.entries.get(id)?.schedule
    const state = kept === undefined ? schedule.initial : kept.state
    return Effect.map(schedule.step(now, undefined, state as never), ([next, , decision]) => {
      this.entry(id).schedule = { state: next }
      if (ScheduleDecision.isDone(decision)) return Option.none()
      return Option.some(Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
    })
  }

  /** A settled request is never sent again: drop what was kept for it. */
  forget(id: string): void {
    this.entries.delete(id)
  }

  /** Values held, per field (for the memory tests). */
  held(): { readonly attempts: number; readonly firstSent: number; readonly notBefore: number; readonly schedules: number } {
    let attempts = 0, firstSent = 0, notBefore = 0, schedules = 0
    for (const entry of this.entries.values()) {
      if (entry.tries !== undefined) attempts++
      if (entry.firstSent !== undefined) firstSent++
      if (entry.notBefore !== undefined) notBefore++
      if (entry.schedule !== undefined) schedules++
    }
    return { attempts, firstSent, notBefore, schedules }
  }
}
