/**
 * What the standalone limiters (`SlidingWindow`, `TokenBucket`, `ConcurrencyLimiter`) have in
 * common: each is one bucket with its own in-memory store and a first-come-first-served queue, used
 * to wrap an effect or to wait for units.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { ThrottleError } from "./ThrottleError.js"

/**
 * A limiter: call it on an effect to run that effect once one unit is admitted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limiter {
  /** Runs `self` once one unit is admitted (a concurrency permit is held until `self` ends). */
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ThrottleError, R>
  /** Runs `self` once `cost` units are admitted. */
  readonly withCost: (cost: number) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ThrottleError, R>
  /** Waits until `cost` units (default 1) are admitted, and takes them. */
  readonly take: (cost?: number) => Effect.Effect<void, ThrottleError>
}
