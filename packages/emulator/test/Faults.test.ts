import { BatchResponse, Bucket, GraphError } from "@effect-msgraph/spec"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import type * as Faults from "@effect-msgraph/emulator/Faults"
import * as Latency from "@effect-msgraph/emulator/Latency"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, Option, TestClock } from "effect"
import { batch, get, post, postBatch, send } from "./utils/graph.js"

const withFaults = (faults: Faults.Faults, extra: Emulator.Emulator.Options = {}) => Effect.provide(Emulator.layerTest({ faults, ...extra }))

describe("item faults", () => {
  it.effect("503 with Retry-After, not executed", () =>
    Effect.gen(function*() {
      const answer = yield* batch([post("1", "/groups", { displayName: "g", mailNickname: "g" })])
      const item = answer.byId["1"]
      assert.strictEqual(item.status, 503)
      assert.strictEqual(item.headers["Retry-After"], "7")
      assert.strictEqual(Option.getOrThrow(GraphError.fromBody(item.body)).error.code, "serviceNotAvailable")
      const log = yield* Emulator.audit
      assert.isFalse(log[0]!.executed)
      yield* Emulator.setFaults({})
      const groups = yield* send("GET", "/groups")
      assert.deepStrictEqual(groups.json.value, [], "the failed item created nothing")
    }).pipe(withFaults({ items: [{ status: 503, rate: 1, retryAfterSeconds: 7 }] })))

  it.effect("504 without Retry-After, only for the configured service", () =>
    Effect.gen(function*() {
      const answer = yield* batch([get("mail", "/me/messages"), get("dir", "/me")])
      assert.strictEqual(answer.byId["mail"].status, 504)
      assert.notProperty(answer.byId["mail"].headers, "Retry-After")
      assert.strictEqual(answer.byId["dir"].status, 200)
      const single = yield* send("GET", "/me/events")
      assert.strictEqual(single.status, 504)
      assert.isUndefined(single.headers["retry-after"])
    }).pipe(withFaults({ items: [{ status: 504, rate: 1, service: "outlook" }] })))

  it.effect("the service may also be named by its catalogue id", () =>
    Effect.gen(function*() {
      const answer = yield* batch([get("plan", "/planner/tasks"), get("dir", "/me")])
      assert.strictEqual(answer.byId["dir"].status, 503)
      assert.strictEqual(answer.byId["plan"].status, 200)
    }).pipe(withFaults({ items: [{ status: 503, rate: 1, service: "identityAccess" }] })))

  it.effect("504 after execution: the item ran (its group exists, the audit says executed) but answers 504", () =>
    Effect.gen(function*() {
      const create = post("1", "/groups", { displayName: "g", mailNickname: "g" }, {
        headers: { "Content-Type": "application/json", "client-request-id": "4f1c2a9e-0000-4000-8000-000000000001" }
      })
      const answer = yield* batch([create, { ...get("2", "/groups"), dependsOn: ["1"] }])
      const item = answer.byId["1"]
      assert.strictEqual(item.status, 504)
      assert.strictEqual(item.headers["Retry-After"], "4")
      assert.strictEqual(Option.getOrThrow(GraphError.fromBody(item.body)).error.code, "gatewayTimeout")
      assert.strictEqual(answer.byId["2"].status, 424, "a dependent of an item answered 504 does not run")
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => [e.itemId, e.status, e.admitted, e.executed]), [["1", 504, true, true], ["2", 424, false, false]])
      yield* Emulator.setFaults({})
      const groups = yield* send("GET", "/groups")
      assert.deepStrictEqual(groups.json.value.map((g: { displayName: string }) => g.displayName), ["g"], "the create took effect")
      // a client that resends the same request runs it twice, and the audit counts it
      yield* batch([create])
      assert.strictEqual((yield* Emulator.report).duplicateExecutions, 1)
    }).pipe(withFaults({ items: [{ status: 504, rate: 1, phase: "after", retryAfterSeconds: 4 }] })))

  it.effect("an after-execution fault strikes only items that ran: a throttled item answers 429, not 503", () =>
    Effect.gen(function*() {
      const answer = yield* batch([get("1", "/me"), get("2", "/me?x=2")])
      assert.deepStrictEqual(answer.order.map((id) => answer.byId[id].status).sort(), [429, 503])
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => [e.status, e.executed]).sort(), [[429, false], [503, true]])
    }).pipe(withFaults({ items: [{ status: 503, rate: 1, phase: "after" }] }, {
      classify: () => [
        new Bucket.Demand({
          key: "k",
          entryId: "test.entry",
          service: "test",
          scope: "appTenant",
          cost: 1,
          retryAfter: true,
          limit: new Bucket.WindowLimit({ limit: 1, windowMillis: 60_000 })
        })
      ]
    })))

  it.effect("a rate strikes a seeded share of items, the same share for the same seed", () =>
    Effect.gen(function*() {
      const run = (seed: number) =>
        batch(Array.from({ length: 20 }, (_, i) => get(String(i), `/organization?i=${i}`))).pipe(
          Effect.map((a) => a.order.filter((id) => a.byId[id].status === 503).sort().join()),
          withFaults({ items: [{ status: 503, rate: 0.3 }] }, { seed })
        )
      const a = yield* run(11)
      assert.strictEqual(yield* run(11), a)
      const count = a.split(",").filter((s) => s !== "").length
      assert.isAbove(count, 0)
      assert.isBelow(count, 20)
    }))
})

describe("batch faults", () => {
  for (const status of [500, 502, 503, 504] as const) {
    it.effect(`whole batch ${status} with a Graph error body, before any item ran`, () =>
      Effect.gen(function*() {
        const answer = yield* postBatch({ requests: [get("1", "/me")] })
        assert.strictEqual(answer.status, status)
        assert.isTrue(Option.isSome(GraphError.fromBody(answer.json)))
        assert.strictEqual(answer.headers["retry-after"], status === 503 ? "3" : undefined)
        assert.deepStrictEqual(yield* Emulator.audit, [])
      }).pipe(withFaults({ batches: [{ status, rate: 1, ...(status === 503 ? { retryAfterSeconds: 3 } : {}) }] })))
  }

  it.effect("a batch fault after execution: the items ran although the client saw 502", () =>
    Effect.gen(function*() {
      const answer = yield* postBatch({ requests: [post("1", "/groups", { displayName: "g", mailNickname: "g" })] })
      assert.strictEqual(answer.status, 502)
      const log = yield* Emulator.audit
      assert.isTrue(log[0]!.executed)
      // The client retries the same item: the audit counts a duplicate execution.
      yield* Emulator.setFaults({})
      yield* postBatch({ requests: [post("1", "/groups", { displayName: "g", mailNickname: "g" })] })
      assert.strictEqual((yield* Emulator.report).duplicateExecutions, 1)
    }).pipe(withFaults({ batches: [{ status: 502, rate: 1, phase: "after" }] })))
})

describe("connection faults", () => {
  it.effect("a dropped connection is a transport error for the in-process client", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(postBatch({ requests: [get("1", "/me")] }))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "RequestError")
        assert.strictEqual((result.left as any).reason, "Transport")
      }
      assert.deepStrictEqual(yield* Emulator.audit, [], "dropped before execution")
    }).pipe(withFaults({ dropConnection: { rate: 1 } })))

  it.effect("a connection dropped after execution leaves executed items behind", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(send("POST", "/groups", { displayName: "g", mailNickname: "g" }))
      assert.isTrue(Either.isLeft(result))
      const log = yield* Emulator.audit
      assert.strictEqual(log.length, 1)
      assert.isTrue(log[0]!.executed)
    }).pipe(withFaults({ dropConnection: { rate: 1, phase: "after" } })))
})

describe("response faults", () => {
  it.effect("malformed JSON: a 200 whose body does not parse", () =>
    Effect.gen(function*() {
      const answer = yield* postBatch({ requests: [get("1", "/me"), get("2", "/organization")] })
      assert.strictEqual(answer.status, 200)
      assert.isUndefined(answer.json)
      assert.throws(() => JSON.parse(answer.text))
      const decoded = yield* Effect.either(BatchResponse.decodeJson(answer.text))
      assert.isTrue(Either.isLeft(decoded))
    }).pipe(withFaults({ malformedJson: { rate: 1 } })))

  it.effect("a missing item: one id that ran has no response", () =>
    Effect.gen(function*() {
      const answer = yield* batch([get("1", "/me"), get("2", "/organization"), get("3", "/groups")])
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.order.length, 2)
      const log = yield* Emulator.audit
      assert.strictEqual(log.filter((e) => e.executed).length, 3)
    }).pipe(withFaults({ missingItem: { rate: 1 } })))
})

describe("latency", () => {
  it.effect("the realistic model takes tens to hundreds of milliseconds of emulator time, seeded", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(batch(Array.from({ length: 10 }, (_, i) => get(String(i), `/me/messages?i=${i}`))))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      const log = yield* Emulator.audit
      for (const entry of log) {
        const took = entry.finishedAt - entry.startedAt
        assert.isAtLeast(took, Emulator.realisticLatency.outlook.baseMillis)
        assert.isBelow(took, Emulator.realisticLatency.outlook.baseMillis + Emulator.realisticLatency.outlook.jitterMillis)
      }
      assert.isAbove(new Set(log.map((e) => e.finishedAt - e.startedAt)).size, 1, "jitter varies")
    }).pipe(Effect.provide(Emulator.layerTest({ latency: "realistic" }))))
})

describe("latency profile: a cost per round trip, then the items", () => {
  // fixed figures (no jitter), so every time below is exact
  const fixed: Latency.Profile = {
    roundTrip: { baseMillis: 100, jitterMillis: 0 },
    services: { ...Latency.none.services, identity: { baseMillis: 30, jitterMillis: 0 }, outlook: { baseMillis: 60, jitterMillis: 0 } }
  }
  const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(effect)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      return yield* Emulator.audit
    })

  it.effect("a call waits its round trip before any item runs; a sequential batch runs its items one after another", () =>
    Effect.gen(function*() {
      const log = yield* timed(batch([get("a", "/me"), { ...get("b", "/organization"), dependsOn: ["a"] }, { ...get("c", "/groups"), dependsOn: ["b"] }]))
      assert.deepStrictEqual(log.map((e) => [e.itemId, e.startedAt, e.finishedAt]), [["a", 100, 130], ["b", 130, 160], ["c", 160, 190]])
      const single = yield* timed(send("GET", "/me"))
      assert.deepStrictEqual([single.at(-1)!.startedAt, single.at(-1)!.finishedAt], [10_000 + 100, 10_000 + 130])
    }).pipe(Effect.provide(Emulator.layerTest({ latency: fixed }))))

  it.effect("a parallel batch overlaps its items, Outlook's four at a time", () =>
    Effect.gen(function*() {
      const log = yield* timed(batch([
        get("u", "/me"),
        ...Array.from({ length: 6 }, (_, i) => get(`m${i}`, `/me/messages?i=${i}`))
      ]))
      assert.strictEqual(log.find((e) => e.itemId === "u")!.finishedAt, 130)
      const mail = log.filter((e) => e.itemId!.startsWith("m")).map((e) => e.finishedAt).sort((a, b) => a - b)
      assert.deepStrictEqual(mail, [160, 160, 160, 160, 220, 220])
    }).pipe(Effect.provide(Emulator.layerTest({ latency: fixed }))))

  it("one home for the figures: realistic is Latency.realistic, per-service models cost nothing per round trip", () => {
    assert.strictEqual(Emulator.latencyProfile(), Latency.realistic)
    assert.strictEqual(Emulator.latencyProfile("none"), Latency.none)
    assert.strictEqual(Emulator.realisticLatency, Latency.realistic.services)
    assert.isAbove(Latency.least(Latency.realistic.roundTrip), 0)
    const services = Emulator.latencyProfile({ teams: { baseMillis: 5, jitterMillis: 0 } })
    assert.deepStrictEqual(services.roundTrip, { baseMillis: 0, jitterMillis: 0 })
    assert.deepStrictEqual(services.services.teams, { baseMillis: 5, jitterMillis: 0 })
    assert.deepStrictEqual(services.services.identity, { baseMillis: 0, jitterMillis: 0 })
  })
})

describe("invalid options", () => {
  it.effect("are refused with a typed error naming the option", () =>
    Effect.gen(function*() {
      const refused = (options: Emulator.Emulator.Options) => Effect.flip(Emulator.make(options))
      assert.strictEqual((yield* refused({ faults: { items: [{ status: 503, rate: 1.5 }] } })).option, "faults.items[0].rate")
      assert.strictEqual((yield* refused({ multiplier: 0 })).option, "multiplier")
      assert.strictEqual((yield* refused({ multiplier: { outlook: -1 } })).option, "multiplier.outlook")
      assert.strictEqual((yield* refused({ auditCapacity: 0 })).option, "auditCapacity")
      assert.strictEqual((yield* refused({ latency: { outlook: { baseMillis: -5, jitterMillis: 0 } } })).option, "latency.outlook")
      assert.strictEqual((yield* refused({ latency: { ...Latency.realistic, roundTrip: { baseMillis: -1, jitterMillis: 0 } } })).option, "latency.roundTrip")
      const error = yield* Effect.flip(Emulator.setFaults({ malformedJson: { rate: -0.1 } }))
      assert.strictEqual(error._tag, "InvalidOptions")
      assert.strictEqual(error.option, "faults.malformedJson.rate")
    }).pipe(Effect.provide(Emulator.layerTest())))
})
