/**
 * Access tokens for Graph.
 *
 * - `layerClientCredentials` runs the OAuth 2.0 client credentials grant against a configurable
 *   authority. The token is cached until its expiry minus a skew, and concurrent callers share one
 *   refresh.
 * - `layerStatic` serves a fixed token, for tests and the emulator.
 *
 * Tokens and the client secret are `Redacted` throughout: they print as `<redacted>` in logs, spans
 * and errors.
 *
 * @since 0.1.0
 */
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Clock, Config, Context, Duration, Effect, Layer, Option, Redacted, Ref, Schema } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenProviderService {
  /** A valid access token. */
  readonly token: Effect.Effect<Redacted.Redacted<string>, TokenError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenProvider extends Context.Tag("@effect-msgraph/core/TokenProvider")<
  TokenProvider,
  TokenProviderService
>() {}

/**
 * The token endpoint could not be reached, refused the credentials, or answered something that is
 * not a token. Never carries the secret or a token.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenError extends Schema.TaggedError<TokenError>()("TokenError", {
  reason: Schema.Literal("Transport", "Rejected", "Decode"),
  status: Schema.optionalWith(Schema.Number, { exact: true }),
  description: Schema.String
}) {
  override get message() {
    return `token request failed (${this.reason}${this.status === undefined ? "" : ` ${this.status}`}): ${this.description}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace TokenProvider {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface ClientCredentials {
    /** Default `https://login.microsoftonline.com`. */
    readonly authority?: string
    readonly tenantId: string
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
    /** Default `https://graph.microsoft.com/.default`. */
    readonly scope?: string
    /** Refresh this long before expiry. Default 5 minutes. */
    readonly skew?: Duration.DurationInput
  }
}

const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  expires_in: Schema.Union(Schema.Number, Schema.NumberFromString)
})

/**
 * A fixed token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStatic = (token: Redacted.Redacted<string> | string): TokenProviderService => {
  const value = typeof token === "string" ? Redacted.make(token) : token
  return TokenProvider.of({ token: Effect.succeed(value) })
}

/**
 * The client credentials grant, cached until expiry minus the skew. Concurrent callers that find the
 * cache stale wait for one shared refresh.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeClientCredentials = (
  options: TokenProvider.ClientCredentials
): Effect.Effect<TokenProviderService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const authority = (options.authority ?? "https://login.microsoftonline.com").replace(/\/+$/, "")
    const url = `${authority}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`
    const skew = Duration.toMillis(options.skew ?? Duration.minutes(5))
    const cache = yield* Ref.make(Option.none<{ readonly token: Redacted.Redacted<string>; readonly expiresAt: number }>())
    const lock = yield* Effect.makeSemaphore(1)

    const fetch = Effect.gen(function*() {
      const request = HttpClientRequest.post(url).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUrlParams({
          grant_type: "client_credentials",
          client_id: options.clientId,
          client_secret: Redacted.value(options.clientSecret),
          scope: options.scope ?? "https://graph.microsoft.com/.default"
        })
      )
      const response = yield* client.execute(request).pipe(
        Effect.mapError((e) => new TokenError({ reason: "Transport", description: e.reason }))
      )
      if (response.status < 200 || response.status >= 300) {
        return yield* new TokenError({ reason: "Rejected", status: response.status, description: "token endpoint refused the request" })
      }
      const body = yield* HttpClientResponse.schemaBodyJson(TokenResponse)(response).pipe(
        Effect.mapError(() => new TokenError({ reason: "Decode", status: response.status, description: "not a token response" }))
      )
      const now = yield* Clock.currentTimeMillis
      const entry = { token: Redacted.make(body.access_token), expiresAt: now + body.expires_in * 1000 - skew }
      yield* Ref.set(cache, Option.some(entry))
      return entry.token
    }).pipe(Effect.withSpan("TokenProvider.fetch", { attributes: { authority } }))

    const fresh = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      return Option.filter(yield* Ref.get(cache), (entry) => entry.expiresAt > now)
    })

    const token = Effect.flatMap(fresh, (cached) =>
      Option.match(cached, {
        onSome: (entry) => Effect.succeed(entry.token),
        // re-check under the lock: whoever waited behind a refresh uses its result
        onNone: () =>
          lock.withPermits(1)(
            Effect.flatMap(fresh, (again) =>
              Option.match(again, { onSome: (entry) => Effect.succeed(entry.token), onNone: () => fetch }))
          )
      }))
    return TokenProvider.of({ token })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (token: Redacted.Redacted<string> | string): Layer.Layer<TokenProvider> =>
  Layer.succeed(TokenProvider, makeStatic(token))

/**
 * @since 0.1.0
 * @category layers
 */
export const layerClientCredentials = (
  options: TokenProvider.ClientCredentials
): Layer.Layer<TokenProvider, never, HttpClient.HttpClient> => Layer.effect(TokenProvider, makeClientCredentials(options))

/**
 * Reads `MSGRAPH_TENANT_ID`, `MSGRAPH_CLIENT_ID`, `MSGRAPH_CLIENT_SECRET` (as a `Redacted`) and the
 * optional `MSGRAPH_AUTHORITY`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClientCredentialsConfig: Layer.Layer<
  TokenProvider,
  import("effect/ConfigError").ConfigError,
  HttpClient.HttpClient
> = Layer.effect(
  TokenProvider,
  Effect.flatMap(
    Config.all({
      tenantId: Config.string("MSGRAPH_TENANT_ID"),
      clientId: Config.string("MSGRAPH_CLIENT_ID"),
      clientSecret: Config.redacted("MSGRAPH_CLIENT_SECRET"),
      authority: Config.option(Config.string("MSGRAPH_AUTHORITY"))
    }),
    ({ authority, ...rest }) =>
      makeClientCredentials(Option.isSome(authority) ? { ...rest, authority: authority.value } : rest)
  )
)
