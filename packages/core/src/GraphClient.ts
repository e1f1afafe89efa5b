/**
 * The front door: provide one Layer and send Graph work. Work is batched, ordered, throttled and
 * retried where that is safe, and every request comes back with exactly one outcome.
 *
 * - `execute(request)`: one call. Calls made together in one fiber (`Effect.all(..., { batching: true })`)
 *   are packed into `$batch` calls automatically, like a DataLoader; calls from separate fibers are not.
 * - `run(workload)`: a `Stream` of per-request outcomes as they complete, ending with a summary.
 *   A request with `pages` follows `@odata.nextLink` and has one outcome per page, each with its
 *   `page` number (see `Workload.WorkloadRequest`).
 *
 * It composes `BatchBuilder`, `DependencyResolver`, a `TokenProvider` and an `HttpClient` from
 * `@effect/platform` (NodeHttpClient, FetchHttpClient, or the emulator's in-process client).
 * Throttling is plugged in by `layerThrottled`, which adds the `CostCalculator` and `Throttler`.
 *
 * @since 0.1.0
 */
import { HttpClient } from "@effect/platform"
import {
  Cause,
  Config,
  ConfigError,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Mailbox,
  Option,
  Request,
  RequestResolver,
  Schedule,
  Stream
} from "effect"
import * as AdmissionPort from "./Admission.js"
import { BatchBuilder, make as makeBuilder, validate } from "./BatchBuilder.js"
import type { Headers } from "@effect-msgraph/spec/BatchRequest"
import type { BatchResponseItem } from "@effect-msgraph/spec/BatchResponse"
import * as CloudTable from "./Cloud.js"
import type * as DependencyResolver from "./DependencyResolver.js"
import { make as makeResolver } from "./DependencyResolver.js"
import * as CostCalculator from "@effect-msgraph/spec/CostCalculator"
import type { InvalidRequest } from "@effect-msgraph/spec/CostCalculator"
import type * as GCE from "./GraphClientError.js"
import * as inFlight from "./internal/client/inFlight.js"
import * as retry from "./internal/client/retry.js"
import * as telemetry from "./internal/client/telemetry.js"
import * as executor from "./internal/client/executor.js"
import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import type * as QuotaStore from "./QuotaStore.js"
import * as Throttler from "./Throttler.js"
import { type TokenError, TokenProvider } from "./TokenProvider.js"
import type { ThrottleError } from "./ThrottleError.js"
import * as VE from "./ValidationError.js"
import { type Priority, type ReferencedResponse, references, type Workload } from "./Workload.js"

/**
 * A request that succeeded (2xx). For a request with `pages`, one page of it: `page` (from 1) and
 * `more` (whether another outcome, the next page, follows for its id).
 *
 * @since 0.1.0
 * @category models
 */
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

/**
 * A request that did not succeed, with a batch-level or request-level error. For a request with
 * `pages`, `page` is the page that failed (the request's last outcome).
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly _tag: "Failure"
  readonly id: string
  readonly error: OutcomeError
  readonly attempts: number
  /**
   * Graph's own answer to this request, when it ended on one (an error status, or the last 429, 503
   * or 504 its retries got): the item as the batch response carried it, headers and body included.
   */
  readonly response?: BatchResponseItem
  /** For a request with `pages`: the page that failed, from 1 (the pages before it succeeded). */
  readonly page?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export type Outcome = Success | Failure

/**
 * A request that ended in an earlier run: whether it succeeded, and its response as references read
 * it. See `GraphClient.RunOptions.completed`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Completed {
  readonly id: string
  readonly succeeded: boolean
  readonly response: ReferencedResponse
}

/**
 * A request of a `$batch` call about to be sent, and whether the client would send it again after a
 * send that may have run. See `GraphClient.RunOptions.onSend`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sending {
  readonly id: string
  readonly resendable: boolean
}

/**
 * The last element of `run`'s stream.
 *
 * @since 0.1.0
 * @category models
 */
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
  /**
   * `$batch` calls in flight: `limit`, how many the client allowed at the end of the run (the
   * adaptive limit, or the fixed `concurrency`), and `peak`, the most it had in flight at once.
   */
  readonly inFlight?: { readonly limit: number; readonly peak: number }
}

/**
 * @since 0.1.0
 * @category models
 */
export type RunEvent = Outcome | Summary

/**
 * Everything a failed request can end with.
 *
 * @since 0.1.0
 * @category models
 */
export type OutcomeError = GCE.RequestFailure | GCE.BatchError | TokenError | ThrottleError | InvalidRequest

/**
 * The fields of one Graph call.
 *
 * @since 0.1.0
 * @category models
 */
export interface GraphCall {
  readonly method: string
  readonly url: string
  readonly headers?: Headers
  readonly body?: unknown
  readonly priority?: Priority
  /** Whether the call may be resent after a send that may have run; see `Workload.WorkloadRequest`. */
  readonly idempotent?: boolean
}

/**
 * One Graph call as an Effect `Request`, resolved in batches by the client's resolver.
 *
 * @since 0.1.0
 * @category requests
 */
export class GraphRequest extends Request.TaggedClass("GraphRequest")<Success, OutcomeError, GraphCall> {}

/**
 * The client's metrics: requests by outcome status (`msgraph_requests_total`, tagged `status`), 429s
 * (`msgraph_throttled_total`), resends (`msgraph_retries_total`), `$batch` calls
 * (`msgraph_batches_total`), requests not yet settled (`msgraph_queue_depth`), admission wait
 * (`msgraph_admission_wait_ms`) and the `$batch` calls let in flight at once
 * (`msgraph_inflight_limit`, the adaptive limit or the fixed `concurrency`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = {
  requests: telemetry.requestsTotal,
  throttled: telemetry.throttledTotal,
  retries: telemetry.retriesTotal,
  batches: telemetry.batchesTotal,
  queueDepth: telemetry.queueDepth,
  admissionWait: telemetry.admissionWait,
  inFlightLimit: inFlight.inFlightLimit
} as const

/**
 * The services' Graph clouds and their hosts (Graph endpoint, token authority and scope): the table
 * of the `Cloud` module, which `TokenProvider` reads too.
 *
 * @since 0.1.0
 * @category constants
 */
export const clouds = CloudTable.clouds

/**
 * @since 0.1.0
 * @category models
 */
export type Cloud = CloudTable.Cloud

/**
 * @since 0.1.0
 * @category models
 */
export interface GraphClientService {
  readonly options: GraphClient.Resolved
  /** One call, packed into a batch with the calls made alongside it. */
  readonly execute: (call: GraphCall) => Effect.Effect<Success, OutcomeError>
  /**
   * A workload, as a stream of outcomes ending with the summary. With `options.stop`, the run can
   * be ended early (see `GraphClient.RunOptions`).
   */
  readonly run: (workload: Workload, options?: GraphClient.RunOptions) => Stream.Stream<RunEvent, VE.WorkloadError>
  /** A workload, collected: every outcome and the summary. */
  readonly runAll: (workload: Workload) => Effect.Effect<
    { readonly outcomes: ReadonlyArray<Outcome>; readonly summary: Summary },
    VE.WorkloadError
  >
}

/**
 * @since 0.1.0
 * @category tags
 */
export class GraphClient extends Context.Tag("@effect-msgraph/core/GraphClient")<GraphClient, GraphClientService>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace GraphClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /** Default `global`. */
    readonly cloud?: Cloud
    /** Overrides the cloud's Graph endpoint, e.g. the emulator's `http://127.0.0.1:4000`. */
    readonly baseUrl?: string
    /** Default `v1.0`. */
    readonly version?: "v1.0" | "beta"
    /** Attempts per request, the first included. Default 5. */
    readonly maxAttempts?: number
    /** No retry is scheduled past this long after a request was first sent. Default 10 minutes. */
    readonly maxRetryTime?: Duration.DurationInput
    /**
     * Every request of a run (of `run`, `runAll`, or a group of `execute` calls batched together)
     * ends within this long of the run's start. A wait that would end after it (a `Retry-After`, a
     * backoff) ends the request at once, as `Throttled` with `reason: "Deadline"` and the
     * `retryAfterMillis` it was given; a request still waiting for admission or for its resend when
     * it comes ends the same way, and its dependents `DependencyFailed`. Nothing is sent after it; a
     * `$batch` call already in flight is not cut short. Default: none (a run waits as long as its
     * throttling asks, each pause capped by the Throttler's `maxPauseMillis`, 24 hours).
     */
    readonly deadline?: Duration.DurationInput
    /**
     * A fixed number of `$batch` calls in flight at once, for the whole client (every run and
     * every `execute` shares it). Unset (the default), the number adapts.
     * Under an admission that paces to Graph's limits (`layerThrottled`) it opens to what admission
     * lets through (allowed throughput × latency, by Little's law), up to a quarter of
     * `maxConcurrency` (16 by default), until Graph shows a sign of load (slower round trips or a
     * 429 end the opening where the limit is; a 503 or 504 drops it back to 4); otherwise it starts
     * at 4. Then it grows by about one per round trip while admitted batches wait for a call and
     * round trips stay as fast as they have been, shrinks when round trips grow well slower than
     * that (Graph queueing), and shrinks by 30% on a 503 or 504, and on a 429 only under an
     * admission that does not pace (under `layerThrottled` the Throttler holds the bucket that
     * refused); always between 1 and `maxConcurrency`. Admission still decides what may be sent; this only bounds
     * how much of it is in the air. See docs/throughput.md.
     */
    readonly concurrency?: number
    /**
     * The most `$batch` calls the adaptive limit lets in flight at once. Default
     * {@link defaultMaxConcurrency} (64); the opening under a pacing admission goes up to a quarter
     * of it. Ignored when `concurrency` is set.
     */
    readonly maxConcurrency?: number
    /**
     * How long one `$batch` round trip may take, from sending the request to the last byte of the
     * answer (headers and body). A call that takes longer is abandoned and handled like a dropped
     * connection: idempotent items are resent, the others end `UnknownOutcome`. Default
     * {@link defaultTimeout}.
     */
    readonly timeout?: Duration.DurationInput
    /**
     * Which methods may be resent after a send that may have run: an item answered 503 or 504, or
     * a batch-level 5xx, transport error or unreadable answer once sent. Default GET, PUT and
     * DELETE; POST and PATCH end as `UnknownOutcome` instead. A request's own `idempotent` marker
     * overrides it. Items answered 429 or 509 did not run and are resent whatever their method.
     */
    readonly idempotent?: (method: string) => boolean
    /** Delay before resending a 429/503/504 that carries no Retry-After. Default: exponential from 1 s with jitter, capped at 60 s. */
    readonly backoff?: Schedule.Schedule<unknown, unknown>
    /**
     * How workloads are planned (`DependencyResolver.Options`). Default: the plan with the shorter
     * estimated duration under `DependencyResolver.defaultLatency` (an assumption: 120 ms per
     * request, 75 ms per `$batch` call). Give `latency` to estimate with your tenant's figures, or
     * `policy: "fewestRoundTrips"` for the plan with fewer round trips. `concurrency` defaults to
     * this client's fixed `concurrency`, or to 4, where its adaptive limit starts.
     */
    readonly planning?: DependencyResolver.DependencyResolver.Options
  }

  /**
   * Ending a run early, as `msgraph-batch run` does on SIGINT or SIGTERM.
   *
   * @since 0.1.0
   * @category models
   */
  export interface RunOptions {
    /**
     * Once it completes, no further `$batch` call is sent. The calls in flight finish and their
     * answers are handled as usual (a resend they call for is not sent), then the stream ends with
     * the summary. Requests that have not ended by then get no outcome: `requests - succeeded -
     * failed` of the summary counts them.
     */
    readonly stop?: Effect.Effect<void>
    /**
     * Once it completes after `stop`, the calls still in flight are abandoned: their requests get no
     * outcome, and may have run. Default: wait for them (each is bounded by `timeout`).
     */
    readonly abandon?: Effect.Effect<void>
    /**
     * Requests that ended in an earlier run of the same workload (read back from a journal, see
     * `OutcomeRecord.toCompleted`). They are not sent and get no outcome; their dependents run, or
     * end `DependencyFailed`, as if they had just ended, and response references read their
     * `response`. The summary's `requests` leaves them out.
     */
    readonly completed?: Iterable<Completed>
    /**
     * Requests an earlier run sent without learning their outcome (it was killed, say). Those that
     * may be resent (the request's `idempotent` marker, else the client's `idempotent` option) are
     * sent again; the others end `UnknownOutcome` with cause `Interrupted`, without being sent,
     * unless `resendUnknown`. Ids that are also `completed` are ignored.
     */
    readonly sent?: Iterable<string>
    /** Send again the requests of `sent` that may not be resent. Default false. */
    readonly resendUnknown?: boolean
    /**
     * Called before each `$batch` call leaves the process, with its requests; the call waits until
     * it completes (a journal makes the record durable here, so that a crash can never hide a send).
     * A call it never lets go is not sent, and does not hold up `stop`.
     */
    readonly onSend?: (requests: ReadonlyArray<Sending>) => Effect.Effect<void>
  }

  /**
   * @since 0.1.0
   * @category models
   */
  export interface Resolved {
    readonly baseUrl: string
    readonly version: "v1.0" | "beta"
    readonly host: string
  }
}

/**
 * Exponential from 1 s, doubling, with jitter, each delay capped at 60 s.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBackoff: Schedule.Schedule<unknown, unknown> = retry.defaultBackoff

/**
 * The default per-round-trip timeout: 120 seconds. Graph documents no time limit for a `$batch`
 * call, and its SDKs give up on a call after 100 seconds by default; 120 seconds leaves every
 * answer those clients would accept, and a sequential batch of 20 slow items, time to arrive.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(120)

/**
 * The default ceiling of the adaptive in-flight limit (`GraphClient.Options.maxConcurrency`): 64
 * `$batch` calls. Graph publishes no limit on concurrent calls as such (its concurrency limits are
 * per service, such as Outlook's 4 per mailbox, and admission holds those). A sync of 50 mailboxes
 * needs 50 in flight (one batch per mailbox holds its 4 Outlook permits); 64 stays under the 100
 * concurrent streams HTTP/2 servers commonly allow on a connection, and bounds what a run keeps
 * alive in memory (twice the ceiling's batches). Lower it when a proxy or connection pool allows
 * fewer.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxConcurrency: number = inFlight.defaultMaxConcurrency

const resolveOptions = (options: GraphClient.Options) => {
  const baseUrl = (options.baseUrl ?? clouds[options.cloud ?? "global"].graph).replace(/\/+$/, "")
  const host = new URL(baseUrl).host
  return {
    resolved: { baseUrl, version: options.version ?? "v1.0", host } satisfies GraphClient.Resolved,
    settings: {
      baseUrl,
      version: options.version ?? "v1.0",
      deadlineMillis: options.deadline === undefined ? Infinity : Duration.toMillis(options.deadline),
      concurrency: options.concurrency ?? inFlight.defaultInitial,
      inFlight: options.concurrency !== undefined
        ? { _tag: "Fixed", permits: options.concurrency }
        : { _tag: "Adaptive", initial: inFlight.defaultInitial, tuning: inFlight.tuning(options.maxConcurrency) },
      timeoutMillis: Duration.toMillis(options.timeout ?? defaultTimeout),
      retry: {
        maxAttempts: options.maxAttempts ?? 5,
        maxRetryMillis: Duration.toMillis(options.maxRetryTime ?? Duration.minutes(10)),
        idempotent: options.idempotent ?? retry.defaultIdempotent,
        backoff: options.backoff ?? defaultBackoff
      },
      planning: options.planning ?? {}
    } satisfies executor.Settings
  }
}

/**
 * The throttling seam: the `Admission` port's tag (see the `Admission` module, where its request,
 * ticket, permission and answer are declared). `layerUnthrottled` sends without client-side
 * throttling; `layerThrottled` admits every batch through the `Throttler` with costs from the
 * `CostCalculator`.
 *
 * @since 0.1.0
 * @category tags
 */
export const Admission = AdmissionPort.Admission

/**
 * @since 0.1.0
 * @category tags
 */
export type Admission = AdmissionPort.Admission

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: GraphClient.Options = {}
): Effect.Effect<GraphClientService, never, HttpClient.HttpClient | TokenProvider | Admission> =>
  Effect.gen(function*() {
    const { resolved, settings } = resolveOptions(options)
    const http = yield* HttpClient.HttpClient
    const tokens = yield* TokenProvider
    const admission = yield* Admission
    const builder = yield* makeBuilder({ host: resolved.host, version: resolved.version })
    const resolver = yield* makeResolver.pipe(Effect.provideService(BatchBuilder, builder))
    // one set of send slots for the client: every run and every group of execute calls shares it
    const sending = yield* inFlight.make(settings.inFlight, { paced: admission.paced === true })
    const deps: executor.Deps = { http, token: tokens.token, builder, resolver, admission, settings, sending }

    const run = (workload: Workload, options: GraphClient.RunOptions = {}): Stream.Stream<RunEvent, VE.WorkloadError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        // bounded: a slow consumer holds the executor back instead of buffering every outcome
        const mailbox = yield* Mailbox.make<RunEvent, VE.WorkloadError>({ capacity: 1024 })
        const control = options.stop === undefined ? undefined : { stop: options.stop, abandon: options.abandon ?? Effect.never }
        const resume = {
          completed: options.completed,
          sent: options.sent,
          resendUnknown: options.resendUnknown,
          onSend: options.onSend
        } satisfies executor.Resume
        yield* executor.runWorkload(deps, workload, (outcomes) => Effect.asVoid(mailbox.offerAll(outcomes)), control, resume).pipe(
          Effect.flatMap((summary) => mailbox.offer(summary)),
          Mailbox.into(mailbox),
          Effect.forkScoped
        )
        return Mailbox.toStream(mailbox)
      }))

    const runAll = (workload: Workload) =>
      Effect.gen(function*() {
        const outcomes: Array<Outcome> = []
        const summary = yield* executor.runWorkload(deps, workload, (settled) => Effect.sync(() => void outcomes.push(...settled)))
        return { outcomes, summary }
      })

    /** A call checked on its own: request rules, and no response references (they need a workload). */
    const checkCall = (call: GraphCall): Option.Option<OutcomeError> => {
      const refs = references(call)
      if (refs.length > 0) {
        return Option.some(new VE.InvalidReference({ ids: ["1"], references: refs.map((r) => r.text) }))
      }
      const checked = validate([{ id: "1", ...call }], { host: resolved.host, version: resolved.version })
      return checked._tag === "Left" ? Option.some(checked.left as VE.RequestError) : Option.none()
    }

    const callResolver = RequestResolver.makeBatched((requests: ReadonlyArray<GraphRequest>) =>
      Effect.gen(function*() {
        const valid: Array<GraphRequest> = []
        for (const request of requests) {
          const problem = checkCall(request)
          if (Option.isSome(problem)) yield* Request.fail(request, problem.value)
          else valid.push(request)
        }
        if (valid.length === 0) return
        const workload: Workload = valid.map((request, i) => ({
          id: String(i + 1),
          method: request.method,
          url: request.url,
          ...(request.headers === undefined ? {} : { headers: request.headers }),
          ...(request.body === undefined ? {} : { body: request.body }),
          ...(request.priority === undefined ? {} : { priority: request.priority }),
          ...(request.idempotent === undefined ? {} : { idempotent: request.idempotent })
        }))
        // every call passed the request rules and ids are unique, so the workload is valid
        yield* executor.runWorkload(deps, workload, (outcomes) =>
          Effect.forEach(outcomes, (outcome) => {
            const request = valid[Number(outcome.id) - 1]!
            return outcome._tag === "Success" ? Request.succeed(request, outcome) : Request.fail(request, outcome.error)
          }, { discard: true })).pipe(
            Effect.orDie,
            // a run that dies (a quota store that fails, say) hands its defect to the calls left
            // without an outcome: a request the resolver leaves open reaches its caller as a bare
            // interruption, which says nothing and which no retry or catchAllDefect sees
            Effect.catchAllCause((cause) =>
              Cause.isInterruptedOnly(cause)
                ? Effect.failCause(cause)
                : Effect.forEach(valid, (request) => Request.complete(request, Exit.failCause(cause)), { discard: true })
            )
          )
      })
    )

    const execute = (call: GraphCall) => Effect.request(new GraphRequest(call), callResolver)

    return GraphClient.of({ options: resolved, execute, run, runAll })
  })

/**
 * Proactive throttling: every batch is priced by the `CostCalculator` and admitted by the
 * `Throttler` before it is sent, so the documented limits are respected instead of discovered.
 *
 * - Graph judges each item of a batch on its own, so only the part of a batch that fits every
 *   bucket's capacity is sent; the rest waits for a later round (for a sequential batch, the part
 *   before the first item left out).
 * - An item that could never fit (a cost above a bucket's capacity) fails with `CostExceedsCapacity`.
 * - Concurrency is counted as Graph runs a batch: one request at a time for a sequential batch,
 *   and up to the cap for a parallel one.
 * - `x-ms-throttle-priority` is set on identity and access requests that were given a priority.
 * - Every answer goes back to the Throttler (Retry-After, `x-ms-throttle-scope`, utilisation
 *   headers, adaptive limits).
 *
 * `identity` names the tenant, app and acting user that buckets are keyed by. `options.leastLatency`
 * is what Graph takes at least, by assumption (`Admission.LeastLatency`): with it a window's place
 * frees that much sooner after each answer; absent, none is assumed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerThrottled = (
  identity: LimitCatalog.LimitCatalog.Identity,
  options: AdmissionPort.ThrottledOptions = {}
): Layer.Layer<Admission, never, Throttler.Throttler | CostCalculator.CostCalculator | LimitCatalog.LimitCatalog> =>
  AdmissionPort.layerThrottled(identity, options)

/**
 * {@link layerThrottled} (with `leastLatency`, if given) with an in-memory Throttler and the built-in catalogue, configured by
 * `catalog` (tenant size, delegated or app-only, B2C, overrides) and `throttler` (policies, and the
 * in-memory store's options under `store`; token buckets keep {@link defaultTokenReserveMillis} of
 * refill in reserve unless `store.tokenReserveMillis` says otherwise, and token buckets and
 * sliding windows count their units in flight unless `store.unitsInFlight` is `false`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerThrottledMemory = (
  identity: LimitCatalog.LimitCatalog.Identity,
  options: AdmissionPort.ThrottledOptions & {
    readonly catalog?: LimitCatalog.LimitCatalog.Options
    readonly throttler?: Throttler.Throttler.Options & { readonly store?: QuotaStore.QuotaStore.MemoryOptions }
  } = {}
): Layer.Layer<Admission, LimitCatalog.InvalidOverride | LimitCatalog.InvalidCatalog> =>
  layerThrottled(identity, { leastLatency: options.leastLatency }).pipe(
    Layer.provide(Layer.merge(
      Throttler.layerMemory({
        ...options.throttler,
        // requests reach Graph bunched by queueing and transit: keep 250 ms of refill in reserve
        // a token bucket's refill stops short of its capacity by the units not yet answered, and a
        // window counts them as taken now until their answer dates them
        store: { tokenReserveMillis: defaultTokenReserveMillis, unitsInFlight: true, ...options.throttler?.store }
      }),
      CostCalculator.layer
    )),
    Layer.provide(LimitCatalog.layer(options.catalog))
  )

/**
 * The reserve `layerThrottledMemory` keeps in every token bucket (`QuotaStore.MemoryOptions`
 * `tokenReserveMillis`), in milliseconds of refill.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTokenReserveMillis = 250

/**
 * No client-side throttling: every batch is sent at once, and 429s are retried after Retry-After.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnthrottled: Layer.Layer<Admission> = AdmissionPort.layerUnthrottled

/**
 * The client, given an `HttpClient`, a `TokenProvider` and an `Admission`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: GraphClient.Options
): Layer.Layer<GraphClient, never, HttpClient.HttpClient | TokenProvider | Admission> =>
  Layer.effect(GraphClient, make(options))

/**
 * Reads `MSGRAPH_CLOUD` (`global`, `usGov`, `usGovDod`, `china`), `MSGRAPH_BASE_URL` and
 * `MSGRAPH_VERSION`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<GraphClient.Options, "cloud" | "baseUrl" | "version"> = {}
): Layer.Layer<GraphClient, ConfigError.ConfigError, HttpClient.HttpClient | TokenProvider | Admission> =>
  Layer.effect(
    GraphClient,
    Effect.flatMap(
      Config.all({
        cloud: Config.withDefault(CloudTable.config(), "global" as const),
        baseUrl: Config.option(Config.string("MSGRAPH_BASE_URL").pipe(
          // a bad endpoint is a ConfigError naming the variable, not a defect when the client is made
          Config.mapOrFail((value) => {
            const url = URL.canParse(value) ? new URL(value) : undefined
            return url !== undefined && (url.protocol === "https:" || url.protocol === "http:")
              ? Either.right(value)
              : Either.left(ConfigError.InvalidData([], `not an http(s) URL: ${JSON.stringify(value)}`))
          })
        )),
        version: Config.withDefault(Config.literal("v1.0", "beta")("MSGRAPH_VERSION"), "v1.0" as const)
      }),
      ({ baseUrl, cloud, version }) =>
        make({ ...options, cloud, version, ...(Option.isSome(baseUrl) ? { baseUrl: baseUrl.value } : {}) })
    )
  )
