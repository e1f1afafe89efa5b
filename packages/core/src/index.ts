/**
 * @effect-msgraph/core: Graph-valid JSON batches, dependency planning, limit costing and throttling.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Bucket from "./Bucket.js"
