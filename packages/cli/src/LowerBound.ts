/**
 * The least time a workload can take under Graph's limits and latency, whatever the client does:
 * one module, used by the CLI (`simulate`, `plan`, `run`) and the benchmarks.
 *
 * Every request places demands on buckets (`Bucket.Demand`: a key, a limit, a cost). For one bucket
 * with total cost `C`:
 *
 * - a window of `N` per `W` admits at most `N` in any window, so `C` needs `⌈C/N⌉` windows, the last
 *   of which can start `(⌈C/N⌉ − 1)·W` after the first: at least `(⌈C/N⌉ − 1)·W`;
 * - a token bucket of capacity `B` refilling `r` per second starts full, so it needs at least
 *   `max(0, (C − B)/r)` seconds;
 * - a concurrency limit of `P` permits (Outlook's 4 per mailbox, OneNote, Bookings, insights: the
 *   catalogue says which) holds a permit for as long as each request runs, so its `n` executed
 *   requests need at least `max(Σ least latency ÷ P, ⌈n/P⌉ × the smallest least latency)`, after a
 *   round trip's least cost (nothing runs before the call carrying it has arrived).
 *
 * With latency, the bound is also at least the critical path: along any chain of dependent requests
 * each starts only after the one before it finished, so a path needs the sum of its requests' least
 * latencies plus at least one round trip, and one more round trip for every response reference on
 * it (a request that uses another's answer goes out in a later call than the one that brought the
 * answer); as a batch holds at most 20 requests, a path of `k` needs `⌈k/20⌉` round trips one after
 * another ({@link criticalPathMs}).
 *
 * The bound is the largest of all these ({@link DurationBound.by} names which: a limit's bucket, the
 * critical path or a concurrency bucket). Nothing is counted for the client's own concurrency (its
 * calls in flight), which is what the bound judges. It is a true lower bound, not an estimate: a run
 * can only match it, never beat it, under the latency model it was given.
 *
 * @since 0.1.0
 */
import type { Bucket, Workload } from "@effect-msgraph/core"
import { BatchBuilder, DependencyResolver, LimitCatalog } from "@effect-msgraph/core"
import { Audit, Emulator, Latency } from "@effect-msgraph/emulator"
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
 * One concurrency-limited bucket and the time its permits force on the requests that ran in it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConcurrencyBound {
  readonly key: string
  readonly entryId: string
  readonly service: string
  /** Permits, as enforced (scaled under `--stricter`). */
  readonly permits: number
  /** Requests of the bucket that ran (each at least once). */
  readonly requests: number
  /** The sum of their least latencies. */
  readonly leastMillis: number
  readonly boundMs: number
}

/**
 * What attains the bound: a window or token bucket's limit, the critical path of the dependency
 * graph, or a concurrency-limited bucket.
 *
 * @since 0.1.0
 * @category models
 */
export type Binding =
  | { readonly kind: "limit"; readonly ms: number; readonly bucket: BucketBound }
  | { readonly kind: "criticalPath"; readonly ms: number }
  | { readonly kind: "concurrency"; readonly ms: number; readonly bucket: ConcurrencyBound }

/**
 * @since 0.1.0
 * @category models
 */
export interface DurationBound {
  /** The lower bound on the duration, in milliseconds. */
  readonly ms: number
  /** What attains `ms`, when it is positive. */
  readonly by: Binding | undefined
  /** The window or token bucket forcing the longest time, if any forces a positive time. */
  readonly bottleneck: BucketBound | undefined
  /** Every window and token bucket touched (concurrency buckets too, at 0), largest bound first. */
  readonly buckets: ReadonlyArray<BucketBound>
  /** The least time the heaviest chain of dependent requests takes (0 without latency). */
  readonly latencyMs: number
  /** Every concurrency-limited bucket with a request that ran, largest bound first. */
  readonly concurrency: ReadonlyArray<ConcurrencyBound>
}

/**
 * The time one bucket's limit forces for a total cost. A concurrency limit forces nothing on cost
 * alone: see {@link concurrencyBoundMs}.
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
 * The time `permits` concurrent slots force on requests of the given least latencies, after the
 * least round trip: every request holds a slot while it runs, at most `permits` run at once, so the
 * slots' busy time is at least the sum of the latencies, and one slot runs at least `⌈n/permits⌉`
 * of them one after another.
 *
 * @since 0.1.0
 * @category limits
 */
export const concurrencyBoundMs = (permits: number, leastMillis: ReadonlyArray<number>, roundTripMillis = 0): number => {
  if (leastMillis.length === 0) return 0
  const p = Math.max(1, permits)
  let sum = 0
  let min = Infinity
  for (const ms of leastMillis) {
    sum += ms
    if (ms < min) min = ms
  }
  return roundTripMillis + Math.max(sum / p, Math.ceil(leastMillis.length / p) * min)
}

/**
 * What the bound takes besides demands. `multiplier` scales limits as the emulator does for
 * `--stricter` (with `Emulator.scaleLimit`). `latency` is the model the run had (`Latency.realistic`
 * by default for `simulate`, `plan` and `run`): with `workload`, it gives the critical path, and with
 * the requests that ran, the concurrency bounds. `criticalPathMs` gives the critical path directly.
 *
 * @since 0.1.0
 * @category models
 */
export interface BoundOptions {
  readonly multiplier?: (service: string) => number
  readonly latency?: Latency.Profile
  readonly workload?: Workload.Workload
  readonly criticalPathMs?: number
  /**
   * @deprecated `roundTrips × latencyMs` only bounds a run whose every round trip ran an item; use
   * `latency` with `workload`, which holds whatever the client does. Still honoured (the larger counts).
   */
  readonly roundTrips?: number
  /** @deprecated see `roundTrips`. */
  readonly latencyMs?: number
}

/**
 * The least time the workload's heaviest dependency path takes (its `dependsOn` and response
 * references), where each request takes at least `leastMillis` of it. A request that was never
 * executed (failed before running, or settled because a dependency failed) should count 0 and be
 * left out by `executed`. With `roundTripMillis`, the path also needs round trips, the larger of
 * two counts:
 *
 * - one before anything runs, and one more for every response reference into an executed request
 *   on the path. A request that uses another's answer cannot travel in the call that brings the
 *   answer (Graph's batches have no response references), so the client sends it in a later call,
 *   once that answer is back; the emulator (as Graph) spends a round trip on the call before its
 *   items start. A plain `dependsOn` adds nothing: one sequential batch carries both requests.
 *   A request that never executed adds no hop: nothing it references had to come back first.
 * - one for every 20 of its executed requests (a batch holds at most 20, and a dependent request
 *   goes out only after the answer it waits for came back).
 *
 * Each count holds for every path on its own, so the larger of the two is still a lower bound; their
 * combination (a hop between two runs of 20) is not counted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const criticalPathMs = (
  workload: Workload.Workload,
  leastMillis: (request: Workload.WorkloadRequest) => number,
  options: { readonly roundTripMillis?: number; readonly executed?: (request: Workload.WorkloadRequest) => boolean } = {}
): number => {
  const n = workload.length
  const least = new Float64Array(n)
  const ran = new Uint8Array(n)
  const executed = options.executed
  for (let v = 0; v < n; v++) {
    least[v] = leastMillis(workload[v]!)
    ran[v] = executed === undefined || executed(workload[v]!) ? 1 : 0
  }
  return pathMs(workload, least, ran, options.roundTripMillis ?? 0)
}

/**
 * {@link criticalPathMs} over per-request figures, by workload position: the least latencies, and
 * 1 for the requests that executed. The workload is checked and its graph built once.
 */
const pathMs = (workload: Workload.Workload, least: Float64Array, ran: Uint8Array, rt: number): number => {
  // the workload passed the client's checks; one that does not has no path to bound
  const leastOf = (_: Workload.WorkloadRequest, v: number) => least[v]!
  if (rt <= 0 || !ran.includes(1)) {
    return Either.match(DependencyResolver.criticalPaths(workload, [{ weight: leastOf }]), { onLeft: () => 0, onRight: ([path]) => path! })
  }
  const perItem = rt / BatchBuilder.MAX_BATCH_SIZE
  const paths = DependencyResolver.criticalPaths(workload, [
    { weight: leastOf, referenceHop: (_, v) => ran[v] === 1 ? rt : 0 },
    { weight: (_, v) => ran[v] === 1 ? least[v]! + perItem : 0 }
  ])
  return Either.match(paths, { onLeft: () => 0, onRight: ([hops, shared]) => Math.max(hops! + rt, shared!) })
}

/**
 * The distinct requests, by position: each one's demands, and its least item latency if it ran
 * (`ran[i] === 1`).
 */
interface Counted {
  /** How many requests. */
  readonly count: number
  /**
   * Request `i`'s demands, asked once for each `i`, in order, so that a caller may make them as they
   * are asked for and keep none (`fromWorkload`).
   */
  readonly demandsOf: (i: number) => ReadonlyArray<Bucket.Demand>
  readonly ran: Uint8Array
  readonly ranMillis: Float64Array
}

const noDemands: ReadonlyArray<Bucket.Demand> = Object.freeze([])

const listed = (demands: ReadonlyArray<ReadonlyArray<Bucket.Demand>>) => ({
  count: demands.length,
  demandsOf: (i: number) => demands[i]!
})

type Tally = { key: string; entryId: string; service: string; limit: Bucket.Limit; cost: number; requests: number; ran: Array<number> }

const build = ({ count, demandsOf, ran, ranMillis }: Counted, options: BoundOptions, pathMs: number): DurationBound => {
  const buckets = new Map<string, Tally>()
  const tallyOf = (demand: Bucket.Demand): Tally => {
    // the audit's own id, made once per demand object
    const id = Audit.bucketId(demand)
    let bucket = buckets.get(id)
    if (bucket === undefined) {
      const m = options.multiplier?.(demand.service) ?? 1
      bucket = { key: demand.key, entryId: demand.entryId, service: demand.service, limit: Emulator.scaleLimit(demand.limit, m), cost: 0, requests: 0, ran: [] }
      buckets.set(id, bucket)
    }
    return bucket
  }
  // the audit shares one demands array between requests classified alike: their buckets are
  // looked up once for a run of such requests
  let last: ReadonlyArray<Bucket.Demand> | undefined
  let tallies: Array<Tally> = []
  for (let i = 0; i < count; i++) {
    const demands = demandsOf(i)
    if (demands !== last) {
      tallies = demands.map(tallyOf)
      last = demands
    }
    for (let d = 0; d < demands.length; d++) {
      const bucket = tallies[d]!
      bucket.cost += demands[d]!.cost
      bucket.requests += 1
      if (ran[i] === 1 && bucket.limit._tag === "Concurrency") bucket.ran.push(ranMillis[i]!)
    }
  }
  const roundTrip = options.latency === undefined ? 0 : Latency.least(options.latency.roundTrip)
  const bounds: Array<BucketBound> = [...buckets.values()].map(({ ran: _, ...b }) => ({ ...b, boundMs: bucketBoundMs(b.limit, b.cost) }))
  bounds.sort((a, b) => b.boundMs - a.boundMs || b.cost - a.cost || a.key.localeCompare(b.key))
  const concurrency: Array<ConcurrencyBound> = []
  for (const b of buckets.values()) {
    if (b.limit._tag !== "Concurrency" || b.ran.length === 0) continue
    concurrency.push({
      key: b.key,
      entryId: b.entryId,
      service: b.service,
      permits: b.limit.permits,
      requests: b.ran.length,
      leastMillis: b.ran.reduce((sum, ms) => sum + ms, 0),
      boundMs: concurrencyBoundMs(b.limit.permits, b.ran, roundTrip)
    })
  }
  concurrency.sort((a, b) => b.boundMs - a.boundMs || b.requests - a.requests || a.key.localeCompare(b.key))
  const top = bounds[0]
  const latencyMs = Math.max(pathMs, options.criticalPathMs ?? 0, (options.roundTrips ?? 0) * (options.latencyMs ?? 0))
  const candidates: Array<Binding> = []
  if (top !== undefined && top.boundMs > 0) candidates.push({ kind: "limit", ms: top.boundMs, bucket: top })
  if (concurrency[0] !== undefined && concurrency[0].boundMs > 0) candidates.push({ kind: "concurrency", ms: concurrency[0].boundMs, bucket: concurrency[0] })
  if (latencyMs > 0) candidates.push({ kind: "criticalPath", ms: latencyMs })
  // the largest; among equals, the first: a limit, then a concurrency bucket, then the path
  const by = candidates.reduce<Binding | undefined>((best, c) => best === undefined || c.ms > best.ms ? c : best, undefined)
  return {
    ms: by?.ms ?? 0,
    by,
    bottleneck: top !== undefined && top.boundMs > 0 ? top : undefined,
    buckets: bounds,
    latencyMs,
    concurrency
  }
}

/**
 * The bound from each request's demands, counting limits only (and `criticalPathMs` when given):
 * nothing says which requests ran, so no concurrency bound.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromDemands = (
  requests: Iterable<ReadonlyArray<Bucket.Demand>>,
  options: BoundOptions = {}
): DurationBound => {
  const demands = Array.from(requests)
  return build({ ...listed(demands), ran: new Uint8Array(demands.length), ranMillis: new Float64Array(demands.length) }, options, 0)
}

/**
 * What the bound reads of an audit entry (`Audit.AuditEntry` has it all). Without `executed`,
 * `service` and `itemId`, an entry counts for the limits only.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuditLike {
  readonly clientRequestId: string
  readonly demands: ReadonlyArray<Bucket.Demand>
  readonly executed?: boolean
  readonly service?: string
  readonly itemId?: string | undefined
}

/**
 * The bound from the emulator's audit log: the demands of each distinct request (by client request
 * id, counted once however often it was retried), as the emulator classified them with the real,
 * resolved URLs. With `latency`, each request the emulator executed at least once took at least its
 * service's least latency (by the service the audit recorded) and a request never executed took
 * nothing: that gives the concurrency bounds, and with `workload` the critical path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromAudit = (entries: ReadonlyArray<AuditLike>, options: BoundOptions = {}): DurationBound => {
  const latency = options.latency
  // each distinct request's position, in the order first seen
  const seen = new Map<string, number>()
  const demands: Array<ReadonlyArray<Bucket.Demand>> = []
  const ran = new Uint8Array(entries.length)
  const ranMillis = new Float64Array(entries.length)
  const ranById = new Map<string, number>()
  for (const entry of entries) {
    let i = seen.get(entry.clientRequestId)
    if (i === undefined) {
      i = demands.length
      demands.push(entry.demands)
      seen.set(entry.clientRequestId, i)
    }
    if (latency === undefined || entry.executed !== true) continue
    const model = latency.services[entry.service as Latency.ServiceName]
    const least = model === undefined ? 0 : Latency.least(model)
    ran[i] = 1
    ranMillis[i] = least
    if (entry.itemId !== undefined) ranById.set(entry.itemId.toLowerCase(), least)
  }
  const workload = options.workload
  let path = 0
  if (latency !== undefined && workload !== undefined) {
    const least = new Float64Array(workload.length)
    const executed = new Uint8Array(workload.length)
    for (let v = 0; v < workload.length; v++) {
      const ms = ranById.get(workload[v]!.id.toLowerCase())
      if (ms === undefined) continue
      least[v] = ms
      executed[v] = 1
    }
    path = pathMs(workload, least, executed, Latency.least(latency.roundTrip))
  }
  return build({ ...listed(demands), ran, ranMillis }, options, path)
}

/**
 * The bound from the workload as written, classified with the catalogue (for `run`, where there is
 * no audit log). URLs with unresolved `{{...}}` references are classified as written, so two
 * requests addressing the same resource through different references count as different buckets:
 * the bound can only be lower than with the resolved URLs, never higher. With `latency`, every
 * request not named by `failed` counts as run, at its service's least latency (`Latency.serviceOf`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromWorkload = (
  workload: Workload.Workload,
  context: LimitCatalog.ClassifyContext,
  catalog: LimitCatalog.Catalog = LimitCatalog.defaultCatalog,
  options: Omit<BoundOptions, "workload"> & {
    readonly failed?: (id: string) => boolean
    /** Requests that ended in an earlier run (a journal resumed): neither their cost nor their latency counts. */
    readonly earlier?: (id: string) => boolean
  } = {}
): DurationBound => {
  const latency = options.latency
  const failed = options.failed ?? (() => false)
  const earlier = options.earlier ?? (() => false)
  const n = workload.length
  const ran = new Uint8Array(n)
  const least = new Float64Array(n)
  if (latency !== undefined) {
    for (let v = 0; v < n; v++) {
      const request = workload[v]!
      if (earlier(request.id) || failed(request.id)) continue
      ran[v] = 1
      least[v] = Latency.least(Latency.itemOf(latency, request.url))
    }
  }
  const path = latency === undefined ? 0 : pathMs(workload, least, ran, Latency.least(latency.roundTrip))
  // each request is classified as it is counted, and its demands dropped: kept for the whole
  // workload, they took about 800 bytes a request until the bound was made (160 MB at 200,000
  // requests, at the end of a run whose own heap was under 300 MB)
  const demandsOf = (v: number): ReadonlyArray<Bucket.Demand> => {
    const request = workload[v]!
    if (earlier(request.id)) return noDemands
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
  }
  return build({ count: n, demandsOf, ran, ranMillis: least }, options, path)
}

/**
 * What attains the bound, in words: the kind, then its detail (the bucket and its limit, or the
 * path). Outside text (bucket keys) is left as is: escape it before printing.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describeBinding = (by: Binding): { readonly kind: string; readonly name: string; readonly detail: string } => {
  const n = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 0 })
  switch (by.kind) {
    case "limit":
      return {
        kind: "limit",
        name: by.bucket.entryId,
        detail: `${by.bucket.key}: ${n(by.bucket.cost)} units at ${describeLimit(by.bucket.limit)}`
      }
    case "concurrency":
      return {
        kind: "concurrency",
        name: by.bucket.entryId,
        detail: `${by.bucket.key}: ${n(by.bucket.requests)} requests, ${n(by.bucket.leastMillis)} ms of least latency over ${n(by.bucket.permits)} permits`
      }
    case "criticalPath":
      return {
        kind: "critical path",
        name: "dependencies",
        detail: "the heaviest chain of dependent requests at each service's least latency, with its round trips"
      }
  }
}

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
