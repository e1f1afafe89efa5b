/**
 * One outcome of a run as a plain JSON record, the line `msgraph-batch run --out` writes:
 *
 * ```json
 * {"id":"create-ada","status":201,"attempts":1,"headers":{"location":"https://graph.microsoft.com/v1.0/users/4e1f...","request-id":"...","client-request-id":"...","content-type":"application/json"},"body":{"id":"4e1f...","userPrincipalName":"ada@contoso.com"}}
 * ```
 *
 * - `status`: the HTTP status of the request's own answer; for a failure without one, 424 when a
 *   dependency failed (Graph's status for it), the batch's status for a batch-level error, or 0
 *   (never sent, or sent with no answer: `UnknownOutcome`, a transport failure).
 * - `error`, for failures only: `tag` (the error's `_tag`), Graph's `code` (or `null`), `message`,
 *   and `dependency` for `DependencyFailed`.
 * - `headers`: only {@link keptHeaders}, with lower-case names. Nothing else of a response is kept,
 *   so neither a token nor a cookie can reach a record.
 * - `page`, for a request with `pages` only: which page of the collection this record holds, from 1.
 *   Such a request has one record per page, each with that page's items (and, on a delta query's
 *   last page, its `@odata.deltaLink`); a failed page's record is the request's last.
 * - `body`: as on the `$batch` wire: inline JSON, or base64 when `content-type` (kept in `headers`)
 *   is not JSON. {@link toResponse} turns a record back into the response it came from.
 *
 * The module holds no state: the caller decides where records go (a file, standard output, a
 * journal) and keeps none of them.
 *
 * @since 0.1.0
 */
import { Either, Option, Schema } from "effect"
import { Headers } from "@effect-msgraph/spec/BatchRequest"
import type * as GraphClient from "./GraphClient.js"
import * as GraphError from "@effect-msgraph/spec/GraphError"
import * as body from "@effect-msgraph/spec/Body"
import type { ReferencedResponse } from "./Workload.js"

/**
 * The response headers a record keeps (lower-case): the ids Microsoft support asks for
 * (`request-id`, `client-request-id`), where a created object lives (`location`), its version for
 * a later conditional update (`etag`), how to read the body (`content-type`), and the last
 * `retry-after` of a throttled request.
 *
 * @since 0.1.0
 * @category constants
 */
export const keptHeaders: ReadonlyArray<string> = ["request-id", "client-request-id", "location", "etag", "content-type", "retry-after"]

const kept = new Set(keptHeaders)

/**
 * The `error` of a failure's record.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RecordError = Schema.Struct({
  tag: Schema.String,
  code: Schema.NullOr(Schema.String),
  message: Schema.String,
  dependency: Schema.optionalWith(Schema.String, { exact: true })
})

/**
 * One record, as written (bodies still base64 where the wire has them so).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutcomeRecord = Schema.Struct({
  id: Schema.String,
  page: Schema.optionalWith(Schema.Number, { exact: true }),
  status: Schema.Number,
  attempts: Schema.Number,
  error: Schema.optionalWith(RecordError, { exact: true }),
  headers: Schema.optionalWith(Headers, { exact: true }),
  body: Schema.optionalWith(Schema.Unknown, { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export type OutcomeRecord = typeof OutcomeRecord.Type

const pickHeaders = (headers: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined => {
  if (headers === undefined) return undefined
  let out: Record<string, string> | undefined
  for (const name in headers) {
    const lower = name.toLowerCase()
    if (kept.has(lower)) (out ??= {})[lower] = headers[name]!
  }
  return out
}

const statusOf = (failure: GraphClient.Failure): number => {
  if (failure.response !== undefined) return failure.response.status
  const error = failure.error
  if (error._tag === "DependencyFailed") return 424
  return "status" in error && typeof error.status === "number" ? error.status : 0
}

const errorOf = (failure: GraphClient.Failure): typeof RecordError.Type => {
  const error = failure.error
  const graph = failure.response === undefined ? Option.none() : GraphError.fromBody(failure.response.body)
  const code = error._tag === "GraphRequestError"
    ? error.code
    : Option.isSome(graph)
    ? GraphError.codes(graph.value.error)[0]
    : error._tag === "BatchRejected"
    ? error.error?.code
    : undefined
  return {
    tag: error._tag,
    code: code === undefined || code === "" ? null : code,
    message: error.message,
    ...(error._tag === "DependencyFailed" ? { dependency: error.dependency } : {})
  }
}

/**
 * The record of an outcome. Its body is encoded as the wire encodes it (a body that cannot be, which
 * a decoded response never has, is left out).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromOutcome = (outcome: GraphClient.Outcome): OutcomeRecord => {
  const response = outcome._tag === "Success" ? outcome : outcome.response
  const headers = pickHeaders(response?.headers)
  const encoded = response?.body === undefined ? undefined : Either.getOrUndefined(body.encodeBody(headers, response.body))
  return {
    id: outcome.id,
    ...(outcome.page === undefined ? {} : { page: outcome.page }),
    status: outcome._tag === "Success" ? outcome.status : statusOf(outcome),
    attempts: outcome.attempts,
    ...(outcome._tag === "Failure" ? { error: errorOf(outcome) } : {}),
    ...(headers === undefined ? {} : { headers }),
    ...(encoded === undefined ? {} : { body: encoded })
  }
}

/**
 * The response a record holds, as response references read it (`{ status, headers, body }`, a base64
 * body back to bytes): what a journal needs to resolve `{{id#/pointer}}` against an earlier run.
 * Fails with a reason when the body is not the base64 its `content-type` calls for.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toResponse = (record: OutcomeRecord): Either.Either<ReferencedResponse, string> => {
  const headers = record.headers
  if (record.body === undefined) return Either.right(headers === undefined ? { status: record.status } : { status: record.status, headers })
  return Either.map(body.decodeBody(headers, record.body), (decoded) =>
    headers === undefined ? { status: record.status, body: decoded } : { status: record.status, headers, body: decoded })
}

/**
 * A record as `GraphClient.RunOptions.completed` takes it, to resume a run: it succeeded when it
 * has no `error`; its response is {@link toResponse}'s.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toCompleted = (record: OutcomeRecord): Either.Either<GraphClient.Completed, string> =>
  Either.map(toResponse(record), (response) => ({ id: record.id, succeeded: record.error === undefined, response }))
