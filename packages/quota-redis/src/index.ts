/**
 * @effect-msgraph/quota-redis: one quota shared by many processes, on Redis.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as RedisQuotaStore from "./RedisQuotaStore.js"
