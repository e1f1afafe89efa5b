/**
 * The admission queue behind the `Throttler` and the standalone limiters: a synchronous event loop
 * over waiting requests. It owns the local queue (ranks, fairness, wake-ups); the buckets themselves
 * are in the quota store.
 *
 * Rules, in order of precedence:
 *
 * 1. A request takes from all of its buckets at once or from none (the store's atomic `take`).
 * 2. Requests are ranked by `arrival + level * agingMillis` (then by arrival order): high before
 *    normal before low, first come first served within a level, and a request that has waited
 *    `agingMillis` ranks ahead of any newer request one level above it, so nothing starves.
 * 3. A waiting request *claims* the buckets that were short for it at its last attempt. No request
 *    ranked after it may take from a claimed bucket. That is what stops cheap requests from
 *    overtaking a costly one forever.
 * 4. Buckets that are not claimed are free for anyone (work conservation): a request waiting on one
 *    bucket holds nothing on its others.
 *
 * Events (arrival, a due retry, a released permit, a lifted claim, a raised limit) mark buckets dirty;
 * `drain` scans each dirty bucket's queue in rank order and attempts the requests that may go.
 *
 * @internal
 */
import type { Entry, TakeResult } from "../../QuotaStore.js"
import type { Local } from "../quota/memory.js"

/** @internal */
export const HIGH = 0
/** @internal */
export const NORMAL = 1
/** @internal */
export const LOW = 2

const QUEUED = 0
const INFLIGHT = 1
const DONE = 2

/**
 * Told when a waiter is admitted or its store call fails. One listener can serve many waiters.
 *
 * @internal
 */
export interface Listener {
  readonly admitted: (waiter: Waiter) => void
  readonly failed: (waiter: Waiter, cause: unknown) => void
}

/** @internal */
export class Waiter {
  state = QUEUED
  enqueued = false
  cancelled = false
  /** Buckets that were short at the last attempt. */
  claims: ReadonlyArray<string> | undefined = undefined
  /** When the last attempt said to try again (Infinity: after a release; -1: never attempted). */
  retryAt = -1
  /** Set when a bucket it is short on may have gained room (a release, a raised limit). */
  retryNow = false
  timerEpoch = 0
  /** Event number at admission (0 while waiting). */
  admission = 0
  /** Clock time of admission, in milliseconds. */
  admittedAt = 0
  /** Set once concurrency permits have been given back. */
  released = false
  /** Why the store failed, when it did (remote stores only). */
  failure: unknown = undefined
  /** The in-memory store's version when it last refused it (-1: never; see `Local.attempt`). */
  refusedVersion = -1
  constructor(
    readonly entries: ReadonlyArray<Entry>,
    readonly rank: number,
    readonly seq: number,
    readonly level: number,
    /** Event number at arrival. */
    readonly arrival: number,
    readonly arrivedAt: number,
    readonly listener: Listener,
    /** Whatever the listener needs to reach the requester (a fiber's resume, a stream's item). */
    public payload: unknown
  ) {}
}

const noListener: Listener = { admitted: () => {}, failed: () => {} }

const sameKeys = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const before = (a: Waiter, b: Waiter): boolean => a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)

const byRank = (a: TimerEntry, b: TimerEntry): number => before(a.waiter, b.waiter) ? -1 : before(b.waiter, a.waiter) ? 1 : 0

/** The waiters that have a demand on one bucket, in three FIFO lanes (one per level). */
class KeyQueue {
  readonly lanes: [Array<Waiter>, Array<Waiter>, Array<Waiter>] = [[], [], []]
  readonly heads = [0, 0, 0]
  live = 0
  dead = 0
  busy = 0
  /** A wake arrived while a take was in flight; its answer may predate the new room. */
  wokenWhileBusy = false
  claimers: Array<Waiter> = []

  /** Room may have grown: every waiter short on this bucket should look again. */
  wakeClaimers(): void {
    for (let i = 0; i < this.claimers.length; i++) this.claimers[i]!.retryNow = true
  }

  /**
   * Keeps each lane in rank order. Arrivals come in rank order unless they carry a lead, so the
   * common case is an append; a request with a lead is placed by binary search.
   */
  push(waiter: Waiter): void {
    this.compact()
    const lane = this.lanes[waiter.level]!
    const last = lane.length > 0 ? lane[lane.length - 1]! : undefined
    if (last === undefined || !before(waiter, last)) {
      lane.push(waiter)
    } else {
      let lo = this.heads[waiter.level]!
      let hi = lane.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (before(lane[mid]!, waiter)) lo = mid + 1
        else hi = mid
      }
      lane.splice(lo, 0, waiter)
    }
    this.live++
  }

  /** Drops finished waiters at the front of each lane. */
  tidy(): void {
    for (let l = 0; l < 3; l++) {
      const lane = this.lanes[l]!
      let h = this.heads[l]!
      while (h < lane.length && lane[h]!.state === DONE) {
        h++
        this.dead--
      }
      if (h === lane.length) {
        lane.length = 0
        h = 0
      }
      this.heads[l] = h
    }
  }

  /** Rebuilds the lanes without finished waiters once most entries are dead. Never during a scan. */
  compact(): void {
    if (this.dead > 64 && this.dead > this.live) {
      for (let l = 0; l < 3; l++) {
        const lane = this.lanes[l]!
        const kept: Array<Waiter> = []
        for (let i = this.heads[l]!; i < lane.length; i++) if (lane[i]!.state !== DONE) kept.push(lane[i]!)
        this.lanes[l] = kept
        this.heads[l] = 0
      }
      this.dead = 0
    }
  }

  /** A claimer ranked before `waiter` (other than itself), if any. */
  blocks(waiter: Waiter): boolean {
    const claimers = this.claimers
    for (let i = 0; i < claimers.length; i++) {
      const c = claimers[i]!
      if (c !== waiter && before(c, waiter)) return true
    }
    return false
  }

  removeClaimer(waiter: Waiter): void {
    const i = this.claimers.indexOf(waiter)
    if (i >= 0) {
      this.claimers[i] = this.claimers[this.claimers.length - 1]!
      this.claimers.pop()
    }
  }
}

interface TimerEntry {
  readonly at: number
  readonly waiter: Waiter
  readonly epoch: number
}

/** A binary min-heap of wake-ups. */
class TimerHeap {
  readonly items: Array<TimerEntry> = []
  get size(): number {
    return this.items.length
  }
  peek(): TimerEntry | undefined {
    return this.items[0]
  }
  push(entry: TimerEntry): void {
    const items = this.items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (items[p]!.at <= entry.at) break
      items[i] = items[p]!
      i = p
    }
    items[i] = entry
  }
  pop(): TimerEntry | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      let i = 0
      const n = items.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && items[r]!.at < items[l]!.at ? r : l
        if (items[c]!.at >= last.at) break
        items[i] = items[c]!
        i = c
      }
      items[i] = last
    }
    return top
  }
}

/**
 * How the admission queue reaches the store: synchronously (in-process stores) or through a callback that
 * is invoked once the store has answered.
 *
 * @internal
 */
export type Driver =
  | { readonly _tag: "Local"; readonly local: Local }
  | {
    readonly _tag: "Remote"
    readonly take: (
      entries: ReadonlyArray<Entry>,
      nowMillis: number,
      done: (result: { readonly _tag: "Ok"; readonly outcome: TakeResult } | { readonly _tag: "Error"; readonly cause: unknown }) => void
    ) => void
    /** Gives back what a cancelled in-flight take obtained. */
    readonly release: (entries: ReadonlyArray<Entry>, nowMillis: number) => void
  }

/**
 * Arms one wake-up at an absolute instant, replacing any earlier one.
 *
 * @internal
 */
export interface Timer {
  readonly arm: (atMillis: number) => void
}

/** @internal */
export interface AdmissionQueueOptions {
  readonly agingMillis: number
}

/**
 * The admission queue's bookkeeping: a queue per bucket, the claims on it, the buckets to rescan, and the
 * wake-ups. Nothing here talks to the store.
 *
 * @internal
 */
export class Queues {
  protected readonly queues = new Map<string, KeyQueue>()
  protected readonly timers = new TimerHeap()
  protected readonly dirty: Array<string> = []
  protected readonly dirtySet = new Set<string>()
  protected armedAt = Infinity
  protected seq = 0
  protected events = 0
  /** Requests waiting (queued or in flight). */
  waiting = 0

  constructor(private readonly timer: Timer) {}

  protected eligible(waiter: Waiter): boolean {
    const entries = waiter.entries
    for (let i = 0; i < entries.length; i++) {
      const queue = this.queues.get(entries[i]!.key)
      if (queue === undefined) continue
      if (queue.busy > 0 && waiter.state !== INFLIGHT) return false
      if (queue.claimers.length > 0 && queue.blocks(waiter)) return false
    }
    return true
  }

  protected enqueue(waiter: Waiter): void {
    if (waiter.enqueued) return
    waiter.enqueued = true
    this.waiting++
    for (const entry of waiter.entries) {
      let queue = this.queues.get(entry.key)
      if (queue === undefined) {
        queue = new KeyQueue()
        this.queues.set(entry.key, queue)
      }
      queue.push(waiter)
    }
  }

  protected remove(waiter: Waiter): void {
    const wasEnqueued = waiter.enqueued
    waiter.state = DONE
    if (!wasEnqueued) return
    waiter.enqueued = false
    this.waiting--
    const claims = waiter.claims
    waiter.claims = undefined
    for (const entry of waiter.entries) {
      const queue = this.queues.get(entry.key)
      if (queue === undefined) continue
      queue.live--
      queue.dead++
      if (claims !== undefined && claims.includes(entry.key)) {
        queue.removeClaimer(waiter)
        this.markDirty(entry.key)
      }
      queue.tidy()
      this.dropIfEmpty(entry.key, queue)
    }
  }

  protected dropIfEmpty(key: string, queue: KeyQueue): void {
    if (queue.live === 0 && queue.busy === 0 && queue.claimers.length === 0) this.queues.delete(key)
  }

  protected markDirty(key: string): void {
    if (!this.dirtySet.has(key)) {
      this.dirtySet.add(key)
      this.dirty.push(key)
    }
  }

  protected admit(waiter: Waiter, now: number): void {
    this.remove(waiter)
    waiter.admission = ++this.events
    waiter.admittedAt = now
    waiter.listener.admitted(waiter)
  }

  /**
   * Records what a failed attempt found: the buckets it now claims and when to retry. `local`: the
   * in-memory store's refusal (`Local.attempt`), whose keys its next call rewrites: they are copied
   * when kept.
   */
  protected blocked(
    waiter: Waiter,
    outcome: TakeResult & { readonly _tag: "Blocked" },
    now: number,
    local = false
  ): void {
    const previous = waiter.claims
    const found = outcome.keys
    const retryAt = outcome.retryAtMillis
    if (
      local && previous !== undefined && retryAt !== undefined && retryAt === waiter.retryAt && retryAt > now &&
      sameKeys(previous, found)
    ) {
      // Short again on the same buckets until the same instant (a wake that found no new room): its
      // claims stand, the same list, and so does its wake-up, which is still in the heap (an entry
      // due later than now, of its current epoch; a waiter of a remote store may have lost it while
      // its take was in flight, hence `local`).
      this.rearm()
      return
    }
    const next = local ? found.slice() : found
    if (previous !== undefined) {
      for (const key of previous) {
        if (!next.includes(key)) {
          this.queues.get(key)?.removeClaimer(waiter)
          this.markDirty(key)
        }
      }
    }
    for (const key of next) {
      if (previous === undefined || !previous.includes(key)) this.queues.get(key)?.claimers.push(waiter)
    }
    waiter.claims = next
    if (retryAt === undefined) {
      waiter.retryAt = Infinity
      waiter.timerEpoch++
    } else {
      waiter.retryAt = retryAt
      const epoch = ++waiter.timerEpoch
      this.timers.push({ at: Math.max(retryAt, now), waiter, epoch })
      this.rearm()
    }
  }

  /** `blocked` for a refusal of the in-memory store, remembered with the store's version. */
  protected refused(waiter: Waiter, outcome: TakeResult & { readonly _tag: "Blocked" }, now: number, local: Local): void {
    waiter.refusedVersion = local.version()
    this.blocked(waiter, outcome, now, true)
  }

  /**
   * A waiter that is due but held back (a better-ranked waiter claims one of its buckets) gives up
   * its own claims. It cannot go before that waiter does, and its claims, made at its last attempt,
   * would otherwise keep buckets that have room since then idle for everyone ranked after it. It is
   * tried again, and claims again, once it is eligible: the claim that held it back is lifted when
   * that waiter leaves, which rescans the bucket.
   */
  protected unclaim(waiter: Waiter): void {
    const claims = waiter.claims
    if (claims === undefined || waiter.state !== QUEUED) return
    for (const key of claims) {
      this.queues.get(key)?.removeClaimer(waiter)
      this.markDirty(key)
    }
    waiter.claims = undefined
    waiter.retryNow = false
    waiter.timerEpoch++
  }

  protected rearm(): void {
    for (;;) {
      const top = this.timers.peek()
      if (top === undefined) return
      if (top.waiter.state !== QUEUED || top.waiter.timerEpoch !== top.epoch) {
        this.timers.pop()
        continue
      }
      if (top.at < this.armedAt) {
        this.armedAt = top.at
        this.timer.arm(top.at)
      }
      return
    }
  }
}

/**
 * Tries waiters against the store: one attempt, the scan of a dirty bucket's queue in rank order,
 * and the wake-ups that are due.
 *
 * @internal
 */
export class Scanner extends Queues {
  /** Scratch list of the wake-ups that are due, reused by `onTimer`. */
  private readonly due: Array<TimerEntry> = []
  private draining = false

  constructor(
    readonly driver: Driver,
    readonly options: AdmissionQueueOptions,
    timer: Timer,
    protected readonly now: () => number
  ) {
    super(timer)
  }

  /**
   * Wake-ups are due: their waiters are tried in rank order, not in the order the heap gives them
   * (which is by instant, and arbitrary within one), and each claim that an attempt lifts is
   * rescanned before the next due waiter is tried. Otherwise a due waiter could take room that a
   * better-ranked waiter due at the same instant, or one that the lifted claim had held back, would
   * have had first.
   */
  onTimer(): void {
    const now = this.now()
    this.armedAt = Infinity
    const due = this.due
    for (;;) {
      for (;;) {
        const top = this.timers.peek()
        if (top === undefined || top.at > now) break
        this.timers.pop()
        if (top.waiter.state === QUEUED && top.waiter.timerEpoch === top.epoch) due.push(top)
      }
      if (due.length === 0) break
      if (due.length > 1) due.sort(byRank)
      for (let i = 0; i < due.length; i++) {
        const { epoch, waiter } = due[i]!
        // an earlier attempt's rescan may have tried it already
        if (waiter.state !== QUEUED || waiter.timerEpoch !== epoch) continue
        if (this.eligible(waiter)) this.attempt(waiter, now)
        else this.unclaim(waiter)
        this.drain(now)
      }
      due.length = 0
    }
    this.drain(now)
    this.rearm()
  }

  /** Tries a waiter that is eligible. */
  protected attempt(waiter: Waiter, now: number): void {
    waiter.retryNow = false
    const driver = this.driver
    if (driver._tag === "Local") {
      // Refused at this instant already, and the store unchanged since: the same refusal, which would
      // leave its claims and its wake-up as they stand (see `blocked`). Most wakes by an answer find
      // just that: the answers of one batch wake its buckets' claimers once per item.
      const repeat = waiter.claims !== undefined && waiter.retryAt > now && waiter.retryAt !== Infinity
      const outcome = driver.local.attempt(waiter.entries, now, repeat ? waiter.refusedVersion : -1)
      if (outcome === undefined) this.rearm()
      else if (outcome._tag === "Taken") this.admit(waiter, now)
      else this.refused(waiter, outcome, now, driver.local)
      return
    }
    waiter.state = INFLIGHT
    for (const entry of waiter.entries) this.queues.get(entry.key)!.busy++
    driver.take(waiter.entries, now, (result) => {
      const at = this.now()
      for (const entry of waiter.entries) {
        const queue = this.queues.get(entry.key)!
        queue.busy--
        this.markDirty(entry.key)
      }
      waiter.state = QUEUED
      if (result._tag === "Error") {
        this.remove(waiter)
        if (!waiter.cancelled) waiter.listener.failed(waiter, result.cause)
      } else if (result.outcome._tag === "Taken") {
        if (waiter.cancelled) {
          this.remove(waiter)
          driver.release(waiter.entries, at)
        } else {
          this.admit(waiter, at)
        }
      } else if (waiter.cancelled) {
        this.remove(waiter)
      } else {
        this.blocked(waiter, result.outcome, at)
      }
      for (const entry of waiter.entries) {
        const queue = this.queues.get(entry.key)
        if (queue === undefined) continue
        if (queue.wokenWhileBusy && queue.busy === 0) {
          queue.wokenWhileBusy = false
          queue.wakeClaimers()
        }
        this.dropIfEmpty(entry.key, queue)
      }
      this.drain(at)
    })
  }

  /** Scans every dirty bucket's queue in rank order and attempts whoever may go. */
  protected drain(now: number): void {
    if (this.draining) return
    this.draining = true
    try {
      while (this.dirty.length > 0) {
        const key = this.dirty.shift()!
        this.dirtySet.delete(key)
        this.scan(key, now)
      }
    } finally {
      this.draining = false
    }
  }

  protected scan(key: string, now: number): void {
    const queue = this.queues.get(key)
    if (queue === undefined) return
    queue.tidy()
    queue.compact()
    const positions = [queue.heads[0]!, queue.heads[1]!, queue.heads[2]!]
    for (;;) {
      if (queue.busy > 0) return
      // The next waiter in rank order across the three lanes.
      let best: Waiter | undefined
      let bestLane = -1
      for (let l = 0; l < 3; l++) {
        const lane = queue.lanes[l]!
        let p = positions[l]!
        while (p < lane.length && lane[p]!.state === DONE) p++
        positions[l] = p
        if (p < lane.length && (best === undefined || before(lane[p]!, best))) {
          best = lane[p]!
          bestLane = l
        }
      }
      if (best === undefined) return
      positions[bestLane]!++
      const waiter = best
      if (waiter.state !== QUEUED) return
      // A waiter that was short is retried when its wake-up is due or one of its buckets gained room;
      // one that has never been tried is tried as soon as it is eligible.
      const candidate = waiter.claims === undefined || waiter.retryNow || waiter.retryAt <= now
      if (candidate) {
        if (this.eligible(waiter)) this.attempt(waiter, now)
        else this.unclaim(waiter)
      }
      if (this.queues.get(key) !== queue) return
      const after = waiter.claims
      if (waiter.state === QUEUED && after !== undefined && after.includes(key)) return
    }
  }

}

/**
 * The admission queue's entry points (see the module's comment).
 *
 * @internal
 */
export class AdmissionQueue extends Scanner {
  /**
   * A request arrives. Returns the waiter; its listener has already been told if it was admitted on
   * the spot (then `waiter.admission > 0`).
   */
  arrive(entries: ReadonlyArray<Entry>, level: number, listener: Listener, payload: unknown, leadMillis = 0): Waiter {
    const now = this.now()
    const waiter = new Waiter(
      entries,
      now + level * this.options.agingMillis - leadMillis,
      ++this.seq,
      level,
      ++this.events,
      now,
      listener,
      payload
    )
    if (this.driver._tag === "Local") {
      if (this.eligible(waiter)) {
        const outcome = this.driver.local.attempt(entries, now)!
        if (outcome._tag === "Taken") {
          waiter.state = DONE
          waiter.admission = ++this.events
          waiter.admittedAt = now
          listener.admitted(waiter)
          return waiter
        }
        this.enqueue(waiter)
        this.refused(waiter, outcome, now, this.driver.local)
      } else {
        this.enqueue(waiter)
      }
      this.drain(now)
      return waiter
    }
    this.enqueue(waiter)
    if (this.eligible(waiter)) this.attempt(waiter, now)
    this.drain(now)
    return waiter
  }

  /**
   * A request that only wants to go now: admitted on the spot when a request arriving now at `level`
   * would be (no waiter ranked before it claims its buckets, and the store has room), and otherwise
   * forgotten: it never queues and claims nothing. With a remote store it is only checked against the
   * local queue (`"Check"`): the caller takes from the store itself.
   */
  tryArrive(entries: ReadonlyArray<Entry>, level: number, leadMillis = 0): Waiter | "Check" | undefined {
    const now = this.now()
    const rank = now + level * this.options.agingMillis - leadMillis
    for (let i = 0; i < entries.length; i++) {
      const queue = this.queues.get(entries[i]!.key)
      if (queue === undefined) continue
      if (queue.busy > 0) return undefined
      const claimers = queue.claimers
      // a newcomer ranks after every waiter of the same rank, so a claimer blocks it unless ranked later
      for (let j = 0; j < claimers.length; j++) if (claimers[j]!.rank <= rank) return undefined
    }
    if (this.driver._tag === "Remote") return "Check"
    if (this.driver.local.attempt(entries, now)!._tag !== "Taken") return undefined
    return this.admitted(entries, level, now)
  }

  /** A permit for entries already taken from the store outside the queue (see `tryArrive`). */
  admitted(entries: ReadonlyArray<Entry>, level: number, now: number): Waiter {
    const waiter = new Waiter(
      entries,
      now + level * this.options.agingMillis,
      ++this.seq,
      level,
      ++this.events,
      now,
      noListener,
      undefined
    )
    waiter.state = DONE
    waiter.admission = ++this.events
    waiter.admittedAt = now
    return waiter
  }

  /** A waiting request gave up (its fiber was interrupted). */
  cancel(waiter: Waiter): void {
    if (waiter.state === DONE) return
    waiter.cancelled = true
    if (waiter.state === INFLIGHT) return
    this.remove(waiter)
    this.drain(this.now())
  }

  /**
   * Capacity may have grown on these buckets (a permit released, a limit raised). Only a waiter that
   * was short on one of them (a claimer) can go because of it: a bucket nobody claims is not
   * rescanned. (Waiters never tried, or that gave up their claims, are rescanned when the claim that
   * holds them back is lifted, and waiters short on other buckets by their own wake-up.)
   */
  wake(keys: ReadonlyArray<string>): void {
    let any = false
    for (let i = 0; i < keys.length; i++) if (this.wakeKey(keys[i]!)) any = true
    if (any) this.drain(this.now())
  }

  /** `wake` for the entries' keys, in their order, without a list of keys. */
  wakeEntries(entries: ReadonlyArray<Entry>): void {
    if (this.queues.size === 0) return
    let any = false
    for (let i = 0; i < entries.length; i++) if (this.wakeKey(entries[i]!.key)) any = true
    if (any) this.drain(this.now())
  }

  /** Marks one woken bucket; whether it must be rescanned. */
  private wakeKey(key: string): boolean {
    const queue = this.queues.get(key)
    if (queue === undefined) return false
    if (queue.busy > 0) queue.wokenWhileBusy = true
    else if (queue.claimers.length === 0) return false
    queue.wakeClaimers()
    this.markDirty(key)
    return true
  }

  /** Whether a waiting request could be admitted right now (for tests of work conservation). */
  couldGo(waiter: Waiter, check: (entries: ReadonlyArray<Entry>) => boolean): boolean {
    return waiter.state === QUEUED && this.eligible(waiter) && check(waiter.entries)
  }

  /** Every request still waiting, in no particular order (for tests and diagnostics). */
  waiters(): Array<Waiter> {
    const seen = new Set<Waiter>()
    for (const queue of this.queues.values()) {
      for (let l = 0; l < 3; l++) {
        const lane = queue.lanes[l]!
        for (let i = queue.heads[l]!; i < lane.length; i++) {
          if (lane[i]!.state !== DONE) seen.add(lane[i]!)
        }
      }
    }
    return [...seen]
  }

  /** Buckets with a local queue (bounded by the buckets that have waiters). */
  get queueCount(): number {
    return this.queues.size
  }

}
