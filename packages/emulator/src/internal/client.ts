/**
 * An `HttpClient` that runs the emulator's `HttpApp` in the caller's own fiber: no socket, no second
 * runtime, so the caller's `Clock` (a `TestClock` in tests) drives all of the emulator's time.
 *
 * @internal
 */
import {
  Cookies,
  Headers,
  HttpClient,
  HttpClientError,
  HttpClientResponse,
  HttpIncomingMessage,
  HttpServerRequest,
  HttpServerResponse,
  UrlParams
} from "@effect/platform"
import type { HttpApp, HttpBody, HttpClientRequest } from "@effect/platform"
import { Chunk, Effect, Inspectable, Option, Stream } from "effect"
import type { ConnectionDropped } from "../Faults.js"
import { directOf } from "./app.js"

const bytesOf = (
  request: HttpClientRequest.HttpClientRequest,
  body: HttpBody.HttpBody
): Effect.Effect<Uint8Array | undefined, HttpClientError.RequestError> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(undefined)
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "Raw":
      return typeof body.body === "string"
        ? Effect.succeed(new TextEncoder().encode(body.body))
        : body.body instanceof Uint8Array
        ? Effect.succeed(body.body)
        : Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", description: "unsupported raw body" }))
    case "Stream":
      return body.stream.pipe(
        Stream.runCollect,
        Effect.map((chunks) => {
          const parts = Chunk.toReadonlyArray(chunks)
          const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
          let at = 0
          for (const part of parts) {
            out.set(part, at)
            at += part.length
          }
          return out
        }),
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause }))
      )
    case "FormData":
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", description: "form data is not supported by the emulator" }))
  }
}

/** The path and query of a URL, as `HttpServerRequest.fromWeb` reads them from a web `Request`'s URL. */
const pathOf = (href: string): string => {
  if (href[0] === "/") return href
  const index = href.indexOf("/", href.indexOf("//") + 2)
  return index === -1 ? "/" : href.slice(index)
}

const utf8 = new TextDecoder()
const utf8Encoder = new TextEncoder()

/** The string TextDecoder would give for the UTF-8 encoding of `text`: lone surrogates replaced, no leading BOM. @internal */
export const asDecoded = (text: string): string => {
  const wellFormed = (text as unknown as { isWellFormed(): boolean; toWellFormed(): string }).isWellFormed()
    ? text
    : (text as unknown as { toWellFormed(): string }).toWellFormed()
  return wellFormed.charCodeAt(0) === 0xfeff ? wellFormed.slice(1) : wellFormed
}

/**
 * A client response read straight from the emulator's server response: its status, its headers
 * (with the content type and length the server response carries) and its body, as a web
 * `Response` would give them, without building one and streaming the bytes through it. A text body
 * (the engine's JSON) is kept as a string: the client reads it as text, so it is never encoded to
 * bytes only to be decoded again.
 */
class DirectResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly status: number
  readonly headers: Headers.Headers
  readonly cookies = Cookies.empty
  readonly remoteAddress = Option.none<string>()

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    source: HttpServerResponse.HttpServerResponse,
    private readonly body: Uint8Array | string | undefined
  ) {
    super()
    this.status = source.status
    this.headers = source.headers
  }

  private decodeError(cause: unknown) {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  private get bytes(): Uint8Array | undefined {
    return typeof this.body === "string" ? utf8Encoder.encode(this.body) : this.body
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    const body = this.body
    return Effect.succeed(body === undefined ? "" : typeof body === "string" ? asDecoded(body) : utf8.decode(body))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) => Effect.try({ try: () => text === "" ? null : JSON.parse(text) as unknown, catch: (cause) => this.decodeError(cause) }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) => Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: (cause) => this.decodeError(cause) }))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    const bytes = this.bytes ?? new Uint8Array(0)
    return Effect.succeed(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.fail(this.decodeError("the emulator never answers with form data"))
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    const bytes = this.bytes
    return bytes === undefined
      ? Stream.fail(new HttpClientError.ResponseError({ request: this.request, response: this, reason: "EmptyBody", description: "can not create stream from empty body" }))
      : Stream.succeed(bytes)
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, { _id: "@effect/platform/HttpClientResponse", request: this.request.toJSON(), status: this.status })
  }
}

/**
 * The client's view of a server response: read directly when its body is bytes, a string or empty
 * (what the engine answers), through a web `Response` otherwise.
 */
const toClientResponse = (request: HttpClientRequest.HttpClientRequest, response: HttpServerResponse.HttpServerResponse): HttpClientResponse.HttpClientResponse => {
  if (Cookies.isEmpty(response.cookies)) {
    const body = response.body
    if (body._tag === "Empty") return new DirectResponse(request, response, undefined)
    if (body._tag === "Uint8Array") return new DirectResponse(request, response, body.body)
    if (body._tag === "Raw" && typeof body.body === "string") return new DirectResponse(request, response, body.body)
  }
  return HttpClientResponse.fromWeb(request, HttpServerResponse.toWeb(response))
}

/** A header name of lowercase token characters: the web `Headers` keeps it as it is. */
const plainName = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
/**
 * A header value of bytes (no character above U+00FF) without surrounding whitespace, NUL, CR or
 * LF: the web `Headers` keeps it as it is.
 */
const plainValue = /^(?:[\x01-\x08\x0b\x0c\x0e-\x1f\x21-\xff](?:[\x01-\x09\x0b\x0c\x0e-\xff]*[\x01-\x08\x0b\x0c\x0e-\x1f\x21-\xff])?)?$/

/**
 * The request's headers as the web `Headers` hands them on (names lowercased and sorted, values
 * trimmed, invalid ones refused): when every header is already in that form (what the platform's
 * `Headers` hold), the same record sorted, without building a web `Headers`; through one otherwise.
 *
 * @internal
 */
export const normalisedHeaders = (headers: Headers.Headers): Headers.Headers => {
  const names = Object.keys(headers)
  for (const name of names) {
    const value = headers[name]
    if (typeof value !== "string" || !plainName.test(name) || !plainValue.test(value)) {
      return Headers.fromInput(new globalThis.Headers(headers))
    }
  }
  names.sort()
  const out: Record<string, string> = {}
  for (const name of names) out[name] = headers[name]!
  return Headers.unsafeFromRecord(out)
}

/** @internal */
export const makeClient = (app: HttpApp.Default<ConnectionDropped>): HttpClient.HttpClient => {
  const handler = directOf(app)
  return HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = yield* bytesOf(request, request.body)
      const withBody = body !== undefined && request.method !== "GET" && request.method !== "HEAD"
      const dropped = (cause: ConnectionDropped) =>
        Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", cause, description: "the emulator dropped the connection" })
        )
      // The emulator's own app: hand the engine what a web Request would have carried (its URL
      // parsed again is the same URL; its headers normalised by the web `Headers`; its body copied),
      // without building one and reading it back.
      const response = handler !== undefined
        ? yield* handler({
          method: request.method.toUpperCase(),
          url: pathOf(url.href),
          headers: normalisedHeaders(request.headers),
          body: withBody ? body.slice() : new Uint8Array(0)
        }).pipe(Effect.catchTag("ConnectionDropped", dropped))
        : yield* app.pipe(
          Effect.provideService(
            HttpServerRequest.HttpServerRequest,
            HttpServerRequest.fromWeb(
              new Request(url.toString(), { method: request.method, headers: request.headers, ...(withBody ? { body } : {}) })
            )
          ),
          Effect.catchTag("ConnectionDropped", dropped)
        )
      return toClientResponse(request, response)
    })
  )
}
