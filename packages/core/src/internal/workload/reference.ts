/**
 * Response references: `{{id#/json/pointer}}` inside a request's URL, header values or body strings
 * stands for a value taken from the response of request `id`, read with an RFC 6901 JSON pointer
 * over `{ status, headers, body }`.
 *
 * @internal
 */
import { Either } from "effect"
import type { ReferencedResponse } from "../../Workload.js"

/** @internal */
export interface Reference {
  readonly source: string
  readonly pointer: string
  readonly text: string
}

const pattern = /\{\{\s*([^{}#]+?)\s*#(\/[^{}]*?)\s*\}\}/g
const whole = /^\{\{\s*([^{}#]+?)\s*#(\/[^{}]*?)\s*\}\}$/

/** @internal */
export const scan = (text: string, into: Array<Reference>): void => {
  if (!text.includes("{{")) return
  for (const match of text.matchAll(pattern)) {
    into.push({ source: match[1]!, pointer: match[2]!, text: match[0] })
  }
}

const scanValue = (value: unknown, into: Array<Reference>, depth: number): void => {
  if (depth > 64) return
  if (typeof value === "string") scan(value, into)
  else if (Array.isArray(value)) for (const v of value) scanValue(v, into, depth + 1)
  else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    for (const key in value) scanValue((value as Record<string, unknown>)[key], into, depth + 1)
  }
}

/** @internal */
export const referencesOf = (request: {
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: unknown
}): Array<Reference> => {
  const out: Array<Reference> = []
  collect(request, out)
  return out
}

/** {@link referencesOf}, appended to `into`. @internal */
export const collect = (request: {
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: unknown
}, into: Array<Reference>): void => {
  scan(request.url, into)
  if (request.headers !== undefined) for (const name in request.headers) scan(request.headers[name]!, into)
  if (request.body !== undefined) scanValue(request.body, into, 0)
}

const missing: unique symbol = Symbol("missing")

/** @internal */
export const evaluatePointer = (document: unknown, pointer: string): unknown => {
  if (pointer === "") return document
  let current: unknown = document
  for (const raw of pointer.slice(1).split("/")) {
    const token = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return missing
      current = current[Number(token)]
    } else if (current !== null && typeof current === "object" && !(current instanceof Uint8Array)) {
      if (!Object.prototype.hasOwnProperty.call(current, token)) return missing
      current = (current as Record<string, unknown>)[token]
    } else return missing
    if (current === undefined) return missing
  }
  return current
}

const asText = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  if (value === null || value === missing || value === undefined) return undefined
  // a response can nest deeper than the stack allows: then it cannot be written as text
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

// Characters that may stay literal in a path segment or query value (RFC 3986 pchar minus the
// query delimiters & = +), so UPNs and OData keys read naturally.
const keep: Record<string, string> = { "%40": "@", "%3A": ":", "%24": "$", "%2C": ",", "%3B": ";", "%27": "'", "%28": "(", "%29": ")", "%21": "!", "%2A": "*" }
const encodeForUrl = (text: string): string =>
  encodeURIComponent(text).replace(/%(40|3A|24|2C|3B|27|28|29|21|2A)/g, (m) => keep[m]!)

/** `.` or `..`, also spelt with `%2e`, which URL parsers resolve; or empty, which drops a level. */
const collapsible = (segment: string): boolean => {
  const dots = segment.replace(/%2e/gi, ".")
  return dots === "" || dots === "." || dots === ".."
}

/**
 * Sets a property as an own data property: assigning `__proto__` would set the prototype instead
 * and drop the key from the body.
 */
const setOwn = (target: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/**
 * Substitutes every reference. `lookup` gives the response of a source request. Fails with the
 * references that could not be resolved.
 *
 * @internal
 */
export const substitute = <A extends { readonly url: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown }>(
  request: A,
  lookup: (source: string) => ReferencedResponse | undefined
): Either.Either<A, Array<string>> => {
  const failed: Array<string> = []
  const valueOf = (source: string, pointer: string, text: string): unknown => {
    const response = lookup(source)
    const value = response === undefined ? missing : evaluatePointer(response, pointer)
    if (value === missing || value === undefined) failed.push(text)
    return value
  }
  const inText = (text: string, encode: (s: string) => string): string =>
    text.includes("{{")
      ? text.replace(pattern, (m, source: string, pointer: string) => {
        const rendered = asText(valueOf(source, pointer, m))
        if (rendered === undefined) {
          if (!failed.includes(m)) failed.push(m)
          return m
        }
        return encode(rendered)
      })
      : text
  const inBody = (value: unknown, depth: number): unknown => {
    if (depth > 64) return value
    if (typeof value === "string") {
      const single = whole.exec(value)
      if (single !== null) return valueOf(single[1]!, single[2]!, value)
      return inText(value, (s) => s)
    }
    if (Array.isArray(value)) return value.map((v) => inBody(v, depth + 1))
    if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(value)) setOwn(out, key, inBody((value as Record<string, unknown>)[key], depth + 1))
      return out
    }
    return value
  }
  // Elsewhere in a URL, values are encoded so that they cannot add a `/`, `?` or `#`. A path segment
  // a value fills can still be `.`, `..` or empty, which would move the request to another resource
  // (`/users/../memberOf`); such a request is refused, whatever the encoding, since parsers treat
  // `%2e%2e` as `..` too.
  const inUrl = (text: string): string => {
    if (!text.includes("{{")) return text
    let out = ""
    let last = 0
    const filled: Array<{ readonly from: number; readonly to: number; readonly text: string }> = []
    for (const match of text.matchAll(pattern)) {
      out += text.slice(last, match.index)
      last = match.index + match[0].length
      const rendered = asText(valueOf(match[1]!, match[2]!, match[0]))
      if (rendered === undefined) {
        if (!failed.includes(match[0])) failed.push(match[0])
        out += match[0]
        continue
      }
      const encoded = encodeForUrl(rendered)
      filled.push({ from: out.length, to: out.length + encoded.length, text: match[0] })
      out += encoded
    }
    out += text.slice(last)
    const query = out.search(/[?#]/)
    const path = query === -1 ? out : out.slice(0, query)
    let start = 0
    for (const segment of path.split("/")) {
      const end = start + segment.length
      if (collapsible(segment)) {
        for (const f of filled) if (f.from <= end && f.to >= start && !failed.includes(f.text)) failed.push(f.text)
      }
      start = end + 1
    }
    return out
  }
  // a URL that is one reference (an @odata.nextLink, say) is taken as written
  const wholeUrl = whole.exec(request.url)
  const url = wholeUrl !== null ? inText(request.url, (s) => s) : inUrl(request.url)
  let headers: Record<string, string> | undefined
  if (request.headers !== undefined) {
    headers = {}
    for (const name of Object.keys(request.headers)) setOwn(headers, name, inText(request.headers[name]!, (s) => s))
  }
  const body = request.body === undefined ? undefined : inBody(request.body, 0)
  if (failed.length > 0) return Either.left([...new Set(failed)])
  const out: Record<string, unknown> = { ...request, url }
  if (headers !== undefined) out.headers = headers
  if (body !== undefined) out.body = body
  return Either.right(out as A)
}
