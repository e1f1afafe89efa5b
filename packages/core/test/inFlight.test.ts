import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as inFlight from "../src/internal/client/inFlight.js"

const t = inFlight.tuning(64)

/** Feeds `n` answers of one kind, each taking `millis(limit)` given the state before it. */
const feed = (
  state: inFlight.State,
  n: number,
  answer: (state: inFlight.State, i: number) => Partial<inFlight.Answer>,
  tuning: inFlight.Tuning = t
): inFlight.State => {
  let s = state
  for (let i = 0; i < n; i++) {
    s = inFlight.step(s, { kind: "k", millis: 100, saturated: true, throttled: false, inFlight: inFlight.permits(s), ...answer(s, i) }, tuning)
  }
  return s
}

describe("inFlight: the adaptive limit", () => {
  it("starts where it is told, within its bounds", () => {
    expect(inFlight.initial(4, t).limit).toBe(4)
    expect(inFlight.initial(0, t).limit).toBe(1)
    expect(inFlight.initial(500, t).limit).toBe(64)
  })

  it("grows by about one per round trip while saturated and as fast as ever", () => {
    // a round trip at limit L is L answers
    let s = inFlight.initial(4, t)
    for (let roundTrip = 0; roundTrip < 10; roundTrip++) s = feed(s, inFlight.permits(s), () => ({}))
    expect(s.limit).toBeGreaterThan(12)
    expect(s.limit).toBeLessThan(15)
  })

  it("does not grow when the gate is not saturated: the limit is not what holds work back", () => {
    const s = feed(inFlight.initial(4, t), 200, () => ({ saturated: false }))
    expect(s.limit).toBe(4)
  })

  it("shrinks when round trips grow well above the least seen", () => {
    const fast = feed(inFlight.initial(20, t), 50, () => ({ saturated: false }))
    const slow = feed(fast, 100, () => ({ millis: 500, saturated: true }))
    expect(slow.ratio).toBeGreaterThan(t.shrinkAbove)
    expect(slow.limit).toBeLessThan(fast.limit / 2)
  })

  it("holds between growBelow and shrinkAbove", () => {
    const fast = feed(inFlight.initial(20, t), 50, () => ({ saturated: false }))
    // once the ratio has risen past growBelow (it grows a little on the way), it stays put
    const risen = feed(fast, 50, () => ({ millis: 175, saturated: true }))
    const steady = feed(risen, 200, () => ({ millis: 175, saturated: true }))
    expect(steady.ratio).toBeGreaterThan(t.growBelow)
    expect(steady.ratio).toBeLessThanOrEqual(t.shrinkAbove)
    expect(steady.limit).toBe(risen.limit)
  })

  it("a 429, 503 or 504 cuts it by the backoff, once per round trip", () => {
    const s = feed(inFlight.initial(20, t), 20, () => ({ saturated: false }))
    // the first throttled answer of a window of 20 calls cuts; the other 19 were sent before the cut
    const cut = feed(s, 20, () => ({ throttled: true, inFlight: 20, saturated: false }))
    expect(cut.limit).toBeCloseTo(20 * t.backoff)
    const again = feed(cut, 1, () => ({ throttled: true, inFlight: 14, saturated: false }))
    expect(again.limit).toBeCloseTo(20 * t.backoff * t.backoff)
  })

  it("judges latency per kind of batch: a slower kind of batch is not load", () => {
    // fast single requests, then slow serial batches, interleaved: each kind against its own least
    let s = inFlight.initial(10, t)
    for (let i = 0; i < 400; i++) {
      const kind = i % 2 === 0 ? "single" : "serial"
      s = inFlight.step(s, { kind, millis: kind === "single" ? 80 : 2_000, saturated: true, throttled: false, inFlight: 10 }, t)
    }
    expect(s.ratio).toBeCloseTo(1)
    expect(s.limit).toBeGreaterThan(10)
  })

  it.prop("never leaves its bounds, whatever it is told", [
    fc.integer({ min: 1, max: 200 }),
    fc.integer({ min: 1, max: 64 }),
    fc.array(
      fc.record({
        kind: fc.constantFrom("a", "b", "c"),
        millis: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(Number.NaN), fc.constant(Infinity)),
        saturated: fc.boolean(),
        throttled: fc.boolean(),
        inFlight: fc.integer({ min: 0, max: 300 })
      }),
      { maxLength: 300 }
    )
  ], ([max, start, answers]) => {
    const tuning = inFlight.tuning(max)
    let s = inFlight.initial(start, tuning)
    for (const answer of answers) {
      s = inFlight.step(s, answer, tuning)
      expect(s.limit).toBeGreaterThanOrEqual(1)
      expect(s.limit).toBeLessThanOrEqual(max)
      expect(inFlight.permits(s)).toBeGreaterThanOrEqual(1)
      expect(inFlight.permits(s)).toBeLessThanOrEqual(max)
    }
  })

  it.prop("grows only when saturated, not throttled and not slower than growBelow", [
    fc.array(
      fc.record({ millis: fc.integer({ min: 1, max: 5_000 }), saturated: fc.boolean(), throttled: fc.boolean() }),
      { minLength: 1, maxLength: 200 }
    )
  ], ([answers]) => {
    let s = inFlight.initial(4, t)
    for (const answer of answers) {
      const next = inFlight.step(s, { kind: "k", inFlight: 4, ...answer }, t)
      if (next.limit > s.limit) {
        expect(answer.saturated).toBe(true)
        expect(answer.throttled).toBe(false)
        expect(next.ratio).toBeLessThanOrEqual(t.growBelow)
      }
      if (answer.throttled && next.answers > s.recoverUntil) expect(next.limit).toBeLessThanOrEqual(Math.max(1, s.limit * t.backoff) + 1e-9)
      s = next
    }
  })

  it("kinds: shape, size by powers of two and the resource of the first item, ids left out", () => {
    const a = inFlight.kindOf("parallel", 20, "/users/6f1c1b7e-0000-4000-8000-000000000001/messages?$top=5")
    const b = inFlight.kindOf("parallel", 20, "https://graph.microsoft.com/v1.0/users/someone@contoso.com/messages")
    expect(a).toBe("parallel:32:users/messages")
    expect(inFlight.kindOf("parallel", 17, "/users/x1/messages")).toBe(a)
    expect(b).toBe(a)
    expect(inFlight.kindOf("serial", 20, "/users/x1/messages")).not.toBe(a)
    expect(inFlight.kindOf("parallel", 3, "/users/6f1c1b7e-0000-4000-8000-000000000001/messages")).not.toBe(a)
    expect(inFlight.kindOf("parallel", 20, "/teams/a1/channels/b2/messages")).toBe("parallel:32:teams/messages")
  })
})
