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
 * Pure bookkeeping: `feedback.ts` keeps one gauge per bucket and turns its capacity into the share of
 * the documented limit the client applies.
 *
 * @internal
 */

/** @internal */
export interface Gauge {
  /** When the client first had the bucket's units taken (ms): the bucket is taken as full then. */
  readonly start: number
  /** Units Graph has answered for this client since `start` (it took them). */
  answered: number
  /** Units sent on the bucket, as estimated at admission (see `inFlight`). */
  sent: number
  /** Units answered or refused, as estimated at admission. */
  settled: number
  /** The last report's time (ms), or -Infinity before any. */
  lastReportAt: number
  /** The share of the bucket the last report said was used. */
  lastUsed: number
  // the current streak's least-squares sums, centred (Welford)
  n: number
  meanX: number
  meanY: number
  cxx: number
  cxy: number
  minX: number
  maxX: number
  /** The capacity learnt, in units; undefined before any report. */
  capacity: number | undefined
  /** Whether `capacity` comes from a fit (otherwise from the one-report lower bound). */
  fitted: boolean
  updatedAt: number
}

/** The spread of `x` a streak needs before its fit is trusted (a tenth of the capacity, or one second of refill at 10 s). */
const minSpread = 0.1

/** Reports a fit needs. */
const minReports = 8

/** @internal */
export const make = (start: number): Gauge => ({
  start,
  answered: 0,
  sent: 0,
  settled: 0,
  lastReportAt: -Infinity,
  lastUsed: 0,
  n: 0,
  meanX: 0,
  meanY: 0,
  cxx: 0,
  cxy: 0,
  minX: Infinity,
  maxX: -Infinity,
  capacity: undefined,
  fitted: false,
  updatedAt: start
})

/** Units sent and not answered yet, as estimated at admission. @internal */
export const inFlight = (gauge: Gauge): number => Math.max(0, gauge.sent - gauge.settled)

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
  return lowerBound(gauge, 1, now, k)
}

/** Until a streak has been fitted, the best of the one-report lower bounds. */
const lowerBound = (gauge: Gauge, u: number, now: number, k: number): number | undefined => {
  if (gauge.fitted) return gauge.capacity
  const x = u + (k * (now - gauge.start)) / 1000
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
  }
  gauge.lastReportAt = now
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
  if (gauge.n >= minReports && gauge.maxX - gauge.minX >= minSpread && gauge.cxx > 0) {
    const slope = gauge.cxy / gauge.cxx
    if (slope > 0 && Number.isFinite(slope)) {
      gauge.capacity = slope
      gauge.fitted = true
    }
  }
  return gauge
}
