/**
 * The naive client of the benchmarks: what a user following Graph's advice on batching and
 * throttling would write with Node's global `fetch`, and nothing of this library.
 *
 * - **Waves.** Graph cannot feed one response into another request, so a request whose
 *   prerequisites (its `dependsOn`, and the requests its `{{id#/pointer}}` references read) have not
 *   all succeeded waits for a later wave. A wave holds every request whose prerequisites succeeded
 *   in earlier waves, in request order; a request whose prerequisite failed fails without being sent.
 *   Inside a wave no request depends on another, so batches go out without `dependsOn` (a batch
 *   whose items depend on each other is what Graph's `dependsOn` is for; a wave never makes one).
 * - **Batches of 20** in request order, posted to `/v1.0/$batch`, **up to 4 in flight**: four
 *   workers take the wave's batches in turn.
 * - **429s.** The items of a batch answered 429 are sent again, together, once the longest of their
 *   `Retry-After`s has passed (seconds; {@link NaiveOptions.defaultRetryAfterSeconds} when absent),
 *   by the same worker, at most 3 times each; an item still answered 429 then counts as failed. A
 *   whole `$batch` answered 429 counts as every item answered 429 with the batch's `Retry-After`.
 *   Nothing else is retried.
 *
 * The workload format's response references are substituted here by a few lines of its own: an
 * RFC 6901 pointer over `{ status, headers, body }`, URL-encoded inside a URL unless the URL is the
 * reference alone, a body string that is one reference replaced by the value itself. `pages` is
 * ignored (one page per request, as Graph answers).
 *
 * @since 0.1.0
 */
import { performance } from "node:perf_hooks"

/**
 * A request of a workload file, as this client reads it.
 *
 * @since 0.1.0
 * @category models
 */
export interface NaiveRequest {
  readonly id: string
  readonly method: string
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly dependsOn?: ReadonlyArray<string>
  /** Statuses of a failed prerequisite that still let this request run. */
  readonly acceptStatuses?: ReadonlyArray<number>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NaiveOptions {
  /** The Graph root without version, e.g. `http://127.0.0.1:4000`. */
  readonly baseUrl: string
  readonly token?: string
  /** Default: the global `fetch`. Tests pass a wrapper that watches the traffic. */
  readonly fetch?: typeof fetch
  /** Items per batch (default 20, Graph's most). */
  readonly batchSize?: number
  /** Batches in flight (default 4). */
  readonly inFlight?: number
  /** Times a 429'd item is sent again (default 3). */
  readonly maxResends?: number
  /** The wait when a 429 carries no Retry-After (default 5 s). */
  readonly defaultRetryAfterSeconds?: number
}

/**
 * The same figures as this library's run summary, so the benchmark tabulates both alike.
 *
 * @since 0.1.0
 * @category models
 */
export interface NaiveResult {
  readonly requests: number
  readonly succeeded: number
  readonly failed: number
  /** Item answers with status 429, resends included. */
  readonly throttled429: number
  /** Items sent again after a 429. */
  readonly retries: number
  /** `$batch` calls. */
  readonly batches: number
  /** Waves. */
  readonly roundTrips: number
  readonly durationMs: number
}

interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: unknown
}

const referencePattern = /\{\{\s*([^{}#]+?)\s*#(\/[^{}]*?)\s*\}\}/g
const wholeReference = /^\{\{\s*([^{}#]+?)\s*#(\/[^{}]*?)\s*\}\}$/

const notFound = Symbol("notFound")

const lookup = (document: unknown, pointer: string): unknown => {
  let at = document
  for (const part of pointer.split("/").slice(1)) {
    const key = part.replaceAll("~1", "/").replaceAll("~0", "~")
    if (at === null || typeof at !== "object" || !Object.prototype.hasOwnProperty.call(at, key)) return notFound
    at = (at as Record<string, unknown>)[key]
  }
  return at === undefined ? notFound : at
}

/** The ids a request's references read, in any string of its URL, headers or body. */
const referencedIds = (request: NaiveRequest): Array<string> => {
  const ids: Array<string> = []
  const scan = (value: unknown): void => {
    if (typeof value === "string") {
      if (value.includes("{{")) for (const m of value.matchAll(referencePattern)) ids.push(m[1]!)
    } else if (Array.isArray(value)) value.forEach(scan)
    else if (value !== null && typeof value === "object") Object.values(value).forEach(scan)
  }
  scan(request.url)
  scan(request.headers)
  scan(request.body)
  return ids
}

class Unresolved extends Error {}

/** The request with its references replaced by values from earlier answers; throws `Unresolved`. */
const substitute = (request: NaiveRequest, answers: Map<string, Answer>): NaiveRequest => {
  const valueOf = (id: string, pointer: string): unknown => {
    const answer = answers.get(id)
    const value = answer === undefined ? notFound : lookup(answer, pointer)
    if (value === notFound || value === null) throw new Unresolved(`${id}#${pointer}`)
    return value
  }
  const text = (value: unknown) => typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value)
  const inString = (s: string, encode: boolean) =>
    s.includes("{{") ? s.replace(referencePattern, (_, id: string, pointer: string) => {
      const t = text(valueOf(id, pointer))
      return encode ? encodeURIComponent(t) : t
    }) : s
  const inBody = (value: unknown): unknown => {
    if (typeof value === "string") {
      const whole = wholeReference.exec(value)
      return whole === null ? inString(value, false) : valueOf(whole[1]!, whole[2]!)
    }
    if (Array.isArray(value)) return value.map(inBody)
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inBody(v)]))
    }
    return value
  }
  const whole = wholeReference.exec(request.url)
  return {
    ...request,
    url: whole === null ? inString(request.url, true) : text(valueOf(whole[1]!, whole[2]!)),
    ...(request.headers === undefined
      ? {}
      : { headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, inString(v, false)])) }),
    ...(request.body === undefined ? {} : { body: inBody(request.body) })
  }
}

const retryAfterSeconds = (headers: Record<string, string> | Headers | undefined, fallback: number): number => {
  let raw: string | null | undefined
  if (headers instanceof Headers) raw = headers.get("retry-after")
  else if (headers !== undefined) raw = Object.entries(headers).find(([k]) => k.toLowerCase() === "retry-after")?.[1]
  const seconds = raw === null || raw === undefined ? NaN : Number(raw)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : fallback
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs the workload against the Graph at `options.baseUrl`.
 *
 * @since 0.1.0
 * @category running
 */
export const runNaive = async (workload: ReadonlyArray<NaiveRequest>, options: NaiveOptions): Promise<NaiveResult> => {
  const fetchFn = options.fetch ?? globalThis.fetch
  const batchSize = options.batchSize ?? 20
  const inFlight = options.inFlight ?? 4
  const maxResends = options.maxResends ?? 3
  const defaultWait = options.defaultRetryAfterSeconds ?? 5
  const endpoint = `${options.baseUrl.replace(/\/$/, "")}/v1.0/$batch`
  const headers = { "Content-Type": "application/json", Authorization: `Bearer ${options.token ?? "bench-token"}` }

  const started = performance.now()
  const answers = new Map<string, Answer>()
  const outcome = new Map<string, "ok" | "failed">()
  let throttled429 = 0
  let retries = 0
  let batches = 0
  let waves = 0

  const sendBatch = async (items: ReadonlyArray<NaiveRequest>): Promise<Map<string, Answer>> => {
    batches++
    const body = JSON.stringify({
      requests: items.map((r) => {
        const withBody = r.body !== undefined
        const itemHeaders: Record<string, string> = { ...r.headers }
        if (withBody && !Object.keys(itemHeaders).some((k) => k.toLowerCase() === "content-type")) {
          itemHeaders["Content-Type"] = "application/json"
        }
        return {
          id: r.id,
          method: r.method,
          url: r.url,
          ...(Object.keys(itemHeaders).length === 0 ? {} : { headers: itemHeaders }),
          ...(withBody ? { body: r.body } : {})
        }
      })
    })
    const got = new Map<string, Answer>()
    let response: Response
    try {
      response = await fetchFn(endpoint, { method: "POST", headers, body })
    } catch {
      return got // nothing answered: every item fails
    }
    if (response.status === 429) {
      const wait = String(retryAfterSeconds(response.headers, defaultWait))
      await response.arrayBuffer().catch(() => undefined)
      for (const r of items) got.set(r.id, { status: 429, headers: { "Retry-After": wait }, body: undefined })
      return got
    }
    if (!response.ok) {
      await response.arrayBuffer().catch(() => undefined)
      return got
    }
    const json = (await response.json().catch(() => undefined)) as
      | { responses?: Array<{ id: string; status: number; headers?: Record<string, string>; body?: unknown }> }
      | undefined
    for (const r of json?.responses ?? []) got.set(r.id, { status: r.status, headers: r.headers ?? {}, body: r.body })
    return got
  }

  const succeeded = (answer: Answer) => answer.status >= 200 && answer.status < 400

  /** One batch to its end: sent, then its 429'd items sent again after their Retry-After. */
  const runBatch = async (batch: ReadonlyArray<NaiveRequest>): Promise<void> => {
    let pending = batch
    for (let resend = 0; pending.length > 0; resend++) {
      const got = await sendBatch(pending)
      const throttled: Array<NaiveRequest> = []
      let wait = 0
      for (const request of pending) {
        const answer = got.get(request.id)
        if (answer === undefined) {
          outcome.set(request.id, "failed")
          continue
        }
        answers.set(request.id, answer)
        if (answer.status === 429) {
          throttled429++
          if (resend < maxResends) {
            throttled.push(request)
            wait = Math.max(wait, retryAfterSeconds(answer.headers, defaultWait))
            continue
          }
        }
        outcome.set(request.id, succeeded(answer) ? "ok" : "failed")
      }
      if (throttled.length > 0) {
        await sleep(wait * 1000)
        retries += throttled.length
      }
      pending = throttled
    }
  }

  const known = new Set(workload.map((r) => r.id))
  const prerequisites = new Map(workload.map((r) => [r.id, [...new Set([...(r.dependsOn ?? []), ...referencedIds(r)])]]))
  let waiting = [...workload]
  while (waiting.length > 0) {
    const ready: Array<NaiveRequest> = []
    const later: Array<NaiveRequest> = []
    for (const request of waiting) {
      const needs = prerequisites.get(request.id)!
      const blocked = needs.some((id) => {
        const o = outcome.get(id)
        if (!known.has(id) || o === undefined) return false
        return o === "failed" && !(request.acceptStatuses ?? []).includes(answers.get(id)?.status ?? -1)
      })
      if (blocked) outcome.set(request.id, "failed")
      else if (needs.every((id) => outcome.has(id))) ready.push(request)
      else later.push(request)
    }
    if (ready.length === 0) {
      // nothing can run: what is left waits on ids nobody sends, or on itself
      if (later.length === waiting.length) {
        for (const request of later) outcome.set(request.id, "failed")
        break
      }
      waiting = later
      continue
    }
    waves++
    const runnable: Array<NaiveRequest> = []
    for (const request of ready) {
      try {
        runnable.push(substitute(request, answers))
      } catch (e) {
        if (!(e instanceof Unresolved)) throw e
        outcome.set(request.id, "failed")
      }
    }
    const chunks: Array<Array<NaiveRequest>> = []
    for (let i = 0; i < runnable.length; i += batchSize) chunks.push(runnable.slice(i, i + batchSize))
    let next = 0
    const worker = async () => {
      while (next < chunks.length) await runBatch(chunks[next++]!)
    }
    await Promise.all(Array.from({ length: inFlight }, worker))
    waiting = later
  }
  let ok = 0
  for (const o of outcome.values()) if (o === "ok") ok++
  return {
    requests: workload.length,
    succeeded: ok,
    failed: workload.length - ok,
    throttled429,
    retries,
    batches,
    roundTrips: waves,
    durationMs: Math.round(performance.now() - started)
  }
}
