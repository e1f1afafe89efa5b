/**
 * @effect-msgraph/core: Graph-valid JSON batches, dependency planning, limit costing and throttling.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Bucket from "@effect-msgraph/spec/Bucket"

/**
 * @since 0.1.0
 */
export * as BatchRequest from "@effect-msgraph/spec/BatchRequest"

/**
 * @since 0.1.0
 */
export * as BatchResponse from "@effect-msgraph/spec/BatchResponse"

/**
 * @since 0.1.0
 */
export * as GraphError from "@effect-msgraph/spec/GraphError"

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
export * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"

/**
 * @since 0.1.0
 */
export * as CostCalculator from "@effect-msgraph/spec/CostCalculator"

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
export * as RetryAfter from "@effect-msgraph/spec/RetryAfter"

/**
 * @since 0.1.0
 */
export * as ThrottleError from "./ThrottleError.js"

/**
 * @since 0.1.0
 */
export * as Limiter from "./Limiter.js"

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
