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
  type ServiceId,
  Skipped,
  type Window
} from "./catalogSchema.js"
import { priceIdentity } from "./costIdentity.js"
import { type Captures, matchPattern, type Pattern, pattern, type Segment } from "./urlPattern.js"

/** Results are built from already-typed data: skip re-validation on the hot path. */
const trusted = { disableValidation: true } as const

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
 * Matches compiled patterns against one request, remembering each pattern's result: entries share
 * path lists (every identity entry has the same ~70 patterns), so each pattern is tried once.
 */
class RequestPatterns {
  private readonly results = new Map<Pattern, Captures | null>()
  private readonly matchers = new Map<CompiledMatcher, Captures | null>()
  constructor(private readonly segments: ReadonlyArray<Segment>) {}

  /** The captures of the first matching path, unless an `except` pattern matches. */
  matcher(matcher: CompiledMatcher): Captures | undefined {
    let result = this.matchers.get(matcher)
    if (result === undefined) {
      const captures = this.first(matcher.paths)
      result = captures !== undefined && this.first(matcher.except) === undefined ? captures : null
      this.matchers.set(matcher, result)
    }
    return result ?? undefined
  }

  first(patterns: ReadonlyArray<Pattern>): Captures | undefined {
    for (const compiled of patterns) {
      let result = this.results.get(compiled)
      if (result === undefined) {
        result = matchPattern(compiled, this.segments) ?? null
        this.results.set(compiled, result)
      }
      if (result !== null) return result
    }
    return undefined
  }
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

/**
 * The first path segment a pattern requires, or undefined when it can start with anything.
 */
const firstSegment = (source: string): string | undefined => {
  const first = pattern(source).tokens[0]
  return first !== undefined && first._tag === "Literal" && !first.prefix ? first.name : undefined
}

/**
 * An index of the items (entries or services) whose paths can match a request, by the request's
 * first path segment. Candidate lists keep catalogue order.
 */
class FirstSegmentIndex {
  private readonly byName = new Map<string, Array<number>>()
  private readonly anywhere: Array<number> = []
  private readonly merged = new Map<string, ReadonlyArray<number>>()

  constructor(pathsOf: ReadonlyArray<ReadonlyArray<string>>) {
    pathsOf.forEach((paths, index) => {
      const names = paths.map(firstSegment)
      if (names.some((name) => name === undefined)) {
        this.anywhere.push(index)
        return
      }
      for (const name of new Set(names as Array<string>)) {
        const list = this.byName.get(name) ?? []
        list.push(index)
        this.byName.set(name, list)
      }
    })
  }

  candidates(segment: string | undefined): ReadonlyArray<number> {
    const specific = segment === undefined ? undefined : this.byName.get(segment)
    if (specific === undefined) return this.anywhere
    let merged = this.merged.get(segment!)
    if (merged === undefined) {
      merged = [...specific, ...this.anywhere].sort((x, y) => x - y)
      this.merged.set(segment!, merged)
    }
    return merged
  }
}

interface CompiledMatcher {
  readonly paths: ReadonlyArray<Pattern>
  readonly except: ReadonlyArray<Pattern>
}

interface Compiled {
  readonly entries: FirstSegmentIndex
  readonly services: FirstSegmentIndex
  readonly limits: ReadonlyArray<Limit | undefined>
  readonly entryPatterns: ReadonlyArray<CompiledMatcher>
  readonly servicePatterns: ReadonlyArray<CompiledMatcher>
}

const compiledCatalogs = new WeakMap<Catalog, Compiled>()

const compiled = (catalog: Catalog): Compiled => {
  let found = compiledCatalogs.get(catalog)
  if (found === undefined) {
    // One matcher per distinct path list, so that a request tries each list once.
    const matchers = new Map<string, CompiledMatcher>()
    const shared = (paths: ReadonlyArray<string>, except: ReadonlyArray<string>): CompiledMatcher => {
      const key = JSON.stringify([paths, except])
      let matcher = matchers.get(key)
      if (matcher === undefined) {
        matcher = { paths: paths.map(pattern), except: except.map(pattern) }
        matchers.set(key, matcher)
      }
      return matcher
    }
    found = {
      entries: new FirstSegmentIndex(catalog.entries.map((entry) => entry.match.paths)),
      services: new FirstSegmentIndex(catalog.services.map((service) => service.area)),
      limits: catalog.entries.map((entry) => toBucketLimit(entry.limit)),
      entryPatterns: catalog.entries.map((entry) => shared(entry.match.paths, entry.match.except)),
      servicePatterns: catalog.services.map((service) => shared(service.area, service.except))
    }
    compiledCatalogs.set(catalog, found)
  }
  return found
}

const servicesOf = (catalog: Catalog, request: NormalizedRequest, patterns: RequestPatterns): Array<ServiceId> => {
  const index = compiled(catalog)
  const result: Array<ServiceId> = []
  for (const i of index.services.candidates(request.segments[0]?.name)) {
    if (patterns.matcher(index.servicePatterns[i]!) !== undefined) result.push(catalog.services[i]!.id)
  }
  return result
}

/** @internal */
export const serviceMatches = (catalog: Catalog, request: NormalizedRequest): ReadonlyArray<ServiceId> =>
  servicesOf(catalog, request, new RequestPatterns(request.segments))

/**
 * The entries whose matcher and conditions hold, with their captures, after dropping `fallback`
 * entries of any group in which a non-fallback entry matched.
 */
const entriesOf = (
  catalog: Catalog,
  request: NormalizedRequest,
  context: ClassifyContext,
  patterns: RequestPatterns
): ReadonlyArray<{ readonly entry: LimitEntry; readonly index: number; readonly captures: Captures }> => {
  const index = compiled(catalog)
  const matched: Array<{ entry: LimitEntry; index: number; captures: Captures }> = []
  const decided = new Set<string>()
  for (const i of index.entries.candidates(request.segments[0]?.name)) {
    const entry = catalog.entries[i]!
    if (!conditionsHold(entry.when, context)) continue
    const matcher = entry.match
    if (matcher.methods.length > 0 && !matcher.methods.some((method) => method === request.method)) continue
    if (!matcher.query.every((condition) => queryHolds(condition, request.query))) continue
    const captures = patterns.matcher(index.entryPatterns[i]!)
    if (captures === undefined) continue
    matched.push({ entry, index: i, captures })
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
  const patterns = new RequestPatterns(request.segments)
  const services = new Set<ServiceId>(servicesOf(catalog, request, patterns))
  const matched = entriesOf(catalog, request, context, patterns)
  let identity: IdentityCost | undefined
  const needsIdentity = services.has("identityAccess") ||
    matched.some(({ entry }) =>
      (entry.limit._tag === "Rate" || entry.limit._tag === "TokenBucket") &&
      (entry.limit.cost === "identityResourceUnits" || entry.limit.cost === "identityWriteCost")
    )
  if (needsIdentity) identity = priceIdentity(catalog.identityCosts, request, context)

  const limits = compiled(catalog).limits
  const demands: Array<Demand> = []
  const skipped: Array<Skipped> = []
  for (const { captures, entry, index } of matched) {
    services.add(entry.service)
    const limit = entry.limit
    if (limit._tag === "Unpublished") {
      skipped.push(new Skipped({ entryId: entry.id, reason: "unpublished", detail: limit.statement }, trusted))
      continue
    }
    if (entry.notModelled !== undefined) {
      skipped.push(new Skipped({ entryId: entry.id, reason: "notModelled", detail: entry.notModelled }, trusted))
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
        new Skipped({ entryId: entry.id, reason: "missingKey", detail: `the request does not identify its ${missing}` }, trusted)
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
      skipped.push(new Skipped({ entryId: entry.id, reason: "zeroCost", detail }, trusted))
      continue
    }
    demands.push(
      new Demand({
        key: [entry.bucket ?? entry.id, ...parts].join("/"),
        entryId: entry.id,
        service: entry.service,
        scope: limit.scope,
        limit: limits[index]!,
        cost,
        retryAfter: entry.retryAfter
      }, trusted)
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
  }, trusted)
}

/** @internal */
export const classify = (catalog: Catalog, request: ClassifyRequest, context: ClassifyContext): Classification =>
  classifyNormalized(catalog, normalizeRequest(request, context), context)
