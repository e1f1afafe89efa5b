/**
 * What can go wrong when the client talks to Graph, kept apart by level:
 *
 * - **batch level**: the `$batch` call itself failed. No item has an answer from this call:
 *   `BatchRejected` (4xx with a Graph error), `BatchServerError` (5xx), `BatchTransportError` (no
 *   HTTP response), `BatchDecodeError` (a response that is not a batch response).
 * - **request level**: one request's own outcome: `GraphRequestError` (Graph answered an error
 *   status), `Throttled` (429/503/504 until retries ran out), `DependencyFailed` (not run because a
 *   dependency failed), `UnknownOutcome` (a request that may not be resent and may or may not have run),
 *   `NextLinkRefused` (a further page of a paged request whose `@odata.nextLink` was not followed).
 *
 * Every error is a `Schema.TaggedError`, so it can be matched exhaustively with `Match` or
 * `Effect.catchTags`, and serialised. None of them carries an Authorization header or a token.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ODataError } from "@effect-msgraph/spec/GraphError"
import type * as VE from "./ValidationError.js"

/**
 * Graph refused the whole batch with a 4xx (a malformed envelope is 400).
 *
 * @since 0.1.0
 * @category batch errors
 */
export class BatchRejected extends Schema.TaggedError<BatchRejected>()("BatchRejected", {
  batchId: Schema.String,
  status: Schema.Number,
  error: Schema.optionalWith(ODataError, { exact: true })
}) {
  override get message() {
    return `batch ${this.batchId} rejected with ${this.status}${this.error?.message ? `: ${this.error.message}` : ""}`
  }
}

/**
 * The batch call answered 5xx.
 *
 * @since 0.1.0
 * @category batch errors
 */
export class BatchServerError extends Schema.TaggedError<BatchServerError>()("BatchServerError", {
  batchId: Schema.String,
  status: Schema.Number,
  retryAfterMillis: Schema.optionalWith(Schema.Number, { exact: true })
}) {
  override get message() {
    return `batch ${this.batchId} failed with ${this.status}`
  }
}

/**
 * No HTTP response: the connection failed or was dropped. `sent` says whether the request may have
 * reached Graph.
 *
 * @since 0.1.0
 * @category batch errors
 */
export class BatchTransportError extends Schema.TaggedError<BatchTransportError>()("BatchTransportError", {
  batchId: Schema.String,
  sent: Schema.Boolean,
  description: Schema.String
}) {
  override get message() {
    return `batch ${this.batchId}: transport failure (${this.description})`
  }
}

/**
 * A 200 whose body is not a valid batch response: malformed JSON, a wrong shape, or items missing.
 *
 * @since 0.1.0
 * @category batch errors
 */
export class BatchDecodeError extends Schema.TaggedError<BatchDecodeError>()("BatchDecodeError", {
  batchId: Schema.String,
  description: Schema.String,
  missing: Schema.Array(Schema.String)
}) {
  override get message() {
    return `batch ${this.batchId}: ${this.description}`
  }
}

/**
 * @since 0.1.0
 * @category batch errors
 */
export type BatchError = BatchRejected | BatchServerError | BatchTransportError | BatchDecodeError

/**
 * Graph answered the request with an error status.
 *
 * @since 0.1.0
 * @category request errors
 */
export class GraphRequestError extends Schema.TaggedError<GraphRequestError>()("GraphRequestError", {
  id: Schema.String,
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String,
  requestId: Schema.optionalWith(Schema.String, { exact: true }),
  date: Schema.optionalWith(Schema.String, { exact: true })
}) {}

/**
 * What ended a {@link Throttled} request:
 *
 * - `Attempts`: its attempts (`maxAttempts`) or the backoff schedule ran out;
 * - `RetryTime`: the next attempt would have come more than `maxRetryTime` after its first send;
 * - `Deadline`: the run's `deadline` came first. Either the wait it was given (a `Retry-After`, a
 *   backoff) would have ended after the deadline, and it ended at once, or it was still waiting
 *   (for admission, or to be sent again) when the deadline came.
 *
 * @since 0.1.0
 * @category request errors
 */
export const ThrottledReason = Schema.Literal("Attempts", "RetryTime", "Deadline")

/**
 * The request was throttled (429, 509) or unavailable (503, 504) on every attempt the retry policy
 * allowed, or could not be sent (again) before the run's deadline. An item answered 503 or 504 is
 * resent, and so can end here, only when it may be resent (see {@link UnknownOutcome}); a 429 or
 * 509 item did not run, so it is resent whatever its method.
 *
 * - `status`: its last answer's status; 0 when it was never answered (it waited for admission until
 *   the deadline).
 * - `retryAfterMillis`: the delay its last answer's `Retry-After` asked for, when it had a valid one
 *   (a batch-level answer's, for an item of a batch answered as a whole).
 * - `reason`: what ended it (see {@link ThrottledReason}); set by the client, optional so that
 *   errors serialised before it existed still decode.
 *
 * @since 0.1.0
 * @category request errors
 */
export class Throttled extends Schema.TaggedError<Throttled>()("Throttled", {
  id: Schema.String,
  status: Schema.Number,
  attempts: Schema.Number,
  retryAfterMillis: Schema.optionalWith(Schema.Number, { exact: true }),
  reason: Schema.optionalWith(ThrottledReason, { exact: true })
}) {
  override get message() {
    const asked = this.retryAfterMillis === undefined ? "" : ` (last Retry-After ${this.retryAfterMillis} ms)`
    if (this.reason === "Deadline") {
      return this.status === 0
        ? `request ${this.id} not sent before the deadline (${this.attempts} attempts)`
        : `request ${this.id} answered ${this.status}; the deadline came before it could be sent again (${this.attempts} attempts)${asked}`
    }
    return `request ${this.id} still answered ${this.status} after ${this.attempts} attempts${asked}`
  }
}

/**
 * Not run: a dependency failed with `status` (the dependency's own status for a direct dependent,
 * 424 further down the chain; Graph's 424 semantics). Usually the request was never sent; when it
 * shared a sequential batch with its dependency, Graph answered it 424 without running it. The
 * outcome's `attempts` is 0 either way, unless an idempotent request was sent earlier in a batch
 * whose answer was lost and the dependency's failure became known only afterwards; then that
 * earlier attempt may have run.
 *
 * @since 0.1.0
 * @category request errors
 */
export class DependencyFailed extends Schema.TaggedError<DependencyFailed>()("DependencyFailed", {
  id: Schema.String,
  dependency: Schema.String,
  status: Schema.Number
}) {
  override get message() {
    return `request ${this.id} not run: dependency ${this.dependency} failed with ${this.status}`
  }
}

/**
 * A request that may not be resent (POST and PATCH by default, see the client's `idempotent` option
 * and a workload request's `idempotent` marker) whose fate is unknown: it was sent, then
 * - Graph answered the item itself 503 or 504 (`cause` `ItemStatus`, `status` says which): Graph does
 *   not say whether such an item ran, and a 504 is a gateway that stopped waiting for the service
 *   that runs it;
 * - or the whole call failed after it may have run: a batch-level 5xx, a lost connection, an answer
 *   that could not be read or that left the item out (`cause` is the batch error's tag);
 * - or, resuming a run, an earlier run sent it and ended before its answer (`cause` `Interrupted`,
 *   see `GraphClient.RunOptions.sent`); it is not sent again.
 * An item of the same batch that depends on such a request, and has no answer that settles it, ends
 * the same way. It is never retried automatically; reconcile it.
 * `detail`, when present, is the batch error's message (which batch, which status or transport
 * failure).
 *
 * @since 0.1.0
 * @category request errors
 */
export class UnknownOutcome extends Schema.TaggedError<UnknownOutcome>()("UnknownOutcome", {
  id: Schema.String,
  method: Schema.String,
  cause: Schema.String,
  detail: Schema.optionalWith(Schema.String, { exact: true }),
  /** The item's own status (503 or 504) when `cause` is `ItemStatus`. */
  status: Schema.optionalWith(Schema.Number, { exact: true })
}) {
  override get message() {
    const cause = this.status === undefined ? this.cause : `its answer was ${this.status}`
    return `request ${this.id} (${this.method}) may or may not have run: ${cause}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

/**
 * A further page of a paged request (a workload request with `pages`) was not fetched: the last
 * page's `@odata.nextLink` does not name the configured Graph host and version, or is not a URL a
 * request can carry, so it was not followed and nothing was sent for it. `page` is the page that
 * was refused (the pages before it were delivered); `reason` says what was wrong with the link.
 *
 * @since 0.1.0
 * @category request errors
 */
export class NextLinkRefused extends Schema.TaggedError<NextLinkRefused>()("NextLinkRefused", {
  id: Schema.String,
  page: Schema.Number,
  reason: Schema.String
}) {
  override get message() {
    return `request ${this.id}: page ${this.page} not fetched, its @odata.nextLink was refused (${this.reason})`
  }
}

/**
 * Why a request did not succeed. `InvalidReference` and the request rules of `ValidationError` mean
 * the request was never sent (its response reference could not be resolved, or resolved to an
 * invalid request).
 *
 * @since 0.1.0
 * @category request errors
 */
export type RequestFailure =
  | GraphRequestError
  | Throttled
  | DependencyFailed
  | UnknownOutcome
  | NextLinkRefused
  | VE.InvalidReference
  | VE.RequestError
