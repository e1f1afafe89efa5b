/**
 * The emulator's own validation of a `$batch` envelope, as Graph's server applies it. It shares no
 * code with the client's BatchBuilder, so a bug in one cannot hide behind the other.
 *
 * @internal
 */
import { BatchRequest } from "@effect-msgraph/spec"
import { Either, Schema } from "effect"
import { isAbsoluteUrl, isBatchUrl } from "./routing.js"

/** Graph's documented maximum number of items in one batch. @internal */
export const maxItems = 20

/**
 * The deepest nesting of arrays and objects a request body may have: deeper bodies are refused,
 * since reading them back (fingerprints, the store) would overflow the stack. Graph's pages state no
 * depth, and no Graph resource nests anywhere near that deep.
 *
 * @internal
 */
export const maxNesting = 1_000

/**
 * Whether a parsed JSON value nests arrays and objects deeper than {@link maxNesting}. It recurses
 * at most that deep, and visits only the containers of the value (a body is a few fields).
 *
 * @internal
 */
export const nestedTooDeep = (value: unknown, room: number = maxNesting): boolean => {
  if (typeof value !== "object" || value === null) return false
  if (room === 0) return true
  if (Array.isArray(value)) {
    for (const element of value) if (nestedTooDeep(element, room - 1)) return true
    return false
  }
  for (const key in value) if (nestedTooDeep((value as Record<string, unknown>)[key], room - 1)) return true
  return false
}

/** The message of a refused deep body, Graph's wording for unreadable JSON plus the reason. @internal */
export const tooDeepMessage = `Unable to read JSON request payload: it is nested deeper than ${maxNesting} levels.`

/** The three documented dependency patterns ("Request dependencies are limited"). @internal */
export type Shape = "parallel" | "serial" | "same"

/** @internal */
export interface ValidBatch {
  readonly items: ReadonlyArray<BatchRequest.BatchRequestItem>
  readonly shape: Shape
  /** For each item, the index of the item it depends on, if any. */
  readonly dependency: ReadonlyArray<number | undefined>
  /**
   * The item indices in the order a sequential batch runs them: every dependency before its
   * dependents, array order otherwise. A `dependsOn` may name a later item (Graph states no order rule).
   */
  readonly order: ReadonlyArray<number>
}

/** Why an envelope is refused: one reason, with Graph's wording in the message. @internal */
export interface Rejection {
  readonly reason:
    | "MalformedJson"
    | "InvalidPayload"
    | "Empty"
    | "TooManyRequests"
    | "DuplicateId"
    | "InvalidMethod"
    | "AbsoluteUrl"
    | "NestedBatch"
    | "MissingContentType"
    | "UnknownDependency"
    | "DependencyCycle"
    | "MixedShape"
    | "InvalidBody"
  readonly message: string
}

const methods = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"])

const reject = (reason: Rejection["reason"], message: string): Either.Either<ValidBatch, Rejection> =>
  Either.left({ reason, message })

const decodeEnvelope = Schema.decodeUnknownEither(BatchRequest.BatchRequestEnvelope)
const decodeWire = Schema.decodeUnknownEither(BatchRequest.BatchRequestEnvelopeJson)

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The envelope's requests when the JSON is plainly of the wire shape (what `BatchRequestEnvelopeJson`
 * accepts: string `id`, `method` and `url`, string-valued `headers`, string `dependsOn`), read in
 * place; `undefined` otherwise, and the schema decides. Every envelope a client sends takes this
 * path, which costs a few type checks where the schema's decoder builds every item afresh. The
 * items keep any other fields they carry, which nothing reads.
 */
const plainRequests = (json: unknown): ReadonlyArray<BatchRequest.BatchRequestItemJson> | undefined => {
  if (!isObject(json)) return undefined
  const requests = json["requests"]
  if (!Array.isArray(requests)) return undefined
  for (const item of requests) {
    if (!isObject(item) || typeof item["id"] !== "string" || typeof item["method"] !== "string" || typeof item["url"] !== "string") return undefined
    const headers = item["headers"]
    if (headers !== undefined) {
      if (!isObject(headers)) return undefined
      for (const name of Object.keys(headers)) if (typeof headers[name] !== "string" || name === "__proto__") return undefined
    }
    const dependsOn = item["dependsOn"]
    if (dependsOn !== undefined && (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === "string"))) return undefined
  }
  return requests as ReadonlyArray<BatchRequest.BatchRequestItemJson>
}

/** The optional fields of an item, which a `null` leaves out. */
const optionalFields = ["headers", "body", "dependsOn"] as const

/**
 * The envelope with every `null` optional field of an item left out: serializers that write every
 * field (Jackson, System.Text.Json, Go without `omitempty`) send `"dependsOn": null` for an item that
 * has none, and Graph's pages do not say that it refuses them. Items without such a field are kept
 * as they are (the envelope too, when none has one).
 */
const withoutNullOptionals = (json: unknown): unknown => {
  if (!isObject(json) || !Array.isArray(json["requests"])) return json
  const requests = json["requests"] as ReadonlyArray<unknown>
  const hasNull = (item: unknown): item is Record<string, unknown> => isObject(item) && optionalFields.some((field) => item[field] === null)
  if (!requests.some(hasNull)) return json
  return {
    ...json,
    requests: requests.map((item) => {
      if (!hasNull(item)) return item
      const kept = { ...item }
      for (const field of optionalFields) if (kept[field] === null) delete kept[field]
      return kept
    })
  }
}

/** @internal */
export const validate = (text: string): Either.Either<ValidBatch, Rejection> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return reject("MalformedJson", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
  }
  json = withoutNullOptionals(json)
  let requests = plainRequests(json)
  if (requests === undefined) {
    const wire = decodeWire(json)
    if (Either.isLeft(wire)) {
      return reject("InvalidPayload", "Invalid batch payload format: a 'requests' array of items with string 'id', 'method' and 'url' is required.")
    }
    requests = wire.right.requests
  }
  if (requests.length === 0) return reject("Empty", "Invalid batch payload format: the 'requests' array is empty.")
  if (requests.length > maxItems) {
    return reject("TooManyRequests", `The batch contains ${requests.length} requests; at most ${maxItems} are allowed.`)
  }
  if (requests.some((item) => nestedTooDeep(item.body))) return reject("MalformedJson", tooDeepMessage)
  const index = new Map<string, number>()
  for (let i = 0; i < requests.length; i++) {
    const item = requests[i]!
    if (item.id === "") return reject("InvalidPayload", "Invalid batch payload format: every request needs a non-empty 'id'.")
    const key = item.id.toLowerCase()
    if (index.has(key)) return reject("DuplicateId", `Batch request ids must be unique (ids are not case-sensitive): '${item.id}' is repeated.`)
    index.set(key, i)
    if (!methods.has(item.method.toUpperCase())) {
      return reject("InvalidMethod", `Request '${item.id}': method '${item.method}' is not supported in a batch.`)
    }
    if (isAbsoluteUrl(item.url)) {
      return reject("AbsoluteUrl", `Request '${item.id}': the url must be relative to the batch's version endpoint, e.g. '/users'.`)
    }
    if (isBatchUrl(item.url)) return reject("NestedBatch", `Request '${item.id}': nested batch requests are not supported.`)
    if (item.body !== undefined && BatchRequest.header(item.headers, "content-type") === undefined) {
      return reject("MissingContentType", `Request '${item.id}': a request with a body must have a Content-Type header.`)
    }
  }
  const dependency: Array<number | undefined> = []
  let dependent = false
  for (let i = 0; i < requests.length; i++) {
    const item = requests[i]!
    const on = item.dependsOn ?? noDependencies
    if (on.length === 0) {
      dependency.push(undefined)
      continue
    }
    if (on.length > 1) {
      return reject("MixedShape", `Batch should be either fully sequential or fully parallel: request '${item.id}' depends on more than one request.`)
    }
    const target = index.get(on[0]!.toLowerCase())
    if (target === undefined) {
      return reject("UnknownDependency", `Request '${item.id}' depends on '${on[0]}', which is not in the batch.`)
    }
    dependency.push(target)
    dependent = true
  }
  // nothing depends on anything (the common parallel batch): array order, with no order to search for
  if (!dependent) return withBodies(requests, "parallel", dependency, requests.map((_, i) => i))
  const order = executionOrder(dependency)
  if (order.length < requests.length) {
    const stuck = requests.find((_, i) => !order.includes(i))!
    return reject("DependencyCycle", `Request '${stuck.id}' is part of a dependency cycle: its dependsOn leads back to it.`)
  }
  const shape = shapeOf(dependency)
  if (shape === undefined) {
    return reject("MixedShape", "Batch should be either fully sequential or fully parallel.")
  }
  return withBodies(requests, shape, dependency, order)
}

const noDependencies: ReadonlyArray<string> = []

/** The valid batch, with the bodies of a non-JSON Content-Type decoded from base64 (or refused). */
const withBodies = (
  requests: ReadonlyArray<BatchRequest.BatchRequestItemJson>,
  shape: Shape,
  dependency: ReadonlyArray<number | undefined>,
  order: ReadonlyArray<number>
): Either.Either<ValidBatch, Rejection> => {
  // Only bodies with a non-JSON Content-Type change when decoded (base64 to bytes); skip the pass otherwise.
  const binary = requests.some((item) => {
    const contentType = item.body === undefined ? undefined : BatchRequest.header(item.headers, "content-type")
    return contentType !== undefined && !BatchRequest.isJsonContentType(contentType)
  })
  if (!binary) return Either.right({ items: requests, shape, dependency, order })
  const decoded = decodeEnvelope({ requests })
  if (Either.isLeft(decoded)) {
    return reject("InvalidBody", "Invalid batch payload format: a body whose Content-Type is not JSON must be base64 encoded.")
  }
  return Either.right({ items: decoded.right.requests, shape, dependency, order })
}

/**
 * The shape of an acyclic dependency list, whatever the array order. Parallel: nobody depends on
 * anything. Serial: one chain through every item (one item depends on nothing, every other on a
 * different item). Same: every item that states a dependency states the same one.
 *
 * @internal
 */
export const shapeOf = (dependency: ReadonlyArray<number | undefined>): Shape | undefined => {
  const stated = dependency.filter((d): d is number => d !== undefined)
  if (stated.length === 0) return "parallel"
  const targets = new Set(stated)
  if (stated.length === dependency.length - 1 && targets.size === stated.length) return "serial"
  if (targets.size === 1) return "same"
  return undefined
}

/**
 * A stable topological order: at each step the lowest index whose dependency has run. Shorter than
 * the input when there is a cycle (the items of the cycle, and those behind it, never become ready).
 *
 * @internal
 */
export const executionOrder = (dependency: ReadonlyArray<number | undefined>): Array<number> => {
  const placed = dependency.map(() => false)
  const order: Array<number> = []
  for (;;) {
    const next = dependency.findIndex((d, i) => !placed[i] && (d === undefined || placed[d]))
    if (next === -1) return order
    placed[next] = true
    order.push(next)
  }
}
