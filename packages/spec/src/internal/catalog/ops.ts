/**
 * The built-in catalogue (as data, which `LimitCatalog.ts` decodes), its consistency checks,
 * per-entry overrides and tenant sizing.
 *
 * @internal
 */
import { Either } from "effect"
import type { Catalog, InvalidOverride, LimitEntry, LimitOverride, TenantSize, WindowUnit } from "../../LimitCatalog.js"
import { identityCosts } from "../cost/table.js"
import { entries } from "./data/entries.js"
import { services } from "./data/services.js"
import type { Models } from "./models.js"
import { compilePattern, PatternSyntaxError } from "./urlPattern.js"

/** @internal */
export const builtinVersion = "throttling-limits@2024-06-19#1"

/** @internal */
export const builtinCatalog: typeof Catalog.Encoded = {
  version: builtinVersion,
  seed: "Microsoft Graph service-specific throttling limits, ms.date 06/19/2024",
  services,
  entries,
  identityCosts,
  tenantSizes: {
    mediumFrom: 50,
    largeAbove: 500,
    source:
      'Identity and access service limits: "The tenant sizes are defined as follows: S - under 50 users, M - between 50 and 500 users, and L - above 500 users."'
  }
}

/**
 * The tenant size of the seed's thresholds: S under 50 users, M from 50 to 500, L above 500.
 *
 * @internal
 */
export const tenantSizeOf = (catalog: Catalog, users: number): TenantSize =>
  users < catalog.tenantSizes.mediumFrom ? "S" : users <= catalog.tenantSizes.largeAbove ? "M" : "L"

const checkPattern = (where: string, source: string, problems: Array<string>) => {
  try {
    compilePattern(source)
  } catch (error) {
    problems.push(`${where}: ${error instanceof PatternSyntaxError ? error.message : String(error)}`)
  }
}

const sameLimit = (a: LimitEntry["limit"], b: LimitEntry["limit"]): boolean => {
  switch (a._tag) {
    case "Unpublished":
      return b._tag === "Unpublished" && a.statement === b.statement
    case "Concurrent":
      return b._tag === "Concurrent" && a.scope === b.scope && a.key.join("/") === b.key.join("/") &&
        a.permits === b.permits
    case "Rate":
    case "TokenBucket":
      return b._tag === a._tag && a.scope === b.scope && a.key.join("/") === b.key.join("/") &&
        a.measure === b.measure && a.cost === b.cost && a.quantity === b.quantity &&
        a.window.amount === b.window.amount && a.window.unit === b.window.unit
  }
}

/**
 * Consistency problems of a catalogue (empty when it is sound): malformed patterns, duplicate ids,
 * entries of unknown services, shared buckets with different limits, key parts no pattern captures.
 *
 * @internal
 */
export const validateCatalog = (catalog: Catalog): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const ids = new Set<string>()
  const serviceIds = new Set(catalog.services.map((service) => service.id))
  const buckets = new Map<string, LimitEntry>()
  for (const service of catalog.services) {
    for (const source of [...service.area, ...service.except]) checkPattern(`service ${service.id}`, source, problems)
  }
  for (const row of [...catalog.identityCosts.rows]) checkPattern(`cost row ${row.method} ${row.path}`, row.path, problems)
  for (const source of catalog.identityCosts.selectByIdsPaths) checkPattern("selectByIdsPaths", source, problems)
  for (const entry of catalog.entries) {
    if (ids.has(entry.id)) problems.push(`duplicate entry id ${entry.id}`)
    ids.add(entry.id)
    if (!serviceIds.has(entry.service)) problems.push(`entry ${entry.id}: unknown service ${entry.service}`)
    for (const source of [...entry.match.paths, ...entry.match.except]) checkPattern(`entry ${entry.id}`, source, problems)
    if (entry.bucket !== undefined) {
      const other = buckets.get(entry.bucket)
      if (other !== undefined && !sameLimit(other.limit, entry.limit)) {
        problems.push(`entry ${entry.id}: bucket ${entry.bucket} is shared with ${other.id} but the limits differ`)
      }
      buckets.set(entry.bucket, entry)
    }
    const limit = entry.limit
    if (limit._tag !== "Unpublished") {
      for (const part of limit.key) {
        if (["app", "tenant", "actor", "user", "resource"].includes(part)) continue
        const captured = entry.match.paths.every((path) => path.includes(`{${part}`))
        if (!captured) problems.push(`entry ${entry.id}: key part ${part} is not captured by every path`)
      }
    }
  }
  return problems
}

/**
 * Applies per-entry overrides: a new quantity (requests, units, bytes or permits) and, for rate and
 * token-bucket entries, optionally a new window. The catalogue's version becomes `version`.
 *
 * @internal
 */
export const applyOverrides = (
  models: Models,
  catalog: Catalog,
  overrides: ReadonlyArray<LimitOverride>,
  version: string
): Either.Either<Catalog, InvalidOverride> => {
  // Nothing to change: the same catalogue, so that what is compiled for it (its path patterns, the
  // plans per path shape) is shared by every client built on it instead of built again by each.
  if (overrides.length === 0 && version === catalog.version) return Either.right(catalog)
  const byId = new Map<string, LimitOverride>()
  const known = new Map(catalog.entries.map((entry) => [entry.id, entry]))
  for (const override of overrides) {
    const target = known.get(override.entryId)
    if (target === undefined) return Either.left(new models.InvalidOverride({ input: override.entryId, reason: "unknownEntry" }))
    if (target.limit._tag === "Unpublished") {
      return Either.left(new models.InvalidOverride({ input: override.entryId, reason: "unpublishedLimit" }))
    }
    if (target.limit._tag === "Concurrent") {
      if (override.window !== undefined) {
        return Either.left(new models.InvalidOverride({ input: override.entryId, reason: "concurrencyWindow" }))
      }
      if (!Number.isInteger(override.quantity)) {
        return Either.left(new models.InvalidOverride({ input: override.entryId, reason: "notInteger" }))
      }
    }
    byId.set(override.entryId, override)
  }
  const overridden = catalog.entries.map((entry) => {
    const override = byId.get(entry.id)
    if (override === undefined) return entry
    const limit = entry.limit
    switch (limit._tag) {
      case "Rate":
        return new models.LimitEntry({
          ...entry,
          limit: new models.Rate({ ...limit, quantity: override.quantity, window: override.window ?? limit.window })
        })
      case "TokenBucket":
        return new models.LimitEntry({
          ...entry,
          limit: new models.TokenBucket({ ...limit, quantity: override.quantity, window: override.window ?? limit.window })
        })
      case "Concurrent":
        return new models.LimitEntry({ ...entry, limit: new models.Concurrent({ ...limit, permits: override.quantity }) })
      case "Unpublished":
        return entry
    }
  })
  // Entries sharing a bucket must keep one limit: an override of one applies to all of them.
  const sharedOverride = new Map<string, LimitEntry>()
  for (const entry of overridden) {
    if (entry.bucket !== undefined && byId.has(entry.id)) sharedOverride.set(entry.bucket, entry)
  }
  const consistent = overridden.map((entry) => {
    const shared = entry.bucket !== undefined ? sharedOverride.get(entry.bucket) : undefined
    return shared === undefined || shared === entry ? entry : new models.LimitEntry({ ...entry, limit: shared.limit })
  })
  return Either.right(new models.Catalog({ ...catalog, version, entries: consistent }))
}

const unitBySuffix: Readonly<Record<string, WindowUnit>> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  mo: "month"
}

/**
 * Parses overrides written as `entryId=quantity[/window]`, separated by commas, semicolons or
 * whitespace; the window is an amount and a unit among `s`, `m`, `h`, `d`, `mo`.
 * Example: `outlook.mailbox.requests=5000/10m, global.app=100000`.
 *
 * @internal
 */
export const parseOverrides = (
  models: Pick<Models, "Window" | "LimitOverride" | "InvalidOverride">,
  text: string
): Either.Either<ReadonlyArray<LimitOverride>, InvalidOverride> => {
  const result: Array<LimitOverride> = []
  for (const item of text.split(/[\s,;]+/).filter((part) => part.length > 0)) {
    const match = /^([A-Za-z0-9_.-]+)=(\d+(?:\.\d+)?)(?:\/(\d+)(s|m|h|d|mo))?$/.exec(item)
    if (match === null) return Either.left(new models.InvalidOverride({ input: item, reason: "syntax" }))
    const quantity = Number(match[2])
    if (!(quantity > 0)) return Either.left(new models.InvalidOverride({ input: item, reason: "syntax" }))
    const window = match[3] !== undefined
      ? new models.Window({ amount: Number(match[3]), unit: unitBySuffix[match[4]!]! })
      : undefined
    if (window !== undefined && !(window.amount > 0)) return Either.left(new models.InvalidOverride({ input: item, reason: "syntax" }))
    result.push(new models.LimitOverride({ entryId: match[1]!, quantity, ...(window !== undefined ? { window } : {}) }))
  }
  return Either.right(result)
}
