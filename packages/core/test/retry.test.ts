import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule, TestClock } from "effect"
import * as retry from "../src/internal/client/retry.js"

const policy = (overrides: Partial<retry.RetryPolicy> = {}): retry.RetryPolicy => ({
  maxAttempts: 3,
  maxRetryMillis: 60_000,
  idempotent: retry.defaultIdempotent,
  backoff: Schedule.spaced(Duration.seconds(2)),
  ...overrides
})

describe("retry: whether a request is resent", () => {
  it("an item's status: 429 and 509 did not run, 503 and 504 may have, any other is its outcome", () => {
    expect([429, 509, 503, 504, 500, 404, 200].map(retry.fateOfStatus)).toEqual(["no", "no", "maybe", "maybe", undefined, undefined, undefined])
  })

  it("a failed batch: a 4xx other than 429 is rejected, a 429 or a call that never left did not run, the rest may have", () => {
    expect(retry.fateOfBatchError({ _tag: "BatchRejected", status: 400 })).toBe("rejected")
    expect(retry.fateOfBatchError({ _tag: "BatchRejected", status: 429 })).toBe("no")
    expect(retry.fateOfBatchError({ _tag: "BatchTransportError", sent: false })).toBe("no")
    expect(retry.fateOfBatchError({ _tag: "BatchTransportError", sent: true })).toBe("maybe")
    expect(retry.fateOfBatchError({ _tag: "BatchServerError", status: 503 })).toBe("maybe")
    expect(retry.fateOfBatchError({ _tag: "BatchDecodeError" })).toBe("maybe")
  })

  it("a request's own marker overrides the method rule", () => {
    expect(retry.resendable(policy(), "GET", undefined)).toBe(true)
    expect(retry.resendable(policy(), "post", undefined)).toBe(false)
    expect(retry.resendable(policy(), "POST", true)).toBe(true)
    expect(retry.resendable(policy(), "GET", false)).toBe(false)
  })

  it("an unknown outcome spreads to dependents that may have run, not to those that did not run", () => {
    const dependencies = (id: string) => (id === "b" || id === "c" ? ["a"] : id === "d" ? ["b"] : [])
    const unknown = retry.unknownOutcomes(
      [
        { id: "a", ran: "maybe", resendable: false },
        { id: "b", ran: "maybe", resendable: true },
        { id: "c", ran: "no", resendable: true },
        { id: "d", ran: "maybe", resendable: true },
        { id: "e", ran: "maybe", resendable: true }
      ],
      dependencies
    )
    expect([...unknown].sort()).toEqual(["a", "b", "d"])
  })
})

describe("retry: when a request is resent", () => {
  it.effect("Retry-After first, else the backoff; the attempts bound both", () =>
    Effect.gen(function*() {
      const ledger = new retry.Ledger(policy(), Infinity)
      ledger.sending("r", 0)
      expect(yield* ledger.decide("r", 429, { "retry-after": "7" })).toEqual({ _tag: "Resend", at: 7_000, retryAfterMillis: 7_000 })
      expect(ledger.waitMillis(["r"], 1_000)).toBe(6_000)
      expect(ledger.lastAnswer("r")).toEqual({ status: 429, retryAfterMillis: 7_000 })
      yield* TestClock.adjust("7 seconds")
      ledger.sending("r", 7_000)
      expect(yield* ledger.decide("r", 503, {})).toEqual({ _tag: "Resend", at: 9_000, retryAfterMillis: undefined })
      ledger.sending("r", 9_000)
      expect(yield* ledger.decide("r", 429, { "retry-after": "1" })).toEqual({ _tag: "GiveUp", reason: "Attempts", retryAfterMillis: 1_000 })
    }))

  it.effect("a 424 caused by packing is not an attempt", () =>
    Effect.gen(function*() {
      const ledger = new retry.Ledger(policy({ maxAttempts: 1 }), Infinity)
      ledger.sending("r", 0)
      ledger.uncount("r")
      expect(ledger.attempts("r")).toBe(0)
      expect((yield* ledger.decide("r", 429, {}))._tag).toBe("Resend")
    }))

  it.effect("a resend past maxRetryTime or the deadline is given up now, with the bound that comes first", () =>
    Effect.gen(function*() {
      const late = new retry.Ledger(policy({ maxRetryMillis: 10_000 }), Infinity)
      late.sending("r", 0)
      expect(yield* late.decide("r", 429, { "retry-after": "11" })).toEqual({ _tag: "GiveUp", reason: "RetryTime", retryAfterMillis: 11_000 })
      const bounded = new retry.Ledger(policy({ maxRetryMillis: 10_000 }), 5_000)
      bounded.sending("r", 0)
      expect(yield* bounded.decide("r", 429, { "retry-after": "6" })).toEqual({ _tag: "GiveUp", reason: "Deadline", retryAfterMillis: 6_000 })
      expect(bounded.lastAnswer("r")).toBeUndefined()
    }))

  it.effect("a backoff schedule that is done gives up", () =>
    Effect.gen(function*() {
      const ledger = new retry.Ledger(policy({ backoff: Schedule.recurs(1) }), Infinity)
      ledger.sending("r", 0)
      expect((yield* ledger.decide("r", 503, undefined))._tag).toBe("Resend")
      ledger.sending("r", 0)
      expect(yield* ledger.decide("r", 503, undefined)).toEqual({ _tag: "GiveUp", reason: "Attempts", retryAfterMillis: undefined })
    }))

  it.effect("a settled request leaves nothing in the ledger", () =>
    Effect.gen(function*() {
      const ledger = new retry.Ledger(policy(), Infinity)
      ledger.sending("r", 0)
      yield* ledger.decide("r", 503, undefined)
      expect(ledger.held()).toEqual({ attempts: 1, firstSent: 1, notBefore: 1, schedules: 1 })
      ledger.forget("r")
      expect(ledger.held()).toEqual({ attempts: 0, firstSent: 0, notBefore: 0, schedules: 0 })
    }))
})
