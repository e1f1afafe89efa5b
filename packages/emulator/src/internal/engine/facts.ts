/**
 * What a demand means to the emulator's answers: which ones earn the identity `x-ms-*` headers,
 * which are write quotas, which are SharePoint/OneDrive budgets (the `RateLimit-*` headers). The one
 * home of these decisions in the emulator, read from the facts the catalogue puts on each demand
 * (`family`, `writeQuota`, `measure`), never from entry ids or service names.
 *
 * @internal
 */
import type { Bucket } from "@effect-msgraph/spec"

const writeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** Identity and access demands: the ones that earn the `x-ms-*` headers. @internal */
export const isIdentity = (demand: Bucket.Demand): boolean => demand.family === "identityAndAccess"

/**
 * Whether a `Write` `x-ms-throttle-scope` is about this demand: a write quota ("3,000 requests per 2
 * minutes and 30 seconds", ...), or a request-counted limit met by a write method; never the
 * resource units.
 *
 * @internal
 */
export const isWriteQuota = (demand: Bucket.Demand, method: string): boolean =>
  demand.writeQuota || (demand.measure !== "resourceUnits" && writeMethods.has(method))

/** A SharePoint/OneDrive budget: the demands whose usage the `RateLimit-*` headers report. @internal */
export const isFiles = (demand: Bucket.Demand): boolean => demand.family === "files"

/** Whether a parallel batch runs this demand's items within its concurrency cap (Outlook's four). @internal */
export const runsWithinCap = (demand: Bucket.Demand): boolean => demand.batchWithinCap
