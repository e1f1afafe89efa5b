/**
 * Request priority, after the identity and access service's `x-ms-throttle-priority` request header.
 *
 * The documentation lists three values: `Low` ("throttling this request doesn't cause user-visible
 * failures"), `Normal` (the default when the header is absent or has any other value) and `High`
 * ("throttling this request causes user-visible failures"; recommended only for requests a user
 * initiated). "Should requests be throttled, low priority requests will be throttled first, normal
 * priority requests second, and high priority requests last. Using the priority request header does
 * not change the limits."
 *
 * The same three levels order the `Throttler`'s own queue for every request, whatever its service.
 * The header itself is documented only for the identity and access service, so {@link headersFor}
 * adds it only to requests with an identity and access demand.
 *
 * @since 0.1.0
 */
import type { Demand } from "@effect-msgraph/spec/Bucket"
import type { Priority } from "./Workload.js"

/**
 * The priority a workload request may carry (`Workload.Priority`): `high`, `normal` or `low`.
 *
 * @since 0.1.0
 * @category models
 */
export type { Priority } from "./Workload.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const headerName = "x-ms-throttle-priority"

/**
 * The header values, spelled as the documentation lists them.
 *
 * @since 0.1.0
 * @category constants
 */
export const headerValue: Readonly<Record<Priority, string>> = { high: "High", normal: "Normal", low: "Low" }

/**
 * The queue level of a priority: 0 for high, 1 for normal, 2 for low.
 *
 * @since 0.1.0
 * @category combinators
 */
export const level = (priority: Priority | undefined): number =>
  priority === "high" ? 0 : priority === "low" ? 2 : 1

/**
 * Whether a demand is on an identity and access service limit (the `Identity and access service
 * limits` section of the throttling-limits page, whose request headers include
 * `x-ms-throttle-priority`): its `family` is `identityAndAccess`, as the catalogue declares for the
 * `identityAccess` service. The "reports", "data policy operation", "identity protection" and
 * "identity providers" sections are separate services and do not document the header.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isIdentityAndAccess = (demand: Pick<Demand, "family">): boolean => demand.family === "identityAndAccess"

// shared and frozen: `headersFor` runs once per admitted request
const noHeaders: Readonly<Record<string, string>> = Object.freeze({})
const withPriority: Readonly<Record<Priority, Readonly<Record<string, string>>>> = {
  high: Object.freeze({ [headerName]: headerValue.high }),
  normal: Object.freeze({ [headerName]: headerValue.normal }),
  low: Object.freeze({ [headerName]: headerValue.low })
}

/**
 * The headers to add to an outgoing request: `x-ms-throttle-priority` when the caller gave a
 * priority and the request has an identity and access demand, nothing otherwise.
 *
 * @since 0.1.0
 * @category combinators
 */
export const headersFor = (
  priority: Priority | undefined,
  demands: Iterable<Pick<Demand, "family">>
): Readonly<Record<string, string>> => {
  if (priority === undefined) return noHeaders
  for (const demand of demands) {
    if (isIdentityAndAccess(demand)) return withPriority[priority]
  }
  return noHeaders
}

/**
 * `headers` with {@link headersFor} merged in. An `x-ms-throttle-priority` header the caller already
 * set (in any case) is left alone.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withHeader = (
  headers: Readonly<Record<string, string>> | undefined,
  priority: Priority | undefined,
  demands: Iterable<Pick<Demand, "family">>
): Readonly<Record<string, string>> => {
  const extra = headersFor(priority, demands)
  const base = headers ?? {}
  if (!(headerName in extra)) return base
  for (const key in base) if (key.toLowerCase() === headerName) return base
  return { ...base, ...extra }
}
