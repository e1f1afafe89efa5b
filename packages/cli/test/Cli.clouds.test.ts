import { Cloud } from "@effect-msgraph/core"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Ref } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import * as Examples from "../src/Examples.js"
import { makeMemory, Output } from "../src/Output.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-clouds-"))
const small = path.join(dir, "small.json")
fs.writeFileSync(small, Examples.render(Examples.onboarding(2)))

const secret = "very-secret-value-123"
const environment = (entries: Record<string, string>) =>
  ConfigProvider.fromMap(
    new Map(Object.entries({ MSGRAPH_TENANT_ID: "contoso.onmicrosoft.com", MSGRAPH_CLIENT_ID: "app-1", MSGRAPH_CLIENT_SECRET: secret, ...entries }))
  )

const exec = (options: Cli.RunOptions, entries: Record<string, string>) =>
  Effect.gen(function*() {
    const memory = yield* makeMemory({ stderrIsTTY: false })
    const code = yield* Effect.provideService(Cli.run(options), Output, memory.service).pipe(
      Effect.withConfigProvider(environment(entries))
    )
    return { code, stdout: yield* Ref.get(memory.captured.stdout), stderr: yield* Ref.get(memory.captured.stderr) }
  }).pipe(Effect.provide(NodeContext.layer))

/**
 * A token endpoint on 127.0.0.1 that records each request's path and form and refuses it (401), so
 * that no batch is ever sent to the real Graph.
 */
const refusingTokenServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly received: Array<{ path: string; form: URLSearchParams }>; readonly server: http.Server }>(
    (resume) => {
      const received: Array<{ path: string; form: URLSearchParams }> = []
      const server = http.createServer((req, res) => {
        let body = ""
        req.setEncoding("utf8")
        req.on("data", (chunk: string) => (body += chunk))
        req.on("end", () => {
          received.push({ path: req.url ?? "", form: new URLSearchParams(body) })
          res.writeHead(401, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: "invalid_client" }))
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

describe("msgraph-batch run: the endpoint and the token follow one cloud", () => {
  for (const name of Cloud.names) {
    it.scopedLive(`--endpoint ${Cloud.clouds[name].graph}: the token is asked for that cloud's Graph`, () =>
      Effect.gen(function*() {
        const server = yield* refusingTokenServer
        const result = yield* exec(
          { file: small, endpoint: Cloud.clouds[name].graph, maxAttempts: 1, json: true },
          { MSGRAPH_AUTHORITY: server.url }
        )
        // the login endpoint refused the credentials: exit 2 before anything was sent to Graph
        assert.strictEqual(result.code, 2)
        assert.isAbove(server.received.length, 0)
        for (const request of server.received) {
          assert.strictEqual(request.path, "/contoso.onmicrosoft.com/oauth2/v2.0/token")
          assert.strictEqual(request.form.get("grant_type"), "client_credentials")
          assert.strictEqual(request.form.get("scope"), `${Cloud.clouds[name].graph}/.default`)
        }
        assert.notInclude(result.stdout + result.stderr, secret)
      }), { timeout: 30_000 })
  }

  it.scopedLive("credentials the login endpoint refuses: exit 2 after one token request, nothing sent, no --out or journal written", () =>
    Effect.gen(function*() {
      const server = yield* refusingTokenServer
      const out = path.join(dir, "refused-out.ndjson")
      // 200 requests: before, each batch asked for a token 5 times, and every request ended TokenError (exit 1)
      const many = path.join(dir, "many.ndjson")
      fs.writeFileSync(many, Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `g${i}`, method: "GET", url: `/users/u${i}` })).join("\n"))
      const result = yield* exec({ file: many, endpoint: "https://graph.microsoft.com", out }, { MSGRAPH_AUTHORITY: server.url })
      assert.strictEqual(result.code, 2)
      assert.include(result.stderr, "the login endpoint refused the client credentials (401)")
      assert.include(result.stderr, "Nothing was sent.")
      assert.strictEqual(server.received.length, 1)
      assert.isFalse(fs.existsSync(out))
      assert.isFalse(fs.existsSync(`${out}.journal`))
      assert.notInclude(result.stdout + result.stderr, secret)
    }), { timeout: 30_000 })

  it.live("refuses an https endpoint that is no cloud's Graph, before reading the file or sending anything", () =>
    Effect.gen(function*() {
      const result = yield* exec({ file: path.join(dir, "absent.json"), endpoint: "https://graph.example.com" }, {})
      assert.strictEqual(result.code, 2)
      assert.include(result.stderr, "Microsoft Graph endpoint")
      assert.include(result.stderr, "https://graph.microsoft.us (usGov)")
    }))

  it.live("refuses MSGRAPH_CLOUD naming another cloud than the endpoint's", () =>
    Effect.gen(function*() {
      const result = yield* exec({ file: small, endpoint: "https://graph.microsoft.us" }, { MSGRAPH_CLOUD: "china" })
      assert.strictEqual(result.code, 2)
      assert.include(result.stderr, "MSGRAPH_CLOUD is china")
      assert.include(result.stderr, "usGov")
    }))

  it.live("refuses MSGRAPH_AUTHORITY=http:// off loopback with exit 2, sending nothing", () =>
    Effect.gen(function*() {
      const result = yield* exec({ file: small, endpoint: "https://graph.microsoft.com" }, { MSGRAPH_AUTHORITY: "http://login.example.com" })
      assert.strictEqual(result.code, 2)
      assert.include(result.stderr, "MSGRAPH_AUTHORITY")
      assert.include(result.stderr, "https")
      assert.include(result.stderr, "Nothing was sent")
      assert.notInclude(result.stdout + result.stderr, secret)
    }))
})
