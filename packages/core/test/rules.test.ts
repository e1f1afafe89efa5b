import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import { addHeaders, normaliseRequest, type Settings } from "../src/internal/batch/rules.js"

const settings: Settings = { host: "graph.microsoft.com", version: "v1.0", maxRequests: 20 }

/** Requests as a workload holds them: with and without bodies, Content-Types and headers. */
const request: fc.Arbitrary<BatchRequestItem> = fc.record({
  id: fc.constantFrom("a", "B"),
  method: fc.constantFrom("get", "POST", "patch"),
  url: fc.constantFrom("/me", "v1.0/users/x", "https://graph.microsoft.com/v1.0/groups?$top=2"),
  headers: fc.constantFrom<Record<string, string>>({ "Content-Type": "application/json" }, { "content-type": "text/plain" }, { ConsistencyLevel: "eventual" }),
  body: fc.constantFrom<unknown>({ a: 1 }, "text", new Uint8Array([1, 2]))
}, { requiredKeys: ["id", "method", "url"] })

/** Headers admission may add: harmless ones, line breaks in a name or value, Content-Types. */
const added: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom("x-ms-throttle-priority", "Content-Type", "content-type", "x\r\ny"),
  fc.constantFrom("high", "application/json", "image/png", "a\nb"),
  { maxKeys: 3 }
)

describe("rules.addHeaders", () => {
  it.prop(
    "judges headers added to a normalised request as normalising the merged request would: same error, else the merged request",
    [request, added],
    ([given, extra]) => {
      const normal = normaliseRequest(given, settings)
      fc.pre(Either.isRight(normal))
      const item = Either.getOrThrow(normal)
      const merged = { ...item, headers: { ...item.headers, ...extra } }
      const expected = normaliseRequest(merged, settings)
      const actual = addHeaders(item, extra, settings)
      if (Either.isLeft(expected)) expect(actual).toStrictEqual(expected)
      else expect(actual).toStrictEqual(Either.right(merged))
    }
  )
})
