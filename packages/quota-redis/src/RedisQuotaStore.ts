/**
 * A {@link QuotaStore.QuotaStoreService} on Redis, so that every process sending on behalf of one
 * app shares one quota: Graph counts its limits per app, tenant, mailbox or channel, whatever the
 * number of workers.
 *
 * - `take` is one Lua script over all of a request's buckets (windows, token buckets, concurrency
 *   permits, pauses, lowered limits): all or nothing, answered in one round trip, with the instant to
 *   retry when blocked.
 * - Time is the Redis server's (`TIME`), so processes whose clocks disagree still share one timeline.
 * - Concurrency permits are leases: this store renews the ones it holds, and those of a process that
 *   died come back once their lease expires.
 * - Keys are `{namespace}:<bucket key>`: the hash tag puts all of one namespace's buckets (one app's
 *   quota) in one Redis Cluster slot, which one request's buckets must share for the script to run.
 *   Idle keys expire by themselves.
 * - When Redis cannot be reached or does not answer within `timeoutMillis`, an operation fails with
 *   `QuotaStoreError`. By default the store waits and tries again (nothing is admitted meanwhile);
 *   `onUnavailable: "fallback"` answers from an in-process store instead, with a warning.
 *
 * See docs/distributed.md.
 *
 * @since 0.1.0
 */
import { QuotaStore } from "@effect-msgraph/core"
import { Config, Effect, Layer, Option, Schema } from "effect"
import type * as ConfigError from "effect/ConfigError"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import * as internal from "./internal/redisQuota.js"

/**
 * The Redis store: the `QuotaStore` interface (every operation is a round trip), plus inspection.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisQuotaStore extends QuotaStore.QuotaStoreService {
  /** The adaptive factor of a bucket as Redis holds it now (1 = the catalogue's limit). */
  readonly factor: (key: string) => Effect.Effect<number, QuotaStore.QuotaStoreError>
  /** The Redis key a bucket is stored under. */
  readonly redisKey: (key: string) => string
  /** Extends the leases of the permits this store holds (the store does this every `leaseMillis / 3`). */
  readonly renew: Effect.Effect<void, QuotaStore.QuotaStoreError>
  /** Whether operations are answered by the in-process fallback right now. */
  readonly fallingBack: Effect.Effect<boolean>
}

/**
 * Options that cannot describe a store: a URL that is not `redis://` or `rediss://`, a namespace
 * with a brace, a duration that is not positive. `option` names the field, `detail` says what is
 * wrong with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRedisOptions extends Schema.TaggedError<InvalidRedisOptions>()("InvalidRedisOptions", {
  option: Schema.String,
  detail: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export declare namespace RedisQuotaStore {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options extends QuotaStore.QuotaStore.MemoryOptions {
    /** `redis://[user:password@]host:port[/db]` or `rediss://…` (default `redis://127.0.0.1:6379`). */
    readonly url?: string
    /**
     * A client of your own (a `Cluster`, say) instead of `url`. The store defines its script on it
     * and never closes it.
     */
    readonly client?: Redis | Cluster
    /**
     * The hash tag of every key (default `msgraph`): all buckets of one namespace live in one
     * Cluster slot. Use one namespace per app registration; no braces.
     */
    readonly namespace?: string
    /** How long a concurrency permit is held without renewal (default 30 000 ms). */
    readonly leaseMillis?: number
    /**
     * When a request is short only on concurrency, how soon it looks again (default 50 ms): another
     * process's release cannot be seen otherwise. Releases in this process wake waiters at once.
     */
    readonly permitPollMillis?: number
    /** How long one round trip may take before it counts as a failure (default 1000 ms). */
    readonly timeoutMillis?: number
    /**
     * What a failed operation does (default `"wait"`):
     * - `"wait"`: fail closed. Retry with backoff (100 ms doubling up to 2 s) for up to
     *   `maxWaitMillis`, admitting nothing meanwhile, then fail with `QuotaStoreError`.
     * - `"fallback"`: answer from an in-process store with the same options, logging a warning,
     *   and try Redis again after `fallbackMillis`. Limits are then per process again.
     */
    readonly onUnavailable?: "wait" | "fallback"
    /** With `"wait"`: how long to keep retrying one operation (default: no limit). */
    readonly maxWaitMillis?: number
    /** With `"fallback"`: how long to stay on the in-process store before trying Redis again (default 5000 ms). */
    readonly fallbackMillis?: number
    /**
     * Whose clock dates the buckets (default `"redis"`: the server's `TIME`). `"caller"` uses the
     * `nowMillis` each operation is given: for tests on virtual time only. Keys then get no expiry
     * (Redis would expire them by its own clock, dropping buckets the caller's clock still counts),
     * so idle buckets stay until a later write finds them idle.
     */
    readonly clock?: "redis" | "caller"
  }
}

/**
 * Builds a store; the scope owns its connection (unless `client` was given), its lease renewal,
 * and gives back the permits it still holds when it closes. An unreachable Redis does not fail
 * construction: operations fail (or wait, or fall back) until it answers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: RedisQuotaStore.Options = {}
): Effect.Effect<RedisQuotaStore, InvalidRedisOptions, Scope.Scope> =>
  Effect.flatMap(
    Effect.mapError(internal.validate(options), (e) => new InvalidRedisOptions(e)),
    (settings) => internal.make(settings)
  )

/**
 * Provides a Redis store as the `QuotaStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RedisQuotaStore.Options = {}): Layer.Layer<QuotaStore.QuotaStore, InvalidRedisOptions> =>
  Layer.scoped(QuotaStore.QuotaStore, make(options))

/**
 * A Redis URL as logs may show it: scheme, host and port, without user, password or database.
 *
 * @since 0.1.0
 * @category utils
 */
export const redact = (url: string): string => internal.redactedTarget(url)

/**
 * Whether `url` is a URL this store can connect to (`redis://` or `rediss://` with a host).
 *
 * @since 0.1.0
 * @category utils
 */
export const isRedisUrl = (url: string): boolean => internal.isRedisUrl(url)

/**
 * The settings {@link layerConfig} reads: `MSGRAPH_REDIS_URL` (default `redis://127.0.0.1:6379`).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Option.Option<string>> = Config.option(Config.string("MSGRAPH_REDIS_URL"))

/**
 * {@link layer} with the URL from `MSGRAPH_REDIS_URL`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<RedisQuotaStore.Options, "url" | "client"> = {}
): Layer.Layer<QuotaStore.QuotaStore, InvalidRedisOptions | ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(config, (url) => layer(Option.isSome(url) ? { ...options, url: url.value } : options))
  )
