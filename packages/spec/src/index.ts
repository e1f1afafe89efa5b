/**
 * @effect-msgraph/spec: what Microsoft documents about Graph's `$batch` endpoint and its limits. It
 * changes when Microsoft's pages change, and depends on nothing of the client or the emulator.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Bucket from "./Bucket.js"

/**
 * @since 0.1.0
 */
export * as BatchRequest from "./BatchRequest.js"

/**
 * @since 0.1.0
 */
export * as BatchResponse from "./BatchResponse.js"

/**
 * @since 0.1.0
 */
export * as Body from "./Body.js"

/**
 * @since 0.1.0
 */
export * as GraphError from "./GraphError.js"

/**
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.js"

/**
 * @since 0.1.0
 */
export * as LimitCatalog from "./LimitCatalog.js"

/**
 * @since 0.1.0
 */
export * as CostCalculator from "./CostCalculator.js"
