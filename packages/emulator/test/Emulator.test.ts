import { Bucket } from "@effect-msgraph/spec"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, FastCheck } from "effect"
import { send } from "./utils/graph.js"

const window = (limit: number, windowMillis: number) => new Bucket.WindowLimit({ limit, windowMillis })

describe("Emulator tag", () => {
  it("is a Context.Tag class with a namespaced key, found under its exported name", () => {
    assert.strictEqual(Emulator.Emulator.key, "@effect-msgraph/emulator/Emulator")
    assert.isTrue(Context.isTag(Emulator.Emulator))
  })

  it.effect("the service built by make is what the layer provides under the tag", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      assert.strictEqual(yield* emulator.userCount, yield* Effect.flatMap(Emulator.Emulator, (e) => e.userCount))
      assert.deepStrictEqual(yield* Emulator.audit, [])
    }).pipe(Effect.provide(Emulator.layerTest())))
})

describe("scaleLimit", () => {
  it("scales counts down to whole numbers of at least 1, and token buckets proportionally", () => {
    assert.strictEqual((Emulator.scaleLimit(window(10, 60_000), 0.25) as Bucket.WindowLimit).limit, 2)
    assert.strictEqual((Emulator.scaleLimit(window(10, 60_000), 0.01) as Bucket.WindowLimit).limit, 1)
    assert.strictEqual((Emulator.scaleLimit(window(10, 60_000), 0.25) as Bucket.WindowLimit).windowMillis, 60_000)
    const bucket = Emulator.scaleLimit(new Bucket.TokenBucketLimit({ capacity: 3_500, refillPerSecond: 1_750 }), 0.5) as Bucket.TokenBucketLimit
    assert.deepStrictEqual([bucket.capacity, bucket.refillPerSecond], [1_750, 875])
    assert.strictEqual((Emulator.scaleLimit(new Bucket.ConcurrencyLimit({ permits: 4 }), 0.3) as Bucket.ConcurrencyLimit).permits, 1)
    const same = window(7, 1_000)
    assert.strictEqual(Emulator.scaleLimit(same, 1), same)
  })

  it.effect.prop(
    "the emulator admits exactly the scaled window limit before its first 429",
    { limit: FastCheck.integer({ min: 1, max: 12 }), m: FastCheck.double({ min: 0.05, max: 2, noNaN: true }) },
    ({ limit, m }) =>
      Effect.gen(function*() {
        const scaled = Emulator.scaleLimit(window(limit, 60_000), m) as Bucket.WindowLimit
        let admitted = 0
        for (let i = 0; i < 30; i++) {
          if ((yield* send("GET", `/organization?i=${i}`)).status !== 200) break
          admitted++
        }
        assert.strictEqual(admitted, Math.min(30, scaled.limit))
      }).pipe(Effect.provide(Emulator.layerTest({
        multiplier: m,
        classify: () => [
          new Bucket.Demand({ key: "k", entryId: "test.entry", service: "test", scope: "appTenant", cost: 1, retryAfter: true, limit: window(limit, 60_000) })
        ]
      }))),
    { fastCheck: { numRuns: 15 } }
  )
})

describe("serviceOf", () => {
  it("names the service whose latency model a request gets, for relative and absolute URLs", () => {
    assert.strictEqual(Emulator.serviceOf("/users"), "identity")
    assert.strictEqual(Emulator.serviceOf("/users/abc/messages?$top=5"), "outlook")
    assert.strictEqual(Emulator.serviceOf("https://graph.microsoft.com/v1.0/me/mailFolders/inbox"), "outlook")
    assert.strictEqual(Emulator.serviceOf("/teams/t1/channels"), "teams")
    assert.strictEqual(Emulator.serviceOf("/sites/root/drive"), "files")
    assert.strictEqual(Emulator.serviceOf("/subscribedSkus"), "identity")
  })

  it("counts a response reference as one segment, though its JSON pointer has slashes", () => {
    assert.strictEqual(Emulator.serviceOf("/users/{{create-1#/body/id}}/sendMail"), "outlook")
    assert.strictEqual(Emulator.serviceOf("/users/{{create-1#/body/userPrincipalName}}/assignLicense"), "identity")
  })
})
