/**
 * Where bucket state lives. The `Throttler` keeps its queue of waiting requests in memory, but the
 * buckets themselves (units used in each sliding window, tokens left, permits in use, pauses asked
 * for by the server, adaptively lowered limits) are behind this small interface, so that several
 * processes can later share one quota through a store such as Redis.
 *
 * The interface is built around one atomic call, {@link QuotaStoreService.take}: "take these costs from
 * these buckets, all or nothing, or tell me which of them are short and when to try again". A shared
 * store implements it as one round trip (a Lua script in Redis). Everything else is a plain write.
 *
 * The in-memory store ships here. It is synchronous underneath; a `Throttler` built over the very
 * store that {@link makeMemory} returned drives it directly, so that admission stays a handful of map
 * lookups. Any other store, in this process or not, is driven through the Effects of this interface.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Limit } from "@effect-msgraph/spec/Bucket"
import * as internal from "./internal/quota/memory.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-msgraph/core/QuotaStore")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What a store needs from a demand. Every `Bucket.Demand` is one. Within one call the keys are
 * distinct and every cost is positive (the `Throttler` merges and filters before calling).
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly key: string
  readonly limit: Limit
  readonly cost: number
}

/**
 * Every entry's cost was taken.
 *
 * @since 0.1.0
 * @category models
 */
export interface Taken {
  readonly _tag: "Taken"
}

/**
 * Nothing was taken. `keys` are the buckets that were short (or paused). `retryAtMillis` is the
 * earliest instant at which all of them could hold their cost, or `undefined` when only a released
 * concurrency permit can help (a shared store should return a polling instant instead, since it
 * cannot see other processes' releases).
 *
 * @since 0.1.0
 * @category models
 */
export interface Blocked {
  readonly _tag: "Blocked"
  readonly retryAtMillis: number | undefined
  readonly keys: ReadonlyArray<string>
}

/**
 * What `take` returns: every cost was taken, or nothing was.
 *
 * @since 0.1.0
 * @category models
 */
export type TakeResult = Taken | Blocked

/**
 * How server feedback changes a bucket.
 *
 * - `Scale`: set its effective limit to `factor` times the catalogue's value (a factor above 1 is
 *   taken as 1, one that is not positive changes nothing). The `Throttler` decides the factor (what
 *   it learnt of the real limit); the store only applies it. The units already held are kept. A
 *   lowered factor is forgotten with the bucket once it has been unused for `adaptiveMemoryMillis`;
 * - `Charge`: take each entry's cost now, whether or not the bucket has it (the server reported a
 *   higher cost than was estimated); a token bucket may go negative. Concurrency is never charged.
 *   A negative cost on a token bucket gives units back (a request admitted and then not sent, or
 *   refused by Graph, see `Throttler`), up to the bucket's capacity less its units in flight.
 * - `Redate`: the request taken at `takenAtMillis` was answered now. Its sliding-window entries are
 *   counted from now (or from `datedAtMillis`) on instead (the server counted them on arrival, which is no later than now):
 *   units in flight land (see `MemoryOptions.unitsInFlight`), and otherwise units that had already
 *   left the window are counted again from now. Its token-bucket entries are no longer in flight.
 *   Concurrency is left alone.
 *
 * @since 0.1.0
 * @category models
 */
export type Adjustment =
  | { readonly _tag: "Scale"; readonly factor: number }
  | { readonly _tag: "Charge" }
  | {
    readonly _tag: "Redate"
    readonly takenAtMillis: number
    /**
     * When its window units are dated (default: now). A caller that knows Graph counted the
     * request some time before its answer, and counts a request admitted later some time after its
     * admission, may give an earlier instant (see `Throttler.AnsweredOptions`). Stores take it no
     * earlier than `takenAtMillis` nor later than now, and may date later than asked (the in-memory
     * and Redis stores never date a run before a window's newest, so that runs stay in order):
     * later only holds others back.
     */
    readonly datedAtMillis?: number | undefined
  }

/**
 * A store could not be reached or answered nonsense. The in-memory store never fails.
 *
 * @since 0.1.0
 * @category errors
 */
export class QuotaStoreError extends Schema.TaggedError<QuotaStoreError>()("QuotaStoreError", {
  operation: Schema.Literal("take", "release", "pause", "adjust"),
  cause: Schema.Defect
}) {
  override get message() {
    return `the quota store failed during ${this.operation}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface QuotaStoreService {
  readonly [TypeId]: TypeId
  /**
   * The one atomic call: if every bucket can hold its entry's cost at `nowMillis`, take all of them
   * and answer `Taken`; otherwise take nothing and answer `Blocked`. A bucket that does not exist yet
   * starts empty (a full token bucket). A paused bucket is short until its pause ends.
   */
  readonly take: (entries: ReadonlyArray<Entry>, nowMillis: number) => Effect.Effect<TakeResult, QuotaStoreError>
  /** Gives concurrency permits back; a no-op for the other kinds of bucket. */
  readonly release: (entries: ReadonlyArray<Entry>, nowMillis: number) => Effect.Effect<void, QuotaStoreError>
  /** Admits nothing on these buckets before `untilMillis`. Pauses only ever extend. */
  readonly pause: (
    entries: ReadonlyArray<Entry>,
    untilMillis: number,
    nowMillis: number
  ) => Effect.Effect<void, QuotaStoreError>
  /** Sets the buckets' effective limits, charges them, or redates a take (see {@link Adjustment}). */
  readonly adjust: (
    entries: ReadonlyArray<Entry>,
    adjustment: Adjustment,
    nowMillis: number
  ) => Effect.Effect<void, QuotaStoreError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class QuotaStore extends Context.Tag("@effect-msgraph/core/QuotaStore")<QuotaStore, QuotaStoreService>() {}

/**
 * @since 0.1.0
 */
export declare namespace QuotaStore {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface MemoryOptions {
    /**
     * How many sub-windows a sliding window is divided into (default 20). The window is conservative:
     * a sub-window's units are counted until the latest of them is `W` old, so a bucket may admit up
     * to `W / windowSlots` later than an exact log would (units taken at one instant leave exactly on
     * time), and never admits more than `N` in any interval of length `W`. A window of at most
     * `windowSlots` units is exact. More slots are more precise and use more memory per bucket.
     */
    readonly windowSlots?: number
    /**
     * How long an unused bucket remembers that its effective limit was lowered (default 10 minutes).
     * After that it is forgotten and starts again from the catalogue's value.
     */
    readonly adaptiveMemoryMillis?: number
    /**
     * How many milliseconds of refill a token bucket keeps in reserve (default 0, an exact bucket;
     * `GraphClient.layerThrottledMemory` uses 250): a request is
     * admitted when the bucket holds its cost plus `refill × tokenReserveMillis` (or the whole
     * capacity, if that is less). Requests do not reach Graph in the order, nor with the spacing,
     * they were admitted in: one that waited for a connection can arrive together with the next
     * one, and Graph's bucket then sees both at once. The reserve absorbs that much bunching. It
     * costs `tokenReserveMillis` once per drained bucket, not a lower rate.
     */
    readonly tokenReserveMillis?: number
    /**
     * Whether token buckets and sliding windows count the units of the requests they admitted and
     * that were not answered yet (default `false`; `GraphClient.layerThrottledMemory` and the CLI
     * turn it on). Graph takes a request's units when the request arrives, which can be seconds
     * after its admission when it waited for a send slot, and no later than its answer.
     *
     * - A token bucket then refills only up to its capacity less the units in flight: Graph's
     *   bucket wastes whatever refill comes while it is full, and this keeps it at least as full as
     *   this one whatever the arrival times.
     * - A sliding window counts its units in flight as taken now, however long ago they were taken,
     *   until the answer dates them: a unit dated at its admission would leave the window while its
     *   request still waits, and let in a request that reaches Graph less than the window after it.
     *
     * Either way, no 429 from these limits whatever the arrival times. `Throttler.answered` (a
     * `Redate` adjustment) ends a take's flight; a caller that never reports answers must leave
     * this off, or its windows would stay full.
     */
    readonly unitsInFlight?: boolean
  }
}

/**
 * The in-memory store, plus inspection for tests and diagnostics.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryQuotaStore extends QuotaStoreService {
  /** Buckets currently held in memory. Idle buckets are dropped, so this stays bounded. */
  readonly size: Effect.Effect<number>
  /** The adaptive factor of a bucket (1 = the catalogue's limit). */
  readonly factor: (key: string) => Effect.Effect<number>
  /** Forgets every bucket whose state is indistinguishable from a fresh one. */
  readonly sweep: (nowMillis: number) => Effect.Effect<void>
}

/**
 * Builds an in-memory store synchronously.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMakeMemory = (options: QuotaStore.MemoryOptions = {}): MemoryQuotaStore => {
  const quota = new internal.MemoryQuota({
    windowSlots: options.windowSlots ?? internal.defaultOptions.windowSlots,
    adaptiveMemoryMillis: options.adaptiveMemoryMillis ?? internal.defaultOptions.adaptiveMemoryMillis,
    tokenReserveMillis: options.tokenReserveMillis ?? internal.defaultOptions.tokenReserveMillis,
    unitsInFlight: options.unitsInFlight ?? internal.defaultOptions.unitsInFlight
  })
  const local = internal.localOf(quota)
  return internal.register({
    [TypeId]: TypeId,
    take: (entries, now) => Effect.sync(() => local.take(entries, now)),
    release: (entries, now) => Effect.sync(() => local.release(entries, now)),
    pause: (entries, until, now) => Effect.sync(() => local.pause(entries, until, now)),
    adjust: (entries, adjustment, now) => Effect.sync(() => local.adjust(entries, adjustment, now)),
    size: Effect.sync(() => quota.size),
    factor: (key) => Effect.sync(() => quota.factorOf(key)),
    sweep: (now) => Effect.sync(() => quota.sweep(now))
  }, local)
}

/**
 * Builds an in-memory store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: QuotaStore.MemoryOptions = {}): Effect.Effect<MemoryQuotaStore> =>
  Effect.sync(() => unsafeMakeMemory(options))

/**
 * Provides an in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options: QuotaStore.MemoryOptions = {}): Layer.Layer<QuotaStore> =>
  Layer.effect(QuotaStore, makeMemory(options))
