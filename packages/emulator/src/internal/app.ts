/**
 * The emulator as one Effect `HttpApp`: it reads the server request, hands it to the engine and writes
 * the engine's answer. A dropped connection is the typed failure `ConnectionDropped`, which each way
 * of running the app turns into its own transport failure.
 *
 * @internal
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { Data, Effect } from "effect"
import type { Engine } from "./engine.js"

/** The emulator was asked (by a fault) to drop the connection without answering. @internal */
export class ConnectionDropped extends Data.TaggedError("ConnectionDropped")<{}> {}

/** @internal */
export const makeApp = (engine: Engine): HttpApp.Default<ConnectionDropped> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* request.arrayBuffer.pipe(
      Effect.map((buffer) => new Uint8Array(buffer)),
      Effect.orElseSucceed(() => new Uint8Array(0))
    )
    const out = yield* engine.handle({ method: request.method, url: request.url, headers: request.headers, body })
    if (out._tag === "Drop") return yield* new ConnectionDropped()
    let contentType: string | undefined
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(out.headers)) {
      if (name.toLowerCase() === "content-type") contentType = value
      else headers[name] = value
    }
    if (out.body.length === 0) return HttpServerResponse.empty({ status: out.status, headers })
    const options = { status: out.status, headers, ...(contentType === undefined ? {} : { contentType }) }
    return typeof out.body === "string"
      ? HttpServerResponse.text(out.body, options)
      : HttpServerResponse.uint8Array(out.body, options)
  }).pipe(Effect.withSpan("Emulator.handle"))
