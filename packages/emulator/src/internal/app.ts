/**
 * The emulator as one Effect `HttpApp`: it reads the server request, hands it to the engine and writes
 * the engine's answer. A dropped connection is the typed failure `ConnectionDropped`, which each way
 * of running the app turns into its own transport failure.
 *
 * @internal
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { Context, DefaultServices, Effect, Tracer } from "effect"
import { ConnectionDropped } from "../Faults.js"
import type { Engine, HttpIn } from "./engine.js"

/**
 * The engine's answer to one request, as a server response. `direct`: for the in-process client,
 * which reads a text body as it is: the body stays a string (raw, with the content type and length
 * the text body would carry) instead of being encoded to bytes here and decoded again there.
 */
const respond = (engine: Engine, input: HttpIn, direct: boolean): Effect.Effect<HttpServerResponse.HttpServerResponse, ConnectionDropped> =>
  Effect.flatMap(engine.handle(input), (out) => {
    if (out._tag === "Drop") return new ConnectionDropped()
    let contentType: string | undefined
    const headers: Record<string, string> = {}
    for (const name in out.headers) {
      if (name.toLowerCase() === "content-type") contentType = out.headers[name]
      else headers[name] = out.headers[name]!
    }
    if (out.body.length === 0) return Effect.succeed(HttpServerResponse.empty({ status: out.status, headers }))
    if (typeof out.body === "string" && direct) {
      // what `text` sets: its content type (text/plain by default) and the UTF-8 length
      const body = out.body
      return Effect.succeed(
        HttpServerResponse.raw(body, { status: out.status, headers, contentType: contentType ?? "text/plain", contentLength: Buffer.byteLength(body, "utf8") })
      )
    }
    const options = { status: out.status, headers, ...(contentType === undefined ? {} : { contentType }) }
    return Effect.succeed(
      typeof out.body === "string"
        ? HttpServerResponse.text(out.body, options)
        : HttpServerResponse.uint8Array(out.body, options)
    )
  })

/** Effect's built-in tracer: its spans go nowhere. */
const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * The `Emulator.handle` span around a request, under a tracer of the user's. Under the built-in
 * tracer, which exports nothing and whose spans nothing in the engine reads, no span is made: it
 * would only be allocated, with its stack trace, for every request.
 */
const spanned = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) => tracer === builtInTracer ? effect : Effect.withSpan(effect, "Emulator.handle"))

/** The app's request as the engine reads it, by app: see {@link directOf}. */
const direct = new WeakMap<HttpApp.Default<ConnectionDropped>, (input: HttpIn) => Effect.Effect<HttpServerResponse.HttpServerResponse, ConnectionDropped>>()

/** @internal */
export const makeApp = (engine: Engine): HttpApp.Default<ConnectionDropped> => {
  const app: HttpApp.Default<ConnectionDropped> = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* request.arrayBuffer.pipe(
      Effect.map((buffer) => new Uint8Array(buffer)),
      Effect.orElseSucceed(() => new Uint8Array(0))
    )
    return yield* respond(engine, { method: request.method, url: request.url, headers: request.headers, body }, false)
  }).pipe(spanned)
  direct.set(app, (input) => spanned(respond(engine, input, true)))
  return app
}

/**
 * The app of {@link makeApp} as a function of the request the engine reads (method, path and query,
 * headers, body), for the in-process client: the same answer without a web `Request` to build and
 * read back. `undefined` for any other app.
 *
 * @internal
 */
export const directOf = (
  app: HttpApp.Default<ConnectionDropped>
): ((input: HttpIn) => Effect.Effect<HttpServerResponse.HttpServerResponse, ConnectionDropped>) | undefined => direct.get(app)
