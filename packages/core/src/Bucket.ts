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
 * One request's demand on one bucket.
 *
 * - `key` names the bucket instance, e.g. `outlook/mailbox/alice@contoso.com`; two demands with the
 *   same key share state.
 * - `entryId` is the catalogue entry the bucket was made from; `service` and `scope` are copied from it
 *   so that server feedback (`x-ms-throttle-scope`) can be matched without the catalogue.
 * - `cost` is in the entry's measure (requests, resource units, bytes, permits).
 * - `retryAfter` says whether a 429 from this limit is documented to carry `Retry-After`.
 *
 * @since 0.1.0
 * @category models
 */
export class Demand extends Schema.Class<Demand>("@effect-msgraph/core/Bucket/Demand")({
  key: Schema.String,
  entryId: Schema.String,
  service: Schema.String,
  scope: Scope,
  limit: Limit,
  cost: Schema.Number,
  retryAfter: Schema.Boolean
}) {}
