/**
 * A token-bucket limiter, the identity and access service's resource-unit model: the bucket holds
 * `capacity` units (the quota), starts full, and refills continuously at `refillPerSecond` up to
 * `capacity`. A request of cost `c` is admitted once `c` units are in the bucket, and takes them.
 * Over any interval of length `t`, at most `capacity + refillPerSecond * t` units are admitted.
 *
 * Effect's `RateLimiter` (token-bucket algorithm) is not used: it waits forever when a cost exceeds
 * the limit and has no fairness between costs. Here a cost above `capacity` fails at once with
 * `CostExceedsCapacity`, and waiters are served in order (a costly waiter is not overtaken by
 * cheaper latecomers).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type * as Scope from "effect/Scope"
import { TokenBucketLimit } from "@effect-msgraph/spec/Bucket"
import * as limiter from "./internal/throttle/limiter.js"
import type { Limiter } from "./Limiter.js"
import type { InvalidDemand } from "./ThrottleError.js"

/**
 * Run an effect through the bucket at cost 1, or at any cost with `withCost`; `take` only waits.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenBucket extends Limiter {}

/**
 * @since 0.1.0
 */
export declare namespace TokenBucket {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    readonly capacity: number
    readonly refillPerSecond: number
  }
}

/**
 * Builds a token bucket. Fails with `InvalidDemand` when capacity or refill rate is not positive.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: TokenBucket.Options): Effect.Effect<TokenBucket, InvalidDemand, Scope.Scope> =>
  limiter.make("token-bucket", TokenBucketLimit.make({ capacity: options.capacity, refillPerSecond: options.refillPerSecond }))
