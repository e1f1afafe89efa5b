import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as estimate from "../src/internal/throttle/limitEstimate.js"

/** A sliding window of timestamps: how many fall in `(now - window, now]`. */
class Window {
  private readonly times: Array<number> = []
  private head = 0
  constructor(readonly millis: number) {}
  count(now: number): number {
    while (this.head < this.times.length && this.times[this.head]! <= now - this.millis) this.head++
    if (this.head > 4096) {
      this.times.splice(0, this.head)
      this.head = 0
    }
    return this.times.length - this.head
  }
  add(now: number): void {
    this.times.push(now)
  }
  /** When the oldest entry leaves the window. */
  frees(now: number): number {
    this.count(now)
    return this.head < this.times.length ? this.times[this.head]! + this.millis : now
  }
}

interface Run {
  readonly sent: number
  readonly throttled: number
  /** 429s in the last `tail` windows. */
  readonly throttledInTail: number
  readonly episodes: number
  /**
   * Requests Graph accepted in the last `tail` windows, per window, as a share of the most any client
   * could get accepted: Graph's real limit, or what `inFlight` requests per round trip carry if less.
   */
  readonly tailEfficiency: number
  /** Requests Graph accepted in the last `tail` windows. */
  readonly acceptedInTail: number
  /** The denominator of `tailEfficiency`: Graph's real limit, or what `inFlight` carries, over `tail` windows. */
  readonly reachableInTail: number
  readonly final: estimate.Estimate
}

/**
 * A client with unlimited work, `inFlight` requests at most in flight, applying the estimate to its own
 * sliding window of `documented` requests per `window`, against Graph enforcing `real` requests per
 * window. A request reaches Graph `latency` after it is sent, and its answer comes back `latency`
 * later; a 429 carries Retry-After (when Graph's window frees a place), until which the client sends
 * nothing, as the Throttler pauses a bucket.
 */
const simulate = (p: {
  readonly documented: number
  readonly real: number
  readonly window: number
  readonly latency: number
  readonly inFlight: number
  readonly windows: number
  readonly tail: number
  readonly measured: boolean
  /** The client is told the real limit (its share of the documented one) and learns nothing. */
  readonly told?: boolean
  /** The Throttler's window details with each measured 429 (the episode's later refusals count). */
  readonly windowed?: boolean
}): Run => {
  const own = new Window(p.window)
  const graph = new Window(p.window)
  const arrivals: Array<number> = [] // send times of requests on their way, in order
  const answers: Array<{ at: number; sentAt: number; ok: boolean; retryAt: number }> = []
  let pausedUntil = 0
  const told = p.told === true ? { ...estimate.initial(0), factor: p.real / p.documented } : undefined
  let est = told ?? estimate.initial(0)
  let sent = 0, throttled = 0, throttledInTail = 0, episodes = 0, acceptedInTail = 0
  const end = p.window * p.windows
  const tailFrom = end - p.window * p.tail
  const step = Math.max(1, Math.min(p.latency / 2, p.window / 200))
  for (let now = 0; now < end; now += step) {
    // answers that come back now
    while (answers.length > 0 && answers[0]!.at <= now) {
      const answer = answers.shift()!
      if (told !== undefined) continue
      if (answer.ok) est = estimate.succeeded(est, now, p.window)
      else {
        const before = est
        est = estimate.throttled(
          est,
          now,
          answer.sentAt,
          p.measured ? own.count(now) / p.documented : undefined,
          answer.retryAt,
          estimate.defaults,
          p.measured && p.windowed === true ? { costShare: 1 / p.documented, windowMillis: p.window } : undefined
        )
        pausedUntil = Math.max(pausedUntil, answer.retryAt)
        // an episode begins where the share is lowered anew (later refusals of its burst may tighten it)
        if (est.loweredAt !== before.loweredAt) episodes++
      }
    }
    // requests that reach Graph now
    while (arrivals.length > 0 && arrivals[0]! + p.latency <= now) {
      const sentAt = arrivals.shift()!
      const ok = graph.count(now) < p.real
      if (ok) {
        graph.add(now)
        if (now >= tailFrom) acceptedInTail++
      } else {
        throttled++
        if (now >= tailFrom) throttledInTail++
      }
      answers.push({ at: now + p.latency, sentAt, ok, retryAt: ok ? 0 : graph.frees(now) + p.latency })
    }
    // the client admits what its estimate of the window and its in-flight cap allow
    const room = now < pausedUntil ? 0 : Math.floor(est.factor * p.documented) - own.count(now)
    const free = p.inFlight - arrivals.length - answers.length
    for (let i = 0; i < Math.min(room, free); i++) {
      own.add(now)
      arrivals.push(now)
      sent++
    }
  }
  const reachable = Math.min(p.real, Math.floor((p.inFlight * p.window) / (2 * p.latency)))
  return { sent, throttled, throttledInTail, episodes, tailEfficiency: acceptedInTail / (reachable * p.tail), acceptedInTail, reachableInTail: reachable * p.tail, final: est }
}

describe("limitEstimate", () => {
  it.prop(
    "against a window limit stricter than documented by 2 to 100 times, the client learns it in a few episodes of 429s and then uses at least 90% of it",
    {
      stricter: fc.double({ min: 2, max: 100, noNaN: true }),
      latency: fc.integer({ min: 20, max: 400 }),
      inFlight: fc.integer({ min: 4, max: 80 }),
      measured: fc.boolean(),
      windowed: fc.boolean()
    },
    ({ inFlight, latency, measured, stricter, windowed }) => {
      const documented = 10_000
      const real = Math.floor(documented / stricter)
      const setting = { documented, real, window: 60_000, latency, inFlight, windows: 40, tail: 10, measured, windowed }
      const run = simulate(setting)
      // the same client told the real limit: where its in-flight cap carries barely more than the limit
      // (67 requests × 60 s ÷ 800 ms = 5,025 per window against 5,000), the window's bursts meet the cap
      // and even it gets fewer accepted than either figure alone, so the learning client is judged
      // against what it would get knowing the limit, when that is less
      const knowing = simulate({ ...setting, told: true })
      // a descent of halvings from the documented limit (one step when the client measured its use),
      // a binary search to within 5%, and one probe per ten clean windows after that
      const descent = measured ? 1 : Math.ceil(Math.log2(stricter))
      expect(run.episodes).toBeLessThanOrEqual(descent + 6 + 40 / 10)
      // every episode costs at most what was in flight when it began
      expect(run.throttled).toBeLessThanOrEqual(run.episodes * inFlight)
      expect(run.acceptedInTail / Math.min(run.reachableInTail, knowing.acceptedInTail)).toBeGreaterThanOrEqual(0.9)
      // once learnt, the limit is only crossed by the probe every ten clean windows, one episode each
      expect(run.throttledInTail).toBeLessThanOrEqual((10 / 10 + 1) * inFlight)
    },
    { fastCheck: { numRuns: 40 } }
  )

  it("a documented limit that holds is never lowered", () => {
    const run = simulate({
      documented: 600,
      real: 600,
      window: 10_000,
      latency: 100,
      inFlight: 40,
      windows: 20,
      tail: 5,
      measured: true
    })
    expect(run.throttled).toBe(0)
    expect(run.final).toEqual(estimate.initial(0))
  })

  it("429s of one episode lower the estimate once", () => {
    const once = estimate.throttled(estimate.initial(0), 1_000, 900, 0.5)
    expect(once.factor).toBeCloseTo(0.45)
    // a request admitted before the decrease went out at the old share
    expect(estimate.throttled(once, 1_200, 950, 0.4)).toBe(once)
    const next = estimate.throttled(once, 1_500, 1_100, 0.4)
    expect(next.factor).toBeCloseTo(0.36)
  })

  it("each further refusal of an episode's burst, in its window, lowers the share refused at by its cost", () => {
    // four posts to a team documented at 4 a second, before any answer; Graph takes 1 and refuses 3
    const window = { costShare: 1 / 4, windowMillis: 1_000 }
    const first = estimate.throttled(estimate.initial(0), 300, 10, 4 / 4, 1_000, estimate.defaults, window)
    expect(first.hi).toBeCloseTo(1)
    expect(first.factor).toBeCloseTo(0.9)
    const second = estimate.throttled(first, 310, 20, 4 / 4, 1_000, estimate.defaults, window)
    expect(second.hi).toBeCloseTo(0.75)
    expect(second.loweredAt).toBe(first.loweredAt)
    const third = estimate.throttled(second, 320, 30, 4 / 4, 1_000, estimate.defaults, window)
    // Graph accepted at most 1 and refused a 2nd: the share refused at is 2 of 4, applied as 1 whole post
    expect(third.hi).toBeCloseTo(0.5)
    expect(Math.floor(third.factor * 4 + 1e-9)).toBe(1)
    // a refusal admitted more than a window before the episode began was not counted in it
    expect(estimate.throttled(second, 320, 300 - 1_000, 4 / 4, 1_000, estimate.defaults, window)).toBe(second)
    // without the window's details (a store shared with other processes), the burst lowers it once
    const shared = estimate.throttled(estimate.initial(0), 300, 10, undefined, 1_000)
    expect(estimate.throttled(shared, 310, 20, undefined, 1_000, estimate.defaults, window)).toBe(shared)
  })

  it("a capacity known only as a lower bound is applied and probed upwards; a fitted one is held", () => {
    // one response's reports: the capacity is at least 0.02 of the documented one, and a bucket that
    // full would have reported from 0.8, so probing goes up to 0.025
    const bound = estimate.gauged(estimate.initial(0), 0, 0.02, estimate.defaults, 0.025)
    expect(bound.factor).toBeCloseTo(0.02)
    expect(estimate.converged(bound)).toBe(false)
    let est = bound
    for (let t = 1; t <= 10; t++) est = estimate.succeeded(est, t * 10_000, 10_000)
    expect(est.factor).toBeGreaterThan(0.024)
    expect(est.factor).toBeLessThanOrEqual(0.025)
    // a report on the way brings it back to what the reports show
    expect(estimate.gauged(est, 200_000, 0.021, estimate.defaults, 0.02625).factor).toBeCloseTo(0.021)
    // a fitted capacity is held as converged: not probed while reports keep coming
    const fitted = estimate.gauged(estimate.initial(0), 0, 0.02)
    expect(estimate.converged(fitted)).toBe(true)
    expect(estimate.succeeded(fitted, 10_000, 10_000).factor).toBeCloseTo(0.02)
  })

  it("a utilisation report from Graph sets the upper bound without any 429", () => {
    // the client used 40% of the documented limit and Graph reports the bucket 80% full: its capacity is 50%
    const next = estimate.reported(estimate.initial(0), 0, 0.4, 0.8)
    expect(next.hi).toBeCloseTo(0.5)
    expect(next.factor).toBeCloseTo(0.45)
    // a report the client's own use explains changes nothing
    expect(estimate.reported(estimate.initial(0), 0, 0.85, 0.8)).toEqual(estimate.initial(0))
  })

  it("a converged estimate probes upwards again after long clean stretches, and finds a limit that grew back", () => {
    let est = estimate.throttled(estimate.initial(0), 0, 0, 0.5)
    for (let t = 1; t < 30; t++) est = estimate.succeeded(est, t * 1_000, 1_000)
    expect(estimate.converged(est)).toBe(true)
    const before = est.factor
    for (let t = 30; t < 200; t++) est = estimate.succeeded(est, t * 1_000, 1_000)
    expect(est.factor).toBeGreaterThan(before)
    expect(est.factor).toBeLessThanOrEqual(1)
  })
  it("a converged window of a few requests probes one whole request up, and no more often than once per ~100 requests", () => {
    // Graph refused a window of 4 at 3 used: the real limit is at most 2, and 2 hold
    const units = 4
    const held = (e: estimate.Estimate) => Math.floor(e.factor * units + 1e-9)
    let est = estimate.throttled(estimate.initial(0), 0, 0, 0.75)
    expect(held(est)).toBe(2)
    let t = 0
    while (!estimate.converged(est)) est = estimate.succeeded(est, (t += 1_000), 1_000, estimate.defaults, units)
    const settled = est.since
    expect(held(est)).toBe(2)
    // 2 requests a window: the next probe comes after 50 clean windows, not after `reprobeWindows` (10)
    while (held(est) === 2 && t < 200_000) est = estimate.succeeded(est, (t += 1_000), 1_000, estimate.defaults, units)
    expect(t - settled).toBeGreaterThanOrEqual(50_000)
    expect(t - settled).toBeLessThanOrEqual(52_000)
    // and it probes a whole request more, not 5% of 2 (which the window would round away)
    expect(held(est)).toBe(3)
    // refused there, it is back at 2 until the next probe, 50 windows later
    est = estimate.throttled(est, (t += 500), t, 0.75)
    expect(held(est)).toBe(2)
  })

  it.prop(
    "the windows a 429 is taken to be about: never one that held only the refused request (unless all did), always the fullest of the others, at least one",
    [fc.array(
      fc.record({ units: fc.integer({ min: 1, max: 10_000 }), others: fc.nat({ max: 50 }), cost: fc.integer({ min: 1, max: 3 }) }),
      { minLength: 1, maxLength: 6 }
    )],
    ([windows]) => {
      const implicated = windows.map((w) => ({ units: w.units, used: w.others + w.cost, cost: w.cost }))
      const suspect = estimate.suspects(implicated)
      expect(suspect.some((s) => s)).toBe(true)
      const candidates = implicated.filter((w) => w.used > w.cost)
      if (candidates.length === 0) {
        expect(suspect.every((s) => s)).toBe(true)
        return
      }
      const fullest = Math.max(...candidates.map((w) => w.used / w.units))
      implicated.forEach((w, i) => {
        if (w.used <= w.cost) expect(suspect[i]).toBe(false)
        else expect(suspect[i]).toBe(w.used / w.units >= fullest * (1 - 1e-9))
      })
    }
  )

  it("a Teams post refused at a team's window lowers the team's, not the channel's or the app's", () => {
    // channel (1 a second): the refused post alone; team (4): 3 others; app in the tenant (50): 7 others
    const suspect = estimate.suspects([
      { units: 1, used: 1, cost: 1 },
      { units: 4, used: 4, cost: 1 },
      { units: 50, used: 8, cost: 1 }
    ])
    expect(suspect).toEqual([false, true, false])
  })
})
