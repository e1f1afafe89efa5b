import { Latency } from "@effect-msgraph/emulator"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Calibration from "../src/Calibration.js"

/** The exact q-quantile by the rank the histogram uses: the value at rank floor(q·(n−1)). */
const exact = (values: ReadonlyArray<number>, q: number) => [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))]!

describe("Calibration.Histogram", () => {
  it.prop(
    "every quantile is within 0.25% (or 0.01 ms) of the exact one",
    [fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 500 }), fc.double({ min: 0, max: 1, noNaN: true })],
    ([values, q]) => {
      const h = new Calibration.Histogram()
      for (const v of values) h.add(v)
      const want = exact(values, q)
      const got = h.quantile(q)
      return want < 0.01 ? got < 0.01006 : Math.abs(got - want) <= 0.00251 * want
    }
  )

  it("memory stays bounded: a million distinct values use at most 4,157 bins", () => {
    const h = new Calibration.Histogram()
    for (let i = 0; i < 1_000_000; i++) h.add(i * 0.37)
    assert.strictEqual(h.count, 1_000_000)
    assert.isAtMost(h.size, 4_157)
    assert.closeTo(h.quantile(0.5), 500_000 * 0.37, 0.0025 * 500_000 * 0.37)
  })
})

describe("Calibration.Observer", () => {
  it("splits fixed round-trip and item latencies exactly from sequential calls of different depths", () => {
    const o = new Calibration.Observer()
    for (let k = 1; k <= 20; k++) o.call({ durationMs: 30 + 12 * k, sequential: true, services: Array(k).fill("outlook") })
    for (let k = 1; k <= 5; k++) o.call({ durationMs: 30 + 50 * k, sequential: true, services: Array(k).fill("files") })
    const seen = o.observed()
    assert.strictEqual(seen.calls.count, 25)
    // each call's duration is kept within 0.25% (0.7 ms at 270 ms): so are the estimates
    assert.closeTo(seen.roundTrip.p50, 30, 0.7)
    assert.closeTo(seen.roundTrip.p99, 30, 0.7)
    assert.closeTo(seen.services.outlook!.p50, 12, 0.25)
    assert.closeTo(seen.services.outlook!.p99, 12, 0.25)
    assert.strictEqual(seen.services.outlook!.count, 210)
    assert.closeTo(seen.services.files!.p50, 50, 1)
    assert.isUndefined(seen.services.teams)
  })

  it("counts a parallel call's Outlook items four at a time, and leaves out items answered 429", () => {
    const o = new Calibration.Observer()
    // 20 items in lanes of 4: 5 latencies end to end; 1 item: one
    for (let i = 0; i < 10; i++) o.call({ durationMs: 40 + 5 * 15, sequential: false, services: Array(20).fill("outlook") })
    for (let i = 0; i < 10; i++) o.call({ durationMs: 40 + 15, sequential: false, services: ["outlook"] })
    // every item throttled: the call is a round trip alone
    for (let i = 0; i < 10; i++) o.call({ durationMs: 40, sequential: false, services: [] })
    const seen = o.observed()
    assert.closeTo(seen.roundTrip.p50, 40, 0.8)
    assert.closeTo(seen.services.outlook!.p50, 15, 0.3)
  })

  it("when every call has the same shape, the split leans on the realistic defaults", () => {
    const o = new Calibration.Observer()
    for (let i = 0; i < 50; i++) o.call({ durationMs: 300, sequential: true, services: ["identity", "identity"] })
    const seen = o.observed()
    // duration = roundTrip + 2 × identity still holds
    assert.closeTo(seen.roundTrip.p50 + 2 * seen.services.identity!.p50, 300, 6)
    assert.isAbove(seen.roundTrip.p50, 0)
  })
})

describe("Calibration profiles", () => {
  it("a model from quantiles keeps the uniform's p50 and p90, and its mean when the base would be negative", () => {
    assert.deepStrictEqual(Calibration.modelOf({ count: 9, p50: 100, p90: 140, p99: 149 }), { baseMillis: 50, jitterMillis: 100 })
    assert.deepStrictEqual(Calibration.modelOf({ count: 9, p50: 10, p90: 10, p99: 10 }), { baseMillis: 10, jitterMillis: 0 })
    assert.deepStrictEqual(Calibration.modelOf({ count: 9, p50: 10, p90: 50, p99: 60 }), { baseMillis: 0, jitterMillis: 20 })
  })

  it("services the calibration did not see keep the realistic defaults", () => {
    const profile = Calibration.toProfile({
      calls: { count: 3, p50: 1, p90: 1, p99: 1 },
      roundTrip: { count: 3, p50: 7, p90: 7, p99: 7 },
      services: { outlook: { count: 3, p50: 9, p90: 9, p99: 9 } }
    })
    assert.deepStrictEqual(profile.roundTrip, { baseMillis: 7, jitterMillis: 0 })
    assert.deepStrictEqual(profile.services.outlook, { baseMillis: 9, jitterMillis: 0 })
    assert.deepStrictEqual(profile.services.teams, Latency.realistic.services.teams)
  })

  const loadText = (text: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "calibration-"))
    const file = path.join(dir, "report.json")
    fs.writeFileSync(file, text)
    return Calibration.load(file).pipe(Effect.either, Effect.provide(NodeFileSystem.layer))
  }

  it.effect("a file that is not JSON, or has no valid observedLatency, is InvalidLatencyFile naming the field", () =>
    Effect.gen(function*() {
      const notJson = yield* loadText("{oops")
      assert.isTrue(notJson._tag === "Left" && notJson.left._tag === "InvalidLatencyFile" && /not JSON/.test(notJson.left.message))
      const missing = yield* loadText(JSON.stringify({ command: "run" }))
      assert.isTrue(missing._tag === "Left" && /observedLatency/.test(missing.left.message))
      const q = { count: 1, p50: 5, p90: 4, p99: 6 }
      const unordered = yield* loadText(JSON.stringify({ observedLatency: { calls: q, roundTrip: { ...q, p90: 5 }, services: {} } }))
      assert.isTrue(unordered._tag === "Left" && /p50 ≤ p90 ≤ p99/.test(unordered.left.message))
      const good = yield* loadText(JSON.stringify({ observedLatency: { calls: { ...q, p90: 5 }, roundTrip: { ...q, p90: 5 }, services: {} } }))
      assert.isTrue(good._tag === "Right")
    }))
})
