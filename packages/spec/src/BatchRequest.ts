/**
 * The request side of Microsoft Graph's JSON batch (`POST /{version}/$batch`): the envelope
 * `{ "requests": [...] }` and its items `{ id, method, url, headers?, body?, dependsOn? }`.
 *
 * Two layers of schema:
 * - the `*Json` schemas are the wire shape, where a body is inline JSON or a base64 string;
 * - {@link BatchRequestItem} and {@link BatchRequestEnvelope} transform that shape so a body whose
 *   Content-Type is not JSON is a `Uint8Array` in memory and base64 on the wire, in both directions.
 *
 * These schemas describe what may appear on the wire. The rules that make a batch acceptable to
 * Graph (ids, size, hosts, methods, dependsOn shape) are enforced by `BatchBuilder`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as body from "./Body.js"

/**
 * The HTTP methods a batch item may use.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HttpMethod = Schema.Literal("GET", "POST", "PUT", "PATCH", "DELETE")

/**
 * @since 0.1.0
 * @category schemas
 */
export type HttpMethod = typeof HttpMethod.Type

/**
 * Headers of one batch item: a JSON object of string values.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Headers = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * @since 0.1.0
 * @category schemas
 */
export type Headers = typeof Headers.Type

/**
 * One batch request item exactly as it travels.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchRequestItemJson = Schema.Struct({
  id: Schema.String,
  method: Schema.String,
  url: Schema.String,
  headers: Schema.optionalWith(Headers, { exact: true }),
  body: Schema.optionalWith(Schema.Unknown, { exact: true }),
  dependsOn: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
})

/**
 * @since 0.1.0
 * @category schemas
 */
export type BatchRequestItemJson = typeof BatchRequestItemJson.Type

/**
 * One batch request item in memory: like the wire shape, except that a body whose Content-Type is
 * not JSON is a `Uint8Array`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchRequestItem {
  readonly id: string
  readonly method: string
  readonly url: string
  readonly headers?: Headers
  readonly body?: unknown
  readonly dependsOn?: ReadonlyArray<string>
}

/**
 * The wire item transformed to the in-memory item (base64 bodies become bytes and back).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchRequestItem: Schema.Schema<BatchRequestItem, BatchRequestItemJson> = body.itemWithBody(
  BatchRequestItemJson,
  "request"
)

/**
 * The batch request envelope as it travels.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchRequestEnvelopeJson = Schema.Struct({
  requests: Schema.Array(BatchRequestItemJson)
})

/**
 * The batch request envelope, with bodies decoded.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchRequestEnvelope = Schema.Struct({
  requests: Schema.Array(BatchRequestItem)
})

/**
 * @since 0.1.0
 * @category models
 */
export type BatchRequestEnvelope = typeof BatchRequestEnvelope.Type

/**
 * A header value by case-insensitive name.
 *
 * @since 0.1.0
 * @category accessors
 */
export const header: (headers: Headers | undefined, name: string) => string | undefined = body.headerValue

/**
 * Whether a Content-Type denotes JSON (`application/json`, `text/json`, any `+json` suffix; parameters
 * allowed).
 *
 * @since 0.1.0
 * @category accessors
 */
export const isJsonContentType: (contentType: string) => boolean = body.isJsonContentType

const crlf = /[\r\n]/
const blank = /^\s*$/

/**
 * A URL no request can carry: blank, or with a line break. The batch rules and the cost calculator
 * share it, so that what one refuses the other does too.
 *
 * @since 0.1.0
 * @category rules
 */
export const unusableUrl = (url: string): boolean => blank.test(url) || crlf.test(url)
