/**
 * The one place the CLI chooses how the client admits batches: proactive throttling
 * (`GraphClient.layerThrottledMemory`: costs from the catalogue, an in-memory Throttler keyed by the
 * caller's identity) unless the user asks for the unthrottled client, which sends everything and
 * relies on Retry-After.
 *
 * @internal
 */
import { GraphClient, type LimitCatalog } from "@effect-msgraph/core"
import { Layer } from "effect"

/** @internal */
export interface AdmissionOptions {
  readonly tenantSize: "S" | "M" | "L"
  /** Delegated (a signed-in user) or app-only: some limits apply to one and not the other. */
  readonly delegated: boolean
  /** Whom buckets are keyed by: must match the tenant, app and user Graph (or the emulator) sees. */
  readonly identity: LimitCatalog.LimitCatalog.Identity
  readonly unthrottled?: boolean | undefined
}

/** @internal */
export const admissionLayer = (options: AdmissionOptions): Layer.Layer<GraphClient.Admission> =>
  options.unthrottled === true
    ? GraphClient.layerUnthrottled
    : GraphClient.layerThrottledMemory(options.identity, {
      catalog: { tenantSize: options.tenantSize, delegated: options.delegated }
    }).pipe(Layer.orDie) // the built-in catalogue without overrides is valid

/** @internal */
export const admissionName = (options: Pick<AdmissionOptions, "unthrottled">): string =>
  options.unthrottled === true ? "unthrottled (Retry-After only)" : "throttled (documented limits)"
