/**
 * A workload: any number of Graph requests with dependencies between them, the input of
 * `DependencyResolver`.
 *
 * Each request is a batch item plus planning hints:
 * - `dependsOn`: ids anywhere in the workload that must succeed first;
 * - `acceptStatuses`: statuses of a failed dependency that still let this request run (for example
 *   `[409]` to continue after "already exists");
 * - `priority`: `high`, `normal` (default) or `low`, after Graph's `x-ms-throttle-priority`;
 * - `idempotent`: whether running the request twice does no harm, when its method does not say so
 *   (a POST that is an upsert, say) or says wrongly. It decides whether a send that may have run
 *   (an item answered 503 or 504, a batch-level 5xx, a lost connection or answer) is sent again:
 *   `true` resends it, `false` ends it as `UnknownOutcome`. Default: the client's `idempotent`
 *   option (GET, PUT and DELETE). It is never sent to Graph.
 * - `pages`: for a GET of a collection, how many pages to fetch: `"all"`, or at most a count (at
 *   least 1). Without it only the first page is fetched, as Graph answers it. Each further page is a
 *   new GET of the last page's `@odata.nextLink`, sent as a batch item through admission like any
 *   request, once the page before it succeeded; a link that does not name the configured Graph host
 *   and version is not followed (`NextLinkRefused`). Every page is an outcome of the request, with
 *   its `page` number. Dependents are released by the first page, and references read the first
 *   page: a dependent that needs a later page (its `@odata.deltaLink`, say) must be a later run.
 *   Only GET requests may have it.
 *
 * **Response references.** Graph cannot pass one response into another request, so the library
 * does: `{{id#/pointer}}` in the URL, a header value or a body string stands for a value read from
 * the response of request `id` with an RFC 6901 JSON pointer over `{ status, headers, body }`, for
 * example `/users/{{newUser#/body/id}}/manager`. A body string that is exactly one reference is
 * replaced by the referenced JSON value itself (object, number, ...); elsewhere the value is
 * interpolated as text, URL-encoded inside the URL (a URL that is exactly one reference, such as an
 * `@odata.nextLink`, is used as written, then checked like any URL: it must name the Graph host). Referencing a request makes it a dependency,
 * planned into an earlier round, never the same batch. Ids containing `#`, `{` or `}` cannot be
 * referenced; `{{...}}` text without `#/` is left alone.
 *
 * @since 0.1.0
 */
import { Either, Function, Schema } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import { Headers } from "@effect-msgraph/spec/BatchRequest"
import * as reference from "./internal/workload/reference.js"
import * as sharding from "./internal/workload/shard.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const Priority = Schema.Literal("high", "normal", "low")

/**
 * @since 0.1.0
 * @category schemas
 */
export type Priority = typeof Priority.Type

/**
 * How many pages of a collection a request fetches: every one (`"all"`) or at most a count.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Pages = Schema.Union(Schema.Literal("all"), Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)))

/**
 * @since 0.1.0
 * @category schemas
 */
export type Pages = typeof Pages.Type

/**
 * An HTTP status a dependent may accept from a failed dependency.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Status = Schema.Int.pipe(Schema.between(100, 599))

/**
 * One workload request.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WorkloadRequest = Schema.Struct({
  id: Schema.String,
  method: Schema.String,
  url: Schema.String,
  headers: Schema.optionalWith(Headers, { exact: true }),
  body: Schema.optionalWith(Schema.Unknown, { exact: true }),
  dependsOn: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  acceptStatuses: Schema.optionalWith(Schema.Array(Status), { exact: true }),
  priority: Schema.optionalWith(Priority, { exact: true }),
  idempotent: Schema.optionalWith(Schema.Boolean, { exact: true }),
  pages: Schema.optionalWith(Pages, { exact: true })
}).pipe(Schema.filter((request) =>
  request.pages === undefined || request.method.toUpperCase() === "GET" ||
  { path: ["pages"], message: "only a GET request can fetch pages" }
))

/**
 * @since 0.1.0
 * @category models
 */
export type WorkloadRequest = typeof WorkloadRequest.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Workload = Schema.Array(WorkloadRequest)

/**
 * @since 0.1.0
 * @category models
 */
export type Workload = typeof Workload.Type

/**
 * A response reference found in a request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reference {
  /** The id of the request whose response is read. */
  readonly source: string
  /** An RFC 6901 pointer into `{ status, headers, body }`. */
  readonly pointer: string
  /** The reference as written. */
  readonly text: string
}

/**
 * Every response reference in a request's URL, header values and body strings.
 *
 * @since 0.1.0
 * @category references
 */
export const references: (request: Pick<WorkloadRequest, "url" | "headers" | "body">) => ReadonlyArray<Reference> =
  reference.referencesOf

/**
 * A response as references see it.
 *
 * @since 0.1.0
 * @category references
 */
export interface ReferencedResponse {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: unknown
}

/**
 * Substitutes every reference of a request from the responses `lookup` returns. Fails with the
 * references that could not be resolved (no such response, or nothing at the pointer).
 *
 * @since 0.1.0
 * @category references
 */
export const resolve: <A extends Pick<BatchRequestItem, "url" | "headers" | "body">>(
  request: A,
  lookup: (source: string) => ReferencedResponse | undefined
) => Either.Either<A, ReadonlyArray<string>> = reference.substitute

/**
 * A shard that does not exist: `index` and `count` must be whole numbers with
 * `1 <= index <= count`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidShard extends Schema.TaggedError<InvalidShard>()("InvalidShard", {
  index: Schema.Number,
  count: Schema.Number
}) {
  override get message() {
    return `shard ${this.index}/${this.count} does not exist: a shard is i/n with whole numbers 1 <= i <= n`
  }
}

const checkShard = (index: number, count: number): Either.Either<void, InvalidShard> =>
  Number.isSafeInteger(count) && count >= 1 && Number.isSafeInteger(index) && index >= 1 && index <= count
    ? Either.void
    : Either.left(new InvalidShard({ index, count }))

/**
 * The workload cut into `count` parts that share no dependency, so that several processes (or
 * machines) can run one part each. Every request is in exactly one part, with everything it is
 * connected to through `dependsOn` and response references (a whole connected component, in either
 * direction), and each part keeps the workload's order.
 *
 * The cut depends on the workload alone: the same file gives the same parts everywhere. Components
 * are dealt out largest first (equal sizes by their smallest id, lower-cased), each to the part with
 * the fewest requests so far, so no part exceeds `requests / count` by more than the largest
 * component. With more parts than components, the last parts are empty.
 *
 * @since 0.1.0
 * @category sharding
 */
export const partition = (workload: Workload, count: number): Either.Either<ReadonlyArray<Workload>, InvalidShard> =>
  Either.map(checkShard(1, count), () => {
    const parts: Array<Array<WorkloadRequest>> = Array.from({ length: Math.min(count, workload.length) }, () => [])
    const assigned = sharding.assign(workload, count)
    workload.forEach((request, i) => parts[assigned[i]!]!.push(request))
    while (parts.length < count) parts.push([])
    return parts
  })

/**
 * Part `index` (from 1) of {@link partition}`(workload, count)`: the `--shard index/count` of
 * `msgraph-batch`. Fails with {@link InvalidShard} unless `1 <= index <= count` are whole numbers.
 *
 * @since 0.1.0
 * @category sharding
 */
export const shard: {
  (index: number, count: number): (workload: Workload) => Either.Either<Workload, InvalidShard>
  (workload: Workload, index: number, count: number): Either.Either<Workload, InvalidShard>
} = Function.dual(3, (workload: Workload, index: number, count: number): Either.Either<Workload, InvalidShard> =>
  Either.map(checkShard(index, count), () => {
    const assigned = sharding.assign(workload, count)
    return workload.filter((_, i) => assigned[i] === index - 1)
  }))
