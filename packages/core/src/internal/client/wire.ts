/**
 * The `$batch` envelopes on the wire, on the executor's path: the same results as the Schemas of
 * `BatchRequest` and `BatchResponse`, without running their parser for every item of every batch.
 * The Schemas stay the definition: what the checks here do not accept goes to them, so their error
 * is the one reported, and the tests compare both on generated input.
 *
 * @internal
 */
import { Either, Predicate, Schema } from "effect"
import { BatchRequestEnvelope, type BatchRequestItem, type Headers } from "@effect-msgraph/spec/BatchRequest"
import { BatchResponseEnvelope, type BatchResponseItem } from "@effect-msgraph/spec/BatchResponse"
import * as body from "@effect-msgraph/spec/Body"

const isHeaders = (u: unknown): u is Record<string, string> => {
  if (!Predicate.isRecord(u)) return false
  for (const key in u) {
    if (typeof u[key] !== "string") return false
  }
  return true
}

const encodeRequests = Schema.encodeEither(BatchRequestEnvelope)

type EncodedItem = { -readonly [K in keyof typeof BatchRequestEnvelope.Encoded["requests"][number]]: typeof BatchRequestEnvelope.Encoded["requests"][number][K] }

/**
 * The JSON form of a batch whose bodies were checked against their Content-Type (a `ValidBatch`'s):
 * what encoding `BatchRequestEnvelope` gives. Items are rebuilt from their known fields, and a body
 * that travels as base64 is encoded; anything else goes through the Schema. `headersOf` gives each
 * item's headers as they travel (the executor adds its `client-request-id` here, without copying
 * the item first); by default the item's own.
 *
 * @internal
 */
export const encodeRequestEnvelope = (
  requests: ReadonlyArray<BatchRequestItem>,
  headersOf: (item: BatchRequestItem) => Headers | undefined = (item) => item.headers
): Either.Either<typeof BatchRequestEnvelope.Encoded, unknown> => {
  const out: Array<EncodedItem> = []
  for (const item of requests) {
    const headers = headersOf(item)
    let encodedBody: unknown = item.body
    if (item.body !== undefined && body.isBinaryBody(headers)) {
      const encoded = body.encodeBody(headers, item.body)
      if (Either.isLeft(encoded)) {
        return encodeRequests({ requests: requests.map((r) => withHeaders(r, headersOf(r))) })
      }
      encodedBody = encoded.right
    }
    // the fields in the Schema's order, as the JSON is written
    const encoded: EncodedItem = { id: item.id, method: item.method, url: item.url }
    if (headers !== undefined) encoded.headers = headers
    if (item.body !== undefined) encoded.body = encodedBody
    if (item.dependsOn !== undefined) encoded.dependsOn = item.dependsOn
    out.push(encoded)
  }
  return Either.right({ requests: out })
}

const withHeaders = (item: BatchRequestItem, headers: Headers | undefined): BatchRequestItem =>
  headers === item.headers ? item : { ...item, headers: headers! }

const decodeResponses = Schema.decodeUnknownEither(BatchResponseEnvelope)

/**
 * A parsed `$batch` response as `BatchResponseEnvelope` decodes it. Input the checks here do not
 * accept is decoded by the Schema, so a failure is always the Schema's.
 *
 * @internal
 */
export const decodeResponseEnvelope = (u: unknown): Either.Either<typeof BatchResponseEnvelope.Type, unknown> => {
  const fallback = () => decodeResponses(u)
  if (!Predicate.isRecord(u)) return fallback()
  const responses = u["responses"]
  const nextLink = u["@odata.nextLink"]
  if (!Array.isArray(responses)) return fallback()
  if ("@odata.nextLink" in u && typeof nextLink !== "string") return fallback()
  const items: Array<BatchResponseItem> = []
  for (const item of responses as ReadonlyArray<unknown>) {
    if (!Predicate.isRecord(item) || typeof item["id"] !== "string" || typeof item["status"] !== "number") return fallback()
    const headers = item["headers"]
    if ("headers" in item && !isHeaders(headers)) return fallback()
    const decoded: { -readonly [K in keyof BatchResponseItem]: BatchResponseItem[K] } = { id: item["id"], status: item["status"] }
    if (headers !== undefined) decoded.headers = headers as Record<string, string>
    if ("body" in item) {
      // a JSON body is kept as parsed (what `decodeBody` gives it back as), without an Either
      if (body.isBinaryBody(decoded.headers)) {
        const converted = body.decodeBody(decoded.headers, item["body"])
        if (Either.isLeft(converted)) return fallback()
        decoded.body = converted.right
      } else decoded.body = item["body"]
    }
    items.push(decoded)
  }
  return Either.right(nextLink === undefined ? { responses: items } : { responses: items, "@odata.nextLink": nextLink as string })
}

/** Structural equality of decoded JSON values (and bytes), without recursion. */
const sameValue = (a: unknown, b: unknown): boolean => {
  const left: Array<unknown> = [a]
  const right: Array<unknown> = [b]
  while (left.length > 0) {
    const x = left.pop()
    const y = right.pop()
    if (x === y) continue
    if (x instanceof Uint8Array || y instanceof Uint8Array) {
      if (!(x instanceof Uint8Array && y instanceof Uint8Array) || x.length !== y.length) return false
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
      continue
    }
    if (!Predicate.isObject(x) || !Predicate.isObject(y) || Array.isArray(x) !== Array.isArray(y)) return false
    const keys = Object.keys(x)
    if (keys.length !== Object.keys(y).length) return false
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(y, key)) return false
      left.push((x as Record<string, unknown>)[key])
      right.push((y as Record<string, unknown>)[key])
    }
  }
  return true
}

/**
 * The answers of a `$batch` response, one per id (compared case-insensitively, as Graph compares
 * ids). An id answered twice identically keeps one copy; an id answered twice differently is
 * `contradicted` and keeps none: which copy is true cannot be told, so the item counts as unanswered.
 * `byKey` holds the answers kept, by lower-cased id.
 *
 * @internal
 */
export const distinctResponses = (
  responses: ReadonlyArray<BatchResponseItem>
): {
  readonly responses: ReadonlyArray<BatchResponseItem>
  readonly contradicted: ReadonlyArray<string>
  readonly byKey: ReadonlyMap<string, BatchResponseItem>
} => {
  const byKey = new Map<string, BatchResponseItem>()
  let contradicted: Set<string> | undefined
  let repeated = false
  for (const item of responses) {
    const key = item.id.toLowerCase()
    const first = byKey.get(key)
    if (first === undefined) byKey.set(key, item)
    else {
      repeated = true
      if (first.id !== item.id || first.status !== item.status || !sameValue(first.headers, item.headers) || !sameValue(first.body, item.body)) {
        ;(contradicted ??= new Set()).add(key)
      }
    }
  }
  if (!repeated) return { responses, contradicted: [], byKey }
  for (const key of contradicted ?? []) byKey.delete(key)
  return { responses: [...byKey.values()], contradicted: contradicted === undefined ? [] : [...contradicted], byKey }
}
