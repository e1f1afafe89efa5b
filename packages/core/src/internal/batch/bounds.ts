/**
 * Bounds on what one request and one `$batch` call may carry, and their measurement without
 * recursion, so that no body, however deep or cyclic, can overflow the stack before it is refused.
 *
 * @internal
 */
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import { isBinaryBody } from "@effect-msgraph/spec/Body"

/**
 * Graph documents a 4 MB limit on write requests; a `$batch` call is one, so its whole JSON
 * envelope is kept within 4,000,000 bytes (the smaller reading of "4 MB").
 *
 * @internal
 */
export const MAX_BATCH_BYTES = 4_000_000

/**
 * Bytes every item may grow by after planning: the headers the client adds (its
 * `client-request-id`, a priority header). The planner counts them in, so a batch it forms stays
 * within {@link MAX_BATCH_BYTES} when it is sent.
 *
 * @internal
 */
export const ADDED_BYTES_PER_ITEM = 256

/**
 * `{"requests":[` and `]}`.
 *
 * @internal
 */
export const ENVELOPE_BYTES = 15

/**
 * The largest item (its JSON form in the envelope: id, method, url, headers, body): one that fits
 * in a batch on its own, with the envelope and the headers the client adds.
 *
 * @internal
 */
export const MAX_REQUEST_BYTES = MAX_BATCH_BYTES - 1_000

/**
 * Our own bound, not Graph's: containers (objects and arrays) nested in one body. The .NET JSON
 * readers Graph's services are built on stop at 64 by default.
 *
 * @internal
 */
export const MAX_BODY_DEPTH = 64

/** UTF-8 length of a string, without encoding it. */
export const utf8Length = (text: string): number => {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1)
      // a surrogate pair: 4 bytes for 2 units
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2
        i++
      } else bytes += 2
    } else bytes += 2
  }
  return bytes
}

const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3)

/** Whether a JSON body nests deeper than {@link MAX_BODY_DEPTH} (a cycle counts as too deep). */
export const tooDeep = (body: unknown): boolean => scanBody(body, false) < 0

/**
 * Walks a JSON body with an explicit stack. Returns -1 when it nests too deep; otherwise, when
 * `bound` is set, an upper bound on its JSON length in bytes (every UTF-16 unit of a string counted
 * as an escape of 6 bytes), else 0. `Infinity` when the bound cannot be known without serialising
 * (a `toJSON` method).
 */
const scanBody = (body: unknown, bound: boolean): number => {
  let total = 0
  const values: Array<unknown> = [body]
  const depths: Array<number> = [0]
  while (values.length > 0) {
    const value = values.pop()
    const depth = depths.pop()!
    if (typeof value === "string") total += 2 + 6 * value.length
    // JSON.stringify throws on a bigint: only the exact measure can tell
    else if (typeof value === "bigint") total = Infinity
    else if (value === null || typeof value !== "object") total += 24
    else {
      if (depth + 1 > MAX_BODY_DEPTH) return -1
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") total = Infinity
      if (Array.isArray(value)) {
        total += 2 + value.length
        for (const v of value) {
          values.push(v)
          depths.push(depth + 1)
        }
      } else {
        total += 2
        for (const key of Object.keys(value)) {
          total += 4 + 6 * key.length
          values.push((value as Record<string, unknown>)[key])
          depths.push(depth + 1)
        }
      }
    }
  }
  return bound ? total : 0
}

/** The body as it travels: base64 text when its Content-Type is not JSON. */
const bodyBound = (item: BatchRequestItem): number => {
  if (item.body === undefined) return 0
  if (isBinaryBody(item.headers)) {
    const b = item.body
    return 2 + base64Length(b instanceof Uint8Array ? b.length : typeof b === "string" ? 3 * b.length : Infinity)
  }
  return scanBody(item.body, true)
}

/** Fields other than the body: an upper bound. */
const restBound = (item: BatchRequestItem): number => {
  let total = 64 + 6 * (item.id.length + item.method.length + item.url.length)
  if (item.headers !== undefined) for (const name in item.headers) total += 6 + 6 * (name.length + item.headers[name]!.length)
  if (item.dependsOn !== undefined) for (const d of item.dependsOn) total += 3 + 6 * d.length
  return total
}

/**
 * The exact JSON length in bytes of an item in the envelope, its body encoded as on the wire;
 * `undefined` when it cannot be serialised (a bigint, say). Call only on a body within the depth
 * bound.
 */
const exactBytes = (item: BatchRequestItem): number | undefined => {
  let body: unknown = item.body
  if (body !== undefined && isBinaryBody(item.headers)) {
    // base64 of the bytes, or of the string's UTF-8 bytes
    const n = body instanceof Uint8Array ? body.length : typeof body === "string" ? utf8Length(body) : undefined
    if (n === undefined) return undefined
    body = "x".repeat(base64Length(n))
  }
  try {
    const text = JSON.stringify({
      id: item.id,
      method: item.method,
      url: item.url,
      ...(item.headers === undefined ? {} : { headers: item.headers }),
      ...(body === undefined ? {} : { body }),
      ...(item.dependsOn === undefined ? {} : { dependsOn: item.dependsOn })
    })
    return utf8Length(text)
  } catch {
    return undefined
  }
}

/**
 * An item's size on the wire, exact when it is near `limit`: `bytes` is at most `limit` exactly when
 * the item's JSON form is. `depth` when the body nests too deep, `unserialisable` when JSON cannot
 * carry it.
 *
 * @internal
 */
export type Measured =
  | { readonly _tag: "Size"; readonly bytes: number; readonly exact: boolean }
  | { readonly _tag: "TooDeep" }
  | { readonly _tag: "Unserialisable" }

/** @internal */
export const measure = (item: BatchRequestItem, limit: number): Measured => {
  const body = bodyBound(item)
  if (body < 0) return { _tag: "TooDeep" }
  const bound = body + restBound(item)
  if (bound <= limit) return { _tag: "Size", bytes: bound, exact: false }
  const exact = exactBytes(item)
  return exact === undefined ? { _tag: "Unserialisable" } : { _tag: "Size", bytes: exact, exact: true }
}

/**
 * The exact JSON size of an item already measured within the bounds (0 if it cannot be serialised,
 * which validation has refused before).
 *
 * @internal
 */
export const itemBytes = (item: BatchRequestItem): number => exactBytes(item) ?? 0

/**
 * The size of the envelope holding these items, plus `perItem` for each; exact only where needed to
 * decide whether it is within `limit`. Items must be within the depth bound.
 *
 * @internal
 */
export const envelopeBytes = (items: ReadonlyArray<BatchRequestItem>, limit: number, perItem = 0): number => {
  const fixed = ENVELOPE_BYTES + Math.max(0, items.length - 1) + perItem * items.length
  let bound = fixed
  for (const item of items) bound += bodyBound(item) + restBound(item)
  if (bound <= limit) return bound
  let exact = fixed
  for (const item of items) exact += itemBytes(item)
  return exact
}
