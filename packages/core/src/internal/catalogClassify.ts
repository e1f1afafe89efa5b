/**
 * Classification of one request against a catalogue: which services it touches, which entries
 * match, and the demand it places on each bucket.
 *
 * @internal
 */
import { ConcurrencyLimit, Demand, type Limit, TokenBucketLimit, WindowLimit } from "../Bucket.js"
import { actorKey, type NormalizedRequest, normalizeRequest } from "./catalogRequest.js"
import {
  type Catalog,
  Classification,
  type ClassifyContext,
  type ClassifyRequest,
  type Conditions,
  type IdentityCost,
  type KeyPart,
  type LimitEntry,
  type QueryCondition,
  type RequestMatcher,
  type ServiceId,
  Skipped,
  type Window
} from "./catalogSchema.js"
import { priceIdentity } from "./costIdentity.js"
import { type Captures, matchAny } from "./urlPattern.js"

const unitMillis = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  // "each month" is kept as a sliding 31-day window: never looser than any calendar month.
  month: 31 * 86_400_000
} as const

/** @internal */
export const windowMillis = (window: Window): number => window.amount * unitMillis[window.unit]

const queryHolds = (condition: QueryCondition, query: ReadonlyMap<string, string>): boolean => {
  const value = query.get(condition.param.toLowerCase())
  switch (condition._tag) {
    case "Has":
      return value !== undefined
    case "Lacks":
      return value === undefined
    case "Equals":
      return value !== undefined && value.toLowerCase() === condition.value.toLowerCase()
    case "NotEquals":
      return value === undefined || value.toLowerCase() !== condition.value.toLowerCase()
  }
}

/**
 * Matches a request matcher, returning the captures of the first matching path pattern.
 *
 * @internal
 */
export const matchRequest = (matcher: RequestMatcher, request: NormalizedRequest): Captures | undefined => {
  if (matcher.methods.length > 0 && !matcher.methods.some((method) => method === request.method)) return undefined
  if (!matcher.query.every((condition) => queryHolds(condition, request.query))) return undefined
  const captures = matchAny(matcher.paths, request.segments)
  if (captures === undefined) return undefined
  if (matcher.except.length > 0 && matchAny(matcher.except, request.segments) !== undefined) return undefined
  return captures
}

const conditionsHold = (when: Conditions, context: ClassifyContext): boolean =>
  (when.tenantSize === undefined || when.tenantSize === context.tenantSize) &&
  (when.auth === undefined || when.auth === (context.delegated ? "delegated" : "appOnly")) &&
  (when.signInAudience === undefined ||
    context.signInAudience === undefined ||
    when.signInAudience.includes(context.signInAudience))

const fnv1a = (text: string): string => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, "0")
}

const asRecord = (body: unknown): Record<string, unknown> | undefined => {
  if (typeof body === "string") {
    try {
      return asRecord(JSON.parse(body))
    } catch {
      return undefined
    }
  }
  return typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.length > 0 ? value.toLowerCase() : undefined

/**
 * The information protection "resource" of a threat assessment request, from its body: an email
 * (network message id and recipient), a URL, or a file (hashed content, so keys stay small).
 *
 * @internal
 */
export const assessedResource = (body: unknown): string | undefined => {
  const record = asRecord(body)
  if (record === undefined) return undefined
  const recipient = text(record["recipientEmail"])
  const messageUri = text(record["messageUri"])
  if (messageUri !== undefined && recipient !== undefined) return `email:${messageUri}|${recipient}`
  const url = text(record["url"])
  if (url !== undefined) return `url:${url}`
  const content = typeof record["contentData"] === "string" ? record["contentData"] : undefined
  if (content !== undefined && recipient !== undefined) return `email:${recipient}|${fnv1a(content)}`
  if (content !== undefined) return `file:${text(record["fileName"]) ?? ""}|${fnv1a(content)}`
  return undefined
}

const resolvePart = (
  part: KeyPart,
  captures: Captures,
  request: NormalizedRequest,
  context: ClassifyContext
): string | undefined => {
  switch (part) {
    case "app":
      return context.appId.toLowerCase()
    case "tenant":
      return context.tenantId.toLowerCase()
    case "actor":
      return actorKey(context)
    case "user":
      return captures["user"] ?? actorKey(context)
    case "resource":
      return assessedResource(request.body)
    default:
      return captures[part]
  }
}

const toBucketLimit = (limit: LimitEntry["limit"]): Limit | undefined => {
  switch (limit._tag) {
    case "Rate":
      return new WindowLimit({ limit: limit.quantity, windowMillis: windowMillis(limit.window) })
    case "TokenBucket":
      return new TokenBucketLimit({
        capacity: limit.quantity,
        refillPerSecond: limit.quantity / (windowMillis(limit.window) / 1000)
      })
    case "Concurrent":
      return new ConcurrencyLimit({ permits: limit.permits })
    case "Unpublished":
      return undefined
  }
}

/** @internal */
export const serviceMatches = (
  catalog: Catalog,
  request: NormalizedRequest
): ReadonlyArray<ServiceId> =>
  catalog.services
    .filter((service) =>
      matchAny(service.area, request.segments) !== undefined &&
      (service.except.length === 0 || matchAny(service.except, request.segments) === undefined)
    )
    .map((service) => service.id)

/**
 * The entries whose matcher and conditions hold, with their captures, after dropping `fallback`
 * entries of any group in which a non-fallback entry matched.
 *
 * @internal
 */
export const matchEntries = (
  catalog: Catalog,
  request: NormalizedRequest,
  context: ClassifyContext
): ReadonlyArray<{ readonly entry: LimitEntry; readonly captures: Captures }> => {
  const matched: Array<{ entry: LimitEntry; captures: Captures }> = []
  const decided = new Set<string>()
  for (const entry of catalog.entries) {
    if (!conditionsHold(entry.when, context)) continue
    const captures = matchRequest(entry.match, request)
    if (captures === undefined) continue
    matched.push({ entry, captures })
    if (!entry.fallback) decided.add(entry.group)
  }
  return matched.filter(({ entry }) => !(entry.fallback && decided.has(entry.group)))
}

/** @internal */
export const classifyNormalized = (
  catalog: Catalog,
  request: NormalizedRequest,
  context: ClassifyContext
): Classification => {
  const services = new Set<ServiceId>(serviceMatches(catalog, request))
  const matched = matchEntries(catalog, request, context)
  let identity: IdentityCost | undefined
  const needsIdentity = services.has("identityAccess") ||
    matched.some(({ entry }) =>
      (entry.limit._tag === "Rate" || entry.limit._tag === "TokenBucket") &&
      (entry.limit.cost === "identityResourceUnits" || entry.limit.cost === "identityWriteCost")
    )
  if (needsIdentity) identity = priceIdentity(catalog.identityCosts, request, context)

  const demands: Array<Demand> = []
  const skipped: Array<Skipped> = []
  for (const { captures, entry } of matched) {
    services.add(entry.service)
    const limit = entry.limit
    if (limit._tag === "Unpublished") {
      skipped.push(new Skipped({ entryId: entry.id, reason: "unpublished", detail: limit.statement }))
      continue
    }
    if (entry.notModelled !== undefined) {
      skipped.push(new Skipped({ entryId: entry.id, reason: "notModelled", detail: entry.notModelled }))
      continue
    }
    const parts: Array<string> = []
    let missing: KeyPart | undefined
    for (const part of limit.key) {
      const value = resolvePart(part, captures, request, context)
      if (value === undefined) {
        missing = part
        break
      }
      parts.push(value)
    }
    if (missing !== undefined) {
      skipped.push(
        new Skipped({ entryId: entry.id, reason: "missingKey", detail: `the request does not identify its ${missing}` })
      )
      continue
    }
    let cost = 1
    if (limit._tag !== "Concurrent") {
      switch (limit.cost) {
        case "identityResourceUnits":
          cost = identity?.resourceUnits ?? 0
          break
        case "identityWriteCost":
          cost = identity?.writeCost ?? 0
          break
        case "bodyBytes":
          cost = request.bodyBytes ?? 0
          break
        case "request":
          cost = 1
      }
    }
    if (!(cost > 0)) {
      const detail = limit._tag !== "Concurrent" && limit.cost === "bodyBytes" && request.bodyBytes === undefined
        ? "the request's body size is not known"
        : "the request costs nothing against this limit"
      skipped.push(new Skipped({ entryId: entry.id, reason: "zeroCost", detail }))
      continue
    }
    demands.push(
      new Demand({
        key: [entry.bucket ?? entry.id, ...parts].join("/"),
        entryId: entry.id,
        service: entry.service,
        scope: limit.scope,
        limit: toBucketLimit(limit)!,
        cost,
        retryAfter: entry.retryAfter
      })
    )
  }

  const order = catalog.services.map((service) => service.id)
  return new Classification({
    method: request.method,
    path: request.path,
    services: order.filter((id) => services.has(id)),
    entries: matched.map(({ entry }) => entry.id),
    demands,
    skipped,
    ...(identity !== undefined ? { identity } : {})
  })
}

/** @internal */
export const classify = (catalog: Catalog, request: ClassifyRequest, context: ClassifyContext): Classification =>
  classifyNormalized(catalog, normalizeRequest(request, context), context)
