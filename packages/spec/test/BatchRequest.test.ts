import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as BatchRequest from "../src/BatchRequest.js"
import { fixtureJson, httpFixture } from "./utils/fixtures.js"

const roundTrip = (json: unknown) =>
  Effect.gen(function*() {
    const decoded = yield* Schema.decodeUnknown(BatchRequest.BatchRequestEnvelope)(json)
    const encoded = yield* Schema.encode(BatchRequest.BatchRequestEnvelope)(decoded)
    return { decoded, encoded }
  })

describe("BatchRequest", () => {
  for (const name of ["batch-request-example.json", "batch-request-dependsOn.json", "legacy-batch-request-example.json"]) {
    it.effect(`fixture ${name} decodes and encodes back to an equal value`, () =>
      Effect.gen(function*() {
        const json = fixtureJson(name)
        const { encoded } = yield* roundTrip(json)
        expect(encoded).toStrictEqual(json)
      }))
  }

  it.effect("the body of the printed HTTP request decodes like the JSON fixture", () =>
    Effect.gen(function*() {
      const message = httpFixture("batch-request-example.http")
      expect(message.startLine).toBe("POST https://graph.microsoft.com/v1.0/$batch")
      const { decoded } = yield* roundTrip(message.body)
      expect(decoded.requests.map((r) => r.id)).toStrictEqual(["1", "2", "3", "4", "5"])
      expect(decoded.requests[3]!.body).toStrictEqual({})
    }))

  it.effect("a body whose Content-Type is not JSON is bytes in memory and base64 on the wire", () =>
    Effect.gen(function*() {
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe])
      const item: BatchRequest.BatchRequestItem = {
        id: "photo",
        method: "PUT",
        url: "/me/photo/$value",
        headers: { "Content-Type": "image/png" },
        body: bytes
      }
      const wire = yield* Schema.encode(BatchRequest.BatchRequestItem)(item)
      expect(wire.body).toBe(Buffer.from(bytes).toString("base64"))
      const back = yield* Schema.decode(BatchRequest.BatchRequestItem)(wire)
      expect(back.body).toStrictEqual(bytes)
    }))

  it.effect("URL-safe base64 without padding decodes too", () =>
    Effect.gen(function*() {
      // "-_-_" is URL-safe base64 for 0xfb 0xff 0xbf ("+/+/" in the standard alphabet)
      const wire = { id: "1", method: "PUT", url: "x", headers: { "content-type": "application/octet-stream" }, body: "-_-_" }
      const item = yield* Schema.decodeUnknown(BatchRequest.BatchRequestItem)(wire)
      expect(item.body).toStrictEqual(new Uint8Array([0xfb, 0xff, 0xbf]))
      const unpadded = { ...wire, body: "AQI" }
      const short = yield* Schema.decodeUnknown(BatchRequest.BatchRequestItem)(unpadded)
      expect(short.body).toStrictEqual(new Uint8Array([1, 2]))
    }))

  it("a JSON Content-Type with parameters keeps the body inline", () => {
    expect(BatchRequest.isJsonContentType("application/json;odata.metadata=minimal;charset=utf-8")).toBe(true)
    expect(BatchRequest.isJsonContentType("application/problem+json")).toBe(true)
    expect(BatchRequest.isJsonContentType("text/plain")).toBe(false)
  })

  it("a non-JSON body that is not base64 fails to decode", () => {
    const wire = { id: "1", method: "PUT", url: "x", headers: { "Content-Type": "text/plain" }, body: { not: "base64" } }
    const result = Schema.decodeUnknownEither(BatchRequest.BatchRequestItem)(wire)
    expect(Either.isLeft(result)).toBe(true)
    const bad = { ...wire, body: "not base64!" }
    expect(Either.isLeft(Schema.decodeUnknownEither(BatchRequest.BatchRequestItem)(bad))).toBe(true)
  })

  it("header lookup ignores case", () => {
    expect(BatchRequest.header({ "content-TYPE": "application/json" }, "Content-Type")).toBe("application/json")
    expect(BatchRequest.header(undefined, "Content-Type")).toBeUndefined()
  })
})
