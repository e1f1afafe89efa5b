/**
 * What a request costs, per bucket. The throttler consumes the result.
 *
 * For most limits a request costs 1. Identity and access requests cost resource units, from the
 * seed's table: a base cost by method and path, `$select` −1, `$expand` +1, `$top` below 20 −1,
 * creating a user in a B2C tenant +4, never below 1, and `$select` on
 * `directoryObjects/getByIds` or `getObjectsById` exactly 2. They also cost the table's write cost
 * against the write quotas. `me/` paths are priced as `users/{id | userPrincipalName}/`.
 *
 * The pricing itself is pure ({@link identityCost}) and is also what `LimitCatalog.classify` uses,
 * so the service and the pure function always agree. The service adds input validation on top;
 * `costAll` runs in a span. Pricing is planned once per method and path shape and kept in bounded
 * caches, so that it costs a few microseconds per request (see `scripts/profilePricing.ts`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer, Option, Schema } from "effect"
import { HttpMethod } from "./BatchRequest.js"
import { unusableUrl } from "./BatchRequest.js"
import { normaliseRequest } from "./internal/catalog/request.js"
import { LruCache, readsBody, serviceMatches } from "./internal/catalog/classify.js"
import { priceIdentity } from "./internal/cost/identity.js"
import * as LimitCatalog from "./LimitCatalog.js"

/**
 * A request the calculator refuses. The `reason` is `method` (not GET, POST, PUT, PATCH or DELETE),
 * `url` (empty, `/`, or containing a line break) or `bodyBytes` (negative, fractional or not finite).
 * Spaces are allowed, as in the batch rules: Graph's own batch example filters with `city eq null`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  method: Schema.String,
  url: Schema.String,
  reason: Schema.Literal("method", "url", "bodyBytes")
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface CostCalculatorService {
  /**
   * Every bucket the request consumes and how much: the {@link LimitCatalog.Classification}, whose
   * `demands` carry the cost per bucket and whose `identity` explains the resource units. Opens no
   * span: it runs for every batch item, and a span would cost more than the pricing.
   *
   * Pricing is pure, so the answer is an `Either`, computed when `cost` is called: a caller pricing
   * many items reads it without running an Effect per item. An `Either` is also an `Effect`
   * (`yield*` it in `Effect.gen`).
   */
  readonly cost: (
    request: LimitCatalog.ClassifyRequest,
    context: LimitCatalog.ClassifyContext
  ) => Either.Either<LimitCatalog.Classification, InvalidRequest>
  /** {@link CostCalculatorService.cost} for several requests, in order, in a `CostCalculator.costAll` span. */
  readonly costAll: (
    requests: Iterable<LimitCatalog.ClassifyRequest>,
    context: LimitCatalog.ClassifyContext
  ) => Effect.Effect<ReadonlyArray<LimitCatalog.Classification>, InvalidRequest>
  /** The identity and access cost, or none when the request is not an identity request. */
  readonly identity: (
    request: LimitCatalog.ClassifyRequest,
    context: LimitCatalog.ClassifyContext
  ) => Effect.Effect<Option.Option<LimitCatalog.IdentityCost>, InvalidRequest>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CostCalculator extends Context.Tag("@effect-msgraph/spec/CostCalculator")<
  CostCalculator,
  CostCalculatorService
>() {}

const methods = new Set<string>(HttpMethod.literals)

/**
 * Checks a request before it is priced.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateRequest = <R extends LimitCatalog.ClassifyRequest>(request: R): Either.Either<R, InvalidRequest> => {
  const fail = (reason: InvalidRequest["reason"]) =>
    Either.left(new InvalidRequest({ method: request.method, url: request.url, reason }))
  if (!methods.has(request.method.trim().toUpperCase())) return fail("method")
  if (unusableUrl(request.url) || request.url.trim() === "/") return fail("url")
  const bytes = request.bodyBytes
  if (bytes !== undefined && !(Number.isInteger(bytes) && bytes >= 0)) return fail("bodyBytes")
  return Either.right(request)
}

/**
 * The identity and access cost of a request (resource units and write cost, with the row and
 * modifiers applied), or none when the request is outside the identity and access area. Pure.
 *
 * @since 0.1.0
 * @category pricing
 */
export const identityCost = (
  catalog: LimitCatalog.Catalog,
  request: LimitCatalog.ClassifyRequest,
  context: LimitCatalog.ClassifyContext
): Option.Option<LimitCatalog.IdentityCost> => {
  const normalised = normaliseRequest(request, context)
  return serviceMatches(catalog, normalised).some((service) => service.family === "identityAndAccess")
    ? Option.some(priceIdentity(LimitCatalog, catalog.identityCosts, normalised, context))
    : Option.none()
}

/** How many priced requests (by context, method, body size and URL) a calculator remembers. */
const resultCacheCapacity = 4096

/**
 * Builds the calculator over the {@link LimitCatalog.LimitCatalog} in context. `cost` prices when it
 * is called; classifications that did not read the body are remembered in a bounded cache.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<CostCalculatorService, never, LimitCatalog.LimitCatalog> = Effect.gen(function*() {
  const { catalog } = yield* LimitCatalog.LimitCatalog
  // Pricing one request is a few microseconds of pure work, run for every item of every batch. A
  // span per item (Effect.fn captures a stack trace on every call) cost several times the work, so
  // `cost` opens none; `costAll` spans the whole list, and callers span their batches.
  //
  // Workloads repeat their requests' method, URL and size (a page of each mailbox, again and again),
  // and a classification is fixed by those and the context unless it read the body (see
  // `readsBody`): the priced result is kept, per context, in a bounded cache.
  const results = new WeakMap<LimitCatalog.ClassifyContext, LruCache<string, LimitCatalog.Classification>>()
  const price = (
    request: LimitCatalog.ClassifyRequest,
    context: LimitCatalog.ClassifyContext
  ): Either.Either<LimitCatalog.Classification, InvalidRequest> => {
    let cache = results.get(context)
    if (cache === undefined) {
      cache = new LruCache(resultCacheCapacity)
      results.set(context, cache)
    }
    const key = `${request.method}\u0000${request.bodyBytes ?? ""}\u0000${request.url}`
    const hit = cache.get(key)
    if (hit !== undefined) return Either.right(hit)
    const priced = Either.map(validateRequest(request), (valid) => LimitCatalog.classify(catalog, valid, context))
    if (Either.isRight(priced) && !readsBody(catalog, priced.right)) cache.set(key, priced.right)
    return priced
  }
  return CostCalculator.of({
    cost: price,
    costAll: Effect.fn("CostCalculator.costAll")(function*(
      requests: Iterable<LimitCatalog.ClassifyRequest>,
      context: LimitCatalog.ClassifyContext
    ) {
      const classifications = yield* Effect.forEach(requests, (request) => price(request, context))
      yield* Effect.annotateCurrentSpan({
        "msgraph.requests": classifications.length,
        "msgraph.demands": classifications.reduce((sum, classification) => sum + classification.demands.length, 0)
      })
      return classifications
    }),
    identity: (request, context) =>
      Effect.suspend(() => Either.map(validateRequest(request), (valid) => identityCost(catalog, valid, context)))
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<CostCalculator, never, LimitCatalog.LimitCatalog> = Layer.effect(CostCalculator, make)

/**
 * The calculator over the default catalogue.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDefault: Layer.Layer<CostCalculator> = Layer.provide(layer, LimitCatalog.layerDefault)
