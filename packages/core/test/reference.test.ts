import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Layer } from "effect"
import * as BatchBuilder from "@effect-msgraph/core/BatchBuilder"
import * as DR from "@effect-msgraph/core/DependencyResolver"
import * as VE from "@effect-msgraph/core/ValidationError"
import { substitute } from "../src/internal/workload/reference.js"

const responses = (answers: Record<string, unknown>) => (source: string) =>
  source in answers ? { status: 200, body: answers[source] } : undefined

describe("references in a URL cannot change its structure", () => {
  const urlFor = (template: string, id: unknown) => substitute({ url: template }, responses({ a: { id } }))

  it("a value that would be a whole `..` or `.` segment, or an empty one, is refused", () => {
    for (const id of ["..", ".", ""]) {
      expect(urlFor("/users/{{a#/body/id}}/memberOf", id)).toStrictEqual(Either.left(["{{a#/body/id}}"]))
    }
    expect(urlFor("/users/{{a#/body/id}}", "..")).toStrictEqual(Either.left(["{{a#/body/id}}"]))
    // two references that only together make `..`
    expect(substitute({ url: "/users/{{a#/body/x}}{{a#/body/x}}/memberOf" }, responses({ a: { x: "." } })))
      .toStrictEqual(Either.left(["{{a#/body/x}}"]))
    // a literal dot, plain or percent-encoded, next to the value
    expect(urlFor("/users/.{{a#/body/id}}/memberOf", ".")).toStrictEqual(Either.left(["{{a#/body/id}}"]))
    expect(urlFor("/users/%2E{{a#/body/id}}/memberOf", ".")).toStrictEqual(Either.left(["{{a#/body/id}}"]))
  })

  it("dots inside a segment, or in the query, are kept as they are", () => {
    expect(urlFor("/users/{{a#/body/id}}/memberOf", "ada..lovelace")).toStrictEqual(Either.right({ url: "/users/ada..lovelace/memberOf" }))
    expect(urlFor("/users/x{{a#/body/id}}", "..")).toStrictEqual(Either.right({ url: "/users/x.." }))
    // a value that spells dots with `%2e` is encoded whole: `%252e` is no dot to a parser
    expect(urlFor("/users/{{a#/body/id}}/memberOf", "%2e%2E")).toStrictEqual(Either.right({ url: "/users/%252e%252E/memberOf" }))
    expect(urlFor("/users?$filter=displayName eq '{{a#/body/id}}'", "..")).toStrictEqual(
      Either.right({ url: "/users?$filter=displayName eq '..'" })
    )
  })

  it("a `/`, `?`, `#` or `%` in a value is encoded", () => {
    expect(urlFor("/users/{{a#/body/id}}/memberOf", "../x?y#z%")).toStrictEqual(
      Either.right({ url: "/users/..%2Fx%3Fy%23z%25/memberOf" })
    )
  })

  it.effect("in a run, such a request ends NotSent with InvalidReference, and its dependents are not sent", () =>
    Effect.gen(function*() {
      const resolver = yield* DR.DependencyResolver
      const run = yield* resolver.start([
        { id: "me", method: "GET", url: "/me" },
        { id: "groups", method: "GET", url: "/users/{{me#/body/id}}/memberOf" },
        { id: "after", method: "GET", url: "/me", dependsOn: ["groups"] }
      ])
      run.nextRound()
      run.succeed("me", { status: 200, body: { id: ".." } })
      const round = run.nextRound()
      expect(round.batches).toHaveLength(0)
      expect(round.notSent).toStrictEqual(["groups", "after"])
      expect(run.settlement("groups")).toStrictEqual({
        _tag: "NotSent",
        error: new VE.InvalidReference({ ids: ["groups"], references: ["{{me#/body/id}}"] })
      })
    }).pipe(Effect.provide(DR.layer.pipe(Layer.provide(BatchBuilder.layer())))))
})

// JSON text whose objects may hold keys that are special to JavaScript objects
const specialKey = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty"), fc.string())
const plain = fc.string().filter((s) => !s.includes("{{"))
const { text: jsonText } = fc.letrec<{ text: string }>((tie) => ({
  text: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    plain.map((s) => JSON.stringify(s)),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.constantFrom("true", "false", "null"),
    fc.array(tie("text"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc.array(fc.tuple(specialKey, tie("text")), { maxLength: 5 }).map((pairs) =>
      `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`
    )
  )
}))

describe("bodies are kept exactly", () => {
  it.prop("with no reference, substitution is the identity, `__proto__` and `constructor` keys included", [jsonText], ([text]) => {
    const body = JSON.parse(text) as unknown
    const result = substitute({ url: "/users", body }, () => undefined)
    expect(Either.isRight(result)).toBe(true)
    const out = Either.getOrThrow(result).body
    expect(JSON.stringify(out)).toBe(JSON.stringify(body))
    // toStrictEqual would compare own `constructor` keys as types
    expect(out).toEqual(body)
  })

  it.prop("a body holding a reference keeps every other key, `__proto__` included", [jsonText, jsonText], ([a, b]) => {
    const body = JSON.parse(`{"__proto__":${a},"constructor":${b},"ref":"{{x#/body/id}}"}`) as unknown
    const expected = JSON.parse(`{"__proto__":${a},"constructor":${b},"ref":"id-1"}`) as unknown
    const out = Either.getOrThrow(substitute({ url: "/users", body }, responses({ x: { id: "id-1" } }))).body
    expect(JSON.stringify(out)).toBe(JSON.stringify(expected))
    expect(Object.prototype.hasOwnProperty.call(out, "__proto__")).toBe(true)
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
  })

  it("a header named `__proto__` is kept", () => {
    const headers = JSON.parse(`{"__proto__":"x","authorization-hint":"{{x#/body/id}}"}`) as Record<string, string>
    const out = Either.getOrThrow(substitute({ url: "/users", headers }, responses({ x: { id: "id-1" } }))).headers!
    expect(Object.keys(out)).toStrictEqual(["__proto__", "authorization-hint"])
    expect(out["authorization-hint"]).toBe("id-1")
  })
})
