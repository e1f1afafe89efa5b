import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import * as BatchRequest from "@effect-msgraph/spec/BatchRequest"
import * as BatchResponse from "@effect-msgraph/spec/BatchResponse"
import { decodeResponseEnvelope, encodeRequestEnvelope } from "../src/internal/client/wire.js"

const schemaDecode = Schema.decodeUnknownEither(BatchResponse.BatchResponseEnvelope)
const schemaEncode = Schema.encodeEither(BatchRequest.BatchRequestEnvelope)

const jsonType = fc.constantFrom("application/json", "application/json;odata.metadata=minimal", "application/problem+json")
const binaryType = fc.constantFrom("text/plain", "image/png", "application/octet-stream")
const base64 = fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString("base64"))

/** Response items as Graph sends them, and near misses: wrong types, bad headers, bodies that are not base64. */
const responseItem: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({
    id: fc.string({ maxLength: 4 }),
    status: fc.constantFrom(200, 201, 204, 404, 429, 503),
    headers: fc.option(fc.record({ "Content-Type": jsonType }), { nil: undefined }),
    body: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })
  }, { requiredKeys: ["id", "status"] }),
  fc.record({
    id: fc.string({ maxLength: 4 }),
    status: fc.integer({ min: 100, max: 599 }),
    headers: fc.record({ "content-type": binaryType }),
    body: fc.oneof(base64, fc.constant("not base64!"), fc.integer())
  }),
  fc.record({
    id: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)),
    status: fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.double()),
    headers: fc.oneof(fc.constant(null), fc.array(fc.string()), fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string(), fc.integer()))),
    body: fc.anything({ maxDepth: 1 }),
    extra: fc.anything({ maxDepth: 1 })
  }, { requiredKeys: [] }),
  fc.anything({ maxDepth: 1 })
)

const responseEnvelope: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({
    responses: fc.array(responseItem, { maxLength: 6 }),
    "@odata.nextLink": fc.oneof(fc.string({ maxLength: 5 }), fc.integer())
  }, { requiredKeys: ["responses"] }),
  fc.record({ responses: fc.anything({ maxDepth: 1 }) }),
  fc.anything({ maxDepth: 2 })
)

const requestItem: fc.Arbitrary<BatchRequest.BatchRequestItem> = fc.oneof(
  fc.record({
    id: fc.string({ minLength: 1, maxLength: 4 }),
    method: fc.constantFrom("GET", "POST", "PATCH"),
    url: fc.constantFrom("/me", "/users?$top=5", "/groups/1/members"),
    headers: fc.record({ "Content-Type": jsonType, "client-request-id": fc.uuid() }, { requiredKeys: [] }),
    body: fc.jsonValue({ maxDepth: 2 }),
    dependsOn: fc.array(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 2 })
  }, { requiredKeys: ["id", "method", "url"] }),
  fc.record({
    id: fc.string({ minLength: 1, maxLength: 4 }),
    method: fc.constant("PUT"),
    url: fc.constant("/me/photo/$value"),
    headers: fc.record({ "Content-Type": binaryType }),
    body: fc.oneof(fc.uint8Array({ maxLength: 16 }), fc.string({ maxLength: 8 }))
  })
)

describe("wire envelopes", () => {
  it.prop(
    "decoding a $batch response gives exactly what BatchResponseEnvelope's Schema gives, success or failure",
    [responseEnvelope],
    ([input]) => {
      const fast = decodeResponseEnvelope(input)
      const schema = schemaDecode(input)
      expect(Either.isRight(fast)).toBe(Either.isRight(schema))
      if (Either.isRight(fast) && Either.isRight(schema)) expect(fast.right).toStrictEqual(schema.right)
      // a failure is the Schema's own error
      if (Either.isLeft(fast) && Either.isLeft(schema)) expect(String(fast.left)).toBe(String(schema.left))
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it("a response whose binary body is base64 decodes to its bytes; one that is not base64 fails", () => {
    const ok = decodeResponseEnvelope({ responses: [{ id: "1", status: 200, headers: { "Content-Type": "image/png" }, body: "AQID" }] })
    expect(ok).toStrictEqual(Either.right({ responses: [{ id: "1", status: 200, headers: { "Content-Type": "image/png" }, body: new Uint8Array([1, 2, 3]) }] }))
    const bad = decodeResponseEnvelope({ responses: [{ id: "1", status: 200, headers: { "Content-Type": "image/png" }, body: "not base64!" }] })
    expect(Either.isLeft(bad)).toBe(true)
  })

  it.prop(
    "encoding a checked batch gives exactly what BatchRequestEnvelope's Schema gives",
    [fc.array(requestItem, { minLength: 1, maxLength: 20 })],
    ([requests]) => {
      expect(encodeRequestEnvelope(requests)).toStrictEqual(schemaEncode({ requests }))
    },
    { fastCheck: { numRuns: 500 } }
  )
})
