/**
 * The facts a demand carries (measure, cost basis, write quota, family, batch within cap) come from
 * the catalogue, for every entry; and they answer every question the code used to answer by matching
 * names, as the name matching did.
 */
import { describe, expect, it } from "@effect/vitest"
import { Demand, WindowLimit } from "@effect-msgraph/spec/Bucket"
import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"

const catalog = LimitCatalog.defaultCatalog

/** A concrete segment for each pattern segment (see the grammar in `internal/urlPattern.ts`). */
const concrete = (segment: string): ReadonlyArray<string> => {
  if (segment === "**") return []
  if (segment === "*") return ["seg1"]
  const capture = /^\{([^}|:]+)(?::any)?(?:\|([^}]*))?\}$/.exec(segment)
  if (capture !== null) return [capture[2] !== undefined ? capture[2].split("|")[0]! : `${capture[1]}1`]
  if (segment.endsWith("*")) return [`${segment.slice(0, -1)}X`]
  return [segment]
}

/** Requests the generic construction below does not reach: a body-keyed entry and fallbacks. */
const special: Readonly<Record<string, LimitCatalog.ClassifyRequest>> = {
  "informationProtection.resource.15min": {
    method: "POST",
    url: "/informationProtection/threatAssessmentRequests",
    body: { url: "https://contoso.com" },
    bodyBytes: 30
  },
  "intune.unmapped.writes.tenant": { method: "POST", url: "/deviceManagement/notClaimedByAnyArea" },
  "intune.unmapped.any.tenant": { method: "GET", url: "/deviceManagement/notClaimedByAnyArea" },
  "teams.otherGet.perChannel": { method: "GET", url: "/teams/team1/channels/channel1/notARow" }
}
const specialFor = (id: string): LimitCatalog.ClassifyRequest | undefined =>
  special[id] ?? special[id.replace(/\.appTenant$/, ".tenant")] ?? special[id.replace(/\.day$/, ".15min")]

/** Requests that should reach the entry: one per path of its matcher, with its method and query. */
const requestsFor = (entry: LimitCatalog.LimitEntry): ReadonlyArray<LimitCatalog.ClassifyRequest> => {
  const query = entry.match.query.flatMap((c) =>
    c._tag === "Has" ? [`${c.param}=1`] : c._tag === "Equals" ? [`${c.param}=${c.value}`] : c._tag === "NotEquals" ? [`${c.param}=other`] : []
  )
  const generic = entry.match.paths.map((path) => {
    const url = `/${path.split("/").flatMap(concrete).join("/")}`
    return { method: entry.match.methods[0] ?? "GET", url: query.length > 0 ? `${url}?${query.join("&")}` : url, bodyBytes: 100 }
  })
  const extra = specialFor(entry.id)
  return extra === undefined ? generic : [extra, ...generic]
}

const contextFor = (entry: LimitCatalog.LimitEntry): LimitCatalog.ClassifyContext =>
  LimitCatalog.ClassifyContext.make({
    tenantId: "t1",
    appId: "a1",
    delegated: entry.when.auth === "delegated",
    ...(entry.when.auth === "delegated" ? { userId: "u1" } : {}),
    ...(entry.when.tenantSize !== undefined ? { tenantSize: entry.when.tenantSize } : {}),
    ...(entry.when.signInAudience !== undefined ? { signInAudience: entry.when.signInAudience[0]! } : {})
  })

const demandOf = (entry: LimitCatalog.LimitEntry): Demand | undefined => {
  for (const request of requestsFor(entry)) {
    const found = LimitCatalog.classify(catalog, request, contextFor(entry)).demands.find((d) => d.entryId === entry.id)
    if (found !== undefined) return found
  }
  return undefined
}

// every entry that makes demands, with one of its demands
const published = catalog.entries.filter((entry) => entry.limit._tag !== "Unpublished" && entry.notModelled === undefined)
const demands = published.map((entry) => [entry, demandOf(entry)] as const)

const serviceOf = (id: string) => catalog.services.find((s) => s.id === id)!

// The name matching the facts replace, as it was written.
const old = {
  normalised: (service: string): string => service.toLowerCase().replace(/[^a-z]/g, ""),
  /** ThrottleFeedback.isWriteQuota */
  isWriteQuota: (d: { readonly entryId: string }): boolean => /write/i.test(d.entryId),
  /** ThrottlePriority.isIdentityAndAccess */
  isIdentityAndAccess: (d: { readonly service: string }): boolean => {
    const service = old.normalised(d.service)
    return service === "identityaccess" || service === "identityandaccess" || service === "identity"
  },
  /** the emulator's isIdentity */
  isIdentity: (d: { readonly service: string }): boolean => d.service === "identityAccess" || d.service === "identity",
  /** the emulator's isFiles */
  isFiles: (d: { readonly service: string }): boolean => /files|sharepoint|onedrive/i.test(d.service),
  /** ThrottleFeedback's isGlobal */
  isGlobal: (d: { readonly service: string }): boolean => old.normalised(d.service) === "global",
  /** throttledAdmission's batchRunsWithinCap */
  batchRunsWithinCap: (d: { readonly service: string }): boolean => d.service === "outlook",
  /** Throttler's isResourceUnitBucket */
  isResourceUnitBucket: (d: Demand): boolean =>
    d.limit._tag === "TokenBucket" && old.isIdentityAndAccess(d) && !old.isWriteQuota(d)
}

describe("LimitCatalog facts on demands", () => {
  it("reaches a demand of every entry that makes demands", () => {
    expect(published.length).toBeGreaterThan(300)
    expect(demands.filter(([, d]) => d === undefined).map(([entry]) => entry.id)).toEqual([])
  })

  it("copies each entry's measure and cost basis, and its service's family and batch behaviour", () => {
    for (const [entry, demand] of demands) {
      const limit = entry.limit
      if (limit._tag === "Unpublished" || demand === undefined) continue
      const service = serviceOf(entry.service)
      expect({
        measure: demand.measure,
        costBasis: demand.costBasis,
        writeQuota: demand.writeQuota,
        family: demand.family,
        batchWithinCap: demand.batchWithinCap
      }, entry.id).toEqual({
        measure: limit._tag === "Concurrent" ? "concurrentRequests" : limit.measure,
        costBasis: limit._tag === "Concurrent" ? "request" : limit.cost,
        writeQuota: limit._tag !== "Concurrent" && limit.measure === "writeRequests",
        family: service.family,
        batchWithinCap: service.batchWithinCap
      })
    }
  })

  it("answers as the name matching did, on every entry", () => {
    for (const [entry, demand] of demands) {
      if (demand === undefined) continue
      expect({
        writeQuota: demand.writeQuota,
        identityAndAccess: demand.family === "identityAndAccess",
        emulatorIdentity: demand.family === "identityAndAccess",
        files: demand.family === "files",
        global: demand.family === "global",
        batchWithinCap: demand.batchWithinCap,
        resourceUnits: demand.measure === "resourceUnits"
      }, entry.id).toEqual({
        writeQuota: old.isWriteQuota(demand),
        identityAndAccess: old.isIdentityAndAccess(demand),
        emulatorIdentity: old.isIdentity(demand),
        files: old.isFiles(demand),
        global: old.isGlobal(demand),
        batchWithinCap: old.batchRunsWithinCap(demand),
        resourceUnits: old.isResourceUnitBucket(demand)
      })
    }
  })

  it("declares the families and batch behaviour on the services as the name matching read them", () => {
    for (const service of catalog.services) {
      const named = { service: service.id }
      expect({
        identityAndAccess: service.family === "identityAndAccess",
        files: service.family === "files",
        global: service.family === "global",
        batchWithinCap: service.batchWithinCap
      }, service.id).toEqual({
        identityAndAccess: old.isIdentityAndAccess(named),
        files: old.isFiles(named),
        global: old.isGlobal(named),
        batchWithinCap: old.batchRunsWithinCap(named)
      })
    }
    expect(catalog.services.filter((s) => s.family !== "other").map((s) => [s.id, s.family])).toEqual([
      ["global", "global"],
      ["filesAndLists", "files"],
      ["identityAccess", "identityAndAccess"],
      ["outlook", "outlook"]
    ])
  })

  it("gives a demand made outside the catalogue a plain request-counted limit of no family", () => {
    const plain = Demand.make({
      key: "k",
      entryId: "e",
      service: "outlook",
      scope: "app",
      limit: WindowLimit.make({ limit: 1, windowMillis: 1_000 }),
      cost: 1,
      retryAfter: true
    })
    expect([plain.measure, plain.costBasis, plain.writeQuota, plain.family, plain.batchWithinCap]).toEqual([
      "requests",
      "request",
      false,
      "other",
      false
    ])
  })
})
