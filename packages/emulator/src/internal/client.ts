/**
 * An `HttpClient` that runs the emulator's `HttpApp` in the caller's own fiber: no socket, no second
 * runtime, so the caller's `Clock` (a `TestClock` in tests) drives all of the emulator's time.
 *
 * @internal
 */
import { Headers, HttpClient, HttpClientError, HttpClientResponse, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp, HttpBody, HttpClientRequest } from "@effect/platform"
import { Chunk, Effect, Stream } from "effect"
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
          headers: Headers.fromInput(new globalThis.Headers(request.headers)),
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
      return HttpClientResponse.fromWeb(request, HttpServerResponse.toWeb(response))
    })
  )
}
