/**
 * The in-memory quota: every bucket's state in one `Map`, updated synchronously so that taking from
 * several buckets is atomic without locks. `QuotaStore.makeMemory` wraps it in Effects and
 * registers its synchronous face ({@link Local}) here, so that a `Throttler` built over that store
 * (and only over that store) drives it directly and keeps admission allocation-free. The public
 * `QuotaStore` interface knows nothing of it.
 *
 * @internal
 */
import type { Limit } from "@effect-msgraph/spec/Bucket"
import type { Adjustment, Entry, QuotaStoreService, TakeResult, Taken } from "../../QuotaStore.js"

/** @internal */
export const taken: Taken = { _tag: "Taken" }

/** @internal */
export interface Options {
  /** Sub-windows per sliding window (the approximation's resolution). */
  readonly windowSlots: number
  /** How long a bucket whose effective limit was lowered keeps that memory while unused. */
  readonly adaptiveMemoryMillis: number
  /** A token bucket keeps this many milliseconds of refill in reserve (see `QuotaStore.MemoryOptions`). */
  readonly tokenReserveMillis: number
  /** A token bucket counts its units in flight (taken, not yet answered) against its refill (see `QuotaStore.MemoryOptions`). */
  readonly unitsInFlight: boolean
}

/** @internal */
export const defaultOptions: Options = {
  windowSlots: 20,
  adaptiveMemoryMillis: 10 * 60_000,
  tokenReserveMillis: 0,
  unitsInFlight: false
}

const WINDOW = 0
const TOKEN = 1
const CONCURRENCY = 2

// Tolerance for floating-point refill arithmetic: a bucket that is short by less than this is full.
const EPSILON = 1e-9

/**
 * One bucket's state. A single class for all three kinds keeps property access monomorphic.
 *
 * - window: `units` is the sum over live runs; runs are a ring of (time of the run's latest take,
 *   units) pairs, one per sub-window that still holds units. All takes in one sub-window join one
 *   run, which is dated by the latest of them.
 * - token: `units` is the token count at `last`.
 * - concurrency: `units` is the number of permits in use.
 *
 * @internal
 */
export class BucketState {
  units = 0
  last = 0
  pausedUntil = 0
  factor = 1
  adaptedAt = 0
  head = 0
  count = 0
  runAt: Float64Array | undefined = undefined
  slotUnits: Float64Array | undefined = undefined
  /** Token bucket: units held back from every request but one that needs the whole capacity. */
  reserve = 0
  /**
   * Units taken and not yet answered. Token bucket: it refills only up to its capacity less these.
   * Window: they float, counted as taken now whatever time passes, until their answer dates them.
   */
  inFlight = 0
  /** Whether takes count as in flight until answered. */
  tracksInFlight = false
  constructor(
    readonly kind: number,
    /** Window limit N, token capacity, or permits. */
    readonly capacity: number,
    /** Window length (window) or refill per millisecond (token). */
    readonly rate: number,
    /** Sub-window width (window only). */
    readonly slotWidth: number,
    now: number
  ) {
    if (kind === TOKEN) {
      this.units = capacity
      this.last = now
    }
  }
}

const makeState = (limit: Limit, slots: number, now: number, options: Options): BucketState => {
  switch (limit._tag) {
    case "Window": {
      // A window that holds no more units than there are slots is kept exactly: one run per
      // millisecond with takes (a Teams channel's one post a second, a team's four).
      const width = limit.limit <= slots ? 1 : limit.windowMillis / slots
      const state = new BucketState(WINDOW, limit.limit, limit.windowMillis, width, now)
      state.runAt = new Float64Array(slots + 2)
      state.slotUnits = new Float64Array(slots + 2)
      state.tracksInFlight = options.unitsInFlight
      return state
    }
    case "TokenBucket": {
      const state = new BucketState(TOKEN, limit.capacity, limit.refillPerSecond / 1000, 0, now)
      state.reserve = (limit.refillPerSecond / 1000) * options.tokenReserveMillis
      state.tracksInFlight = options.unitsInFlight
      return state
    }
    case "Concurrency":
      return new BucketState(CONCURRENCY, limit.permits, 0, 0, now)
  }
}

/**
 * The capacity a bucket applies now: the catalogue's value scaled by the adaptive factor. A single
 * demand that fits the catalogue's value but not the lowered one is still admitted when the bucket is
 * otherwise empty, so a lowered limit slows a bucket down but never blocks it for good.
 */
const effectiveCapacity = (state: BucketState): number =>
  state.kind === CONCURRENCY ? Math.max(1, Math.floor(state.capacity * state.factor)) : state.capacity * state.factor

/** Drops window slots that can no longer overlap `(now - W, now]`. */
const expireWindow = (state: BucketState, now: number): void => {
  const ring = state.runAt!
  const units = state.slotUnits!
  const size = ring.length
  const window = state.rate
  while (state.count > 0) {
    const h = state.head
    // A run's units were all taken at or before its date t, so they have surely left (now - W, now]
    // once now >= t + W. Until then they are counted, which is what makes the window conservative;
    // takes that share an instant (a batch, or virtual time) leave exactly on time.
    if (ring[h]! + window > now) break
    state.units -= units[h]!
    state.head = (h + 1) % size
    state.count--
  }
  if (state.count === 0) state.units = 0
}

/**
 * Refills up to the capacity less the units in flight. Graph takes a request's units when it arrives,
 * which may be long after its admission (it waited for a send slot, or in transit), and its bucket
 * wastes whatever refill comes while it is full. Capping ours at what is neither held nor in flight
 * keeps Graph's bucket at least at ours plus the units in flight, whatever the arrival times.
 */
const refillToken = (state: BucketState, now: number): void => {
  const cap = effectiveCapacity(state) - state.inFlight
  if (now > state.last) {
    const next = state.units + (now - state.last) * state.rate * state.factor
    state.units = next > cap ? cap : next
    state.last = now
  } else if (state.units > cap) {
    state.units = cap
  }
}

/** Brings a bucket up to `now` (expiring window slots, refilling tokens). */
const advance = (state: BucketState, now: number): void => {
  if (state.kind === WINDOW) expireWindow(state, now)
  else if (state.kind === TOKEN) refillToken(state, now)
}

/**
 * The tokens a token bucket must hold to admit `cost`: the cost plus the reserve, never more than
 * the (effective) capacity, so that every cost that fits the capacity is admitted eventually.
 */
const tokensNeeded = (state: BucketState, cost: number, cap: number): number => {
  const need = cost + state.reserve * state.factor
  return need < cap ? need : cap
}

const fits = (state: BucketState, cost: number): boolean => {
  const cap = effectiveCapacity(state)
  switch (state.kind) {
    case WINDOW: {
      // units in flight float: they are counted as taken now, whatever time has passed
      const used = state.units + state.inFlight
      return used + cost <= cap + EPSILON || used <= EPSILON
    }
    case CONCURRENCY:
      return state.units + cost <= cap + EPSILON || state.units <= EPSILON
    default:
      return state.units + EPSILON >= tokensNeeded(state, cost, cap)
  }
}

/** When the bucket (already advanced to `now`) could next hold `cost`; `undefined` for permits. */
const readyAt = (state: BucketState, cost: number, now: number): number | undefined => {
  switch (state.kind) {
    case WINDOW: {
      const cap = effectiveCapacity(state)
      const ring = state.runAt!
      const units = state.slotUnits!
      const size = ring.length
      let remaining = state.units
      for (let i = 0; i < state.count; i++) {
        const at = (state.head + i) % size
        remaining -= units[at]!
        const used = remaining + state.inFlight
        if (used + cost <= cap + EPSILON || used <= EPSILON) {
          return ring[at]! + state.rate
        }
      }
      // only an answer, which dates units in flight, can make room: the throttler is woken by it
      return state.inFlight > EPSILON ? undefined : now
    }
    case TOKEN: {
      const cap = effectiveCapacity(state)
      const need = tokensNeeded(state, cost, cap)
      return now + (need - state.units) / (state.rate * state.factor)
    }
    default:
      return undefined
  }
}

const apply = (state: BucketState, cost: number, now: number): void => {
  if (state.kind === WINDOW) {
    const ring = state.runAt!
    const units = state.slotUnits!
    const size = ring.length
    const width = state.slotWidth
    const slot = Math.floor(now / width)
    const tail = (state.head + state.count - 1 + size) % size
    // A full ring (only a charge beyond the limit, or fractional costs in an exact window, can fill
    // it) joins the newest run, which only ever dates units later: still conservative.
    if (state.count > 0 && (Math.floor(ring[tail]! / width) === slot || state.count === size)) {
      units[tail] = units[tail]! + cost
      if (now > ring[tail]!) ring[tail] = now
    } else {
      const at = (state.head + state.count) % size
      ring[at] = now
      units[at] = cost
      state.count++
    }
  }
  if (state.kind === TOKEN) state.units -= cost
  else state.units += cost
}

/** `date`, or a window's newest run's date when that is later: runs are kept in date order. */
const notBeforeNewest = (state: BucketState, date: number): number => {
  if (state.count === 0) return date
  const newest = state.runAt![(state.head + state.count - 1) % state.runAt!.length]!
  return newest > date ? newest : date
}

/**
 * A take (not a charge: the server's own correction) is in flight until answered, when the bucket
 * tracks flights. A token bucket's units are taken now and hold its refill back; a window's units
 * float (see `fits`) and get their date from the answer (`redate`).
 */
const applyTake = (state: BucketState, cost: number, now: number): void => {
  if (state.kind === WINDOW && state.tracksInFlight) {
    state.inFlight += cost
    return
  }
  apply(state, cost, now)
  if (state.kind === TOKEN && state.tracksInFlight) state.inFlight += cost
}

/** A state identical to a freshly created one (or one whose only memory has expired) can be dropped. */
const isIdle = (state: BucketState, now: number, options: Options): boolean => {
  if (state.pausedUntil > now) return false
  if (state.factor < 1 && now - state.adaptedAt < options.adaptiveMemoryMillis) return false
  advance(state, now)
  switch (state.kind) {
    case WINDOW:
      return state.count === 0 && state.inFlight <= EPSILON
    case TOKEN:
      return state.inFlight <= EPSILON && state.units + EPSILON >= state.capacity * state.factor
    default:
      return state.units <= 0
  }
}

/**
 * The in-memory quota.
 *
 * @internal
 */
export class MemoryQuota {
  readonly states = new Map<string, BucketState>()
  private operations = 0
  private sweepEvery = 4096
  /** The states of the entries of the current `take`, so that each key is looked up once. */
  private readonly scratch: Array<BucketState> = []
  constructor(readonly options: Options = defaultOptions) {}

  private state(entry: Entry, now: number): BucketState {
    let state = this.states.get(entry.key)
    if (state === undefined) {
      state = makeState(entry.limit, this.options.windowSlots, now, this.options)
      this.states.set(entry.key, state)
    }
    return state
  }

  /**
   * Sweeps once as many operations have run as there were buckets after the last sweep (at least
   * 4096): the cost is O(1) per operation, amortised, and the map never holds more than twice the
   * buckets that were live at the last sweep, plus 4096.
   */
  private tick(now: number): void {
    // a new instant can change what a take finds (refill, expiry): it counts as a change
    if (now !== this.instant) {
      this.instant = now
      this.version++
    }
    if (++this.operations >= this.sweepEvery) this.sweep(now)
  }

  /** Forgets every bucket whose state is indistinguishable from a fresh one. */
  sweep(now: number): void {
    // a bucket forgotten with its lowered factor expired starts again at the documented limit
    this.version++
    for (const [key, state] of this.states) {
      if (isIdle(state, now, this.options)) this.states.delete(key)
    }
    this.operations = 0
    this.sweepEvery = Math.max(4096, this.states.size)
  }

  /** Number of buckets currently held in memory. */
  get size(): number {
    return this.states.size
  }

  /**
   * Takes every entry's cost from its bucket if all of them can hold it now, or takes nothing and
   * reports which buckets were short and when to try again. `entries` must have distinct keys.
   */
  take(entries: ReadonlyArray<Entry>, now: number): TakeResult {
    const outcome = this.attempt(entries, now)!
    return outcome._tag === "Taken" ? outcome : { _tag: "Blocked", retryAtMillis: outcome.retryAtMillis, keys: outcome.keys.slice() }
  }

  /** `attempt`'s answer when short: one record, rewritten by every call. */
  private readonly short: { _tag: "Blocked"; retryAtMillis: number | undefined; keys: Array<string> } = {
    _tag: "Blocked",
    retryAtMillis: undefined,
    keys: []
  }

  /**
   * Counts the changes that can alter what a take finds: every operation but a refused take (which
   * only brings buckets up to the instant, as a second one would again), and every new instant.
   */
  version = 0
  /** The instant of the last operation. */
  private instant = Number.NaN

  /**
   * `take`, answering a refusal with a record that the next call rewrites (its `keys` included):
   * a caller that keeps the keys copies them. The admission queue's attempts mostly find the same
   * buckets short as the time before, and then keep nothing. `refusedAt`: the `version` at which the
   * same entries were refused; while it is current (the same instant, and nothing taken, charged,
   * dated, released, paused, scaled or forgotten since), nothing could have changed the answer, and
   * `undefined` says so without reading a bucket.
   */
  attempt(entries: ReadonlyArray<Entry>, now: number, refusedAt = -1): TakeResult | undefined {
    this.tick(now)
    if (refusedAt === this.version) return undefined
    const n = entries.length
    let blockedKeys: Array<string> | undefined
    let retryAt: number | undefined
    const scratch = this.scratch
    for (let i = 0; i < n; i++) {
      const entry = entries[i]!
      const state = this.state(entry, now)
      scratch[i] = state
      advance(state, now)
      let at: number | undefined
      let short = false
      if (state.pausedUntil > now) {
        short = true
        at = state.pausedUntil
        if (!fits(state, entry.cost)) {
          const ready = readyAt(state, entry.cost, now)
          at = ready === undefined ? undefined : Math.max(at, ready)
        }
      } else if (!fits(state, entry.cost)) {
        short = true
        at = readyAt(state, entry.cost, now)
      }
      if (short) {
        if (blockedKeys === undefined) {
          blockedKeys = this.short.keys
          blockedKeys.length = 0
        }
        blockedKeys.push(entry.key)
        if (at !== undefined) retryAt = retryAt === undefined || at > retryAt ? at : retryAt
      }
    }
    if (blockedKeys !== undefined) {
      scratch.length = 0
      // refill arithmetic can land a hair past a whole millisecond (250.00000000000003): that is
      // rounding, not a real need for one more millisecond
      this.short.retryAtMillis = retryAt === undefined ? undefined : Math.max(now + 1, Math.ceil(retryAt - 1e-6))
      return this.short
    }
    for (let i = 0; i < n; i++) applyTake(scratch[i]!, entries[i]!.cost, now)
    scratch.length = 0
    this.version++
    return taken
  }

  /** Whether `take` would succeed now, without taking anything. */
  check(entries: ReadonlyArray<Entry>, now: number): boolean {
    for (const entry of entries) {
      const state = this.states.get(entry.key)
      if (state === undefined) continue
      advance(state, now)
      if (state.pausedUntil > now || !fits(state, entry.cost)) return false
    }
    return true
  }

  /** Takes every entry's cost without checking capacity (concurrency entries are skipped). */
  charge(entries: ReadonlyArray<Entry>, now: number): void {
    this.tick(now)
    this.version++
    for (const entry of entries) {
      if (entry.limit._tag === "Concurrency") continue
      const state = this.state(entry, now)
      advance(state, now)
      apply(state, entry.cost, now)
    }
  }

  /**
   * The request taken at `takenAt` was answered at `now`. Window units move to a run dated `datedAt`
   * (default `now`, taken within `[takenAt, now]`, and no earlier than the window's newest run, so
   * that runs stay in date order): they are counted until that date plus `W`. When the window tracks
   * flights they floated until now; otherwise they come out of the run of their sub-window, and a
   * unit already gone is counted again. Dates only move later than the take, so the window stays
   * conservative. A token bucket's units are no longer in flight.
   */
  redate(entries: ReadonlyArray<Entry>, takenAt: number, now: number, datedAt: number = now): void {
    this.tick(now)
    this.version++
    const date = datedAt >= now ? now : datedAt > takenAt ? datedAt : takenAt
    for (const entry of entries) {
      if (entry.limit._tag === "TokenBucket") {
        const state = this.states.get(entry.key)
        if (state === undefined || state.inFlight <= 0) continue
        // refill up to now under the old cap, then lift it
        advance(state, now)
        state.inFlight = Math.max(0, state.inFlight - entry.cost)
        continue
      }
      if (entry.limit._tag !== "Window" || entry.cost <= 0) continue
      const floating = this.states.get(entry.key)
      if (floating !== undefined && floating.tracksInFlight) {
        // its units floated until now: they are dated now, even when no time has passed
        advance(floating, now)
        floating.inFlight = Math.max(0, floating.inFlight - entry.cost)
        if (floating.inFlight <= EPSILON) floating.inFlight = 0
        apply(floating, entry.cost, notBeforeNewest(floating, date))
        continue
      }
      if (date <= takenAt) continue
      const state = this.state(entry, now)
      advance(state, now)
      const ring = state.runAt!
      const units = state.slotUnits!
      const size = ring.length
      const slot = Math.floor(takenAt / state.slotWidth)
      for (let i = 0; i < state.count; i++) {
        const at = (state.head + i) % size
        if (Math.floor(ring[at]! / state.slotWidth) !== slot) continue
        const moved = Math.min(units[at]!, entry.cost)
        units[at] = units[at]! - moved
        state.units -= moved
        break
      }
      apply(state, entry.cost, notBeforeNewest(state, date))
    }
  }

  /**
   * How much of a bucket's catalogue limit is in use now, as a fraction (0 for a bucket never
   * used; above 1 for a token bucket a charge left negative).
   */
  utilisation(entry: Entry, now: number): number {
    const state = this.states.get(entry.key)
    if (state === undefined) return 0
    advance(state, now)
    if (state.capacity <= 0) return 0
    if (state.kind === TOKEN) return 1 - state.units / state.capacity
    return (state.units + (state.kind === WINDOW ? state.inFlight : 0)) / state.capacity
  }

  /** Returns concurrency permits; other kinds of bucket have nothing to give back. */
  release(entries: ReadonlyArray<Entry>, now: number): void {
    this.tick(now)
    this.version++
    for (const entry of entries) {
      if (entry.limit._tag !== "Concurrency") continue
      const state = this.states.get(entry.key)
      if (state === undefined) continue
      state.units = Math.max(0, state.units - entry.cost)
    }
  }

  /** Admits nothing on these buckets before `untilMillis` (pauses only ever extend). */
  pause(entries: ReadonlyArray<Entry>, untilMillis: number, now: number): void {
    this.tick(now)
    this.version++
    for (const entry of entries) {
      const state = this.state(entry, now)
      if (untilMillis > state.pausedUntil) state.pausedUntil = untilMillis
    }
  }

  /**
   * Sets the effective limit to `factor` of the catalogue's value (capped at 1; a factor that is
   * not positive changes nothing). The units held are kept: a lowered window admits nothing more
   * until enough of them have left; a raised one admits more at once. A bucket with no state that
   * is set to 1 stays without state.
   */
  scale(entries: ReadonlyArray<Entry>, factor: number, now: number): void {
    if (!(factor > 0)) return
    this.tick(now)
    this.version++
    const f = factor < 1 ? factor : 1
    for (const entry of entries) {
      let state = this.states.get(entry.key)
      if (state === undefined) {
        if (f >= 1) continue
        state = this.state(entry, now)
      }
      advance(state, now)
      state.factor = f
      state.adaptedAt = now
      if (state.kind === TOKEN) refillToken(state, now)
    }
  }

  /** The adaptive factor of a bucket (1 when it has no state). */
  factorOf(key: string): number {
    return this.states.get(key)?.factor ?? 1
  }

  /** When a bucket's pause ends (0 when it is not paused). */
  pausedUntil(key: string): number {
    return this.states.get(key)?.pausedUntil ?? 0
  }
}

/**
 * The synchronous face of the in-memory store: the same operations as `QuotaStoreService`, without
 * Effects.
 *
 * @internal
 */
export interface Local {
  readonly take: (entries: ReadonlyArray<Entry>, nowMillis: number) => TakeResult
  /**
   * `take`, whose refusal the next call rewrites, or `undefined` when the same entries were refused
   * at `version` `refusedAt` and it is still current (see `MemoryQuota.attempt`): for the admission
   * queue.
   */
  readonly attempt: (entries: ReadonlyArray<Entry>, nowMillis: number, refusedAt?: number) => TakeResult | undefined
  /** See `MemoryQuota.version`. */
  readonly version: () => number
  readonly check: (entries: ReadonlyArray<Entry>, nowMillis: number) => boolean
  readonly release: (entries: ReadonlyArray<Entry>, nowMillis: number) => void
  readonly pause: (entries: ReadonlyArray<Entry>, untilMillis: number, nowMillis: number) => void
  readonly adjust: (entries: ReadonlyArray<Entry>, adjustment: Adjustment, nowMillis: number) => void
  /** The fraction of a bucket's catalogue limit in use now (0 for a bucket it does not hold). */
  readonly utilisation: (entry: Entry, nowMillis: number) => number
}

/** @internal */
export const localOf = (quota: MemoryQuota): Local => ({
  take: (entries, now) => quota.take(entries, now),
  attempt: (entries, now, refusedAt) => quota.attempt(entries, now, refusedAt),
  version: () => quota.version,
  check: (entries, now) => quota.check(entries, now),
  release: (entries, now) => quota.release(entries, now),
  pause: (entries, until, now) => quota.pause(entries, until, now),
  adjust: (entries, adjustment, now) => {
    switch (adjustment._tag) {
      case "Scale":
        return quota.scale(entries, adjustment.factor, now)
      case "Charge":
        return quota.charge(entries, now)
      case "Redate":
        return quota.redate(entries, adjustment.takenAtMillis, now, adjustment.datedAtMillis)
    }
  },
  utilisation: (entry, now) => quota.utilisation(entry, now)
})

/** The stores `QuotaStore.makeMemory` built, with their synchronous faces. */
const faces = new WeakMap<QuotaStoreService, Local>()

/**
 * Records that `store` is the in-memory store behind `local`. Only `QuotaStore.makeMemory` calls it.
 *
 * @internal
 */
export const register = <S extends QuotaStoreService>(store: S, local: Local): S => {
  faces.set(store, local)
  return store
}

/**
 * The synchronous face of a store built by `QuotaStore.makeMemory`; `undefined` for any other store
 * (a copy or wrapper of one included), which is then driven through its Effects.
 *
 * @internal
 */
export const faceOf = (store: QuotaStoreService): Local | undefined => faces.get(store)
