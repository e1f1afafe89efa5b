/**
 * Access tokens for Graph.
 *
 * - `layerClientCredentials` runs the OAuth 2.0 client credentials grant against the login host of
 *   a cloud (`Cloud`), asking for a token for that cloud's Graph; the authority can be overridden,
 *   and must be `https` (plain `http` only on a loopback address). The token is cached until its
 *   expiry minus a skew, at most half its lifetime, and concurrent callers share one refresh.
 * - `layerStatic` serves a fixed token, for tests and the emulator.
 *
 * Tokens and the client secret are `Redacted` throughout: they print as `<redacted>` in logs, spans
 * and errors.
 *
 * @since 0.1.0
 */
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Cause, Clock, Config, ConfigError, Context, Duration, Effect, Either, Layer, Option, Redacted, Ref, Schema } from "effect"
import * as Cloud from "./Cloud.js"

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
 * The authority given is not a URL, or is not `https` and not on a loopback address: the client
 * secret would travel in clear. Raised before anything is sent; the provider is not built.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAuthority extends Schema.TaggedError<InvalidAuthority>()("InvalidAuthority", {
  authority: Schema.String,
  reason: Schema.Literal("NotAUrl", "NotHttps")
}) {
  override get message() {
    return this.reason === "NotAUrl"
      ? `the token authority is not a URL: ${JSON.stringify(this.authority)}`
      : `the token authority must be https, or http on a loopback address: ${JSON.stringify(this.authority)}`
  }
}

/**
 * The authority as a URL without a trailing slash, or why it cannot be one.
 */
const checkAuthority = (authority: string): Either.Either<string, InvalidAuthority> => {
  let url: URL
  try {
    url = new URL(authority)
  } catch {
    return Either.left(new InvalidAuthority({ authority, reason: "NotAUrl" }))
  }
  return Cloud.isSecure(url)
    ? Either.right(authority.replace(/\/+$/, ""))
    : Either.left(new InvalidAuthority({ authority, reason: "NotHttps" }))
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
    /**
     * Picks the default authority and scope (`Cloud.clouds`). Default `global`.
     */
    readonly cloud?: Cloud.Cloud
    /**
     * The login host. Default: the cloud's (`https://login.microsoftonline.com` for `global`).
     * Must be `https`, or `http` on a loopback address.
     */
    readonly authority?: string
    readonly tenantId: string
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
    /** Default: the cloud's (`https://graph.microsoft.com/.default` for `global`). */
    readonly scope?: string
    /**
     * Refresh this long before expiry. Default 5 minutes. For a token whose lifetime is shorter
     * than twice the skew, half its lifetime is used instead.
     */
    readonly skew?: Duration.DurationInput
    /**
     * How long one token request may take, from sending it to the last byte of the answer. A
     * request that takes longer fails with `TokenError` (`Transport`), and the next call asks
     * again. Default 30 seconds.
     */
    readonly timeout?: Duration.DurationInput
  }
}

const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  expires_in: Schema.Union(Schema.Number, Schema.NumberFromString)
})

/**
 * What a refusal says that is safe to show: the OAuth error code (RFC 6749, section 5.2: lowercase
 * letters and underscores) and Entra's numeric AADSTS codes, as `: invalid_client (AADSTS7000215)`.
 * The free-text description is left out: it may echo what was sent.
 */
const refusalCodes = (body: unknown): string => {
  if (typeof body !== "object" || body === null) return ""
  const { error, error_codes } = body as { readonly error?: unknown; readonly error_codes?: unknown }
  const code = typeof error === "string" && /^[a-z_]{1,64}$/.test(error) ? error : undefined
  const numbers = Array.isArray(error_codes)
    ? error_codes.filter((n): n is number => Number.isSafeInteger(n) && n >= 0).slice(0, 4).map((n) => `AADSTS${n}`)
    : []
  if (code === undefined && numbers.length === 0) return ""
  return `: ${[code, numbers.length > 0 ? `(${numbers.join(", ")})` : undefined].filter((p) => p !== undefined).join(" ")}`
}

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
 * How long before expiry a token is refreshed: the skew, but never more than half the token's
 * lifetime, so that a short-lived token is still reused for half of it.
 */
const refreshMargin = (skewMillis: number, lifetimeMillis: number): number =>
  Math.min(skewMillis, Math.max(0, lifetimeMillis) / 2)

/**
 * The client credentials grant, cached until expiry minus the skew (at most half the token's
 * lifetime). Concurrent callers that find the cache stale wait for one shared refresh. Fails with
 * `InvalidAuthority`, before anything is sent, when the authority is not an `https` URL (or `http`
 * on a loopback address).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeClientCredentials = (
  options: TokenProvider.ClientCredentials
): Effect.Effect<TokenProviderService, InvalidAuthority, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const cloud = Cloud.clouds[options.cloud ?? "global"]
    const authority = yield* checkAuthority(options.authority ?? cloud.authority)
    const url = `${authority}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`
    const skew = Duration.toMillis(options.skew ?? Duration.minutes(5))
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const cache = yield* Ref.make(Option.none<{ readonly token: Redacted.Redacted<string>; readonly expiresAt: number }>())
    const lock = yield* Effect.makeSemaphore(1)

    const exchange = Effect.gen(function*() {
      const request = HttpClientRequest.post(url).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUrlParams({
          grant_type: "client_credentials",
          client_id: options.clientId,
          client_secret: Redacted.value(options.clientSecret),
          scope: options.scope ?? cloud.scope
        })
      )
      const response = yield* client.execute(request).pipe(
        Effect.mapError((e) => new TokenError({ reason: "Transport", description: e.reason }))
      )
      if (response.status < 200 || response.status >= 300) {
        const refusal = yield* Effect.orElseSucceed(response.json, () => undefined)
        return yield* new TokenError({
          reason: "Rejected",
          status: response.status,
          description: `token endpoint refused the request${refusalCodes(refusal)}`
        })
      }
      const body = yield* HttpClientResponse.schemaBodyJson(TokenResponse)(response).pipe(
        Effect.mapError(() => new TokenError({ reason: "Decode", status: response.status, description: "not a token response" }))
      )
      return body
    })

    // a login host that never answers must not hold every batch waiting for a token
    const fetch = Effect.gen(function*() {
      const body = yield* Effect.timeoutFail(exchange, {
        duration: timeout,
        onTimeout: () => new TokenError({ reason: "Transport", description: `no answer within ${Duration.format(timeout)}` })
      })
      const now = yield* Clock.currentTimeMillis
      const lifetime = body.expires_in * 1000
      const entry = { token: Redacted.make(body.access_token), expiresAt: now + lifetime - refreshMargin(skew, lifetime) }
      yield* Ref.set(cache, Option.some(entry))
      return entry.token
    }).pipe(Effect.withSpan("TokenProvider.fetch", { attributes: { authority } }))

    const fresh = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      return Option.filter(yield* Ref.get(cache), (entry) => entry.expiresAt > now)
    })

    // refreshes ended so far, and how the last one failed (if it did): a caller that waited behind
    // a failed refresh shares its failure instead of asking again, one after another
    let refreshes = 0
    let lastFailure: TokenError | undefined
    const refresh = Effect.tapErrorCause(
      Effect.tap(fetch, () => {
        refreshes++
        lastFailure = undefined
      }),
      (cause) =>
        Effect.sync(() => {
          const failure = Cause.failureOption(cause)
          if (Option.isNone(failure)) return
          refreshes++
          lastFailure = failure.value
        })
    )

    const token = Effect.flatMap(fresh, (cached) =>
      Option.match(cached, {
        onSome: (entry) => Effect.succeed(entry.token),
        // re-check under the lock: whoever waited behind a refresh uses its result
        onNone: () =>
          Effect.suspend(() => {
            const before = refreshes
            return lock.withPermits(1)(
              Effect.flatMap(fresh, (again) =>
                Option.match(again, {
                  onSome: (entry) => Effect.succeed(entry.token),
                  onNone: () => refreshes !== before && lastFailure !== undefined ? Effect.fail(lastFailure) : refresh
                }))
            )
          })
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
): Layer.Layer<TokenProvider, InvalidAuthority, HttpClient.HttpClient> =>
  Layer.effect(TokenProvider, makeClientCredentials(options))

/**
 * The client credentials read from the environment: `MSGRAPH_TENANT_ID`, `MSGRAPH_CLIENT_ID`,
 * `MSGRAPH_CLIENT_SECRET` (as a `Redacted`), and the optional `MSGRAPH_CLOUD` (`global`, `usGov`,
 * `usGovDod`, `china`; left out when unset) and `MSGRAPH_AUTHORITY`. An authority that is not an
 * `https` URL (or `http` on a loopback address) is a `ConfigError` naming `MSGRAPH_AUTHORITY`.
 *
 * @since 0.1.0
 * @category config
 */
export const clientCredentialsConfig: Config.Config<TokenProvider.ClientCredentials> = Config.all({
  tenantId: Config.string("MSGRAPH_TENANT_ID"),
  clientId: Config.string("MSGRAPH_CLIENT_ID"),
  clientSecret: Config.redacted("MSGRAPH_CLIENT_SECRET"),
  cloud: Config.option(Cloud.config()),
  authority: Config.option(
    Config.string("MSGRAPH_AUTHORITY").pipe(
      Config.mapOrFail((authority) =>
        Either.match(checkAuthority(authority), {
          onLeft: (error) => Either.left(ConfigError.InvalidData([], error.message)),
          onRight: () => Either.right(authority)
        })
      )
    )
  )
}).pipe(
  Config.map(({ authority, cloud, ...rest }): TokenProvider.ClientCredentials => ({
    ...rest,
    ...(Option.isSome(cloud) ? { cloud: cloud.value } : {}),
    ...(Option.isSome(authority) ? { authority: authority.value } : {})
  }))
)

/**
 * The client credentials grant configured by `clientCredentialsConfig`: the cloud picks the login
 * host and the scope, and `MSGRAPH_AUTHORITY` overrides the login host.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClientCredentialsConfig: Layer.Layer<
  TokenProvider,
  ConfigError.ConfigError,
  HttpClient.HttpClient
> = Layer.effect(
  TokenProvider,
  Effect.flatMap(clientCredentialsConfig, (options) =>
    makeClientCredentials(options).pipe(
      // the configuration checked the authority already; this keeps the error in the config's terms
      Effect.mapError((error) => ConfigError.InvalidData(["MSGRAPH_AUTHORITY"], error.message))
    ))
)
