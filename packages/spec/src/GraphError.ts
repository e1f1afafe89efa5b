/**
 * The JSON error body Microsoft Graph returns with every error status, in a batch item or on its own:
 * `{ "error": { "code", "message", "innerError": { "request-id", "date", "client-request-id" } } }`.
 *
 * The schemas keep unknown properties, so a decoded body encodes back to the value that was received.
 * The documentation's property table spells the nested object `innererror` while every example uses
 * `innerError`; both spellings are accepted and {@link innerErrorOf} reads either.
 *
 * @since 0.1.0
 */
import { Option, Schema } from "effect"

const extra = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * The nested `innerError` object. Graph's examples carry `request-id`, `date` and `client-request-id`;
 * an older page spells the id `requestId`; throttling responses add `code`, `message` and `status`.
 * Inner errors may nest further.
 *
 * @since 0.1.0
 * @category schemas
 */
export interface InnerError {
  readonly "request-id"?: string
  readonly requestId?: string
  readonly "client-request-id"?: string
  readonly date?: string
  readonly code?: string
  readonly message?: string
  readonly innerError?: InnerError
  readonly innererror?: InnerError
  readonly [key: string]: unknown
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const InnerError: Schema.Schema<InnerError> = Schema.Struct(
  {
    "request-id": Schema.optionalWith(Schema.String, { exact: true }),
    requestId: Schema.optionalWith(Schema.String, { exact: true }),
    "client-request-id": Schema.optionalWith(Schema.String, { exact: true }),
    date: Schema.optionalWith(Schema.String, { exact: true }),
    code: Schema.optionalWith(Schema.String, { exact: true }),
    message: Schema.optionalWith(Schema.String, { exact: true }),
    innerError: Schema.optionalWith(Schema.suspend((): Schema.Schema<InnerError> => InnerError), { exact: true }),
    innererror: Schema.optionalWith(Schema.suspend((): Schema.Schema<InnerError> => InnerError), { exact: true })
  },
  extra
)

/**
 * The `error` object. `code` and `message` are present on every real error; they are optional here
 * because the documentation's own resource-type example omits them, and an empty `code` (`""`) occurs
 * in Graph's batch example.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ODataError = Schema.Struct(
  {
    code: Schema.optionalWith(Schema.String, { exact: true }),
    message: Schema.optionalWith(Schema.String, { exact: true }),
    innerError: Schema.optionalWith(InnerError, { exact: true }),
    innererror: Schema.optionalWith(InnerError, { exact: true })
  },
  extra
)

/**
 * @since 0.1.0
 * @category schemas
 */
export type ODataError = typeof ODataError.Type

/**
 * The whole error body: a single property named `error`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GraphErrorBody = Schema.Struct({ error: ODataError }, extra)

/**
 * @since 0.1.0
 * @category schemas
 */
export type GraphErrorBody = typeof GraphErrorBody.Type

/**
 * The first inner error, whichever spelling the body used.
 *
 * @since 0.1.0
 * @category accessors
 */
export const innerErrorOf = (error: ODataError | InnerError): InnerError | undefined =>
  error.innerError ?? error.innererror

/**
 * The error codes from the outermost to the most detailed one, skipping empty codes. Graph advises
 * clients to branch on the most detailed code they understand, never on `message`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const codes = (error: ODataError): ReadonlyArray<string> => {
  const out: Array<string> = []
  let current: ODataError | InnerError | undefined = error
  let depth = 0
  while (current !== undefined && depth < 32) {
    if (current.code !== undefined && current.code !== "") out.push(current.code)
    current = innerErrorOf(current)
    depth++
  }
  return out
}

/**
 * The request id Graph assigned (`request-id`, or the older `requestId`), if any.
 *
 * @since 0.1.0
 * @category accessors
 */
export const requestIdOf = (error: ODataError): Option.Option<string> => {
  const inner = innerErrorOf(error)
  return Option.fromNullable(inner?.["request-id"] ?? inner?.requestId)
}

/**
 * The date Graph stamped on the error, if any.
 *
 * @since 0.1.0
 * @category accessors
 */
export const dateOf = (error: ODataError): Option.Option<string> => Option.fromNullable(innerErrorOf(error)?.date)

/**
 * Decodes an unknown JSON value as a Graph error body, if it is one.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBody: (body: unknown) => Option.Option<GraphErrorBody> = Schema.decodeUnknownOption(GraphErrorBody)
