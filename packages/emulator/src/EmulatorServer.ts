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
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Emulator, type InvalidOptions, layer as emulatorLayer, type LoadModel } from "./Emulator.js"
import * as Faults from "./Faults.js"
import type * as Latency from "./Latency.js"

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
 * Serves the emulator in context on 127.0.0.1. A request without a Host header (HTTP/1.0) is
 * answered as if it named this server, so that its links lead back here. The server stops when the
 * layer's scope closes: it lets the requests it is answering finish, and drops the connections of
 * requests whose body has not fully arrived, which a stalled client would otherwise hold open until
 * Node's request timeout.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, Emulator> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const server = createServer()
    // the requests not yet answered, to find at shutdown those still waiting for their body
    const open = new Set<IncomingMessage>()
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      // without a Host header (HTTP/1.0) links would point at Graph itself: point them here instead
      if (request.headers.host === undefined) request.headers.host = `127.0.0.1:${request.socket.localPort}`
      open.add(request)
      response.once("close", () => open.delete(request))
    })
    const dropStalled = Layer.scopedDiscard(Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const request of open) if (!request.complete) request.socket.destroy()
      })
    ))
    const serve = Layer.unwrapEffect(
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
    )
    // released before the Node server, whose close waits for every open request
    return Layer.merge(serve, dropStalled).pipe(
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port: options.port, host: "127.0.0.1" }))
    )
  }))

/**
 * A served emulator as a command line describes it: the flags of `msgraph-emulator` and of
 * `msgraph-batch serve`, which both build their server with {@link layerServed}. An absent field
 * takes its value from {@link serveDefaults}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  /** The port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number
  /** The tenant size for identity resource-unit limits. */
  readonly tenantSize?: "S" | "M" | "L"
  /** Enforce `1/F` of every documented limit (the emulator's `multiplier` is `1/stricter`). */
  readonly stricter?: number
  /** One of the named fault profiles (`Faults.profiles`). */
  readonly faults?: Faults.Profile
  /** Seeds response order, faults and latency. */
  readonly seed?: number
  /**
   * `realistic`: tens to hundreds of milliseconds per item, by service; `none`: answer at once; or a
   * whole `Latency.Profile` (a fixed profile, for tests and benchmarks that check a prediction).
   */
  readonly latency?: "none" | "realistic" | Latency.Profile
  /** Licences per subscribed SKU. */
  readonly licenses?: number
  /** The load model's knee: items in flight per app beyond which latency grows (0: none). */
  readonly loadKnee?: number
  /** The load model's ceiling: items in flight per app at which new items answer 503 (0: none). */
  readonly loadCeiling?: number
}

/**
 * The defaults of a served emulator, the one home of both commands' defaults. Latency is realistic,
 * as on Graph. Licences are as many as a collection can hold objects (`capacity`, 100,000): a server
 * does not know its workloads in advance, so licences never run out before users do (the in-process
 * `Emulator.layer` keeps 25, a small tenant's count, for tests of running out).
 *
 * @since 0.1.0
 * @category constants
 */
export const serveDefaults = {
  port: 0,
  tenantSize: "M",
  stricter: 1,
  faults: "none",
  seed: 0,
  latency: "realistic",
  licenses: 100_000,
  loadKnee: 0,
  loadCeiling: 0
} as const satisfies Required<ServeOptions>

/**
 * The emulator options a served emulator is built with, defaults filled in from {@link serveDefaults}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const emulatorOptions = (options: ServeOptions = {}): Emulator.Options => ({
  tenantSize: options.tenantSize ?? serveDefaults.tenantSize,
  seed: options.seed ?? serveDefaults.seed,
  multiplier: 1 / (options.stricter ?? serveDefaults.stricter),
  faults: Faults.profiles[options.faults ?? serveDefaults.faults],
  latency: options.latency ?? serveDefaults.latency,
  licenses: options.licenses ?? serveDefaults.licenses,
  ...loadOf(options.loadKnee ?? serveDefaults.loadKnee, options.loadCeiling ?? serveDefaults.loadCeiling)
})

/** The load model of `--load-knee` and `--load-ceiling`, where 0 means none; absent when both are 0. */
const loadOf = (knee: number, ceiling: number): { readonly load?: LoadModel } =>
  knee === 0 && ceiling === 0 ? {} : {
    load: { ...(knee === 0 ? {} : { knee }), ...(ceiling === 0 ? {} : { ceiling }) }
  }

/**
 * A fresh emulator built from {@link emulatorOptions}, served on 127.0.0.1 by {@link layer}; the
 * `Emulator` stays in context (for its audit). Both `msgraph-emulator` and `msgraph-batch serve` run
 * this layer, so the same flags give the same emulator.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServed = (
  options: ServeOptions = {}
): Layer.Layer<HttpServer.HttpServer | Emulator, HttpServerError.ServeError | InvalidOptions> =>
  layer({ port: options.port ?? serveDefaults.port }).pipe(Layer.provideMerge(emulatorLayer(emulatorOptions(options))))
