/**
 * Drives a workload through `$batch` calls: rounds from the DependencyResolver, admission, the HTTP
 * call, decoding, and one outcome per request (with retries where they are safe).
 *
 * @internal
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import {
  Clock,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  FiberSet,
  Metric,
  MetricBoundaries,
  Option,
  Queue,
  Random,
  Redacted,
  Schedule,
  ScheduleDecision,
  ScheduleIntervals,
  type Tracer
} from "effect"
import type { AdmissionService, Answer } from "../Admission.js"
import type { BatchBuilderService } from "../BatchBuilder.js"
import type { BatchRequestItem, Headers } from "../BatchRequest.js"
import { BatchResponseEnvelope, type BatchResponseItem } from "../BatchResponse.js"
import type { DependencyResolver, DependencyResolverService, PlannedBatch } from "../DependencyResolver.js"
import * as GCE from "../GraphClientError.js"
import * as GraphError from "../GraphError.js"
import * as RetryAfter from "../RetryAfter.js"
import { headerValue } from "./body.js"
import * as fairGate from "./fairGate.js"
import * as bounds from "./jsonBounds.js"
import { regroup, type Retained, schedulerOf } from "./scheduler.js"
import * as transport from "./transport.js"
import * as wire from "./wire.js"
import type { InvalidRequest } from "../CostCalculator.js"
import type { ThrottleError } from "../ThrottleError.js"
import type { TokenError } from "../TokenProvider.js"
import type * as VE from "../ValidationError.js"
import type { ReferencedResponse, Workload } from "../Workload.js"

/** @internal */
export interface Success {
  readonly _tag: "Success"
  readonly id: string
  readonly status: number
  readonly headers: Headers
  readonly body: unknown
  readonly attempts: number
  /** For a request with `pages`: which page this is, from 1. */
  readonly page?: number
  /** For a request with `pages`: whether a later page of it follows (another outcome with its id). */
  readonly more?: boolean
}

/** @internal */
export interface Failure {
  readonly _tag: "Failure"
  readonly id: string
  readonly error: GCE.RequestFailure | GCE.BatchError | TokenError | ThrottleError | InvalidRequest
  readonly attempts: number
  /**
   * Graph's own answer to this request, when it ended on one (an error status, or the last 429, 503
   * or 504 its retries got): the item as the batch response carried it, headers and body included.
   */
  readonly response?: BatchResponseItem
  /** For a request with `pages`: the page that failed, from 1 (the pages before it succeeded). */
  readonly page?: number
}

/** @internal */
export type Outcome = Success | Failure

/** @internal */
export interface Summary {
  readonly _tag: "Summary"
  readonly requests: number
  readonly succeeded: number
  readonly failed: number
  readonly throttled429: number
  readonly retries: number
  readonly batches: number
  readonly roundTrips: number
  readonly durationMs: number
}

/** @internal */
export interface Settings {
  readonly baseUrl: string
  readonly version: "v1.0" | "beta"
  readonly maxAttempts: number
  readonly maxRetryMillis: number
  /** Every request ends within this long of the run's start (`Infinity`: no deadline). */
  readonly deadlineMillis: number
  readonly concurrency: number
  /** One `$batch` round trip, from sending to the last byte of the answer. */
  readonly timeoutMillis: number
  readonly idempotent: (method: string) => boolean
  readonly backoff: Schedule.Schedule<unknown, unknown>
  readonly planning: DependencyResolver.Options
}

/** @internal */
export interface Deps {
  readonly http: HttpClient.HttpClient
  readonly token: Effect.Effect<Redacted.Redacted<string>, TokenError>
  readonly builder: BatchBuilderService
  readonly resolver: DependencyResolverService
  readonly admission: AdmissionService
  readonly settings: Settings
}

/** @internal */
export const requestsTotal = Metric.counter("msgraph_requests_total", { description: "request outcomes by status" })
/** @internal */
export const throttledTotal = Metric.counter("msgraph_throttled_total", { description: "429 answers (items and batches)" })
/** @internal */
export const retriesTotal = Metric.counter("msgraph_retries_total", { description: "requests resubmitted" })
/** @internal */
export const batchesTotal = Metric.counter("msgraph_batches_total", { description: "$batch calls sent" })
/** @internal */
export const queueDepth = Metric.gauge("msgraph_queue_depth", { description: "requests not yet settled" })
/** @internal */
export const admissionWait = Metric.histogram(
  "msgraph_admission_wait_ms",
  MetricBoundaries.exponential({ start: 1, factor: 4, count: 10 }),
  "time a batch waited for admission"
)

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

/**
 * Version 4 GUIDs for one run: xoshiro128** seeded with 128 bits from Effect's `Random`, so tests
 * stay deterministic, without an Effect per draw (eight per GUID, for every request).
 */
const guidSource = Effect.gen(function*() {
  const word = Effect.zipWith(Random.nextIntBetween(0, 0x10000), Random.nextIntBetween(0, 0x10000), (hi, lo) => hi * 0x10000 + lo)
  let s0 = yield* word, s1 = yield* word, s2 = yield* word, s3 = yield* word
  // an all-zero state would only ever give zeros
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 11)
    return result
  }
  return (): string => {
    const a = next(), b = next(), c = next(), d = next()
    return `${hex(a, 8)}-${hex(b >>> 16, 4)}-${hex(0x4000 | (b & 0x0fff), 4)}-${hex(0x8000 | ((c >>> 16) & 0x3fff), 4)}-${hex(c & 0xffff, 4)}${hex(d, 8)}`
  }
})

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k))

const requestsByStatus = new Map<number, Metric.Metric.Counter<number>>()
/** `requestsTotal` tagged with a status, made once per status. */
const requestsWithStatus = (status: number) => {
  let counter = requestsByStatus.get(status)
  if (counter === undefined) {
    counter = Metric.tagged(requestsTotal, "status", String(status))
    requestsByStatus.set(status, counter)
  }
  return counter
}

const withinBytes = (batch: PlannedBatch) =>
  bounds.envelopeBytes(batch.requests, bounds.MAX_BATCH_BYTES, bounds.ADDED_BYTES_PER_ITEM) <= bounds.MAX_BATCH_BYTES

/**
 * What an item's own status says about whether it ran: 429 and 509 are throttling answers, given
 * instead of running it (`notRun`); after a 503 or 504 it may or may not have run (`mayHaveRun`):
 * Graph's documentation does not say, and a 504 is a gateway that stopped waiting for the service
 * that runs the item. Any other status is the item's outcome.
 */
const itemFate = (status: number): "notRun" | "mayHaveRun" | undefined =>
  status === 429 || status === 509 ? "notRun" : status === 503 || status === 504 ? "mayHaveRun" : undefined

/** Statuses whose retries, once exhausted, end `Throttled`. */
const throttling = (status: number) => status === 429 || status === 503 || status === 504 || status === 509

/**
 * A request whose send ended without an answer that settles it: resent, or settled here.
 * `ran` is what the answer says about whether it ran; `onGiveUp` is its error once retries run out.
 */
interface Unsettled {
  readonly item: BatchRequestItem
  readonly ran: "no" | "maybe"
  readonly status: number
  readonly headers: Headers | undefined
  readonly unknown: () => GCE.UnknownOutcome
  /** Its error once retries run out, given the last answer's Retry-After in milliseconds. */
  readonly onGiveUp: (retryAfterMillis: number | undefined) => Failure["error"]
  /** The request's own answer, when Graph answered it (not the batch as a whole). */
  readonly response?: BatchResponseItem
}

/**
 * What a run holds per request, counted: map entries of the executor and the scheduler's
 * {@link Retained}.
 *
 * @internal
 */
export interface Held {
  readonly attempts: number
  readonly firstSent: number
  readonly notBefore: number
  readonly schedules: number
  readonly correlation: number
  readonly spans: number
  readonly scheduler: Retained | undefined
}

/**
 * Test-only: when `onRun` is set, every run hands it a function that counts what the run holds, so
 * tests can check that settled requests leave nothing behind.
 *
 * @internal
 */
export const probe: { onRun: ((held: () => Held) => void) | undefined } = { onRun: undefined }

type BatchResult =
  | {
    readonly _tag: "Envelope"
    readonly responses: ReadonlyArray<BatchResponseItem>
    readonly missing: ReadonlyArray<string>
    /** Some items were answered twice, differently (they are in `missing`). */
    readonly contradicted: boolean
  }
  | { readonly _tag: "Error"; readonly error: GCE.BatchError; readonly headers: Headers }
  | { readonly _tag: "NoToken"; readonly error: TokenError }

/**
 * Stopping a run early: once `stop` completes, no further batch is sent; the batches in flight
 * finish, or are abandoned when `abandon` completes; then the run ends with its summary.
 *
 * @internal
 */
export interface Stop {
  readonly stop: Effect.Effect<void>
  readonly abandon: Effect.Effect<void>
}

/**
 * What a run started for one further page of a paged request shares with the run it belongs to:
 * the send slots (so `concurrency` bounds both) and the deadline.
 */
interface Parent {
  readonly sending: fairGate.FairGate
  readonly deadlineAt: number
}

/** The `@odata.nextLink` of a page's body, if it has one. */
const nextLinkOf = (body: unknown): string | undefined => {
  if (typeof body !== "object" || body === null || Array.isArray(body) || body instanceof Uint8Array) return undefined
  const link = (body as Record<string, unknown>)["@odata.nextLink"]
  return typeof link === "string" ? link : undefined
}

/**
 * A request that ended in an earlier run of the same workload: `succeeded` says whether its
 * dependents may run; `response` is what references to it read.
 *
 * @internal
 */
export interface Completed {
  readonly id: string
  readonly succeeded: boolean
  readonly response: ReferencedResponse
}

/**
 * One request of a `$batch` call about to be sent, for `Resume.onSend`: `resendable` is the client's
 * rule for it (its `idempotent` marker, else the client's `idempotent` option for its method).
 *
 * @internal
 */
export interface Sending {
  readonly id: string
  readonly resendable: boolean
}

/**
 * Continuing a workload that an earlier run left unfinished, and recording what is sent:
 * - `completed`: requests that already have an outcome; they are not sent and get none, their
 *   dependents run (or end `DependencyFailed`) as if they had just ended, reading their responses;
 * - `sent`: requests an earlier run sent without learning their outcome: the resendable ones are
 *   sent again, the others end `UnknownOutcome` (cause `Interrupted`) unless `resendUnknown`;
 * - `onSend`: called before every `$batch` call leaves, which waits for it.
 *
 * @internal
 */
export interface Resume {
  readonly completed?: Iterable<Completed> | undefined
  readonly sent?: Iterable<string> | undefined
  readonly resendUnknown?: boolean | undefined
  readonly onSend?: ((requests: ReadonlyArray<Sending>) => Effect.Effect<void>) | undefined
}

/**
 * Runs a workload; every request gets exactly one outcome through `emit` (a request with `pages`,
 * one per page, the last with `more` unset or false), which is given the
 * outcomes settled together (a batch's successes, say) in one call. After `control.stop`, the
 * requests not settled by the end get none. With `resume`, the requests `completed` in an earlier
 * run get none either, and the summary's `requests` leaves them out.
 *
 * @internal
 */
export const runWorkload = (
  deps: Deps,
  workload: Workload,
  emit: (outcomes: ReadonlyArray<Outcome>) => Effect.Effect<void>,
  control?: Stop,
  resume?: Resume,
  parent?: Parent
): Effect.Effect<Summary, VE.WorkloadError> =>
  Effect.gen(function*() {
    const { settings } = deps
    // set once `control.stop` completes; `inFlight` holds the batches sent since then not yet processed
    let stopping = false
    const inFlight = new Set<string>()
    const started = yield* Clock.currentTimeMillis
    const deadlineAt = parent?.deadlineAt ?? started + settings.deadlineMillis
    const run = yield* deps.resolver.start(workload, { concurrency: settings.concurrency, ...settings.planning })
    const attempts = new Map<string, number>()
    const firstSent = new Map<string, number>()
    const notBefore = new Map<string, number>()
    const schedules = new Map<string, unknown>()
    // one client-request-id per request, kept across retries, so Graph (and the emulator's audit)
    // can tell a resend from a new request
    const correlation = new Map<string, string>()
    const nextGuid = yield* guidSource
    const correlate = (item: BatchRequestItem): BatchRequestItem => {
      if (headerValue(item.headers, "client-request-id") !== undefined) return item
      let guid = correlation.get(item.id)
      if (guid === undefined) {
        guid = nextGuid()
        correlation.set(item.id, guid)
      }
      return { ...item, headers: { ...item.headers, "client-request-id": guid } }
    }
    const stats = { succeeded: 0, failed: 0, throttled429: 0, retries: 0, batches: 0, roundTrips: 0 }
    // send slots go to batches in the order they were admitted (see `fairGate`)
    const sending = parent?.sending ?? (yield* fairGate.make(settings.concurrency))
    const batchUrl = `${settings.baseUrl.replace(/\/+$/, "")}/${settings.version}/$batch`

    // one span per request, from its first send (or its settlement, if never sent) to its outcome
    const spans = new Map<string, Tracer.Span>()
    const openSpan = (item: BatchRequestItem) =>
      spans.has(item.id)
        ? Effect.void
        : Effect.map(
          // one span per request: no stack trace, which costs more than the rest of the span
          Effect.makeSpan("GraphClient.request", {
            attributes: { "request.id": item.id, "request.method": item.method },
            kind: "client",
            captureStackTrace: false
          }),
          (span) => void spans.set(item.id, span)
        )
    probe.onRun?.(() => ({
      attempts: attempts.size,
      firstSent: firstSent.size,
      notBefore: notBefore.size,
      schedules: schedules.size,
      correlation: correlation.size,
      spans: spans.size,
      scheduler: schedulerOf.get(run)?.retained()
    }))
    const closeSpan = (outcome: Outcome, now: bigint) => {
      const span = spans.get(outcome.id)
      if (span === undefined) return
      spans.delete(outcome.id)
      span.attribute("request.attempts", outcome.attempts)
      span.attribute("request.outcome", outcome._tag === "Success" ? String(outcome.status) : outcome.error._tag)
      span.end(now, outcome._tag === "Success" ? Exit.void : Exit.fail(outcome.error._tag))
    }

    /** Settles requests: counts, metrics, spans, then one `emit` for all of them. */
    const finishAll = (outcomes: ReadonlyArray<Outcome>) =>
      Effect.suspend(() => {
        if (outcomes.length === 0) return Effect.void
        const byStatus = new Map<number, number>()
        for (const outcome of outcomes) {
          // a paged request is counted once, by its last page
          if (outcome._tag === "Success") stats.succeeded += outcome.more === true ? 0 : 1
          else stats.failed++
          // a settled request is never sent again: keep only what dependents still read
          notBefore.delete(outcome.id)
          lastAnswer.delete(outcome.id)
          schedules.delete(outcome.id)
          correlation.delete(outcome.id)
          firstSent.delete(outcome.id)
          attempts.delete(outcome.id)
          const status = outcome._tag === "Success" ? outcome.status : "error" in outcome && "status" in outcome.error
            ? (outcome.error as { status: number }).status
            : 0
          byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
        }
        return Effect.zipRight(
          Effect.flatMap(Clock.currentTimeNanos, (now) => {
            for (const outcome of outcomes) closeSpan(outcome, now)
            return Effect.forEach(byStatus, ([status, n]) => Metric.incrementBy(requestsWithStatus(status), n), { discard: true })
          }),
          emit(outcomes)
        )
      })
    const finish = (outcome: Outcome) => finishAll([outcome])

    const settleDependents = (ids: ReadonlyArray<string>) =>
      Effect.forEach(ids, (id) => {
        const outcome = run.outcome(id)
        if (outcome?._tag !== "DependencyFailed") return Effect.void
        return finish({
          _tag: "Failure",
          id,
          error: new GCE.DependencyFailed({ id, dependency: outcome.dependency, status: outcome.status }),
          attempts: attempts.get(id) ?? 0
        })
      }, { discard: true })

    const fail = (id: string, status: number, error: Failure["error"], response?: BatchResponseItem) =>
      Effect.suspend(() => {
        // a request settled already (by a dependency's failure) keeps its first outcome
        if (run.outcome(id) !== undefined) return Effect.void
        const dependents = run.fail(id, status, response)
        return Effect.zipRight(
          finish({ _tag: "Failure", id, error, attempts: attempts.get(id) ?? 0, ...(response === undefined ? {} : { response }) }),
          settleDependents(dependents)
        )
      })

    /** Delay before the next attempt: Retry-After when given, else the backoff schedule. */
    const nextDelay = (id: string, given: Option.Option<number>) =>
      Effect.gen(function*() {
        if (Option.isSome(given)) return given
        const now = yield* Clock.currentTimeMillis
        const schedule = settings.backoff
        const state = schedules.has(id) ? schedules.get(id) : schedule.initial
        const [next, , decision] = yield* schedule.step(now, undefined, state as never)
        schedules.set(id, next)
        if (ScheduleDecision.isDone(decision)) return Option.none()
        return Option.some(Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
      })

    // ---- bounded waits (the run's deadline) ----

    /** The last answer of a request waiting to be resent: what `Throttled` reports if it ends waiting. */
    const lastAnswer = new Map<string, { readonly status: number; readonly retryAfterMillis: number | undefined }>()

    /** `Throttled` with what ended it, and the Retry-After it was given; other errors as they are. */
    const givenUp = (
      error: Failure["error"],
      reason: NonNullable<GCE.Throttled["reason"]>,
      retryAfterMillis: number | undefined
    ): Failure["error"] =>
      error._tag === "Throttled"
        ? new GCE.Throttled({
          id: error.id,
          status: error.status,
          attempts: error.attempts,
          ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
          reason
        })
        : error

    /**
     * Ends, at the deadline, requests still waiting to be sent (for admission, or for their resend):
     * `Throttled` with their last answer's status (0 if never answered). Dependents first, so that
     * their own outcome is `Throttled` rather than `DependencyFailed` when both were waiting.
     */
    const expire = (items: ReadonlyArray<BatchRequestItem>) =>
      Effect.forEach([...items].reverse(), (item) => {
        const last = lastAnswer.get(item.id)
        const error = new GCE.Throttled({
          id: item.id,
          status: last?.status ?? 0,
          attempts: attempts.get(item.id) ?? 0,
          ...(last?.retryAfterMillis === undefined ? {} : { retryAfterMillis: last.retryAfterMillis }),
          reason: "Deadline"
        })
        return fail(item.id, error.status, error)
      }, { discard: true })

    /**
     * Retry if attempts and time allow; otherwise settle with `onGiveUp`. A resend that would come
     * after the deadline is not waited for: the request ends now.
     */
    const retry = (
      id: string,
      status: number,
      headers: Headers | undefined,
      /** Gets the last answer's Retry-After in milliseconds, when it had one. */
      onGiveUp: (retryAfterMillis: number | undefined) => Failure["error"],
      /** The request's own answer, when Graph answered it (not the batch as a whole). */
      response?: BatchResponseItem
    ) =>
      Effect.gen(function*() {
        if (run.outcome(id) !== undefined) return
        const now = yield* Clock.currentTimeMillis
        const tries = attempts.get(id) ?? 0
        const first = firstSent.get(id) ?? now
        const given = Option.map(yield* RetryAfter.delayFromHeaders(headers), Duration.toMillis)
        const retryAfterMillis = Option.getOrUndefined(given)
        const delay = tries < settings.maxAttempts ? yield* nextDelay(id, given) : Option.none()
        if (Option.isNone(delay)) return yield* fail(id, status, givenUp(onGiveUp(retryAfterMillis), "Attempts", retryAfterMillis), response)
        const at = now + delay.value
        if (at - first > settings.maxRetryMillis || at > deadlineAt) {
          const reason = deadlineAt < first + settings.maxRetryMillis ? "Deadline" : "RetryTime"
          return yield* fail(id, status, givenUp(onGiveUp(retryAfterMillis), reason, retryAfterMillis), response)
        }
        notBefore.set(id, at)
        lastAnswer.set(id, { status, retryAfterMillis })
        stats.retries++
        yield* Metric.increment(retriesTotal)
        run.requeue(id)
      })

    const throttled = (id: string, status: number, retryAfterMillis: number | undefined) =>
      new GCE.Throttled({
        id,
        status,
        attempts: attempts.get(id) ?? 0,
        ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
      })

    const send = (batch: PlannedBatch) =>
      Effect.gen(function*() {
        const items = batch.requests.map(correlate)
        const valid = yield* deps.builder.build(items).pipe(Effect.orDie)
        const json = yield* deps.builder.toJson(valid)
        const token = yield* Effect.either(deps.token)
        if (Either.isLeft(token)) return { _tag: "NoToken", error: token.left } satisfies BatchResult as BatchResult
        const request = HttpClientRequest.post(batchUrl).pipe(
          HttpClientRequest.bearerToken(Redacted.value(token.right)),
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUnsafeJson(json)
        )
        // recorded (a journal) before it can leave the process
        if (resume?.onSend !== undefined) {
          yield* resume.onSend(batch.requests.map((item) => ({ id: item.id, resendable: resendable(item) })))
        }
        // stopping: a batch not sent yet never is (the run ends without it)
        if (stopping) return yield* Effect.never
        inFlight.add(batch.id)
        stats.batches++
        yield* Metric.increment(batchesTotal)
        // one timeout for the whole round trip, headers and body: interrupting the exchange aborts it
        const exchanged = yield* deps.http.execute(request).pipe(
          Effect.flatMap((response) =>
            Effect.map(Effect.either(response.text), (text) => ({ status: response.status, headers: response.headers, text }))
          ),
          Effect.either,
          Effect.timeoutTo({ duration: Duration.millis(settings.timeoutMillis), onSuccess: Option.some, onTimeout: Option.none })
        )
        if (Option.isNone(exchanged)) {
          return {
            _tag: "Error",
            error: new GCE.BatchTransportError({
              batchId: batch.id,
              sent: true,
              description: `no complete answer within ${Duration.format(Duration.millis(settings.timeoutMillis))}`
            }),
            headers: {}
          } satisfies BatchResult as BatchResult
        }
        if (Either.isLeft(exchanged.value)) {
          const error = exchanged.value.left
          // a failure while encoding, or before a connection existed, means nothing left this process
          const notSent = error._tag === "RequestError" && error.reason === "Encode"
            ? "Encode"
            : error._tag === "RequestError" && error.reason === "Transport"
            ? transport.notSentCode(error.cause)
            : undefined
          return {
            _tag: "Error",
            error: new GCE.BatchTransportError({
              batchId: batch.id,
              sent: notSent === undefined,
              description: notSent === undefined || notSent === "Encode" ? error.reason : `${error.reason} (${notSent})`
            }),
            headers: {}
          } satisfies BatchResult as BatchResult
        }
        const { status, headers, text } = exchanged.value.right
        const flat: Headers = { ...headers }
        if (Either.isLeft(text)) {
          return {
            _tag: "Error",
            error: new GCE.BatchTransportError({ batchId: batch.id, sent: true, description: "connection lost while reading the response" }),
            headers: flat
          } satisfies BatchResult as BatchResult
        }
        const parsed = Either.try(() => JSON.parse(text.right) as unknown)
        if (status >= 500) {
          const millis = yield* RetryAfter.delayFromHeaders(flat)
          return {
            _tag: "Error",
            error: new GCE.BatchServerError({
              batchId: batch.id,
              status,
              ...(Option.isSome(millis) ? { retryAfterMillis: Duration.toMillis(millis.value) } : {})
            }),
            headers: flat
          } satisfies BatchResult as BatchResult
        }
        if (status >= 400) {
          const body = Either.isRight(parsed) ? GraphError.fromBody(parsed.right) : Option.none()
          return {
            _tag: "Error",
            error: new GCE.BatchRejected({
              batchId: batch.id,
              status,
              ...(Option.isSome(body) ? { error: body.value.error } : {})
            }),
            headers: flat
          } satisfies BatchResult as BatchResult
        }
        const envelope: Either.Either<typeof BatchResponseEnvelope.Type, unknown> = Either.isRight(parsed)
          ? wire.decodeResponseEnvelope(parsed.right)
          : Either.left("malformed JSON")
        if (Either.isLeft(envelope)) {
          return {
            _tag: "Error",
            error: new GCE.BatchDecodeError({
              batchId: batch.id,
              description: Either.isLeft(parsed) ? "malformed JSON" : "not a batch response",
              missing: batch.requests.map((r) => r.id)
            }),
            headers: flat
          } satisfies BatchResult as BatchResult
        }
        // an item answered twice, differently, is as unanswered as a missing one
        const { contradicted, responses } = wire.distinctResponses(envelope.right.responses)
        const seen = new Set(responses.map((r) => r.id.toLowerCase()))
        const missing = batch.requests.map((r) => r.id).filter((id) => !seen.has(id.toLowerCase()))
        return { _tag: "Envelope", responses, missing, contradicted: contradicted.length > 0 } satisfies BatchResult as BatchResult
      })

    /**
     * Whether a request may be sent again after a send that may have run: the caller's `idempotent`
     * marker on the request, else the client's `idempotent` option for its method.
     */
    const resendable = (item: { readonly id: string; readonly method: string }) => run.request(item.id)?.idempotent ?? settings.idempotent(item.method)

    /**
     * The one place that decides whether a sent request without an answer that settles it is sent
     * again (when is `retry`'s: Retry-After, else the backoff, within the attempts and time allowed).
     * `entries` are one batch's, in batch order (dependencies before dependents).
     * - `ran: "no"`: it certainly did not run (a 429 or 509 item, a whole-batch 429, a call that never
     *   left): resent, whatever its method.
     * - `ran: "maybe"`: it may have run (a 503 or 504 item, a batch-level 5xx, a transport failure
     *   once sent, an answer that could not be read or that left it out): resent only when
     *   `resendable`; otherwise it ends UnknownOutcome, and so does every such entry that depends on
     *   one, since it may have run after its dependency did.
     * Unknown entries are settled dependents first, so that settling a dependency cannot mark a
     * sent dependent as DependencyFailed; the rest are then resent in batch order.
     */
    const resendOrSettle = (entries: ReadonlyArray<Unsettled>) =>
      Effect.gen(function*() {
        const unknown = new Set<string>()
        for (const entry of entries) {
          if (
            entry.ran === "maybe" &&
            (!resendable(entry.item) || run.dependencies(entry.item.id).some((d) => unknown.has(d)))
          ) {
            unknown.add(entry.item.id)
          }
        }
        for (let i = entries.length - 1; i >= 0; i--) {
          const entry = entries[i]!
          if (unknown.has(entry.item.id)) yield* fail(entry.item.id, entry.status, entry.unknown(), entry.response)
        }
        for (const entry of entries) {
          if (unknown.has(entry.item.id)) continue
          yield* retry(entry.item.id, entry.status === 0 ? 503 : entry.status, entry.headers, entry.onGiveUp, entry.response)
        }
      })

    /**
     * Items that got no answer of their own: the whole batch failed, or they are missing from the
     * response. A rejected batch (4xx other than 429) ran nothing, so each item ends with that error
     * (dependents first). Otherwise the batch may have run unless it was a 429 or never sent; see
     * `resendOrSettle`.
     */
    const unanswered = (items: ReadonlyArray<BatchRequestItem>, error: GCE.BatchError, headers: Headers) =>
      Effect.gen(function*() {
        const status = "status" in error ? error.status : 0
        if (error._tag === "BatchRejected" && status !== 429) {
          for (const item of [...items].reverse()) yield* fail(item.id, status, error)
          return
        }
        const ambiguous = error._tag !== "BatchRejected" && !(error._tag === "BatchTransportError" && !error.sent)
        yield* resendOrSettle(items.map((item): Unsettled => ({
          item,
          ran: ambiguous ? "maybe" : "no",
          status,
          headers,
          unknown: () => new GCE.UnknownOutcome({ id: item.id, method: item.method, cause: error._tag, detail: error.message }),
          onGiveUp: (retryAfterMillis) => throttling(status) ? throttled(item.id, status, retryAfterMillis) : error
        })))
      })

    /** An item answered 429, 503, 504 or 509 (see `itemFate`), for `resendOrSettle`. */
    const unsettledItem = (item: BatchRequestItem, response: BatchResponseItem, ran: "no" | "maybe"): Unsettled => ({
      item,
      ran,
      status: response.status,
      headers: response.headers ?? {},
      unknown: () => new GCE.UnknownOutcome({ id: item.id, method: item.method, cause: "ItemStatus", status: response.status }),
      onGiveUp: (retryAfterMillis) => throttled(item.id, response.status, retryAfterMillis),
      response
    })

    /** An item's own answer other than 2xx, 424 and the statuses of `itemFate`: its outcome. */
    const processFailure = (item: BatchRequestItem, response: BatchResponseItem) =>
      Effect.gen(function*() {
        const body = GraphError.fromBody(response.body)
        const error = Option.match(body, {
          onNone: () => new GCE.GraphRequestError({ id: item.id, status: response.status, code: "", message: "" }),
          onSome: ({ error }) => {
            const requestId = GraphError.requestIdOf(error)
            const date = GraphError.dateOf(error)
            return new GCE.GraphRequestError({
              id: item.id,
              status: response.status,
              code: GraphError.codes(error)[0] ?? "",
              message: error.message ?? "",
              ...(Option.isSome(requestId) ? { requestId: requestId.value } : {}),
              ...(Option.isSome(date) ? { date: date.value } : {})
            })
          }
        })
        yield* fail(item.id, response.status, error, response)
      })

    /** How many pages a GET with `pages` fetches (`Infinity`: all); undefined for other requests. */
    const pagesOf = (id: string): number | undefined => {
      const request = run.request(id)
      if (request?.pages === undefined || request.method.toUpperCase() !== "GET") return undefined
      return request.pages === "all" ? Infinity : request.pages
    }

    // the fibers fetching further pages of paged requests (see `followPages`), set while the run runs
    let pagers: FiberSet.FiberSet<void, never> | undefined

    /** A page after the first: counted (a paged request is counted by its last page), then emitted. */
    const emitPage = (outcome: Outcome) =>
      Effect.suspend(() => {
        if (outcome._tag === "Failure") stats.failed++
        else if (outcome.more !== true) stats.succeeded++
        return emit([outcome])
      })

    /** Why a page's link was refused, from the workload error the link's one-request run gave. */
    const refusal = (error: VE.WorkloadError): string =>
      error._tag === "ForeignHost"
        ? `${error.hosts.join(", ")} is not the Graph host ${error.expected}`
        : error._tag === "VersionMismatch"
        ? `not a Graph ${error.expected} URL`
        : error._tag === "InvalidUrl"
        ? "not a usable URL"
        : error.message

    /**
     * Fetches the pages after `first`, one after another, in the background: each is a GET of the
     * last page's `@odata.nextLink`, as written (opaque), run as a one-request workload that shares
     * this run's send slots, admission, deadline and stop. The batch rules turn the link into a
     * batch item and refuse one to another host or version, so such a link is never sent; the
     * request then ends `NextLinkRefused`. Every page is emitted with its number.
     */
    const followPages = (first: Success) =>
      Effect.suspend(() => {
        const request = run.request(first.id)!
        const limit = pagesOf(first.id)!
        let depth = run.depth(first.id)
        const refused = (page: number, reason: string): Failure => ({
          _tag: "Failure",
          id: first.id,
          error: new GCE.NextLinkRefused({ id: first.id, page, reason }),
          attempts: 0,
          page
        })
        const fetch = (page: number, link: string): Effect.Effect<void> => {
          let next: string | undefined
          const item = {
            id: first.id,
            method: "GET",
            url: link,
            ...(request.headers === undefined ? {} : { headers: request.headers }),
            ...(request.priority === undefined ? {} : { priority: request.priority })
          }
          const onPage = (outcomes: ReadonlyArray<Outcome>) =>
            Effect.forEach(outcomes, (outcome) => {
              if (outcome._tag === "Failure") return emitPage({ ...outcome, page })
              const link = page < limit ? nextLinkOf(outcome.body) : undefined
              next = link
              return emitPage({ ...outcome, page, more: link !== undefined })
            }, { discard: true })
          // Graph's links are absolute: a relative one would be read against the Graph host unchecked
          if (!/^https?:\/\//i.test(link)) return emitPage(refused(page, "not an absolute http(s) URL"))
          return runWorkload(deps, [item], onPage, control, undefined, { sending, deadlineAt }).pipe(
            Effect.matchEffect({
              onFailure: (error) => emitPage(refused(page, refusal(error))),
              onSuccess: (summary) => {
                stats.batches += summary.batches
                stats.retries += summary.retries
                stats.throttled429 += summary.throttled429
                depth += summary.roundTrips
                stats.roundTrips = Math.max(stats.roundTrips, depth)
                return next === undefined || stopping ? Effect.void : fetch(page + 1, next)
              }
            })
          )
        }
        const link = nextLinkOf(first.body)
        if (link === undefined || pagers === undefined) return Effect.void
        return Effect.asVoid(FiberSet.run(pagers, fetch(2, link)))
      })

    const runBatch = (batch: PlannedBatch) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const wait = Math.max(0, ...batch.requests.map((r) => (notBefore.get(r.id) ?? 0) - now))
        if (wait > 0) yield* Effect.sleep(Duration.millis(Math.min(wait, deadlineAt - now)))
        // past the deadline nothing more is sent
        if ((yield* Clock.currentTimeMillis) >= deadlineAt) return yield* expire(batch.requests)
        const ticket = yield* deps.admission.admit({
          batchId: batch.id,
          shape: batch.shape,
          items: batch.requests.map((request) => ({ request, priority: run.request(request.id)?.priority }))
        })
        // rejected items fail (dependents first, see `unanswered`)
        for (const { error, index } of [...ticket.rejected].reverse()) {
          yield* fail(batch.requests[index]!.id, 0, error)
        }
        const admitStart = yield* Clock.currentTimeMillis
        // admission is waited for until the deadline at most (interrupted, it gives back what it took)
        const acquired = Number.isFinite(deadlineAt)
          ? yield* Effect.timeoutOption(ticket.acquire, Duration.millis(Math.max(0, deadlineAt - admitStart)))
          : Option.some(yield* ticket.acquire)
        if (Option.isNone(acquired)) return yield* expire(batch.requests)
        const permission = acquired.value
        const admitted = yield* Clock.currentTimeMillis
        // deferred items go back at once, to be packed into another batch
        for (const index of permission.deferred) run.requeue(batch.requests[index]!.id)
        if (permission.deferred.length > 0) yield* wake.offer(undefined)
        if (permission.send.length === 0) return yield* permission.release
        yield* Metric.update(admissionWait, admitted - admitStart)
        yield* Effect.annotateCurrentSpan("batch.admissionWaitMs", admitted - admitStart)
        for (const [key, millis] of Object.entries(permission.waitedMillis)) {
          yield* Effect.annotateCurrentSpan(`batch.wait.${key}`, millis)
        }
        const sent: PlannedBatch = {
          ...batch,
          requests: permission.send.map(({ headers, index }) => {
            const item = batch.requests[index]!
            return Object.keys(headers).length === 0 ? item : { ...item, headers: { ...item.headers, ...headers } }
          })
        }
        const handles = permission.send.map((s) => s.handle)
        let attempt = 0
        for (const item of sent.requests) attempt = Math.max(attempt, (attempts.get(item.id) ?? 0) + 1)
        yield* Effect.annotateCurrentSpan("batch.attempt", attempt)
        yield* Effect.annotateCurrentSpan("batch.sent", sent.requests.length)
        // round trips on the critical path: one more than the deepest call this batch had to wait
        // for, the calls where its dependencies succeeded and its own earlier attempts
        let depth = 0
        for (const item of sent.requests) {
          depth = Math.max(depth, run.depth(item.id))
          for (const dep of run.dependencies(item.id)) depth = Math.max(depth, run.depth(dep))
        }
        depth++
        for (const item of sent.requests) run.setDepth(item.id, depth)
        stats.roundTrips = Math.max(stats.roundTrips, depth)
        yield* Effect.annotateCurrentSpan("batch.depth", depth)
        // attempts, first sends and spans are taken once the batch holds a send slot: up to `live`
        // batches wait for one, and what they held would outlive young-generation collections
        const sendNow = Effect.zipRight(
          Effect.forEach(sent.requests, (item) => {
            attempts.set(item.id, (attempts.get(item.id) ?? 0) + 1)
            if (!firstSent.has(item.id)) firstSent.set(item.id, admitted)
            return openSpan(item)
          }, { discard: true }),
          send(sent)
        )
        const result = yield* sending.withPermit(sendNow).pipe(Effect.ensuring(permission.release))
        const deferred: Array<string> = []
        if (result._tag === "NoToken") {
          // nothing was sent: retrying cannot duplicate work
          for (const item of sent.requests) yield* retry(item.id, 0, undefined, () => result.error)
          return
        }
        if (result._tag === "Error") {
          if ("status" in result.error && result.error.status === 429) {
            stats.throttled429++
            yield* Metric.increment(throttledTotal)
          }
          const status = "status" in result.error ? result.error.status : 0
          yield* deps.admission.feedback(handles.map((handle) => ({ handle, status, headers: result.headers })))
          yield* unanswered(sent.requests, result.error, result.headers)
          return
        }
        const byId = new Map(result.responses.map((r) => [r.id.toLowerCase(), r]))
        // Real answers first: they are facts. Then items missing from the response (ambiguous),
        // whose failure may propagate to dependents that are still unanswered; 424s last.
        const missing: Array<BatchRequestItem> = []
        const answers: Array<Answer> = []
        const succeeded: Array<Success> = []
        const failed: Array<[BatchRequestItem, BatchResponseItem]> = []
        for (const [i, item] of sent.requests.entries()) {
          const response = byId.get(item.id.toLowerCase())
          if (response === undefined) missing.push(item)
          else if (response.status === 424) {
            // Graph did not run it: this send does not count as an attempt, whatever happens next
            attempts.set(item.id, (attempts.get(item.id) ?? 1) - 1)
            deferred.push(item.id)
          } else {
            const headers = response.headers ?? {}
            answers.push({ handle: handles[i], status: response.status, headers })
            if (response.status < 200 || response.status >= 300) failed.push([item, response])
            else if (run.succeed(item.id, response)) {
              const limit = pagesOf(item.id)
              const more = limit !== undefined && limit > 1 && nextLinkOf(response.body) !== undefined
              succeeded.push({
                _tag: "Success",
                id: item.id,
                status: response.status,
                headers,
                body: response.body,
                attempts: attempts.get(item.id) ?? 0,
                ...(limit === undefined ? {} : { page: 1, more })
              })
            }
          }
        }
        // the whole batch's answers go to admission at once, and its successes settle together
        if (answers.length > 0) yield* deps.admission.feedback(answers)
        yield* finishAll(succeeded)
        for (const first of succeeded) if (first.more === true) yield* followPages(first)
        // then the answers that settle a failure; what is left is resent or settled in one place,
        // in batch order, so that a dependent of an item whose fate is unknown is judged with it
        const unsettled = new Map<string, Unsettled>()
        for (const [item, response] of failed) {
          const fate = itemFate(response.status)
          if (response.status === 429) {
            stats.throttled429++
            yield* Metric.increment(throttledTotal)
          }
          if (fate === undefined) yield* processFailure(item, response)
          else unsettled.set(item.id, unsettledItem(item, response, fate === "notRun" ? "no" : "maybe"))
        }
        if (missing.length > 0) {
          const lost = new GCE.BatchDecodeError({
            batchId: batch.id,
            description: result.contradicted ? "response answers items twice, differently, or lacks them" : "response is missing items",
            missing: result.missing
          })
          for (const item of missing) {
            unsettled.set(item.id, {
              item,
              ran: "maybe",
              status: 0,
              headers: {},
              unknown: () => new GCE.UnknownOutcome({ id: item.id, method: item.method, cause: lost._tag, detail: lost.message }),
              onGiveUp: () => lost
            })
          }
        }
        if (unsettled.size > 0) {
          yield* resendOrSettle(sent.requests.flatMap((item) => {
            const entry = unsettled.get(item.id)
            return entry === undefined ? [] : [entry]
          }))
        }
        // 424s left unsettled were caused by packing, not by a real dependency: send them again
        for (const id of deferred) run.requeue(id)
      }).pipe(
        Effect.withSpan("GraphClient.batch", {
          attributes: { "batch.id": batch.id, "batch.size": batch.requests.length, "batch.shape": batch.shape },
          kind: "client",
          captureStackTrace: false
        })
      )

    /**
     * Settles what an earlier run settled (no outcome: it has one already), then ends the requests
     * it sent without an answer that may not be sent again. Dependents of an earlier failure that
     * have no outcome of their own get theirs now. Returns how many requests were settled before.
     */
    const resumeFrom = (resume: Resume) =>
      Effect.gen(function*() {
        const completed = resume.completed === undefined ? [] : [...resume.completed]
        const recorded = new Set(completed.map((c) => c.id.toLowerCase()))
        const orphans: Array<string> = []
        let earlier = 0
        for (const { id, response, succeeded } of completed) {
          if (run.outcome(id) !== undefined) {
            earlier++ // settled by a dependency's failure applied just before
            continue
          }
          if (run.request(id) === undefined) continue
          earlier++
          if (succeeded) run.succeed(id, response)
          else for (const dependent of run.fail(id, response.status, response)) if (!recorded.has(dependent.toLowerCase())) orphans.push(dependent)
        }
        yield* settleDependents(orphans)
        for (const id of resume.sent ?? []) {
          const request = run.request(id)
          if (request === undefined || run.outcome(id) !== undefined || resume.resendUnknown === true || resendable(request)) continue
          attempts.set(id, 1)
          yield* fail(
            id,
            0,
            new GCE.UnknownOutcome({ id, method: request.method, cause: "Interrupted", detail: "sent by an earlier run that ended before its answer" })
          )
        }
        return earlier
      })

    // Batches go out as soon as their requests are ready: no round waits for the slowest batch of the
    // one before it. `live` bounds the batches alive at once (waiting for admission, a Retry-After,
    // or their answer); `sending` bounds the $batch calls in flight, taken only once admitted, so a
    // batch waiting for a busy bucket never holds up the others.
    const earlier = resume === undefined ? 0 : yield* resumeFrom(resume)

    const liveBatches = Math.max(64, settings.concurrency * 16)
    const live = yield* Effect.makeSemaphore(liveBatches)
    const wake = yield* Queue.sliding<void>(1)
    let alive = 0
    const stopped = yield* Deferred.make<void>()
    yield* Effect.scoped(Effect.gen(function*() {
      const fibers = yield* FiberSet.make()
      pagers = yield* FiberSet.make<void, never>()
      if (control !== undefined) {
        yield* Effect.forkScoped(Effect.zipRight(
          control.stop,
          Effect.suspend(() => {
            stopping = true
            return Effect.zipRight(Deferred.succeed(stopped, undefined), wake.offer(undefined))
          })
        ))
      }
      while (run.pending() > 0 && !stopping) {
        yield* Metric.set(queueDepth, run.pending())
        // no more requests than the live batches can hold: the rest of the workload waits as indices
        const round = run.nextRound((liveBatches - alive) * 20)
        for (const id of round.notSent) {
          const outcome = run.outcome(id)
          if (outcome?._tag === "NotSent") {
            yield* finish({ _tag: "Failure", id, error: outcome.error, attempts: 0 })
          } else if (outcome?._tag === "DependencyFailed") {
            yield* settleDependents([id])
          }
        }
        const affinity = deps.admission.affinity
        const regrouped = affinity === undefined ? round.batches : regroup(round.batches, affinity)
        // regrouping counts requests, not bytes: a round of large bodies keeps the planner's batches
        const batches = regrouped === round.batches || regrouped.every(withinBytes) ? regrouped : round.batches
        for (const batch of batches) {
          yield* control === undefined ? live.take(1) : Effect.raceFirst(live.take(1), Deferred.await(stopped))
          if (stopping) break
          alive++
          yield* FiberSet.run(
            fibers,
            runBatch(batch).pipe(
              Effect.ensuring(Effect.suspend(() => {
                alive--
                inFlight.delete(batch.id)
                return Effect.zipRight(live.release(1), wake.offer(undefined))
              }))
            )
          )
        }
        if (run.pending() === 0 || stopping) break
        if (alive === 0) {
          // nothing in flight and nothing ready: only possible if the scheduler lost a request
          if (round.batches.length === 0 && round.notSent.length === 0) return yield* Effect.dieMessage("executor made no progress")
          continue
        }
        yield* wake.take
      }
      if (stopping) {
        // batches in flight finish (unless abandoned); leaving the scope interrupts the others, unsent
        const drained = Effect.whileLoop({ while: () => inFlight.size > 0, body: () => wake.take, step: () => {} })
        yield* Effect.raceFirst(Effect.zipRight(drained, FiberSet.awaitEmpty(pagers)), control?.abandon ?? Effect.never)
      } else {
        yield* FiberSet.awaitEmpty(fibers)
        yield* FiberSet.awaitEmpty(pagers)
      }
    }))
    // a page's run is part of its parent's: the parent's depth stands
    if (parent === undefined) yield* Metric.set(queueDepth, 0)
    const ended = yield* Clock.currentTimeMillis
    return {
      _tag: "Summary",
      requests: workload.length - earlier,
      ...stats,
      durationMs: ended - started
    } satisfies Summary
  }).pipe(Effect.withSpan("GraphClient.run", { attributes: { "workload.size": workload.length } }))
