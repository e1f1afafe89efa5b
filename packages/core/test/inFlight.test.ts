import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, TestClock } from "effect"
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

describe("inFlight: the opening under a pacing admission", () => {
  it("opens to the calls held and waiting, up to openUpTo (a quarter of the ceiling), never lower, only while opening", () => {
    expect(t.openUpTo).toBe(16)
    const s = inFlight.initial(4, t, true)
    expect(inFlight.opened(s, 12, t).limit).toBe(12)
    // onboarding's first wave: 26 batches admitted at once, 16 of them in flight
    expect(inFlight.opened(s, 26, t).limit).toBe(16)
    expect(inFlight.opened(inFlight.opened(s, 12, t), 10, t).limit).toBe(12)
    // not opening (an admission that does not pace, or after a sign of load): demand changes nothing
    expect(inFlight.opened(inFlight.initial(4, t), 26, t).limit).toBe(4)
  })

  it("a 429 under a pacing admission ends the opening where the limit is and never cuts it: the Throttler holds the bucket that refused", () => {
    const open = inFlight.opened(inFlight.initial(4, t, true), 30, t)
    const refused = inFlight.step(open, { kind: "k", millis: 100, saturated: true, throttled: true, inFlight: 16 }, t)
    expect(refused.opening).toBe(false)
    expect(refused.limit).toBe(16)
    // more 429s, round trip after round trip, leave it where it is
    const held = feed(refused, 100, () => ({ throttled: true, saturated: false, inFlight: 16 }))
    expect(held.limit).toBe(16)
    // demand no longer raises it
    expect(inFlight.opened(held, 30, t).limit).toBe(16)
  })

  it("a 503 or 504 while opening drops the limit back to where it started and ends the opening", () => {
    const open = inFlight.opened(inFlight.initial(4, t, true), 30, t)
    const cut = inFlight.step(open, { kind: "k", millis: 100, saturated: true, throttled: true, overloaded: true, inFlight: 16 }, t)
    expect(cut.opening).toBe(false)
    expect(cut.limit).toBe(4)
    // the other 15 calls sent before the cut do not cut it again; after them, the usual backoff
    const held = feed(cut, 15, () => ({ throttled: true, overloaded: true, inFlight: 15 }))
    expect(held.limit).toBe(4)
    expect(feed(held, 1, () => ({ throttled: true, overloaded: true, inFlight: 4 })).limit).toBeCloseTo(4 * t.backoff)
    // demand no longer raises it
    expect(inFlight.opened(held, 30, t).limit).toBe(4)
  })

  it("latency above growBelow ends the opening where the limit is", () => {
    const open = inFlight.opened(inFlight.initial(4, t, true), 12, t)
    const fast = feed(open, 40, () => ({ saturated: false, inFlight: 12 }))
    expect(fast.opening).toBe(true)
    expect(fast.limit).toBe(12)
    // Graph slows down (ratio between growBelow and shrinkAbove): the opening ends, the limit holds
    let slow = fast
    while (slow.opening) slow = feed(slow, 1, () => ({ millis: 180, inFlight: 12 }))
    expect(slow.ratio).toBeGreaterThan(t.growBelow)
    expect(slow.limit).toBe(12)
    expect(inFlight.opened(slow, 30, t).limit).toBe(12)
  })

  it("below openUpTo the opening limit follows demand, not answers; from openUpTo it grows as usual", () => {
    const open = inFlight.opened(inFlight.initial(4, t, true), 10, t)
    expect(feed(open, 50, () => ({ inFlight: 10 })).limit).toBe(10)
    const top = inFlight.opened(open, 100, t)
    expect(top.limit).toBe(16)
    const grown = feed(top, 16, () => ({ inFlight: 16 }))
    expect(grown.limit).toBeGreaterThan(16.9)
    expect(grown.limit).toBeLessThan(18)
  })

  it.prop("opening never leaves the bounds, never lowers the limit, never passes openUpTo", [
    fc.integer({ min: 1, max: 200 }),
    fc.integer({ min: 1, max: 64 }),
    fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 50 })
  ], ([max, start, demands]) => {
    const tuning = inFlight.tuning(max)
    let s = inFlight.initial(start, tuning, true)
    for (const demand of demands) {
      const next = inFlight.opened(s, demand, tuning)
      expect(next.limit).toBeGreaterThanOrEqual(s.limit)
      expect(next.limit).toBeLessThanOrEqual(Math.max(s.limit, tuning.openUpTo))
      expect(next.limit).toBeLessThanOrEqual(max)
      s = next
    }
  })

  it.effect("the gate: a pacing admission's 12 admitted batches go at once; otherwise 4 at a time", () =>
    Effect.gen(function*() {
      const wave = (paced: boolean) =>
        Effect.gen(function*() {
          const gate = yield* inFlight.make({ _tag: "Adaptive", initial: 4, tuning: t }, { paced })
          const calls = Effect.forEach(
            Array.from({ length: 12 }, () => gate.withSlot(Effect.sleep("200 millis"))),
            (call) => call,
            { concurrency: "unbounded", discard: true }
          )
          const fiber = yield* Effect.fork(calls)
          yield* TestClock.adjust("200 millis")
          const firstRoundTrip = gate.peak
          yield* TestClock.adjust("2 seconds")
          yield* fiber.await
          return { firstRoundTrip, limit: gate.limit }
        })
      expect(yield* wave(true)).toEqual({ firstRoundTrip: 12, limit: 12 })
      expect(yield* wave(false)).toEqual({ firstRoundTrip: 4, limit: 4 })
    }))
})
