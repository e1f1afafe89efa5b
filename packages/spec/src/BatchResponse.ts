/**
 * The response side of Microsoft Graph's JSON batch: the envelope `{ "responses": [...] }` (with an
 * optional `@odata.nextLink`) and its items `{ id, status, headers?, body? }`.
 *
 * As on the request side, a body whose Content-Type is not JSON is a `Uint8Array` in memory and base64
 * on the wire. Items may come back in any order; correlate them by `id`. A `200` envelope says nothing
 * about the items: every item carries its own status.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Headers } from "./BatchRequest.js"
import * as body from "./Body.js"

/**
 * One batch response item exactly as it travels.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchResponseItemJson = Schema.Struct({
  id: Schema.String,
  status: Schema.Number,
  headers: Schema.optionalWith(Headers, { exact: true }),
  body: Schema.optionalWith(Schema.Unknown, { exact: true })
})

/**
 * @since 0.1.0
 * @category schemas
 */
export type BatchResponseItemJson = typeof BatchResponseItemJson.Type

/**
 * One batch response item in memory.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchResponseItem {
  readonly id: string
  readonly status: number
  readonly headers?: Headers
  readonly body?: unknown
}

/**
 * The wire item transformed to the in-memory item (base64 bodies become bytes and back).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchResponseItem: Schema.Schema<BatchResponseItem, BatchResponseItemJson> = body.itemWithBody(
  BatchResponseItemJson,
  "response"
)

/**
 * The batch response envelope as it travels.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchResponseEnvelopeJson = Schema.Struct({
  responses: Schema.Array(BatchResponseItemJson),
  "@odata.nextLink": Schema.optionalWith(Schema.String, { exact: true })
})

/**
 * The batch response envelope, with bodies decoded.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchResponseEnvelope = Schema.Struct({
  responses: Schema.Array(BatchResponseItem),
  "@odata.nextLink": Schema.optionalWith(Schema.String, { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export type BatchResponseEnvelope = typeof BatchResponseEnvelope.Type

/**
 * Decodes a batch response from its JSON text; fails with a `ParseError` on malformed JSON or shape.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson = Schema.decodeUnknown(Schema.parseJson(BatchResponseEnvelope))
