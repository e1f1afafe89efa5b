/**
 * The one place the CLI chooses how the client admits batches: proactive throttling
 * (`GraphClient.layerThrottledMemory`: costs from the catalogue, an in-memory Throttler keyed by the
 * caller's identity; with a Redis URL, the same Throttler over a `RedisQuotaStore` that every process
 * given that URL shares) unless the user asks for the unthrottled client, which sends everything and
 * relies on Retry-After.
 *
 * @internal
 */
import { type Admission, CostCalculator, GraphClient, LimitCatalog, Throttler } from "@effect-msgraph/core"
import { RedisQuotaStore } from "@effect-msgraph/quota-redis"
import { Layer } from "effect"

/** @internal */
export interface AdmissionOptions {
  readonly tenantSize: "S" | "M" | "L"
  /** Delegated (a signed-in user) or app-only: some limits apply to one and not the other. */
  readonly delegated: boolean
  /** Whom buckets are keyed by: must match the tenant, app and user Graph (or the emulator) sees. */
  readonly identity: LimitCatalog.LimitCatalog.Identity
  readonly unthrottled?: boolean | undefined
  /** A `redis://` URL: bucket state lives there, shared with every process given the same URL. */
  readonly quotaStore?: string | undefined
  /** With `quotaStore`: the lifetime of a permit's lease in Redis (`RedisQuotaStore` default otherwise). */
  readonly leaseMillis?: number | undefined
  /** What Graph takes at least, by assumption (`Admission.LeastLatency`): `simulate` knows its model's. */
  readonly leastLatency?: Admission.LeastLatency | undefined
}

/** @internal */
export const admissionLayer = (options: AdmissionOptions): Layer.Layer<GraphClient.Admission> => {
  if (options.unthrottled === true) return GraphClient.layerUnthrottled
  const catalog = { tenantSize: options.tenantSize, delegated: options.delegated }
  if (options.quotaStore === undefined) {
    return GraphClient.layerThrottledMemory(options.identity, { catalog, leastLatency: options.leastLatency }).pipe(Layer.orDie) // the built-in catalogue without overrides is valid
  }
  const store = RedisQuotaStore.layer({
    url: options.quotaStore,
    tokenReserveMillis: GraphClient.defaultTokenReserveMillis,
    unitsInFlight: true,
    ...(options.leaseMillis === undefined ? {} : { leaseMillis: options.leaseMillis })
  })
  return GraphClient.layerThrottled(options.identity, { leastLatency: options.leastLatency }).pipe(
    Layer.provide(Layer.merge(Throttler.layer().pipe(Layer.provide(store)), CostCalculator.layer)),
    Layer.provide(LimitCatalog.layer(catalog)),
    Layer.orDie // the URL was checked by `run`; the built-in catalogue is valid
  )
}

/** @internal */
export const admissionName = (options: Pick<AdmissionOptions, "unthrottled" | "quotaStore">): string =>
  options.unthrottled === true
    ? "unthrottled (Retry-After only)"
    : options.quotaStore === undefined
    ? "throttled (documented limits)"
    : `throttled (documented limits, shared through ${RedisQuotaStore.redact(options.quotaStore)})`
