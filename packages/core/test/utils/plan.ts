import * as DR from "@effect-msgraph/core/DependencyResolver"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Either } from "effect"

/** A GET of one user, named by its id, with whatever else the test needs. */
export const req = (id: string, extra: Partial<WorkloadRequest> = {}): WorkloadRequest => ({
  id,
  method: "GET",
  url: `/users/${id}`,
  ...extra
})

/** The plan of a workload the test expects to be valid. */
export const planOf = (workload: ReadonlyArray<WorkloadRequest>, options?: DR.DependencyResolver.Options) =>
  Either.getOrThrowWith(DR.plan(workload, options), (e) => new Error(`${e._tag}: ${e.message}`))
