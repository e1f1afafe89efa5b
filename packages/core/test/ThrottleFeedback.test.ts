import { describe, expect, it } from "@effect/vitest"
import { FastCheck, Option } from "effect"
import type { Family } from "@effect-msgraph/spec/Bucket"
import * as ThrottleFeedback from "../src/ThrottleFeedback.js"
import { headerValue } from "@effect-msgraph/spec/Body"
import * as RetryAfter from "@effect-msgraph/spec/RetryAfter"

// the family the catalogue declares for each service these tests use
const families: Record<string, Family> = { global: "global", identityAccess: "identityAndAccess", outlook: "outlook" }

const demand = (service: string, scope: string, retryAfter = true, entryId = `${service}.${scope}`) => ({
  key: `${service}/${scope}/${entryId}`,
  service,
  scope,
  retryAfter,
  entryId,
  family: families[service] ?? "other",
  writeQuota: false
})

describe("ThrottleFeedback.parseScope", () => {
  it("reads the documented example and each scope and limit", () => {
    expect(
      ThrottleFeedback.parseScope(
        "Tenant_Application/ReadWrite/9a3d526c-b3c1-4479-ba74-197b5c5751ae/0785ef7c-2d7a-4542-b048-95bcab406e0b"
      )
    ).toEqual(Option.some({
      scope: "Tenant_Application",
      limit: "ReadWrite",
      applicationId: "9a3d526c-b3c1-4479-ba74-197b5c5751ae",
      resourceId: "0785ef7c-2d7a-4542-b048-95bcab406e0b"
    }))
    expect(Option.map(ThrottleFeedback.parseScope("tenant/write/a/b"), (s) => [s.scope, s.limit])).toEqual(
      Option.some(["Tenant", "Write"])
    )
    expect(Option.map(ThrottleFeedback.parseScope("Application/Read/a/b"), (s) => [s.scope, s.limit])).toEqual(
      Option.some(["Application", "Read"])
    )
  })

  it("rejects unknown scopes or limits and missing parts", () => {
    for (const value of ["User/Read/a/b", "Tenant/Delete/a/b", "Tenant/Read/a", "Tenant/Read//b", ""]) {
      expect(ThrottleFeedback.parseScope(value), value).toEqual(Option.none())
    }
  })
})

describe("ThrottleFeedback.fromResponse", () => {
  it("reads a throttled identity response", () => {
    const signals = ThrottleFeedback.fromResponse({
      status: 429,
      headers: {
        "Retry-After": "10",
        "x-ms-throttle-scope": "Tenant/Write/app/tenant",
        "x-ms-throttle-information": "WriteLimitExceeded"
      }
    })
    expect(signals.throttled).toBe(true)
    expect(signals.retryAfter).toEqual(Option.some({ _tag: "Delay", millis: 10_000 }))
    expect(Option.map(signals.scope, (s) => s.scope)).toEqual(Option.some("Tenant"))
    expect(signals.information).toEqual(Option.some("WriteLimitExceeded"))
  })

  it("reads the regular-response headers: resource units and limit percentage", () => {
    const signals = ThrottleFeedback.fromResponse({
      status: 200,
      headers: { "x-ms-resource-unit": "3", "x-ms-throttle-limit-percentage": "0.85" }
    })
    expect(signals.succeeded).toBe(true)
    expect(signals.resourceUnits).toEqual(Option.some(3))
    expect(signals.limitPercentage).toEqual(Option.some(0.85))
    expect(ThrottleFeedback.utilisation(signals)).toEqual(Option.some(0.85))
  })

  it("reads RateLimit headers as utilisation, and treats 509 as throttled and 503 as unavailable", () => {
    const signals = ThrottleFeedback.fromResponse({
      status: 200,
      headers: { "RateLimit-Limit": "200", "RateLimit-Remaining": "30", "RateLimit-Reset": "12" }
    })
    expect(signals.rateLimit).toEqual(Option.some({ limit: 200, remaining: 30, resetSeconds: Option.some(12) }))
    expect(ThrottleFeedback.utilisation(signals)).toEqual(Option.some(0.85))
    expect(ThrottleFeedback.fromResponse({ status: 509 }).throttled).toBe(true)
    expect(ThrottleFeedback.fromResponse({ status: 503 }).unavailable).toBe(true)
    expect(ThrottleFeedback.utilisation(ThrottleFeedback.fromResponse({ status: 200 }))).toEqual(Option.none())
  })
})

describe("ThrottleFeedback.fromResponse, read as headerValue and a decimal pattern would", () => {
  // the plain reading: each header looked up on its own (exact spelling first, then any case) and
  // a number accepted when it matches the documented decimal form
  const decimalForm = /^\d+(?:\.\d+)?$/
  const numberOf = (value: string | undefined): Option.Option<number> =>
    value !== undefined && decimalForm.test(value.trim()) ? Option.some(Number(value.trim())) : Option.none()
  const plain = (headers: Record<string, string>, now: number) => {
    const read = (name: string) => headerValue(headers, name)
    const limit = numberOf(read("RateLimit-Limit"))
    const remaining = numberOf(read("RateLimit-Remaining"))
    const information = read("x-ms-throttle-information")
    const scope = read("x-ms-throttle-scope")
    return {
      retryAfter: RetryAfter.fromHeaders(headers, now),
      scope: scope === undefined ? Option.none() : ThrottleFeedback.parseScope(scope),
      information: information === undefined || information.trim() === "" ? Option.none() : Option.some(information.trim()),
      limitPercentage: Option.map(numberOf(read("x-ms-throttle-limit-percentage")), (p) => (p > 10 ? p / 100 : p)),
      resourceUnits: Option.filter(numberOf(read("x-ms-resource-unit")), (n) => n > 0),
      rateLimit: Option.isSome(limit) && Option.isSome(remaining) && limit.value > 0
        ? Option.some({ limit: limit.value, remaining: remaining.value, resetSeconds: numberOf(read("RateLimit-Reset")) })
        : Option.none()
    }
  }
  const names = ["Retry-After", ...Object.values(ThrottleFeedback.headerNames), "content-type"]
  const spelling = FastCheck.tuple(FastCheck.constantFrom(...names), FastCheck.constantFrom("as is", "lower", "upper"))
    .map(([name, how]) => how === "lower" ? name.toLowerCase() : how === "upper" ? name.toUpperCase() : name)
  const value = FastCheck.oneof(
    FastCheck.constantFrom("3", " 0.85 ", "1.", ".5", "12.5.1", "", " ", "80", "1e3", "-1", "0", "Tenant/Read/a/b", "2 "),
    FastCheck.stringMatching(/^\s?\d{0,3}(\.\d{0,2})?[a-z]?\s?$/),
    FastCheck.string({ maxLength: 6 })
  )

  it.prop(
    "each header in any spelling, each value well or badly formed",
    [FastCheck.integer({ min: 100, max: 599 }), FastCheck.array(FastCheck.tuple(spelling, value), { maxLength: 8 })],
    ([status, pairs]) => {
      const headers: Record<string, string> = {}
      for (const [name, v] of pairs) headers[name] = v
      const { status: _, throttled: _t, unavailable: _u, succeeded: _s, ...read } = ThrottleFeedback.fromResponse(
        { status, headers },
        0
      )
      expect(read).toEqual(plain(headers, 0))
    }
  )
})

describe("ThrottleFeedback.fromSignalHeaders", () => {
  const names = ["Retry-After", ...Object.values(ThrottleFeedback.headerNames), "content-type", "etag"]
  it.prop(
    "is fromResponse when a signal header is present, and undefined when none is",
    [
      FastCheck.integer({ min: 100, max: 599 }),
      FastCheck.array(
        FastCheck.tuple(
          FastCheck.constantFrom(...names).chain((n) => FastCheck.constantFrom(n, n.toLowerCase(), n.toUpperCase())),
          FastCheck.constantFrom("1", "0.9", "x", "Tenant/Read/a/b")
        ),
        { maxLength: 4 }
      )
    ],
    ([status, pairs]) => {
      const headers = Object.fromEntries(pairs)
      const read = ThrottleFeedback.fromSignalHeaders({ status, headers }, 0)
      if (ThrottleFeedback.hasSignalHeaders(headers)) expect(read).toEqual(ThrottleFeedback.fromResponse({ status, headers }, 0))
      else expect(read).toBeUndefined()
    }
  )
})

describe("ThrottleFeedback.implicated", () => {
  const none = { scope: Option.none(), retryAfter: Option.none() }
  const withRetryAfter = { scope: Option.none(), retryAfter: Option.some({ _tag: "Delay" as const, millis: 1000 }) }

  it("maps x-ms-throttle-scope onto the demands of that scope", () => {
    const demands = [demand("global", "app"), demand("identityAccess", "appTenant"), demand("identityAccess", "tenant")]
    const scoped = (scope: string) => ({ ...none, scope: ThrottleFeedback.parseScope(`${scope}/ReadWrite/a/t`) })
    expect(ThrottleFeedback.implicated(scoped("Tenant_Application"), demands)).toEqual([demands[1]])
    expect(ThrottleFeedback.implicated(scoped("Tenant"), demands)).toEqual([demands[2]])
    expect(ThrottleFeedback.implicated(scoped("Application"), demands)).toEqual([demands[0]])
  })

  it("without a scope, blames the request's own service limits, not the global one", () => {
    const demands = [demand("global", "app"), demand("outlook", "appMailbox")]
    expect(ThrottleFeedback.implicated(withRetryAfter, demands)).toEqual([demands[1]])
    expect(ThrottleFeedback.implicated(withRetryAfter, [demands[0]!])).toEqual([demands[0]])
  })

  it("without Retry-After, prefers the limits documented to send none", () => {
    const quiet = demand("identityProtection", "tenant", false)
    const loud = demand("identityAccess", "appTenant", true)
    expect(ThrottleFeedback.implicated(none, [loud, quiet])).toEqual([quiet])
    expect(ThrottleFeedback.implicated(withRetryAfter, [loud, quiet])).toEqual([loud])
  })
})

describe("ThrottleFeedback.hasSignalHeaders", () => {
  const names = ["Retry-After", ...Object.values(ThrottleFeedback.headerNames)]

  it("finds each header fromResponse reads, in any case", () => {
    for (const name of names) {
      expect(ThrottleFeedback.hasSignalHeaders({ "content-type": "application/json", [name]: "1" })).toBe(true)
      expect(ThrottleFeedback.hasSignalHeaders({ [name.toUpperCase()]: "1" })).toBe(true)
      expect(ThrottleFeedback.hasSignalHeaders({ [name.toLowerCase()]: "1" })).toBe(true)
    }
  })

  it("finds none in other headers or no headers", () => {
    expect(ThrottleFeedback.hasSignalHeaders(undefined)).toBe(false)
    expect(ThrottleFeedback.hasSignalHeaders({})).toBe(false)
    expect(ThrottleFeedback.hasSignalHeaders({ "content-type": "application/json", "x-ms-throttle": "1", etag: "W/1" }))
      .toBe(false)
  })

  it.prop(
    "headers without any say nothing beyond the status",
    [
      FastCheck.integer({ min: 100, max: 599 }),
      FastCheck.dictionary(FastCheck.string({ maxLength: 20 }), FastCheck.string({ maxLength: 10 }), { maxKeys: 5 })
    ],
    ([status, headers]) => {
      if (ThrottleFeedback.hasSignalHeaders(headers)) return
      expect(ThrottleFeedback.fromResponse({ status, headers }, 0)).toEqual(ThrottleFeedback.fromResponse({ status }, 0))
    }
  )
})
