import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import * as rules from "../src/internal/batch/rules.js"
import { prepare, wireRequest } from "../src/internal/plan/scheduler.js"

const settings: rules.Settings = { host: "graph.microsoft.com", version: "v1.0", maxRequests: 20 }

/** Requests of every form normalising treats: method case, absolute and versioned URLs, headers, bodies. */
const request = FastCheck.record({
  method: FastCheck.constantFrom("GET", "get", "Post", "DELETE", "PATCH"),
  url: FastCheck.constantFrom(
    "/me",
    "me/messages?$top=5",
    "/v1.0/users/a",
    "v1.0/groups",
    "https://graph.microsoft.com/v1.0/me/events",
    "/users/{{a.id}}/manager"
  ),
  headers: FastCheck.option(FastCheck.constantFrom({}, { "If-Match": "*" }), { nil: undefined }),
  body: FastCheck.option(FastCheck.constantFrom({ a: 1 }, "text"), { nil: undefined }),
  dependsOn: FastCheck.boolean()
})

describe("wireRequest", () => {
  it.prop(
    "is the request normalised again, without dependsOn, key for key in the same order",
    [FastCheck.array(request, { minLength: 1, maxLength: 30 })],
    ([drawn]) => {
      const workload = drawn.map(({ body, dependsOn, headers, method, url }, i) => ({
        id: `r${i}`,
        method,
        url,
        ...(headers === undefined ? {} : { headers: typeof body === "string" ? { ...headers, "Content-Type": "text/plain" } : headers }),
        ...(body === undefined ? {} : { body }),
        ...(dependsOn && i > 0 ? { dependsOn: [`r${i - 1}`] } : {})
      }))
      const prepared = prepare(workload, settings)
      // requests that break a rule (a text body without its Content-Type) fail the workload: nothing to compare
      if (Either.isLeft(prepared)) return
      workload.forEach((given, v) => {
        const normalised = Either.getOrThrow(rules.normaliseRequest(given, settings))
        const { dependsOn: _, ...expected } = normalised
        expect(JSON.stringify(Either.getOrThrow(wireRequest(prepared.right, v, settings)))).toBe(JSON.stringify(expected))
      })
    }
  )

  it("copies a request that normalising leaves as it is, and normalises any other", () => {
    const workload = [
      { id: "a", method: "GET", url: "/me" },
      { id: "b", method: "get", url: "/me" },
      { id: "c", method: "GET", url: "/v1.0/me", dependsOn: ["a"] },
      { id: "d", method: "GET", url: "/me", headers: {} }
    ]
    const prepared = Either.getOrThrow(prepare(workload, settings))
    expect([...prepared.plain]).toEqual([1, 0, 0, 0])
    expect(Either.getOrThrow(wireRequest(prepared, 1, settings))).toEqual({ id: "b", method: "GET", url: "/me" })
    expect(Either.getOrThrow(wireRequest(prepared, 2, settings))).toEqual({ id: "c", method: "GET", url: "/me" })
  })
})
