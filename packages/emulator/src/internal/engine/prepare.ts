/**
 * Before admission: who is calling (the options, overridden per request by `x-emulator-*`
 * headers), and what an item is (its service, priority, demands and the limits enforced for them).
 *
 * @internal
 */
import { Bucket } from "@effect-msgraph/spec"
import type { Priority } from "../../Audit.js"
import { routeOf } from "../routing.js"
import { isFiles } from "./facts.js"
import type { Enforced } from "../accounting.js"
import { type ClassifyContext, headerOf, type Item, type Prepared, type Resolved } from "./model.js"
import { scale } from "./scale.js"

const priorities: Record<string, Priority> = { low: "low", normal: "normal", high: "high" }

const encoder = new TextEncoder()

/** The caller: the options' identity, with the `x-emulator-*` headers of this request over it. @internal */
export const contextOf = (options: Resolved, headers: Readonly<Record<string, string>>): ClassifyContext => {
  const base = options.context
  const appOnly = headerOf(headers, "x-emulator-app-only")
  const tenantId = headerOf(headers, "x-emulator-tenant-id")
  const appId = headerOf(headers, "x-emulator-app-id")
  const userId = headerOf(headers, "x-emulator-user-id")
  // nothing overridden: the options' own identity, one object for every request
  if (appOnly === undefined && tenantId === undefined && appId === undefined && userId === undefined) return base
  return {
    ...base,
    tenantId: tenantId ?? base.tenantId,
    appId: appId ?? base.appId,
    userId: userId ?? base.userId,
    delegated: appOnly === undefined ? base.delegated : appOnly.toLowerCase() !== "true"
  }
}

/** The limits enforced for a demands array, per engine's options: items of one request share both. */
const enforcedBy = new WeakMap<Resolved, WeakMap<ReadonlyArray<Bucket.Demand>, ReadonlyArray<Enforced>>>()

/** The demands with the limit enforced for each: an override, else the documented limit scaled. */
const enforcedOf = (options: Resolved, demands: ReadonlyArray<Bucket.Demand>): ReadonlyArray<Enforced> => {
  let known = enforcedBy.get(options)
  if (known === undefined) {
    known = new WeakMap()
    enforcedBy.set(options, known)
  }
  let enforced = known.get(demands)
  if (enforced === undefined) {
    enforced = demands.map((demand) => ({
      demand,
      limit: options.overrides.get(demand.entryId) ?? scale(demand.limit, options.multiplier(demand.service))
    }))
    known.set(demands, enforced)
  }
  return enforced
}

/**
 * An item classified: its demands (with the assumed files budget where the catalogue has none), the
 * limits enforced for them (an override, else the documented limit scaled by the multiplier), and
 * its dependencies (the batch's and any `x-emulator-depends-on`).
 *
 * @internal
 */
export const prepare = (
  options: Resolved,
  item: Item,
  clientRequestId: string,
  dependsOn: ReadonlyArray<string>,
  httpRequest: number,
  context: ClassifyContext,
  root: string
): Prepared => {
  const { parsed, service } = routeOf(item.url)
  const priority = priorities[(headerOf(item.headers, "x-ms-throttle-priority") ?? "normal").toLowerCase()] ?? "normal"
  const bodyBytes = item.body === undefined ? undefined : item.body instanceof Uint8Array ? item.body.length : encoder.encode(JSON.stringify(item.body)).length
  const url = item.url.startsWith("/") ? item.url : `/${item.url}`
  const classified = options.classify({ method: item.method, url, bodyBytes, body: item.body, headers: item.headers }, context)
  // the classifier's array as it is (never changed: items of the same request share it), or a copy
  // with the assumed files demand
  const demands: ReadonlyArray<Bucket.Demand> = service === "files" && options.filesLimit !== undefined && !classified.some(isFiles)
    ? [
      ...classified,
      new Bucket.Demand({
        key: `files/${context.appId}/${context.tenantId}`,
        entryId: "emulator.files.assumed",
        service: "files",
        scope: "appTenant",
        limit: options.filesLimit,
        cost: 1,
        retryAfter: true,
        family: "files"
      })
    ]
    : classified
  const enforced = enforcedOf(options, demands)
  const extra = headerOf(item.headers, "x-emulator-depends-on")
  const allDeps = extra === undefined ? dependsOn : [...dependsOn, ...extra.split(",").map((s) => s.trim()).filter((s) => s !== "")]
  return { item, parsed, service, priority, clientRequestId, demands, enforced, dependsOn: allDeps, httpRequest, context, root }
}
