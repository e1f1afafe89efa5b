import { FetchHttpClient, HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, FastCheck, Layer, Option, Redacted, Ref, TestClock } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as Cloud from "../src/Cloud.js"
import * as GraphClient from "../src/GraphClient.js"
import * as TokenProvider from "../src/TokenProvider.js"

const tenant = "contoso.onmicrosoft.com"

/** What Microsoft's "National cloud deployments" page for Graph lists for each cloud. */
const documented = {
  global: { graph: "https://graph.microsoft.com", login: "https://login.microsoftonline.com" },
  usGov: { graph: "https://graph.microsoft.us", login: "https://login.microsoftonline.us" },
  usGovDod: { graph: "https://dod-graph.microsoft.us", login: "https://login.microsoftonline.us" },
  china: { graph: "https://microsoftgraph.chinacloudapi.cn", login: "https://login.chinacloudapi.cn" }
} as const

const environment = (entries: Record<string, string>) =>
  ConfigProvider.fromMap(
    new Map(Object.entries({ MSGRAPH_TENANT_ID: tenant, MSGRAPH_CLIENT_ID: "app-1", MSGRAPH_CLIENT_SECRET: "s3cr3t-value", ...entries }))
  )

interface Seen {
  readonly url: string
  readonly body: string
}

/** An in-process token endpoint that records each request and answers at once. */
const recording = (seen: Ref.Ref<ReadonlyArray<Seen>>, expiresIn = 3600) =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const calls = yield* Ref.updateAndGet(seen, (list) => [...list, { url: url.toString(), body }])
        return HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ token_type: "Bearer", expires_in: expiresIn, access_token: `token-${calls.length}` }), {
            status: 200,
            headers: { "content-type": "application/json" }
          })
        )
      })
    )
  )

interface Received {
  readonly method: string
  readonly path: string
  readonly contentType: string
  readonly form: URLSearchParams
}

/** A token endpoint served on 127.0.0.1 for the duration of the scope. */
const loopbackTokenServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly received: Array<Received>; readonly server: http.Server }>((resume) => {
    const received: Array<Received> = []
    const server = http.createServer((req, res) => {
      let body = ""
      req.setEncoding("utf8")
      req.on("data", (chunk: string) => (body += chunk))
      req.on("end", () => {
        received.push({
          method: req.method ?? "",
          path: req.url ?? "",
          contentType: req.headers["content-type"] ?? "",
          form: new URLSearchParams(body)
        })
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ token_type: "Bearer", expires_in: 3600, access_token: `loopback-${received.length}` }))
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

describe("Cloud", () => {
  it("one table: Graph endpoint, login host and .default scope of each documented cloud", () => {
    expect(Cloud.names).toStrictEqual(Object.keys(documented))
    for (const name of Cloud.names) {
      expect(Cloud.clouds[name]).toStrictEqual({
        graph: documented[name].graph,
        authority: documented[name].login,
        scope: `${documented[name].graph}/.default`
      })
    }
    // GraphClient reads the same table rather than a copy of it
    expect(GraphClient.clouds).toBe(Cloud.clouds)
  })

  it("the Graph endpoint's origin names its cloud, and nothing else does", () => {
    for (const name of Cloud.names) {
      expect(Option.getOrUndefined(Cloud.fromGraphUrl(new URL(`${documented[name].graph}/v1.0`)))).toBe(name)
    }
    expect(Cloud.fromGraphUrl(new URL("https://graph.example.com"))._tag).toBe("None")
    expect(Cloud.fromGraphUrl(new URL("http://graph.microsoft.com"))._tag).toBe("None")
    expect(Cloud.fromGraphUrl(new URL("https://graph.microsoft.com:8443"))._tag).toBe("None")
  })

  it.prop(
    "plain http is secure only on a loopback address; https always is",
    [FastCheck.domain(), FastCheck.constantFrom("localhost", "127.0.0.1", "127.1.2.3", "[::1]")],
    ([host, loopback]) => {
      expect(Cloud.isSecure(new URL(`https://${host}`))).toBe(true)
      expect(Cloud.isSecure(new URL(`http://${host}`))).toBe(Cloud.isLoopback(new URL(`http://${host}`)))
      expect(Cloud.isSecure(new URL(`http://${loopback}:8080`))).toBe(true)
      expect(Cloud.isSecure(new URL(`ftp://${loopback}`))).toBe(false)
    }
  )
})

describe("TokenProvider and the clouds", () => {
  for (const name of Cloud.names) {
    it.effect(`${name}: the token request goes to the cloud's login host and asks for its Graph`, () =>
      Effect.gen(function*() {
        const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
        const viaOption = yield* TokenProvider.makeClientCredentials({
          cloud: name,
          tenantId: tenant,
          clientId: "app-1",
          clientSecret: Redacted.make("s3cr3t-value")
        }).pipe(Effect.provide(recording(seen)))
        yield* viaOption.token
        const viaConfig = yield* Effect.provide(TokenProvider.TokenProvider, TokenProvider.layerClientCredentialsConfig).pipe(
          Effect.provide(recording(seen)),
          Effect.withConfigProvider(environment({ MSGRAPH_CLOUD: name }))
        )
        yield* viaConfig.token
        const calls = yield* Ref.get(seen)
        expect(calls).toHaveLength(2)
        for (const call of calls) {
          expect(call.url).toBe(`${documented[name].login}/${tenant}/oauth2/v2.0/token`)
          expect(new URLSearchParams(call.body).get("scope")).toBe(`${documented[name].graph}/.default`)
        }
      }))
  }

  for (const name of Cloud.names) {
    it.scoped(`${name}: a token endpoint on loopback (MSGRAPH_AUTHORITY) receives the cloud's client credentials request`, () =>
      Effect.gen(function*() {
        const server = yield* loopbackTokenServer
        const provider = yield* Effect.provide(TokenProvider.TokenProvider, TokenProvider.layerClientCredentialsConfig).pipe(
          Effect.provide(FetchHttpClient.layer),
          Effect.withConfigProvider(environment({ MSGRAPH_CLOUD: name, MSGRAPH_AUTHORITY: `${server.url}/` }))
        )
        expect(Redacted.value(yield* provider.token)).toBe("loopback-1")
        expect(server.received).toHaveLength(1)
        const [request] = server.received
        expect(request!.method).toBe("POST")
        expect(request!.path).toBe(`/${tenant}/oauth2/v2.0/token`)
        expect(request!.contentType).toContain("application/x-www-form-urlencoded")
        expect(Object.fromEntries(request!.form)).toStrictEqual({
          grant_type: "client_credentials",
          client_id: "app-1",
          client_secret: "s3cr3t-value",
          scope: `${documented[name].graph}/.default`
        })
      }), { timeout: 20_000 })
  }

  it.effect("an explicit scope still wins over the cloud's", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const provider = yield* TokenProvider.makeClientCredentials({
        cloud: "china",
        scope: "https://example.invalid/.default",
        tenantId: tenant,
        clientId: "app-1",
        clientSecret: Redacted.make("s3cr3t-value")
      }).pipe(Effect.provide(recording(seen)))
      yield* provider.token
      expect(new URLSearchParams((yield* Ref.get(seen))[0]!.body).get("scope")).toBe("https://example.invalid/.default")
    }))
})

describe("TokenProvider: the authority must not carry the secret in clear", () => {
  const credentials = { tenantId: tenant, clientId: "app-1", clientSecret: Redacted.make("s3cr3t-value") }

  it.effect("an http authority off loopback, or one that is not a URL, is refused with nothing sent", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const plain = yield* Effect.exit(
        TokenProvider.makeClientCredentials({ ...credentials, authority: "http://login.microsoftonline.com" }).pipe(Effect.provide(recording(seen)))
      )
      expect(plain).toStrictEqual(
        Exit.fail(new TokenProvider.InvalidAuthority({ authority: "http://login.microsoftonline.com", reason: "NotHttps" }))
      )
      const garbage = yield* Effect.flip(
        TokenProvider.makeClientCredentials({ ...credentials, authority: "login.microsoftonline.com" }).pipe(Effect.provide(recording(seen)))
      )
      expect(garbage.reason).toBe("NotAUrl")
      expect(String(garbage)).not.toContain("s3cr3t")
      expect(yield* Ref.get(seen)).toStrictEqual([])
    }))

  it.effect("MSGRAPH_AUTHORITY=http://... off loopback is a ConfigError naming the variable, with nothing sent", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const error = yield* Effect.flip(
        Effect.provide(TokenProvider.TokenProvider, TokenProvider.layerClientCredentialsConfig).pipe(
          Effect.provide(recording(seen)),
          Effect.withConfigProvider(environment({ MSGRAPH_AUTHORITY: "http://login.example.com" }))
        )
      )
      expect(error._tag).toBe("ConfigError")
      expect(String(error)).toContain("MSGRAPH_AUTHORITY")
      expect(String(error)).toContain("https")
      expect(String(error)).not.toContain("s3cr3t")
      expect(yield* Ref.get(seen)).toStrictEqual([])
    }))

  it.effect("http on a loopback address is accepted (a local token endpoint)", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      for (const authority of ["http://127.0.0.1:9999", "http://localhost:9999/", "http://[::1]:9999"]) {
        const provider = yield* TokenProvider.makeClientCredentials({ ...credentials, authority }).pipe(Effect.provide(recording(seen)))
        yield* provider.token
      }
      expect((yield* Ref.get(seen)).map((call) => call.url)).toStrictEqual([
        `http://127.0.0.1:9999/${tenant}/oauth2/v2.0/token`,
        `http://localhost:9999/${tenant}/oauth2/v2.0/token`,
        `http://[::1]:9999/${tenant}/oauth2/v2.0/token`
      ])
    }))
})

describe("TokenProvider: the refresh skew and short-lived tokens", () => {
  const credentials = { tenantId: tenant, clientId: "app-1", clientSecret: Redacted.make("s3cr3t-value") }

  it.effect("a token shorter-lived than the skew is reused until half its lifetime, not fetched per call", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      // a 2-minute token under the default 5-minute skew
      const provider = yield* TokenProvider.makeClientCredentials(credentials).pipe(Effect.provide(recording(seen, 120)))
      // one batch every 2 seconds, for the first minute of the token's life
      const tokens: Array<string> = []
      for (let batch = 0; batch < 30; batch++) {
        tokens.push(Redacted.value(yield* provider.token))
        yield* TestClock.adjust(Duration.seconds(2))
      }
      expect(tokens).toStrictEqual(Array(30).fill("token-1"))
      expect(yield* Ref.get(seen)).toHaveLength(1)
      // at 60 s, half of the 120 s lifetime, it is refreshed
      expect(Redacted.value(yield* provider.token)).toBe("token-2")
      expect(yield* Ref.get(seen)).toHaveLength(2)
    }))

  it.effect("a skew shorter than half the lifetime is kept as given", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const provider = yield* TokenProvider.makeClientCredentials({ ...credentials, skew: Duration.seconds(10) }).pipe(
        Effect.provide(recording(seen, 120))
      )
      yield* provider.token
      yield* TestClock.adjust(Duration.seconds(109))
      expect(Redacted.value(yield* provider.token)).toBe("token-1")
      yield* TestClock.adjust(Duration.seconds(1))
      expect(Redacted.value(yield* provider.token)).toBe("token-2")
    }))

  it.effect.prop(
    "a cached token is never used past its expiry minus the skew, nor refreshed before half its lifetime",
    [FastCheck.integer({ min: 1, max: 7200 }), FastCheck.integer({ min: 0, max: 900 })],
    ([lifetime, skew]) =>
      Effect.gen(function*() {
        const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
        const provider = yield* TokenProvider.makeClientCredentials({ ...credentials, skew: Duration.seconds(skew) }).pipe(
          Effect.provide(recording(seen, lifetime))
        )
        yield* provider.token
        const refreshAt = lifetime - Math.min(skew, lifetime / 2)
        // just before the refresh point the first token is still served; at it, a new one is fetched
        if (refreshAt * 1000 > 1) {
          yield* TestClock.adjust(Duration.millis(refreshAt * 1000 - 1))
          expect(Redacted.value(yield* provider.token)).toBe("token-1")
          yield* TestClock.adjust(Duration.millis(1))
        }
        expect(Redacted.value(yield* provider.token)).toBe("token-2")
      })
  )
})
