/**
 * Calibration: what a real run saw of Graph's latency, and a `Latency.Profile` built from it.
 *
 * `run` times every `$batch` call from the client's side: from sending the request to reading the
 * whole answer. What one item took inside a batch is not visible there (Graph documents no timing
 * header, and the emulator sends none), so the figures are estimated from each call's shape, under
 * the model `serve` and `simulate` use: a call costs one round trip, plus its items one after another
 * when it is sequential (any `dependsOn`), or overlapped when it is parallel (Outlook four at a time,
 * every other service all at once). Items answered 429 or 424 did not run and count for nothing.
 *
 * - Each call's "depth" per service is how many of its item latencies lie end to end: in a sequential
 *   call, its items of that service; in a parallel call, `ceil(n / 4)` for Outlook and 1 for any other
 *   service.
 * - A least-squares fit over every sequential call and every parallel call of one service,
 *   `duration = roundTrip + Σ depth × item latency`, gives the mean round-trip cost and each service's
 *   mean item latency. Where the run cannot tell them apart (every call of a service the same shape),
 *   the fit keeps the proportions of `Latency.realistic`'s means (a small ridge term toward a multiple
 *   of them).
 * - Quantiles: each call holding one service gives its items a sample `(duration − roundTrip) / depth`
 *   (the mean of its `depth` items: with depth above 1, the p90 and p99 understate the spread of single
 *   items), and the round trip a sample `duration − depth × item latency`.
 * - A parallel call with items of several services overlaps them, so it only bounds each: a service
 *   seen in no other call is given those bounds, `(duration − roundTrip) / depth` (an overestimate for
 *   every service but the slowest of the call).
 *
 * Memory is bounded whatever the run's length: calls are kept only as counts in log-scale histograms
 * ({@link Histogram}, about 0.25% relative error), one per service and depth (depth is at most 20),
 * plus the sums of the fit.
 *
 * @since 0.1.0
 */
import { Latency } from "@effect-msgraph/emulator"
import { FileSystem, HttpClient, type HttpClientRequest } from "@effect/platform"
import { Clock, Effect, Either, ParseResult, Schema } from "effect"

/** Relative width of a histogram bin: values are kept within about 0.25%. */
const gamma = 1.005
const logGamma = Math.log(gamma)
/** The smallest value kept apart from 0 (ms); smaller ones count as 0. */
const smallest = 0.01
/** Bins cover 0.01 ms to about 10^7 ms (almost 3 hours); larger values fall in the last. */
const binCount = Math.ceil(Math.log(1e9) / logGamma) + 1

/**
 * A streaming quantile estimator with bounded memory: counts in log-scale bins (each 0.5% wide), so a
 * quantile is within 0.25% of a value the histogram was given, whatever the count. At most 4,157
 * bins (0.01 ms to about 10^7 ms), kept sparse: only the bins in use take memory.
 *
 * @since 0.1.0
 * @category estimators
 */
export class Histogram {
  private readonly bins = new Map<number, number>()
  private zeros = 0
  private total = 0

  /** How many values (weights) were added. */
  get count(): number {
    return this.total
  }

  /** How many bins are in use (at most 4,157): the memory the histogram holds. */
  get size(): number {
    return this.bins.size
  }

  /** Adds a value (negative values count as 0), `weight` times. */
  add(value: number, weight = 1): void {
    if (!(weight > 0) || Number.isNaN(value)) return
    this.total += weight
    if (value < smallest) {
      this.zeros += weight
      return
    }
    const bin = Math.min(binCount - 1, Math.ceil(Math.log(value / smallest) / logGamma))
    this.bins.set(bin, (this.bins.get(bin) ?? 0) + weight)
  }

  /**
   * The value below which a fraction `q` (0 to 1) of the values lie, within 0.25%; 0 when empty.
   */
  quantile(q: number): number {
    if (this.total === 0) return 0
    const rank = Math.max(0, Math.min(1, q)) * (this.total - 1)
    let seen = this.zeros
    if (rank < seen) return 0
    for (const bin of [...this.bins.keys()].sort((a, b) => a - b)) {
      seen += this.bins.get(bin)!
      if (rank < seen) return valueOf(bin)
    }
    return valueOf(Math.max(...this.bins.keys()))
  }

  /** Every bin, as its value and count, in order (0 first). */
  entries(): ReadonlyArray<readonly [number, number]> {
    const out: Array<readonly [number, number]> = this.zeros > 0 ? [[0, this.zeros]] : []
    for (const bin of [...this.bins.keys()].sort((a, b) => a - b)) out.push([valueOf(bin), this.bins.get(bin)!])
    return out
  }
}

/** The middle of bin `i` (relative error at most (γ − 1) / (γ + 1)). */
const valueOf = (bin: number): number => (smallest * 2 * gamma ** bin) / (gamma + 1)

/**
 * Quantiles of one latency, in milliseconds: `count` values seen (calls for the round trip, items for
 * a service).
 *
 * @since 0.1.0
 * @category models
 */
export const Quantiles = Schema.Struct({
  count: Schema.NonNegativeInt,
  p50: Schema.NonNegative,
  p90: Schema.NonNegative,
  p99: Schema.NonNegative
}).pipe(Schema.filter((q) => q.p50 <= q.p90 && q.p90 <= q.p99 || "p50 ≤ p90 ≤ p99 must hold"))

/**
 * @since 0.1.0
 * @category models
 */
export type Quantiles = typeof Quantiles.Type

const ServiceName = Schema.Literal(...Latency.serviceNames)

/**
 * What `run` measured (its `--json` report's `observedLatency`), in milliseconds:
 *
 * - `calls`: the whole `$batch` calls, as timed (send to the last byte of the answer);
 * - `roundTrip`: the per-call cost estimated from them, items excluded;
 * - `services`: each service's item latency (by `Latency.serviceOf`), estimated; services no usable
 *   call held are absent.
 *
 * @since 0.1.0
 * @category models
 */
export const ObservedLatency = Schema.Struct({
  calls: Quantiles,
  roundTrip: Quantiles,
  services: Schema.partial(Schema.Record({ key: ServiceName, value: Quantiles }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type ObservedLatency = typeof ObservedLatency.Type

/**
 * A file `--latency-from` reads: a `run --json` report (its other fields are ignored).
 *
 * @since 0.1.0
 * @category models
 */
export const CalibrationFile = Schema.Struct({ observedLatency: ObservedLatency })

/**
 * The latency file cannot be used: unreadable, not JSON, or not a `run --json` report with
 * `observedLatency`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidLatencyFile extends Schema.TaggedError<InvalidLatencyFile>()("InvalidLatencyFile", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** One `$batch` call as `run` saw it. */
interface Call {
  readonly durationMs: number
  readonly sequential: boolean
  /** The service of each item that ran (not answered 429 or 424). */
  readonly services: ReadonlyArray<Latency.ServiceName>
}

/** Depth of each service in a call: how many of its item latencies lie end to end. */
const depthsOf = (call: Call): Map<Latency.ServiceName, number> => {
  const counts = new Map<Latency.ServiceName, number>()
  for (const s of call.services) counts.set(s, (counts.get(s) ?? 0) + 1)
  if (call.sequential) return counts
  return new Map([...counts].map(([s, n]) => [s, s === "outlook" ? Math.ceil(n / 4) : 1]))
}

const features = 1 + Latency.serviceNames.length
const ridge = 1e-3

/**
 * Collects the calls of a run ({@link Observer.call}) and estimates their latency
 * ({@link Observer.observed}). Bounded memory: see the module's notes.
 *
 * @since 0.1.0
 * @category estimators
 */
export class Observer {
  private readonly calls = new Histogram()
  /** Per `service:depth` (or `-` for a call whose items all did not run): durations. */
  private readonly shapes = new Map<
    string,
    { readonly service: Latency.ServiceName | undefined; readonly depth: number; readonly mixed: boolean; readonly durations: Histogram }
  >()
  /** Normal equations of the fit: XᵀX and XᵀD. */
  private readonly xtx = new Float64Array(features * features)
  private readonly xtd = new Float64Array(features)
  private readonly items = new Map<Latency.ServiceName, number>()

  /** One `$batch` call: its duration, whether sequential, and the service of each item that ran. */
  call(call: Call): void {
    this.calls.add(call.durationMs)
    const depths = depthsOf(call)
    for (const s of call.services) this.items.set(s, (this.items.get(s) ?? 0) + 1)
    if (!call.sequential && depths.size > 1) {
      // overlapped services: an upper bound for each, kept apart
      for (const [service, depth] of depths) this.shape(`${service}:${depth}:mixed`, service, depth, true).add(call.durationMs)
      return
    }
    const x = new Float64Array(features)
    x[0] = 1
    for (const [s, d] of depths) x[1 + Latency.serviceNames.indexOf(s)] = d
    for (let i = 0; i < features; i++) {
      this.xtd[i]! += x[i]! * call.durationMs
      for (let j = 0; j < features; j++) this.xtx[i * features + j]! += x[i]! * x[j]!
    }
    if (depths.size > 1) return
    const [service, depth] = depths.size === 0 ? [undefined, 0] : [...depths][0]!
    this.shape(`${service ?? "-"}:${depth}`, service, depth, false).add(call.durationMs)
  }

  private shape(key: string, service: Latency.ServiceName | undefined, depth: number, mixed: boolean): Histogram {
    const shape = this.shapes.get(key) ?? { service, depth, mixed, durations: new Histogram() }
    this.shapes.set(key, shape)
    return shape.durations
  }

  /** The fitted means: the round-trip cost, then each service's item latency (ms, at least 0). */
  private fit(): { readonly roundTrip: number; readonly services: Readonly<Record<Latency.ServiceName, number>> } {
    if (this.xtx[0] === 0) return { roundTrip: 0, services: Object.fromEntries(Latency.serviceNames.map((s) => [s, 0])) as Record<Latency.ServiceName, number> }
    // least squares plus ridge · ‖β − k·prior‖², over β and the scale k: the unknowns are β then k
    const prior = [Latency.expected(Latency.realistic.roundTrip), ...Latency.serviceNames.map((s) => Latency.expected(Latency.realistic.services[s]))]
    const n = features + 1
    const a = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n + 1 }, (_, j) => {
        if (i === features) return j < features ? prior[j]! : j === features ? -prior.reduce((sum, p) => sum + p * p, 0) : 0
        if (j === features) return -ridge * prior[i]!
        if (j === n) return this.xtd[i]!
        return this.xtx[i * features + j]! + (i === j ? ridge : 0)
      }))
    const beta = solve(a)
    return {
      roundTrip: Math.max(0, beta[0]!),
      services: Object.fromEntries(Latency.serviceNames.map((s, i) => [s, Math.max(0, beta[1 + i]!)])) as Record<Latency.ServiceName, number>
    }
  }

  /** The quantiles of what was seen so far. */
  observed(): ObservedLatency {
    const means = this.fit()
    const roundTrip = new Histogram()
    const items = new Map<Latency.ServiceName, Histogram>()
    const bounds = new Map<Latency.ServiceName, Histogram>()
    for (const { depth, durations, mixed, service } of this.shapes.values()) {
      const work = service === undefined ? 0 : depth * means.services[service]
      for (const [value, count] of durations.entries()) {
        if (!mixed) roundTrip.add(value - work, count)
        if (service === undefined) continue
        const into = mixed ? bounds : items
        const h = into.get(service) ?? new Histogram()
        h.add((value - means.roundTrip) / depth, count)
        into.set(service, h)
      }
    }
    const services: Partial<Record<Latency.ServiceName, Quantiles>> = {}
    for (const s of Latency.serviceNames) {
      const h = items.get(s) ?? bounds.get(s)
      const count = this.items.get(s) ?? 0
      if (count === 0) continue
      // seen only in calls of several services: the fitted mean is all there is
      const mean = round(means.services[s])
      services[s] = h === undefined ? { count, p50: mean, p90: mean, p99: mean } : { ...quantilesOf(h), count }
    }
    return { calls: quantilesOf(this.calls), roundTrip: { ...quantilesOf(roundTrip), count: roundTrip.count }, services }
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10

const quantilesOf = (h: Histogram): Quantiles => {
  const p50 = round(h.quantile(0.5))
  const p90 = Math.max(p50, round(h.quantile(0.9)))
  return { count: h.count, p50, p90, p99: Math.max(p90, round(h.quantile(0.99))) }
}

/** Gaussian elimination with partial pivoting on an augmented matrix (n × n+1). */
const solve = (a: Array<Array<number>>): Array<number> => {
  const n = a.length
  for (let col = 0; col < n; col++) {
    let pivot = col
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r
    ;[a[col], a[pivot]] = [a[pivot]!, a[col]!]
    const p = a[col]![col]!
    for (let r = 0; r < n; r++) {
      if (r === col) continue
      const f = a[r]![col]! / p
      for (let c = col; c <= n; c++) a[r]![c]! -= f * a[col]![c]!
    }
  }
  return a.map((row, i) => row[n]! / row[i]!)
}

/**
 * A latency model from quantiles: the uniform `[base, base + jitter)` with the same p50 and p90
 * (`jitter = (p90 − p50) / 0.4`), its base kept at 0 or more (then `jitter = 2 × p50`: the same mean).
 *
 * @since 0.1.0
 * @category constructors
 */
export const modelOf = (q: Quantiles): Latency.LatencyModel => {
  const jitter = (q.p90 - q.p50) / 0.4
  const base = q.p50 - jitter / 2
  return base >= 0 ? { baseMillis: base, jitterMillis: jitter } : { baseMillis: 0, jitterMillis: 2 * q.p50 }
}

/**
 * The profile a calibration stands for: its round trip and the services it measured ({@link modelOf}),
 * `Latency.realistic` for the services it did not see.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toProfile = (observed: ObservedLatency): Latency.Profile => ({
  roundTrip: observed.roundTrip.count > 0 ? modelOf(observed.roundTrip) : Latency.realistic.roundTrip,
  services: Object.fromEntries(Latency.serviceNames.map((s) => {
    const q = observed.services[s]
    return [s, q !== undefined && q.count > 0 ? modelOf(q) : Latency.realistic.services[s]]
  })) as Record<Latency.ServiceName, Latency.LatencyModel>
})

/**
 * Reads a `run --json` report and builds the profile of its `observedLatency` ({@link toProfile}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (file: string): Effect.Effect<Latency.Profile, InvalidLatencyFile, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.mapError(fs.readFileString(file), (e) => new InvalidLatencyFile({ file, reason: `cannot read it: ${e.message}` }))
    const json = Either.try(() => JSON.parse(text) as unknown)
    if (Either.isLeft(json)) return yield* new InvalidLatencyFile({ file, reason: "not JSON (expected the report of run --json)" })
    const decoded = Schema.decodeUnknownEither(CalibrationFile)(json.right, { errors: "first" })
    if (Either.isLeft(decoded)) {
      const detail = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
        .map((issue) => `${issue.path.length === 0 ? "" : `${issue.path.join(".")}: `}${issue.message}`)
        .join("; ")
      return yield* new InvalidLatencyFile({ file, reason: `not a run --json report with observedLatency: ${detail}` })
    }
    return toProfile(decoded.right.observedLatency)
  })

const decoder = new TextDecoder()

/** The items of a `$batch` request body: each one's service, id and whether any has `dependsOn`. */
const itemsOf = (request: HttpClientRequest.HttpClientRequest) => {
  if (request.body._tag !== "Uint8Array" || !/\/\$batch$/.test(new URL(request.url, "http://x").pathname)) return undefined
  const parsed = Either.try(() => JSON.parse(decoder.decode(request.body._tag === "Uint8Array" ? request.body.body : new Uint8Array())) as unknown)
  if (Either.isLeft(parsed) || typeof parsed.right !== "object" || parsed.right === null) return undefined
  const requests = (parsed.right as { requests?: unknown }).requests
  if (!Array.isArray(requests)) return undefined
  const items = new Map<string, Latency.ServiceName>()
  let sequential = false
  for (const r of requests as ReadonlyArray<{ id?: unknown; url?: unknown; dependsOn?: unknown }>) {
    if (typeof r?.id !== "string" || typeof r.url !== "string") continue
    items.set(r.id, Latency.serviceOf(r.url))
    if (Array.isArray(r.dependsOn) && r.dependsOn.length > 0) sequential = true
  }
  return { items, sequential }
}

/** The ids of the items a `$batch` answer says did not run: 429 (throttled) and 424 (dependency failed). */
const notRunOf = (text: string): Set<string> => {
  const parsed = Either.try(() => JSON.parse(text) as { responses?: ReadonlyArray<{ id?: unknown; status?: unknown }> })
  const out = new Set<string>()
  if (Either.isLeft(parsed) || !Array.isArray(parsed.right?.responses)) return out
  for (const r of parsed.right.responses) if (typeof r?.id === "string" && (r.status === 429 || r.status === 424)) out.add(r.id)
  return out
}

/**
 * An `HttpClient` that tells `observer` of every `$batch` call it makes: its duration, from sending to
 * the whole answer read (the body is read once and kept, so the caller reads the same text), its shape
 * and the services of the items that ran. Calls that fail or answer other than 200 are not counted.
 *
 * @since 0.1.0
 * @category estimators
 */
export const observing = (observer: Observer) => <E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R> =>
  HttpClient.transform(client, (effect, request) => {
    const batch = itemsOf(request)
    if (batch === undefined) return effect
    return Effect.gen(function*() {
      const start = yield* Clock.currentTimeNanos
      const response = yield* effect
      const text = yield* Effect.either(response.text)
      const end = yield* Clock.currentTimeNanos
      if (response.status === 200 && Either.isRight(text)) {
        const notRun = notRunOf(text.right)
        const services = [...batch.items].filter(([id]) => !notRun.has(id)).map(([, s]) => s)
        observer.call({ durationMs: Number(end - start) / 1e6, sequential: batch.sequential, services })
      }
      return response
    })
  })
