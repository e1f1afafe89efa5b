import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { LruCache, makeClassifier, planCacheCapacity, planCacheSize } from "../src/internal/catalog/classify.js"
import { pattern } from "../src/internal/catalog/urlPattern.js"
import * as LimitCatalog from "../src/LimitCatalog.js"

const { classify, classifyUncached } = makeClassifier(LimitCatalog)

const catalog = LimitCatalog.defaultCatalog

// Every path pattern the catalogue matches requests against: entries, their exclusions, services.
const sources = [
  ...new Set([
    ...catalog.entries.flatMap((entry) => [...entry.match.paths, ...entry.match.except]),
    ...catalog.services.flatMap((service) => [...service.area, ...service.except]),
    ...catalog.identityCosts.rows.map((row) => row.path),
    ...catalog.identityCosts.selectByIdsPaths
  ])
]

// Values for key and wildcard segments: ids, user names, and names the catalogue also uses as
// literals, so that a key segment that looks like a literal is exercised.
const keyValue = FastCheck.oneof(
  FastCheck.constantFrom(
    "alice@contoso.com",
    "0785ef7c-2d7a-4542-b048-95bcab406e0b",
    "AAMkAGI2TG93AAA=",
    "messages",
    "users",
    "me",
    "workbook",
    "extensions",
    "microsoft.graph.user",
    "getByIds",
    "a%2Fb",
    "x%ZZ",
    "getSmsLog(period='D7')"
  ),
  FastCheck.stringMatching(/^[A-Za-z0-9-]{1,12}$/)
)

type Token = ReturnType<typeof pattern>["tokens"][number]

const segmentFor = (token: Token): FastCheck.Arbitrary<ReadonlyArray<string>> => {
  switch (token._tag) {
    case "Literal":
      return token.prefix
        ? FastCheck.tuple(FastCheck.constant(token.name), FastCheck.stringMatching(/^[A-Za-z]{0,6}$/)).map((
          [name, rest]
        ) => [name + rest])
        : FastCheck.constantFrom([token.name], [token.name.toUpperCase()], [`${token.name}(x=1)`])
    case "Key":
    case "One":
      return keyValue.map((value) => [value])
    case "Any":
      return FastCheck.oneof(keyValue, FastCheck.constant("getTeamsUserActivityUserDetail(period='D7')")).map((
        value
      ) => [value])
    case "OneOf":
      return FastCheck.constantFrom(...token.names).map((name) => [name])
    case "Many":
      return FastCheck.array(keyValue, { maxLength: 2 })
  }
}

/** A path that the pattern matches (or nearly matches, when a key value is a call or a literal). */
const pathFrom = (source: string): FastCheck.Arbitrary<string> => {
  const tokens = pattern(source).tokens
  const body = FastCheck.tuple(...tokens.map(segmentFor)).map((parts) => parts.flat())
  const viaMe = source.split("/")[0]!.toLowerCase() === "me"
  return FastCheck.tuple(body, FastCheck.boolean(), FastCheck.constantFrom("", "microsoft.graph.group")).map((
    [segments, me, cast]
  ) => {
    // `me/...` compiles to `users/{user}/...`: write it either way
    const path = viaMe && me ? ["me", ...segments.slice(2)] : segments
    return [...path, ...(cast === "" ? [] : [cast])].join("/")
  })
}

const query = FastCheck.subarray([
  "$select=id,displayName",
  "$expand=members",
  "$top=5",
  "$top=50",
  "$skiptoken=abc",
  "$format=application/json",
  "$filter=startswith(displayName,'a')"
]).map((options) => (options.length === 0 ? "" : `?${options.join("&")}`))

const request = FastCheck.record({
  method: FastCheck.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "get"),
  prefix: FastCheck.constantFrom("", "/", "/v1.0/", "beta/", "https://graph.microsoft.com/v1.0/"),
  path: FastCheck.constantFrom(...sources).chain(pathFrom),
  query,
  bodyBytes: FastCheck.option(FastCheck.nat({ max: 5_000_000 }), { nil: undefined }),
  body: FastCheck.option(
    FastCheck.constantFrom({ url: "http://contoso.com/x" }, { recipientEmail: "a@b.c", messageUri: "m" }, "not json"),
    { nil: undefined }
  )
}).map(({ body, bodyBytes, method, path, prefix, query }): LimitCatalog.ClassifyRequest => ({
  method,
  url: `${prefix}${path}${query}`,
  ...(bodyBytes === undefined ? {} : { bodyBytes }),
  ...(body === undefined ? {} : { body })
}))

const context = FastCheck.record({
  userId: FastCheck.constantFrom("0785ef7c-2d7a-4542-b048-95bcab406e0b", "messages"),
  delegated: FastCheck.boolean(),
  tenantSize: FastCheck.constantFrom<LimitCatalog.TenantSize>("S", "M", "L"),
  b2c: FastCheck.boolean()
}).map((fields) =>
  new LimitCatalog.ClassifyContext({
    tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    appId: "9a3d526c-b3c1-4479-ba74-197b5c5751ae",
    userPrincipalName: "alice@contoso.com",
    ...fields
  })
)

describe("LimitCatalog: the classification plan cache", () => {
  it.prop(
    "gives every request the classification of a fresh match, even when another request of the same shape planned it",
    [FastCheck.array(request, { minLength: 2, maxLength: 6 }), context],
    ([requests, ctx]) => {
      for (const item of requests) {
        const fresh = classifyUncached(catalog, item, ctx)
        // the first call may plan; the second is answered from the cache
        expect(classify(catalog, item, ctx)).toEqual(fresh)
        expect(classify(catalog, item, ctx)).toEqual(fresh)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "answers a request correctly after a request with the same path shape but other ids filled the cache",
    [FastCheck.constantFrom(...sources).chain((source) => FastCheck.tuple(pathFrom(source), pathFrom(source))), context],
    ([[first, second], ctx]) => {
      classify(catalog, { method: "GET", url: first }, ctx)
      const item = { method: "GET", url: second }
      expect(classify(catalog, item, ctx)).toEqual(classifyUncached(catalog, item, ctx))
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("keeps a literal name that the catalogue knows apart from an id in the same position", () => {
    const ctx = new LimitCatalog.ClassifyContext({ tenantId: "t", appId: "a", delegated: false })
    const byId = classify(catalog, { method: "GET", url: "/users/u1/messages" }, ctx)
    const byName = classify(catalog, { method: "GET", url: "/users/messages/messages" }, ctx)
    expect(byName).toEqual(classifyUncached(catalog, { method: "GET", url: "/users/messages/messages" }, ctx))
    expect(byId.demands.map((demand) => demand.key)).toContain("outlook.mailbox.requests/u1")
    expect(byName.demands.map((demand) => demand.key)).toContain("outlook.mailbox.requests/messages")
  })

  it("holds no more than its capacity of path shapes", () => {
    // a private copy, so that other tests' shapes do not count
    const own = new LimitCatalog.Catalog({ ...catalog })
    const ctx = new LimitCatalog.ClassifyContext({ tenantId: "t", appId: "a", delegated: true })
    // every distinct name after a literal prefix is a new shape
    for (let i = 0; i < planCacheCapacity * 2 + 10; i++) {
      classify(own, { method: "GET", url: `/deviceManagement/userExperienceAnalytics${i}` }, ctx)
    }
    const { capacity, size } = planCacheSize(own)
    expect(capacity).toBe(planCacheCapacity)
    expect(size).toBeGreaterThan(0)
    expect(size).toBeLessThanOrEqual(capacity)
  })
})

describe("LruCache", () => {
  const operation = FastCheck.oneof(
    FastCheck.record({ set: FastCheck.nat({ max: 40 }), value: FastCheck.nat() }),
    FastCheck.record({ get: FastCheck.nat({ max: 40 }) })
  )

  it.prop(
    "never holds more than its capacity, and only ever answers with the last value set for a key",
    [FastCheck.integer({ min: 2, max: 12 }), FastCheck.array(operation, { maxLength: 200 })],
    ([capacity, operations]) => {
      const cache = new LruCache<number, number>(capacity)
      const last = new Map<number, number>()
      for (const op of operations) {
        if ("set" in op) {
          cache.set(op.set, op.value)
          last.set(op.set, op.value)
        } else {
          const found = cache.get(op.get)
          if (found !== undefined) expect(found).toBe(last.get(op.get))
        }
        expect(cache.size).toBeLessThanOrEqual(capacity)
      }
    }
  )

  it.prop(
    "keeps a key that was used within the last half-capacity distinct keys",
    [FastCheck.integer({ min: 2, max: 64 }), FastCheck.array(FastCheck.nat({ max: 1000 }), { maxLength: 300 })],
    ([capacity, keys]) => {
      const cache = new LruCache<number, string>(capacity)
      const recent: Array<number> = []
      for (const key of keys) {
        if (cache.get(key) === undefined) cache.set(key, `v${key}`)
        const at = recent.indexOf(key)
        if (at >= 0) recent.splice(at, 1)
        recent.push(key)
        for (const kept of recent.slice(-Math.floor(capacity / 2))) expect(cache.get(kept)).toBe(`v${kept}`)
      }
    }
  )
})
