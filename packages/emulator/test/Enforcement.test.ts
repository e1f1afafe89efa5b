import { Bucket } from "@effect-msgraph/spec"
import * as Audit from "@effect-msgraph/emulator/Audit"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck, Fiber, TestClock } from "effect"
import { batch, fixtureJson, get, httpFixture, send } from "./utils/graph.js"

const demand = (fields: Partial<ConstructorParameters<typeof Bucket.Demand>[0]> & { limit: Bucket.Limit }) =>
  new Bucket.Demand({ key: "k", entryId: "test.entry", service: "test", scope: "appTenant", cost: 1, retryAfter: true, ...fields })

const only = (d: (url: string, method: string) => ReadonlyArray<Bucket.Demand>): Emulator.Classifier => (request) => d(request.url, request.method)

const window = (limit: number, windowMillis: number) => new Bucket.WindowLimit({ limit, windowMillis })

const keysDeep = (value: any): any =>
  value !== null && typeof value === "object" ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, keysDeep(value[k])])) : typeof value

describe("window limits", () => {
  const layer = Emulator.layerTest({ classify: only(() => [demand({ limit: window(5, 10_000) })]) })

  it.effect("admits the limit, then answers 429 with Graph's body and a Retry-After that is exact", () =>
    Effect.gen(function*() {
      const statuses: Array<number> = []
      for (let i = 0; i < 5; i++) statuses.push((yield* send("GET", "/organization")).status)
      assert.deepStrictEqual(statuses, [200, 200, 200, 200, 200])
      const refused = yield* send("GET", "/organization")
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(refused.headers["retry-after"], "10")
      // Same keys and value types as the throttling page's sample body.
      assert.deepStrictEqual(keysDeep(refused.json), keysDeep(fixtureJson("throttling-429-response-body.json")))
      assert.deepStrictEqual(keysDeep(refused.json), keysDeep(httpFixture("throttling-429-response-2025.http").body))
      assert.strictEqual(refused.json.error.code, "TooManyRequests")
      yield* TestClock.adjust("9999 millis")
      assert.strictEqual((yield* send("GET", "/organization")).status, 429, "one millisecond early is still refused")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* send("GET", "/organization")).status, 200, "at Retry-After the oldest unit has left the window")
      assert.strictEqual((yield* Emulator.report).limitViolations, 0)
    }).pipe(Effect.provide(layer)))

  it.effect("prints a decimal Retry-After when the wait is not whole seconds", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 second")
      for (let i = 0; i < 3; i++) yield* send("GET", "/organization")
      yield* TestClock.adjust("2500 millis")
      for (let i = 0; i < 2; i++) yield* send("GET", "/organization")
      yield* TestClock.adjust("1200 millis")
      const refused = yield* send("GET", "/organization")
      assert.strictEqual(refused.status, 429)
      // The first unit entered at 1 s and leaves at 11 s; now is 4.7 s.
      assert.strictEqual(refused.headers["retry-after"], "6.3")
      const fractional = httpFixture("legacy-throttling-429-response-fractional-retry-after.http")
      assert.match(fractional.headers["Retry-After"]!, /^\d+\.\d+$/, "the documented decimal form")
    }).pipe(Effect.provide(layer)))

  it.effect("rounds Retry-After up to whole seconds when asked to", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) yield* send("GET", "/organization")
      yield* TestClock.adjust("3700 millis")
      const refused = yield* send("GET", "/organization")
      assert.strictEqual(refused.headers["retry-after"], "7")
      assert.match(httpFixture("throttling-429-response-2025.http").headers["Retry-After"]!, /^\d+$/, "the documented integer form")
    }).pipe(Effect.provide(Emulator.layerTest({ retryAfter: "seconds", classify: only(() => [demand({ limit: window(5, 10_000) })]) }))))

  it.effect("throttles batch items one by one inside a 200 envelope", () =>
    Effect.gen(function*() {
      const answer = yield* batch(Array.from({ length: 7 }, (_, i) => get(String(i), `/organization?i=${i}`)))
      assert.strictEqual(answer.status, 200)
      const refused = answer.order.filter((id) => answer.byId[id].status === 429)
      assert.strictEqual(refused.length, 2)
      for (const id of refused) {
        assert.strictEqual(answer.byId[id].headers["Retry-After"], "10")
        assert.strictEqual(answer.byId[id].body.error.code, "TooManyRequests")
      }
    }).pipe(Effect.provide(layer)))
})

describe("token buckets (identity resource units)", () => {
  const identity = (cost: number) =>
    demand({
      service: "identityAccess",
      family: "identityAndAccess",
      measure: "resourceUnits",
      costBasis: "identityResourceUnits",
      entryId: "identity.ru",
      key: "ru/app/tenant",
      limit: new Bucket.TokenBucketLimit({ capacity: 10, refillPerSecond: 1 }),
      cost
    })

  it.effect("charges resource units, reports the fill above 80% and names scope and reason on 429", () =>
    Effect.gen(function*() {
      const first = yield* send("GET", "/users")
      assert.strictEqual(first.headers["x-ms-resource-unit"], "3")
      assert.isUndefined(first.headers["x-ms-throttle-limit-percentage"], "30% is not reported")
      yield* send("GET", "/users")
      const third = yield* send("GET", "/users")
      assert.strictEqual(third.headers["x-ms-throttle-limit-percentage"], "0.9")
      const refused = yield* send("GET", "/users")
      assert.strictEqual(refused.status, 429)
      // One unit left, three needed, one unit per second.
      assert.strictEqual(refused.headers["retry-after"], "2")
      assert.strictEqual(refused.headers["x-ms-throttle-scope"], "Tenant_Application/ReadWrite/app-1/tenant-1")
      assert.strictEqual(refused.headers["x-ms-throttle-information"], "ResourceUnitLimitExceeded")
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* send("GET", "/users")).status, 200)
    }).pipe(Effect.provide(Emulator.layerTest({ appId: "app-1", tenantId: "tenant-1", classify: only(() => [identity(3)]) }))))

  it.effect("names the write limit when an identity write window refuses", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* send("POST", "/groups", { displayName: "a", mailNickname: "a" })).status, 201)
      const refused = yield* send("POST", "/groups", { displayName: "b", mailNickname: "b" })
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(refused.headers["x-ms-throttle-scope"], "Tenant/Write/app-1/tenant-1")
      assert.strictEqual(refused.headers["x-ms-throttle-information"], "WriteLimitExceeded")
    }).pipe(Effect.provide(Emulator.layerTest({
      appId: "app-1",
      tenantId: "tenant-1",
      classify: only((_, method) => method === "POST" ? [demand({ service: "identityAccess", family: "identityAndAccess", scope: "tenant", limit: window(1, 300_000) })] : [])
    }))))
})

describe("concurrency limits", () => {
  it.effect("refuses a request beyond the permits while others are in flight, and gives permits back", () =>
    Effect.gen(function*() {
      const fibers = yield* Effect.forEach([1, 2, 3], (i) => Effect.fork(send("GET", `/organization?i=${i}`)))
      yield* TestClock.adjust("1 second")
      const statuses = (yield* Effect.forEach(fibers, Fiber.join)).map((a) => a.status).sort()
      assert.deepStrictEqual(statuses, [200, 200, 429])
      const later = yield* Effect.fork(send("GET", "/organization"))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(later)).status, 200)
      assert.strictEqual((yield* Emulator.report).limitViolations, 0)
    }).pipe(Effect.provide(Emulator.layerTest({
      latency: { identity: { baseMillis: 200, jitterMillis: 0 } },
      classify: only(() => [demand({ limit: new Bucket.ConcurrencyLimit({ permits: 2 }) })])
    }))))
})

describe("per-resource limits", () => {
  it.effect("counts each channel separately", () =>
    Effect.gen(function*() {
      const message = { body: { content: "hi" } }
      assert.strictEqual((yield* send("POST", "/teams/t/channels/a/messages", message)).status, 201)
      assert.strictEqual((yield* send("POST", "/teams/t/channels/a/messages", message)).status, 429)
      assert.strictEqual((yield* send("POST", "/teams/t/channels/b/messages", message)).status, 201)
      const log = yield* Emulator.audit
      assert.deepStrictEqual(log.map((e) => e.bucketKeys[0]), ["channel/a", "channel/a", "channel/b"])
    }).pipe(Effect.provide(Emulator.layerTest({
      classify: only((url) => {
        const channel = /channels\/([^/]+)/.exec(url)?.[1]
        return channel === undefined ? [] : [demand({ scope: "channel", key: `channel/${channel}`, limit: window(1, 1_000) })]
      })
    }))))
})

describe("limits documented without Retry-After", () => {
  it.effect("answer 429 with Graph's body but no Retry-After header", () =>
    Effect.gen(function*() {
      yield* send("GET", "/identityProtection/riskyUsers")
      const refused = yield* send("GET", "/identityProtection/riskyUsers")
      assert.strictEqual(refused.status, 429)
      assert.isUndefined(refused.headers["retry-after"])
      assert.strictEqual(refused.json.error.code, "TooManyRequests")
      const inBatch = yield* batch([get("1", "/identityProtection/riskyUsers")])
      assert.strictEqual(inBatch.byId["1"].status, 429)
      assert.notProperty(inBatch.byId["1"].headers, "Retry-After")
    }).pipe(Effect.provide(Emulator.layerTest({
      classify: only(() => [demand({ service: "identityProtection", scope: "tenant", limit: window(1, 1_000), retryAfter: false })])
    }))))
})

describe("configuration", () => {
  const ten = only(() => [demand({ service: "outlook", limit: window(10, 60_000) })])
  const admittedOf = (options: Emulator.Emulator.Options) =>
    Effect.gen(function*() {
      const answers = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) => send("GET", `/organization?i=${i}`))
      return { admitted: answers.filter((a) => a.status === 200).length, report: yield* Emulator.report }
    }).pipe(Effect.provide(Emulator.layerTest({ classify: ten, ...options })))

  it.effect("a multiplier makes the server stricter or looser than documented; the audit still judges by the documented limit", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* admittedOf({})).admitted, 10)
      assert.strictEqual((yield* admittedOf({ multiplier: 0.5 })).admitted, 5)
      const loose = yield* admittedOf({ multiplier: { outlook: 2 } })
      assert.strictEqual(loose.admitted, 20)
      assert.strictEqual(loose.report.limitViolations, 10)
      assert.strictEqual((yield* admittedOf({ multiplier: { teams: 2 } })).admitted, 10, "other services are unaffected")
    }))

  it.effect("an override replaces an entry's enforced limit", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* admittedOf({ overrides: { "test.entry": window(3, 60_000) } })).admitted, 3)
    }))
})

describe("SharePoint and OneDrive headers", () => {
  it.effect("carry RateLimit-Limit, -Remaining and -Reset from 80% of the budget", () =>
    Effect.gen(function*() {
      const answers = yield* Effect.forEach(Array.from({ length: 11 }, (_, i) => i), (i) => send("GET", `/drives/d/items/x${i}`))
      assert.isUndefined(answers[6]!.headers["ratelimit-limit"], "70% is not reported")
      assert.strictEqual(answers[7]!.headers["ratelimit-limit"], "10")
      assert.strictEqual(answers[7]!.headers["ratelimit-remaining"], "2")
      assert.strictEqual(answers[7]!.headers["ratelimit-reset"], "60")
      assert.strictEqual(answers[10]!.status, 429)
      assert.strictEqual(answers[10]!.headers["ratelimit-remaining"], "0")
      assert.strictEqual(answers[10]!.headers["retry-after"], "60")
    }).pipe(Effect.provide(Emulator.layerTest({ filesLimit: window(10, 60_000) }))))
})

describe("invariants", () => {
  it.effect.prop(
    "with documented limits enforced, no traffic pattern produces a limit violation, and excess traffic is refused",
    [FastCheck.array(FastCheck.record({ gap: FastCheck.integer({ min: 0, max: 1500 }), burst: FastCheck.integer({ min: 1, max: 6 }) }), { minLength: 1, maxLength: 25 })],
    ([steps]) =>
      Effect.gen(function*() {
        for (const { gap, burst } of steps) {
          yield* TestClock.adjust(`${gap} millis`)
          yield* batch(Array.from({ length: burst }, (_, i) => get(String(i), `/organization?b=${i}`)))
        }
        const log = yield* Emulator.audit
        assert.strictEqual(Audit.limitViolations(log), 0)
        const total = steps.reduce((n, s) => n + s.burst, 0)
        const admitted = log.filter((e) => e.admitted).length
        assert.strictEqual(admitted + log.filter((e) => e.status === 429).length, total)
        // Whenever more than 6 requests fall inside one 2-second window, some must have been refused.
        let t = 0
        const times = steps.map((s) => (t += s.gap))
        const crowded = times.some((tj) => steps.reduce((n, s, i) => (times[i]! > tj - 2_000 && times[i]! <= tj ? n + s.burst : n), 0) > 6)
        if (crowded) assert.isBelow(admitted, total)
      }).pipe(Effect.provide(Emulator.layerTest({
        classify: only(() => [
          demand({ entryId: "w", limit: window(6, 2_000) }),
          demand({ entryId: "tb", limit: new Bucket.TokenBucketLimit({ capacity: 8, refillPerSecond: 2 }) })
        ])
      }))),
    { fastCheck: { numRuns: 25 } }
  )
})
