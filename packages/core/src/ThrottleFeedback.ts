/**
 * What a response says about throttling, read from its status and headers.
 *
 * Graph's signals, as documented:
 *
 * - `429 Too Many Requests`, with `Retry-After` (seconds; decimal seconds in an older version of the
 *   guidance; an HTTP-date is also accepted) except for the services documented to send none
 *   (identity and access data policy operations, identity protection and conditional access,
 *   OneNote);
 * - on identity and access responses: `x-ms-throttle-scope`
 *   (`<Scope>/<Limit>/<ApplicationId>/<TenantId|UserId|ResourceId>`) and `x-ms-throttle-information`
 *   (a diagnostic reason) on throttled responses; `x-ms-resource-unit` (the resource units a request
 *   used) and `x-ms-throttle-limit-percentage` (0.8 to 1.8, sent only above 0.8 of the limit) on
 *   regular responses;
 * - `503 Service Unavailable`, which "may" carry `Retry-After`;
 * - `509 Bandwidth Limit Exceeded` ("your app has been throttled for exceeding the maximum bandwidth
 *   cap"), treated like a 429;
 * - the `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` headers some services send
 *   ahead of throttling.
 *
 * {@link implicated} decides which of a request's buckets a throttled response is about.
 *
 * @since 0.1.0
 */
import { Either, Option } from "effect"
import * as RetryAfter from "@effect-msgraph/spec/RetryAfter"
import type { Family, Scope as BucketScope } from "@effect-msgraph/spec/Bucket"

/**
 * A response as far as throttling is concerned: a batch item or a plain HTTP response.
 *
 * @since 0.1.0
 * @category models
 */
export interface Response {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * A parsed `x-ms-throttle-scope`.
 *
 * - `scope`: `Tenant_Application` (all requests for a tenant from this application), `Tenant` (all
 *   requests for the tenant, any application) or `Application` (all requests from this application);
 * - `limit`: `Read` (GET), `Write` (POST, PATCH, PUT, DELETE, ...) or `ReadWrite` (any);
 * - `applicationId` and `resourceId` (a tenant, user or resource id) as sent.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThrottleScope {
  readonly scope: "Tenant_Application" | "Tenant" | "Application"
  readonly limit: "Read" | "Write" | "ReadWrite"
  readonly applicationId: string
  readonly resourceId: string
}

/**
 * `RateLimit-Limit`, `RateLimit-Remaining` and (optionally) `RateLimit-Reset`, in seconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitHeaders {
  readonly limit: number
  readonly remaining: number
  readonly resetSeconds: Option.Option<number>
}

/**
 * Everything a response says about throttling.
 *
 * @since 0.1.0
 * @category models
 */
export interface Signals {
  readonly status: number
  /** 429, or 509 (bandwidth). */
  readonly throttled: boolean
  /** 503. */
  readonly unavailable: boolean
  /** 2xx. */
  readonly succeeded: boolean
  readonly retryAfter: Option.Option<RetryAfter.RetryAfter>
  readonly scope: Option.Option<ThrottleScope>
  /** `x-ms-throttle-information`, for diagnostics only. */
  readonly information: Option.Option<string>
  /** `x-ms-throttle-limit-percentage`, as a fraction of the limit (0.8 to 1.8). */
  readonly limitPercentage: Option.Option<number>
  /** `x-ms-resource-unit`. */
  readonly resourceUnits: Option.Option<number>
  readonly rateLimit: Option.Option<RateLimitHeaders>
}

/**
 * @since 0.1.0
 * @category constants
 */
export const headerNames = {
  scope: "x-ms-throttle-scope",
  information: "x-ms-throttle-information",
  limitPercentage: "x-ms-throttle-limit-percentage",
  resourceUnit: "x-ms-resource-unit",
  rateLimitLimit: "RateLimit-Limit",
  rateLimitRemaining: "RateLimit-Remaining",
  rateLimitReset: "RateLimit-Reset"
} as const

// the headers `fromResponse` reads, by slot
const RETRY_AFTER = 0
const SCOPE = 1
const INFORMATION = 2
const LIMIT_PERCENTAGE = 3
const RESOURCE_UNIT = 4
const RATE_LIMIT_LIMIT = 5
const RATE_LIMIT_REMAINING = 6
const RATE_LIMIT_RESET = 7
const slotNames: ReadonlyArray<string> = [
  RetryAfter.headerName,
  headerNames.scope,
  headerNames.information,
  headerNames.limitPercentage,
  headerNames.resourceUnit,
  headerNames.rateLimitLimit,
  headerNames.rateLimitRemaining,
  headerNames.rateLimitReset
]
const slotOf: ReadonlyMap<string, number> = new Map(slotNames.map((name, slot) => [name.toLowerCase(), slot]))

/**
 * Whether a header record holds any header {@link fromResponse} reads (`Retry-After`, the
 * `x-ms-throttle-*` and `x-ms-resource-unit` headers, the `RateLimit-*` headers), in any case. A
 * response without any says nothing about throttling beyond its status, which lets a caller skip
 * reading it.
 *
 * @since 0.1.0
 * @category predicates
 */
export const hasSignalHeaders = (headers: Readonly<Record<string, string>> | undefined): boolean => {
  if (headers === undefined) return false
  for (const key in headers) if (slotOf.has(key.toLowerCase())) return true
  return false
}

const scopes = new Set(["Tenant_Application", "Tenant", "Application"])
const limits = new Set(["Read", "Write", "ReadWrite"])

/**
 * Parses `x-ms-throttle-scope`, e.g.
 * `Tenant_Application/ReadWrite/9a3d526c-b3c1-4479-ba74-197b5c5751ae/0785ef7c-2d7a-4542-b048-95bcab406e0b`.
 * Scope and limit are matched ignoring case; all four parts are required.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseScope = (value: string): Option.Option<ThrottleScope> => {
  const parts = value.trim().split("/")
  if (parts.length !== 4 || parts.some((p) => p.length === 0)) return Option.none()
  const scope = [...scopes].find((s) => s.toLowerCase() === parts[0]!.toLowerCase())
  const limit = [...limits].find((l) => l.toLowerCase() === parts[1]!.toLowerCase())
  if (scope === undefined || limit === undefined) return Option.none()
  return Option.some({
    scope: scope as ThrottleScope["scope"],
    limit: limit as ThrottleScope["limit"],
    applicationId: parts[2]!,
    resourceId: parts[3]!
  })
}

/**
 * A decimal number as Graph writes one (digits, optionally a fraction), around any whitespace;
 * `undefined` for anything else. Read by hand: a regular expression per header costs more.
 */
const decimal = (value: string): number | undefined => {
  const trimmed = value.trim()
  const n = trimmed.length
  let i = 0
  while (i < n && isDigit(trimmed.charCodeAt(i))) i++
  if (i === 0) return undefined
  if (i < n) {
    if (trimmed.charCodeAt(i) !== 46 /* . */) return undefined
    const fraction = ++i
    while (i < n && isDigit(trimmed.charCodeAt(i))) i++
    if (i === fraction || i < n) return undefined
  }
  return Number(trimmed)
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57

const number = (value: string | undefined): Option.Option<number> => {
  if (value === undefined) return Option.none()
  const n = decimal(value)
  return n === undefined ? Option.none() : Option.some(n)
}


/**
 * The values of the headers `fromResponse` reads, by slot, in one pass over the record: a header
 * spelt exactly as documented, else the first spelt in any other case (as `headerValue` finds it).
 * `undefined` when the record holds none of them (see {@link hasSignalHeaders}).
 */
const signalValues = (headers: Readonly<Record<string, string>> | undefined): Array<string | undefined> | undefined => {
  if (headers === undefined) return undefined
  let values: Array<string | undefined> | undefined
  // per slot, one bit: a value spelt exactly was read / a value spelt otherwise was read
  let exact = 0
  let other = 0
  for (const key in headers) {
    const slot = slotOf.get(key.toLowerCase())
    if (slot === undefined) continue
    values ??= new Array(slotNames.length)
    const bit = 1 << slot
    const value = headers[key]
    if (key === slotNames[slot] && value !== undefined) {
      exact |= bit
      values[slot] = value
    } else if ((other & bit) === 0) {
      other |= bit
      if ((exact & bit) === 0) values[slot] = value
    }
  }
  return values
}

const noValues: ReadonlyArray<string | undefined> = []

const signalsOf = (status: number, values: ReadonlyArray<string | undefined>, nowMillis: number): Signals => {
  const limit = number(values[RATE_LIMIT_LIMIT])
  const remaining = number(values[RATE_LIMIT_REMAINING])
  const information = values[INFORMATION]
  const scope = values[SCOPE]
  const retryAfter = values[RETRY_AFTER]
  return {
    status,
    throttled: status === 429 || status === 509,
    unavailable: status === 503,
    succeeded: status >= 200 && status < 300,
    retryAfter: retryAfter === undefined ? Option.none() : Either.getRight(RetryAfter.parse(retryAfter, nowMillis)),
    scope: scope === undefined ? Option.none() : parseScope(scope),
    information: information === undefined || information.trim() === "" ? Option.none() : Option.some(information.trim()),
    limitPercentage: Option.map(number(values[LIMIT_PERCENTAGE]), (p) => (p > 10 ? p / 100 : p)),
    resourceUnits: Option.filter(number(values[RESOURCE_UNIT]), (n) => n > 0),
    rateLimit: Option.isSome(limit) && Option.isSome(remaining) && limit.value > 0
      ? Option.some({
        limit: limit.value,
        remaining: remaining.value,
        resetSeconds: number(values[RATE_LIMIT_RESET])
      })
      : Option.none()
  }
}

/**
 * Reads a response's throttling signals. `nowMillis` places two-digit years in RFC 850 dates.
 *
 * `x-ms-throttle-limit-percentage` is documented as a value from 0.8 to 1.8; a value above 10 is read
 * as a percentage (80 = 0.8).
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromResponse = (response: Response, nowMillis: number = Date.now()): Signals =>
  signalsOf(response.status, signalValues(response.headers) ?? noValues, nowMillis)

/**
 * {@link fromResponse} when the response holds a header it reads; `undefined` when it holds none
 * (see {@link hasSignalHeaders}), in which case its signals are those of its status alone. One pass
 * over the headers answers both questions.
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromSignalHeaders = (response: Response, nowMillis: number = Date.now()): Signals | undefined => {
  const values = signalValues(response.headers)
  return values === undefined ? undefined : signalsOf(response.status, values, nowMillis)
}

/**
 * How much of a limit the server says is used, as a fraction: the larger of
 * `x-ms-throttle-limit-percentage` and `1 - RateLimit-Remaining / RateLimit-Limit`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const utilisation = (signals: Signals): Option.Option<number> => {
  const fromRateLimit = Option.map(signals.rateLimit, (r) => 1 - Math.max(0, r.remaining) / r.limit)
  if (Option.isSome(signals.limitPercentage) && Option.isSome(fromRateLimit)) {
    return Option.some(Math.max(signals.limitPercentage.value, fromRateLimit.value))
  }
  return Option.orElse(signals.limitPercentage, () => fromRateLimit)
}

/**
 * The bucket scope a `x-ms-throttle-scope` scope names.
 *
 * @since 0.1.0
 * @category combinators
 */
export const bucketScope = (scope: ThrottleScope["scope"]): BucketScope =>
  scope === "Tenant_Application" ? "appTenant" : scope === "Tenant" ? "tenant" : "app"

/**
 * A request's own service limits: its demands without the global per-app limit (family `global`),
 * or all of them when that is all there is. Responses without a scope are attributed to these, so
 * that one mailbox's 429 does not hold back the whole application.
 *
 * @since 0.1.0
 * @category combinators
 */
export const own = <D extends { readonly family: Family }>(demands: ReadonlyArray<D>): ReadonlyArray<D> => {
  const result = demands.filter((d) => d.family !== "global")
  return result.length > 0 ? result : demands
}

/**
 * Which of a request's demands a throttled response is about:
 *
 * 1. when `x-ms-throttle-scope` is present and the request has demands of that scope
 *    (`Tenant_Application` = `appTenant`, `Tenant` = `tenant`, `Application` = `app`), those, narrowed
 *    to the write quotas (`writeQuota`) for a `Write` limit or to the other buckets for a `Read`
 *    limit when that leaves any;
 * 2. otherwise the request's own service limits, leaving out the global per-app limit (family
 *    `global`) unless nothing else is left, so that one mailbox's 429 does not stop the whole app.
 *    Among those, when the response has no `Retry-After` and some demands are on limits documented
 *    to send none, only those (that is where such a 429 comes from); when it has one, the limits
 *    documented to send it are preferred in the same way.
 *
 * @since 0.1.0
 * @category combinators
 */
export const implicated = <
  D extends { readonly family: Family; readonly scope: string; readonly retryAfter: boolean; readonly writeQuota: boolean }
>(
  signals: Pick<Signals, "scope" | "retryAfter">,
  demands: ReadonlyArray<D>
): ReadonlyArray<D> => {
  if (Option.isSome(signals.scope)) {
    const { limit, scope } = signals.scope.value
    const wanted = bucketScope(scope)
    const matched = demands.filter((d) => d.scope === wanted)
    if (matched.length > 0) {
      if (limit === "ReadWrite") return matched
      const narrowed = matched.filter((d) => d.writeQuota === (limit === "Write"))
      return narrowed.length > 0 ? narrowed : matched
    }
  }
  const base = own(demands)
  const documented = Option.isSome(signals.retryAfter)
  const preferred = base.filter((d) => d.retryAfter === documented)
  return preferred.length > 0 ? preferred : base
}
