/**
 * The least time a workload can take under Graph's limits, whatever the client does.
 *
 * Every request places demands on buckets (`Bucket.Demand`: a key, a limit, a cost). For one bucket
 * with total cost `C`:
 *
 * - a window of `N` per `W` admits at most `N` in any window, so `C` needs `⌈C/N⌉` windows, the last
 *   of which can start `(⌈C/N⌉ − 1)·W` after the first: at least `(⌈C/N⌉ − 1)·W`;
 * - a token bucket of capacity `B` refilling `r` per second starts full, so it needs at least
 *   `max(0, (C − B)/r)` seconds;
 * - a concurrency limit bounds nothing on its own when requests take no time, so it adds nothing.
 *
 * The bound is the largest of these over every bucket the workload touches (the bottleneck), and,
 * when latency is simulated, at least the critical path: along any chain of dependent requests each
 * starts only after the one before it finished, whether they travel in separate round trips or one
 * after another in a sequential batch, so a path of `k` requests needs the sum of their least
 * latencies ({@link criticalPathMs}). It is a true lower bound, not an estimate: a run can only match
 * it, never beat it.
 *
 * @since 0.1.0
 */
import type { Bucket, Workload } from "@effect-msgraph/core"
import { DependencyResolver, LimitCatalog } from "@effect-msgraph/core"
import { Emulator } from "@effect-msgraph/emulator"
import { Either } from "effect"

/**
 * One bucket's total demand and the time it forces.
 *
 * @since 0.1.0
 * @category models
 */
export interface BucketBound {
  readonly key: string
  readonly entryId: string
  readonly service: string
  readonly limit: Bucket.Limit
  readonly cost: number
  readonly requests: number
  readonly boundMs: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DurationBound {
  /** The lower bound on the duration, in milliseconds. */
  readonly ms: number
  /** The bucket that forces the longest time, if any bucket forces a positive time. */
  readonly bottleneck: BucketBound | undefined
  /** Every bucket touched, largest bound first. */
  readonly buckets: ReadonlyArray<BucketBound>
  /** The least time the heaviest chain of dependent requests takes (0 without latency). */
  readonly latencyMs: number
}

/**
 * The time one bucket's limit forces for a total cost.
 *
 * @since 0.1.0
 * @category limits
 */
export const bucketBoundMs = (limit: Bucket.Limit, cost: number): number => {
  switch (limit._tag) {
    case "Window":
      return cost <= 0 ? 0 : (Math.ceil(cost / limit.limit) - 1) * limit.windowMillis
    case "TokenBucket":
      return limit.refillPerSecond <= 0 ? (cost > limit.capacity ? Infinity : 0) : Math.max(0, (cost - limit.capacity) / limit.refillPerSecond) * 1000
    case "Concurrency":
      return 0
  }
}

/**
 * What the bound takes besides demands. `multiplier` scales limits as the emulator does for
 * `--stricter` (with `Emulator.scaleLimit`); `criticalPathMs` is the least time the workload's
 * heaviest chain of dependent requests takes (see {@link criticalPathMs}).
 *
 * @since 0.1.0
 * @category models
 */
export interface BoundOptions {
  readonly multiplier?: (service: string) => number
  readonly criticalPathMs?: number
  /**
   * @deprecated `roundTrips × latencyMs` only bounds a run whose every round trip ran an item; use
   * `criticalPathMs`, which holds whatever the client does. Still honoured (the larger counts).
   */
  readonly roundTrips?: number
  /** @deprecated see `roundTrips`. */
  readonly latencyMs?: number
}

/**
 * The least time the workload's heaviest dependency path takes (its `dependsOn` and response
 * references), where each request takes at least `leastMillis` of it. A request that was never
 * executed (failed before running, or settled because a dependency failed) should count 0.
 *
 * @since 0.1.0
 * @category constructors
 */
export const criticalPathMs = (
  workload: Workload.Workload,
  leastMillis: (request: Workload.WorkloadRequest) => number
): number =>
  // the workload passed the client's checks; one that does not has no path to bound
  Either.getOrElse(DependencyResolver.criticalPath(workload, leastMillis), () => 0)

/**
 * The bound from each request's demands.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromDemands = (
  requests: Iterable<ReadonlyArray<Bucket.Demand>>,
  options: BoundOptions = {}
): DurationBound => {
  const buckets = new Map<string, { key: string; entryId: string; service: string; limit: Bucket.Limit; cost: number; requests: number }>()
  for (const demands of requests) {
    for (const demand of demands) {
      const id = `${demand.entryId}\u0000${demand.key}`
      let bucket = buckets.get(id)
      if (bucket === undefined) {
        const m = options.multiplier?.(demand.service) ?? 1
        bucket = { key: demand.key, entryId: demand.entryId, service: demand.service, limit: Emulator.scaleLimit(demand.limit, m), cost: 0, requests: 0 }
        buckets.set(id, bucket)
      }
      bucket.cost += demand.cost
      bucket.requests += 1
    }
  }
  const bounds: Array<BucketBound> = [...buckets.values()].map((b) => ({ ...b, boundMs: bucketBoundMs(b.limit, b.cost) }))
  bounds.sort((a, b) => b.boundMs - a.boundMs || b.cost - a.cost || a.key.localeCompare(b.key))
  const top = bounds[0]
  const latencyMs = Math.max(options.criticalPathMs ?? 0, (options.roundTrips ?? 0) * (options.latencyMs ?? 0))
  return {
    ms: Math.max(top?.boundMs ?? 0, latencyMs),
    bottleneck: top !== undefined && top.boundMs > 0 ? top : undefined,
    buckets: bounds,
    latencyMs
  }
}

/**
 * The bound from the emulator's audit log: the demands of each distinct request (by client request
 * id, counted once however often it was retried), as the emulator classified them with the real,
 * resolved URLs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromAudit = (
  entries: ReadonlyArray<{ readonly clientRequestId: string; readonly demands: ReadonlyArray<Bucket.Demand> }>,
  options: BoundOptions = {}
): DurationBound => {
  const seen = new Map<string, ReadonlyArray<Bucket.Demand>>()
  for (const entry of entries) if (!seen.has(entry.clientRequestId)) seen.set(entry.clientRequestId, entry.demands)
  return fromDemands(seen.values(), options)
}

/**
 * The bound from the workload as written, classified with the catalogue (for `run`, where there is
 * no audit log). URLs with unresolved `{{...}}` references are classified as written, so two
 * requests addressing the same resource through different references count as different buckets:
 * the bound can only be lower than with the resolved URLs, never higher.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromWorkload = (
  workload: ReadonlyArray<{ readonly method: string; readonly url: string; readonly body?: unknown }>,
  context: LimitCatalog.ClassifyContext,
  catalog: LimitCatalog.Catalog = LimitCatalog.defaultCatalog
): DurationBound =>
  fromDemands(workload.map((request) => {
    const body = request.body === undefined ? undefined : JSON.stringify(request.body)
    return LimitCatalog.classify(
      catalog,
      {
        method: request.method.toUpperCase(),
        url: request.url.replace(/^https?:\/\/[^/]+/i, "").replace(/^\/?(v1\.0|beta)(?=\/)/i, "").replace(/^(?!\/)/, "/"),
        bodyBytes: body === undefined ? 0 : Buffer.byteLength(body),
        ...(request.body === undefined ? {} : { body: request.body })
      },
      context
    ).demands
  }))

/**
 * A bucket's limit in words: `10,000 per 600 s`, `capacity 3,500 + 1,750/s`, `4 concurrent`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describeLimit = (limit: Bucket.Limit): string => {
  const n = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 2 })
  switch (limit._tag) {
    case "Window":
      return `${n(limit.limit)} per ${n(limit.windowMillis / 1000)} s`
    case "TokenBucket":
      return `capacity ${n(limit.capacity)} + ${n(limit.refillPerSecond)}/s`
    case "Concurrency":
      return `${n(limit.permits)} concurrent`
  }
}
