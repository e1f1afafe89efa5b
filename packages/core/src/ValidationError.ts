/**
 * Typed errors for requests, batches and workloads that Graph would reject, or that cannot be
 * planned. Each error names the offending request ids (or positions, for an empty id) and carries
 * the rule-specific detail in its own fields. Nothing is sent when one of these is raised.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Ids = Schema.Array(Schema.String)

/** Longer lists are elided in messages: the first and last few, and the count. The fields keep them all. */
const shownAtEachEnd = 5

/**
 * `items` joined by `separator`; a list of more than `2 × 5` items shows the first and last 5 around
 * `... (n more) ...`, so a message stays one readable line however many ids an error carries.
 */
const elide = (items: ReadonlyArray<string>, separator = ", "): string =>
  items.length <= 2 * shownAtEachEnd
    ? items.join(separator)
    : [
      ...items.slice(0, shownAtEachEnd),
      `... (${(items.length - 2 * shownAtEachEnd).toLocaleString("en-US")} more) ...`,
      ...items.slice(-shownAtEachEnd)
    ].join(separator)

/**
 * A batch with no requests.
 *
 * @since 0.1.0
 * @category errors
 */
export class EmptyBatch extends Schema.TaggedError<EmptyBatch>()("EmptyBatch", {}) {
  override get message() {
    return "a batch must contain at least one request"
  }
}

/**
 * More requests than Graph accepts in one batch (20). `ids` are the requests past the limit.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  count: Schema.Number,
  limit: Schema.Number,
  ids: Ids
}) {
  override get message() {
    return `a batch holds at most ${this.limit} requests, got ${this.count}`
  }
}

/**
 * Requests whose id is empty, by their position in the input.
 *
 * @since 0.1.0
 * @category errors
 */
export class EmptyRequestId extends Schema.TaggedError<EmptyRequestId>()("EmptyRequestId", {
  indices: Schema.Array(Schema.Number)
}) {
  override get message() {
    return `requests at positions ${elide(this.indices.map(String))} have an empty id`
  }
}

/**
 * Ids that collide. Graph compares ids case-insensitively, so `a` and `A` collide; each group lists
 * the colliding spellings in input order.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateRequestIds extends Schema.TaggedError<DuplicateRequestIds>()("DuplicateRequestIds", {
  groups: Schema.Array(Ids)
}) {
  get ids(): ReadonlyArray<string> {
    return this.groups.flat()
  }
  override get message() {
    return `duplicate request ids (compared case-insensitively): ${elide(this.groups.map((g) => elide(g, " = ")), "; ")}`
  }
}

/**
 * Methods other than GET, POST, PUT, PATCH and DELETE.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedMethod extends Schema.TaggedError<UnsupportedMethod>()("UnsupportedMethod", {
  ids: Ids,
  methods: Ids
}) {
  override get message() {
    return `requests ${elide(this.ids)} use unsupported methods ${elide(this.methods)}`
  }
}

/**
 * Header names or values containing CR or LF, which would split the request's headers, or a value
 * that is not a string.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidHeader extends Schema.TaggedError<InvalidHeader>()("InvalidHeader", {
  ids: Ids,
  headers: Ids
}) {
  override get message() {
    return `requests ${elide(this.ids)} have headers with CR or LF, or a value that is not a string: ${elide(this.headers)}`
  }
}

/**
 * URLs that are empty, contain CR or LF, or use a scheme other than http(s).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidUrl extends Schema.TaggedError<InvalidUrl>()("InvalidUrl", {
  ids: Ids,
  urls: Ids
}) {
  override get message() {
    return `requests ${elide(this.ids)} have invalid URLs`
  }
}

/**
 * Absolute URLs to a host other than the configured Graph host. Batch items are always sent to the
 * batch's own host, so such a request could never reach the host it names.
 *
 * @since 0.1.0
 * @category errors
 */
export class ForeignHost extends Schema.TaggedError<ForeignHost>()("ForeignHost", {
  ids: Ids,
  hosts: Ids,
  expected: Schema.String
}) {
  override get message() {
    return `requests ${elide(this.ids)} address ${elide(this.hosts)}, not the Graph host ${this.expected}`
  }
}

/**
 * Full URLs whose version segment differs from the batch's version (or that have none). Graph makes
 * item URLs absolute with the batch URL's version, so a `/beta/...` item inside a `v1.0` batch would
 * silently run against `v1.0`.
 *
 * @since 0.1.0
 * @category errors
 */
export class VersionMismatch extends Schema.TaggedError<VersionMismatch>()("VersionMismatch", {
  ids: Ids,
  expected: Schema.String
}) {
  override get message() {
    return `requests ${elide(this.ids)} name a version other than ${this.expected}`
  }
}

/**
 * Items that are themselves `$batch` calls; Graph does not support nested batches.
 *
 * @since 0.1.0
 * @category errors
 */
export class NestedBatch extends Schema.TaggedError<NestedBatch>()("NestedBatch", { ids: Ids }) {
  override get message() {
    return `requests ${elide(this.ids)} are nested $batch calls`
  }
}

/**
 * Requests with a body but no Content-Type header (a JSON object or array body gets
 * `application/json` by default, so this concerns strings, bytes and scalars).
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingContentType extends Schema.TaggedError<MissingContentType>()("MissingContentType", {
  ids: Ids
}) {
  override get message() {
    return `requests ${elide(this.ids)} have a body but no Content-Type header`
  }
}

/**
 * Requests whose body cannot travel under their Content-Type: bytes under a JSON type, or a
 * non-JSON type with a body that is neither bytes nor a string.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidBody extends Schema.TaggedError<InvalidBody>()("InvalidBody", { ids: Ids }) {
  override get message() {
    return `requests ${elide(this.ids)} have a body that does not match their Content-Type`
  }
}

/**
 * JSON bodies that nest objects and arrays more than `limit` (64) levels deep, or that refer to
 * themselves. The bound is this library's own, not Graph's; it keeps every walk over a body
 * shallow.
 *
 * @since 0.1.0
 * @category errors
 */
export class BodyTooDeep extends Schema.TaggedError<BodyTooDeep>()("BodyTooDeep", {
  ids: Ids,
  limit: Schema.Number
}) {
  override get message() {
    return `requests ${this.ids.join(", ")} have a body nested more than ${this.limit} levels deep`
  }
}

/**
 * Requests whose JSON form in a batch (id, method, URL, headers and body, base64 where the body is
 * not JSON) takes more than `limit` bytes: more than fits in one `$batch` call under Graph's 4 MB
 * limit on a write request, with room for the envelope.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestTooLarge extends Schema.TaggedError<RequestTooLarge>()("RequestTooLarge", {
  ids: Ids,
  limit: Schema.Number
}) {
  override get message() {
    return `requests ${this.ids.join(", ")} take more than ${this.limit} bytes each`
  }
}

/**
 * A batch whose JSON envelope takes `bytes`, more than `limit` (4,000,000: Graph's 4 MB limit on a
 * write request). `ids` are all of its requests; move some to another batch.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchTooLarge extends Schema.TaggedError<BatchTooLarge>()("BatchTooLarge", {
  ids: Ids,
  bytes: Schema.Number,
  limit: Schema.Number
}) {
  override get message() {
    return `a batch takes ${this.bytes} bytes, more than ${this.limit}`
  }
}

/**
 * A `dependsOn` naming an id that is not in the batch (or workload).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownDependency extends Schema.TaggedError<UnknownDependency>()("UnknownDependency", {
  ids: Ids,
  missing: Ids
}) {
  override get message() {
    return `requests ${elide(this.ids)} depend on unknown ids ${elide(this.missing)}`
  }
}

/**
 * A dependency cycle. `path` lists ids where each depends on the next and the last equals the
 * first, e.g. `["a", "b", "a"]`: a depends on b, which depends on a.
 *
 * @since 0.1.0
 * @category errors
 */
export class DependencyCycle extends Schema.TaggedError<DependencyCycle>()("DependencyCycle", {
  path: Ids
}) {
  get ids(): ReadonlyArray<string> {
    return this.path.slice(0, -1)
  }
  /**
   * `dependency cycle: a -> b -> a`; a cycle of more than 10 requests shows its length and only the
   * first and last 5 ids of `path`, which keeps every id.
   */
  override get message() {
    const length = this.path.length - 1
    return length <= 2 * shownAtEachEnd
      ? `dependency cycle: ${this.path.join(" -> ")}`
      : `dependency cycle of ${length.toLocaleString("en-US")} requests: ${elide(this.path, " -> ")}`
  }
}

/**
 * A batch that is neither fully parallel nor fully sequential. Graph accepts three shapes: no
 * `dependsOn` at all; one chain through every item (each depends on the one before it in the
 * chain, wherever it sits in the array); or every item that states a dependency stating the same
 * single one. Anything else, including a `dependsOn` with more than one
 * id, is answered 400 "Batch should be either fully sequential or fully parallel".
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidBatchShape extends Schema.TaggedError<InvalidBatchShape>()("InvalidBatchShape", {
  ids: Ids
}) {
  override get message() {
    return `batch should be either fully sequential or fully parallel (offending requests: ${elide(this.ids)})`
  }
}

/**
 * A response reference (`{{id#/pointer}}`) that could not be resolved when its request became
 * ready: the pointer finds nothing in the response it names (or, inside a URL or header, finds
 * `null`). A reference to an id the workload does not have is `UnknownDependency`, found when
 * planning. `GraphClient.execute` raises it for any reference, since a single call has no earlier
 * response to read.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidReference extends Schema.TaggedError<InvalidReference>()("InvalidReference", {
  ids: Ids,
  references: Ids
}) {
  override get message() {
    return `requests ${elide(this.ids)} have references that cannot be resolved: ${elide(this.references)}`
  }
}

/**
 * Problems with a single request, found without looking at the others.
 *
 * @since 0.1.0
 * @category errors
 */
export type RequestError =
  | UnsupportedMethod
  | InvalidHeader
  | InvalidUrl
  | ForeignHost
  | VersionMismatch
  | NestedBatch
  | MissingContentType
  | InvalidBody
  | BodyTooDeep
  | RequestTooLarge

/**
 * Every reason `BatchBuilder` rejects a batch.
 *
 * @since 0.1.0
 * @category errors
 */
export type BatchValidationError =
  | EmptyBatch
  | TooManyRequests
  | EmptyRequestId
  | DuplicateRequestIds
  | RequestError
  | BatchTooLarge
  | UnknownDependency
  | DependencyCycle
  | InvalidBatchShape

/**
 * Every reason `DependencyResolver` rejects a workload.
 *
 * @since 0.1.0
 * @category errors
 */
export type WorkloadError =
  | EmptyRequestId
  | DuplicateRequestIds
  | RequestError
  | UnknownDependency
  | DependencyCycle
  | InvalidReference
