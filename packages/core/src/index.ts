/**
 * @effect-msgraph/core: Graph-valid JSON batches, dependency planning, limit costing and throttling.
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
export * as GraphError from "./GraphError.js"

/**
 * @since 0.1.0
 */
export * as ValidationError from "./ValidationError.js"

/**
 * @since 0.1.0
 */
export * as BatchBuilder from "./BatchBuilder.js"

/**
 * @since 0.1.0
 */
export * as Workload from "./Workload.js"

/**
 * @since 0.1.0
 */
export * as DependencyResolver from "./DependencyResolver.js"

/**
 * @since 0.1.0
 */
export * as LimitCatalog from "./LimitCatalog.js"

/**
 * @since 0.1.0
 */
export * as CostCalculator from "./CostCalculator.js"

/**
 * @since 0.1.0
 */
export * as Cloud from "./Cloud.js"

/**
 * @since 0.1.0
 */
export * as TokenProvider from "./TokenProvider.js"

/**
 * @since 0.1.0
 */
export * as GraphClientError from "./GraphClientError.js"

/**
 * @since 0.1.0
 */
export * as Admission from "./Admission.js"

/**
 * @since 0.1.0
 */
export * as GraphClient from "./GraphClient.js"

/**
 * @since 0.1.0
 */
export * as OutcomeRecord from "./OutcomeRecord.js"

/**
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.js"

/**
 * @since 0.1.0
 */
export * as ThrottleError from "./ThrottleError.js"

/**
 * @since 0.1.0
 */
export * as QuotaStore from "./QuotaStore.js"

/**
 * @since 0.1.0
 */
export * as SlidingWindow from "./SlidingWindow.js"

/**
 * @since 0.1.0
 */
export * as TokenBucket from "./TokenBucket.js"

/**
 * @since 0.1.0
 */
export * as ConcurrencyLimiter from "./ConcurrencyLimiter.js"

/**
 * @since 0.1.0
 */
export * as ThrottlePriority from "./ThrottlePriority.js"

/**
 * @since 0.1.0
 */
export * as ThrottleFeedback from "./ThrottleFeedback.js"

/**
 * @since 0.1.0
 */
export * as Throttler from "./Throttler.js"

/**
 * @since 0.1.0
 */
export * as VirtualClock from "./VirtualClock.js"
