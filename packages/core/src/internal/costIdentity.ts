/**
 * Resource-unit and write cost of an identity and access request, from the seed's cost table and
 * its modifiers. Pure; the catalogue supplies the numbers.
 *
 * @internal
 */
import type { NormalizedRequest } from "./catalogRequest.js"
import { type Adjustment, type ClassifyContext, IdentityCost, type IdentityCostRules } from "./catalogSchema.js"
import { matchAny, type Segment } from "./urlPattern.js"

const withoutTrailingCasts = (segments: ReadonlyArray<Segment>): ReadonlyArray<Segment> => {
  let end = segments.length
  while (end > 1 && segments[end - 1]!.cast) end--
  return end === segments.length ? segments : segments.slice(0, end)
}

const hasValue = (query: ReadonlyMap<string, string>, name: string): boolean => {
  const value = query.get(name)
  return value !== undefined && value.length > 0
}

/**
 * Prices a request already known to be an identity and access request.
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
export const priceIdentity = (
  rules: IdentityCostRules,
  request: NormalizedRequest,
  context: ClassifyContext
): IdentityCost => {
  const method = request.method
  const segments = method === "GET" ? withoutTrailingCasts(request.segments) : request.segments
  const row = rules.rows.find((candidate) => candidate.method === method && matchAny([candidate.path], segments))
  const otherwise = rules.otherwise.find((candidate) => candidate.method === method)
  const base = row?.resourceUnits ?? otherwise?.resourceUnits ?? 1
  const writeCost = row?.writeCost ?? otherwise?.writeCost ?? (method === "GET" ? 0 : 1)
  const label = row !== undefined ? `${row.method} ${row.path}` : `${method} any identity path not listed`

  const adjustments: Array<{ rule: Adjustment; delta: number }> = []
  const query = request.query
  if (hasValue(query, "$select")) adjustments.push({ rule: "select", delta: rules.selectDelta })
  if (hasValue(query, "$expand")) adjustments.push({ rule: "expand", delta: rules.expandDelta })
  const top = query.get("$top")
  if (top !== undefined && /^\d+$/.test(top) && Number(top) < rules.topBelow) {
    adjustments.push({ rule: "top", delta: rules.topDelta })
  }
  if (context.b2c && method === "POST" && matchAny(["users"], request.segments)) {
    adjustments.push({ rule: "b2cCreateUser", delta: rules.b2cCreateUserDelta })
  }
  let units = adjustments.reduce((sum, adjustment) => sum + adjustment.delta, base)
  if (units < rules.minimum) {
    adjustments.push({ rule: "minimum", delta: rules.minimum - units })
    units = rules.minimum
  }
  if (hasValue(query, "$select") && method === "POST" && matchAny(rules.selectByIdsPaths, request.segments)) {
    adjustments.push({ rule: "selectByIds", delta: rules.selectByIdsCost - units })
    units = rules.selectByIdsCost
  }
  return new IdentityCost({ row: label, base, adjustments, resourceUnits: units, writeCost }, { disableValidation: true })
}
