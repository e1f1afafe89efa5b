/**
 * The contract between the limit catalogue, the cost calculator, the throttler and the emulator:
 * a *bucket* is one documented limit applied to one concrete key (an app, a tenant, a mailbox,
 * a channel, ...), and a *demand* is how much of that bucket one request consumes.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * "N units in any interval of `windowMillis`": the documented "N requests per W" limits.
 *
 * @since 0.1.0
 * @category models
 */
export class WindowLimit extends Schema.TaggedClass<WindowLimit>()("Window", {
  limit: Schema.Number,
  windowMillis: Schema.Number
}) {}

/**
 * A token bucket of `capacity` units refilled continuously at `refillPerSecond`: the identity and
 * access resource-unit model.
 *
 * @since 0.1.0
 * @category models
 */
export class TokenBucketLimit extends Schema.TaggedClass<TokenBucketLimit>()("TokenBucket", {
  capacity: Schema.Number,
  refillPerSecond: Schema.Number
}) {}

/**
 * At most `permits` requests in flight at once ("four concurrent requests").
 *
 * @since 0.1.0
 * @category models
 */
export class ConcurrencyLimit extends Schema.TaggedClass<ConcurrencyLimit>()("Concurrency", {
  permits: Schema.Number
}) {}

/**
 * How a limit is enforced.
 *
 * @since 0.1.0
 * @category models
 */
export const Limit = Schema.Union(WindowLimit, TokenBucketLimit, ConcurrencyLimit)

/**
 * @since 0.1.0
 * @category models
 */
export type Limit = typeof Limit.Type

/**
 * Whom a limit is counted against, in the throttling page's vocabulary:
 *
 * - `app`: per app across all tenants; `tenant`: per tenant (all apps); `appTenant`: per app per tenant;
 * - `appMailbox`: per app per mailbox; `mailbox`: per mailbox, whichever app calls (Outlook);
 * - `user`: per user (all apps); `appUser`: per app per user;
 * - per resource: `team`, `channel`, `chat`, `callRecord`, `subject`, and `resource` for the
 *   remaining per-resource limits (an email, URL or file).
 *
 * @since 0.1.0
 * @category models
 */
export const Scope = Schema.Literal(
  "app",
  "tenant",
  "appTenant",
  "appMailbox",
  "mailbox",
  "user",
  "appUser",
  "team",
  "channel",
  "chat",
  "callRecord",
  "subject",
  "resource"
)

/**
 * @since 0.1.0
 * @category models
 */
export type Scope = typeof Scope.Type

/**
 * What a limit counts: requests, write requests, resource units, bytes uploaded, concurrent
 * requests or meetings. A limit counting `writeRequests` is a *write quota*.
 *
 * @since 0.1.0
 * @category models
 */
export const Measure = Schema.Literal(
  "requests",
  "writeRequests",
  "resourceUnits",
  "bytesUploaded",
  "concurrentRequests",
  "meetings"
)

/**
 * @since 0.1.0
 * @category models
 */
export type Measure = typeof Measure.Type

/**
 * How a request's cost is computed: 1 (`request`), the identity resource units, the identity write
 * cost, or the body size.
 *
 * @since 0.1.0
 * @category models
 */
export const CostBasis = Schema.Literal("request", "identityResourceUnits", "identityWriteCost", "bodyBytes")

/**
 * @since 0.1.0
 * @category models
 */
export type CostBasis = typeof CostBasis.Type

/**
 * The family of services whose limits behave alike on the wire, as the throttling pages document
 * them:
 *
 * - `global`: the global limit every request counts against;
 * - `identityAndAccess`: the identity and access service limits, whose responses carry
 *   `x-ms-throttle-scope`, `x-ms-throttle-information`, `x-ms-resource-unit` and
 *   `x-ms-throttle-limit-percentage`, and whose requests may carry `x-ms-throttle-priority`;
 * - `files`: SharePoint and OneDrive (files and lists), which send the `RateLimit-*` headers;
 * - `outlook`: the Outlook service;
 * - `other`: every other service.
 *
 * @since 0.1.0
 * @category models
 */
export const Family = Schema.Literal("global", "identityAndAccess", "files", "outlook", "other")

/**
 * @since 0.1.0
 * @category models
 */
export type Family = typeof Family.Type

/**
 * One request's demand on one bucket.
 *
 * - `key` names the bucket instance, e.g. `outlook/mailbox/alice@contoso.com`; two demands with the
 *   same key share state.
 * - `entryId` is the catalogue entry the bucket was made from; `service` and `scope` are copied from it
 *   so that server feedback (`x-ms-throttle-scope`) can be matched without the catalogue.
 * - `cost` is in the entry's measure (requests, resource units, bytes, permits).
 * - `retryAfter` says whether a 429 from this limit is documented to carry `Retry-After`.
 *
 * What the catalogue knows about the limit travels with the demand, so that no one has to read it
 * from names:
 *
 * - `measure` and `costBasis`: what the limit counts and how a request's cost was computed
 *   (`concurrentRequests` and `request` for a concurrency limit);
 * - `writeQuota`: whether the limit counts write requests only (its measure is `writeRequests`);
 *   a `Write` `x-ms-throttle-scope` is about these;
 * - `family`: the {@link Family} of the entry's service;
 * - `batchWithinCap`: whether the service runs a parallel batch's items within the limit's
 *   concurrency cap (Outlook runs at most four of a batch's items at a time), so that a batch
 *   never needs more permits at once than the cap.
 *
 * These default to a plain request-counted limit of no particular family (`requests`, `request`,
 * `false`, `other`, `false`) for demands made outside the catalogue.
 *
 * @since 0.1.0
 * @category models
 */
export class Demand extends Schema.Class<Demand>("@effect-msgraph/spec/Bucket/Demand")({
  key: Schema.String,
  entryId: Schema.String,
  service: Schema.String,
  scope: Scope,
  limit: Limit,
  cost: Schema.Number,
  retryAfter: Schema.Boolean,
  measure: Schema.optionalWith(Measure, { default: () => "requests" as const }),
  costBasis: Schema.optionalWith(CostBasis, { default: () => "request" as const }),
  writeQuota: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  family: Schema.optionalWith(Family, { default: () => "other" as const }),
  batchWithinCap: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}
