/**
 * Admission of one item: a repeated version segment, item faults, the load model's ceiling and the
 * limits, in that order. Either a final answer (400, 503, 504, 429) or a ticket to perform, with the
 * headers Graph adds to an admitted answer (`x-ms-resource-unit`, `x-ms-throttle-limit-percentage`,
 * `RateLimit-*`).
 *
 * @internal
 */
import type { Bucket } from "@effect-msgraph/spec"
import { Either } from "effect"
import type { Enforced } from "../accounting.js"
import type { Engine } from "../engine.js"
import { errorAnswer, formatRetryAfter, type ItemAnswer, type Stamp, throttledBody } from "../responses.js"
import type { ParsedUrl } from "../routing.js"
import { isFiles, isIdentity, isWriteQuota } from "./facts.js"
import { itemFaultAnswer } from "./faults.js"
import { echoedClientRequestId, type Prepared, type Ticket } from "./model.js"
import type { ItemFault } from "../../Faults.js"

/** A path that still starts with a version segment (`/v1.0/users` inside a batch): the segment. */
const versionSegment = (parsed: ParsedUrl): string | undefined => {
  const first = parsed.segments[0]
  return first !== undefined && /^(v1\.0|beta)$/i.test(first) ? first : undefined
}

const throttleScopeName = (scope: Bucket.Scope): string =>
  scope === "tenant" ? "Tenant" : scope === "app" ? "Application" : "Tenant_Application"

/** Admission at `now` once the item faults of phase `before` are rolled (`fault`). */
const admitAt = (engine: Engine, p: Prepared, now: number, seq: number, requestId: string, fault: ItemFault | undefined): Either.Either<Ticket, ItemAnswer> => {
  // a refusal's answer and audit entry; an admitted item needs neither its stamp nor this
  const stamp = (): Stamp => ({ requestId, clientRequestId: echoedClientRequestId(p.item), now })
  const refuse = (outcome: ItemAnswer, throttledBy?: string) => {
    engine.log.audited(p, seq, requestId, outcome, now, now, false, false, throttledBy)
    return Either.left(outcome)
  }
  if (fault !== undefined) return refuse(itemFaultAnswer(fault, stamp()))
  // an app over the load model's ceiling is refused before its limits count the item
  const load = engine.load
  if (load !== undefined && load.full(p.context.appId)) return refuse(unavailable(stamp(), load.options.retryAfterSeconds))
  const verdict = engine.accounting.tryAdmit(p.enforced, now)
  if (verdict._tag === "Throttled") {
    return refuse(throttled(engine, p, verdict.by.demand, verdict.retryAfterMillis, stamp()), verdict.by.demand.key)
  }
  const headers = admittedHeaders(engine, p, now)
  load?.enter(p.context.appId)
  return Either.right({ prepared: p, seq, requestId, startedAt: now, headers })
}

/**
 * The item's admission at `now`: a repeated version segment is answered first, then the item
 * faults of phase `before` are rolled, then the load model and the limits decide. Plain code (the
 * fault rolls draw synchronously), so a batch's items are admitted in one step.
 *
 * @internal
 */
export const admitNow = (engine: Engine, p: Prepared, now: number): Either.Either<Ticket, ItemAnswer> => {
  const seq = engine.nextSeq()
  const requestId = engine.newId()
  const versioned = versionSegment(p.parsed)
  if (versioned !== undefined) return repeatedVersion(engine, p, now, seq, requestId, versioned)
  return admitAt(engine, p, now, seq, requestId, engine.dice.pickItemFault(p, "before"))
}

/** Graph resolves a batch item's URL against the batch's version; a repeated version is a path segment it cannot find, answered before anything runs. */
const repeatedVersion = (engine: Engine, p: Prepared, now: number, seq: number, requestId: string, versioned: string): Either.Either<Ticket, ItemAnswer> => {
  const stamp: Stamp = { requestId, clientRequestId: echoedClientRequestId(p.item), now }
  const outcome = errorAnswer(400, "BadRequest", `Resource not found for the segment '${versioned}'.`, stamp)
  engine.log.audited(p, seq, requestId, outcome, now, now, false, false)
  return Either.left(outcome)
}

/** The 429 of a demand over its limit, with Retry-After and the headers of its service. */
const throttled = (engine: Engine, p: Prepared, by: Bucket.Demand, retryAfterMillis: number, stamp: Stamp): ItemAnswer => {
  const outcome: ItemAnswer = {
    status: 429,
    headers: { "Cache-Control": "no-cache", "Content-Type": "application/json" },
    body: throttledBody(stamp)
  }
  if (by.retryAfter) {
    const millis = engine.options.retryAfter === "seconds" ? Math.ceil(retryAfterMillis / 1000) * 1000 : retryAfterMillis
    outcome.headers["Retry-After"] = formatRetryAfter(millis)
  }
  if (isIdentity(by)) {
    const write = isWriteQuota(by, p.item.method)
    outcome.headers["x-ms-throttle-scope"] = `${throttleScopeName(by.scope)}/${write ? "Write" : "ReadWrite"}/${p.context.appId}/${p.context.tenantId}`
    outcome.headers["x-ms-throttle-information"] = write ? "WriteLimitExceeded" : "ResourceUnitLimitExceeded"
  }
  if (p.service === "files") Object.assign(outcome.headers, rateLimitHeaders(engine, p, stamp.now, true))
  return outcome
}

/** The identity demands of an enforced array, found once per array (items of one request share it). */
const identities = new WeakMap<ReadonlyArray<Enforced>, ReadonlyArray<Enforced>>()
const identityOf = (enforced: ReadonlyArray<Enforced>): ReadonlyArray<Enforced> => {
  let identity = identities.get(enforced)
  if (identity === undefined) {
    identity = enforced.filter((e) => isIdentity(e.demand))
    identities.set(enforced, identity)
  }
  return identity
}

/** What an admitted item's answer carries: its resource units, how full identity is, `RateLimit-*`. */
const admittedHeaders = (engine: Engine, p: Prepared, now: number): Record<string, string> => {
  const headers: Record<string, string> = {}
  const identity = identityOf(p.enforced)
  const units = identity.find((e) => !isWriteQuota(e.demand, p.item.method))
  if (units !== undefined) headers["x-ms-resource-unit"] = String(units.demand.cost)
  let fullest = 0
  for (const e of identity) {
    const usage = engine.accounting.usage(e, now)
    if (usage.limit > 0) fullest = Math.max(fullest, usage.used / usage.limit)
  }
  if (fullest > 0.8) headers["x-ms-throttle-limit-percentage"] = String(Math.round(Math.min(1.8, fullest) * 100) / 100)
  if (p.service === "files") Object.assign(headers, rateLimitHeaders(engine, p, now, false))
  return headers
}

/** `RateLimit-*` of the fullest files window: always when `force`, else from 80% full. */
const rateLimitHeaders = (engine: Engine, p: Prepared, now: number, force: boolean): Record<string, string> => {
  let best: { used: number; limit: number; resetMillis: number } | undefined
  for (const e of p.enforced) {
    if (!isFiles(e.demand) || e.limit._tag !== "Window") continue
    const usage = engine.accounting.usage(e, now)
    if (best === undefined || usage.used / usage.limit > best.used / best.limit) best = usage
  }
  if (best === undefined || (!force && best.used / best.limit < 0.8)) return {}
  return {
    "RateLimit-Limit": String(best.limit),
    "RateLimit-Remaining": String(Math.max(0, best.limit - best.used)),
    "RateLimit-Reset": String(Math.ceil(best.resetMillis / 1000))
  }
}

/** The load model's refusal: Graph's 503 body with Retry-After in whole seconds. */
const unavailable = (stamp: Stamp, retryAfterSeconds: number): ItemAnswer => {
  const outcome = errorAnswer(503, "serviceNotAvailable", "The service is temporarily unavailable. Try again later.", stamp)
  outcome.headers["Retry-After"] = String(retryAfterSeconds)
  return outcome
}
