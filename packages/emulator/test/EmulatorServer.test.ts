import { BatchResponse } from "@effect-msgraph/spec"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import * as EmulatorServer from "@effect-msgraph/emulator/EmulatorServer"
import { NodeHttpClient } from "@effect/platform-node"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Layer, Scope } from "effect"
import { spawn } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const repo = path.join(here, "..", "..", "..")

const served = (options: Emulator.Emulator.Options = {}) =>
  EmulatorServer.layer({ port: 0 }).pipe(Layer.provideMerge(Emulator.layer({ latency: "none", ...options })))

describe("loopback server", () => {
  it.live("serves $batch and single requests on 127.0.0.1 with the same behaviour as the in-process client", () =>
    Effect.gen(function*() {
      const url = yield* EmulatorServer.url
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const client = yield* HttpClient.HttpClient
      const created = yield* client.execute(
        HttpClientRequest.post(`${url}/v1.0/users`).pipe(HttpClientRequest.bodyUnsafeJson({ userPrincipalName: "net@contoso.com", displayName: "Net" }))
      )
      assert.strictEqual(created.status, 201)
      const response = yield* client.execute(
        HttpClientRequest.post(`${url}/v1.0/$batch`).pipe(
          HttpClientRequest.bodyUnsafeJson({
            requests: [
              { id: "1", method: "GET", url: "/users/net@contoso.com" },
              { id: "2", method: "GET", url: "/users?$top=1", dependsOn: ["1"] }
            ]
          })
        )
      )
      assert.strictEqual(response.status, 200)
      const decoded = yield* BatchResponse.decodeJson(yield* response.text)
      assert.deepStrictEqual(decoded.responses.map((r) => [r.id, r.status]), [["1", 200], ["2", 200]])
      // nextLinks point back at the server that answered.
      const second = decoded.responses[1]!.body as any
      assert.isTrue(second["@odata.nextLink"].startsWith(`${url}/v1.0/users?`))
      const refused = yield* client.execute(HttpClientRequest.post(`${url}/v1.0/$batch`).pipe(HttpClientRequest.bodyUnsafeJson({ requests: [] })))
      assert.strictEqual(refused.status, 400)
      const log = yield* Emulator.audit
      assert.strictEqual(log.length, 3)
    }).pipe(Effect.provide(Layer.merge(served(), NodeHttpClient.layerUndici)), Effect.scoped))

  it.live("the in-process client reads the same status, headers (content type and length included) and body as the server sends", () =>
    Effect.gen(function*() {
      const exchange = (base: string) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const response = yield* client.execute(
            HttpClientRequest.post(`${base}/v1.0/$batch`).pipe(
              HttpClientRequest.bodyUnsafeJson({ requests: [{ id: "1", method: "GET", url: "/me?$select=id" }, { id: "2", method: "GET", url: "/nowhere" }] })
            )
          )
          const text = yield* response.text
          return { status: response.status, headers: response.headers as Record<string, string>, text }
        })
      const overNetwork = yield* Effect.flatMap(EmulatorServer.url, exchange).pipe(
        Effect.provide(Layer.merge(served(), NodeHttpClient.layerUndici)),
        Effect.scoped
      )
      const inProcess = yield* exchange("https://graph.microsoft.com").pipe(Effect.provide(Emulator.layerTest({ latency: "none" })))
      // what the socket adds (date, connection) is not the emulator's
      const own = (headers: Record<string, string>) =>
        Object.keys(headers).filter((name) => !["date", "connection", "keep-alive", "transfer-encoding"].includes(name)).sort()
      assert.deepStrictEqual(own(inProcess.headers), own(overNetwork.headers))
      assert.strictEqual(inProcess.status, overNetwork.status)
      assert.strictEqual(inProcess.headers["content-type"], overNetwork.headers["content-type"])
      assert.strictEqual(Number(inProcess.headers["content-length"]), Buffer.byteLength(inProcess.text))
      const statuses = (text: string) => (JSON.parse(text).responses as Array<{ id: string; status: number }>).map((r) => [r.id, r.status]).sort()
      assert.deepStrictEqual(statuses(inProcess.text), statuses(overNetwork.text))
    }))

  it.live("a dropped connection closes the socket without an answer", () =>
    Effect.gen(function*() {
      const url = yield* EmulatorServer.url
      const client = yield* HttpClient.HttpClient
      const result = yield* Effect.either(client.execute(HttpClientRequest.get(`${url}/v1.0/me`)))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "RequestError")
    }).pipe(Effect.provide(Layer.merge(served({ faults: { dropConnection: { rate: 1 } } }), NodeHttpClient.layerUndici)), Effect.scoped))
  it.live("a request without a Host header (HTTP/1.0) gets links to this server, not to Graph", () =>
    Effect.gen(function*() {
      const url = yield* EmulatorServer.url
      const answer = yield* Effect.async<string>((resume) => {
        const socket = net.connect(Number(new URL(url).port), "127.0.0.1")
        let text = ""
        socket.on("data", (chunk) => text += chunk)
        socket.on("end", () => resume(Effect.succeed(text)))
        socket.write("GET /v1.0/me HTTP/1.0\r\n\r\n")
      })
      assert.match(answer, /^HTTP\/1\.1 200/)
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))
      assert.strictEqual(body["@odata.context"], `${url}/v1.0/$metadata#users/$entity`)
    }).pipe(Effect.provide(served()), Effect.scoped))

  it.live("stops promptly while a client holds a request whose body never finishes arriving", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(served(), scope)
      const url = yield* EmulatorServer.url.pipe(Effect.provide(context))
      const port = Number(new URL(url).port)
      // a stalled client: it promises 100 bytes of body, sends one, and waits
      const socket = net.connect(port, "127.0.0.1")
      yield* Effect.async<void>((resume) => {
        socket.write("POST /v1.0/$batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        setTimeout(() => resume(Effect.void), 200)
      })
      const closed = yield* Effect.async<boolean>((resume) => {
        socket.once("close", () => resume(Effect.succeed(true)))
      }).pipe(Effect.fork)
      // closing is uninterruptible: wait for it in a fiber of its own, for at most 3 seconds
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      const stopped = yield* Fiber.await(closing).pipe(Effect.timeout("3 seconds"), Effect.either)
      socket.destroy()
      yield* Fiber.await(closing)
      assert.isTrue(Either.isRight(stopped), "the server stopped within 3 seconds")
      assert.isTrue(yield* closed.await.pipe(Effect.map(Exit.isSuccess)))
    }))
})

describe("msgraph-emulator bin", () => {
  it.live("prints its URL, serves Graph, and exits cleanly on SIGTERM and SIGINT", () =>
    Effect.gen(function*() {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        const child = spawn(
          process.execPath,
          [
            path.join(repo, "node_modules", "vite-node", "vite-node.mjs"),
            "--config",
            path.join(repo, "packages", "emulator", "vitest.config.ts"),
            path.join(repo, "packages", "emulator", "src", "bin.ts"),
            "--",
            "--port",
            "0",
            "--tenant-size",
            "S",
            "--seed",
            "5"
          ],
          { cwd: repo, stdio: ["ignore", "pipe", "pipe"] }
        )
        const url = yield* Effect.async<string, Error>((resume) => {
          let out = ""
          child.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
            if (match !== null) resume(Effect.succeed(match[1]!))
          })
          child.on("exit", (code) => resume(Effect.fail(new Error(`exited early with ${code}: ${out}`))))
        }).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("no URL printed") }))
        const response = yield* HttpClient.get(`${url}/v1.0/me`)
        assert.strictEqual(response.status, 200)
        const exit = yield* Effect.async<number | null>((resume) => {
          child.on("exit", (code) => resume(Effect.succeed(code)))
          child.kill(signal)
        }).pipe(Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error(`did not exit on ${signal}`) }))
        assert.strictEqual(exit, 0, `clean exit on ${signal}`)
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
