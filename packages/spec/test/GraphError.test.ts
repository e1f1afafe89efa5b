import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as GraphError from "../src/GraphError.js"
import { fixtureJson, httpFixture } from "./utils/fixtures.js"

const roundTrips = (json: unknown) =>
  Effect.gen(function*() {
    const decoded = yield* Schema.decodeUnknown(GraphError.GraphErrorBody)(json)
    expect(yield* Schema.encode(GraphError.GraphErrorBody)(decoded)).toStrictEqual(json)
    return decoded
  })

describe("GraphError", () => {
  for (
    const name of [
      "error-response-example.json",
      "legacy-error-response-example-requestId.json",
      "error-resource-json-representation.json",
      "error-body-badrequest-cross-tenant-channel.json",
      "error-body-nonexistent-mailbox.json",
      "throttling-429-response-body.json"
    ]
  ) {
    it.effect(`fixture ${name} decodes and encodes back to an equal value`, () => roundTrips(fixtureJson(name)))
  }

  it.effect("the odata.error resource type (innererror spelling) decodes as the error object", () =>
    Effect.gen(function*() {
      const json = fixtureJson("odata-error-resource-type.json")
      const decoded = yield* Schema.decodeUnknown(GraphError.ODataError)(json)
      expect(GraphError.innerErrorOf(decoded)).toStrictEqual({ "@odata.type": "odata.error" })
      expect(yield* Schema.encode(GraphError.ODataError)(decoded)).toStrictEqual(json)
    }))

  it.effect("request ids are read from request-id and from the older requestId", () =>
    Effect.gen(function*() {
      const current = yield* roundTrips(fixtureJson("error-response-example.json"))
      const legacy = yield* roundTrips(fixtureJson("legacy-error-response-example-requestId.json"))
      expect(GraphError.requestIdOf(current.error)).toStrictEqual(Option.some("request-id"))
      expect(GraphError.requestIdOf(legacy.error)).toStrictEqual(Option.some("request-id"))
      expect(GraphError.dateOf(current.error)).toStrictEqual(Option.some("date-time"))
    }))

  it.effect("codes run from the outermost to the most detailed", () =>
    Effect.gen(function*() {
      for (const name of ["throttling-429-response-2025.http", "legacy-throttling-429-response-fractional-retry-after.http"]) {
        const body = yield* roundTrips(httpFixture(name).body)
        expect(GraphError.codes(body.error)).toStrictEqual(["TooManyRequests", "429"])
      }
      const nested = { error: { code: "accessDenied", message: "m", innerError: { code: "accessRestricted", innererror: { code: "x" } } } }
      expect(GraphError.codes((yield* roundTrips(nested)).error)).toStrictEqual(["accessDenied", "accessRestricted", "x"])
    }))

  it("a body that is not a Graph error is not mistaken for one", () => {
    expect(Option.isNone(GraphError.fromBody({ value: [] }))).toBe(true)
    expect(Option.isNone(GraphError.fromBody("error"))).toBe(true)
  })
})
