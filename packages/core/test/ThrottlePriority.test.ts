import { describe, expect, it } from "@effect/vitest"
import * as ThrottlePriority from "../src/ThrottlePriority.js"

const identity = { service: "identityAccess", family: "identityAndAccess" } as const
const outlook = { service: "outlook", family: "outlook" } as const

describe("ThrottlePriority", () => {
  it("sets x-ms-throttle-priority on requests with an identity and access demand when a priority is given", () => {
    expect(ThrottlePriority.headersFor("high", [outlook, identity])).toEqual({ "x-ms-throttle-priority": "High" })
    expect(ThrottlePriority.headersFor("low", [identity])).toEqual({ "x-ms-throttle-priority": "Low" })
    expect(ThrottlePriority.headersFor("normal", [identity])).toEqual({ "x-ms-throttle-priority": "Normal" })
  })

  it("adds nothing without a priority, or for other services (the header is documented for identity only)", () => {
    expect(ThrottlePriority.headersFor(undefined, [identity])).toEqual({})
    expect(ThrottlePriority.headersFor("high", [outlook])).toEqual({})
    const others = [{ service: "identityReports", family: "other" }, { service: "identityProtection", family: "other" }] as const
    expect(ThrottlePriority.headersFor("high", others)).toEqual({})
  })

  it("recognises the identity and access family the catalogue declares, whatever the service is called", () => {
    for (const service of ["identityAccess", "Identity and access", "identity-and-access"]) {
      const declared = { service, family: "identityAndAccess" } as const
      const undeclared = { service, family: "other" } as const
      expect(ThrottlePriority.isIdentityAndAccess(declared), service).toBe(true)
      expect(ThrottlePriority.isIdentityAndAccess(undeclared), service).toBe(false)
    }
  })

  it("merges into existing headers without overriding a header the caller set", () => {
    expect(ThrottlePriority.withHeader({ accept: "application/json" }, "high", [identity])).toEqual({
      accept: "application/json",
      "x-ms-throttle-priority": "High"
    })
    const own = { "X-MS-Throttle-Priority": "Low" }
    expect(ThrottlePriority.withHeader(own, "high", [identity])).toBe(own)
    expect(ThrottlePriority.withHeader(undefined, undefined, [identity])).toEqual({})
  })

  it("orders the queue levels high, normal, low", () => {
    expect([ThrottlePriority.level("high"), ThrottlePriority.level(undefined), ThrottlePriority.level("low")]).toEqual([0, 1, 2])
  })
})
