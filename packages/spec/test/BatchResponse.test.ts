import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Schema } from "effect"
import * as BatchResponse from "../src/BatchResponse.js"
import * as GraphError from "../src/GraphError.js"
import { fixtureJson, fixtureText } from "./utils/fixtures.js"

describe("BatchResponse", () => {
  it.effect("the mixed-status fixture decodes and encodes back to an equal value", () =>
    Effect.gen(function*() {
      const json = fixtureJson("batch-response-mixed.json")
      const decoded = yield* Schema.decodeUnknown(BatchResponse.BatchResponseEnvelope)(json)
      expect(decoded.responses.map((r) => [r.id, r.status])).toStrictEqual([
        ["1", 200],
        ["2", 403],
        ["3", 403],
        ["4", 405],
        ["5", 200]
      ])
      const encoded = yield* Schema.encode(BatchResponse.BatchResponseEnvelope)(decoded)
      expect(encoded).toStrictEqual(json)
    }))

  it.effect("item error bodies decode as Graph errors, including an empty code", () =>
    Effect.gen(function*() {
      const decoded = yield* Schema.decodeUnknown(BatchResponse.BatchResponseEnvelope)(fixtureJson("batch-response-mixed.json"))
      const second = Option.getOrThrow(GraphError.fromBody(decoded.responses[1]!.body))
      expect(second.error.code).toBe("")
      expect(GraphError.codes(second.error)).toStrictEqual([])
      expect(Option.getOrThrow(GraphError.requestIdOf(second.error))).toBe("93b6f17e-c05d-4f45-ad2a-6665c708d8a0")
      const third = Option.getOrThrow(GraphError.fromBody(decoded.responses[2]!.body))
      expect(GraphError.codes(third.error)).toStrictEqual(["Authorization_RequestDenied"])
    }))

  it.effect("an envelope-level @odata.nextLink is kept", () =>
    Effect.gen(function*() {
      const json = { responses: [], "@odata.nextLink": "https://graph.microsoft.com/v1.0/$batch?$skiptoken=abc" }
      const decoded = yield* Schema.decodeUnknown(BatchResponse.BatchResponseEnvelope)(json)
      expect(decoded["@odata.nextLink"]).toBe(json["@odata.nextLink"])
    }))

  it.effect("a binary item body arrives as bytes", () =>
    Effect.gen(function*() {
      const json = { responses: [{ id: "p", status: 200, headers: { "Content-Type": "image/jpeg" }, body: "/9j/4A==" }] }
      const decoded = yield* Schema.decodeUnknown(BatchResponse.BatchResponseEnvelope)(json)
      expect(decoded.responses[0]!.body).toStrictEqual(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))
      expect(yield* Schema.encode(BatchResponse.BatchResponseEnvelope)(decoded)).toStrictEqual(json)
    }))

  it("the legacy response fixture, which is not valid JSON as printed, fails to decode", () => {
    const result = Effect.runSync(Effect.either(BatchResponse.decodeJson(fixtureText("legacy-batch-response-example.txt"))))
    expect(Either.isLeft(result)).toBe(true)
  })

  it("an item without a status fails to decode", () => {
    const result = Schema.decodeUnknownEither(BatchResponse.BatchResponseEnvelope)({ responses: [{ id: "1" }] })
    expect(Either.isLeft(result)).toBe(true)
  })
})
