/**
 * A sliding-window limiter: in *any* interval of length `window`, at most `limit` units are admitted.
 * This is the shape of Graph's "N requests per W" limits.
 *
 * The window is a conservative approximation of an exact log: the window is cut into `windowSlots`
 * sub-windows (default 20, of width `g = W / slots`); the units admitted in one sub-window form a run
 * dated by the latest of them, counted until that date plus `W`. A unit is therefore counted at least
 * until its exact expiry and at most `g` later, so no interval of length `W` ever holds more than
 * `limit` units; the price is that an admission may come up to `g` later than an exact log would
 * allow (units admitted at one instant leave exactly on time; a window of at most `slots` units is
 * exact). Memory is `O(slots)` per window whatever the limit, which matters with one window per
 * mailbox.
 *
 * Effect's `RateLimiter` is not used: its fixed-window algorithm can admit `2 * limit` within one
 * window (a burst at the end of one window and another at the start of the next), it waits forever
 * when a cost exceeds the limit, and it has no fairness between costs. Here a cost above the limit
 * fails at once with `CostExceedsCapacity`, and waiters are served in order.
 *
 * @since 0.1.0
 */
import { Duration, Effect } from "effect"
import type * as Scope from "effect/Scope"
import { WindowLimit } from "@effect-msgraph/spec/Bucket"
import * as limiter from "./internal/throttle/limiter.js"
import type { Limiter } from "./Limiter.js"
import type { InvalidDemand } from "./ThrottleError.js"

/**
 * Run an effect through the window at cost 1, or at any cost with `withCost`; `take` only waits.
 *
 * @since 0.1.0
 * @category models
 */
export interface SlidingWindow extends Limiter {}

/**
 * @since 0.1.0
 */
export declare namespace SlidingWindow {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    readonly limit: number
    readonly window: Duration.DurationInput
    /** Sub-windows per window (default 20); see the module documentation. */
    readonly windowSlots?: number
  }
}

/**
 * Builds a sliding window. Fails with `InvalidDemand` when the limit or window is not positive.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: SlidingWindow.Options): Effect.Effect<SlidingWindow, InvalidDemand, Scope.Scope> =>
  limiter.make(
    "sliding-window",
    WindowLimit.make({ limit: options.limit, windowMillis: Duration.toMillis(Duration.decode(options.window)) }),
    options.windowSlots === undefined ? {} : { windowSlots: options.windowSlots }
  )
