/**
 * The emulator as one Effect `HttpApp`: it reads the server request, hands it to the engine and writes
 * the engine's answer. A dropped connection is the typed failure `ConnectionDropped`, which each way
 * of running the app turns into its own transport failure.
 *
 * @internal
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { Effect } from "effect"
import { ConnectionDropped } from "../Faults.js"
import type { Engine, HttpIn } from "./engine.js"

/** The engine's answer to one request, as a server response. */
const respond = (engine: Engine, input: HttpIn): Effect.Effect<HttpServerResponse.HttpServerResponse, ConnectionDropped> =>
  Effect.flatMap(engine.handle(input), (out) => {
    if (out._tag === "Drop") return new ConnectionDropped()
    let contentType: string | undefined
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(out.headers)) {
      if (name.toLowerCase() === "content-type") contentType = value
      else headers[name] = value
    }
    if (out.body.length === 0) return Effect.succeed(HttpServerResponse.empty({ status: out.status, headers }))
    const options = { status: out.status, headers, ...(contentType === undefined ? {} : { contentType }) }
    return Effect.succeed(
      typeof out.body === "string"
        ? HttpServerResponse.text(out.body, options)
        : HttpServerResponse.uint8Array(out.body, options)
    )
  })

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
    return yield* respond(engine, { method: request.method, url: request.url, headers: request.headers, body })
  }).pipe(Effect.withSpan("Emulator.handle"))
  direct.set(app, (input) => respond(engine, input).pipe(Effect.withSpan("Emulator.handle")))
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
