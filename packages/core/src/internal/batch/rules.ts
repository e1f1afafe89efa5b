/**
 * The rules that make a batch acceptable to Microsoft Graph, as pure functions.
 *
 * @internal
 */
import { Either } from "effect"
import { type BatchRequestItem, type Headers, HttpMethod } from "@effect-msgraph/spec/BatchRequest"
import { unusableUrl } from "@effect-msgraph/spec/BatchRequest"
import * as body from "@effect-msgraph/spec/Body"
import { findCycle, stableTopologicalOrder } from "./graph.js"
import * as bounds from "./bounds.js"
import * as ids from "./ids.js"
import * as VE from "../../ValidationError.js"
import type { BatchShape } from "../../BatchBuilder.js"

/** @internal */
export interface Settings {
  readonly host: string
  readonly version: "v1.0" | "beta"
  readonly maxRequests: number
}

const methods = new Set<string>(HttpMethod.literals)
const crlf = /[\r\n]/
const absolute = /^([a-z][a-z0-9+.-]*:)?\/\/([^/?#]*)(.*)$/is
const versionPrefix = /^\/?(v1\.0|beta)(?=[/?#]|$)/i
const mentionsBatch = /\$batch/i

/** @internal */
export const idKey = ids.idKey

/**
 * Empty ids and case-insensitive duplicates; the items' positions by id.
 *
 * @internal
 */
export const checkIds = (
  items: ReadonlyArray<{ readonly id: string }>
): Either.Either<ids.IdIndex, VE.EmptyRequestId | VE.DuplicateRequestIds> => ids.IdIndex.build(items)

type Problem =
  | { readonly rule: "method"; readonly detail: string }
  | { readonly rule: "header"; readonly detail: string }
  | { readonly rule: "url"; readonly detail: string }
  | { readonly rule: "host"; readonly detail: string }
  | { readonly rule: "version" }
  | { readonly rule: "nested" }
  | { readonly rule: "contentType" }
  | { readonly rule: "body" }
  | { readonly rule: "depth" }
  | { readonly rule: "size" }

const ruleOrder: ReadonlyArray<Problem["rule"]> = [
  "method",
  "header",
  "url",
  "host",
  "version",
  "nested",
  "contentType",
  "body",
  "depth",
  "size"
]

const isJsonStructure = (value: unknown): boolean =>
  value !== null && typeof value === "object" && !(value instanceof Uint8Array)


/**
 * Makes a URL relative to the batch: a full URL to the configured host loses scheme, host and its
 * version segment; a relative URL keeps its form (with or without a leading slash) and only loses a
 * version segment that would otherwise be doubled.
 */
const normaliseUrl = (url: string, settings: Settings): Either.Either<string, Problem> => {
  if (unusableUrl(url)) return Either.left({ rule: "url", detail: url })
  const match = absolute.exec(url)
  let rest = url
  let isAbsolute = false
  if (match !== null) {
    const scheme = match[1]?.toLowerCase()
    if (scheme !== undefined && scheme !== "https:" && scheme !== "http:") {
      return Either.left({ rule: "url", detail: url })
    }
    const authority = match[2]!.toLowerCase()
    if (authority !== settings.host.toLowerCase()) return Either.left({ rule: "host", detail: match[2]! })
    rest = match[3]!
    isAbsolute = true
  }
  const version = versionPrefix.exec(rest)
  if (version !== null) {
    if (version[1]!.toLowerCase() !== settings.version) return Either.left({ rule: "version" })
    rest = rest.slice(version[0].length)
    if (!rest.startsWith("/")) rest = "/" + rest
  } else if (isAbsolute) {
    return Either.left({ rule: "version" })
  }
  // only a URL that mentions $batch can be a nested batch: the rest skip the split
  if (mentionsBatch.test(rest)) {
    const path = rest.split(/[?#]/, 1)[0]!.replace(/^\/+/, "").replace(/\/+$/, "")
    if (path.toLowerCase() === "$batch") return Either.left({ rule: "nested" })
  }
  return Either.right(rest)
}

const normaliseHeaders = (
  item: BatchRequestItem
): Either.Either<Headers | undefined, Problem> => {
  const headers = item.headers
  if (headers !== undefined) {
    for (const name in headers) {
      const value: unknown = headers[name]
      if (crlf.test(name) || typeof value !== "string" || crlf.test(value)) return Either.left({ rule: "header", detail: name })
    }
  }
  if (item.body === undefined) return Either.right(headers)
  const contentType = body.headerValue(headers, "content-type")
  if (contentType === undefined) {
    if (!isJsonStructure(item.body)) return Either.left({ rule: "contentType" })
    return Either.right({ ...headers, "Content-Type": "application/json" })
  }
  const json = body.isJsonContentType(contentType)
  if (json && item.body instanceof Uint8Array) return Either.left({ rule: "body" })
  if (!json && !(item.body instanceof Uint8Array) && typeof item.body !== "string") {
    return Either.left({ rule: "body" })
  }
  return Either.right(headers)
}

const normaliseOne = (item: BatchRequestItem, settings: Settings): Either.Either<BatchRequestItem, Problem> => {
  const method = item.method.toUpperCase()
  if (!methods.has(method)) return Either.left({ rule: "method", detail: item.method })
  const headers = normaliseHeaders(item)
  if (Either.isLeft(headers)) return Either.left(headers.left)
  const url = normaliseUrl(item.url, settings)
  if (Either.isLeft(url)) return Either.left(url.left)
  const out: { -readonly [K in keyof BatchRequestItem]: BatchRequestItem[K] } = { id: item.id, method, url: url.right }
  if (headers.right !== undefined) out.headers = headers.right
  if (item.body !== undefined) out.body = item.body
  if (item.dependsOn !== undefined && item.dependsOn.length > 0) out.dependsOn = item.dependsOn
  return checkBounds(out)
}

/** Depth and size, measured without recursion, on the normalised item (as it will travel). */
const checkBounds = (item: BatchRequestItem): Either.Either<BatchRequestItem, Problem> => {
  const measured = bounds.measure(item, bounds.MAX_REQUEST_BYTES)
  switch (measured._tag) {
    case "TooDeep":
      return Either.left({ rule: "depth" })
    case "Unserialisable":
      return Either.left({ rule: "body" })
    case "Size":
      return measured.bytes > bounds.MAX_REQUEST_BYTES ? Either.left({ rule: "size" }) : Either.right(item)
  }
}

const toError = (
  rule: Problem["rule"],
  offenders: ReadonlyArray<{ id: string; problem: Problem }>,
  settings: Settings
): VE.RequestError => {
  const ids = offenders.map((o) => o.id)
  const details = [...new Set(offenders.map((o) => ("detail" in o.problem ? o.problem.detail : "")))]
  switch (rule) {
    case "method":
      return new VE.UnsupportedMethod({ ids, methods: details })
    case "header":
      return new VE.InvalidHeader({ ids, headers: details })
    case "url":
      return new VE.InvalidUrl({ ids, urls: details })
    case "host":
      return new VE.ForeignHost({ ids, hosts: details, expected: settings.host })
    case "version":
      return new VE.VersionMismatch({ ids, expected: settings.version })
    case "nested":
      return new VE.NestedBatch({ ids })
    case "contentType":
      return new VE.MissingContentType({ ids })
    case "body":
      return new VE.InvalidBody({ ids })
    case "depth":
      return new VE.BodyTooDeep({ ids, limit: bounds.MAX_BODY_DEPTH })
    case "size":
      return new VE.RequestTooLarge({ ids, limit: bounds.MAX_REQUEST_BYTES })
  }
}

/**
 * Normalises every request on its own (method case, relative URL, default JSON Content-Type),
 * failing with the first rule any request breaks, naming every request that breaks it.
 *
 * @internal
 */
export const normaliseRequests = (
  items: ReadonlyArray<BatchRequestItem>,
  settings: Settings
): Either.Either<Array<BatchRequestItem>, VE.RequestError> => {
  const out: Array<BatchRequestItem> = []
  const checked = check(items, settings, (item) => void out.push(item))
  return Either.map(checked, () => out)
}

/**
 * {@link normaliseRequests} for one request, without the arrays.
 *
 * @internal
 */
export const normaliseRequest = (
  item: BatchRequestItem,
  settings: Settings
): Either.Either<BatchRequestItem, VE.RequestError> => {
  const result = normaliseOne(item, settings)
  return Either.isRight(result) ? Either.right(result.right) : Either.left(toError(result.left.rule, [{ id: item.id, problem: result.left }], settings))
}

/**
 * A request of a planned batch (normalised, see `PlannedBatch`) with headers added after planning:
 * the added headers are checked by the header rule, and the body rule is checked again when one of
 * them is a Content-Type. The added bytes are not measured here: the planner counted
 * `bounds.ADDED_BYTES_PER_ITEM` for every item (see {@link checkBatchBytes} for more).
 *
 * @internal
 */
export const addHeaders = (
  item: BatchRequestItem,
  added: Headers,
  settings: Settings
): Either.Either<BatchRequestItem, VE.RequestError> => {
  const headers = { ...item.headers, ...added }
  const merged: BatchRequestItem = { ...item, headers }
  let problem: Problem | undefined
  // in the merged order, as normalising the merged request names the first bad header
  for (const name in headers) {
    if (Object.prototype.hasOwnProperty.call(added, name) && (crlf.test(name) || crlf.test(headers[name]!))) {
      problem = { rule: "header", detail: name }
      break
    }
  }
  if (problem === undefined && item.body !== undefined && body.headerValue(added, "content-type") !== undefined) {
    const checked = normaliseHeaders(merged)
    if (Either.isLeft(checked)) problem = checked.left
  }
  return problem === undefined ? Either.right(merged) : Either.left(toError(problem.rule, [{ id: item.id, problem }], settings))
}

/**
 * {@link normaliseRequests} without keeping the normalised requests: the same checks and error.
 *
 * @internal
 */
export const checkRequests = (
  items: ReadonlyArray<BatchRequestItem>,
  settings: Settings
): Either.Either<void, VE.RequestError> => check(items, settings, () => {})

const check = (
  items: ReadonlyArray<BatchRequestItem>,
  settings: Settings,
  keep: (item: BatchRequestItem) => void
): Either.Either<void, VE.RequestError> => {
  let problems: Array<{ id: string; problem: Problem }> | undefined
  for (const item of items) {
    const result = normaliseOne(item, settings)
    if (Either.isLeft(result)) (problems ??= []).push({ id: item.id, problem: result.left })
    else keep(result.right)
  }
  if (problems === undefined) return Either.void
  const rule = ruleOrder.find((r) => problems!.some((p) => p.problem.rule === r))!
  return Either.left(toError(rule, problems.filter((p) => p.problem.rule === rule), settings))
}

/**
 * Dependency rules inside one batch: known ids, no cycle. A `dependsOn` may name an item anywhere in
 * the array (Graph documents no order rule); the returned lists give, for each item, the indices of
 * the items it depends on.
 *
 * @internal
 */
export const checkDependencies = (
  items: ReadonlyArray<BatchRequestItem>,
  index: ids.IdIndex
): Either.Either<Array<Array<number>>, VE.UnknownDependency | VE.DependencyCycle> => {
  const unknownIds: Array<string> = []
  const missing = new Set<string>()
  let edges = 0
  const deps: Array<Array<number>> = items.map((item) => {
    const out: Array<number> = []
    for (const d of item.dependsOn ?? []) {
      edges++
      const at = index.of(d)
      if (at === undefined) {
        if (unknownIds[unknownIds.length - 1] !== item.id) unknownIds.push(item.id)
        missing.add(d)
      } else out.push(at)
    }
    return out
  })
  if (unknownIds.length > 0) return Either.left(new VE.UnknownDependency({ ids: unknownIds, missing: [...missing] }))
  // a batch without dependencies (the common case) has no cycle
  const cycle = edges === 0 ? undefined : findCycle(deps)
  if (cycle !== undefined) return Either.left(new VE.DependencyCycle({ path: cycle.map((i) => items[i]!.id) }))
  return Either.right(deps)
}

/**
 * The batch's shape, read from its dependency graph rather than from the array order: parallel (no
 * dependsOn), serial (one chain through every item: a single item without a dependency, and no item
 * depended on twice) or same (every item that states a dependency states the same single one).
 * `deps` must be acyclic (see {@link checkDependencies}).
 *
 * @internal
 */
export const shapeOf = (
  items: ReadonlyArray<BatchRequestItem>,
  deps: ReadonlyArray<ReadonlyArray<number>>
): Either.Either<BatchShape, VE.InvalidBatchShape> => {
  const dependents = items.filter((_, i) => deps[i]!.length > 0)
  if (dependents.length === 0) return Either.right("parallel")
  const multi = items.filter((_, i) => deps[i]!.length > 1)
  if (multi.length > 0) return Either.left(new VE.InvalidBatchShape({ ids: multi.map((item) => item.id) }))
  const targets = new Set(deps.filter((d) => d.length > 0).map((d) => d[0]!))
  // n - 1 edges into n - 1 distinct items, without a cycle, is a single path through all n items.
  if (dependents.length === items.length - 1 && targets.size === dependents.length) return Either.right("serial")
  if (targets.size === 1) return Either.right("same")
  return Either.left(new VE.InvalidBatchShape({ ids: dependents.map((item) => item.id) }))
}

/**
 * The whole envelope within Graph's 4 MB limit on a write request.
 *
 * @internal
 */
export const checkBatchBytes = (items: ReadonlyArray<BatchRequestItem>): Either.Either<void, VE.BatchTooLarge> => {
  const bytes = bounds.envelopeBytes(items, bounds.MAX_BATCH_BYTES)
  if (bytes <= bounds.MAX_BATCH_BYTES) return Either.right(undefined)
  return Either.left(new VE.BatchTooLarge({ ids: items.map((item) => item.id), bytes, limit: bounds.MAX_BATCH_BYTES }))
}

/** @internal */
export interface Built {
  readonly requests: ReadonlyArray<BatchRequestItem>
  readonly shape: BatchShape
}

/**
 * Every batch rule, in a fixed order; the first rule broken is reported with all of its offenders.
 * The requests of a valid batch come back with every dependency before its dependents.
 *
 * @internal
 */
export const build = (
  input: Iterable<BatchRequestItem>,
  settings: Settings
): Either.Either<Built, VE.BatchValidationError> => {
  const items = Array.from(input)
  if (items.length === 0) return Either.left(new VE.EmptyBatch())
  if (items.length > settings.maxRequests) {
    return Either.left(
      new VE.TooManyRequests({
        count: items.length,
        limit: settings.maxRequests,
        ids: items.slice(settings.maxRequests).map((item) => item.id)
      })
    )
  }
  return Either.gen(function*() {
    const index = yield* checkIds(items)
    const requests = yield* normaliseRequests(items, settings)
    yield* checkBatchBytes(requests)
    const deps = yield* checkDependencies(requests, index)
    const shape = yield* shapeOf(requests, deps)
    // Dependencies first; a batch already in that order keeps its order.
    return { requests: stableTopologicalOrder(deps).map((i) => requests[i]!), shape }
  })
}
