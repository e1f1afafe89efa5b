/**
 * The emulator on a real socket: Node's HTTP server bound to 127.0.0.1 only, serving the same
 * `HttpApp` as the in-process client. A dropped-connection fault destroys the socket without an
 * answer.
 *
 * @since 0.1.0
 */
import { HttpServer, type HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { Emulator } from "./Emulator.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The port to listen on; 0 picks a free one. */
  readonly port: number
}

/**
 * The loopback URL a running server listens on, e.g. `http://127.0.0.1:5173`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const url: Effect.Effect<string, never, HttpServer.HttpServer> = HttpServer.addressWith((address) =>
  Effect.succeed(address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : `unix:${address.path}`)
)

/**
 * Serves the emulator in context on 127.0.0.1. The server stops when the layer's scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, Emulator> =>
  Layer.unwrapEffect(
    Effect.map(Emulator, (emulator) =>
      HttpServer.serve(
        emulator.app.pipe(
          Effect.catchTag("ConnectionDropped", () =>
            Effect.gen(function*() {
              const request = yield* HttpServerRequest.HttpServerRequest
              NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
              return HttpServerResponse.empty({ status: 500 })
            }))
        )
      )
    )
  ).pipe(Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: options.port, host: "127.0.0.1" })))
