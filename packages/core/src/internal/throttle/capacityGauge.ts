/**
 * The real capacity of a token bucket that Graph reports on (identity and access resource units),
 * read from its answers before, or without, a 429.
 *
 * Graph's bucket holds `c` units and refills `k·c` a second, `k` being the documented bucket's refill
 * over its capacity: Graph's limits are "N resource units per 10 seconds", and a tenant stricter than
 * documented has a smaller N over the same 10 s. Every request it admits takes its units
 * (`x-ms-resource-unit`), and from 0.8 of the limit used its answers say how much is used
 * (`x-ms-throttle-limit-percentage`, `u`). While the bucket is never full, what it holds as used is
 * what it took less what it refilled: `u·c = A(t) - k·c·t + b`, with `A` the units taken by time `t`
 * and `b` a constant. So the units this client has had answered, against `x = u + k·t`, lie on a line
 * whose slope is `c`:
 *
 *     A = c·x - b
 *
 * A least-squares fit over the reports of one streak gives `c`. The units in flight, taken by Graph
 * but not answered yet, are missing from `A` by a roughly constant amount, which the fit's intercept
 * absorbs. A streak ends when two reports are further apart than the bucket takes to refill 0.8 of
 * itself: it may have been full in between, wasting refill, which breaks the line.
 *
 * Until a streak spans enough (`minSpread` of `x`), one report gives a lower bound: with the bucket
 * full when the client started, `A(t) <= c·(u + k·(t - t0))`. A 429 on the bucket gives that bound
 * with `u = 1` (Graph had no room left for the request), but is kept out of the fit: the 429s of one
 * burst come from requests sent after the answers counted in `A`, and would pull the slope down.
 *
 * **Before the first report.** Graph says nothing below 0.8 used, and that silence is a bound too:
 * every answer without a report was counted while Graph's bucket was less than 0.8 full, so
 * `c > A / (0.8 + k·t)` (the same line, `u` below 0.8). A client that sends on the documented
 * capacity meanwhile has up to a round trip of units in the air when the first report comes, and
 * beyond the fifth of Graph's bucket then left they meet 429s (at 5 times stricter, 10 of the 44
 * batches of a 16-call opening). So until the first report (or 429) the units in flight are held to
 * `allowance`: what would still fit a bucket as small as that silence allows (a fifth of its
 * bound, as its answers had used up to 0.8 of it), plus a small `opening` share of the documented
 * capacity to start with and grow from. Each answer without a report raises the bound by a quarter
 * of its units, so the allowance grows by about a quarter a round trip; the `opening` is all Graph
 * can refuse before the client learns. It is a hundredth: the whole bucket of a tenant 100 times
 * stricter, the most issue 18 names (a fiftieth cost up to 42 429s on 3,000 reads at 59 times).
 *
 * Pure bookkeeping: `feedback.ts` keeps one gauge per bucket, turns its capacity into the share of
 * the documented limit the client applies, and holds sends to the allowance.
 *
 * @internal
 */

/** @internal */
export interface Gauge {
  /** When the client first had the bucket's units taken (ms): the bucket is taken as full then. */
  readonly start: number
  /** Units Graph has answered for this client since `start` (it took them). */
  answered: number
  /**
   * The highest `x = u + k·t` reported since `start`. Graph's bucket took more the higher `x` (it is
   * its units taken, over `c`, less a constant), so every report below it was about an item Graph
   * ran before that one. The answers of one response come together, each with the report of its own
   * item, run alongside the others, and a batch answered late may hold items Graph ran early: paired
   * with the highest `x`, the units answered so far were all taken by then, and `A / x` stays a lower
   * bound; paired with each report's own, it was up to a batch above the capacity (1,045 for 1,000).
   */
  highestX: number
  /** Units sent on the bucket, as estimated at admission (see `inFlight`). */
  sent: number
  /** Units answered or refused, as estimated at admission. */
  settled: number
  /** Units of the permits sent and not released yet (their batch not answered): what `allowance` holds. */
  outstanding: number
  /** The last report's time (ms), or -Infinity before any. */
  lastReportAt: number
  /** When the last report or 429 came (ms), or -Infinity before any. */
  lastSignalAt: number
  /** The share of the bucket the last report (or 429: 1) said was used. */
  lastUsed: number
  // the current streak's least-squares sums, centred (Welford)
  n: number
  meanX: number
  meanY: number
  cxx: number
  cxy: number
  minX: number
  maxX: number
  /** The units answered at the streak's first report. */
  firstY: number
  /** The most units in flight at any report of the streak. */
  streakInFlight: number
  /** The capacity learnt, in units; undefined before any report. */
  capacity: number | undefined
  /** Whether `capacity` comes from a fit (otherwise from the one-report lower bound). */
  fitted: boolean
  updatedAt: number
}

/** Graph reports from this share of its bucket used; answers without a report were counted below it. */
export const reportedFrom = 0.8

/** The share of the documented capacity in flight before any answer: a bucket 100 times stricter (see the module documentation). */
const opening = 1 / 100

/** The spread of `x` a streak needs before its fit is trusted (a tenth of the capacity, or one second of refill at 10 s). */
const minSpread = 0.1

/** Reports a fit needs. */
const minReports = 8

/**
 * The units a streak's answers must span, as a multiple of the most units in flight during it. A
 * report's `u` counts every unit Graph took, the units in flight among them, and `A` does not: the
 * fit takes them as a constant that its intercept absorbs, which they are only over a stretch long
 * against them. A few batches in flight are answered in bursts, each with the reports of items Graph
 * ran interleaved with the others', and over a stretch of one or two bursts the slope is noise (at
 * 20 times stricter, with three batches of 30 units in flight on a bucket of 250: a fit of 3 units).
 */
const spanOverInFlight = 4

/** @internal */
export const make = (start: number): Gauge => ({
  start,
  answered: 0,
  highestX: 0,
  sent: 0,
  settled: 0,
  outstanding: 0,
  lastReportAt: -Infinity,
  lastSignalAt: -Infinity,
  lastUsed: 0,
  n: 0,
  meanX: 0,
  meanY: 0,
  cxx: 0,
  cxy: 0,
  minX: Infinity,
  maxX: -Infinity,
  firstY: 0,
  streakInFlight: 0,
  capacity: undefined,
  fitted: false,
  updatedAt: start
})

/** Units sent and not answered yet, as estimated at admission. @internal */
export const inFlight = (gauge: Gauge): number => Math.max(0, gauge.sent - gauge.settled)

/**
 * Whether Graph has told this bucket's capacity: a report, or a 429 on it. Until then, sends are held
 * to {@link allowance}.
 *
 * @internal
 */
export const known = (gauge: Gauge): boolean => gauge.capacity !== undefined

/**
 * Whether the capacity comes from a fit of a streak of reports; otherwise it is only the best of the
 * one-report lower bounds.
 *
 * @internal
 */
export const fitted = (gauge: Gauge): boolean => gauge.fitted

/**
 * The units that may be in flight on a bucket whose capacity is not {@link known}: a fifth of the
 * least capacity consistent with the answers so far carrying no report (what would still fit such
 * a bucket, taken as full at `start`), plus `opening` of the `documented` capacity. `k`: the
 * documented refill per second over the documented capacity.
 *
 * @internal
 */
export const allowance = (gauge: Gauge, documented: number, k: number, now: number): number => {
  const x = reportedFrom + (k * Math.max(0, now - gauge.start)) / 1000
  return opening * documented + (1 - reportedFrom) * (gauge.answered / x)
}

/** Graph answered (and so took) `units` of this bucket. */
export const took = (gauge: Gauge, units: number, now: number): void => {
  if (units > 0 && Number.isFinite(units)) gauge.answered += units
  gauge.updatedAt = now
}

/**
 * A report that `used` (a share, 0.8 to 1; a 429 is 1) of the bucket was in use, at `now`. `k`: the
 * documented refill per second over the documented capacity. Returns the capacity now believed, in
 * units, or undefined when the report teaches nothing.
 *
 * @internal
 */
export const reported = (gauge: Gauge, used: number, now: number, k: number): number | undefined => {
  if (!(used > 0) || !Number.isFinite(used) || !(k > 0)) return gauge.capacity
  gauge.updatedAt = now
  const u = Math.min(1, used)
  return lowerBound(fit(gauge, u, now, k), u, now, k)
}

/**
 * A 429 on the bucket, at `now`: Graph had no room left. Only the one-report lower bound, and only
 * before any fit.
 *
 * @internal
 */
export const refused = (gauge: Gauge, now: number, k: number): number | undefined => {
  if (!(k > 0)) return gauge.capacity
  gauge.updatedAt = now
  // what Graph's bucket holds now, for the alignment of refunds (see `feedback.revoked`), without
  // joining the fit
  gauge.lastUsed = 1
  gauge.lastSignalAt = now
  return lowerBound(gauge, 1, now, k)
}

/** Until a streak has been fitted, the best of the one-report lower bounds. */
const lowerBound = (gauge: Gauge, u: number, now: number, k: number): number | undefined => {
  if (gauge.fitted) return gauge.capacity
  const x = Math.max(gauge.highestX, u + (k * (now - gauge.start)) / 1000)
  gauge.highestX = x
  const bound = x > 0 ? gauge.answered / x : 0
  if (bound > 0) gauge.capacity = gauge.capacity === undefined ? bound : Math.max(gauge.capacity, bound)
  return gauge.capacity
}

/** Adds a report to the streak's fit; a streak that spans enough gives the capacity. */
const fit = (gauge: Gauge, u: number, now: number, k: number): Gauge => {
  // the bucket may have been full since the last report: a new streak
  if (now - gauge.lastReportAt > (0.8 / k) * 1000) {
    gauge.n = 0
    gauge.meanX = 0
    gauge.meanY = 0
    gauge.cxx = 0
    gauge.cxy = 0
    gauge.minX = Infinity
    gauge.maxX = -Infinity
    gauge.firstY = gauge.answered
    gauge.streakInFlight = 0
  }
  gauge.lastReportAt = now
  gauge.lastSignalAt = now
  gauge.lastUsed = u
  const x = u + (k * (now - gauge.start)) / 1000
  const y = gauge.answered
  gauge.n++
  const dx = x - gauge.meanX
  gauge.meanX += dx / gauge.n
  gauge.meanY += (y - gauge.meanY) / gauge.n
  gauge.cxx += dx * (x - gauge.meanX)
  gauge.cxy += dx * (y - gauge.meanY)
  if (x < gauge.minX) gauge.minX = x
  if (x > gauge.maxX) gauge.maxX = x
  gauge.streakInFlight = Math.max(gauge.streakInFlight, inFlight(gauge))
  if (
    gauge.n >= minReports && gauge.maxX - gauge.minX >= minSpread && gauge.cxx > 0 &&
    y - gauge.firstY >= spanOverInFlight * gauge.streakInFlight
  ) {
    const slope = gauge.cxy / gauge.cxx
    if (slope > 0 && Number.isFinite(slope)) {
      gauge.capacity = slope
      gauge.fitted = true
    }
  }
  return gauge
}
