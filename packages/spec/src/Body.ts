/**
 * Body encoding of batch items: JSON inline when the Content-Type is JSON, base64 otherwise.
 *
 * @internal
 */
import { Either, Encoding, ParseResult, Schema } from "effect"

/** @internal */
export const headerValue = (
  headers: Readonly<Record<string, string>> | undefined,
  name: string
): string | undefined => {
  if (headers === undefined) return undefined
  const direct = headers[name]
  if (direct !== undefined) return direct
  const lower = name.toLowerCase()
  // a key of another length never matches: most keys are passed over without lowercasing them
  for (const key in headers) {
    if (key.length === lower.length && key.toLowerCase() === lower) return headers[key]
  }
  return undefined
}

/**
 * `application/json`, any `+json` structured syntax suffix (`application/problem+json`) and
 * `text/json`, with or without parameters (`;odata.metadata=minimal;charset=utf-8`).
 *
 * @internal
 */
export const isJsonContentType = (contentType: string): boolean => {
  // the common case, without splitting and lower-casing
  if (contentType === "application/json") return true
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase()
  return essence === "application/json" || essence === "text/json" || essence.endsWith("+json")
}

/**
 * Whether a body under these headers travels as base64: a Content-Type is present and is not JSON.
 * Without a Content-Type the body is taken as inline JSON (Graph's responses without a body type).
 *
 * @internal
 */
export const isBinaryBody = (headers: Readonly<Record<string, string>> | undefined): boolean => {
  const contentType = headerValue(headers, "content-type")
  return contentType !== undefined && !isJsonContentType(contentType)
}

/**
 * Decodes standard or URL-safe base64, padded or not: Graph's page calls the value "base64
 * URL-encoded" while its binary payloads use the standard alphabet.
 *
 * @internal
 */
export const decodeBase64Any = (text: string): Either.Either<Uint8Array, string> => {
  const trimmed = text.replace(/\s+/g, "")
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(trimmed)) return Either.left("body is not base64")
  const standard = trimmed.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "")
  const padded = standard + "=".repeat((4 - (standard.length % 4)) % 4)
  return Either.mapLeft(Encoding.decodeBase64(padded), () => "body is not base64")
}

/** @internal */
export const encodeBase64 = (bytes: Uint8Array): string => Encoding.encodeBase64(bytes)

/** @internal */
export const decodeBody = (
  headers: Readonly<Record<string, string>> | undefined,
  body: unknown
): Either.Either<unknown, string> => {
  if (!isBinaryBody(headers)) return Either.right(body)
  if (typeof body !== "string") {
    return Either.left("a body whose Content-Type is not JSON must be a base64 string")
  }
  return decodeBase64Any(body)
}

/** @internal */
export const encodeBody = (
  headers: Readonly<Record<string, string>> | undefined,
  body: unknown
): Either.Either<unknown, string> => {
  if (!isBinaryBody(headers)) return Either.right(body)
  if (body instanceof Uint8Array) return Either.right(encodeBase64(body))
  if (typeof body === "string") return Either.right(encodeBase64(new TextEncoder().encode(body)))
  return Either.left("a body whose Content-Type is not JSON must be bytes (Uint8Array) or a string")
}

/**
 * A batch item schema whose body is bytes in memory and base64 on the wire when its Content-Type is
 * not JSON; `label` names the side ("request" or "response") in parse errors.
 *
 * @internal
 */
export const itemWithBody = <
  A extends { readonly id: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown },
  I
>(
  wire: Schema.Schema<A, I>,
  label: string
): Schema.Schema<A, I> =>
  Schema.transformOrFail(wire, Schema.typeSchema(wire), {
    strict: true,
    decode: (item, _, ast) => convert(item, ast, decodeBody, label),
    encode: (item, _, ast) => convert(item, ast, encodeBody, label)
  })

const convert = <A extends { readonly id: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown }>(
  item: A,
  ast: import("effect/SchemaAST").AST,
  f: (headers: Readonly<Record<string, string>> | undefined, body: unknown) => Either.Either<unknown, string>,
  label: string
): Either.Either<A, ParseResult.ParseIssue> => {
  if (item.body === undefined) return Either.right(item)
  return Either.match(f(item.headers, item.body), {
    onLeft: (message) => Either.left(new ParseResult.Type(ast, item, `${label} ${item.id}: ${message}`)),
    onRight: (converted) => Either.right({ ...item, body: converted })
  })
}
