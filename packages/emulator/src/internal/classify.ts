/**
 * The default classifier: the seam between the emulator and the limit catalogue.
 *
 * @internal
 */
import { Bucket } from "@effect-msgraph/core"
import type { Classifier } from "./engine.js"

/**
 * SEAM (catalogue not yet available to the emulator): only the global limit, 130,000 requests per
 * 10 seconds per app across all tenants, which applies to every request. Replaced by the
 * LimitCatalog's `classify` once that module lands; until then pass `classify` in the options for
 * service-specific limits.
 *
 * @internal
 */
export const globalOnly: Classifier = (_request, context) => [
  new Bucket.Demand({
    key: `global/app/${context.appId}`,
    entryId: "global.any",
    service: "global",
    scope: "app",
    limit: new Bucket.WindowLimit({ limit: 130_000, windowMillis: 10_000 }),
    cost: 1,
    retryAfter: true
  })
]
