/**
 * How many `$batch` calls the client keeps in flight at once: a limit that adapts to latency and to
 * Graph's overload answers, or a fixed number when the user sets `concurrency`.
 *
 * **What decides what.** Admission (the Throttler and its buckets, such as Outlook's 4 concurrent
 * requests per mailbox, or 10,000 requests per 10 minutes) decides *what may go*; this limit only
 * bounds *how much admitted work is in the air* at once. A batch takes a slot here after it was
 * admitted, so a batch waiting for a busy bucket never holds a slot.
 *
 * **Little's law.** Calls in flight = throughput × latency. To send `X` batches per second when one
 * round trip takes `R` seconds the client needs `X × R` calls in flight: 50 mailboxes that may each
 * run a batch of 20 every 1.2 s (their Outlook rate) need 50 calls in flight, which a fixed 4 cuts
 * to 4/50 of the throughput the limits allow. Neither `X` (set by the limits and by how much work
 * is ready) nor `R` (set by Graph, and by how loaded it is) is known in advance, so the limit is
 * learned:
 *
 * - **Opening: Little's law measured.** Under an admission that paces batches to Graph's limits
 *   (`Admission.paced`, as `layerThrottled` does), what it lets through is what the limits allow
 *   now: having all of it in flight *is* the Little's-law figure, allowed throughput × latency. So
 *   until Graph gives a sign of load, the limit follows that demand: a batch admitted while every
 *   slot is taken raises it to the calls held and waiting, up to {@link Tuning.openUpTo} (a quarter
 *   of the ceiling, as TCP's slow-start threshold), instead of climbing from 4 one round trip at a time;
 *   beyond that it grows as below. The first latency ratio above {@link Tuning.growBelow} ends the
 *   opening where the limit is. The first 429 ends it too (the limits admission paces to overstate
 *   what this tenant allows, so the demand it let through is no measure), where the limit is: the
 *   Throttler holds the bucket that refused. A 503 or 504 also drops the limit back to where it
 *   started (unless lower already): Graph itself is loaded.
 *   An admission that does not pace (`layerUnthrottled`) says nothing about what Graph allows: the
 *   limit then starts at {@link defaultInitial} and only grows as below.
 * - **Additive increase.** While the gate is saturated (admitted batches wait for a slot) and round
 *   trips stay near the least latency seen, the limit grows by about one per round trip (`1/limit`
 *   per answered call). An unsaturated gate does not grow: the limit is not what holds work back.
 * - **Gradient decrease** (TCP Vegas, Netflix's concurrency-limits): when Graph is loaded beyond what
 *   it serves at full speed, extra calls only queue, and latency grows with them while throughput
 *   stays put. When round trips take more than {@link Tuning.shrinkAbove} times the least seen (the
 *   latency ratio below), the limit is multiplied by `shrinkAbove / ratio` per round trip (at least
 *   ×0.5), so it settles where latency is at most about that multiple of the unloaded latency: near
 *   the knee, where throughput is already what it will ever be, not at the ceiling. Between
 *   {@link Tuning.growBelow} and `shrinkAbove` it holds.
 * - **Multiplicative decrease** on 503 and 504 (a batch answered so, or items in it), and on 429
 *   when admission does not pace: the limit is multiplied by {@link Tuning.backoff}, once per round
 *   trip (the calls already in flight when it was cut do not cut it again, as TCP's fast recovery).
 *   Under a pacing admission a 429 says that one bucket was full, which the Throttler learns and
 *   holds: it ends the opening and does not cut the calls in flight for every other bucket.
 * - Bounded by a floor of 1 and the user's ceiling (`maxConcurrency`, default
 *   {@link defaultMaxConcurrency}).

 *
 * **Latency baselines per kind of batch.** A serial batch of 20 takes twenty items' time, a
 * parallel one the slowest item's, and services differ (Teams answers slower than the directory).
 * So "near the least latency seen" is judged per kind of batch (shape, size by powers of two, and
 * the resource its first item addresses). Each kind keeps a slowly smoothed latency (about its last
 * 20 answers) and the least that smoothed latency has been, its *baseline*: the least of an average,
 * not of single answers, since Graph's answers jitter by a factor of 3 or more unloaded. An answer's
 * *ratio* is its latency over its kind's baseline (once the kind has had 20 answers), and the
 * gate's signal is a smoothed ratio over all answers. Load on Graph slows every kind alike, so the
 * ratio rises with it whatever the mix; a change of mix does not move it. A baseline never rises:
 * a limit held down by latency cannot creep up as the load it caused becomes the new normal.
 *
 * The algorithm is a pure function of its state ({@link step}) so it can be tested without time.
 *
 * @internal
 */
import { Effect, Metric } from "effect"
import { FairGate } from "./fairGate.js"

/** The tuning of the adaptive limit. */
export interface Tuning {
  /** The floor: never fewer calls in flight than this. */
  readonly min: number
  /** The ceiling: never more calls in flight than this. */
  readonly max: number
  /** Grow only while the latency ratio is at most this. */
  readonly growBelow: number
  /** Shrink while the latency ratio is above this. */
  readonly shrinkAbove: number
  /** The factor a 429, 503 or 504 multiplies the limit by. */
  readonly backoff: number
  /** Weight of a new answer in a kind's smoothed latency (its baseline). */
  readonly baselineSmoothing: number
  /** Weight of a new answer in the smoothed ratio. */
  readonly smoothing: number
  /** Answers of a kind before its ratio counts (its least is not known before). */
  readonly warmup: number
  /** The most the opening raises the limit to (see the module's notes); beyond, it grows as usual. */
  readonly openUpTo: number
}

/**
 * The default ceiling: 64 `$batch` calls in flight. It leaves room for what the limits allow on the
 * workloads this library is for (a mailbox sync over 50 mailboxes needs 50 calls in flight: one per
 * mailbox, each batch holding the mailbox's 4 Outlook permits), stays under the 100 concurrent
 * streams HTTP/2 servers commonly allow on one connection, and bounds what a run holds in memory
 * (the executor keeps at most twice the ceiling's batches alive, 2,560 requests).
 */
export const defaultMaxConcurrency = 64

/**
 * Where the adaptive limit starts: the fixed default of earlier versions. Under a pacing admission
 * it opens from here to what admission lets through (see the module's notes).
 */
export const defaultInitial = 4

/** The defaults, given a ceiling. */
export const tuning = (max: number = defaultMaxConcurrency): Tuning => ({
  min: 1,
  max: Math.max(1, Math.floor(max)),
  // TCP's slow-start threshold: a quarter of the ceiling. What the opening sends before Graph's first
  // answer is sent on the documented limits: opening to half the ceiling put 32 calls in flight when a
  // stricter tenant's bucket was already spent (directory-report × 5: 413 429s against 180 at 16)
  openUpTo: Math.max(1, Math.floor(Math.max(1, Math.floor(max)) / 4)),
  growBelow: 1.5,
  shrinkAbove: 2,
  backoff: 0.7,
  baselineSmoothing: 0.05,
  smoothing: 0.1,
  warmup: 20
})

/** One kind of batch's latency: its smoothed value and the least that value has been. */
interface Baseline {
  smoothed: number
  least: number
  samples: number
}

/** The state of the limit. */
export interface State {
  /** The limit, a real number; `permits` is what the gate uses. */
  readonly limit: number
  /** Smoothed latency ratio (1: as fast as ever); 1 until an answer of a warmed-up kind. */
  readonly ratio: number
  /** Answers seen. */
  readonly answers: number
  /** A throttling answer before this many answers were seen does not cut the limit again. */
  readonly recoverUntil: number
  /** Per kind of batch. Mutable inside, owned by the state (see {@link step}). */
  readonly kinds: Map<string, Baseline>
  /** Where the limit started: a throttling answer while opening drops it back here. */
  readonly start: number
  /**
   * Still opening: no sign of load yet, so the limit follows what a pacing admission lets through
   * ({@link opened}). Ends at the first throttling answer or latency ratio above `growBelow`.
   */
  readonly opening: boolean
  /** Admission paces to the limits and learns from 429s (see {@link Context.paced}). */
  readonly paced: boolean
}

/** What one answered `$batch` call tells the limit. */
export interface Answer {
  /** The kind of batch (see {@link kindOf}). */
  readonly kind: string
  /** The round trip, in milliseconds. */
  readonly millis: number
  /** Admitted batches were waiting for a slot when it was answered. */
  readonly saturated: boolean
  /** Answered 429, 503 or 504 (the batch, or items in it). */
  readonly throttled: boolean
  /** Answered 503 or 504 (the batch, or items in it): Graph is overloaded, not a bucket full. */
  readonly overloaded?: boolean
  /** Calls in flight when it was answered, itself included. */
  readonly inFlight: number
}

/** Kinds of batch tracked at most; beyond, new kinds share one baseline. */
const maxKinds = 256

/**
 * A new state at `start`; with `opening`, the limit follows demand until the first sign of load
 * (see {@link opened}).
 */
export const initial = (start: number, t: Tuning, opening = false): State => ({
  limit: clamp(start, t),
  ratio: 1,
  answers: 0,
  recoverUntil: 0,
  kinds: new Map(),
  start: clamp(start, t),
  opening,
  paced: opening
})

/**
 * The state when `demand` calls want to be in flight at once (held and waiting for a slot, a new
 * one included): while opening, the limit rises to meet it, up to `openUpTo`; otherwise it stays.
 * It never lowers the limit.
 */
export const opened = (state: State, demand: number, t: Tuning): State => {
  if (!state.opening || demand <= state.limit) return state
  const limit = clamp(Math.min(Math.floor(demand), t.openUpTo), t)
  return limit <= state.limit ? state : { ...state, limit }
}

const clamp = (limit: number, t: Tuning) => Math.min(t.max, Math.max(t.min, limit))

/** The number of calls the gate lets in flight. */
export const permits = (state: State): number => Math.max(1, Math.floor(state.limit))

/**
 * The state after one answer. The kinds' baselines are updated in place (they belong to the state
 * and nothing else reads them); everything else is a new state.
 */
export const step = (state: State, answer: Answer, t: Tuning): State => {
  const answers = state.answers + 1
  let ratio = state.ratio
  if (Number.isFinite(answer.millis) && answer.millis >= 0) {
    const key = state.kinds.has(answer.kind) || state.kinds.size < maxKinds ? answer.kind : "\u0000other"
    let base = state.kinds.get(key)
    if (base === undefined) {
      base = { smoothed: answer.millis, least: Infinity, samples: 0 }
      state.kinds.set(key, base)
    }
    base.samples++
    base.smoothed += t.baselineSmoothing * (answer.millis - base.smoothed)
    if (base.samples >= t.warmup) {
      base.least = Math.min(base.least, base.smoothed)
      const own = base.least > 0 ? answer.millis / base.least : 1
      ratio += t.smoothing * (own - ratio)
    }
  }
  let limit = state.limit
  let recoverUntil = state.recoverUntil
  const opening = state.opening && !answer.throttled && ratio <= t.growBelow
  const bucketOnly = state.paced && answer.throttled && answer.overloaded !== true
  if (bucketOnly) {
    // a 429 under pacing admission: a bucket was full, and the Throttler learns that bucket (its
    // limit, its pause) and holds what goes to it; Graph is not overloaded, so the calls in flight for
    // other buckets are not cut (one home for what a 429 means). It ends the opening all the same
  } else if (answer.throttled) {
    if (answers > state.recoverUntil) {
      // while opening, the demand the limit followed was admitted against limits this tenant does
      // not give: back to the start, from where it grows as usual
      limit = state.opening ? Math.min(limit * t.backoff, state.start) : limit * t.backoff
      // the calls in flight now were sent under the old limit: their answers do not cut it again
      recoverUntil = answers + Math.max(0, answer.inFlight - 1)
    }
  } else if (ratio > t.shrinkAbove) {
    // about × shrinkAbove / ratio per round trip, that is per `limit` answers
    const perRoundTrip = Math.max(0.5, t.shrinkAbove / ratio)
    limit = limit * Math.pow(perRoundTrip, 1 / Math.max(1, limit))
  } else if (answer.saturated && ratio <= t.growBelow && (!opening || limit >= t.openUpTo)) {
    // below `openUpTo` an opening limit already follows demand (`opened`)
    limit = limit + 1 / Math.max(1, limit)
  }
  return {
    limit: clamp(limit, t),
    ratio,
    answers,
    recoverUntil,
    kinds: state.kinds,
    start: state.start,
    opening,
    paced: state.paced
  }
}

/** Path segments that name an item rather than a resource: GUIDs, numbers, addresses, long keys. */
const idLike = /[0-9@'(]|^[^/]{25,}$/

/**
 * The kind of a batch: its shape, its size, and the resource its first item addresses (the first and
 * last path segments that are not ids), so that a batch is compared with batches like it.
 */
export const kindOf = (shape: string, size: number, firstUrl: string | undefined): string => {
  // sizes by powers of two (1, 2, 3-4, 5-8, 9-16, 17-20): partly admitted batches share a kind
  const sizeClass = size <= 1 ? 1 : 2 ** Math.ceil(Math.log2(size))
  if (firstUrl === undefined) return `${shape}:${sizeClass}`
  const path = firstUrl.replace(/^[a-z]+:\/\/[^/]+/i, "").split(/[?#]/, 1)[0]!
  const segments = path.split("/").filter((s) => s !== "" && s !== "v1.0" && s !== "beta")
  const named = segments.filter((s) => !idLike.test(s))
  return `${shape}:${sizeClass}:${named[0] ?? ""}/${named.length > 1 ? named[named.length - 1] : ""}`
}

// ---- the gate the executor uses ----

/** How the gate is set: a fixed number of calls, or the adaptive limit. */
export type Settings =
  | { readonly _tag: "Fixed"; readonly permits: number }
  | { readonly _tag: "Adaptive"; readonly initial: number; readonly tuning: Tuning }

/** What the gate is told of the run's admission. */
export interface Context {
  /**
   * Admission paces batches to Graph's limits (`Admission.paced`): the adaptive limit opens to what
   * it lets through rather than climbing from `initial`.
   */
  readonly paced: boolean
}

/** Statuses that say Graph is throttling or overloaded. */
export const overloaded = (status: number): boolean => status === 429 || status === 503 || status === 504

/** Statuses that say Graph itself is overloaded, not that a bucket is full. */
export const unavailable = (status: number): boolean => status === 503 || status === 504

/**
 * The `$batch` calls in flight: a {@link FairGate} (slots go to batches in the order they were
 * admitted) whose size is fixed, or set by {@link step} after every answer.
 */
export class Gate {
  readonly slots: FairGate
  private state: State | undefined
  private readonly tuning: Tuning | undefined
  /** The most calls in flight at once. */
  peak = 0

  constructor(settings: Settings, context: Context = { paced: false }) {
    if (settings._tag === "Fixed") {
      this.slots = new FairGate(settings.permits)
    } else {
      this.tuning = settings.tuning
      this.state = initial(settings.initial, settings.tuning, context.paced)
      this.slots = new FairGate(permits(this.state))
    }
  }

  /** Whether the limit adapts. */
  get adaptive(): boolean {
    return this.state !== undefined
  }

  /** Calls allowed in flight now. */
  get limit(): number {
    return this.slots.permits
  }

  /** Runs `self` (one `$batch` call) holding a slot. */
  withSlot<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const take = this.slots.withPermit(Effect.zipRight(
      Effect.sync(() => {
        if (this.slots.held > this.peak) this.peak = this.slots.held
      }),
      self
    ))
    return Effect.suspend(() => {
      // opening: an admitted batch that finds every slot taken raises the limit to meet it
      const state = this.state
      if (state === undefined || !state.opening) return take
      const before = this.slots.permits
      this.state = opened(state, this.slots.held + this.slots.waiters + 1, this.tuning!)
      if (permits(this.state) === before) return take
      this.slots.resize(permits(this.state))
      return Effect.zipRight(Metric.set(inFlightLimit, this.slots.permits), take)
    })
  }

  /**
   * An answered call, reported while it still holds its slot: the limit takes a step, and the
   * gate's size and the `msgraph_inflight_limit` gauge follow it.
   */
  answered(kind: string, millis: number, throttled: boolean, overloaded = false): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.state === undefined) return Effect.void
      const before = this.slots.permits
      this.state = step(this.state, {
        kind,
        millis,
        throttled,
        overloaded,
        saturated: this.slots.waiters > 0,
        inFlight: this.slots.held
      }, this.tuning!)
      this.slots.resize(permits(this.state))
      return this.slots.permits === before ? Effect.void : Metric.set(inFlightLimit, this.slots.permits)
    })
  }
}

/** The gauge of the adaptive limit (`msgraph_inflight_limit`). */
export const inFlightLimit = Metric.gauge("msgraph_inflight_limit", {
  description: "$batch calls the client lets in flight at once (the adaptive limit, or the fixed concurrency)"
})

/** A gate, with the gauge set to its starting size. */
export const make = (settings: Settings, context?: Context): Effect.Effect<Gate> =>
  Effect.suspend(() => {
    const gate = new Gate(settings, context)
    return Effect.as(Metric.set(inFlightLimit, gate.limit), gate)
  })
