import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck, Layer } from "effect"
import { BatchBuilder, layer, layerConfig, validate } from "@effect-msgraph/core/BatchBuilder"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import * as VE from "@effect-msgraph/core/ValidationError"
import { ConfigProvider } from "effect"
import { fixtureJson } from "./utils/fixtures.js"

const get = (id: string, extra: Partial<BatchRequestItem> = {}): BatchRequestItem => ({
  id,
  method: "GET",
  url: `/users/${id}`,
  ...extra
})

const fails = (items: ReadonlyArray<BatchRequestItem>, options?: BatchBuilder.Options) => {
  const result = validate(items, options)
  if (Either.isRight(result)) throw new Error("expected the batch to be rejected")
  return result.left
}

const ok = (items: ReadonlyArray<BatchRequestItem>, options?: BatchBuilder.Options) => {
  const result = validate(items, options)
  if (Either.isLeft(result)) throw new Error(`expected a valid batch, got ${result.left._tag}: ${result.left.message}`)
  return result.right
}

describe("BatchBuilder rules", () => {
  it("an empty batch is rejected", () => {
    expect(fails([])).toStrictEqual(new VE.EmptyBatch())
  })

  it("more than 20 requests are rejected, naming the requests past the limit", () => {
    const items = Array.from({ length: 22 }, (_, i) => get(`r${i}`))
    expect(fails(items)).toStrictEqual(new VE.TooManyRequests({ count: 22, limit: 20, ids: ["r20", "r21"] }))
    expect(ok(items.slice(0, 20)).requests).toHaveLength(20)
  })

  it("an empty id is rejected by position", () => {
    expect(fails([get("a"), get("", { url: "/me" })])).toStrictEqual(new VE.EmptyRequestId({ indices: [1] }))
  })

  it("ids that differ only by case are duplicates", () => {
    const error = fails([get("a"), get("b"), get("A"), get("B"), get("c")])
    expect(error).toStrictEqual(new VE.DuplicateRequestIds({ groups: [["a", "A"], ["b", "B"]] }))
    expect((error as VE.DuplicateRequestIds).ids).toStrictEqual(["a", "A", "b", "B"])
  })

  it("methods outside GET, POST, PUT, PATCH and DELETE are rejected; case is normalised", () => {
    expect(fails([get("1", { method: "HEAD" }), get("2", { method: "OPTIONS" }), get("3")])).toStrictEqual(
      new VE.UnsupportedMethod({ ids: ["1", "2"], methods: ["HEAD", "OPTIONS"] })
    )
    expect(ok([get("1", { method: "patch", body: {} })]).requests[0]!.method).toBe("PATCH")
  })

  it("CR or LF in a header name or value is rejected", () => {
    expect(fails([get("1", { headers: { "X-A": "ok\r\nInjected: yes" } }), get("2", { headers: { "X\nB": "v" } })]))
      .toStrictEqual(new VE.InvalidHeader({ ids: ["1", "2"], headers: ["X-A", "X\nB"] }))
  })

  it("a header value that is not a string (from untyped input) is rejected, not a crash later", () => {
    expect(fails([get("1", { headers: { "X-N": 5 as unknown as string } }), get("2")]))
      .toStrictEqual(new VE.InvalidHeader({ ids: ["1"], headers: ["X-N"] }))
  })

  it("an absolute URL to another host is rejected", () => {
    expect(fails([get("1", { url: "https://evil.example.com/v1.0/users" }), get("2")])).toStrictEqual(
      new VE.ForeignHost({ ids: ["1"], hosts: ["evil.example.com"], expected: "graph.microsoft.com" })
    )
  })

  it("a full URL to the Graph host is made relative and loses its version prefix", () => {
    const batch = ok([
      get("1", { url: "https://graph.microsoft.com/v1.0/users?$select=id" }),
      get("2", { url: "https://GRAPH.microsoft.com/v1.0/me" }),
      get("3", { url: "/v1.0/groups" })
    ])
    expect(batch.requests.map((r) => r.url)).toStrictEqual(["/users?$select=id", "/me", "/groups"])
    const beta = ok([get("1", { url: "https://graph.microsoft.com/beta/me/planner/tasks" })], { version: "beta" })
    expect(beta.requests[0]!.url).toBe("/me/planner/tasks")
  })

  it("a full URL naming another version than the batch's is rejected", () => {
    expect(fails([get("1", { url: "https://graph.microsoft.com/beta/users" })])).toStrictEqual(
      new VE.VersionMismatch({ ids: ["1"], expected: "v1.0" })
    )
    expect(fails([get("1", { url: "https://graph.microsoft.com/users" })])).toStrictEqual(
      new VE.VersionMismatch({ ids: ["1"], expected: "v1.0" })
    )
  })

  it("relative URLs with and without a leading slash are both valid and kept as written", () => {
    const batch = ok([get("1", { url: "/me/memberOf" }), get("2", { url: "users?$select=id&$filter=city eq null" })])
    expect(batch.requests.map((r) => r.url)).toStrictEqual(["/me/memberOf", "users?$select=id&$filter=city eq null"])
  })

  it("a configured host, such as the emulator's, is accepted and stripped", () => {
    const batch = ok([get("1", { url: "http://127.0.0.1:8080/v1.0/users" })], { host: "127.0.0.1:8080" })
    expect(batch.requests[0]!.url).toBe("/users")
  })

  it("empty URLs, URLs with CR/LF and non-HTTP schemes are invalid", () => {
    expect(fails([get("1", { url: "" }), get("2", { url: "/users\r\n" }), get("3", { url: "ftp://graph.microsoft.com/v1.0/x" })]))
      .toStrictEqual(new VE.InvalidUrl({ ids: ["1", "2", "3"], urls: ["", "/users\r\n", "ftp://graph.microsoft.com/v1.0/x"] }))
  })

  it("a nested $batch is rejected", () => {
    expect(fails([get("1", { method: "POST", url: "/$batch", body: { requests: [] } }), get("2", { url: "$batch" })]))
      .toStrictEqual(new VE.NestedBatch({ ids: ["1", "2"] }))
  })

  it("a body without Content-Type is rejected unless it is a JSON object or array", () => {
    const batch = ok([get("1", { method: "POST", url: "/users", body: { displayName: "A" } })])
    expect(batch.requests[0]!.headers).toStrictEqual({ "Content-Type": "application/json" })
    expect(fails([
      get("1", { method: "PUT", url: "/me/photo/$value", body: new Uint8Array([1]) }),
      get("2", { method: "POST", url: "/x", body: "text" })
    ])).toStrictEqual(new VE.MissingContentType({ ids: ["1", "2"] }))
  })

  it("an existing Content-Type is kept, in any header-name case", () => {
    const batch = ok([get("1", { method: "POST", url: "/x", headers: { "content-type": "application/json" }, body: {} })])
    expect(batch.requests[0]!.headers).toStrictEqual({ "content-type": "application/json" })
  })

  it("bytes under a JSON Content-Type, or an object under a binary one, are rejected", () => {
    expect(fails([
      get("1", { method: "PUT", url: "/x", headers: { "Content-Type": "application/json" }, body: new Uint8Array([1]) }),
      get("2", { method: "PUT", url: "/y", headers: { "Content-Type": "image/png" }, body: { a: 1 } })
    ])).toStrictEqual(new VE.InvalidBody({ ids: ["1", "2"] }))
  })

  it("a dependsOn naming an id not in the batch is rejected", () => {
    expect(fails([get("1"), get("2", { dependsOn: ["9"] })])).toStrictEqual(
      new VE.UnknownDependency({ ids: ["2"], missing: ["9"] })
    )
  })

  it("a dependsOn naming a later item is accepted and the batch is emitted with the dependency first", () => {
    const batch = ok([get("1", { dependsOn: ["2"] }), get("2")])
    expect(batch.shape).toBe("serial")
    expect(batch.requests.map((r) => r.id)).toStrictEqual(["2", "1"])
    // the documented chain 1 -> 2 -> 4 -> 3, written backwards
    const backwards = ok([get("3", { dependsOn: ["4"] }), get("4", { dependsOn: ["2"] }), get("2", { dependsOn: ["1"] }), get("1")])
    expect(backwards.shape).toBe("serial")
    expect(backwards.requests.map((r) => r.id)).toStrictEqual(["1", "2", "4", "3"])
    // a shared dependency placed last moves to the front; the other requests keep their order
    const same = ok([get("x"), get("b", { dependsOn: ["r"] }), get("c", { dependsOn: ["R"] }), get("r")])
    expect(same.shape).toBe("same")
    expect(same.requests.map((r) => r.id)).toStrictEqual(["x", "r", "b", "c"])
  })

  it("a forward dependsOn does not make an undocumented shape valid", () => {
    // two chains of two, each written dependent first
    expect(fails([get("2", { dependsOn: ["1"] }), get("1"), get("4", { dependsOn: ["3"] }), get("3")]))
      .toStrictEqual(new VE.InvalidBatchShape({ ids: ["2", "4"] }))
    // a chain 1 -> 2 -> 3 with a second dependent on 2: neither one chain nor one shared dependency
    expect(fails([get("4", { dependsOn: ["2"] }), get("3", { dependsOn: ["2"] }), get("2", { dependsOn: ["1"] }), get("1")])._tag)
      .toBe("InvalidBatchShape")
  })

  it("a cycle is rejected with its path", () => {
    expect(fails([get("a", { dependsOn: ["c"] }), get("b", { dependsOn: ["a"] }), get("c", { dependsOn: ["b"] })]))
      .toStrictEqual(new VE.DependencyCycle({ path: ["a", "c", "b", "a"] }))
    expect(fails([get("a", { dependsOn: ["a"] })])).toStrictEqual(new VE.DependencyCycle({ path: ["a", "a"] }))
  })

  it("a batch that is neither fully parallel nor fully sequential is rejected", () => {
    // 3 depends on 1 while 2 depends on nothing and 4 on 3: neither a chain nor one shared dependency
    expect(fails([get("1"), get("2"), get("3", { dependsOn: ["1"] }), get("4", { dependsOn: ["3"] })]))
      .toStrictEqual(new VE.InvalidBatchShape({ ids: ["3", "4"] }))
    // Graph allows one dependency per request
    expect(fails([get("1"), get("2", { dependsOn: ["1"] }), get("3", { dependsOn: ["1", "2"] })]))
      .toStrictEqual(new VE.InvalidBatchShape({ ids: ["3"] }))
  })

  it("the three documented shapes are accepted", () => {
    expect(ok([get("1"), get("2"), get("3")]).shape).toBe("parallel")
    expect(ok([get("1"), get("2", { dependsOn: ["1"] }), get("3", { dependsOn: ["2"] })]).shape).toBe("serial")
    expect(ok([get("1"), get("2", { dependsOn: ["1"] }), get("3", { dependsOn: ["1"] })]).shape).toBe("same")
    expect(ok([get("1"), get("2", { dependsOn: [] })]).shape).toBe("parallel")
  })

  it("dependsOn matches ids case-insensitively, as Graph compares them", () => {
    expect(ok([get("a"), get("b", { dependsOn: ["A"] })]).shape).toBe("serial")
  })

  it("the documented examples are valid batches", () => {
    const example = fixtureJson("batch-request-example.json") as { requests: Array<BatchRequestItem> }
    expect(ok(example.requests).shape).toBe("parallel")
    const sequenced = fixtureJson("batch-request-dependsOn.json") as { requests: Array<BatchRequestItem> }
    expect(ok(sequenced.requests).shape).toBe("serial")
  })

  it("the first broken rule is reported, in a fixed order", () => {
    // both a duplicate id and a bad method: ids are checked first
    expect(fails([get("a", { method: "HEAD" }), get("A")])._tag).toBe("DuplicateRequestIds")
  })
})

describe("BatchBuilder ordering (property)", () => {
  // A batch in a documented shape, written in dependency order: parallel, one chain, or one shared
  // dependency (item 0) stated by a non-empty subset of the others.
  const documented = FastCheck.integer({ min: 1, max: 20 }).chain((n) =>
    FastCheck.tuple(
      FastCheck.constant(n),
      n === 1 ? FastCheck.constant("parallel" as const) : FastCheck.constantFrom("parallel" as const, "serial" as const, "same" as const),
      FastCheck.array(FastCheck.boolean(), { minLength: n, maxLength: n }),
      FastCheck.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: n, maxLength: n })
    )
  )

  const inOrder = (n: number, shape: "parallel" | "serial" | "same", picks: ReadonlyArray<boolean>): Array<BatchRequestItem> =>
    Array.from({ length: n }, (_, i) => {
      const on = shape === "serial" && i > 0
        ? `q${i - 1}`
        : shape === "same" && i > 0 && (picks[i] === true || i === 1)
        ? "Q0" // ids compare case-insensitively
        : undefined
      return get(`q${i}`, on === undefined ? {} : { dependsOn: [on] })
    })

  it.prop(
    "a documented-shape batch in any array order is accepted, keeps its shape and its requests, and lists dependencies first",
    [documented],
    ([[n, shape, picks, permutation]]) => {
      const sorted = inOrder(n, shape, picks)
      const shuffled = permutation.map((i) => sorted[i]!)
      const batch = ok(shuffled)
      // a chain of two is both serial and same; the builder calls it serial
      expect(batch.shape).toBe(ok(sorted).shape)
      expect(batch.shape).toBe(shape === "same" && n === 2 ? "serial" : shape)
      const byId = (items: ReadonlyArray<BatchRequestItem>) => [...items].sort((a, b) => a.id.localeCompare(b.id))
      expect(byId(batch.requests)).toStrictEqual(byId(shuffled))
      const position = new Map(batch.requests.map((r, i) => [r.id.toLowerCase(), i]))
      batch.requests.forEach((r, i) => {
        for (const d of r.dependsOn ?? []) expect(position.get(d.toLowerCase())!).toBeLessThan(i)
      })
      // a batch already in dependency order is emitted as given
      expect(ok(sorted).requests.map((r) => r.id)).toStrictEqual(sorted.map((r) => r.id))
    }
  )
})

describe("BatchBuilder service", () => {
  it.effect("build returns a valid batch and toJson produces the wire envelope", () =>
    Effect.gen(function*() {
      const builder = yield* BatchBuilder
      const batch = yield* builder.build([
        get("1", { method: "PUT", url: "/me/photo/$value", headers: { "Content-Type": "image/png" }, body: new Uint8Array([1, 2, 3]) }),
        get("2", { dependsOn: ["1"] })
      ])
      expect(yield* builder.toJson(batch)).toStrictEqual({
        requests: [
          { id: "1", method: "PUT", url: "/me/photo/$value", headers: { "Content-Type": "image/png" }, body: "AQID" },
          { id: "2", method: "GET", url: "/users/2", dependsOn: ["1"] }
        ]
      })
    }).pipe(Effect.provide(layer())))

  it.effect("build fails with the typed error, catchable by tag", () =>
    Effect.gen(function*() {
      const builder = yield* BatchBuilder
      const tag = yield* builder.build([get("1"), get("1")]).pipe(
        Effect.map(() => "built"),
        Effect.catchTag("DuplicateRequestIds", (e) => Effect.succeed(`duplicates ${e.ids.join(",")}`))
      )
      expect(tag).toBe("duplicates 1,1")
    }).pipe(Effect.provide(layer())))

  it.effect("layerConfig reads the host and version", () =>
    Effect.gen(function*() {
      const builder = yield* BatchBuilder
      expect(builder.options).toStrictEqual({ host: "localhost:9", version: "beta" })
      const batch = yield* builder.build([get("1", { url: "http://localhost:9/beta/me" })])
      expect(batch.requests[0]!.url).toBe("/me")
    }).pipe(
      Effect.provide(layerConfig.pipe(Layer.provide(Layer.setConfigProvider(
        ConfigProvider.fromMap(new Map([["MSGRAPH_HOST", "localhost:9"], ["MSGRAPH_VERSION", "beta"]]))
      ))))
    ))
})
