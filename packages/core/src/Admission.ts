/**
 * The admission port: what `GraphClient` asks before it sends a batch, and what it reports once the
 * batch is answered. The client sends whatever its admission lets through, when it lets it through;
 * it never decides pacing itself.
 *
 * For each planned batch the client calls {@link AdmissionService.admit} with the batch's items and
 * gets a {@link Ticket}: the items that can never be sent (rejected, with their error), and an
 * `acquire` Effect that waits until some of the batch may go and answers a {@link Permission}: which
 * items go now (each with headers to add and an opaque handle), which wait for a later batch, and a
 * `release` to run once the batch is answered (or was never sent). The answers then come back,
 * item by item with the handle the permission gave, through {@link AdmissionService.feedback}.
 *
 * Two implementations ship: {@link layerUnthrottled} (everything goes at once) and
 * {@link layerThrottled} (every batch is priced by the `CostCalculator` and admitted by the
 * `Throttler`). Write your own by providing the {@link Admission} tag.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { BatchRequestItem, Headers } from "@effect-msgraph/spec/BatchRequest"
import type { CostCalculator, InvalidRequest } from "@effect-msgraph/spec/CostCalculator"
import type { PlannedBatch } from "./DependencyResolver.js"
import * as throttledAdmission from "./internal/admission/throttled.js"
import type { LimitCatalog } from "@effect-msgraph/spec/LimitCatalog"
import type { ThrottleError } from "./ThrottleError.js"
import type { Throttler } from "./Throttler.js"
import type { Priority } from "./Workload.js"

/**
 * One batch as admission sees it: its items in order, each with the priority the caller gave, if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly batchId: string
  readonly shape: PlannedBatch["shape"]
  readonly items: ReadonlyArray<{ readonly request: BatchRequestItem; readonly priority: Priority | undefined }>
}

/**
 * Why an item can never be admitted: it cannot be priced, or it costs more than a bucket holds.
 *
 * @since 0.1.0
 * @category models
 */
export type Rejection = ThrottleError | InvalidRequest

/**
 * What admission decided for a batch, by index into its items: `rejected` items can never be
 * admitted (they fail with their error); the others are decided by `acquire`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ticket {
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly error: Rejection }>
  /**
   * Waits until some of the batch may go, and says which items go now and which wait for a later
   * batch. Ends at once when nothing is left to send.
   */
  readonly acquire: Effect.Effect<Permission>
}

/**
 * By index into the batch's items:
 * - `send`: admitted now, with headers to add and an opaque handle for feedback;
 * - `deferred`: not this time (a bucket has no room now); sent again in a later batch.
 *
 * For sequential batches `send` is a prefix: Graph would stop the chain at the first item left out.
 *
 * @since 0.1.0
 * @category models
 */
export interface Permission {
  readonly send: ReadonlyArray<{ readonly index: number; readonly headers: Readonly<Record<string, string>>; readonly handle: unknown }>
  readonly deferred: ReadonlyArray<number>
  /** Run by the client once the batch is answered, or when it will not be sent. */
  readonly release: Effect.Effect<void>
  /**
   * Asked once the batch holds a send slot, just before it is sent: `true` when what admitted it has
   * since been shown wrong (Graph's real limit on one of its buckets is lower than the share it was
   * admitted at, or Graph refused a request there), so that sent now it would meet 429s. The client
   * then runs `revoke` instead of `release` and sends its requests again through admission.
   */
  readonly stale?: (() => boolean) | undefined
  /**
   * `release` for a batch Graph answered (an HTTP response, not a transport failure): what Graph
   * counted, it counted some time before the answer, and an admission that knows how long at least
   * (see {@link LeastLatency}) dates window units that much earlier. Absent: `release`.
   */
  readonly answered?: Effect.Effect<void> | undefined
  /**
   * Asked before `stale`, once the batch holds a send slot (and may be asked before it takes one):
   * `undefined` when it may be sent now; otherwise an Effect that ends when it is worth asking
   * again (a bucket holds its units in flight until Graph has told its real capacity, and this batch
   * would exceed what it holds). The client gives its slot back while it waits.
   */
  readonly room?: (() => Effect.Effect<void> | undefined) | undefined
  /** `release` for a batch not sent after all: what it took is given back. */
  readonly revoke?: Effect.Effect<void> | undefined
  /** Time spent waiting, per bucket key. */
  readonly waitedMillis: Readonly<Record<string, number>>
}

/**
 * The least time Graph takes, by assumption, for {@link layerThrottled}: each call's round trip
 * before Graph counts any of its items (connection, transit, the envelope), and each item's own
 * run after Graph counted it (by its request). A window unit is counted by Graph some time between
 * the send and the answer; with these the throttled admission dates it at the answer less the
 * item's least run and the least round trip (the next request on the window is counted no sooner
 * than that after its admission), instead of at the answer, so its place in the window frees that
 * much sooner. Sound only while every real latency is at least the assumed one: a shorter one can
 * make a window take more than its limit (429s at documented limits). Absent: no assumption (0).
 *
 * @since 0.1.0
 * @category models
 */
export interface LeastLatency {
  /** The least time from a call's send to Graph counting the first of its items. */
  readonly perRoundTripMillis: number
  /** The least time from Graph counting an item to the call's answer. */
  readonly perItemMillis: (request: BatchRequestItem) => number
}

/**
 * How {@link layerThrottled} admits.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThrottledOptions {
  /** What Graph takes at least (see {@link LeastLatency}); absent, window units are dated at the answer. */
  readonly leastLatency?: LeastLatency | undefined
}

/**
 * One item's answer: its own status and headers, or the whole batch's when the batch failed as a
 * whole, with the handle its permission gave.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly handle: unknown
  readonly status: number
  readonly headers: Headers
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AdmissionService {
  /** Resolves at once with the batch's ticket; its `acquire` waits until (part of) the batch may go. */
  readonly admit: (batch: Request) => Effect.Effect<Ticket>
  /** The answers of one batch's items, in the batch's order. */
  readonly feedback: (answers: ReadonlyArray<Answer>) => Effect.Effect<void>
  /**
   * Requests with the same affinity are better sent in the same batches (they hold the same
   * concurrency permits); `undefined` when a request has none.
   */
  readonly affinity?: (request: BatchRequestItem) => string | undefined
  /**
   * `true` when `acquire` paces batches to Graph's limits (its buckets), so that what it lets
   * through is what the limits allow now: the client then opens its adaptive in-flight limit to
   * all of it (allowed throughput × latency, by Little's law) instead of climbing from 4, until
   * Graph shows a sign of load (docs/throughput.md). Absent or `false` (as {@link unthrottled}):
   * admission says nothing about what Graph allows, and the limit climbs from 4.
   */
  readonly paced?: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Admission extends Context.Tag("@effect-msgraph/core/Admission")<Admission, AdmissionService>() {}

/**
 * Lets every item of every batch go at once, and learns nothing from the answers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unthrottled: AdmissionService = {
  admit: (batch) =>
    Effect.succeed({
      rejected: [],
      acquire: Effect.succeed({
        send: batch.items.map((_, index) => ({ index, headers: {}, handle: undefined })),
        deferred: [],
        release: Effect.void,
        waitedMillis: {}
      })
    }),
  feedback: () => Effect.void
}

/**
 * No client-side throttling: every batch is sent at once, and 429s are retried after Retry-After.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnthrottled: Layer.Layer<Admission> = Layer.succeed(Admission, unthrottled)

/**
 * Proactive throttling: every batch is priced by the `CostCalculator` and admitted by the
 * `Throttler` before it is sent. `identity` names the tenant, app and acting user that buckets are
 * keyed by; `options.leastLatency`, what Graph takes at least ({@link LeastLatency}). See
 * `GraphClient.layerThrottled`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerThrottled = (
  identity: LimitCatalog.Identity,
  options: ThrottledOptions = {}
): Layer.Layer<Admission, never, Throttler | CostCalculator | LimitCatalog> =>
  // the Throttler admits what the limits allow now: the client may have all of it in flight
  Layer.effect(
    Admission,
    Effect.map(throttledAdmission.make({ identity, leastLatency: options.leastLatency }), (service) => ({ ...service, paced: true }))
  )
