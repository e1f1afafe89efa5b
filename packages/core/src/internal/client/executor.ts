/**
 * Drives a workload through `$batch` calls: rounds from the DependencyResolver, admission, the HTTP
 * call, decoding, and one outcome per request (with resends where the retry rules allow them).
 *
 * The pieces: `runWorkload` sets a run up and `loop` hands its rounds out as batches; `runBatch`
 * takes one batch through `admit`, `dispatch` (the send, see `client/exchange.ts` for the round
 * trip and its decoding) and `settleResult`; `fail`/`finishAll` settle requests; `resend`,
 * `resendOrSettle` and `unanswered` apply the decisions of `client/retry.ts`; `client/telemetry.ts`
 * holds the metrics, spans and correlation ids. A run's mutable state is one `RunState`.
 *
 * @internal
 */
import type { HttpClient } from "@effect/platform"
import { Clock, Deferred, Duration, Effect, Either, FiberSet, Metric, Option, Queue, Redacted } from "effect"
import type { AdmissionService, Answer, Permission } from "../../Admission.js"
import { type BatchBuilderService, settingsOf } from "../../BatchBuilder.js"
import type { BatchRequestItem, Headers } from "@effect-msgraph/spec/BatchRequest"
import type { BatchResponseItem } from "@effect-msgraph/spec/BatchResponse"
import {
  type DependencyResolver,
  type DependencyResolverService,
  type PlannedBatch,
  regroup,
  type Run,
  type Spread
} from "../../DependencyResolver.js"
import * as GCE from "../../GraphClientError.js"
import type { Completed, Failure, Outcome, Sending, Success, Summary } from "../../GraphClient.js"
import * as GraphError from "@effect-msgraph/spec/GraphError"
import * as rules from "../batch/rules.js"
import * as exchange from "./exchange.js"
import * as inFlight from "./inFlight.js"
import * as retry from "./retry.js"
import * as telemetry from "./telemetry.js"
import * as wire from "./wire.js"
import { type Retained, schedulerOf } from "../plan/scheduler.js"
import type { TokenError } from "../../TokenProvider.js"
import type * as VE from "../../ValidationError.js"
import type { Workload } from "../../Workload.js"

/** @internal */
export interface Settings {
  readonly baseUrl: string
  readonly version: "v1.0" | "beta"
  /** Every request ends within this long of the run's start (`Infinity`: no deadline). */
  readonly deadlineMillis: number
  /** The fixed number of `$batch` calls in flight, or where the adaptive limit starts (and what plans assume). */
  readonly concurrency: number
  /** How many `$batch` calls may be in flight: fixed, or adaptive (see `client/inFlight.ts`). */
  readonly inFlight: inFlight.Settings
  /** One `$batch` round trip, from sending to the last byte of the answer. */
  readonly timeoutMillis: number
  /** Whether and when a request is resent. */
  readonly retry: retry.RetryPolicy
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
  /**
   * The client's send slots: every run of one client (and every group of `execute` calls) shares
   * them, so `concurrency` and `maxConcurrency` bound the client's calls in flight, not each run's.
   */
  readonly sending: inFlight.Gate
}

export {
  /** @internal */
  admissionWait,
  /** @internal */
  batchesTotal,
  /** @internal */
  queueDepth,
  /** @internal */
  requestsTotal,
  /** @internal */
  retriesTotal,
  /** @internal */
  throttledTotal
} from "./telemetry.js"

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
  readonly affinities: number
  readonly scheduler: Retained | undefined
}

/**
 * Test-only: when `onRun` is set, every run hands it a function that counts what the run holds, so
 * tests can check that settled requests leave nothing behind.
 *
 * @internal
 */
export const probe: { onRun: ((held: () => Held) => void) | undefined } = { onRun: undefined }

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
 * A run's share of the client's send slots: the slots, and the most this run held at once.
 */
class RunSlots {
  private held = 0
  peak = 0
  constructor(readonly gate: inFlight.Gate) {}

  /** Runs `self` (one `$batch` call) holding one of the client's slots. */
  withSlot<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return this.gate.withSlot(Effect.suspend(() => {
      if (++this.held > this.peak) this.peak = this.held
      return Effect.ensuring(self, Effect.sync(() => void this.held--))
    }))
  }
}

/**
 * What a run started for one further page of a paged request shares with the run it belongs to:
 * its share of the send slots (its peak counts the pages' calls) and the deadline.
 */
interface Parent {
  readonly sending: RunSlots
  readonly deadlineAt: number
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

// ---- the run's state ----

/** What a run counts for its summary. */
interface Stats {
  succeeded: number
  failed: number
  throttled429: number
  retries: number
  batches: number
  roundTrips: number
}

/**
 * A run's mutable state, in one place: the retry ledger (attempts, first sends, resend times,
 * backoff states, last answers), correlation ids and spans per request, the summary's counts, and
 * the batches alive and in flight.
 */
class RunState {
  readonly stats: Stats = { succeeded: 0, failed: 0, throttled429: 0, retries: 0, batches: 0, roundTrips: 0 }
  /** Set once `control.stop` completes. */
  stopping = false
  /**
   * Set once the endpoint has answered a call of this run (any HTTP status). From then on, a call
   * that cannot reach it spends no attempt: the endpoint is down for a while (see `settleResult`).
   */
  reached = false
  /** The batches sent since `stop` that are not processed yet. */
  readonly inFlight = new Set<string>()
  /** Batches alive (waiting for admission, a resend time, or their answer). */
  alive = 0
  /** The fibers fetching further pages of paged requests (see `followPages`), set while the run runs. */
  pagers: FiberSet.FiberSet<void, never> | undefined
  /** Each request's affinity, once asked (`null`: none), until it settles (see `loop`). */
  readonly affinities = new Map<string, string | null>()

  constructor(
    readonly ledger: retry.Ledger,
    readonly correlation: telemetry.Correlation,
    readonly spans: telemetry.Spans
  ) {}

  /** A settled request is never sent again: keep only what dependents still read (the scheduler's). */
  settled(id: string): void {
    this.ledger.forget(id)
    this.correlation.forget(id)
    this.affinities.delete(id)
  }

  /** Counts an outcome (a paged request is counted once, by its last page). */
  count(outcome: Outcome): void {
    if (outcome._tag === "Failure") this.stats.failed++
    else if (outcome.more !== true) this.stats.succeeded++
  }

  /** Adds the counts of the one-request run that fetched a page; returns nothing. */
  addPage(summary: Summary): void {
    this.stats.batches += summary.batches
    this.stats.retries += summary.retries
    this.stats.throttled429 += summary.throttled429
  }

  held(run: Run): Held {
    return {
      ...this.ledger.held(),
      correlation: this.correlation.size,
      spans: this.spans.size,
      affinities: this.affinities.size,
      scheduler: schedulerOf.get(run)?.retained()
    }
  }
}

/**
 * What a run's pieces share: its services and settings, the resolver's run, its state, where its
 * outcomes go, and how it is stopped.
 */
interface Ctx {
  readonly deps: Deps
  readonly run: Run
  readonly state: RunState
  readonly emit: (outcomes: ReadonlyArray<Outcome>) => Effect.Effect<void>
  readonly control: Stop | undefined
  readonly resume: Resume | undefined
  readonly deadlineAt: number
  readonly sending: RunSlots
  readonly batchUrl: string
  /** The round trips' timeouts, watched while the loop runs. */
  readonly timeouts: exchange.Timeouts
  /** The batch rules' settings (the builder's host and version), for the headers added at sending. */
  readonly rules: rules.Settings
  /** Offered whenever a batch ends or requests go back to the resolver: the loop looks again. */
  readonly wake: Queue.Queue<void>
  /** The run's clock, read directly where the executor only needs the time (no Effect step). */
  readonly clock: Clock.Clock
}

/** The client's rule for resending a request after a send that may have run (see `retry.resendable`). */
const resendable = (ctx: Ctx, item: { readonly id: string; readonly method: string }) =>
  retry.resendable(ctx.deps.settings.retry, item.method, ctx.run.request(item.id)?.idempotent)

// ---- settle ----

/** Settles requests: counts, metrics, spans, then one `emit` for all of them. */
const finishAll = (ctx: Ctx, outcomes: ReadonlyArray<Outcome>) =>
  Effect.suspend(() => {
    if (outcomes.length === 0) return Effect.void
    const { state } = ctx
    const byStatus = new Map<number, number>()
    for (const outcome of outcomes) {
      state.count(outcome)
      state.settled(outcome.id)
      const status = outcome._tag === "Success" ? outcome.status : "error" in outcome && "status" in outcome.error
        ? (outcome.error as { status: number }).status
        : 0
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
    }
    // no span is open under Effect's built-in tracer (see `Spans.startAll`): nothing to end
    if (state.spans.size === 0) return Effect.zipRight(telemetry.countOutcomes(byStatus), ctx.emit(outcomes))
    return Effect.zipRight(
      Effect.flatMap(Clock.currentTimeNanos, (now) => {
        for (const outcome of outcomes) {
          state.spans.end({
            id: outcome.id,
            attempts: outcome.attempts,
            outcome: outcome._tag === "Success" ? String(outcome.status) : outcome.error._tag,
            succeeded: outcome._tag === "Success"
          }, now)
        }
        return telemetry.countOutcomes(byStatus)
      }),
      ctx.emit(outcomes)
    )
  })

const finish = (ctx: Ctx, outcome: Outcome) => finishAll(ctx, [outcome])

/** Gives the requests the resolver settled `DependencyFailed` their outcome. */
const settleDependents = (ctx: Ctx, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) => {
    const settled = ctx.run.settlement(id)
    if (settled?._tag !== "DependencyFailed") return Effect.void
    return finish(ctx, {
      _tag: "Failure",
      id,
      error: new GCE.DependencyFailed({ id, dependency: settled.dependency, status: settled.status }),
      attempts: ctx.state.ledger.attempts(id)
    })
  }, { discard: true })

/** A request's final failure, then its dependents'. */
const fail = (ctx: Ctx, id: string, status: number, error: Failure["error"], response?: BatchResponseItem) =>
  Effect.suspend(() => {
    // a request settled already (by a dependency's failure) keeps its first outcome
    if (ctx.run.settlement(id) !== undefined) return Effect.void
    const dependents = ctx.run.fail(id, status, response)
    return Effect.zipRight(
      finish(ctx, {
        _tag: "Failure",
        id,
        error,
        attempts: ctx.state.ledger.attempts(id),
        ...(response === undefined ? {} : { response })
      }),
      settleDependents(ctx, dependents)
    )
  })

/**
 * Ends, at the deadline, requests still waiting to be sent (for admission, or for their resend):
 * `Throttled` with their last answer's status (0 if never answered). Dependents first, so that
 * their own outcome is `Throttled` rather than `DependencyFailed` when both were waiting.
 */
const expire = (ctx: Ctx, items: ReadonlyArray<BatchRequestItem>) =>
  Effect.forEach([...items].reverse(), (item) => {
    const last = ctx.state.ledger.lastAnswer(item.id)
    const error = new GCE.Throttled({
      id: item.id,
      status: last?.status ?? 0,
      attempts: ctx.state.ledger.attempts(item.id),
      ...(last?.retryAfterMillis === undefined ? {} : { retryAfterMillis: last.retryAfterMillis }),
      reason: "Deadline"
    })
    return fail(ctx, item.id, error.status, error)
  }, { discard: true })

/** An item's own answer other than 2xx, 424 and the statuses `retry.fateOfStatus` knows: its error. */
const itemError = (item: BatchRequestItem, response: BatchResponseItem): GCE.GraphRequestError =>
  Option.match(GraphError.fromBody(response.body), {
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

// ---- retry: applying the decisions of `client/retry.ts` ----

/**
 * A request whose send ended without an answer that settles it: resent, or settled here.
 * `ran` is what the answer says about whether it ran; `onGiveUp` is its error once retries run out.
 */
interface Unsettled {
  readonly item: BatchRequestItem
  readonly ran: retry.Ran
  readonly status: number
  readonly headers: Headers | undefined
  readonly unknown: () => GCE.UnknownOutcome
  /** Its error once retries run out, given the last answer's Retry-After in milliseconds. */
  readonly onGiveUp: (retryAfterMillis: number | undefined) => Failure["error"]
  /** The request's own answer, when Graph answered it (not the batch as a whole). */
  readonly response?: BatchResponseItem
}

const throttled = (ctx: Ctx, id: string, status: number, retryAfterMillis: number | undefined) =>
  new GCE.Throttled({
    id,
    status,
    attempts: ctx.state.ledger.attempts(id),
    ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
  })

/** `Throttled` with what ended it, and the Retry-After it was given; other errors as they are. */
const givenUp = (
  error: Failure["error"],
  reason: retry.GiveUpReason,
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
 * Resends the request when the ledger decides so (back to the resolver, not before the time it
 * gave); otherwise settles it with `onGiveUp`, its dependents failing with `status`. `decideAs`: the
 * status the ledger schedules the resend by, when it is not `status` (a call without an answer, 0,
 * is resent as a 503 would be).
 */
const resend = (
  ctx: Ctx,
  id: string,
  status: number,
  headers: Headers | undefined,
  onGiveUp: (retryAfterMillis: number | undefined) => Failure["error"],
  response?: BatchResponseItem,
  decideAs: number = status
) =>
  Effect.gen(function*() {
    if (ctx.run.settlement(id) !== undefined) return
    const decision = yield* ctx.state.ledger.decide(id, decideAs, headers)
    if (decision._tag === "GiveUp") {
      const { reason, retryAfterMillis } = decision
      return yield* fail(ctx, id, status, givenUp(onGiveUp(retryAfterMillis), reason, retryAfterMillis), response)
    }
    ctx.state.stats.retries++
    yield* Metric.increment(telemetry.retriesTotal)
    ctx.run.requeue(id)
  })

/**
 * One batch's unsettled requests, in batch order: those `retry.unknownOutcomes` names end
 * UnknownOutcome, dependents first (so that settling a dependency cannot mark a sent dependent as
 * DependencyFailed); the rest are resent in batch order, or settled when `resend` gives up.
 */
const resendOrSettle = (ctx: Ctx, entries: ReadonlyArray<Unsettled>) =>
  Effect.gen(function*() {
    const unknown = retry.unknownOutcomes(
      entries.map((entry) => ({ id: entry.item.id, ran: entry.ran, resendable: entry.ran === "maybe" && resendable(ctx, entry.item) })),
      ctx.run.dependencies
    )
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!
      if (unknown.has(entry.item.id)) yield* fail(ctx, entry.item.id, entry.status, entry.unknown(), entry.response)
    }
    for (const entry of entries) {
      if (unknown.has(entry.item.id)) continue
      yield* resend(ctx, entry.item.id, entry.status, entry.headers, entry.onGiveUp, entry.response, entry.status === 0 ? 503 : entry.status)
    }
  })

/**
 * Items that got no answer of their own because the whole batch failed: each ends with the error
 * of a rejected batch (dependents first); otherwise see `resendOrSettle`.
 */
const unanswered = (ctx: Ctx, items: ReadonlyArray<BatchRequestItem>, error: GCE.BatchError, headers: Headers) =>
  Effect.gen(function*() {
    const status = "status" in error ? error.status : 0
    const fate = retry.fateOfBatchError(error)
    if (fate === "rejected") {
      for (const item of [...items].reverse()) yield* fail(ctx, item.id, status, error)
      return
    }
    yield* resendOrSettle(ctx, items.map((item): Unsettled => ({
      item,
      ran: fate,
      status,
      headers,
      unknown: () => new GCE.UnknownOutcome({ id: item.id, method: item.method, cause: error._tag, detail: error.message }),
      onGiveUp: (retryAfterMillis) => retry.throttling(status) ? throttled(ctx, item.id, status, retryAfterMillis) : error
    })))
  })

/** An item answered with a status `retry.fateOfStatus` knows (429, 503, 504 or 509). */
const unsettledItem = (ctx: Ctx, item: BatchRequestItem, response: BatchResponseItem, ran: retry.Ran): Unsettled => ({
  item,
  ran,
  status: response.status,
  headers: response.headers ?? {},
  unknown: () => new GCE.UnknownOutcome({ id: item.id, method: item.method, cause: "ItemStatus", status: response.status }),
  onGiveUp: (retryAfterMillis) => throttled(ctx, item.id, response.status, retryAfterMillis),
  response
})

/** Items missing from a batch's response (or answered twice, differently): they may have run. */
const missingItems = (
  batch: PlannedBatch,
  result: { readonly missing: ReadonlyArray<string>; readonly contradicted: boolean },
  items: ReadonlyArray<BatchRequestItem>
): ReadonlyArray<Unsettled> => {
  const lost = new GCE.BatchDecodeError({
    batchId: batch.id,
    description: result.contradicted ? "response answers items twice, differently, or lacks them" : "response is missing items",
    missing: result.missing
  })
  return items.map((item) => ({
    item,
    ran: "maybe",
    status: 0,
    headers: {},
    unknown: () => new GCE.UnknownOutcome({ id: item.id, method: item.method, cause: lost._tag, detail: lost.message }),
    onGiveUp: () => lost
  }))
}

// ---- send ----

/**
 * The JSON of a batch as it leaves, with its correlation ids. Its requests were checked and
 * normalised when planned (`PlannedBatch`), and the headers admission added when admitted (see
 * `dispatch`); a `client-request-id` is a GUID. Only when admission added headers are the batch's
 * bytes measured again (the planner counted `ADDED_BYTES_PER_ITEM` for every item).
 */
const envelopeOf = (ctx: Ctx, batch: PlannedBatch, grew: boolean) => {
  const { correlation } = ctx.state
  if (grew) {
    const bytes = rules.checkBatchBytes(batch.requests.map((item) => correlation.tag(item)))
    if (Either.isLeft(bytes)) throw bytes.left
  }
  const json = wire.encodeRequestEnvelope(batch.requests, (item) => correlation.headersOf(item))
  // bodies were checked against their Content-Type: encoding cannot fail
  if (Either.isLeft(json)) throw json.left
  return json.right
}

/**
 * Sends a batch (with its correlation ids and the token got for it), unless the run is stopping; the
 * journal's `onSend` is called before it can leave the process. `grew`: admission added headers to it.
 */
const send = (ctx: Ctx, batch: PlannedBatch, grew: boolean, token: Either.Either<Redacted.Redacted<string>, TokenError>) =>
  Effect.gen(function*() {
    const { deps, state } = ctx
    const json = envelopeOf(ctx, batch, grew)
    if (token._tag === "Left") return { _tag: "NoToken", error: token.left } satisfies exchange.BatchResult as exchange.BatchResult
    const request = exchange.request(ctx.batchUrl, Redacted.value(token.right), json)
    // recorded (a journal) before it can leave the process
    if (ctx.resume?.onSend !== undefined) {
      yield* ctx.resume.onSend(batch.requests.map((item) => ({ id: item.id, resendable: resendable(ctx, item) })))
    }
    // stopping: a batch not sent yet never is (the run ends without it)
    if (state.stopping) return yield* Effect.never
    state.inFlight.add(batch.id)
    state.stats.batches++
    yield* Metric.increment(telemetry.batchesTotal)
    const sentAt = ctx.clock.unsafeCurrentTimeMillis()
    const result = yield* exchange.exchange(deps.http, batch, request, ctx.timeouts)
    // still holding its slot: the in-flight limit learns from the round trip, when there was one.
    // A call that could not reach the endpoint says nothing of Graph's latency: a refused
    // connection takes a millisecond, and as a baseline it made every later answer look hundreds of
    // times slower, so an outage of ten seconds left the limit at 1 for the rest of the run. (A
    // timeout still counts: it is Graph at its slowest.)
    if (result._tag === "Error" && result.unreachable === true) return result
    const answeredAt = ctx.clock.unsafeCurrentTimeMillis()
    yield* ctx.sending.gate.answered(
      inFlight.kindOf(batch.shape, batch.requests.length, batch.requests[0]?.url),
      answeredAt - sentAt,
      answerHas(result, inFlight.overloaded),
      answerHas(result, inFlight.unavailable)
    )
    return result
  })

/** Whether a batch's answer, the batch or items in it, has a status that `is` picks. */
const answerHas = (result: exchange.BatchResult, is: (status: number) => boolean): boolean => {
  if (result._tag === "Error") return "status" in result.error && is(result.error.status)
  if (result._tag === "Envelope") return result.responses.some((r) => is(r.status))
  return false
}

// ---- one batch: admit, dispatch, settle ----

/**
 * Waits for the batch's resend time, then for admission, within the deadline (requests still
 * waiting at the deadline expire). Rejected items fail, deferred ones go back to the resolver.
 * Returns the permission and when it came, or nothing when no item goes now.
 */
const admit = (ctx: Ctx, batch: PlannedBatch) =>
  Effect.gen(function*() {
    const { deadlineAt, deps, run, state } = ctx
    const { clock } = ctx
    const now = clock.unsafeCurrentTimeMillis()
    const wait = state.ledger.waitMillis(batch.requests.map((r) => r.id), now)
    if (wait > 0) yield* Effect.sleep(Duration.millis(Math.min(wait, deadlineAt - now)))
    // past the deadline nothing more is sent
    if (clock.unsafeCurrentTimeMillis() >= deadlineAt) return yield* Effect.as(expire(ctx, batch.requests), undefined)
    const ticket = yield* deps.admission.admit({
      batchId: batch.id,
      shape: batch.shape,
      items: batch.requests.map((request) => ({ request, priority: run.request(request.id)?.priority }))
    })
    // rejected items fail (dependents first, see `unanswered`)
    for (const { error, index } of [...ticket.rejected].reverse()) {
      yield* fail(ctx, batch.requests[index]!.id, 0, error)
    }
    const admitStart = clock.unsafeCurrentTimeMillis()
    // admission is waited for until the deadline at most (interrupted, it gives back what it took)
    const acquired = Number.isFinite(deadlineAt)
      ? yield* Effect.timeoutOption(ticket.acquire, Duration.millis(Math.max(0, deadlineAt - admitStart)))
      : Option.some(yield* ticket.acquire)
    if (Option.isNone(acquired)) return yield* Effect.as(expire(ctx, batch.requests), undefined)
    const permission = acquired.value
    const admitted = clock.unsafeCurrentTimeMillis()
    // deferred items go back at once, to be packed into another batch
    for (const index of permission.deferred) run.requeue(batch.requests[index]!.id)
    if (permission.deferred.length > 0) yield* ctx.wake.offer(undefined)
    if (permission.send.length === 0) return yield* Effect.as(permission.release, undefined)
    yield* Metric.update(telemetry.admissionWait, admitted - admitStart)
    if (state.spans.tracing) {
      yield* Effect.annotateCurrentSpan("batch.admissionWaitMs", admitted - admitStart)
      for (const [key, millis] of Object.entries(permission.waitedMillis)) {
        yield* Effect.annotateCurrentSpan(`batch.wait.${key}`, millis)
      }
    }
    return { permission, admitted }
  })

/**
 * Round trips on the critical path: one more than the deepest call the batch had to wait for (the
 * calls where its dependencies succeeded and its own earlier attempts), recorded for its requests.
 */
const recordDepth = (ctx: Ctx, items: ReadonlyArray<BatchRequestItem>) => {
  const { run, state } = ctx
  let depth = 0
  for (const item of items) {
    depth = Math.max(depth, run.depth(item.id))
    for (const dep of run.dependencies(item.id)) depth = Math.max(depth, run.depth(dep))
  }
  depth++
  for (const item of items) run.setDepth(item.id, depth)
  state.stats.roundTrips = Math.max(state.stats.roundTrips, depth)
  return depth
}

const isEmpty = (record: object): boolean => {
  for (const _ in record) return false
  return true
}

/** Sends the admitted part of a batch once it holds a send slot; gives the permission back after. */
const dispatch = (ctx: Ctx, batch: PlannedBatch, permission: Permission, admitted: number) =>
  Effect.gen(function*() {
    const { ledger, spans } = ctx.state
    let grew = false
    const sent: PlannedBatch = {
      ...batch,
      requests: permission.send.map(({ headers, index }) => {
        const item = batch.requests[index]!
        if (isEmpty(headers)) return item
        grew = true
        const added = rules.addHeaders(item, headers, ctx.rules)
        if (Either.isLeft(added)) throw added.left
        return added.right
      })
    }
    let attempt = 0
    for (const item of sent.requests) attempt = Math.max(attempt, ledger.attempts(item.id) + 1)
    const depth = recordDepth(ctx, sent.requests)
    if (spans.tracing) {
      yield* Effect.annotateCurrentSpan("batch.attempt", attempt)
      yield* Effect.annotateCurrentSpan("batch.sent", sent.requests.length)
      yield* Effect.annotateCurrentSpan("batch.depth", depth)
    }
    // attempts, first sends and spans are taken once the batch holds a send slot: up to `live`
    // batches wait for one, and what they held would outlive young-generation collections
    // whether Graph answered with an envelope: its items ran before the answer (see `Permission.answered`)
    let answered = false
    // past the deadline nothing is sent: a batch still waiting for a slot (or room) then expires.
    // `sending` and `expired` are each set only while the other is unset, so a batch never does both
    let sending = false
    let expired = false
    /** Whether the batch has expired, or expires now: the deadline has passed and it has not been sent. */
    const expiring = (): boolean => {
      if (!expired && ctx.clock.unsafeCurrentTimeMillis() >= ctx.deadlineAt) expired = true
      return expired
    }
    // the token is waited for before the batch counts as sending, so the deadline still ends the
    // wait (a token that comes late, or never, does not hold the run past it)
    const sendNow = Effect.flatMap(Effect.either(ctx.deps.token), (token) =>
      Effect.suspend(() => {
        if (expiring()) return Effect.succeed(undefined)
        sending = true
        for (const item of sent.requests) ledger.sending(item.id, admitted)
        return Effect.zipRight(
          spans.startAll(sent.requests),
          Effect.tap(send(ctx, sent, grew, token), (result) => {
            answered = result._tag === "Envelope"
          })
        )
      }))
    // admitted on a share Graph has since refused or shown too high: not sent, admitted again
    let revoked = false
    // a bucket that holds its units in flight (see `Permission.room`) is waited for without a slot
    let wait: Effect.Effect<void> | undefined
    const sendOrRevoke = Effect.suspend(() => {
      if (expiring()) return Effect.succeed(undefined)
      wait = permission.room?.()
      if (wait !== undefined) return Effect.succeed(undefined)
      if (permission.stale === undefined || !permission.stale()) return sendNow
      revoked = true
      return Effect.succeed(undefined)
    })
    const sendWhenRoom = Effect.gen(function*() {
      while (true) {
        const early = permission.room?.()
        if (early !== undefined) {
          yield* early
          continue
        }
        const result = yield* ctx.sending.withSlot(sendOrRevoke)
        if (wait === undefined) return result
        yield* wait
      }
    })
    const untilDeadline = Number.isFinite(ctx.deadlineAt)
      ? Effect.raceFirst(
        sendWhenRoom,
        Effect.sleep(Duration.millis(Math.max(0, ctx.deadlineAt - ctx.clock.unsafeCurrentTimeMillis()))).pipe(
          // a batch already sending is not cut short: its answer ends the race
          Effect.zipRight(Effect.suspend(() => {
            if (sending) return Effect.never
            expired = true
            return Effect.succeed(undefined)
          }))
        )
      )
      : sendWhenRoom
    const result = yield* untilDeadline.pipe(
      Effect.ensuring(Effect.suspend(() =>
        revoked
          ? permission.revoke ?? permission.release
          : answered
          ? permission.answered ?? permission.release
          : permission.release
      ))
    )
    return { sent, result, expired }
  })

/** One batch, from its resend time to the outcomes (or resends) of its requests; in its span when `tracing`. */
const runBatch = (ctx: Ctx, batch: PlannedBatch) => {
  const run = Effect.gen(function*() {
    const admitted = yield* admit(ctx, batch)
    if (admitted === undefined) return
    const { permission } = admitted
    const { expired, result, sent } = yield* dispatch(ctx, batch, permission, admitted.admitted)
    if (expired) return yield* expire(ctx, sent.requests)
    if (result === undefined) {
      // revoked: its requests go back to be packed and admitted again
      for (const item of sent.requests) ctx.run.requeue(item.id)
      yield* ctx.wake.offer(undefined)
      return
    }
    yield* settleResult(ctx, sent, permission.send.map((s) => s.handle), result)
  })
  if (!ctx.state.spans.tracing) return run
  return Effect.withSpan(run, "GraphClient.batch", {
    attributes: { "batch.id": batch.id, "batch.size": batch.requests.length, "batch.shape": batch.shape },
    kind: "client",
    captureStackTrace: false
  })
}

const countThrottled = (ctx: Ctx) =>
  Effect.suspend(() => {
    ctx.state.stats.throttled429++
    return Metric.increment(telemetry.throttledTotal)
  })

/** What a sent batch came to: no token, a batch-level error, or its items' answers. */
const settleResult = (ctx: Ctx, sent: PlannedBatch, handles: ReadonlyArray<unknown>, result: exchange.BatchResult) =>
  Effect.gen(function*() {
    if (result._tag === "NoToken") {
      // nothing was sent: retrying cannot duplicate work
      for (const item of sent.requests) yield* resend(ctx, item.id, 0, undefined, () => result.error)
      return
    }
    if (result._tag === "Error") {
      const status = "status" in result.error ? result.error.status : 0
      // any answer (an error status, a body that is no batch response) came from the endpoint
      if (result.error._tag !== "BatchTransportError") ctx.state.reached = true
      if (status === 429) yield* countThrottled(ctx)
      yield* ctx.deps.admission.feedback(handles.map((handle) => ({ handle, status, headers: result.headers })))
      // an endpoint that answered this run and now cannot be reached is down for a while (a
      // restart, a network cut): such a call spends no attempt, so its requests wait for the
      // endpoint, within maxRetryTime and the deadline, instead of failing after a few seconds of
      // backoff. One never reached (a wrong endpoint) still spends them, and fails fast.
      if (result.unreachable === true && ctx.state.reached) {
        for (const item of sent.requests) ctx.state.ledger.uncount(item.id)
      }
      return yield* unanswered(ctx, sent.requests, result.error, result.headers)
    }
    ctx.state.reached = true
    yield* settleAnswers(ctx, sent, handles, result)
  })

/**
 * A batch's answers. Real answers first: they are facts (admission learns from them together, and
 * the successes settle together). Then the answers that settle a failure; what is left (items
 * that may be resent, items missing from the response) goes to `resendOrSettle` in batch order,
 * so that a dependent of an item whose fate is unknown is judged with it. 424s last: caused by
 * packing, not by a real dependency, they are sent again.
 */
const settleAnswers = (
  ctx: Ctx,
  sent: PlannedBatch,
  handles: ReadonlyArray<unknown>,
  result: Extract<exchange.BatchResult, { readonly _tag: "Envelope" }>
) =>
  Effect.gen(function*() {
    const { run, state } = ctx
    const missing: Array<BatchRequestItem> = []
    const deferred: Array<string> = []
    const answers: Array<Answer> = []
    const succeeded: Array<Success> = []
    const failed: Array<[BatchRequestItem, BatchResponseItem]> = []
    for (let i = 0; i < sent.requests.length; i++) {
      const item = sent.requests[i]!
      const response = result.answers[i]
      if (response === undefined) missing.push(item)
      else if (response.status === 424) {
        // Graph did not run it: this send does not count as an attempt, whatever happens next
        state.ledger.uncount(item.id)
        deferred.push(item.id)
      } else {
        const headers = response.headers ?? {}
        answers.push({ handle: handles[i], status: response.status, headers })
        if (response.status < 200 || response.status >= 300) failed.push([item, response])
        else if (run.succeed(item.id, response)) succeeded.push(firstPage(ctx, item, response, headers))
      }
    }
    if (answers.length > 0) yield* ctx.deps.admission.feedback(answers)
    yield* finishAll(ctx, succeeded)
    for (const first of succeeded) if (first.more === true) yield* followPages(ctx, first)
    const unsettled = new Map<string, Unsettled>()
    for (const [item, response] of failed) {
      const fate = retry.fateOfStatus(response.status)
      if (response.status === 429) yield* countThrottled(ctx)
      if (fate === undefined) yield* fail(ctx, item.id, response.status, itemError(item, response), response)
      else unsettled.set(item.id, unsettledItem(ctx, item, response, fate))
    }
    for (const entry of missing.length > 0 ? missingItems(sent, result, missing) : []) unsettled.set(entry.item.id, entry)
    if (unsettled.size > 0) {
      yield* resendOrSettle(ctx, sent.requests.flatMap((item) => {
        const entry = unsettled.get(item.id)
        return entry === undefined ? [] : [entry]
      }))
    }
    for (const id of deferred) run.requeue(id)
  })

// ---- pages ----

/** The `@odata.nextLink` of a page's body, if it has one. */
const nextLinkOf = (body: unknown): string | undefined => {
  if (typeof body !== "object" || body === null || Array.isArray(body) || body instanceof Uint8Array) return undefined
  const link = (body as Record<string, unknown>)["@odata.nextLink"]
  return typeof link === "string" ? link : undefined
}

/** How many pages a GET with `pages` fetches (`Infinity`: all); undefined for other requests. */
const pagesOf = (ctx: Ctx, id: string): number | undefined => {
  const request = ctx.run.request(id)
  if (request?.pages === undefined || request.method.toUpperCase() !== "GET") return undefined
  return request.pages === "all" ? Infinity : request.pages
}

/** A success; for a request with `pages`, its first page, and whether more follow. */
const firstPage = (ctx: Ctx, item: BatchRequestItem, response: BatchResponseItem, headers: Headers): Success => {
  const limit = pagesOf(ctx, item.id)
  const success: { -readonly [K in keyof Success]: Success[K] } = {
    _tag: "Success",
    id: item.id,
    status: response.status,
    headers,
    body: response.body,
    attempts: ctx.state.ledger.attempts(item.id)
  }
  if (limit !== undefined) {
    success.page = 1
    success.more = limit > 1 && nextLinkOf(response.body) !== undefined
  }
  return success
}

/** A page after the first: counted (a paged request is counted by its last page), then emitted. */
const emitPage = (ctx: Ctx, outcome: Outcome) =>
  Effect.suspend(() => {
    ctx.state.count(outcome)
    return ctx.emit([outcome])
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
const followPages = (ctx: Ctx, first: Success) =>
  Effect.suspend(() => {
    const { run, state } = ctx
    const request = run.request(first.id)!
    const limit = pagesOf(ctx, first.id)!
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
          if (outcome._tag === "Failure") return emitPage(ctx, { ...outcome, page })
          const link = page < limit ? nextLinkOf(outcome.body) : undefined
          next = link
          return emitPage(ctx, { ...outcome, page, more: link !== undefined })
        }, { discard: true })
      // Graph's links are absolute: a relative one would be read against the Graph host unchecked
      if (!/^https?:\/\//i.test(link)) return emitPage(ctx, refused(page, "not an absolute http(s) URL"))
      return runWorkload(ctx.deps, [item], onPage, ctx.control, undefined, { sending: ctx.sending, deadlineAt: ctx.deadlineAt })
        .pipe(
          Effect.matchEffect({
            onFailure: (error) => emitPage(ctx, refused(page, refusal(error))),
            onSuccess: (summary) => {
              state.addPage(summary)
              depth += summary.roundTrips
              state.stats.roundTrips = Math.max(state.stats.roundTrips, depth)
              return next === undefined || state.stopping ? Effect.void : fetch(page + 1, next)
            }
          })
        )
    }
    const link = nextLinkOf(first.body)
    if (link === undefined || state.pagers === undefined) return Effect.void
    return Effect.asVoid(FiberSet.run(state.pagers, fetch(2, link)))
  })

// ---- resume ----

/**
 * Settles what an earlier run settled (no outcome: it has one already), then ends the requests
 * it sent without an answer that may not be sent again. Dependents of an earlier failure that
 * have no outcome of their own get theirs now. Returns how many requests were settled before.
 */
const resumeFrom = (ctx: Ctx, resume: Resume) =>
  Effect.gen(function*() {
    const { run } = ctx
    const completed = resume.completed === undefined ? [] : [...resume.completed]
    const recorded = new Set(completed.map((c) => c.id.toLowerCase()))
    const orphans: Array<string> = []
    let earlier = 0
    for (const { id, response, succeeded } of completed) {
      if (run.settlement(id) !== undefined) {
        earlier++ // settled by a dependency's failure applied just before
        continue
      }
      if (run.request(id) === undefined) continue
      earlier++
      if (succeeded) run.succeed(id, response)
      else for (const dependent of run.fail(id, response.status, response)) if (!recorded.has(dependent.toLowerCase())) orphans.push(dependent)
    }
    yield* settleDependents(ctx, orphans)
    for (const id of resume.sent ?? []) {
      const request = run.request(id)
      if (request === undefined || run.settlement(id) !== undefined || resume.resendUnknown === true || resendable(ctx, request)) continue
      ctx.state.ledger.sentBefore(id)
      yield* fail(
        ctx,
        id,
        0,
        new GCE.UnknownOutcome({ id, method: request.method, cause: "Interrupted", detail: "sent by an earlier run that ended before its answer" })
      )
    }
    return earlier
  })

// ---- the loop ----

/**
 * Requests of one affinity alive at once (batches waiting for admission, a Retry-After or their
 * answer): two batches' worth, so that while one holds the affinity's permits (a parallel Outlook
 * batch runs within its mailbox's four) the next is admitted as soon as it answers.
 */
const perAffinity = 2 * 20

/**
 * Hands the workload out as batches until every request is settled or the run stops. Batches go
 * out as soon as their requests are ready: no round waits for the slowest batch of the one before
 * it. `liveBatches` bounds the batches alive at once (waiting for admission, a Retry-After, or
 * their answer); `sending` bounds the $batch calls in flight, taken only once admitted, so a batch
 * waiting for a busy bucket never holds up the others. Under an admission with affinities, the live
 * batches are spread across them (`perAffinity`), so that they cover what admission can serve now.
 */
const loop = (ctx: Ctx) =>
  Effect.scoped(Effect.gen(function*() {
    const { control, run, state, wake } = ctx
    const { settings } = ctx.deps
    // adaptive: room for admitted batches to wait for a slot at the ceiling, so that the limit can
    // see it is saturated there (twice the ceiling; what a run keeps alive stays small)
    const ceiling = settings.inFlight._tag === "Adaptive" ? settings.inFlight.tuning.max : 0
    const liveBatches = Math.max(64, settings.concurrency * 16, 2 * ceiling)
    const live = yield* Effect.makeSemaphore(liveBatches)
    // Spread the live batches across affinities (a mailbox's Outlook permits): an affinity whose
    // requests alive would fill `perAffinity` is passed over, so one mailbox's backlog, waiting for
    // its permits or its window, does not hold every live batch while other mailboxes could go.
    // An affinity is asked for once per request (admission prices the request for it).
    const given = ctx.deps.admission.affinity
    // Asked several times per request while it is planned, for the request's wire form and for
    // copies of it in batches: kept by id (the wire form of an id is the same each time it is
    // built), not by object, which asked admission again for every copy.
    const known = state.affinities
    const affinity = given === undefined ? undefined : (item: BatchRequestItem) => {
      const seen = known.get(item.id)
      if (seen !== undefined) return seen ?? undefined
      const key = given(item)
      known.set(item.id, key ?? null)
      return key
    }
    const aliveBy = new Map<string, number>()
    const spread: Spread | undefined = affinity === undefined ? undefined : {
      affinity,
      room: (key) => Math.max(0, perAffinity - (aliveBy.get(key) ?? 0))
    }
    const stopped = yield* Deferred.make<void>()
    const fibers = yield* FiberSet.make<void, never>()
    const pagers = yield* FiberSet.make<void, never>()
    state.pagers = pagers
    yield* Effect.forkScoped(ctx.timeouts.watch)
    if (control !== undefined) {
      yield* Effect.forkScoped(Effect.zipRight(
        control.stop,
        Effect.suspend(() => {
          state.stopping = true
          return Effect.zipRight(Deferred.succeed(stopped, undefined), wake.offer(undefined))
        })
      ))
    }
    const body = Effect.gen(function*() {
      while (run.pending() > 0 && !state.stopping) {
        yield* Metric.set(telemetry.queueDepth, run.pending())
        // no more requests than the live batches can hold: the rest of the workload waits as indices
        const round = run.nextRound((liveBatches - state.alive) * 20, spread)
        yield* settleNotSent(ctx, round.notSent)
        for (const batch of affinity === undefined ? round.batches : regroup(round.batches, affinity)) {
          yield* control === undefined ? live.take(1) : Effect.raceFirst(live.take(1), Deferred.await(stopped))
          if (state.stopping) break
          state.alive++
          const keys = affinity === undefined ? [] : batch.requests.map(affinity)
          for (const key of keys) if (key !== undefined) aliveBy.set(key, (aliveBy.get(key) ?? 0) + 1)
          yield* FiberSet.run(
            fibers,
            runBatch(ctx, batch).pipe(
              Effect.ensuring(Effect.suspend(() => {
                state.alive--
                state.inFlight.delete(batch.id)
                for (const key of keys) {
                  if (key === undefined) continue
                  const n = aliveBy.get(key)! - 1
                  if (n === 0) aliveBy.delete(key)
                  else aliveBy.set(key, n)
                }
                return Effect.zipRight(live.release(1), wake.offer(undefined))
              }))
            )
          )
        }
        if (run.pending() === 0 || state.stopping) break
        if (state.alive === 0) {
          // nothing in flight and nothing ready: a batch died (its defect ends the run), or the
          // scheduler lost a request
          if (round.batches.length === 0 && round.notSent.length === 0) {
            if (yield* Deferred.isDone(fibers.deferred)) return yield* FiberSet.join(fibers)
            return yield* Effect.dieMessage("executor made no progress")
          }
          continue
        }
        yield* wake.take
      }
      if (state.stopping) {
        // batches in flight finish (unless abandoned); leaving the scope interrupts the others, unsent
        const drained = Effect.whileLoop({ while: () => state.inFlight.size > 0, body: () => wake.take, step: () => {} })
        yield* Effect.raceFirst(Effect.zipRight(drained, FiberSet.awaitEmpty(pagers)), control?.abandon ?? Effect.never)
      } else {
        yield* FiberSet.awaitEmpty(fibers)
        yield* FiberSet.awaitEmpty(pagers)
      }
    })
    // a batch or a page's run that dies (a quota store that fails, say) ends the run with its
    // defect at once: a FiberSet keeps its fibers' failures to itself, and the run went on without
    // that batch's requests until it died with 'executor made no progress' (or, for a page, ended
    // with no outcome for the request)
    const died = Effect.zipRight(Effect.raceFirst(FiberSet.join(fibers), FiberSet.join(pagers)), Effect.never)
    yield* Effect.raceFirst(body, died)
    // one that died as the body ended (its end woke the body's wait for the sets to empty)
    for (const set of [fibers, pagers]) if (yield* Deferred.isDone(set.deferred)) yield* FiberSet.join(set)
  }))

/** Requests a round settled without sending them (unresolvable references, failed dependencies). */
const settleNotSent = (ctx: Ctx, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) => {
    const settled = ctx.run.settlement(id)
    if (settled?._tag === "NotSent") return finish(ctx, { _tag: "Failure", id, error: settled.error, attempts: 0 })
    if (settled?._tag === "DependencyFailed") return settleDependents(ctx, [id])
    return Effect.void
  }, { discard: true })

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
    const started = yield* Clock.currentTimeMillis
    const deadlineAt = parent?.deadlineAt ?? started + settings.deadlineMillis
    const clock = yield* Effect.clock
    const run = yield* deps.resolver.start(workload, { concurrency: settings.concurrency, ...settings.planning })
    const state = new RunState(
      new retry.Ledger(settings.retry, deadlineAt),
      new telemetry.Correlation(yield* telemetry.guidSource),
      new telemetry.Spans(yield* telemetry.tracing)
    )
    probe.onRun?.(() => state.held(run))
    const ctx: Ctx = {
      deps,
      run,
      state,
      emit,
      control,
      resume,
      deadlineAt,
      // the client's send slots go to batches in the order they were admitted (see `fairGate`)
      sending: parent?.sending ?? new RunSlots(deps.sending),
      batchUrl: `${settings.baseUrl.replace(/\/+$/, "")}/${settings.version}/$batch`,
      timeouts: new exchange.Timeouts(settings.timeoutMillis, clock),
      rules: settingsOf(deps.builder.options),
      wake: yield* Queue.sliding<void>(1),
      clock
    }
    const earlier = resume === undefined ? 0 : yield* resumeFrom(ctx, resume)
    yield* loop(ctx)
    // a page's run is part of its parent's: the parent's depth stands
    if (parent === undefined) yield* Metric.set(telemetry.queueDepth, 0)
    const ended = yield* Clock.currentTimeMillis
    return {
      _tag: "Summary",
      requests: workload.length - earlier,
      ...state.stats,
      durationMs: ended - started,
      inFlight: { limit: ctx.sending.gate.limit, peak: ctx.sending.peak }
    } satisfies Summary
  }).pipe(Effect.withSpan("GraphClient.run", { attributes: { "workload.size": workload.length } }))
