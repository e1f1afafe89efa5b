import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, FastCheck, Option, TestClock } from "effect"
import * as RetryAfter from "../src/RetryAfter.js"

const now = Date.UTC(2025, 0, 14, 12, 0, 0)

describe("RetryAfter.parse", () => {
  it("reads an integer number of seconds (current throttling guidance: `Retry-After: 10`)", () => {
    expect(RetryAfter.parse("10")).toEqual(Either.right({ _tag: "Delay", millis: 10_000 }))
  })

  it("reads decimal seconds (older guidance: `Retry-After: 2.128`) without losing the fraction", () => {
    expect(RetryAfter.parse("2.128")).toEqual(Either.right({ _tag: "Delay", millis: 2128 }))
  })

  it("ignores surrounding whitespace", () => {
    expect(RetryAfter.parse("  7 ")).toEqual(Either.right({ _tag: "Delay", millis: 7000 }))
  })

  it("reads an IMF-fixdate HTTP-date", () => {
    expect(RetryAfter.parse("Tue, 14 Jan 2025 12:00:30 GMT", now)).toEqual(
      Either.right({ _tag: "At", epochMillis: now + 30_000 })
    )
  })

  it("reads the obsolete RFC 850 date, placing the two-digit year in the right century", () => {
    expect(RetryAfter.parse("Tuesday, 14-Jan-25 12:01:00 GMT", now)).toEqual(
      Either.right({ _tag: "At", epochMillis: now + 60_000 })
    )
    // 94 is more than 50 years ahead of 2025 when read as 2094, so it is 1994.
    expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now)).toEqual(
      Either.right({ _tag: "At", epochMillis: Date.UTC(1994, 10, 6, 8, 49, 37) })
    )
  })

  it("reads the asctime date, including a space-padded day", () => {
    expect(RetryAfter.parse("Sun Nov  6 08:49:37 1994", now)).toEqual(
      Either.right({ _tag: "At", epochMillis: Date.UTC(1994, 10, 6, 8, 49, 37) })
    )
  })

  it("rejects negative numbers, exponents, garbage and impossible dates with a typed error", () => {
    for (const value of ["-1", "1e3", "soon", "", "Fri, 30 Feb 2024 00:00:00 GMT", "Tue, 14 Jan 2025 25:00:00 GMT"]) {
      const result = RetryAfter.parse(value, now)
      expect(Either.isLeft(result), value).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("InvalidRetryAfter")
        expect(result.left.value).toBe(value)
      }
    }
  })

  it.prop("every non-negative number of milliseconds written as decimal seconds reads back exactly", [
    FastCheck.integer({ min: 0, max: 10_000_000 })
  ], ([millis]) => {
    const text = (millis / 1000).toFixed(3)
    const parsed = RetryAfter.parse(text)
    expect(Either.isRight(parsed)).toBe(true)
    if (Either.isRight(parsed) && parsed.right._tag === "Delay") {
      expect(Math.round(parsed.right.millis)).toBe(millis)
    }
  })

  it.prop("every instant written as an IMF-fixdate reads back to the same second", [
    FastCheck.integer({ min: 0, max: 4_102_444_800 })
  ], ([epochSeconds]) => {
    const text = new Date(epochSeconds * 1000).toUTCString()
    expect(RetryAfter.parse(text, now)).toEqual(Either.right({ _tag: "At", epochMillis: epochSeconds * 1000 }))
  })
})

describe("RetryAfter.delayMillis", () => {
  it("measures a date against the arrival time and never goes negative", () => {
    expect(RetryAfter.delayMillis({ _tag: "At", epochMillis: now + 5000 }, now)).toBe(5000)
    expect(RetryAfter.delayMillis({ _tag: "At", epochMillis: now - 5000 }, now)).toBe(0)
    expect(RetryAfter.delayMillis({ _tag: "Delay", millis: 2128 }, now)).toBe(2128)
    expect(RetryAfter.untilMillis({ _tag: "Delay", millis: 2128 }, now)).toBe(now + 2128)
  })
})

describe("RetryAfter.fromHeaders", () => {
  it("finds the header whatever its case, as batch items spell it `retry-after`", () => {
    expect(RetryAfter.fromHeaders({ "retry-after": "3" })).toEqual(Option.some({ _tag: "Delay", millis: 3000 }))
    expect(RetryAfter.fromHeaders({ "RETRY-AFTER": "3" })).toEqual(Option.some({ _tag: "Delay", millis: 3000 }))
  })

  it("treats an absent or unparseable header as no Retry-After, so the caller backs off on its own", () => {
    expect(RetryAfter.fromHeaders({ "content-type": "application/json" })).toEqual(Option.none())
    expect(RetryAfter.fromHeaders({ "Retry-After": "later" })).toEqual(Option.none())
    expect(RetryAfter.fromHeaders(undefined)).toEqual(Option.none())
  })

  it.effect("measures an HTTP-date against the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      const delay = yield* RetryAfter.delayFromHeaders({ "Retry-After": "Tue, 14 Jan 2025 12:00:45 GMT" })
      expect(Option.map(delay, Duration.toMillis)).toEqual(Option.some(45_000))
    }))
})
