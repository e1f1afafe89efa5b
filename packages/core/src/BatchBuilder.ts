/**
 * Turns requests into Graph-valid `$batch` envelopes. Every rule Graph documents for a batch is
 * checked before anything is sent, and an invalid batch is never returned:
 *
 * - at least one and at most 20 requests;
 * - non-empty ids, unique when compared case-insensitively;
 * - methods GET, POST, PUT, PATCH or DELETE;
 * - no CR or LF in header names or values;
 * - relative URLs (full URLs to the configured host are made relative and lose their version segment;
 *   other hosts, other versions and nested `$batch` calls are rejected);
 * - a Content-Type with every body (`application/json` is added for a JSON object or array);
 * - `dependsOn` naming items of the same batch, without cycles;
 * - a shape Graph accepts: fully parallel, or fully sequential (serial chain, or every dependent
 *   stating the same single dependency).
 *
 * A `dependsOn` may name an item that comes later in the array: Graph documents no order rule. The
 * builder puts such a batch in order itself, every dependency before its dependents and otherwise
 * in the order given (a stable topological sort), so the emitted envelope always lists
 * dependencies first.
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Either, Layer } from "effect"
import * as BatchRequest from "@effect-msgraph/spec/BatchRequest"
import * as rules from "./internal/batch/rules.js"
import * as bounds from "./internal/batch/bounds.js"
import * as wire from "./internal/client/wire.js"
import type * as VE from "./ValidationError.js"

/**
 * The shape of a valid batch: `parallel` (no dependsOn), `serial` (one chain through every item,
 * each depending on the one before it) or `same` (every item that states a dependency states the
 * same one; Graph runs these sequentially).
 *
 * @since 0.1.0
 * @category models
 */
export type BatchShape = "parallel" | "serial" | "same"

const ValidBatchTypeId: unique symbol = Symbol.for("@effect-msgraph/core/BatchBuilder/ValidBatch")

/**
 * A batch that passed every rule. It can only be obtained from {@link BatchBuilder} (or
 * {@link validate}), so holding one proves the batch is Graph-valid. Its `requests` list every
 * dependency before its dependents.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidBatch {
  readonly [ValidBatchTypeId]: typeof ValidBatchTypeId
  readonly requests: ReadonlyArray<BatchRequest.BatchRequestItem>
  readonly shape: BatchShape
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchBuilderService {
  readonly options: Required<BatchBuilder.Options>
  /** Checks and normalises one batch, and puts dependencies before their dependents. */
  readonly build: (
    requests: Iterable<BatchRequest.BatchRequestItem>
  ) => Effect.Effect<ValidBatch, VE.BatchValidationError>
  /** The wire JSON of a valid batch (`{ requests: [...] }`, bodies base64 where not JSON). */
  readonly toJson: (batch: ValidBatch) => Effect.Effect<typeof BatchRequest.BatchRequestEnvelopeJson.Type>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class BatchBuilder extends Context.Tag("@effect-msgraph/core/BatchBuilder")<
  BatchBuilder,
  BatchBuilderService
>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace BatchBuilder {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /** The Graph host (host[:port]) absolute URLs may name. Default `graph.microsoft.com`. */
    readonly host?: string
    /** The API version of the batch endpoint. Default `v1.0`. */
    readonly version?: "v1.0" | "beta"
  }
}

/**
 * The most requests Graph accepts in one batch.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BATCH_SIZE = 20

/**
 * The most bytes a batch's JSON envelope may take: Graph limits a write request to 4 MB, and a
 * `$batch` call is one (4,000,000, the smaller reading of "4 MB"). Larger batches fail with
 * `BatchTooLarge`; the `DependencyResolver` plans batches within it.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BATCH_BYTES: number = bounds.MAX_BATCH_BYTES

/**
 * The most bytes one request may take in a batch (its JSON form: id, method, URL, headers and body,
 * base64 where the body is not JSON), so that it fits in a call on its own. Larger requests fail
 * with `RequestTooLarge`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_REQUEST_BYTES: number = bounds.MAX_REQUEST_BYTES

/**
 * The most levels of objects and arrays one JSON body may nest (our own bound, not Graph's). Deeper
 * bodies, and bodies that contain themselves, fail with `BodyTooDeep`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BODY_DEPTH: number = bounds.MAX_BODY_DEPTH

/** @internal */
export const settingsOf = (options: BatchBuilder.Options = {}): rules.Settings => ({
  host: options.host ?? "graph.microsoft.com",
  version: options.version ?? "v1.0",
  maxRequests: MAX_BATCH_SIZE
})

/** @internal */
export const unsafeValid = (built: rules.Built): ValidBatch => ({
  [ValidBatchTypeId]: ValidBatchTypeId,
  requests: built.requests,
  shape: built.shape
})

/**
 * Checks one batch without a service in scope.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  requests: Iterable<BatchRequest.BatchRequestItem>,
  options?: BatchBuilder.Options
): Either.Either<ValidBatch, VE.BatchValidationError> =>
  Either.map(rules.build(requests, settingsOf(options)), unsafeValid)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: BatchBuilder.Options): Effect.Effect<BatchBuilderService> =>
  Effect.sync(() => {
    const settings = settingsOf(options)
    return BatchBuilder.of({
      options: { host: settings.host, version: settings.version },
      build: Effect.fn("BatchBuilder.build")(function*(requests: Iterable<BatchRequest.BatchRequestItem>) {
        const built = yield* rules.build(requests, settings)
        yield* Effect.annotateCurrentSpan({ "batch.size": built.requests.length, "batch.shape": built.shape })
        return unsafeValid(built)
      }),
      // A ValidBatch's bodies were checked against their Content-Type, so encoding cannot fail.
      toJson: (batch) => Effect.orDie(wire.encodeRequestEnvelope(batch.requests))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: BatchBuilder.Options): Layer.Layer<BatchBuilder> =>
  Layer.effect(BatchBuilder, make(options))

/**
 * Reads `MSGRAPH_HOST` (default `graph.microsoft.com`) and `MSGRAPH_VERSION` (`v1.0` or `beta`,
 * default `v1.0`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<BatchBuilder, import("effect/ConfigError").ConfigError> = Layer.effect(
  BatchBuilder,
  Effect.flatMap(
    Config.all({
      host: Config.withDefault(Config.string("MSGRAPH_HOST"), "graph.microsoft.com"),
      version: Config.withDefault(Config.literal("v1.0", "beta")("MSGRAPH_VERSION"), "v1.0" as const)
    }),
    make
  )
)
