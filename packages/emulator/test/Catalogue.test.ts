import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { batch, get, send } from "./utils/graph.js"

// These tests use the built-in limit catalogue, the default classifier: the same entries the
// client's CostCalculator reads, enforced by the emulator's own accounting.

const repeat = <A, E, R>(n: number, f: (i: number) => Effect.Effect<A, E, R>) => Effect.forEach(Array.from({ length: n }, (_, i) => i), f)

describe("catalogue entries enforced by the emulator", () => {
  it.effect("identity resource units: a token bucket sized by tenant size, costed per request", () =>
    Effect.gen(function*() {
      const admitted = (tenantSize: "S" | "L") =>
        repeat(60, () => send("GET", "/users")).pipe(
          Effect.map((answers) => answers.filter((a) => a.status === 200).length),
          // 1% of the documented quota: S is 35 units, L is 80; GET users costs 2.
          Effect.provide(Emulator.layerTest({ tenantSize, multiplier: { identityAccess: 0.01 } }))
        )
      assert.strictEqual(yield* admitted("S"), 17)
      assert.strictEqual(yield* admitted("L"), 40)
    }))

  it.effect("identity headers report the documented cost, the fill and the throttled scope", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* send("GET", "/users")).headers["x-ms-resource-unit"], "2")
      assert.strictEqual((yield* send("GET", "/users?$select=id")).headers["x-ms-resource-unit"], "1")
      assert.strictEqual((yield* send("GET", "/subscribedSkus")).headers["x-ms-resource-unit"], "3")
      const answers = yield* repeat(20, () => send("GET", "/users"))
      const refused = answers.find((a) => a.status === 429)!
      assert.isDefined(refused)
      assert.strictEqual(refused.headers["x-ms-throttle-scope"], "Tenant_Application/ReadWrite/app/tenant")
      assert.strictEqual(refused.headers["x-ms-throttle-information"], "ResourceUnitLimitExceeded")
      assert.match(refused.headers["retry-after"]!, /^\d+(\.\d+)?$/)
      assert.isTrue(answers.some((a) => a.headers["x-ms-throttle-limit-percentage"] !== undefined))
    }).pipe(Effect.provide(Emulator.layerTest({ tenantSize: "S", appId: "app", tenantId: "tenant", multiplier: { identityAccess: 0.01 } }))))

  it.effect("Outlook: four concurrent requests per mailbox, each mailbox counted alone", () =>
    Effect.gen(function*() {
      const fibers = yield* Effect.forEach(
        ["a", "a", "a", "a", "a", "b"],
        (mailbox, i) => Effect.fork(send("GET", `/users/${mailbox}@contoso.com/messages?i=${i}`))
      )
      yield* TestClock.adjust("1 second")
      const answers = yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(answers.map((a) => a.status === 429), [false, false, false, false, true, false])
      const log = yield* Emulator.audit
      const refused = log.filter((e) => e.status === 429)
      assert.strictEqual(refused.length, 1)
      assert.include(refused[0]!.bucketKeys, "outlook.mailbox.concurrent/a@contoso.com")
    }).pipe(Effect.provide(Emulator.layerTest({ latency: { outlook: { baseMillis: 100, jitterMillis: 0 } } }))))

  it.effect("Teams: one request per second per channel, per resource", () =>
    Effect.gen(function*() {
      const message = { body: { content: "hello" } }
      const answer = yield* batch([
        { id: "1", method: "POST", url: "/teams/t/channels/a/messages", body: message, headers: { "Content-Type": "application/json" } },
        { id: "2", method: "POST", url: "/teams/t/channels/a/messages", body: message, headers: { "Content-Type": "application/json" }, dependsOn: ["1"] }
      ])
      assert.deepStrictEqual([answer.byId["1"].status, answer.byId["2"].status], [201, 429])
      assert.strictEqual(answer.byId["2"].headers["Retry-After"], "1")
      assert.strictEqual((yield* send("POST", "/teams/t/channels/b/messages", message)).status, 201)
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* send("POST", "/teams/t/channels/a/messages", message)).status, 201)
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("identity protection: one request per second per tenant, 429 without Retry-After", () =>
    Effect.gen(function*() {
      const answer = yield* batch([get("1", "/identityProtection/riskyUsers"), get("2", "/identityProtection/riskDetections")])
      const statuses = [answer.byId["1"].status, answer.byId["2"].status].sort()
      assert.deepStrictEqual(statuses, [200, 429])
      const refused = answer.byId["1"].status === 429 ? answer.byId["1"] : answer.byId["2"]
      assert.notProperty(refused.headers, "Retry-After")
    }).pipe(Effect.provide(Emulator.layerTest())))

  it.effect("OneNote: a window per app and user, 429 without Retry-After", () =>
    Effect.gen(function*() {
      // 5% of 120 requests per minute.
      const answers = yield* repeat(8, (i) => send("GET", `/me/onenote/pages?i=${i}`))
      assert.deepStrictEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200, 429, 429])
      assert.isUndefined(answers[6]!.headers["retry-after"])
      assert.strictEqual((yield* Emulator.report).limitViolations, 0)
    }).pipe(Effect.provide(Emulator.layerTest({ multiplier: { onenote: 0.05 } }))))

  it.effect("an hour of paced traffic under TestClock stays within every documented limit", () =>
    Effect.gen(function*() {
      for (let minute = 0; minute < 60; minute++) {
        yield* batch(Array.from({ length: 20 }, (_, i) => get(String(i), i % 2 === 0 ? `/users?$top=5&m=${minute}&i=${i}` : `/me/messages?m=${minute}&i=${i}`)))
        yield* TestClock.adjust("1 minute")
      }
      const report = yield* Emulator.report
      assert.strictEqual(report.requests, 1200)
      assert.strictEqual(report.limitViolations, 0)
      assert.strictEqual(report.duplicateExecutions, 0)
    }).pipe(Effect.provide(Emulator.layerTest())))
})
