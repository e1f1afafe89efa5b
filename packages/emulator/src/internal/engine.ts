/**
 * The emulator's engine: one HTTP request in, one answer out. It validates batches, runs items in
 * Graph's order, enforces limits with its own accounting, serves the stateful resources, injects
 * faults and writes the audit log. All time comes from the Effect `Clock`, all chance from seeded
 * `Random` instances.
 *
 * @internal
 */
import { BatchResponse, Bucket } from "@effect-msgraph/core"
import { Clock, Duration, Effect, Either, Random, Schema } from "effect"
import type { AuditEntry, Priority } from "../Audit.js"
import type { Faults, ItemFault, Phase } from "../Faults.js"
import { Accounting, type Enforced } from "./accounting.js"
import { errorBody, errorOutcome, formatRetryAfter, type Outcome, type Stamp, throttledBody } from "./responses.js"
import { Store, type StoreOptions } from "./resources.js"
import { parseRelative, type ParsedUrl, type Service, serviceOf } from "./routing.js"
import { validate, type ValidBatch } from "./validation.js"

/** What the classifier sees of a request. @internal */
export interface ClassifyRequest {
  readonly method: string
  /** Relative to the version root, with its query, e.g. `/users?$top=5`. */
  readonly url: string
  readonly bodyBytes: number | undefined
  /** The decoded body: JSON, or bytes for binary content. */
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

/** Who is calling, as the token would tell Graph. @internal */
export interface ClassifyContext {
  readonly tenantId: string
  readonly appId: string
  readonly userId: string
  readonly delegated: boolean
  readonly tenantSize: "S" | "M" | "L"
  readonly b2c: boolean
}

/** Turns a request into the documented demands it places on Graph's limits. @internal */
export type Classifier = (request: ClassifyRequest, context: ClassifyContext) => ReadonlyArray<Bucket.Demand>

/** Latency of one service: `baseMillis` plus a uniform draw in `[0, jitterMillis)`. @internal */
export interface LatencyModel {
  readonly baseMillis: number
  readonly jitterMillis: number
}

/** @internal */
export interface Resolved {
  readonly context: ClassifyContext
  readonly seed: number
  readonly multiplier: (service: string) => number
  readonly overrides: ReadonlyMap<string, Bucket.Limit>
  readonly classify: Classifier
  readonly latency: (service: Service) => LatencyModel
  /** What every HTTP call costs before anything in it runs: connection, authentication, the envelope. */
  readonly roundTrip: LatencyModel
  readonly baseUrl: string | undefined
  readonly store: StoreOptions
  readonly auditCapacity: number
  /** `exact`: decimal seconds when the wait is not whole; `seconds`: rounded up to whole seconds. */
  readonly retryAfter: "exact" | "seconds"
  /** The emulator's assumed SharePoint/OneDrive budget (Graph's page publishes none). */
  readonly filesLimit: Bucket.WindowLimit | undefined
  readonly faults: Faults
}

/** One HTTP request as the engine sees it. @internal */
export interface HttpIn {
  readonly method: string
  /** Path and query, e.g. `/v1.0/$batch`. */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** @internal */
export type HttpOut =
  | {
    readonly _tag: "Respond"
    readonly status: number
    readonly headers: Record<string, string>
    readonly body: string | Uint8Array
  }
  | { readonly _tag: "Drop" }

interface Item {
  readonly id: string | undefined
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  /** For a batch item, the `client-request-id` header of the `$batch` request that carried it. */
  readonly batchClientRequestId?: string | undefined
}

interface Prepared {
  readonly item: Item
  readonly parsed: ParsedUrl
  readonly service: Service
  readonly priority: Priority
  readonly clientRequestId: string
  readonly demands: ReadonlyArray<Bucket.Demand>
  readonly enforced: ReadonlyArray<Enforced>
  readonly dependsOn: ReadonlyArray<string>
  readonly httpRequest: number
  readonly context: ClassifyContext
  readonly root: string
}

interface Ticket {
  readonly prepared: Prepared
  readonly seq: number
  readonly requestId: string
  readonly startedAt: number
  readonly headers: Record<string, string>
}

const priorities: Record<string, Priority> = { low: "low", normal: "normal", high: "high" }
const priorityRank: Record<Priority, number> = { high: 0, normal: 1, low: 2 }

const headerOf = (headers: Readonly<Record<string, string>> | undefined, name: string): string | undefined => {
  if (headers === undefined) return undefined
  const lower = name.toLowerCase()
  for (const key in headers) if (key.toLowerCase() === lower) return headers[key]
  return undefined
}

/**
 * The `client-request-id` an item's error body echoes: its own header, else (inside a batch) the
 * batch request's. Without either, the error body falls back to the request id (see `errorBody`).
 */
const echoedClientRequestId = (item: Item): string | undefined =>
  headerOf(item.headers, "client-request-id") ?? item.batchClientRequestId

/** A path that still starts with a version segment (`/v1.0/users` inside a batch): the segment. */
const versionSegment = (parsed: ParsedUrl): string | undefined => {
  const first = parsed.segments[0]
  return first !== undefined && /^(v1\.0|beta)$/i.test(first) ? first : undefined
}

/** FNV-1a, 32 bits, as 8 hex digits: a stable fingerprint of an item. @internal */
export const fingerprint = (text: string): string => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, "0")
}

const bodyText = (body: unknown): string =>
  body === undefined ? "" : body instanceof Uint8Array ? Buffer.from(body).toString("base64") : JSON.stringify(body)

const writeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** Identity and access demands: the ones that earn the `x-ms-*` headers. */
const isIdentity = (demand: Bucket.Demand): boolean => demand.service === "identityAccess" || demand.service === "identity"

/** An identity write quota ("3,000 requests per 2 minutes and 30 seconds", ...) rather than resource units. */
const isWriteQuota = (demand: Bucket.Demand, method: string): boolean =>
  /write/i.test(demand.entryId) || (demand.limit._tag !== "TokenBucket" && writeMethods.has(method))
const isFiles = (demand: Bucket.Demand): boolean => /files|sharepoint|onedrive/i.test(demand.service)

const scaled = new Map<string, Bucket.Limit>()

/**
 * The limit times the multiplier, memoised: building a limit validates it, and this runs per item.
 * Counts (a window's limit, concurrency permits) round down and stay at least 1; a token bucket
 * scales its capacity (at least 1) and its refill rate.
 *
 * @internal
 */
export const scale = (limit: Bucket.Limit, m: number): Bucket.Limit => {
  if (m === 1) return limit
  const id = limit._tag === "Window"
    ? `W${limit.limit}/${limit.windowMillis}*${m}`
    : limit._tag === "TokenBucket"
    ? `T${limit.capacity}/${limit.refillPerSecond}*${m}`
    : `C${limit.permits}*${m}`
  let known = scaled.get(id)
  if (known === undefined) {
    known = scaleNow(limit, m)
    if (scaled.size >= 10_000) scaled.clear()
    scaled.set(id, known)
  }
  return known
}

const scaleNow = (limit: Bucket.Limit, m: number): Bucket.Limit => {
  switch (limit._tag) {
    case "Window":
      return new Bucket.WindowLimit({ limit: Math.max(1, Math.floor(limit.limit * m)), windowMillis: limit.windowMillis })
    case "TokenBucket":
      return new Bucket.TokenBucketLimit({ capacity: Math.max(1, limit.capacity * m), refillPerSecond: limit.refillPerSecond * m })
    case "Concurrency":
      return new Bucket.ConcurrencyLimit({ permits: Math.max(1, Math.floor(limit.permits * m)) })
  }
}

const throttleScopeName = (scope: Bucket.Scope): string =>
  scope === "tenant" ? "Tenant" : scope === "app" ? "Application" : "Tenant_Application"


const batchResponseEncoder = Schema.encodeEither(BatchResponse.BatchResponseEnvelope)

/** No fault configured: nothing to draw (the same answer as the loops over none, without their steps). */
const noFault: Effect.Effect<undefined> = Effect.succeed(undefined)

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** @internal */
export class Engine {
  readonly accounting = new Accounting()
  readonly store: Store
  private readonly entries: Array<AuditEntry> = []
  private auditDropped = 0
  private seq = 0
  private httpSeq = 0
  private idSeq = 0
  faults: Faults
  private readonly orderRandom: Random.Random
  private readonly faultRandom: Random.Random
  private readonly latencyRandom: Random.Random
  private readonly roundTripRandom: Random.Random

  constructor(readonly options: Resolved) {
    this.store = new Store(options.store)
    this.faults = options.faults
    this.orderRandom = Random.make(`order:${options.seed}`)
    this.faultRandom = Random.make(`faults:${options.seed}`)
    this.latencyRandom = Random.make(`latency:${options.seed}`)
    // a stream of its own, so the item latencies a seed gives do not depend on the round trips
    this.roundTripRandom = Random.make(`roundTrip:${options.seed}`)
  }

  /** The audit log, oldest first, and how many old entries were dropped to bound memory. */
  audit(): { readonly entries: ReadonlyArray<AuditEntry>; readonly dropped: number } {
    const excess = Math.max(0, this.entries.length - this.options.auditCapacity)
    return { entries: this.entries.slice(excess), dropped: this.auditDropped + excess }
  }

  clearAudit(): void {
    this.entries.length = 0
    this.auditDropped = 0
  }

  /** Equal demands share one object in the audit log, which keeps a long log small. */
  private readonly interned = new Map<string, Bucket.Demand>()

  private intern(demands: ReadonlyArray<Bucket.Demand>): ReadonlyArray<Bucket.Demand> {
    return demands.map((d) => {
      const limit = d.limit
      const shape = limit._tag === "Window"
        ? `${limit.limit}/${limit.windowMillis}`
        : limit._tag === "TokenBucket"
        ? `${limit.capacity}/${limit.refillPerSecond}`
        : `${limit.permits}`
      const id = `${d.entryId}\u0000${d.key}\u0000${d.cost}\u0000${d.retryAfter}\u0000${limit._tag}\u0000${shape}`
      const known = this.interned.get(id)
      if (known !== undefined) return known
      if (this.interned.size >= 100_000) this.interned.clear()
      this.interned.set(id, d)
      return d
    })
  }

  private newId = (): string => {
    const n = ++this.idSeq
    const hex = n.toString(16).padStart(12, "0")
    const seed = (this.options.seed >>> 0).toString(16).padStart(8, "0")
    return `${seed}-0000-4000-8000-${hex}`
  }

  private roll(rate: number | undefined): Effect.Effect<boolean> {
    if (rate === undefined || rate <= 0) return Effect.succeed(false)
    if (rate >= 1) return Effect.succeed(true)
    return Effect.map(this.faultRandom.next, (r) => r < rate)
  }

  private record(entry: Omit<AuditEntry, "seq"> & { readonly seq: number }): void {
    this.entries.push(entry)
    // Trim in steps of a tenth of the capacity so that a full log does not move on every entry.
    const cap = this.options.auditCapacity
    if (this.entries.length > cap + Math.ceil(cap / 10)) {
      const excess = this.entries.length - cap
      this.entries.splice(0, excess)
      this.auditDropped += excess
    }
  }

  handle(request: HttpIn): Effect.Effect<HttpOut> {
    const self = this
    return Effect.gen(function*() {
      const httpRequest = ++self.httpSeq
      // the round trip's own cost comes first: nothing in the call runs before it has arrived
      const roundTrip = self.options.roundTrip
      if (roundTrip.baseMillis > 0 || roundTrip.jitterMillis > 0) {
        const r = yield* self.roundTripRandom.next
        yield* Effect.sleep(Duration.millis(Math.round(roundTrip.baseMillis + r * roundTrip.jitterMillis)))
      }
      if (httpRequest % 1024 === 0) self.accounting.sweep(yield* Clock.currentTimeMillis)
      const now = yield* Clock.currentTimeMillis
      const stamp: Stamp = { requestId: self.newId(), clientRequestId: headerOf(request.headers, "client-request-id"), now }
      const match = /^\/(v1\.0|beta)(\/[^?]*)?(\?.*)?$/.exec(request.url)
      if (match === null) {
        return respondOutcome(errorOutcome(400, "BadRequest", "Invalid version: the path must start with /v1.0/ or /beta/.", stamp))
      }
      const version = match[1]!
      const rest = (match[2] ?? "/") + (match[3] ?? "")
      const context = self.contextOf(request.headers)
      const root = `${self.options.baseUrl ?? hostRoot(request.headers)}/${version}`
      const drop = self.faults.dropConnection
      const dropPhase: Phase = drop?.phase ?? "before"
      if (dropPhase === "before" && (yield* self.roll(drop?.rate))) return { _tag: "Drop" } as const
      const isBatch = /^\/\$batch\/?$/i.test(match[2] ?? "")
      if (!isBatch) {
        let body: unknown = undefined
        if (request.body.length > 0) {
          const contentType = headerOf(request.headers, "content-type") ?? "application/json"
          if (/json/i.test(contentType)) {
            try {
              body = JSON.parse(decoder.decode(request.body))
            } catch {
              return respondOutcome(errorOutcome(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", stamp))
            }
          } else {
            body = request.body
          }
        }
        const item: Item = { id: undefined, method: request.method.toUpperCase(), url: rest, headers: request.headers, body }
        const clientRequestId = headerOf(request.headers, "client-request-id") ?? `http-${httpRequest}`
        const prepared = self.prepare(item, clientRequestId, [], httpRequest, context, root)
        const outcome = yield* self.runOne(prepared)
        if (dropPhase === "after" && (yield* self.roll(drop?.rate))) return { _tag: "Drop" } as const
        return respondOutcome(outcome)
      }
      if (request.method.toUpperCase() !== "POST") {
        return respondOutcome(errorOutcome(405, "BadRequest", "The $batch endpoint accepts only POST.", stamp))
      }
      const batchFault = yield* self.pickBatchFault("before")
      if (batchFault !== undefined) return respondOutcome(batchFaultOutcome(batchFault, stamp))
      const valid = validate(decoder.decode(request.body))
      if (Either.isLeft(valid)) {
        return respondOutcome(errorOutcome(400, "BadRequest", valid.left.message, stamp))
      }
      const responses = yield* self.runBatch(valid.right, httpRequest, context, root, stamp.clientRequestId)
      if (dropPhase === "after" && (yield* self.roll(drop?.rate))) return { _tag: "Drop" } as const
      const lateFault = yield* self.pickBatchFault("after")
      if (lateFault !== undefined) return respondOutcome(batchFaultOutcome(lateFault, { ...stamp, now: yield* Clock.currentTimeMillis }))
      let kept = responses
      if (responses.length > 0 && (yield* self.roll(self.faults.missingItem?.rate))) {
        const drop = yield* self.faultRandom.nextIntBetween(0, responses.length)
        kept = responses.filter((_, i) => i !== drop)
      }
      // Only byte bodies change when encoded (to base64); skip the schema pass otherwise.
      const encoded = kept.some((r) => r.body instanceof Uint8Array) ? batchResponseEncoder({ responses: kept }) : Either.right({ responses: kept })
      const json = Either.isRight(encoded) ? JSON.stringify(encoded.right) : JSON.stringify({ responses: kept })
      const malformed = yield* self.roll(self.faults.malformedJson?.rate)
      return {
        _tag: "Respond",
        status: 200,
        headers: { "Content-Type": "application/json", "request-id": stamp.requestId },
        body: malformed ? json.slice(0, Math.max(1, Math.floor(json.length / 2))) : json
      } as const
    })
  }

  private pickBatchFault(phase: Phase): Effect.Effect<{ status: number; retryAfterSeconds?: number } | undefined> {
    if (this.faults.batches === undefined || this.faults.batches.length === 0) return noFault
    const self = this
    return Effect.gen(function*() {
      for (const fault of self.faults.batches ?? []) {
        if ((fault.phase ?? "before") !== phase) continue
        if (yield* self.roll(fault.rate)) return fault
      }
      return undefined
    })
  }

  private contextOf(headers: Readonly<Record<string, string>>): ClassifyContext {
    const base = this.options.context
    const appOnly = headerOf(headers, "x-emulator-app-only")
    return {
      ...base,
      tenantId: headerOf(headers, "x-emulator-tenant-id") ?? base.tenantId,
      appId: headerOf(headers, "x-emulator-app-id") ?? base.appId,
      userId: headerOf(headers, "x-emulator-user-id") ?? base.userId,
      delegated: appOnly === undefined ? base.delegated : appOnly.toLowerCase() !== "true"
    }
  }

  private prepare(
    item: Item,
    clientRequestId: string,
    dependsOn: ReadonlyArray<string>,
    httpRequest: number,
    context: ClassifyContext,
    root: string
  ): Prepared {
    const parsed = parseRelative(item.url)
    const service = serviceOf(parsed.segments)
    const priority = priorities[(headerOf(item.headers, "x-ms-throttle-priority") ?? "normal").toLowerCase()] ?? "normal"
    const bodyBytes = item.body === undefined ? undefined : item.body instanceof Uint8Array ? item.body.length : encoder.encode(JSON.stringify(item.body)).length
    const url = item.url.startsWith("/") ? item.url : `/${item.url}`
    const classified = this.options.classify({ method: item.method, url, bodyBytes, body: item.body, headers: item.headers }, context)
    const demands = [...classified]
    if (service === "files" && this.options.filesLimit !== undefined && !demands.some(isFiles)) {
      demands.push(new Bucket.Demand({
        key: `files/${context.appId}/${context.tenantId}`,
        entryId: "emulator.files.assumed",
        service: "files",
        scope: "appTenant",
        limit: this.options.filesLimit,
        cost: 1,
        retryAfter: true
      }))
    }
    const enforced = demands.map((demand) => ({
      demand,
      limit: this.options.overrides.get(demand.entryId) ?? scale(demand.limit, this.options.multiplier(demand.service))
    }))
    const extra = headerOf(item.headers, "x-emulator-depends-on")
    const allDeps = extra === undefined ? dependsOn : [...dependsOn, ...extra.split(",").map((s) => s.trim()).filter((s) => s !== "")]
    return { item, parsed, service, priority, clientRequestId, demands, enforced, dependsOn: allDeps, httpRequest, context, root }
  }

  /** Item faults, then admission. Either a final outcome (503/504/429) or a ticket to perform. */
  private admit(p: Prepared): Effect.Effect<Either.Either<Ticket, Outcome>> {
    const self = this
    return Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const seq = ++self.seq
      const requestId = self.newId()
      const stamp: Stamp = { requestId, clientRequestId: echoedClientRequestId(p.item), now }
      // Graph resolves a batch item's URL against the batch's version; a repeated version is a path
      // segment it cannot find, answered before anything runs.
      const versioned = versionSegment(p.parsed)
      if (versioned !== undefined) {
        const outcome = errorOutcome(400, "BadRequest", `Resource not found for the segment '${versioned}'.`, stamp)
        self.audited(p, seq, requestId, outcome, now, now, false, false)
        return Either.left(outcome)
      }
      const fault = yield* self.pickItemFault(p, "before")
      if (fault !== undefined) {
        const outcome = itemFaultOutcome(fault, stamp)
        self.audited(p, seq, requestId, outcome, now, now, false, false)
        return Either.left(outcome)
      }
      const verdict = self.accounting.tryAdmit(p.enforced, now)
      if (verdict._tag === "Throttled") {
        const outcome: Outcome = {
          status: 429,
          headers: { "Cache-Control": "no-cache", "Content-Type": "application/json" },
          body: throttledBody(stamp)
        }
        const by = verdict.by
        if (by.demand.retryAfter) {
          const millis = self.options.retryAfter === "seconds" ? Math.ceil(verdict.retryAfterMillis / 1000) * 1000 : verdict.retryAfterMillis
          outcome.headers["Retry-After"] = formatRetryAfter(millis)
        }
        if (isIdentity(by.demand)) {
          const write = isWriteQuota(by.demand, p.item.method)
          outcome.headers["x-ms-throttle-scope"] = `${throttleScopeName(by.demand.scope)}/${write ? "Write" : "ReadWrite"}/${p.context.appId}/${p.context.tenantId}`
          outcome.headers["x-ms-throttle-information"] = write ? "WriteLimitExceeded" : "ResourceUnitLimitExceeded"
        }
        if (p.service === "files") Object.assign(outcome.headers, self.rateLimitHeaders(p, now, true))
        self.audited(p, seq, requestId, outcome, now, now, false, false)
        return Either.left(outcome)
      }
      const headers: Record<string, string> = {}
      const identity = p.enforced.filter((e) => isIdentity(e.demand))
      const units = identity.find((e) => !isWriteQuota(e.demand, p.item.method))
      if (units !== undefined) headers["x-ms-resource-unit"] = String(units.demand.cost)
      let fullest = 0
      for (const e of identity) {
        const usage = self.accounting.usage(e, now)
        if (usage.limit > 0) fullest = Math.max(fullest, usage.used / usage.limit)
      }
      if (fullest > 0.8) headers["x-ms-throttle-limit-percentage"] = String(Math.round(Math.min(1.8, fullest) * 100) / 100)
      if (p.service === "files") Object.assign(headers, self.rateLimitHeaders(p, now, false))
      return Either.right({ prepared: p, seq, requestId, startedAt: now, headers })
    })
  }

  /** The first item fault of this phase that applies to the item and strikes, if any. */
  private pickItemFault(p: Prepared, phase: Phase): Effect.Effect<ItemFault | undefined> {
    if (this.faults.items === undefined || this.faults.items.length === 0) return noFault
    const self = this
    return Effect.gen(function*() {
      for (const fault of self.faults.items ?? []) {
        if ((fault.phase ?? "before") !== phase) continue
        if (fault.service !== undefined && fault.service !== p.service && !p.demands.some((d) => d.service === fault.service)) continue
        if (yield* self.roll(fault.rate)) return fault
      }
      return undefined
    })
  }

  private rateLimitHeaders(p: Prepared, now: number, force: boolean): Record<string, string> {
    let best: { used: number; limit: number; resetMillis: number } | undefined
    for (const e of p.enforced) {
      if (!isFiles(e.demand) || e.limit._tag !== "Window") continue
      const usage = this.accounting.usage(e, now)
      if (best === undefined || usage.used / usage.limit > best.used / best.limit) best = usage
    }
    if (best === undefined || (!force && best.used / best.limit < 0.8)) return {}
    return {
      "RateLimit-Limit": String(best.limit),
      "RateLimit-Remaining": String(Math.max(0, best.limit - best.used)),
      "RateLimit-Reset": String(Math.ceil(best.resetMillis / 1000))
    }
  }

  /** Latency, then the store, then the permits go back. */
  private perform(ticket: Ticket): Effect.Effect<Outcome> {
    const self = this
    const p = ticket.prepared
    return Effect.gen(function*() {
      const model = self.options.latency(p.service)
      if (model.baseMillis > 0 || model.jitterMillis > 0) {
        const r = yield* self.latencyRandom.next
        yield* Effect.sleep(Duration.millis(Math.round(model.baseMillis + r * model.jitterMillis)))
      }
      const now = yield* Clock.currentTimeMillis
      const stamp: Stamp = { requestId: ticket.requestId, clientRequestId: echoedClientRequestId(p.item), now }
      const result = self.store.handle({
        method: p.item.method,
        url: p.parsed,
        body: p.item.body,
        actingUser: p.context.userId,
        root: p.root,
        stamp,
        newId: self.newId
      })
      self.accounting.release(p.enforced)
      // an item fault `after` execution: the effect stays, the answer is lost to the fault
      const late = yield* self.pickItemFault(p, "after")
      const outcome: Outcome = late === undefined
        ? { ...result, headers: { ...result.headers, ...ticket.headers } }
        : itemFaultOutcome(late, stamp)
      self.audited(p, ticket.seq, ticket.requestId, outcome, ticket.startedAt, now, true, true)
      return outcome
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => self.accounting.release(p.enforced))))
  }

  private runOne(p: Prepared): Effect.Effect<Outcome> {
    return Effect.flatMap(this.admit(p), Either.match({ onRight: (ticket) => this.perform(ticket), onLeft: Effect.succeed }))
  }

  private audited(p: Prepared, seq: number, requestId: string, outcome: Outcome, startedAt: number, finishedAt: number, admitted: boolean, executed: boolean): void {
    outcome.headers["request-id"] = requestId
    const clientRequestId = headerOf(p.item.headers, "client-request-id")
    if (clientRequestId !== undefined) outcome.headers["client-request-id"] = clientRequestId
    this.record({
      seq,
      httpRequest: p.httpRequest,
      itemId: p.item.id,
      requestId,
      clientRequestId: p.clientRequestId,
      method: p.item.method,
      url: p.item.url,
      service: p.service,
      priority: p.priority,
      demands: this.intern(p.demands),
      bucketKeys: p.demands.map((d) => d.key),
      status: outcome.status,
      admitted,
      executed,
      startedAt,
      finishedAt,
      dependsOn: p.dependsOn,
      retryAfterMillis: outcome.headers["Retry-After"] === undefined ? undefined : Math.round(Number(outcome.headers["Retry-After"]) * 1000)
    })
  }

  private runBatch(
    batch: ValidBatch,
    httpRequest: number,
    context: ClassifyContext,
    root: string,
    batchClientRequestId: string | undefined
  ): Effect.Effect<ReadonlyArray<BatchResponse.BatchResponseItem>> {
    const self = this
    return Effect.gen(function*() {
      const items: Array<Item> = batch.items.map((i) => ({
        id: i.id,
        method: i.method.toUpperCase(),
        url: i.url,
        headers: i.headers ?? {},
        body: i.body,
        batchClientRequestId
      }))
      const clientIds = items.map((item) =>
        headerOf(item.headers, "client-request-id") ?? `${item.id}#${fingerprint(`${item.method} ${item.url} ${bodyText(item.body)}`)}`
      )
      const prepared = items.map((item, i) => {
        const dep = batch.dependency[i]
        return self.prepare(item, clientIds[i]!, dep === undefined ? [] : [clientIds[dep]!], httpRequest, context, root)
      })
      const toResponse = (i: number, o: Outcome): BatchResponse.BatchResponseItem => ({
        id: items[i]!.id!,
        status: o.status,
        headers: o.headers,
        ...(o.body === undefined ? {} : { body: o.body })
      })
      if (batch.shape === "parallel") {
        const order = items.map((_, i) => i).sort((a, b) => priorityRank[prepared[a]!.priority] - priorityRank[prepared[b]!.priority] || a - b)
        // Graph hands Outlook at most four items of an unordered batch at a time.
        const outlook = yield* Effect.makeSemaphore(4)
        // Outlook by path, or by the catalogue's say (it knows every Outlook resource).
        const isOutlook = (i: number) => prepared[i]!.service === "outlook" || prepared[i]!.demands.some((d) => d.service === "outlook")
        const others = order.filter((i) => !isOutlook(i))
        const mail = order.filter(isOutlook)
        // Items that arrive together are admitted in priority order: when a bucket has room for only
        // some of them, the low-priority ones are throttled first.
        const admitted = yield* Effect.forEach(others, (i) => self.admit(prepared[i]!))
        const results = new Array<Outcome>(items.length)
        // Without latency nothing suspends, so running in turn gives the same answers without forking.
        const concurrency = prepared.some((p) => {
          const model = self.options.latency(p.service)
          return model.baseMillis > 0 || model.jitterMillis > 0
        }) ? "unbounded" as const : 1
        yield* Effect.all([
          Effect.forEach(others, (i, k) =>
            Either.match(admitted[k]!, {
              onRight: (ticket) => Effect.map(self.perform(ticket), (o) => void (results[i] = o)),
              onLeft: (o) => Effect.sync(() => void (results[i] = o))
            }), { concurrency, discard: true }),
          Effect.forEach(mail, (i) =>
            outlook.withPermits(1)(Effect.map(self.runOne(prepared[i]!), (o) => void (results[i] = o))), { concurrency, discard: true })
        ], { concurrency, discard: true })
        const responses = results.map((o, i) => toResponse(i, o))
        return yield* self.orderRandom.shuffle(responses).pipe(Effect.map((chunk) => Array.from(chunk)))
      }
      // Serial and Same batches run one item at a time, every dependency first (array order otherwise).
      const results = new Array<Outcome>(items.length)
      for (const i of batch.order) {
        const dep = batch.dependency[i]
        if (dep !== undefined && results[dep]!.status >= 400) {
          const now = yield* Clock.currentTimeMillis
          const seq = ++self.seq
          const requestId = self.newId()
          const outcome = errorOutcome(424, "FailedDependency", `The request depends on request '${items[dep]!.id}', which failed.`, {
            requestId,
            clientRequestId: echoedClientRequestId(items[i]!),
            now
          })
          self.audited(prepared[i]!, seq, requestId, outcome, now, now, false, false)
          results[i] = outcome
          continue
        }
        results[i] = yield* self.runOne(prepared[i]!)
      }
      return batch.order.map((i) => toResponse(i, results[i]!))
    })
  }
}

const hostRoot = (headers: Readonly<Record<string, string>>): string => {
  const host = headerOf(headers, "host")
  return host === undefined ? "https://graph.microsoft.com" : `http://${host}`
}

const respondOutcome = (outcome: Outcome): HttpOut => {
  if (outcome.body === undefined) return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: "" }
  if (outcome.body instanceof Uint8Array) return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: outcome.body }
  return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: JSON.stringify(outcome.body) }
}

/** An item fault's answer: Graph's error body for 503 or 504, with Retry-After when configured. */
const itemFaultOutcome = (fault: ItemFault, stamp: Stamp): Outcome => {
  const outcome = errorOutcome(
    fault.status,
    fault.status === 503 ? "serviceNotAvailable" : "gatewayTimeout",
    fault.status === 503 ? "The service is temporarily unavailable. Try again later." : "The upstream service did not answer in time.",
    stamp
  )
  if (fault.retryAfterSeconds !== undefined) outcome.headers["Retry-After"] = String(fault.retryAfterSeconds)
  return outcome
}

const batchFaultOutcome = (fault: { status: number; retryAfterSeconds?: number }, stamp: Stamp): Outcome => {
  const codes: Record<number, [string, string]> = {
    500: ["generalException", "An unspecified error has occurred."],
    502: ["badGateway", "The gateway received an invalid response from the upstream service."],
    503: ["serviceNotAvailable", "The service is temporarily unavailable. Try again later."],
    504: ["gatewayTimeout", "The upstream service did not answer in time."]
  }
  const [code, message] = codes[fault.status] ?? ["generalException", "An unspecified error has occurred."]
  const headers: Record<string, string> = { "Content-Type": "application/json", "request-id": stamp.requestId }
  if (fault.retryAfterSeconds !== undefined) headers["Retry-After"] = String(fault.retryAfterSeconds)
  return { status: fault.status, headers, body: errorBody(code, message, stamp) }
}

