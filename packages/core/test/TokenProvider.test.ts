import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Redacted, Ref, TestClock } from "effect"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"

interface Seen {
  readonly url: string
  readonly body: string
}

/** A fake token endpoint: answers after 1 s of (test) time, counting calls. */
const endpoint = (seen: Ref.Ref<ReadonlyArray<Seen>>, answer: (n: number) => Response) =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const calls = yield* Ref.updateAndGet(seen, (list) => [...list, { url: url.toString(), body }])
        yield* Effect.sleep(Duration.seconds(1))
        return HttpClientResponse.fromWeb(request, answer(calls.length))
      })
    )
  )

const ok = (n: number) =>
  new Response(JSON.stringify({ token_type: "Bearer", expires_in: 3600, access_token: `token-${n}` }), {
    status: 200,
    headers: { "content-type": "application/json" }
  })

const credentials: TokenProvider.TokenProvider.ClientCredentials = {
  tenantId: "contoso.onmicrosoft.com",
  clientId: "app-1",
  clientSecret: Redacted.make("s3cr3t-value")
}

describe("TokenProvider", () => {
  it.effect("client credentials: one request for concurrent callers, cached until expiry minus skew", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const provider = yield* TokenProvider.makeClientCredentials(credentials).pipe(
        Effect.provide(endpoint(seen, ok))
      )
      const callers = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => provider.token), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.seconds(1))
      const tokens = yield* Fiber.join(callers)
      expect(tokens.map(Redacted.value)).toStrictEqual(Array(5).fill("token-1"))
      expect(yield* Ref.get(seen)).toHaveLength(1)
      const [call] = yield* Ref.get(seen)
      expect(call!.url).toBe("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
      const form = new URLSearchParams(call!.body)
      expect(form.get("grant_type")).toBe("client_credentials")
      expect(form.get("client_id")).toBe("app-1")
      expect(form.get("client_secret")).toBe("s3cr3t-value")
      expect(form.get("scope")).toBe("https://graph.microsoft.com/.default")

      // 3600 s lifetime, 5 min skew: still cached at 54 min, refreshed after 55 min
      yield* TestClock.adjust(Duration.minutes(54))
      expect(Redacted.value(yield* provider.token)).toBe("token-1")
      yield* TestClock.adjust(Duration.minutes(1))
      const refresh = yield* Effect.fork(provider.token)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(Redacted.value(yield* Fiber.join(refresh))).toBe("token-2")
      expect(yield* Ref.get(seen)).toHaveLength(2)
    }))

  it.effect("a refused request fails with a typed error that does not contain the secret", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const provider = yield* TokenProvider.makeClientCredentials({ ...credentials, authority: "https://login.microsoftonline.us/" }).pipe(
        Effect.provide(endpoint(seen, () => new Response(JSON.stringify({ error: "invalid_client", error_description: "s3cr3t-value is wrong" }), { status: 401 })))
      )
      const fiber = yield* Effect.fork(Effect.flip(provider.token))
      yield* TestClock.adjust(Duration.seconds(1))
      const error = yield* Fiber.join(fiber)
      expect(error).toStrictEqual(new TokenProvider.TokenError({ reason: "Rejected", status: 401, description: "token endpoint refused the request: invalid_client" }))
      expect(JSON.stringify(error)).not.toContain("s3cr3t")
      expect(String(error)).not.toContain("s3cr3t")
      expect((yield* Ref.get(seen))[0]!.url).toBe("https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token")
    }))

  it.effect("a refusal names the OAuth error and Entra's AADSTS codes, never its free-text description", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const refusal = {
        error: "invalid_client",
        error_description: "AADSTS7000215: Invalid client secret provided: s3cr3t-value",
        error_codes: [7000215]
      }
      const provider = yield* TokenProvider.makeClientCredentials(credentials).pipe(
        Effect.provide(endpoint(seen, () => new Response(JSON.stringify(refusal), { status: 401 })))
      )
      const fiber = yield* Effect.fork(Effect.flip(provider.token))
      yield* TestClock.adjust(Duration.seconds(1))
      const error = yield* Fiber.join(fiber)
      expect(error).toStrictEqual(
        new TokenProvider.TokenError({ reason: "Rejected", status: 401, description: "token endpoint refused the request: invalid_client (AADSTS7000215)" })
      )
      expect(String(error)).not.toContain("s3cr3t")
      // an error field that is not an OAuth code is left out
      const odd = yield* TokenProvider.makeClientCredentials(credentials).pipe(
        Effect.provide(endpoint(seen, () => new Response(JSON.stringify({ error: "s3cr3t-value is wrong" }), { status: 400 })))
      )
      const second = yield* Effect.fork(Effect.flip(odd.token))
      yield* TestClock.adjust(Duration.seconds(1))
      expect((yield* Fiber.join(second)).description).toBe("token endpoint refused the request")
    }))

  it.effect("concurrent callers share a failed refresh too: one request, and all fail together", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const provider = yield* TokenProvider.makeClientCredentials(credentials).pipe(
        Effect.provide(endpoint(seen, (n) => n === 1 ? new Response("{}", { status: 503 }) : ok(n)))
      )
      const callers = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => Effect.flip(provider.token)), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.seconds(1))
      const errors = yield* Fiber.join(callers)
      expect(errors.map((e) => [e.reason, e.status])).toStrictEqual(Array(5).fill(["Rejected", 503]))
      expect(yield* Ref.get(seen)).toHaveLength(1)
      // a later call asks again
      const later = yield* Effect.fork(provider.token)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(Redacted.value(yield* Fiber.join(later))).toBe("token-2")
    }))

  it.effect("a response that is not a token is a Decode error", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const provider = yield* TokenProvider.makeClientCredentials(credentials).pipe(
        Effect.provide(endpoint(seen, () => new Response("<html>", { status: 200 })))
      )
      const fiber = yield* Effect.fork(Effect.flip(provider.token))
      yield* TestClock.adjust(Duration.seconds(1))
      expect((yield* Fiber.join(fiber)).reason).toBe("Decode")
    }))

  it.effect("a token endpoint that does not answer fails the token with Transport after the timeout (30 s by default); the next call asks again", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      // the first request hangs, the second is answered after 1 s
      const hanging = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request, url) =>
          Effect.gen(function*() {
            const calls = yield* Ref.updateAndGet(seen, (list) => [...list, { url: url.toString(), body: "" }])
            if (calls.length === 1) return yield* Effect.never
            yield* Effect.sleep(Duration.seconds(1))
            return HttpClientResponse.fromWeb(request, ok(calls.length))
          })
        )
      )
      const provider = yield* TokenProvider.makeClientCredentials(credentials).pipe(Effect.provide(hanging))
      const first = yield* Effect.fork(Effect.flip(provider.token))
      yield* TestClock.adjust(Duration.seconds(29))
      expect(first.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Fiber.join(first)).toMatchObject({ _tag: "TokenError", reason: "Transport" })
      const second = yield* Effect.fork(provider.token)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(Redacted.value(yield* Fiber.join(second))).toBe("token-2")
      // a shorter timeout of one's own
      const quick = yield* TokenProvider.makeClientCredentials({ ...credentials, timeout: "500 millis" }).pipe(
        Effect.provide(endpoint(seen, ok))
      )
      const third = yield* Effect.fork(Effect.flip(quick.token))
      yield* TestClock.adjust(Duration.millis(500))
      expect(yield* Fiber.join(third)).toMatchObject({ _tag: "TokenError", reason: "Transport" })
    }))

  it.effect("tokens print redacted", () =>
    Effect.gen(function*() {
      const token = yield* TokenProvider.makeStatic("eyJ.secret.token").token
      expect(String(token)).toBe("<redacted>")
      expect(JSON.stringify({ token })).not.toContain("eyJ")
      expect(Redacted.value(token)).toBe("eyJ.secret.token")
    }))
})
