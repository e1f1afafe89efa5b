/**
 * One `$batch` round trip: the HTTP call, bounded by the timeout, and the decoding of its answer
 * into item responses or a batch-level error.
 *
 * @internal
 */
import { HttpBody, type HttpClient, type HttpClientError, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Either, Option } from "effect"
import type { Headers } from "@effect-msgraph/spec/BatchRequest"
import type { BatchResponseEnvelope, BatchResponseItem } from "@effect-msgraph/spec/BatchResponse"
import type { PlannedBatch } from "../../DependencyResolver.js"
import * as GCE from "../../GraphClientError.js"
import * as GraphError from "@effect-msgraph/spec/GraphError"
import * as RetryAfter from "@effect-msgraph/spec/RetryAfter"
import type { TokenError } from "../../TokenProvider.js"
import * as transport from "./transport.js"
import * as wire from "./wire.js"

/** What a `$batch` call came to. */
export type BatchResult =
  | {
    readonly _tag: "Envelope"
    readonly responses: ReadonlyArray<BatchResponseItem>
    /** The responses by lower-cased id. */
    readonly byKey: ReadonlyMap<string, BatchResponseItem>
    readonly missing: ReadonlyArray<string>
    /** Some items were answered twice, differently (they are in `missing`). */
    readonly contradicted: boolean
  }
  | { readonly _tag: "Error"; readonly error: GCE.BatchError; readonly headers: Headers }
  | { readonly _tag: "NoToken"; readonly error: TokenError }

const batchError = (error: GCE.BatchError, headers: Headers = {}): BatchResult => ({ _tag: "Error", error, headers })

/** The `$batch` POST of a batch's JSON, with its bearer token. */
export const request = (url: string, token: string, json: unknown): HttpClientRequest.HttpClientRequest =>
  // one `modify`: the same headers, in the same order, as bearerToken, acceptJson and bodyUnsafeJson
  HttpClientRequest.post(url, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    body: HttpBody.unsafeJson(json)
  })

/**
 * Sends the request and reads its answer; one timeout covers the whole round trip, headers and
 * body (interrupting the exchange aborts it).
 */
export const exchange = (
  http: HttpClient.HttpClient,
  batch: PlannedBatch,
  request: HttpClientRequest.HttpClientRequest,
  timeoutMillis: number
): Effect.Effect<BatchResult> =>
  Effect.flatMap(
    http.execute(request).pipe(
      Effect.flatMap((response) =>
        Effect.map(Effect.either(response.text), (text) => ({ status: response.status, headers: response.headers, text }))
      ),
      Effect.either,
      Effect.timeoutTo({ duration: Duration.millis(timeoutMillis), onSuccess: Option.some, onTimeout: Option.none })
    ),
    (exchanged) => {
      if (Option.isNone(exchanged)) {
        return Effect.succeed(batchError(
          new GCE.BatchTransportError({
            batchId: batch.id,
            sent: true,
            description: `no complete answer within ${Duration.format(Duration.millis(timeoutMillis))}`
          })
        ))
      }
      if (Either.isLeft(exchanged.value)) return Effect.succeed(failedCall(batch, exchanged.value.left))
      const { headers, status, text } = exchanged.value.right
      const flat: Headers = { ...headers }
      if (Either.isLeft(text)) {
        return Effect.succeed(batchError(
          new GCE.BatchTransportError({ batchId: batch.id, sent: true, description: "connection lost while reading the response" }),
          flat
        ))
      }
      return decode(batch, status, flat, text.right)
    }
  )

/** A call that got no answer: whether anything left this process decides `sent`. */
const failedCall = (batch: PlannedBatch, error: HttpClientError.HttpClientError): BatchResult => {
  // a failure while encoding, or before a connection existed, means nothing left this process
  const notSent = error._tag === "RequestError" && error.reason === "Encode"
    ? "Encode"
    : error._tag === "RequestError" && error.reason === "Transport"
    ? transport.notSentCode(error.cause)
    : undefined
  return batchError(
    new GCE.BatchTransportError({
      batchId: batch.id,
      sent: notSent === undefined,
      description: notSent === undefined || notSent === "Encode" ? error.reason : `${error.reason} (${notSent})`
    })
  )
}

/**
 * An answer read whole: a batch-level error for a 4xx or 5xx status or a body that is not a batch
 * response, else the item responses (an item answered twice, differently, counts as missing).
 */
export const decode = (batch: PlannedBatch, status: number, headers: Headers, text: string): Effect.Effect<BatchResult> =>
  status >= 500
    ? Effect.map(RetryAfter.delayFromHeaders(headers), (millis) =>
      batchError(
        new GCE.BatchServerError({
          batchId: batch.id,
          status,
          ...(Option.isSome(millis) ? { retryAfterMillis: Duration.toMillis(millis.value) } : {})
        }),
        headers
      ))
    : Effect.succeed(decodeAnswer(batch, status, headers, text))

/** {@link decode} of an answer below 500: read without an Effect. */
const decodeAnswer = (batch: PlannedBatch, status: number, headers: Headers, text: string): BatchResult => {
  const parsed = Either.try(() => JSON.parse(text) as unknown)
  if (status >= 400) {
    const body = Either.isRight(parsed) ? GraphError.fromBody(parsed.right) : Option.none()
    return batchError(
      new GCE.BatchRejected({ batchId: batch.id, status, ...(Option.isSome(body) ? { error: body.value.error } : {}) }),
      headers
    )
  }
  const envelope: Either.Either<typeof BatchResponseEnvelope.Type, unknown> = Either.isRight(parsed)
    ? wire.decodeResponseEnvelope(parsed.right)
    : Either.left("malformed JSON")
  if (Either.isLeft(envelope)) {
    return batchError(
      new GCE.BatchDecodeError({
        batchId: batch.id,
        description: Either.isLeft(parsed) ? "malformed JSON" : "not a batch response",
        missing: batch.requests.map((r) => r.id)
      }),
      headers
    )
  }
  // an item answered twice, differently, is as unanswered as a missing one
  const { byKey, contradicted, responses } = wire.distinctResponses(envelope.right.responses)
  const missing: Array<string> = []
  for (const { id } of batch.requests) if (!byKey.has(id.toLowerCase())) missing.push(id)
  return { _tag: "Envelope", responses, byKey, missing, contradicted: contradicted.length > 0 }
}
