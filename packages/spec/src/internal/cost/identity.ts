/**
 * Resource-unit and write cost of an identity and access request, from the seed's cost table and
 * its modifiers. Pure; the catalogue supplies the numbers.
 *
 * @internal
 */
import type { NormalisedRequest } from "../catalog/request.js"
import type { Adjustment, ClassifyContext, IdentityCost, IdentityCostRow, IdentityCostRules } from "../../LimitCatalog.js"
import type { Models } from "../catalog/models.js"
import { matchAny, type Segment } from "../catalog/urlPattern.js"

const withoutTrailingCasts = (segments: ReadonlyArray<Segment>): ReadonlyArray<Segment> => {
  let end = segments.length
  while (end > 1 && segments[end - 1]!.cast) end--
  return end === segments.length ? segments : segments.slice(0, end)
}

const digits = /^\d+$/

const hasValue = (query: ReadonlyMap<string, string>, name: string): boolean => {
  const value = query.get(name)
  return value !== undefined && value.length > 0
}

/**
 * What the cost table says about a request's method and path, before the query and the context
 * are looked at: the matching row (if any), whether it creates a user, whether it is one of the
 * `$select`-by-ids paths. Depends only on the method and the path's shape, so it can be reused.
 *
 * @internal
 */
export interface IdentityPathMatch {
  readonly row: IdentityCostRow | undefined
  readonly createsUser: boolean
  readonly selectByIds: boolean
}

/** @internal */
export const matchIdentityPath = (
  rules: IdentityCostRules,
  method: string,
  segments: ReadonlyArray<Segment>
): IdentityPathMatch => {
  const rowSegments = method === "GET" ? withoutTrailingCasts(segments) : segments
  return {
    row: rules.rows.find((candidate) => candidate.method === method && matchAny([candidate.path], rowSegments)),
    createsUser: method === "POST" && matchAny(["users"], segments) !== undefined,
    selectByIds: method === "POST" && matchAny(rules.selectByIdsPaths, segments) !== undefined
  }
}

/**
 * The modifiers of the cost table that a request's query and context switch on, as bits:
 * `$select` with a value, `$expand` with a value, `$top` below the threshold, a B2C tenant.
 *
 * @internal
 */
export const identityModifiers = (
  rules: IdentityCostRules,
  query: ReadonlyMap<string, string>,
  context: ClassifyContext
): number => {
  const top = query.get("$top")
  return (hasValue(query, "$select") ? 1 : 0) |
    (hasValue(query, "$expand") ? 2 : 0) |
    (top !== undefined && digits.test(top) && Number(top) < rules.topBelow ? 4 : 0) |
    (context.b2c ? 8 : 0)
}

/**
 * Prices a method and path with the modifiers of {@link identityModifiers}.
 *
 * - Base cost and write cost come from the first table row with the same method whose path matches
 *   exactly (a GET may end in `microsoft.graph.<type>` casts), else from the "any identity path not
 *   listed" rows, else 1 and (for non-GET) 1.
 * - `$select` and `$expand` count when they carry a value; `$top` counts when it is an integer
 *   below the threshold.
 * - A B2C tenant adds to `POST users` (creating a user).
 * - The cost is raised to the minimum, then `$select` on `directoryObjects/getByIds` or
 *   `getObjectsById` fixes it at the documented figure.
 *
 * @internal
 */
export const priceIdentityPath = (
  models: Pick<Models, "IdentityCost">,
  rules: IdentityCostRules,
  method: string,
  path: IdentityPathMatch,
  modifiers: number
): IdentityCost => {
  const row = path.row
  const otherwise = rules.otherwise.find((candidate) => candidate.method === method)
  const base = row?.resourceUnits ?? otherwise?.resourceUnits ?? 1
  const writeCost = row?.writeCost ?? otherwise?.writeCost ?? (method === "GET" ? 0 : 1)
  const label = row !== undefined ? `${row.method} ${row.path}` : `${method} any identity path not listed`
  const select = (modifiers & 1) !== 0

  const adjustments: Array<{ rule: Adjustment; delta: number }> = []
  if (select) adjustments.push({ rule: "select", delta: rules.selectDelta })
  if ((modifiers & 2) !== 0) adjustments.push({ rule: "expand", delta: rules.expandDelta })
  if ((modifiers & 4) !== 0) adjustments.push({ rule: "top", delta: rules.topDelta })
  if ((modifiers & 8) !== 0 && path.createsUser) {
    adjustments.push({ rule: "b2cCreateUser", delta: rules.b2cCreateUserDelta })
  }
  let units = adjustments.reduce((sum, adjustment) => sum + adjustment.delta, base)
  if (units < rules.minimum) {
    adjustments.push({ rule: "minimum", delta: rules.minimum - units })
    units = rules.minimum
  }
  if (select && path.selectByIds) {
    adjustments.push({ rule: "selectByIds", delta: rules.selectByIdsCost - units })
    units = rules.selectByIdsCost
  }
  return new models.IdentityCost({ row: label, base, adjustments, resourceUnits: units, writeCost }, { disableValidation: true })
}

/**
 * Prices a request already known to be an identity and access request (see
 * {@link priceIdentityPath}).
 *
 * @internal
 */
export const priceIdentity = (
  models: Pick<Models, "IdentityCost">,
  rules: IdentityCostRules,
  request: NormalisedRequest,
  context: ClassifyContext
): IdentityCost =>
  priceIdentityPath(
    models,
    rules,
    request.method,
    matchIdentityPath(rules, request.method, request.segments),
    identityModifiers(rules, request.query, context)
  )
