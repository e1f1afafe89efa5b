/**
 * What a run reports besides its outcomes: the client's metrics, one span per request, and the
 * `client-request-id` every request carries across its resends.
 *
 * @internal
 */
import { Context, DefaultServices, Effect, Exit, Metric, MetricBoundaries, Random, Tracer } from "effect"
import type { BatchRequestItem, Headers } from "@effect-msgraph/spec/BatchRequest"
import { headerValue } from "@effect-msgraph/spec/Body"

/** @internal */
export const requestsTotal = Metric.counter("msgraph_requests_total", { description: "request outcomes by status" })
/** @internal */
export const throttledTotal = Metric.counter("msgraph_throttled_total", { description: "429 answers (items and batches)" })
/** @internal */
export const retriesTotal = Metric.counter("msgraph_retries_total", { description: "requests resubmitted" })
/** @internal */
export const batchesTotal = Metric.counter("msgraph_batches_total", { description: "$batch calls sent" })
/** @internal */
export const queueDepth = Metric.gauge("msgraph_queue_depth", { description: "requests not yet settled" })
/** @internal */
export const admissionWait = Metric.histogram(
  "msgraph_admission_wait_ms",
  MetricBoundaries.exponential({ start: 1, factor: 4, count: 10 }),
  "time a batch waited for admission"
)

const requestsByStatus = new Map<number, Metric.Metric.Counter<number>>()
/** `requestsTotal` tagged with a status, made once per status. */
const requestsWithStatus = (status: number) => {
  let counter = requestsByStatus.get(status)
  if (counter === undefined) {
    counter = Metric.tagged(requestsTotal, "status", String(status))
    requestsByStatus.set(status, counter)
  }
  return counter
}

/** Counts settled requests by status, one metric update per status. */
export const countOutcomes = (byStatus: ReadonlyMap<number, number>): Effect.Effect<void> =>
  Effect.forEach(byStatus, ([status, n]) => Metric.incrementBy(requestsWithStatus(status), n), { discard: true })

/** Two hex digits per byte value: a GUID is written from a table, not by `toString(16)` and padding. */
const byteHex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** The 4 hex digits of the low 16 bits. */
const hex4 = (n: number) => byteHex[(n >>> 8) & 0xff]! + byteHex[n & 0xff]!

/** The 8 hex digits of a 32-bit word. */
const hex8 = (n: number) => hex4(n >>> 16) + hex4(n)

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k))

/**
 * Version 4 GUIDs for one run: xoshiro128** seeded with 128 bits from Effect's `Random`, so tests
 * stay deterministic, without an Effect per draw (eight per GUID, for every request).
 */
export const guidSource = Effect.gen(function*() {
  const word = Effect.zipWith(Random.nextIntBetween(0, 0x10000), Random.nextIntBetween(0, 0x10000), (hi, lo) => hi * 0x10000 + lo)
  let s0 = yield* word, s1 = yield* word, s2 = yield* word, s3 = yield* word
  // an all-zero state would only ever give zeros
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 11)
    return result
  }
  return (): string => {
    const a = next(), b = next(), c = next(), d = next()
    return `${hex8(a)}-${hex4(b >>> 16)}-${hex4(0x4000 | (b & 0x0fff))}-${hex4(0x8000 | ((c >>> 16) & 0x3fff))}-${hex4(c)}${hex8(d)}`
  }
})

/**
 * One `client-request-id` per request, kept across resends, so Graph (and the emulator's audit) can
 * tell a resend from a new request. A request that carries its own keeps it.
 */
export class Correlation {
  private readonly ids = new Map<string, string>()

  constructor(private readonly nextGuid: () => string) {}

  /** The item's headers with its `client-request-id` (its own headers when it carries one). */
  headersOf(item: BatchRequestItem): Headers | undefined {
    if (headerValue(item.headers, "client-request-id") !== undefined) return item.headers
    let guid = this.ids.get(item.id)
    if (guid === undefined) {
      guid = this.nextGuid()
      this.ids.set(item.id, guid)
    }
    return { ...item.headers, "client-request-id": guid }
  }

  /** The item with its `client-request-id`. */
  tag(item: BatchRequestItem): BatchRequestItem {
    const headers = this.headersOf(item)
    return headers === item.headers ? item : { ...item, headers: headers! }
  }

  forget(id: string): void {
    this.ids.delete(id)
  }

  get size(): number {
    return this.ids.size
  }
}

/** What a request's span records when it ends. */
export interface Ended {
  readonly id: string
  readonly attempts: number
  /** The status of a success, or the tag of a failure's error. */
  readonly outcome: string
  readonly succeeded: boolean
}

/** Effect's built-in tracer: its spans go nowhere. */
const builtInTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Whether a run makes its spans (per batch and per request) and annotates them: only under a
 * tracer other than Effect's built-in one. Under that one they would go nowhere: nothing runs
 * inside a request span, and a batch span is read by no one, so each would only be allocated (with
 * its attributes, for every batch and request) and dropped unread. The one place that decides.
 */
export const tracing: Effect.Effect<boolean> = Effect.tracerWith((tracer) => Effect.succeed(tracer !== builtInTracer))

/** One span per request, from its first send (or its settlement, if never sent) to its outcome. */
export class Spans {
  private readonly open = new Map<string, Tracer.Span>()

  /** `tracing`: the run's {@link tracing}; without it no span is opened. */
  constructor(readonly tracing: boolean) {}

  /** Opens the span of each request that has none (none at all unless {@link tracing}). */
  startAll(items: ReadonlyArray<BatchRequestItem>): Effect.Effect<void> {
    return this.tracing ? Effect.forEach(items, (item) => this.start(item), { discard: true }) : Effect.void
  }

  /** Opens the request's span unless it has one. */
  private start(item: BatchRequestItem): Effect.Effect<void> {
    if (this.open.has(item.id)) return Effect.void
    // one span per request: no stack trace, which costs more than the rest of the span
    return Effect.map(
      Effect.makeSpan("GraphClient.request", {
        attributes: { "request.id": item.id, "request.method": item.method },
        kind: "client",
        captureStackTrace: false
      }),
      (span) => void this.open.set(item.id, span)
    )
  }

  /** Ends the request's span, if it has one, at `now`. */
  end(ended: Ended, now: bigint): void {
    const span = this.open.get(ended.id)
    if (span === undefined) return
    this.open.delete(ended.id)
    span.attribute("request.attempts", ended.attempts)
    span.attribute("request.outcome", ended.outcome)
    span.end(now, ended.succeeded ? Exit.void : Exit.fail(ended.outcome))
  }

  get size(): number {
    return this.open.size
  }
}
