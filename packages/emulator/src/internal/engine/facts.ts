/**
 * What a demand means to the emulator's answers: which ones earn the identity `x-ms-*` headers,
 * which are write quotas, which are SharePoint/OneDrive budgets (the `RateLimit-*` headers). The one
 * home of these decisions in the emulator.
 *
 * @internal
 */
import type { Bucket } from "@effect-msgraph/core"

const writeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** Identity and access demands: the ones that earn the `x-ms-*` headers. @internal */
export const isIdentity = (demand: Bucket.Demand): boolean => demand.service === "identityAccess" || demand.service === "identity"

/** An identity write quota ("3,000 requests per 2 minutes and 30 seconds", ...) rather than resource units. @internal */
export const isWriteQuota = (demand: Bucket.Demand, method: string): boolean =>
  /write/i.test(demand.entryId) || (demand.limit._tag !== "TokenBucket" && writeMethods.has(method))

/** A SharePoint/OneDrive budget: the demands whose usage the `RateLimit-*` headers report. @internal */
export const isFiles = (demand: Bucket.Demand): boolean => /files|sharepoint|onedrive/i.test(demand.service)
