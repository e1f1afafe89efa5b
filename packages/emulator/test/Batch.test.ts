import { BatchResponse, Bucket, GraphError } from "@effect-msgraph/spec"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck, Fiber, Option, TestClock } from "effect"
import { HttpClientRequest } from "@effect/platform"
import { answerOf, batch, fixtureJson, get, post, postBatch, root, send } from "./utils/graph.js"

const expectRejected = (payload: unknown, fragment: RegExp) =>
  Effect.gen(function*() {
    const answer = yield* postBatch(payload)
    assert.strictEqual(answer.status, 400)
    const body = GraphError.fromBody(answer.json)
    assert.isTrue(Option.isSome(body), "a Graph error body")
    const error = Option.getOrThrow(body).error
    assert.strictEqual(error.code, "BadRequest")
    assert.match(error.message ?? "", fragment)
    assert.isString(GraphError.innerErrorOf(error)?.["request-id"])
    // Nothing in a refused envelope runs.
    assert.deepStrictEqual(yield* Emulator.audit, [])
  }).pipe(Effect.provide(Emulator.layerTest()))

const items = (n: number) => Array.from({ length: n }, (_, i) => get(String(i + 1), "/organization"))

describe("batch envelope validation", () => {
  it.effect("accepts 20 items and refuses 21", () =>
    Effect.gen(function*() {
      const twenty = yield* batch(items(20)).pipe(Effect.provide(Emulator.layerTest()))
      assert.strictEqual(twenty.status, 200)
      assert.strictEqual(twenty.order.length, 20)
      yield* expectRejected({ requests: items(21) }, /at most 20/)
    }))

  it.effect("refuses duplicate ids, compared without case", () =>
    expectRejected({ requests: [get("a", "/users"), get("A", "/groups")] }, /unique/))

  it.effect("refuses a dependsOn naming an unknown id", () =>
    expectRejected({ requests: [get("1", "/users"), { ...get("2", "/groups"), dependsOn: ["9"] }] }, /not in the batch/))

  it.effect("refuses a dependency cycle, an item depending on itself included, wherever the items sit", () =>
    Effect.gen(function*() {
      yield* expectRejected({ requests: [{ ...get("1", "/users"), dependsOn: ["2"] }, { ...get("2", "/groups"), dependsOn: ["1"] }] }, /cycle/)
      yield* expectRejected({ requests: [{ ...get("1", "/users"), dependsOn: ["1"] }] }, /cycle/)
      yield* expectRejected({
        requests: [get("0", "/me"), { ...get("a", "/users"), dependsOn: ["c"] }, { ...get("b", "/users"), dependsOn: ["a"] }, { ...get("c", "/users"), dependsOn: ["b"] }]
      }, /cycle/)
    }))

  it.effect("refuses a mixed shape and dependsOn lists of more than one id", () =>
    Effect.gen(function*() {
      // Two separate chains: neither serial, nor all on the same item.
      yield* expectRejected({
        requests: [get("1", "/users"), { ...get("2", "/users"), dependsOn: ["1"] }, get("3", "/groups"), { ...get("4", "/groups"), dependsOn: ["3"] }]
      }, /fully sequential or fully parallel/)
      // A chain that skips: 3 depends on 1, not on 2.
      yield* expectRejected({
        requests: [get("1", "/users"), { ...get("2", "/users"), dependsOn: ["1"] }, { ...get("3", "/users"), dependsOn: ["2"] }, { ...get("4", "/users"), dependsOn: ["2"] }]
      }, /fully sequential or fully parallel/)
      yield* expectRejected({
        requests: [get("1", "/users"), get("2", "/users"), { ...get("3", "/users"), dependsOn: ["1", "2"] }]
      }, /fully sequential or fully parallel/)
    }))

  it.effect("refuses absolute URLs", () =>
    Effect.gen(function*() {
      yield* expectRejected({ requests: [get("1", "https://graph.microsoft.com/v1.0/users")] }, /relative/)
      yield* expectRejected({ requests: [get("1", "//graph.microsoft.com/v1.0/users")] }, /relative/)
    }))

  it.effect("refuses nested batches, however the segment is spelled", () =>
    Effect.gen(function*() {
      yield* expectRejected({ requests: [post("1", "/$batch", { requests: [] })] }, /nested/)
      yield* expectRejected({ requests: [post("1", "%24BATCH", { requests: [] })] }, /nested/)
      yield* expectRejected({ requests: [get("1", "/users"), post("2", "/beta/$batch?x=1", { requests: [] })] }, /nested/)
    }))

  it.effect("serves $batch when the client percent-encodes its '$' (/v1.0/%24batch, /v1.0/%24BATCH/)", () =>
    Effect.gen(function*() {
      for (const path of ["/%24batch", "/%24BATCH/"]) {
        const answer = yield* send("POST", path, { requests: [get("1", "/me")] })
        assert.strictEqual(answer.status, 200, path)
        assert.deepStrictEqual(answer.json.responses.map((r: any) => [r.id, r.status]), [["1", 200]], path)
      }
      // the items ran, not a POST to an unknown path
      assert.deepStrictEqual((yield* Emulator.audit).map((e) => [e.itemId, e.url]), [["1", "/me"], ["1", "/me"]])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("reads a null headers, body or dependsOn as absent, as serializers that write every field send them", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        { id: "1", method: "GET", url: "/me", headers: null, body: null, dependsOn: null },
        { id: "2", method: "GET", url: "/organization", dependsOn: null }
      ])
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual([answer.byId["1"].status, answer.byId["2"].status], [200, 200])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("answers 400 with Graph's error body to a body nested deeper than 1,000 levels, in a batch or a single request", () =>
    Effect.gen(function*() {
      const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
      const item = (depth: number) =>
        `{"requests":[{"id":"1","method":"POST","url":"/groups","headers":{"Content-Type":"application/json"},"body":{"displayName":"g","mailNickname":"g","x":${nested(depth)}}}]}`
      const deep = yield* postBatch(item(20_000))
      assert.strictEqual(deep.status, 400)
      assert.match(Option.getOrThrow(GraphError.fromBody(deep.json)).error.message ?? "", /nested/)
      const single = yield* answerOf(
        HttpClientRequest.post(`${root}/groups`).pipe(HttpClientRequest.bodyText(`{"displayName":"g","x":${nested(20_000)}}`, "application/json"))
      )
      assert.strictEqual(single.status, 400)
      assert.match(Option.getOrThrow(GraphError.fromBody(single.json)).error.message ?? "", /nested/)
      // a body of a thousand levels (its object and 999 arrays) is read as usual
      const shallow = yield* postBatch(item(999))
      assert.strictEqual(shallow.status, 200)
      assert.strictEqual(shallow.json.responses[0].status, 201)
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("answers every refusal of a call with a request-id header, the one its error body names", () =>
    Effect.gen(function*() {
      const answers = [
        yield* postBatch({ requests: [] }),
        yield* postBatch("{not json"),
        yield* send("GET", "/$batch"),
        yield* answerOf(HttpClientRequest.get("https://graph.microsoft.com/v2.0/me")),
        yield* answerOf(HttpClientRequest.post(`${root}/users`).pipe(HttpClientRequest.bodyText("{not json", "application/json")))
      ]
      assert.deepStrictEqual(answers.map((a) => a.status), [400, 400, 405, 400, 400])
      for (const answer of answers) {
        const error = Option.getOrThrow(GraphError.fromBody(answer.json)).error
        assert.strictEqual(answer.headers["request-id"], GraphError.innerErrorOf(error)?.["request-id"])
      }
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("refuses a body without Content-Type", () =>
    expectRejected({ requests: [{ id: "1", method: "POST", url: "/users", body: { displayName: "x" } }] }, /Content-Type/))

  it.effect("refuses unparseable JSON, a missing requests array, an empty batch and unknown methods", () =>
    Effect.gen(function*() {
      yield* expectRejected("{not json", /valid JSON/)
      yield* expectRejected({ request: [] }, /requests/)
      yield* expectRejected({ requests: [] }, /empty/)
      yield* expectRejected({ requests: [{ id: "1", method: "FETCH", url: "/users" }] }, /not supported/)
    }))
})

describe("documented examples", () => {
  it.effect("accepts the documentation's example batch and answers every id with a decodable envelope", () =>
    Effect.gen(function*() {
      const fixture = fixtureJson("batch-request-example.json")
      const answer = yield* postBatch(fixture)
      assert.strictEqual(answer.status, 200)
      const decoded = yield* BatchResponse.decodeJson(answer.text)
      assert.deepStrictEqual(
        decoded.responses.map((r) => r.id).sort(),
        fixture.requests.map((r: any) => r.id).sort()
      )
      for (const r of decoded.responses) assert.isNumber(r.status)
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("accepts the older documented example batch", () =>
    Effect.gen(function*() {
      const fixture = fixtureJson("legacy-batch-request-example.json")
      const answer = yield* batch(fixture.requests)
      assert.strictEqual(answer.status, 200)
      assert.sameMembers(answer.order, fixture.requests.map((r: any) => r.id))
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("runs the documented dependsOn chain in the order 1, 2, 4, 3", () =>
    Effect.gen(function*() {
      const fixture = fixtureJson("batch-request-dependsOn.json")
      const answer = yield* batch(fixture.requests)
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.order, ["1", "2", "4", "3"])
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => e.itemId), ["1", "2", "4", "3"])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("produces items shaped like the documented mixed response (id, status, headers, body; error bodies)", () =>
    Effect.gen(function*() {
      const documented = fixtureJson("batch-response-mixed.json")
      const answer = yield* batch([get("1", "/me"), get("2", "/users/00000000-0000-0000-0000-00000000dead")])
      // Both the documented response and ours decode with the same schema.
      const ours = yield* BatchResponse.decodeJson(answer.text)
      yield* BatchResponse.decodeJson(JSON.stringify(documented))
      const keys = (r: any) => Object.keys(r).sort()
      assert.deepStrictEqual(keys(answer.byId["1"]), keys(documented.responses[0]))
      assert.strictEqual(answer.byId["1"].status, 200)
      assert.match(answer.byId["1"].headers["Content-Type"], /^application\/json/)
      assert.strictEqual(answer.byId["2"].status, 404)
      const error = Option.getOrThrow(GraphError.fromBody(answer.byId["2"].body)).error
      const documentedInner = documented.responses[1].body.error.innerError
      assert.deepStrictEqual(Object.keys(GraphError.innerErrorOf(error) ?? {}).sort(), Object.keys(documentedInner).sort())
      assert.strictEqual(ours.responses.length, 2)
    }).pipe(Effect.provide(Emulator.layerTest())))
})

describe("batch item URLs and error bodies", () => {
  it.effect("answers an item whose URL repeats the version 400 'Resource not found for the segment', without running it", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        get("1", "/v1.0/users"),
        get("2", "/beta/me"),
        get("3", "v1.0/organization"),
        post("4", "/v1.0/groups", { displayName: "g", mailNickname: "g" }),
        get("5", "/users")
      ])
      assert.strictEqual(answer.status, 200)
      for (const [id, segment] of [["1", "v1.0"], ["2", "beta"], ["3", "v1.0"], ["4", "v1.0"]] as const) {
        assert.strictEqual(answer.byId[id].status, 400, id)
        const error = Option.getOrThrow(GraphError.fromBody(answer.byId[id].body)).error
        assert.strictEqual(error.code, "BadRequest")
        assert.strictEqual(error.message, `Resource not found for the segment '${segment}'.`)
      }
      assert.strictEqual(answer.byId["5"].status, 200)
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.filter((e) => e.executed).map((e) => e.itemId), ["5"])
      // Nothing was created by the refused POST.
      const groups = yield* batch([get("g", "/groups")])
      assert.deepStrictEqual(groups.byId["g"].body.value, [])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("a single request whose path repeats the version gets the same 400", () =>
    Effect.gen(function*() {
      const answer = yield* send("GET", "/v1.0/users")
      assert.strictEqual(answer.status, 400)
      const error = Option.getOrThrow(GraphError.fromBody(answer.json)).error
      assert.strictEqual(error.code, "BadRequest")
      assert.strictEqual(error.message, "Resource not found for the segment 'v1.0'.")
      const inner = GraphError.innerErrorOf(error) ?? {}
      assert.strictEqual(inner["client-request-id"], inner["request-id"])
      assert.isFalse((yield* Emulator.audit)[0]!.executed)
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("a refused versioned item fails its dependents with 424", () =>
    Effect.gen(function*() {
      const answer = yield* batch([get("1", "/v1.0/me"), { ...get("2", "/me"), dependsOn: ["1"] }])
      assert.deepStrictEqual([answer.byId["1"].status, answer.byId["2"].status], [400, 424])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("error items carry innerError client-request-id: the item's own, else the batch request's, else the request id", () =>
    Effect.gen(function*() {
      const missing = "/users/00000000-0000-0000-0000-00000000dead"
      const innerOf = (item: any) => GraphError.innerErrorOf(Option.getOrThrow(GraphError.fromBody(item.body)).error) ?? {}
      const answer = yield* batch(
        [get("own", missing, { "client-request-id": "item-id" }), get("inherited", missing), get("versioned", "/v1.0/me")],
        { "client-request-id": "batch-id" }
      )
      assert.strictEqual(innerOf(answer.byId["own"])["client-request-id"], "item-id")
      assert.strictEqual(innerOf(answer.byId["inherited"])["client-request-id"], "batch-id")
      assert.strictEqual(innerOf(answer.byId["versioned"])["client-request-id"], "batch-id")
      for (const id of ["own", "inherited", "versioned"]) {
        assert.deepStrictEqual(Object.keys(innerOf(answer.byId[id])).sort(), ["client-request-id", "date", "request-id"])
      }
      const bare = yield* batch([get("x", missing), { ...get("y", "/me"), dependsOn: ["x"] }])
      for (const id of ["x", "y"]) {
        const inner = innerOf(bare.byId[id])
        assert.isString(inner["request-id"])
        assert.strictEqual(inner["client-request-id"], inner["request-id"], id)
      }
      assert.strictEqual(bare.byId["y"].status, 424)
    }).pipe(Effect.provide(Emulator.layerTest())))
})

describe("batch execution", () => {
  const parallel = Array.from({ length: 12 }, (_, i) => get(`r${i}`, `/groups?x=${i}`))

  it.effect("returns parallel items in an order chosen by the seed", () =>
    Effect.gen(function*() {
      const orderFor = (seed: number) => batch(parallel).pipe(Effect.map((a) => a.order), Effect.provide(Emulator.layerTest({ seed })))
      const a = yield* orderFor(1)
      const again = yield* orderFor(1)
      assert.deepStrictEqual(a, again, "same seed, same order")
      assert.sameMembers(a, parallel.map((r) => r.id))
      const others = yield* Effect.forEach([2, 3, 4, 5], orderFor)
      assert.isTrue(others.some((o) => o.join() !== a.join()), "other seeds give other orders")
      assert.isTrue([a, ...others].some((o) => o.join() !== parallel.map((r) => r.id).join()), "not always request order")
    }))

  it.effect("runs a Same-pattern batch one item at a time after the shared dependency", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        get("root", "/organization"),
        { ...get("b", "/groups"), dependsOn: ["root"] },
        { ...get("c", "/users"), dependsOn: ["root"] }
      ])
      assert.deepStrictEqual(answer.order, ["root", "b", "c"])
      const log = yield* Emulator.audit
      for (let i = 1; i < log.length; i++) assert.isAtMost(log[i - 1]!.finishedAt, log[i]!.startedAt)
      assert.strictEqual((yield* Emulator.report).orderViolations, 0)
    }).pipe(Effect.provide(Emulator.layerTest({ latency: { graph: { baseMillis: 50, jitterMillis: 0 }, identity: { baseMillis: 50, jitterMillis: 0 } } })), (eff) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(eff)
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(fiber)
      })))

  it.effect("accepts a dependsOn naming a later item and runs the chain in dependency order, one item at a time", () =>
    Effect.gen(function*() {
      // The documented chain 1 -> 2 -> 4 -> 3, written backwards.
      const answer = yield* batch([
        { ...get("3", "/groups"), dependsOn: ["4"] },
        { ...get("4", "/users"), dependsOn: ["2"] },
        { ...get("2", "/organization"), dependsOn: ["1"] },
        get("1", "/me")
      ])
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.order, ["1", "2", "4", "3"])
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => e.itemId), ["1", "2", "4", "3"])
      for (let i = 1; i < log.length; i++) assert.isAtMost(log[i - 1]!.finishedAt, log[i]!.startedAt)
      assert.strictEqual((yield* Emulator.report).orderViolations, 0)
    }).pipe(Effect.provide(Emulator.layerTest({ latency: { graph: { baseMillis: 50, jitterMillis: 0 }, identity: { baseMillis: 50, jitterMillis: 0 } } })), (eff) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(eff)
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(fiber)
      })))

  it.effect("runs a Same-pattern batch whose shared dependency comes last: the dependency first, then the rest in array order", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        { ...get("b", "/groups"), dependsOn: ["root"] },
        get("x", "/users"),
        { ...get("c", "/users"), dependsOn: ["ROOT"] },
        get("root", "/organization")
      ])
      assert.strictEqual(answer.status, 200)
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => e.itemId), ["x", "root", "b", "c"])
      assert.strictEqual((yield* Emulator.report).orderViolations, 0)
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("answers 424 to the dependent of a failed item that comes later in the array, without running it", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        { ...post("2", "/groups", { displayName: "g", mailNickname: "g" }), dependsOn: ["1"] },
        get("1", "/users/nobody@contoso.com")
      ])
      assert.deepStrictEqual([answer.byId["1"].status, answer.byId["2"].status], [404, 424])
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => [e.itemId, e.executed]), [["1", true], ["2", false]])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("answers 424 to every item after a failed one in a chain, without running them", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        get("1", "/me"),
        { ...get("2", "/users/nobody@contoso.com"), dependsOn: ["1"] },
        { ...post("3", "/groups", { displayName: "g", mailNickname: "g" }), dependsOn: ["2"] },
        { ...get("4", "/me"), dependsOn: ["3"] }
      ])
      assert.deepStrictEqual(answer.order.map((id) => answer.byId[id].status), [200, 404, 424, 424])
      assert.strictEqual(Option.getOrThrow(GraphError.fromBody(answer.byId["3"].body)).error.code, "FailedDependency")
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => e.executed), [true, true, false, false])
      // The group was never created.
      const groups = yield* batch([get("g", "/groups")])
      assert.deepStrictEqual(groups.byId["g"].body.value, [])
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("hands Outlook at most four items of one batch at a time, other services all at once", () =>
    Effect.gen(function*() {
      const mail = Array.from({ length: 10 }, (_, i) => get(`m${i}`, `/users/u${i}@contoso.com/messages`))
      const directory = Array.from({ length: 10 }, (_, i) => get(`d${i}`, `/groups?n=${i}`))
      const fiber = yield* Effect.fork(batch([...mail, ...directory]))
      yield* TestClock.adjust("10 seconds")
      const answer = yield* Fiber.join(fiber)
      assert.strictEqual(answer.status, 200)
      const log = yield* Emulator.audit
      const peak = (service: string) => {
        const mine = log.filter((e) => e.service === service)
        return Math.max(...mine.map((e) => mine.filter((o) => o.startedAt <= e.startedAt && o.finishedAt > e.startedAt).length))
      }
      assert.strictEqual(peak("outlook"), 4)
      assert.strictEqual(peak("identity"), 10)
    }).pipe(Effect.provide(Emulator.layerTest({ latency: { outlook: { baseMillis: 100, jitterMillis: 0 }, identity: { baseMillis: 100, jitterMillis: 0 } } }))))

  it.effect("starts the next Outlook item of a batch, in item order, the moment one of the four running ends", () =>
    Effect.gen(function*() {
      const mail = Array.from({ length: 12 }, (_, i) => get(`m${i}`, `/users/u${i}@contoso.com/messages`))
      const fiber = yield* Effect.fork(batch(mail))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* Fiber.join(fiber)).status, 200)
      const log = [...(yield* Emulator.audit)].sort((a, b) => Number(a.itemId!.slice(1)) - Number(b.itemId!.slice(1)))
      // the first four start with the batch; each later one when the earliest of the four running ends
      const running = log.slice(0, 4).map((e) => e.finishedAt)
      for (const entry of log.slice(0, 4)) assert.strictEqual(entry.startedAt, log[0]!.startedAt)
      for (const entry of log.slice(4)) {
        const earliest = Math.min(...running)
        assert.strictEqual(entry.startedAt, earliest)
        running.splice(running.indexOf(earliest), 1, entry.finishedAt)
      }
      // the latencies differ (jitter), so the order of ending is not the order of starting
      assert.notStrictEqual(
        [...log].sort((a, b) => a.finishedAt - b.finishedAt).map((e) => e.itemId).join(),
        log.map((e) => e.itemId).join()
      )
    }).pipe(Effect.provide(Emulator.layerTest({ latency: { outlook: { baseMillis: 100, jitterMillis: 400 } } }))))

  it.effect("throttles low-priority items first when items of one batch contend for a bucket", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        get("low1", "/groups?a=1", { "x-ms-throttle-priority": "low" }),
        get("n1", "/groups?a=2"),
        get("low2", "/groups?a=3", { "x-ms-throttle-priority": "Low" }),
        get("high1", "/groups?a=4", { "x-ms-throttle-priority": "high" }),
        get("n2", "/groups?a=5")
      ])
      const throttled = answer.order.filter((id) => answer.byId[id].status === 429).sort()
      assert.deepStrictEqual(throttled, ["low1", "low2"])
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.filter((e) => e.status === 429).map((e) => e.priority), ["low", "low"])
    }).pipe(Effect.provide(Emulator.layerTest({
      classify: (_request, context) => [
        new Bucket.Demand({
          key: `test/${context.appId}`,
          entryId: "test.three",
          service: "test",
          scope: "app",
          limit: new Bucket.WindowLimit({ limit: 3, windowMillis: 10_000 }),
          cost: 1,
          retryAfter: true
        })
      ]
    }))))
})

describe("batch shapes (property)", () => {
  // For item i, a dependency on an earlier item, or none.
  const structure = FastCheck.integer({ min: 1, max: 8 }).chain((n) =>
    FastCheck.tuple(...Array.from({ length: n }, (_, i) => i === 0 ? FastCheck.constant(-1) : FastCheck.integer({ min: -1, max: i - 1 })))
  )

  // The same structure written in any array order: dependencies may come later.
  const shuffled = structure.chain((deps) =>
    FastCheck.tuple(
      FastCheck.constant(deps),
      FastCheck.shuffledSubarray(deps.map((_, i) => i), { minLength: deps.length, maxLength: deps.length })
    )
  )

  it.effect.prop(
    "a batch in any array order is accepted exactly when it is parallel, serial or same; accepted ones answer every id once and run dependencies first",
    [shuffled],
    ([[deps, permutation]]) =>
      Effect.gen(function*() {
        const stated = deps.filter((d) => d >= 0)
        const documented = stated.length === 0 ||
          deps.every((d, i) => i === 0 ? d === -1 : d === i - 1) ||
          stated.every((d) => d === stated[0])
        const inOrder = deps.map((d, i) => ({ ...get(`q${i}`, `/organization?i=${i}`), ...(d >= 0 ? { dependsOn: [`q${d}`] } : {}) }))
        const requests = permutation.map((i) => inOrder[i]!)
        const answer = yield* batch(requests)
        assert.strictEqual(answer.status, documented ? 200 : 400)
        if (documented) {
          assert.sameMembers(answer.order, requests.map((r) => r.id))
          assert.strictEqual(answer.order.length, requests.length)
          const ran = (yield* Emulator.audit).map((e) => e.itemId)
          deps.forEach((d, i) => {
            if (d >= 0) assert.isBelow(ran.indexOf(`q${d}`), ran.indexOf(`q${i}`))
          })
          assert.strictEqual((yield* Emulator.report).orderViolations, 0)
        } else {
          assert.deepStrictEqual(yield* Emulator.audit, [])
        }
      }).pipe(Effect.provide(Emulator.layerTest())),
    { fastCheck: { numRuns: 40 } }
  )
})
