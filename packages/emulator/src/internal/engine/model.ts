/**
 * What the engine's pieces share: the resolved options, one HTTP request in and out, and an item on
 * its way through preparation, admission and execution.
 *
 * @internal
 */
import type { Bucket } from "@effect-msgraph/spec"
import { headerValue } from "@effect-msgraph/spec/Body"
import type { Priority } from "../../Audit.js"
import type { Classifier, ClassifyContext, ClassifyRequest } from "../../Emulator.js"
import type { Faults } from "../../Faults.js"
import type { LatencyModel } from "../../Latency.js"
import type { Enforced } from "../accounting.js"
import type { LoadOptions } from "../load.js"
import type { StoreOptions } from "../resources.js"
import type { ParsedUrl, Service } from "../routing.js"

export type { Classifier, ClassifyContext, ClassifyRequest, LatencyModel }

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
  /** The load model (items in flight per app slow down, then answer 503), or none. */
  readonly load: LoadOptions | undefined
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

/** One request: a single request, or one item of a batch. @internal */
export interface Item {
  readonly id: string | undefined
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  /** For a batch item, the `client-request-id` header of the `$batch` request that carried it. */
  readonly batchClientRequestId?: string | undefined
}

/** An item with everything decided before admission: its service, priority and demands. @internal */
export interface Prepared {
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

/** An admitted item, to perform. @internal */
export interface Ticket {
  readonly prepared: Prepared
  readonly seq: number
  readonly requestId: string
  readonly startedAt: number
  readonly headers: Record<string, string>
}

/**
 * A header's value whatever the case of its name: the one rule of `@effect-msgraph/spec`'s `Body`,
 * which the client reads with too (the exact spelling first, then any other case).
 *
 * @internal
 */
export const headerOf = headerValue

/**
 * The `client-request-id` an item's error body echoes: its own header, else (inside a batch) the
 * batch request's. Without either, the error body falls back to the request id (see `errorBody`).
 *
 * @internal
 */
export const echoedClientRequestId = (item: Item): string | undefined =>
  headerOf(item.headers, "client-request-id") ?? item.batchClientRequestId
