/**
 * The client against misbehaving servers on real loopback sockets: one that never answers, one that
 * sends headers and then stalls the body, one that resets the connection after reading the request,
 * and a port where nothing listens.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import type { Workload } from "@effect-msgraph/core/Workload"
import { Effect, Fiber, Layer, Schedule, TestClock } from "effect"
import * as http from "node:http"
import * as net from "node:net"
import { TOKEN } from "./utils/harness.js"

/** A real-time wait for something the sockets do; the test's own timeout bounds it. */
const until = (condition: () => boolean) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      const check = () => (condition() ? resolve() : setTimeout(check, 2))
      check()
    })
  )

interface Fake {
  readonly port: number
  /** Complete requests the server has read. */
  readonly received: () => number
}

/**
 * A raw TCP server on 127.0.0.1 that reads each HTTP request to its last body byte and then does
 * `onRequest` with the socket.
 */
const rawServer = (onRequest: (socket: net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: net.Server; readonly sockets: Set<net.Socket>; readonly fake: Fake }>((resume) => {
      let received = 0
      const sockets = new Set<net.Socket>()
      const server = net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        let buffer = Buffer.alloc(0)
        socket.on("data", (chunk) => {
          buffer = Buffer.concat([buffer, chunk])
          const end = buffer.indexOf("\r\n\r\n")
          if (end < 0) return
          const length = Number(/content-length:\s*(\d+)/i.exec(buffer.subarray(0, end).toString())?.[1] ?? 0)
          if (buffer.length < end + 4 + length) return
          buffer = buffer.subarray(end + 4 + length)
          received++
          onRequest(socket)
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, sockets, fake: { port: (server.address() as net.AddressInfo).port, received: () => received } })))
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
      })
  ).pipe(Effect.map(({ fake }) => fake))

/**
 * A `$batch` server that answers every item `status` (201 unless said). With `once`, it stops
 * listening after its first answer, as an endpoint that goes down.
 */
const answeringServer = (port: number, options: { readonly status?: number; readonly once?: boolean } = {}) =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => (body += chunk))
        req.on("end", () => {
          const { requests } = JSON.parse(body) as { requests: Array<{ id: string }> }
          res.writeHead(200, { "content-type": "application/json", ...(options.once === true ? { connection: "close" } : {}) })
          res.end(JSON.stringify({ responses: requests.map((r) => ({ id: r.id, status: options.status ?? 201, body: { id: `new-${r.id}` } })) }))
          if (options.once === true) server.close()
        })
      })
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

/** A port on 127.0.0.1 where nothing listens: bound once, then closed. */
const closedPort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

const client = (port: number, options: GraphClient.GraphClient.Options) =>
  GraphClient.layer({ baseUrl: `http://127.0.0.1:${port}`, ...options }).pipe(
    Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, TokenProvider.layerStatic(TOKEN), GraphClient.layerUnthrottled))
  )

const json = { "Content-Type": "application/json" }
const getAndPost: Workload = [
  { id: "read", method: "GET", url: "/users/a" },
  { id: "create", method: "POST", url: "/users", headers: json, body: { displayName: "A" } }
]

const runAll = (workload: Workload) => Effect.flatMap(GraphClient.GraphClient, (graph) => graph.runAll(workload))

const byId = (outcomes: ReadonlyArray<GraphClient.Outcome>) => new Map(outcomes.map((o) => [o.id, o]))

describe("GraphClient per-round-trip timeout (real sockets, virtual time)", () => {
  // without a timeout of its own the client waits for ever: the test's timeout then fails it
  const silent = [
    ["accepts the request and never answers", (_: net.Socket) => {}],
    [
      "sends the headers, then stalls the body",
      (socket: net.Socket) => void socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"responses\":[")
    ]
  ] as const
  for (const [name, behaviour] of silent) {
    it.scoped(`a server that ${name}: the call times out; the GET is resent, then fails; the POST ends UnknownOutcome`, () =>
      Effect.gen(function*() {
        const fake = yield* rawServer(behaviour)
        const fiber = yield* Effect.fork(
          runAll(getAndPost).pipe(
            Effect.provide(client(fake.port, { timeout: "30 seconds", maxAttempts: 2, backoff: Schedule.spaced("1 second") }))
          )
        )
        // the batch reached the server; then the timeout passes
        yield* until(() => fake.received() === 1)
        yield* TestClock.adjust("30 seconds")
        // the GET alone is resent after the backoff, and times out again
        yield* TestClock.adjust("1 second")
        yield* until(() => fake.received() === 2)
        yield* TestClock.adjust("30 seconds")
        const { outcomes, summary } = yield* Fiber.join(fiber)
        const outcome = byId(outcomes)
        expect(outcome.get("create")).toMatchObject({
          _tag: "Failure",
          attempts: 1,
          error: { _tag: "UnknownOutcome", cause: "BatchTransportError" }
        })
        expect(outcome.get("read")).toMatchObject({
          _tag: "Failure",
          attempts: 2,
          error: { _tag: "BatchTransportError", sent: true }
        })
        expect(summary.batches).toBe(2)
        expect(fake.received()).toBe(2)
      }), 15_000)
  }
})

describe("GraphClient transport errors: sent means sent (real sockets)", () => {
  it.live("a refused connection sends nothing: POSTs are resent, and end with a non-ambiguous failure once attempts run out", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const workload: Workload = [
        { id: "1", method: "POST", url: "/users", headers: json, body: { displayName: "A" } },
        { id: "2", method: "PATCH", url: "/users/b", headers: json, body: { displayName: "B" } }
      ]
      const { outcomes, summary } = yield* runAll(workload).pipe(
        Effect.provide(client(port, { maxAttempts: 3, backoff: Schedule.spaced("5 millis") }))
      )
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({
          _tag: "Failure",
          attempts: 3,
          error: { _tag: "BatchTransportError", sent: false, description: "Transport (ECONNREFUSED)" }
        })
      }
      expect(outcomes).toHaveLength(2)
      expect(summary.retries).toBe(4)
    }), 15_000)

  it.live("a request that never got an answer (refused connection) fails its dependents with status 0, not 503", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const workload: Workload = [
        { id: "1", method: "POST", url: "/users", headers: json, body: { displayName: "A" } },
        { id: "2", method: "GET", url: "/users/{{1#/body/id}}" }
      ]
      const { outcomes } = yield* runAll(workload).pipe(
        Effect.provide(client(port, { maxAttempts: 2, backoff: Schedule.spaced("5 millis") }))
      )
      const dependent = outcomes.find((o) => o.id === "2")
      expect(dependent).toMatchObject({ _tag: "Failure", error: { _tag: "DependencyFailed", dependency: "1", status: 0 } })
      expect(dependent?._tag === "Failure" ? dependent.error.message : "").toContain("failed with 0")
    }), 15_000)

  it.scoped("a POST refused while the server is down is sent again once it is up, and runs once", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const fiber = yield* Effect.fork(
        runAll([{ id: "1", method: "POST", url: "/users", headers: json, body: { displayName: "A" } }]).pipe(
          Effect.provide(client(port, { maxAttempts: 5, backoff: Schedule.spaced("1 second") }))
        )
      )
      // refused: the resend waits for the backoff
      yield* untilEffect(Effect.map(TestClock.sleeps(), (s) => s.length > 0))
      yield* answeringServer(port)
      yield* TestClock.adjust("1 second")
      const { outcomes } = yield* Fiber.join(fiber)
      expect(outcomes).toMatchObject([{ _tag: "Success", id: "1", status: 201, attempts: 2 }])
    }), 15_000)

  it.scoped("an endpoint that answered, then is down for longer than the attempts allow: the refused calls spend no attempt, and their requests run once it is back", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      // up for the first call only: "b" waits for "a"'s answer, and finds the endpoint down
      const first = yield* answeringServer(port, { status: 200, once: true })
      const workload: Workload = [
        { id: "a", method: "GET", url: "/users/a" },
        { id: "b", method: "POST", url: "/groups/{{a#/body/id}}/members", headers: json, body: { displayName: "B" } }
      ]
      const fiber = yield* Effect.fork(
        runAll(workload).pipe(Effect.provide(client(port, { maxAttempts: 2, backoff: Schedule.spaced("1 second") })))
      )
      // "b" refused, then refused again at each resend: ten seconds down, five times the attempts
      for (let i = 0; i < 10; i++) {
        yield* untilEffect(Effect.map(TestClock.sleeps(), (s) => s.length > 0))
        yield* TestClock.adjust("1 second")
      }
      expect(first.listening).toBe(false)
      yield* untilEffect(Effect.map(TestClock.sleeps(), (s) => s.length > 0))
      yield* answeringServer(port)
      yield* TestClock.adjust("1 second")
      const { outcomes } = yield* Fiber.join(fiber)
      expect(byId(outcomes).get("a")).toMatchObject({ _tag: "Success", status: 200, attempts: 1 })
      // the attempt that reached the endpoint is the only one counted
      expect(byId(outcomes).get("b")).toMatchObject({ _tag: "Success", status: 201, attempts: 1 })
    }), 15_000)

  it.scoped("an endpoint that never answered: refused calls spend their attempts, and fail fast (a wrong endpoint)", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const fiber = yield* Effect.fork(
        runAll([{ id: "a", method: "GET", url: "/users/a" }]).pipe(
          Effect.provide(client(port, { maxAttempts: 2, backoff: Schedule.spaced("1 second") }))
        )
      )
      yield* untilEffect(Effect.map(TestClock.sleeps(), (s) => s.length > 0))
      yield* TestClock.adjust("1 second")
      const { outcomes } = yield* Fiber.join(fiber)
      expect(outcomes).toMatchObject([{ _tag: "Failure", attempts: 2, error: { _tag: "BatchTransportError", sent: false } }])
    }), 15_000)

  it.live("a connection reset after the server read the request: the POST ends UnknownOutcome, the GET is resent", () =>
    Effect.gen(function*() {
      const fake = yield* rawServer((socket) => socket.resetAndDestroy())
      const { outcomes } = yield* runAll(getAndPost).pipe(
        Effect.provide(client(fake.port, { maxAttempts: 2, backoff: Schedule.spaced("5 millis") }))
      )
      const outcome = byId(outcomes)
      expect(outcome.get("create")).toMatchObject({
        _tag: "Failure",
        attempts: 1,
        error: { _tag: "UnknownOutcome", cause: "BatchTransportError" }
      })
      expect(outcome.get("read")).toMatchObject({
        _tag: "Failure",
        attempts: 2,
        error: { _tag: "BatchTransportError", sent: true }
      })
      expect(fake.received()).toBe(2)
    }).pipe(Effect.scoped), 15_000)
})

/** Real-time polling of an Effect condition (virtual time stands still meanwhile). */
const untilEffect = (condition: Effect.Effect<boolean>): Effect.Effect<void> =>
  Effect.flatMap(condition, (ok) =>
    ok ? Effect.void : Effect.zipRight(Effect.promise(() => new Promise((r) => setTimeout(r, 2))), untilEffect(condition)))
