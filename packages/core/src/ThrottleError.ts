/**
 * Typed errors raised at admission, before anything waits. A demand the limiter could never satisfy
 * (a cost above the bucket's capacity, or a malformed cost or limit) fails at once instead of waiting
 * forever, and names the bucket it was made for.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A demand costs more than its bucket can ever hold: more than `limit` units for a sliding window,
 * more than `capacity` for a token bucket, more than `permits` for a concurrency limit. Waiting
 * would never help, so admission fails immediately.
 *
 * @since 0.1.0
 * @category errors
 */
export class CostExceedsCapacity extends Schema.TaggedError<CostExceedsCapacity>()("CostExceedsCapacity", {
  key: Schema.String,
  entryId: Schema.String,
  cost: Schema.Number,
  capacity: Schema.Number
}) {
  override get message() {
    return `a demand on ${this.key} costs ${this.cost}, above the bucket's capacity of ${this.capacity}`
  }
}

/**
 * A demand the limiter cannot interpret. `reason` says which part is wrong:
 *
 * - `CostNotFinite`: the cost is `NaN` or infinite;
 * - `CostNegative`: the cost is below zero;
 * - `LimitNotPositive`: the limit, window, capacity, refill rate or permit count is not a positive
 *   finite number.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidDemand extends Schema.TaggedError<InvalidDemand>()("InvalidDemand", {
  key: Schema.String,
  entryId: Schema.String,
  reason: Schema.Literal("CostNotFinite", "CostNegative", "LimitNotPositive")
}) {
  override get message() {
    return `the demand on ${this.key} (${this.entryId}) is invalid: ${this.reason}`
  }
}

/**
 * Every error admission can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export const ThrottleError = Schema.Union(CostExceedsCapacity, InvalidDemand)

/**
 * @since 0.1.0
 * @category errors
 */
export type ThrottleError = typeof ThrottleError.Type
