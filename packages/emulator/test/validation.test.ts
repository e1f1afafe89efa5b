import { BatchRequest } from "@effect-msgraph/spec"
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import { validate } from "../src/internal/validation.js"

const decodeWire = Schema.decodeUnknownEither(BatchRequest.BatchRequestEnvelopeJson)

// a field of any JSON type, so that both well-formed and ill-formed items are drawn
const anyJson = FastCheck.oneof(
  FastCheck.string({ maxLength: 3 }),
  FastCheck.integer(),
  FastCheck.constant(null),
  FastCheck.array(FastCheck.string({ maxLength: 3 }), { maxLength: 2 }),
  FastCheck.dictionary(FastCheck.constantFrom("a", "content-type", "__proto__"), FastCheck.oneof(FastCheck.string({ maxLength: 3 }), FastCheck.integer()))
)

const item = FastCheck.record(
  {
    id: FastCheck.oneof(FastCheck.constantFrom("1", "2", "3"), anyJson),
    method: FastCheck.oneof(FastCheck.constantFrom("GET", "post"), anyJson),
    url: FastCheck.oneof(FastCheck.constantFrom("/me", "/users?$top=1"), anyJson),
    headers: FastCheck.oneof(FastCheck.dictionary(FastCheck.constantFrom("content-type", "x-a"), FastCheck.string({ maxLength: 3 })), anyJson),
    body: anyJson,
    dependsOn: FastCheck.oneof(FastCheck.array(FastCheck.constantFrom("1", "2"), { maxLength: 1 }), anyJson),
    extra: anyJson
  },
  { requiredKeys: [] }
)

// An item's optional field set to null counts as absent.
const withoutNulls = (json: any): unknown =>
  typeof json === "object" && json !== null && Array.isArray(json.requests)
    ? {
      ...json,
      requests: json.requests.map((item: any) =>
        typeof item === "object" && item !== null && !Array.isArray(item)
          ? Object.fromEntries(Object.entries(item).filter(([k, v]) => !(v === null && ["headers", "body", "dependsOn"].includes(k))))
          : item
      )
    }
    : json

describe("validation of a $batch envelope", () => {
  it.prop(
    "refuses as an invalid payload exactly the envelopes the wire schema rejects, once null optional fields are left out",
    [FastCheck.oneof(FastCheck.record({ requests: FastCheck.oneof(FastCheck.array(item, { maxLength: 4 }), anyJson) }), anyJson)],
    ([envelope]) => {
      const text = JSON.stringify(envelope)
      const verdict = validate(text)
      const invalidPayload = Either.isLeft(verdict) && verdict.left.reason === "InvalidPayload" && verdict.left.message.includes("'requests' array")
      assert.strictEqual(invalidPayload, Either.isLeft(decodeWire(withoutNulls(JSON.parse(text)))))
    }
  )

  it("reads each item's fields as the schema decodes them, whatever else the item carries", () => {
    const verdict = validate(JSON.stringify({
      requests: [{ id: "1", method: "get", url: "/me", headers: { "x-a": "b" }, extra: 1 }, { id: "2", method: "GET", url: "/users", dependsOn: [] }]
    }))
    assert.isTrue(Either.isRight(verdict))
    const items = Either.getOrThrow(verdict).items
    assert.deepStrictEqual(items.map((i) => [i.id, i.method, i.url, i.headers, i.body, i.dependsOn]), [
      ["1", "get", "/me", { "x-a": "b" }, undefined, undefined],
      ["2", "GET", "/users", undefined, undefined, []]
    ])
  })
})
