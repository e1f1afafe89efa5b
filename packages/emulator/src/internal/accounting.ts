/**
 * The emulator's own server-side accounting. It deliberately shares no code with the client's
 * Throttler: an exact sliding-window log per window bucket, a continuously refilled token bucket per
 * token bucket, and an in-flight count per concurrency bucket.
 *
 * All operations are synchronous and take `now` (milliseconds) from the caller, so the emulator's
 * clock (a `TestClock` in tests) is the only source of time. JavaScript runs one synchronous block at
 * a time, so a check-and-commit inside one call is atomic.
 *
 * @internal
 */
import type { Bucket } from "@effect-msgraph/spec"

/** A demand whose limit has been scaled by the emulator's configuration. @internal */
export interface Enforced {
  readonly demand: Bucket.Demand
  /** The limit the emulator enforces (documented limit × multiplier, or an override). */
  readonly limit: Bucket.Limit
}

/** @internal */
export type Verdict =
  | { readonly _tag: "Admitted" }
  | {
    readonly _tag: "Throttled"
    /** The demand whose bucket refused the request; the one with the longest wait. */
    readonly by: Enforced
    /** Milliseconds until that bucket could admit the request. */
    readonly retryAfterMillis: number
  }

/** Every admission's verdict: one object, it carries nothing else. */
const admitted: Verdict = { _tag: "Admitted" }

/** How full a bucket is, for the informational headers. @internal */
export interface Usage {
  readonly used: number
  readonly limit: number
  /** Milliseconds until the oldest counted unit leaves the window (or the bucket is full again). */
  readonly resetMillis: number
}

interface WindowState {
  readonly windowMillis: number
  readonly at: Array<number>
  readonly cost: Array<number>
  head: number
  sum: number
}

interface TokenState {
  readonly capacity: number
  readonly refillPerSecond: number
  tokens: number
  last: number
}

/**
 * A bucket's id, made once per demand object: classification shares demand objects between
 * requests, and a string built afresh for every lookup would be hashed afresh every time.
 */
const bucketIds = new WeakMap<Bucket.Demand, string>()
const bucketId = (demand: Bucket.Demand): string => {
  let id = bucketIds.get(demand)
  if (id === undefined) {
    id = `${demand.entryId}\u0000${demand.key}`
    bucketIds.set(demand, id)
  }
  return id
}

/** Milliseconds a concurrency-refused request is told to wait: Graph documents no value. @internal */
export const concurrencyRetryMillis = 1_000

/** @internal */
export class Accounting {
  private readonly windows = new Map<string, WindowState>()
  private readonly tokens = new Map<string, TokenState>()
  private readonly inflight = new Map<string, number>()

  /** Checks every demand and commits all of them only if all admit the request. */
  tryAdmit(demands: ReadonlyArray<Enforced>, now: number): Verdict {
    let worst: { by: Enforced; retryAfterMillis: number } | undefined
    for (const enforced of demands) {
      const wait = this.waitFor(enforced, now)
      if (wait > 0 && (worst === undefined || wait > worst.retryAfterMillis)) {
        worst = { by: enforced, retryAfterMillis: wait }
      }
    }
    if (worst !== undefined) return { _tag: "Throttled", ...worst }
    for (const enforced of demands) this.commit(enforced, now)
    return admitted
  }

  /** Gives back the permits an admitted request held on its concurrency buckets. */
  release(demands: ReadonlyArray<Enforced>): void {
    for (const { demand, limit } of demands) {
      if (limit._tag !== "Concurrency") continue
      const id = bucketId(demand)
      const left = (this.inflight.get(id) ?? 0) - demand.cost
      if (left <= 0) this.inflight.delete(id)
      else this.inflight.set(id, left)
    }
  }

  /** The fill level of a demand's bucket right now (after any commit already made). */
  usage(enforced: Enforced, now: number): Usage {
    const { demand, limit } = enforced
    const id = bucketId(demand)
    switch (limit._tag) {
      case "Window": {
        const state = this.windows.get(id)
        if (state === undefined) return { used: 0, limit: limit.limit, resetMillis: 0 }
        this.prune(state, limit.windowMillis, now)
        const oldest = state.head < state.at.length ? state.at[state.head]! : now
        return { used: state.sum, limit: limit.limit, resetMillis: Math.max(0, oldest + limit.windowMillis - now) }
      }
      case "TokenBucket": {
        const state = this.refill(id, limit, now)
        const used = limit.capacity - state.tokens
        const resetMillis = limit.refillPerSecond > 0 ? (used / limit.refillPerSecond) * 1000 : 0
        return { used, limit: limit.capacity, resetMillis }
      }
      case "Concurrency":
        return { used: this.inflight.get(id) ?? 0, limit: limit.permits, resetMillis: 0 }
    }
  }

  /** Forgets buckets that hold nothing, so memory stays bounded by the live state. */
  sweep(now: number): void {
    for (const [id, state] of this.windows) {
      this.prune(state, state.windowMillis, now)
      if (state.head >= state.at.length) this.windows.delete(id)
    }
    for (const [id, state] of this.tokens) {
      if (state.tokens + ((now - state.last) / 1000) * state.refillPerSecond >= state.capacity) this.tokens.delete(id)
    }
  }

  private waitFor(enforced: Enforced, now: number): number {
    const { demand, limit } = enforced
    const id = bucketId(demand)
    switch (limit._tag) {
      case "Window": {
        const state = this.windows.get(id)
        const sum = state === undefined ? 0 : (this.prune(state, limit.windowMillis, now), state.sum)
        if (sum + demand.cost <= limit.limit) return 0
        if (state === undefined || demand.cost > limit.limit) return limit.windowMillis
        // Walk the log from the oldest unit until enough has left the window.
        const excess = sum + demand.cost - limit.limit
        let freed = 0
        for (let i = state.head; i < state.at.length; i++) {
          freed += state.cost[i]!
          if (freed >= excess) return Math.max(1, state.at[i]! + limit.windowMillis - now)
        }
        return limit.windowMillis
      }
      case "TokenBucket": {
        const state = this.refill(id, limit, now)
        if (state.tokens >= demand.cost) return 0
        if (limit.refillPerSecond <= 0) return Number.POSITIVE_INFINITY
        const needed = Math.min(demand.cost, limit.capacity) - state.tokens
        return Math.max(1, Math.ceil((needed / limit.refillPerSecond) * 1000))
      }
      case "Concurrency": {
        const held = this.inflight.get(id) ?? 0
        return held + demand.cost <= limit.permits ? 0 : concurrencyRetryMillis
      }
    }
  }

  private commit(enforced: Enforced, now: number): void {
    const { demand, limit } = enforced
    const id = bucketId(demand)
    switch (limit._tag) {
      case "Window": {
        let state = this.windows.get(id)
        if (state === undefined) {
          state = { windowMillis: limit.windowMillis, at: [], cost: [], head: 0, sum: 0 }
          this.windows.set(id, state)
        }
        state.at.push(now)
        state.cost.push(demand.cost)
        state.sum += demand.cost
        return
      }
      case "TokenBucket": {
        const state = this.refill(id, limit, now)
        state.tokens -= demand.cost
        return
      }
      case "Concurrency":
        this.inflight.set(id, (this.inflight.get(id) ?? 0) + demand.cost)
        return
    }
  }

  private prune(state: WindowState, windowMillis: number, now: number): void {
    const cutoff = now - windowMillis
    while (state.head < state.at.length && state.at[state.head]! <= cutoff) {
      state.sum -= state.cost[state.head]!
      state.head++
    }
    if (state.head > 1024 && state.head * 2 > state.at.length) {
      state.at.splice(0, state.head)
      state.cost.splice(0, state.head)
      state.head = 0
    }
  }

  private refill(id: string, limit: Bucket.TokenBucketLimit, now: number): TokenState {
    let state = this.tokens.get(id)
    if (state === undefined) {
      state = { capacity: limit.capacity, refillPerSecond: limit.refillPerSecond, tokens: limit.capacity, last: now }
      this.tokens.set(id, state)
      return state
    }
    if (now > state.last) {
      state.tokens = Math.min(limit.capacity, state.tokens + ((now - state.last) / 1000) * limit.refillPerSecond)
      state.last = now
    }
    return state
  }
}

/** @internal */
export const bucketIdOf = (demand: Bucket.Demand): string => bucketId(demand)
