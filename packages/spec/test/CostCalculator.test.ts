import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck, Layer, Option } from "effect"
import * as CostCalculator from "../src/CostCalculator.js"
import * as LimitCatalog from "../src/LimitCatalog.js"

const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
const app = "9a3d526c-b3c1-4479-ba74-197b5c5751ae"
const userId = "0785ef7c-2d7a-4542-b048-95bcab406e0b"
const context = new LimitCatalog.ClassifyContext({
  tenantId: tenant,
  appId: app,
  userId,
  userPrincipalName: "alice@contoso.com",
  delegated: true,
  tenantSize: "S"
})
const b2c = new LimitCatalog.ClassifyContext({ ...context, b2c: true })

const price = (method: string, url: string, ctx: LimitCatalog.ClassifyContext = context) => {
  const cost = CostCalculator.identityCost(LimitCatalog.defaultCatalog, { method, url }, ctx)
  if (Option.isNone(cost)) throw new Error(`${method} ${url} is not an identity request`)
  return cost.value
}

// One case per row of the seed's "base request costs" table: [method, concrete URL, base RU, write cost].
const tableRows: ReadonlyArray<readonly [string, string, number, number]> = [
  ["GET", "applications", 2, 0],
  ["GET", "applications/5fd8b6a8-3a60-4c2a-a1f5-71cbd6f3a2a7/extensionProperties", 2, 0],
  ["GET", "contracts", 3, 0],
  ["POST", "directoryObjects/getByIds", 5, 0],
  ["GET", "domains/contoso.com/domainNameReferences", 4, 0],
  ["POST", "getObjectsById", 5, 0],
  ["GET", "groups/02bd9fd6-8f93-4758-87c3-1fb73740a315/members", 3, 0],
  ["GET", "groups/02bd9fd6-8f93-4758-87c3-1fb73740a315/transitiveMembers", 5, 0],
  ["POST", "isMemberOf", 4, 0],
  ["POST", "me/checkMemberGroups", 4, 0],
  ["POST", "me/checkMemberObjects", 4, 0],
  ["POST", "me/getMemberGroups", 2, 0],
  ["POST", "me/getMemberObjects", 2, 0],
  ["GET", "me/licenseDetails", 2, 0],
  ["GET", "me/memberOf", 2, 0],
  ["GET", "me/ownedObjects", 2, 0],
  ["GET", "me/transitiveMemberOf", 2, 0],
  ["GET", "oauth2PermissionGrants", 2, 0],
  ["GET", "oauth2PermissionGrants/AQIDBAUGBwgJCgsMDQ4PEA", 2, 0],
  ["GET", "servicePrincipals/00000003-0000-0000-c000-000000000000/appRoleAssignments", 2, 0],
  ["GET", "subscribedSkus", 3, 0],
  ["GET", "users", 2, 0],
  ["GET", "devices/d1", 1, 0],
  ["POST", "groups", 1, 1],
  ["PATCH", "users/bob@contoso.com", 1, 1],
  ["PUT", "applications/a1/synchronization/secrets", 1, 1],
  ["DELETE", "groups/g1/members/u1/$ref", 1, 1]
]

describe("CostCalculator: one case per row of the identity cost table", () => {
  for (const [method, url, base, write] of tableRows) {
    it(`${method} ${url} costs ${base} resource unit(s) and ${write} write(s)`, () => {
      const cost = price(method, url)
      expect(cost.base).toBe(base)
      expect(cost.resourceUnits).toBe(base)
      expect(cost.writeCost).toBe(write)
      expect(cost.adjustments).toEqual([])
    })
  }

  it("names the table row it used, or the 'not listed' row", () => {
    expect(price("GET", "groups/g1/members").row).toBe("GET groups/{id}/members")
    expect(price("GET", "groups/g1").row).toBe("GET any identity path not listed")
  })
})

describe("CostCalculator: modifiers", () => {
  it("$select decreases the cost by 1", () => {
    const cost = price("GET", "groups/g1/members?$select=id,displayName")
    expect(cost.resourceUnits).toBe(2)
    expect(cost.adjustments).toEqual([{ rule: "select", delta: -1 }])
  })

  it("$expand increases the cost by 1", () => {
    expect(price("GET", "users?$expand=manager").resourceUnits).toBe(3)
  })

  it("$top below 20 decreases the cost by 1; 20 and above does not; a non-number is ignored", () => {
    expect(price("GET", "subscribedSkus?$top=19").resourceUnits).toBe(2)
    expect(price("GET", "subscribedSkus?$top=0").resourceUnits).toBe(2)
    expect(price("GET", "subscribedSkus?$top=20").resourceUnits).toBe(3)
    expect(price("GET", "subscribedSkus?$top=999").resourceUnits).toBe(3)
    expect(price("GET", "subscribedSkus?$top=ten").resourceUnits).toBe(3)
  })

  it("creating a user in a B2C tenant increases the cost by 4", () => {
    const cost = price("POST", "users", b2c)
    expect(cost.resourceUnits).toBe(5)
    expect(cost.writeCost).toBe(1)
    expect(cost.adjustments).toEqual([{ rule: "b2cCreateUser", delta: 4 }])
  })

  it("the B2C increase applies only to creating a user, and only in a B2C tenant", () => {
    expect(price("POST", "users", context).resourceUnits).toBe(1)
    expect(price("PATCH", "users/u1", b2c).resourceUnits).toBe(1)
    expect(price("POST", "groups", b2c).resourceUnits).toBe(1)
  })

  it("the cost is never below 1", () => {
    const cost = price("GET", "users/u1?$select=id&$top=1")
    expect(cost.resourceUnits).toBe(1)
    expect(cost.adjustments).toEqual([
      { rule: "select", delta: -1 },
      { rule: "top", delta: -1 },
      { rule: "minimum", delta: 2 }
    ])
  })

  it("$select on directoryObjects/getByIds or getObjectsById results in 2 resource units", () => {
    expect(price("POST", "directoryObjects/getByIds?$select=id").resourceUnits).toBe(2)
    expect(price("POST", "getObjectsById?$select=displayName").resourceUnits).toBe(2)
    expect(price("POST", "directoryObjects/getByIds").resourceUnits).toBe(5)
  })

  it("combines $select, $expand and $top: 5 - 1 + 1 - 1 on transitiveMembers", () => {
    expect(price("GET", "groups/g1/transitiveMembers?$select=id&$expand=memberOf&$top=5").resourceUnits).toBe(4)
  })

  it("combines $select and $top: /groups/{id}/transitiveMembers?$select=id&$top=10 costs 3", () => {
    expect(price("GET", "/groups/g1/transitiveMembers?$select=id&$top=10").resourceUnits).toBe(3)
  })

  it("combines $expand with the B2C increase", () => {
    expect(price("POST", "users?$expand=manager", b2c).resourceUnits).toBe(6)
  })

  it("combines $select with $expand on a listed row: GET users costs 2 - 1 + 1", () => {
    expect(price("GET", "users?$select=id&$expand=manager").resourceUnits).toBe(2)
  })

  it("ignores a $select or $expand without a value", () => {
    expect(price("GET", "users?$select=&$expand=").resourceUnits).toBe(2)
  })

  it("reads query option names case-insensitively", () => {
    expect(price("GET", "users?$SELECT=id&$Top=5").resourceUnits).toBe(1)
  })

  it.prop("the cost is always at least 1 and differs from the base only by the modifiers", [
    FastCheck.constantFrom(...tableRows),
    FastCheck.boolean(),
    FastCheck.boolean(),
    FastCheck.option(FastCheck.nat({ max: 50 })),
    FastCheck.boolean()
  ], ([[method, url, base], select, expand, top, isB2c]) => {
    const query = [select ? "$select=id" : "", expand ? "$expand=owners" : "", top !== null ? `$top=${top}` : ""]
      .filter((part) => part.length > 0).join("&")
    const cost = price(method, query ? `${url}?${query}` : url, isB2c ? b2c : context)
    expect(cost.resourceUnits).toBeGreaterThanOrEqual(1)
    expect(cost.base).toBe(base)
    expect(cost.adjustments.reduce((sum, a) => sum + a.delta, cost.base)).toBe(cost.resourceUnits)
  })
})

describe("CostCalculator: me/ is priced as users/{id | userPrincipalName}/", () => {
  it("users/{id}/memberOf costs the me/memberOf row, for any user", () => {
    expect(price("GET", "users/bob@contoso.com/memberOf").resourceUnits).toBe(2)
    expect(price("GET", `users/${userId}/memberOf`).row).toBe("GET me/memberOf")
  })

  it("users/{upn}/checkMemberGroups costs the me/checkMemberGroups row", () => {
    expect(price("POST", "users/alice@contoso.com/checkMemberGroups").resourceUnits).toBe(4)
  })

  it("a trailing type cast on a GET keeps the row: groups/{id}/members/microsoft.graph.user", () => {
    expect(price("GET", "groups/g1/members/microsoft.graph.user").resourceUnits).toBe(3)
  })

  it("a request outside identity and access has no identity cost", () => {
    expect(CostCalculator.identityCost(LimitCatalog.defaultCatalog, { method: "GET", url: "me/messages" }, context)).toEqual(Option.none())
  })
})

describe("CostCalculator service: typed cost per bucket", () => {
  const run = <A, E>(effect: Effect.Effect<A, E, CostCalculator.CostCalculator>) =>
    Effect.provide(effect, CostCalculator.layerDefault)

  it.effect("charges resource units to the RU buckets and the write cost to the write quotas", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const result = yield* calculator.cost({ method: "POST", url: "users?$expand=manager", bodyBytes: 200 }, b2c)
      const byEntry = Object.fromEntries(result.demands.map((d) => [d.entryId, d.cost]))
      expect(byEntry).toEqual({
        "global.app": 1,
        "identityAccess.appTenant.resourceUnits.S": 6,
        "identityAccess.appTenant.writes": 1,
        "identityAccess.app.resourceUnits": 6,
        "identityAccess.app.writes": 1,
        "identityAccess.tenant.writes": 1
      })
      expect(result.identity?.resourceUnits).toBe(6)
    })))

  it.effect("a POST with write cost 0 places no demand on the write quotas, and says so", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const result = yield* calculator.cost({ method: "POST", url: "directoryObjects/getByIds?$select=id" }, context)
      expect(result.demands.map((d) => [d.entryId, d.cost])).toEqual([
        ["global.app", 1],
        ["identityAccess.appTenant.resourceUnits.S", 2],
        ["identityAccess.app.resourceUnits", 2]
      ])
      expect(result.skipped.map((s) => [s.entryId, s.reason])).toEqual([
        ["identityAccess.appTenant.writes", "zeroCost"],
        ["identityAccess.app.writes", "zeroCost"],
        ["identityAccess.tenant.writes", "zeroCost"]
      ])
    })))

  it.effect("the tenant size selects the application+tenant quota", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      for (const [size, capacity] of [["S", 3_500], ["M", 5_000], ["L", 8_000]] as const) {
        const result = yield* calculator.cost({ method: "GET", url: "users" }, new LimitCatalog.ClassifyContext({ ...context, tenantSize: size }))
        const quota = result.demands.find((d) => d.entryId === `identityAccess.appTenant.resourceUnits.${size}`)
        expect(quota?.limit).toEqual({ _tag: "TokenBucket", capacity, refillPerSecond: capacity / 10 })
        expect(quota?.cost).toBe(2)
      }
    })))

  it.effect("agrees with LimitCatalog.classify, which the throttler and emulator call directly", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const request = { method: "GET", url: "/groups/g1/transitiveMembers?$select=id&$top=10" }
      expect(yield* calculator.cost(request, context)).toEqual(LimitCatalog.classify(LimitCatalog.defaultCatalog, request, context))
    })))

  it.effect("costs several requests in order, and exposes the identity cost alone", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const results = yield* calculator.costAll([{ method: "GET", url: "users" }, { method: "GET", url: "me/messages" }], context)
      expect(results.map((r) => r.services)).toEqual([["global", "identityAccess"], ["global", "outlook"]])
      expect(Option.map(yield* calculator.identity({ method: "GET", url: "subscribedSkus" }, context), (c) => c.resourceUnits)).toEqual(Option.some(3))
      expect(yield* calculator.identity({ method: "GET", url: "me/events" }, context)).toEqual(Option.none())
    })))

  it.effect("uses the catalogue in context, overrides included", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const result = yield* calculator.cost({ method: "GET", url: "users" }, context)
      const quota = result.demands.find((d) => d.entryId === "identityAccess.appTenant.resourceUnits.S")
      expect(quota?.limit).toEqual({ _tag: "TokenBucket", capacity: 1_000, refillPerSecond: 100 })
    }).pipe(
      Effect.provide(
        CostCalculator.layer.pipe(
          Layer.provide(
            LimitCatalog.layer({
              overrides: [new LimitCatalog.LimitOverride({ entryId: "identityAccess.appTenant.resourceUnits.S", quantity: 1_000 })]
            })
          )
        )
      )
    ))

  it.effect("refuses a bad method, an empty URL, a line break in a URL and a negative body size with InvalidRequest", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const reason = (request: LimitCatalog.ClassifyRequest) =>
        calculator.cost(request, context).pipe(Effect.flip, Effect.map((e) => e.reason))
      expect(yield* reason({ method: "HEAD", url: "users" })).toBe("method")
      expect(yield* reason({ method: "GET", url: "  " })).toBe("url")
      expect(yield* reason({ method: "GET", url: "users/a\r\nb" })).toBe("url")
      expect(yield* reason({ method: "POST", url: "users", bodyBytes: -1 })).toBe("bodyBytes")
      expect(yield* reason({ method: "POST", url: "users", bodyBytes: 1.5 })).toBe("bodyBytes")
      const error = yield* Effect.flip(calculator.cost({ method: "HEAD", url: "users" }, context))
      expect(error).toBeInstanceOf(CostCalculator.InvalidRequest)
      expect(error._tag).toBe("InvalidRequest")
    })))

  it.effect("prices when called: the result is an Either, and an invalid request is a Left", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const good = calculator.cost({ method: "GET", url: "users/u1/messages" }, context)
      const bad = calculator.cost({ method: "HEAD", url: "users" }, context)
      expect(Either.isEither(good) && Either.isRight(good)).toBe(true)
      expect(Either.isEither(bad) && Either.isLeft(bad)).toBe(true)
    })))

  it.effect("a repeated request is priced once: the same classification comes back, equal to a fresh one", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const request = { method: "GET", url: "/users/u1/messages?$top=25" }
      const first = yield* calculator.cost(request, context)
      const again = yield* calculator.cost({ ...request }, context)
      expect(again).toBe(first)
      expect(again).toEqual(LimitCatalog.classify(LimitCatalog.defaultCatalog, request, context))
      // the body size is part of what is remembered
      const upload = { method: "POST", url: "/users/u1/messages" }
      const small = yield* calculator.cost({ ...upload, bodyBytes: 10 }, context)
      const large = yield* calculator.cost({ ...upload, bodyBytes: 900 }, context)
      const uploadCost = (c: LimitCatalog.Classification) => c.demands.find((d) => d.entryId === "outlook.mailbox.upload")?.cost
      expect([uploadCost(small), uploadCost(large)]).toEqual([10, 900])
      // and so is the context
      const other = new LimitCatalog.ClassifyContext({ ...context, tenantSize: "L" })
      expect(yield* calculator.cost({ method: "GET", url: "users" }, other)).toEqual(
        LimitCatalog.classify(LimitCatalog.defaultCatalog, { method: "GET", url: "users" }, other)
      )
    })))

  it.effect("a request whose bucket is keyed by its body is priced from its own body every time", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const url = "/informationProtection/threatAssessmentRequests"
      const keys = (body: unknown) =>
        Effect.map(
          calculator.cost({ method: "POST", url, bodyBytes: 40, body }, context),
          (c) => c.demands.filter((d) => d.entryId === "informationProtection.resource.15min").map((d) => d.key)
        )
      const a = yield* keys({ url: "https://a.example" })
      const b = yield* keys({ url: "https://b.example" })
      expect(a).toHaveLength(1)
      expect(b).toHaveLength(1)
      expect(a[0]).not.toBe(b[0])
    })))

  it.effect("accepts lower-case methods", () =>
    run(Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const result = yield* calculator.cost({ method: "get", url: "users" }, context)
      expect(result.method).toBe("GET")
      expect(result.identity?.resourceUnits).toBe(2)
    })))
})
