/**
 * What a bucket's real limit is, learnt from Graph's answers when Graph is stricter than documented.
 *
 * The estimate is a share of the documented limit, between two bounds that only tighten:
 * - `hi`: Graph said no at this share (an upper bound on the real limit). At a 429 it is the share
 *   of the documented limit the client had used in the bucket when Graph refused (what the client had
 *   admitted, including requests still in flight, so a little above the real limit), or, when the
 *   client cannot tell, the share it was applying;
 * - `lo`: the client applied this share for a whole window without a 429 (a lower bound).
 *
 * After the first 429 the client applies `margin × hi` at once (one step, not a slow multiplicative
 * descent, when it knows what it used) and then probes upwards by halving the gap between `lo` and
 * `hi`, one step per clean window, until the gap is under `precision × hi`: then it stays at `lo`. A
 * converged estimate is probed again, one `precision` step above `lo`, after `reprobeWindows` clean
 * windows, so a limit that grows back is found again at the cost of one episode at most. A 429 for a request admitted before the last decrease belongs to
 * the episode that caused it (the request went out at the old share) and does not begin another;
 * when the client knows its use of the window, such a refusal of a request counted in the episode's
 * window still tightens `hi`, by its cost (Graph accepted fewer than the client counted there).
 *
 * **Windows of a few requests.** The store admits into a window while the units used plus the cost
 * fit `factor × N` (N the documented limit), so only whole requests matter: a share's fraction of a
 * request changes nothing, and a reprobe of one `precision` step above a small window's `lo` would be
 * no probe at all. Given the window's `units` (N), a reprobe goes up by one whole request at least,
 * and comes after `reprobeWindows` clean windows or after about `reprobeRequests` (100) requests at
 * the sustained rate, whichever is later: a probe that finds no room costs one 429, so probing costs
 * at most 1% of a window's requests (a Teams team held to 2 posts a second probes every 50 s, not
 * every 10 s).
 *
 * Pure: the Throttler keeps one state per bucket and applies `factor` to its store.
 *
 * @internal
 */

/** @internal */
export interface Settings {
  /** Step down when the share used is unknown (default 0.5). */
  readonly decrease: number
  /** Share of `hi` applied after a 429 (default 0.9). */
  readonly margin: number
  /** Probing stops when `hi - lo` is at most this share of `hi` (default 0.05). */
  readonly precision: number
  /** Lowest share ever applied (default 0.005: Graph at 200 times stricter than documented). */
  readonly floor: number
  /** Clean windows after which a converged estimate probes upwards again (default 10). */
  readonly reprobeWindows: number
}

/** @internal */
export const defaults: Settings = { decrease: 0.5, margin: 0.9, precision: 0.05, floor: 0.005, reprobeWindows: 10 }

/** @internal */
export interface Estimate {
  /** The share of the documented limit applied now. */
  readonly factor: number
  readonly hi: number
  readonly lo: number
  /** When `factor` last changed, or the last clean window ended: clean windows count from here. */
  readonly since: number
  /** When the share was last lowered: 429s for requests admitted before it belong to that episode. */
  readonly loweredAt: number
  /**
   * The episode begun at `loweredAt` by a 429 on a window whose use was known: the share Graph
   * has been shown to refuse at, less the refusals of the episode counted since (see `throttled`).
   */
  readonly episode?: { readonly at: number; readonly refusedAt: number } | undefined
}

/** @internal */
export const initial = (now: number): Estimate => ({ factor: 1, hi: 1, lo: 0, since: now, loweredAt: -Infinity })

const clamp = (share: number, settings: Settings) => Math.min(1, Math.max(settings.floor, share))

/**
 * Requests a converged window sends, at its sustained rate, between two probes upwards at least
 * (each probe that finds no more room costs one 429): 429s from probing stay under 1% of requests.
 */
const reprobeRequests = 100

/** Tolerance for the arithmetic of shares times limits (0.75 × 4 is 3, not 2.9999999999999996). */
const EPSILON = 1e-9

/** The whole requests a share of a window of `units` admits (the store's test is `used + cost <= share × units`). */
const wholeUnits = (share: number, units: number): number => Math.floor(share * units + EPSILON)

/** Whether `units` describes a window limit (a positive number of requests per window). */
const isWindow = (units: number | undefined): units is number =>
  units !== undefined && Number.isFinite(units) && units >= 1

/**
 * Graph answered 429 on this bucket, for a request admitted at `admittedAt`. `usedShare`: the share of
 * the documented limit the client had used in the bucket when the answer came (undefined when the
 * store cannot tell). `resumeAt`: when the bucket's pause ends; a clean window counts from then, as
 * nothing is sent before.
 *
 * @internal
 */
export const throttled = (
  estimate: Estimate,
  now: number,
  admittedAt: number,
  usedShare: number | undefined,
  resumeAt: number = now,
  settings: Settings = defaults,
  window?: Refused
): Estimate => {
  if (admittedAt < estimate.loweredAt) return sameEpisode(estimate, admittedAt, settings, window)
  const measured = usedShare !== undefined && Number.isFinite(usedShare) && usedShare > 0
  const refusedAt = measured ? Math.min(estimate.factor, usedShare) : estimate.factor
  const hi = clamp(Math.min(estimate.hi, refusedAt), settings)
  // a 429 at or below a share once sustained: the limit has fallen, and what was learnt is stale
  const lo = estimate.lo >= hi ? 0 : estimate.lo
  const next = measured ? hi * settings.margin : Math.min(hi * settings.margin, estimate.factor * settings.decrease)
  return {
    factor: clamp(Math.max(next, lo), settings),
    hi,
    lo,
    since: Math.max(now, resumeAt),
    loweredAt: now,
    episode: measured && window !== undefined ? { at: now, refusedAt } : undefined
  }
}

/**
 * The window of a refused request, for {@link throttled}: its cost as a share of the documented
 * limit, and the window's length.
 *
 * @internal
 */
export interface Refused {
  readonly costShare: number
  readonly windowMillis: number
}

/**
 * Another 429 of the episode's burst (its request was admitted before the share was lowered). The
 * episode's first 429 showed Graph refusing at the share used then, every request of the window
 * counted, refused ones included. A window in which Graph refused r of the n requests counted
 * accepted at most n − r, and it refused at most one more: each further refusal of a request
 * counted in that window (admitted within a window before the episode began) lowers the share Graph
 * refuses at by its cost. A burst of four posts to a team that takes one a second, three of them
 * refused, thus gives the team's real limit at once (2 of 4 refused at, applied as 1 of 4), where
 * the first 429 alone gave 4 of 4 and two more episodes followed.
 */
const sameEpisode = (estimate: Estimate, admittedAt: number, settings: Settings, window: Refused | undefined): Estimate => {
  const episode = estimate.episode
  if (
    window === undefined || episode === undefined || episode.at !== estimate.loweredAt ||
    admittedAt <= episode.at - window.windowMillis || !(window.costShare > 0)
  ) return estimate
  const refusedAt = episode.refusedAt - window.costShare
  if (!(refusedAt > 0)) return estimate
  const next = { ...estimate, episode: { at: episode.at, refusedAt } }
  if (refusedAt >= estimate.hi) return next
  const hi = clamp(refusedAt, settings)
  const lo = estimate.lo >= hi ? 0 : estimate.lo
  return { ...next, hi, lo, factor: clamp(Math.max(hi * settings.margin, lo), settings) }
}

/**
 * Whether probing has stopped: the gap between what was sustained and what was refused is within
 * `precision`.
 *
 * @internal
 */
export const converged = (estimate: Estimate, settings: Settings = defaults): boolean =>
  estimate.hi - estimate.lo <= settings.precision * estimate.hi

/**
 * A request on this bucket succeeded. Once a whole window (`windowMillis`, the bucket's window or the
 * time its tokens take to refill) has passed without a 429 at this share, the share is sustained
 * (`lo`) and the next probe starts. `units`: the documented limit of a window, `undefined` for a
 * token bucket (see the module documentation).
 *
 * @internal
 */
export const succeeded = (
  estimate: Estimate,
  now: number,
  windowMillis: number,
  settings: Settings = defaults,
  units?: number
): Estimate => {
  if (estimate.factor >= 1 && estimate.hi >= 1) return estimate
  if (now - estimate.since < windowMillis) return estimate
  const lo = Math.max(estimate.lo, estimate.factor)
  if (converged({ ...estimate, lo }, settings)) {
    const held = isWindow(units) ? Math.max(1, wholeUnits(lo, units)) : 0
    const windows = isWindow(units)
      ? Math.max(settings.reprobeWindows, Math.ceil(reprobeRequests / held))
      : settings.reprobeWindows
    if (now - estimate.since < windowMillis * windows) {
      return lo === estimate.lo ? estimate : { ...estimate, lo }
    }
    // long clean: the limit may have grown. One step of `precision` above what holds (a window: at
    // least one whole request more): refused, it leaves the estimate converged at once; admitted,
    // probing goes on towards a higher bound
    const factor = isWindow(units)
      ? Math.min(1, Math.max(lo * (1 + settings.precision), (held + 1) / units))
      : clamp(lo * (1 + settings.precision), settings)
    const hi = Math.min(1, Math.max(estimate.hi, lo * (1 + 2 * settings.precision), isWindow(units) ? (held + 2) / units : 0))
    return { ...estimate, lo, hi, factor, since: now }
  }
  return { ...estimate, lo, factor: clamp((lo + estimate.hi) / 2, settings), since: now }
}

/**
 * Graph reported how full the bucket is (`x-ms-throttle-limit-percentage`, as a share) while the
 * client's own view of it was `ownShare` of the documented limit: Graph's capacity is then about
 * `ownShare / serverShare` of the documented one, an upper bound learnt without a 429.
 *
 * @internal
 */
export const reported = (
  estimate: Estimate,
  now: number,
  ownShare: number,
  serverShare: number,
  settings: Settings = defaults
): Estimate => {
  if (!(serverShare > 0) || !(ownShare > 0) || !Number.isFinite(ownShare / serverShare)) return estimate
  const capacity = ownShare / serverShare
  if (capacity >= estimate.hi) return estimate
  const hi = clamp(capacity, settings)
  const lo = estimate.lo >= hi ? 0 : estimate.lo
  const factor = clamp(Math.min(estimate.factor, hi * settings.margin), settings)
  return { ...estimate, hi, lo, factor, since: now, loweredAt: factor < estimate.factor ? now : estimate.loweredAt }
}

/**
 * One window bucket a 429 implicates, as the client counted it when the answer came: `units` its
 * documented limit, `used` the requests it counted in the window (the refused one included), `cost`
 * the refused request's own.
 *
 * @internal
 */
export interface Implicated {
  readonly units: number
  readonly used: number
  readonly cost: number
}

/**
 * Which of the window buckets a 429 implicates without naming one it is taken to be about, when
 * the client knows what it used in each (Teams, Outlook: no header says which limit refused). Every
 * bucket it lowers gets an upper bound (`hi`) that only tightens, so lowering the wrong one costs
 * that bucket's throughput for long (a Teams post holds its channel's window, its team's, and the
 * app's for the tenant and for all tenants: lowering the app's 50 a second to the 2 it had used when
 * a team's window refused held a two-team workload to one post at a time).
 *
 * - A window that held nothing but the refused request did not refuse it: a real limit is at least
 *   one request per window.
 * - Of the others, those fullest as a share of their documented limit: Graph is stricter than
 *   documented by some factor, and the fullest bucket reaches its real limit first.
 *
 * When every window is cleared (the client's count may have lost a request whose answer came more
 * than a window before this one), all of them are suspects, as when the use is unknown. A wrong
 * choice costs more 429s: the bucket blamed comes down an episode at a time until it holds nothing
 * but the refused request, and then the next fullest is blamed (its bound rises again with reprobes).
 *
 * @internal
 */
export const suspects = (implicated: ReadonlyArray<Implicated>): ReadonlyArray<boolean> => {
  let fullest = 0
  for (const w of implicated) {
    if (w.used - w.cost > EPSILON) fullest = Math.max(fullest, w.used / w.units)
  }
  if (fullest === 0) return implicated.map(() => true)
  return implicated.map((w) => w.used - w.cost > EPSILON && w.used / w.units >= fullest * (1 - EPSILON))
}

/**
 * A token bucket's capacity measured from Graph's reports (see `capacityGauge`), as a `share` of the
 * documented one: applied as it is, and held as converged (`lo` and `hi` around it), so that it is
 * not probed while reports keep coming. With `upTo`, the share is only a lower bound (the reports
 * of one response, before any fit): it is applied as `lo` and probed upwards to `upTo` (see
 * `succeeded`), since a lower bound held as converged can leave the client under Graph's 0.8, where
 * no report comes to correct it (at 40 times stricter, one response's reports gave 0.73 of the real
 * capacity, and the run took 0.79 of the bound). A rise of 1% or less, or a fall of 3% or less (the fit's
 * noise: a report lowered below it by mistake costs throughput, one above it is caught by the next
 * report's alignment), keeps the share applied (no store write); the clean window restarts either
 * way, as a report is feedback at this share.
 *
 * @internal
 */
export const gauged = (
  estimate: Estimate,
  now: number,
  share: number,
  settings: Settings = defaults,
  upTo?: number
): Estimate => {
  if (!(share > 0) || !Number.isFinite(share)) return estimate
  const factor = clamp(share, settings)
  if (upTo !== undefined && upTo > share) {
    // only a lower bound (no fit yet): applied, and probed upwards towards `upTo`, one clean window
    // at a time; every report on the way (Graph reports from 0.8 of its bucket, before it refuses)
    // brings it back here and restarts the clean window
    return {
      factor,
      hi: Math.max(factor, clamp(upTo, settings)),
      lo: factor,
      since: now,
      loweredAt: factor < estimate.factor ? now : estimate.loweredAt
    }
  }
  const move = (factor - estimate.factor) / estimate.factor
  if (move <= 0.01 && move >= -0.03 && converged(estimate, settings)) {
    return { ...estimate, since: now }
  }
  return {
    factor,
    hi: Math.min(1, factor * (1 + settings.precision)),
    lo: factor,
    since: now,
    loweredAt: factor < estimate.factor ? now : estimate.loweredAt
  }
}
