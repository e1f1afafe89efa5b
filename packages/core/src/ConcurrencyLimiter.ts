/**
 * A concurrency limiter: at most `permits` units in flight at once ("four concurrent requests"). An
 * effect takes its cost in permits before it starts and gives them back when it completes, fails or
 * is interrupted.
 *
 * Effect's `Semaphore` has the same permit semantics but waits forever for more permits than exist;
 * here a cost above `permits` fails at once with `CostExceedsCapacity`, and waiters are served in
 * order.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type * as Scope from "effect/Scope"
import { ConcurrencyLimit } from "@effect-msgraph/spec/Bucket"
import * as limiter from "./internal/throttle/limiter.js"
import type { Limiter } from "./Limiter.js"
import type { InvalidDemand } from "./ThrottleError.js"

/**
 * Run an effect holding one permit, or `cost` permits with `withCost`. `take` acquires permits
 * without giving them back, so it is only useful for tests and hand-over protocols.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConcurrencyLimiter extends Limiter {}

/**
 * @since 0.1.0
 */
export declare namespace ConcurrencyLimiter {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    readonly permits: number
  }
}

/**
 * Builds a concurrency limiter. Fails with `InvalidDemand` when `permits` is not positive.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ConcurrencyLimiter.Options
): Effect.Effect<ConcurrencyLimiter, InvalidDemand, Scope.Scope> =>
  limiter.make("concurrency", ConcurrencyLimit.make({ permits: options.permits }))
