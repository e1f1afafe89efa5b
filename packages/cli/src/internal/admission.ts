/**
 * The one place the CLI chooses how the client admits batches. Proactive throttling
 * (`GraphClient.layerThrottled`) is not in core yet, so every run sends unthrottled and relies on
 * Retry-After; when it lands, this function switches and nothing else changes.
 *
 * @internal
 */
import { GraphClient } from "@effect-msgraph/core"
import type { Layer } from "effect"

/** @internal */
export interface AdmissionOptions {
  readonly tenantSize: "S" | "M" | "L"
}

/** @internal */
export const admissionLayer = (_options: AdmissionOptions): Layer.Layer<GraphClient.Admission> => GraphClient.layerUnthrottled

/** @internal */
export const admissionName = "unthrottled (Retry-After only)"
