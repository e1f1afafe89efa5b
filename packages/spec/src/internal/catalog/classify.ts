/**
 * Classification of one request against a catalogue: which services it touches, which entries
 * match, and the demand it places on each bucket.
 *
 * @internal
 */
import { ConcurrencyLimit, Demand, type Limit, TokenBucketLimit, WindowLimit } from "../../Bucket.js"
import type {
  Catalog,
  Classification,
  ClassifyContext,
  ClassifyRequest,
  Conditions,
  IdentityCost,
  KeyPart,
  LimitEntry,
  QueryCondition,
  ServiceId,
  ServiceInfo,
  Skipped,
  Window
} from "../../LimitCatalog.js"
import type { Models } from "./models.js"
import { actorKey, type NormalisedRequest, normaliseRequest } from "./request.js"
import { identityModifiers, type IdentityPathMatch, matchIdentityPath, priceIdentityPath } from "../cost/identity.js"
import {
  type CapturePositions,
  type Captures,
  matchPositions,
  type Pattern,
  pattern,
  readCaptures,
  type Segment,
  shapeOf,
  type Vocabulary,
  vocabularyOf
} from "./urlPattern.js"

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
  private readonly results = new Map<Pattern, CapturePositions | null>()
  private readonly matchers = new Map<CompiledMatcher, CapturePositions | null>()
  constructor(private readonly segments: ReadonlyArray<Segment>) {}

  /** Where the first matching path captured, unless an `except` pattern matches. */
  matcher(matcher: CompiledMatcher): CapturePositions | undefined {
    let result = this.matchers.get(matcher)
    if (result === undefined) {
      const positions = this.first(matcher.paths)
      result = positions !== undefined && this.first(matcher.except) === undefined ? positions : null
      this.matchers.set(matcher, result)
    }
    return result ?? undefined
  }

  first(patterns: ReadonlyArray<Pattern>): CapturePositions | undefined {
    for (const compiled of patterns) {
      let result = this.results.get(compiled)
      if (result === undefined) {
        result = matchPositions(compiled, this.segments) ?? null
        this.results.set(compiled, result)
      }
      if (result !== null) return result
    }
    return undefined
  }
}

/**
 * A map that keeps at most `capacity` keys and forgets the least recently used ones first, in two
 * generations: hits in the young generation cost one lookup; a hit in the old generation moves the
 * key to the young one; when the young generation is full it becomes the old one and the previous
 * old one is dropped. (A strict LRU reorders a Map on every hit, which cost more than the lookup.)
 *
 * @internal
 */
export class LruCache<K, V> {
  private young = new Map<K, V>()
  private old = new Map<K, V>()
  private readonly generation: number
  /** At least 2: each generation holds half. */
  readonly capacity: number

  constructor(capacity: number) {
    this.capacity = Math.max(2, Math.floor(capacity))
    this.generation = Math.floor(this.capacity / 2)
  }

  /** How many keys are held, never more than `capacity`. */
  get size(): number {
    return this.young.size + this.old.size
  }

  get(key: K): V | undefined {
    const value = this.young.get(key)
    if (value !== undefined) return value
    const aged = this.old.get(key)
    if (aged !== undefined) {
      this.old.delete(key)
      this.insert(key, aged)
    }
    return aged
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value)
      return
    }
    this.old.delete(key)
    this.insert(key, value)
  }

  private insert(key: K, value: V): void {
    if (this.young.size >= this.generation) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(key, value)
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
  request: NormalisedRequest,
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

/**
 * What matching a method and path shape found, before the query, the body and the context are
 * looked at. Valid for every request whose method and {@link shapeOf} shape are the same.
 */
interface Plan {
  /** Indices of the services whose area matches, in catalogue order. */
  readonly services: ReadonlyArray<number>
  /** Entries whose method and path match, in catalogue order, with where their captures are. */
  readonly entries: ReadonlyArray<{ readonly index: number; readonly positions: CapturePositions }>
  readonly identity: IdentityPathMatch
  /** The identity cost by {@link identityModifiers}, filled in as requests need them. */
  readonly identityCosts: Array<IdentityCost | undefined>
}

interface Compiled {
  readonly entries: FirstSegmentIndex
  readonly services: FirstSegmentIndex
  readonly limits: ReadonlyArray<Limit | undefined>
  /** What each entry's demands carry besides key and cost (see {@link demandFacts}). */
  readonly facts: ReadonlyArray<DemandFacts | undefined>
  readonly entryPatterns: ReadonlyArray<CompiledMatcher>
  readonly servicePatterns: ReadonlyArray<CompiledMatcher>
  readonly serviceOrder: ReadonlyArray<ServiceId>
  readonly vocabulary: Vocabulary
  readonly plans: LruCache<string, Plan>
  readonly skipped: Map<string, Skipped>
  readonly demands: LruCache<string, Demand>
  /**
   * Whether an entry's bucket key reads only the context (app, tenant, actor) and its cost is not
   * the body size, so that its demands per context are few: one per cost the entry can take.
   */
  readonly contextKeyed: ReadonlyArray<boolean>
  /** Demands of context-keyed entries; dropped with the context. */
  readonly contextDemands: WeakMap<ClassifyContext, Array<Map<number, Demand> | undefined>>
  /** Ids of the entries whose bucket key reads the request's body (the assessed resource). */
  readonly bodyKeyed: ReadonlySet<string>
}

/**
 * How many method and path shapes a catalogue remembers. A workload touches a few dozen; the bound
 * keeps memory flat when URLs are adversarial (every distinct literal name makes a new shape).
 *
 * @internal
 */
export const planCacheCapacity = 1024

/**
 * How many demands a catalogue remembers. A demand is an immutable value fixed by its entry, bucket
 * key and cost, and the same few (the app's global bucket, each mailbox's buckets) recur on every
 * request of a workload.
 *
 * @internal
 */
export const demandCacheCapacity = 4096

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
    const entryPatterns = catalog.entries.map((entry) => shared(entry.match.paths, entry.match.except))
    const servicePatterns = catalog.services.map((service) => shared(service.area, service.except))
    const rules = catalog.identityCosts
    // every pattern a plan depends on, so that the shape keeps every name that can change a plan
    const identityPatterns = [...rules.rows.map((row) => row.path), "users", ...rules.selectByIdsPaths].map(pattern)
    const vocabulary = vocabularyOf([
      ...[...entryPatterns, ...servicePatterns].flatMap((matcher) => [...matcher.paths, ...matcher.except]),
      ...identityPatterns
    ])
    found = {
      entries: new FirstSegmentIndex(catalog.entries.map((entry) => entry.match.paths)),
      services: new FirstSegmentIndex(catalog.services.map((service) => service.area)),
      limits: catalog.entries.map((entry) => toBucketLimit(entry.limit)),
      facts: catalog.entries.map((entry) => demandFacts(catalog, entry)),
      entryPatterns,
      servicePatterns,
      serviceOrder: catalog.services.map((service) => service.id),
      vocabulary,
      plans: new LruCache(planCacheCapacity),
      skipped: new Map(),
      demands: new LruCache(demandCacheCapacity),
      contextKeyed: catalog.entries.map((entry) =>
        entry.limit._tag !== "Unpublished" &&
        (entry.limit._tag === "Concurrent" || entry.limit.cost !== "bodyBytes") &&
        entry.limit.key.every((part) => part === "app" || part === "tenant" || part === "actor")
      ),
      contextDemands: new WeakMap(),
      bodyKeyed: new Set(
        catalog.entries
          .filter((entry) => entry.limit._tag !== "Unpublished" && entry.limit.key.includes("resource"))
          .map((entry) => entry.id)
      )
    }
    compiledCatalogs.set(catalog, found)
  }
  return found
}

/** Matches a method and path against the whole catalogue. */
const buildPlan = (catalog: Catalog, index: Compiled, method: string, segments: ReadonlyArray<Segment>): Plan => {
  const patterns = new RequestPatterns(segments)
  const first = segments[0]?.name
  const services: Array<number> = []
  for (const i of index.services.candidates(first)) {
    if (patterns.matcher(index.servicePatterns[i]!) !== undefined) services.push(i)
  }
  const entries: Array<{ index: number; positions: CapturePositions }> = []
  for (const i of index.entries.candidates(first)) {
    const methods = catalog.entries[i]!.match.methods
    if (methods.length > 0 && !methods.some((candidate) => candidate === method)) continue
    const positions = patterns.matcher(index.entryPatterns[i]!)
    if (positions !== undefined) entries.push({ index: i, positions })
  }
  return {
    services,
    entries,
    identity: matchIdentityPath(catalog.identityCosts, method, segments),
    identityCosts: []
  }
}

const planOf = (catalog: Catalog, method: string, segments: ReadonlyArray<Segment>, cached: boolean): Plan => {
  const index = compiled(catalog)
  if (!cached) return buildPlan(catalog, index, method, segments)
  const key = `${method} ${shapeOf(index.vocabulary, segments)}`
  let plan = index.plans.get(key)
  if (plan === undefined) {
    plan = buildPlan(catalog, index, method, segments)
    index.plans.set(key, plan)
  }
  return plan
}

/**
 * How many plans a catalogue holds, and its bound.
 *
 * @internal
 */
export const planCacheSize = (catalog: Catalog): { readonly size: number; readonly capacity: number } => {
  const plans = compiled(catalog).plans
  return { size: plans.size, capacity: plans.capacity }
}

/** @internal */
export const serviceMatches = (catalog: Catalog, request: NormalisedRequest): ReadonlyArray<ServiceInfo> =>
  planOf(catalog, request.method, request.segments, true).services.map((i) => catalog.services[i]!)

/** Skip records depend only on the entry and the reason: share them between classifications. */
const skippedOf = (
  models: Models,
  index: Compiled,
  entryId: string,
  reason: Skipped["reason"],
  detail: string
): Skipped => {
  const key = `${entryId}\u0000${reason}\u0000${detail}`
  let found = index.skipped.get(key)
  if (found === undefined) {
    found = new models.Skipped({ entryId, reason, detail }, trusted)
    index.skipped.set(key, found)
  }
  return found
}

type PublishedLimit = Exclude<LimitEntry["limit"], { readonly _tag: "Unpublished" }>

/**
 * What the catalogue knows about an entry's limit, copied onto each of its demands: the entry's
 * measure and cost basis (a concurrency limit counts concurrent requests, one per request), whether
 * it is a write quota (it counts write requests), and its service's family and batch behaviour.
 *
 * @internal
 */
export type DemandFacts = Pick<Demand, "measure" | "costBasis" | "writeQuota" | "family" | "batchWithinCap">

/**
 * The {@link DemandFacts} of an entry of `catalog`; `undefined` for an unpublished limit, which
 * makes no demand. A service the catalogue does not list has the defaults of `ServiceInfo`.
 *
 * @internal
 */
export const demandFacts = (catalog: Catalog, entry: LimitEntry): DemandFacts | undefined => {
  const limit = entry.limit
  if (limit._tag === "Unpublished") return undefined
  const service = catalog.services.find((s) => s.id === entry.service)
  const measure = limit._tag === "Concurrent" ? "concurrentRequests" : limit.measure
  return {
    measure,
    costBasis: limit._tag === "Concurrent" ? "request" : limit.cost,
    writeQuota: measure === "writeRequests",
    family: service?.family ?? "other",
    batchWithinCap: service?.batchWithinCap ?? false
  }
}

const makeDemand = (
  index: Compiled,
  entry: LimitEntry,
  limit: PublishedLimit,
  i: number,
  parts: ReadonlyArray<string>,
  cost: number
): Demand =>
  new Demand({
    key: parts.length === 0 ? (entry.bucket ?? entry.id) : `${entry.bucket ?? entry.id}/${parts.join("/")}`,
    entryId: entry.id,
    service: entry.service,
    scope: limit.scope,
    limit: index.limits[i]!,
    cost,
    retryAfter: entry.retryAfter,
    ...index.facts[i]!
  }, trusted)

/** The demands of a context's context-keyed entries, by entry and cost. */
const contextDemandsOf = (index: Compiled, context: ClassifyContext): Array<Map<number, Demand> | undefined> => {
  let found = index.contextDemands.get(context)
  if (found === undefined) {
    found = []
    index.contextDemands.set(context, found)
  }
  return found
}

const classifyWith = (
  models: Models,
  catalog: Catalog,
  request: NormalisedRequest,
  context: ClassifyContext,
  cached: boolean
): Classification => {
  const index = compiled(catalog)
  const plan = planOf(catalog, request.method, request.segments, cached)
  const services = new Set<ServiceId>()
  for (const i of plan.services) services.add(catalog.services[i]!.id)

  // the entries whose conditions and query conditions hold, after dropping the `fallback` entries
  // of any group in which a non-fallback entry matched
  const candidates: Array<{ entry: LimitEntry; index: number; positions: CapturePositions }> = []
  const decided = new Set<string>()
  for (const { index: i, positions } of plan.entries) {
    const entry = catalog.entries[i]!
    if (!conditionsHold(entry.when, context)) continue
    if (!entry.match.query.every((condition) => queryHolds(condition, request.query))) continue
    candidates.push({ entry, index: i, positions })
    if (!entry.fallback) decided.add(entry.group)
  }
  const matched = decided.size === 0
    ? candidates
    : candidates.filter(({ entry }) => !(entry.fallback && decided.has(entry.group)))

  let identity: IdentityCost | undefined
  const needsIdentity = plan.services.some((i) => catalog.services[i]!.family === "identityAndAccess") ||
    matched.some(({ entry }) =>
      (entry.limit._tag === "Rate" || entry.limit._tag === "TokenBucket") &&
      (entry.limit.cost === "identityResourceUnits" || entry.limit.cost === "identityWriteCost")
    )
  if (needsIdentity) {
    const modifiers = identityModifiers(catalog.identityCosts, request.query, context)
    identity = plan.identityCosts[modifiers]
    if (identity === undefined) {
      identity = priceIdentityPath(models, catalog.identityCosts, request.method, plan.identity, modifiers)
      plan.identityCosts[modifiers] = identity
    }
  }

  const demands: Array<Demand> = []
  const skipped: Array<Skipped> = []
  let byContext: Array<Map<number, Demand> | undefined> | undefined
  let capturedAt: CapturePositions | undefined
  let captures: Captures = {}
  for (const { entry, index: i, positions } of matched) {
    services.add(entry.service)
    const limit = entry.limit
    if (limit._tag === "Unpublished") {
      skipped.push(skippedOf(models, index, entry.id, "unpublished", limit.statement))
      continue
    }
    if (entry.notModelled !== undefined) {
      skipped.push(skippedOf(models, index, entry.id, "notModelled", entry.notModelled))
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
    // a key made of the context alone never misses a part, and its demand recurs on every request
    // of that context
    if (cached && index.contextKeyed[i] && cost > 0) {
      byContext ??= contextDemandsOf(index, context)
      const perCost = byContext[i] ??= new Map()
      let demand = perCost.get(cost)
      if (demand === undefined) {
        demand = makeDemand(index, entry, limit, i, limit.key.map((part) => resolvePart(part, captures, request, context)!), cost)
        perCost.set(cost, demand)
      }
      demands.push(demand)
      continue
    }
    if (positions !== capturedAt) {
      captures = readCaptures(positions, request.segments)
      capturedAt = positions
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
      skipped.push(skippedOf(models, index, entry.id, "missingKey", `the request does not identify its ${missing}`))
      continue
    }
    if (!(cost > 0)) {
      const detail = limit._tag !== "Concurrent" && limit.cost === "bodyBytes" && request.bodyBytes === undefined
        ? "the request's body size is not known"
        : "the request costs nothing against this limit"
      skipped.push(skippedOf(models, index, entry.id, "zeroCost", detail))
      continue
    }
    if (!cached) {
      demands.push(makeDemand(index, entry, limit, i, parts, cost))
      continue
    }
    const demandKey = `${i} ${cost} ${parts.join("/")}`
    let demand = index.demands.get(demandKey)
    if (demand === undefined) {
      demand = makeDemand(index, entry, limit, i, parts, cost)
      index.demands.set(demandKey, demand)
    }
    demands.push(demand)
  }

  return new models.Classification({
    method: request.method,
    path: request.path,
    services: index.serviceOrder.filter((id) => services.has(id)),
    entries: matched.map(({ entry }) => entry.id),
    demands,
    skipped,
    ...(identity !== undefined ? { identity } : {})
  }, trusted)
}

/**
 * Whether a classification read the request's body beyond its size: it matched an entry whose
 * bucket key is the assessed resource. Any other classification is fixed by the context, the method,
 * the URL and the body size, so it holds for every request that has those.
 *
 * @internal
 */
export const readsBody = (catalog: Catalog, classification: Classification): boolean => {
  const keyed = compiled(catalog).bodyKeyed
  if (keyed.size === 0) return false
  for (const id of classification.entries) if (keyed.has(id)) return true
  return false
}

/**
 * The classifying functions, building their results with the models of `LimitCatalog.ts`.
 *
 * @internal
 */
export interface Classifier {
  /**
   * Classifies a request. Matching is planned once per method and path shape (see
   * {@link shapeOf}) and the plan is kept in a bounded cache; the query, body and context are read
   * on every call.
   */
  readonly classify: (catalog: Catalog, request: ClassifyRequest, context: ClassifyContext) => Classification
  /**
   * `classify` without its caches: every request is matched against the catalogue afresh, and
   * every demand and identity cost is built anew. The reference the caches are tested against.
   */
  readonly classifyUncached: (catalog: Catalog, request: ClassifyRequest, context: ClassifyContext) => Classification
}

/** @internal */
export const makeClassifier = (models: Models): Classifier => ({
  classify: (catalog, request, context) =>
    classifyWith(models, catalog, normaliseRequest(request, context), context, true),
  classifyUncached: (catalog, request, context) =>
    classifyWith(models, catalog, normaliseRequest(request, context), context, false)
})
