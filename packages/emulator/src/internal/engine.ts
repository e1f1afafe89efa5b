/**
 * The emulator's engine: one HTTP request in, one answer out. It validates batches, runs items in
 * Graph's order, enforces limits with its own accounting, serves the stateful resources, injects
 * faults and writes the audit log. All time comes from the Effect `Clock`, all chance from seeded
 * streams (`Draws`: the numbers of `Random.make`, drawn synchronously).
 *
 * The {@link Engine} holds the state and answers the HTTP envelope; its pieces live under
 * `engine/`: `prepare` (who calls, what an item demands), `admit` (faults, load, limits),
 * `perform` (latency, the store), `batch` (Graph's order within a `$batch`), `faults`,
 * `auditLog`, `facts` (what a demand means) and `scale` (the multiplier).
 *
 * @internal
 */
import { BatchResponse } from "@effect-msgraph/spec"
import { Clock, Duration, Effect, Either, Schema } from "effect"
import type { AuditEntry } from "../Audit.js"
import type { Faults, Phase } from "../Faults.js"
import { Accounting } from "./accounting.js"
import { AuditLog } from "./engine/auditLog.js"
import { runBatch } from "./engine/batch.js"
import { Draws } from "./engine/draws.js"
import { batchFaultAnswer, FaultDice } from "./engine/faults.js"
import { headerOf, type HttpIn, type HttpOut, type Item, type Resolved } from "./engine/model.js"
import { runOne } from "./engine/perform.js"
import { contextOf, prepare } from "./engine/prepare.js"
import { Load } from "./load.js"
import { errorAnswer, type ItemAnswer, type Stamp } from "./responses.js"
import { Store } from "./resources.js"
import { nestedTooDeep, tooDeepMessage, validate } from "./validation.js"

export type {
  Classifier,
  ClassifyContext,
  ClassifyRequest,
  HttpIn,
  HttpOut,
  LatencyModel,
  Resolved
} from "./engine/model.js"
export { fingerprint } from "./engine/batch.js"
export { scale } from "./engine/scale.js"

const batchResponseEncoder = Schema.encodeEither(BatchResponse.BatchResponseEnvelope)

const decoder = new TextDecoder()

/** @internal */
export class Engine {
  readonly accounting = new Accounting()
  readonly store: Store
  readonly load: Load | undefined
  readonly log: AuditLog
  readonly dice: FaultDice
  readonly orderDraws: Draws
  readonly latencyDraws: Draws
  private readonly roundTripDraws: Draws
  private seq = 0
  private httpSeq = 0
  private idSeq = 0

  constructor(readonly options: Resolved) {
    this.idHead = `${(options.seed >>> 0).toString(16).padStart(8, "0")}-0000-4000-8000-`
    this.store = new Store(options.store)
    this.load = options.load === undefined ? undefined : new Load(options.load)
    this.log = new AuditLog(options.auditCapacity)
    this.dice = new FaultDice(options.faults, new Draws(`faults:${options.seed}`))
    this.orderDraws = new Draws(`order:${options.seed}`)
    this.latencyDraws = new Draws(`latency:${options.seed}`)
    // a stream of its own, so the item latencies a seed gives do not depend on the round trips
    this.roundTripDraws = new Draws(`roundTrip:${options.seed}`)
  }

  get faults(): Faults {
    return this.dice.faults
  }

  set faults(faults: Faults) {
    this.dice.faults = faults
  }

  /** The audit log, oldest first, and how many old entries were dropped to bound memory. */
  audit(): { readonly entries: ReadonlyArray<AuditEntry>; readonly dropped: number } {
    return this.log.audit()
  }

  clearAudit(): void {
    this.log.clear()
  }

  /** The next item's sequence number. */
  nextSeq(): number {
    return ++this.seq
  }

  /** What every id of this engine starts with: its seed in 8 hex digits, then the fixed groups. */
  private readonly idHead: string

  /** The next id: one string joined to the head (a template literal would join three). */
  readonly newId = (): string => this.idHead + (++this.idSeq).toString(16).padStart(12, "0")

  handle(request: HttpIn): Effect.Effect<HttpOut> {
    return Effect.clockWith((clock) => {
      const httpRequest = ++this.httpSeq
      // the round trip's own cost comes first: nothing in the call runs before it has arrived
      const roundTrip = this.options.roundTrip
      if (roundTrip.baseMillis > 0 || roundTrip.jitterMillis > 0) {
        const millis = Math.round(roundTrip.baseMillis + this.roundTripDraws.next() * roundTrip.jitterMillis)
        return Effect.flatMap(clock.sleep(Duration.millis(millis)), () => this.arrived(request, httpRequest, clock.unsafeCurrentTimeMillis()))
      }
      return this.arrived(request, httpRequest, clock.unsafeCurrentTimeMillis())
    })
  }

  /** The call once it has arrived, at `now`. */
  private arrived(request: HttpIn, httpRequest: number, now: number): Effect.Effect<HttpOut> {
    if (httpRequest % 1024 === 0) this.accounting.sweep(now)
    const stamp: Stamp = { requestId: this.newId(), clientRequestId: headerOf(request.headers, "client-request-id"), now }
    const match = /^\/(v1\.0|beta)(\/[^?]*)?(\?.*)?$/.exec(request.url)
    if (match === null) {
      return Effect.succeed(refusal(400, "BadRequest", "Invalid version: the path must start with /v1.0/ or /beta/.", stamp))
    }
    const version = match[1]!
    const rest = (match[2] ?? "/") + (match[3] ?? "")
    const root = `${this.options.baseUrl ?? hostRoot(request.headers)}/${version}`
    const call: Call = { request, httpRequest, stamp, rest, root, drop: this.faults.dropConnection }
    if (this.drops(call, "before")) return Effect.succeed(dropped)
    // `%24batch` is `$batch` percent-encoded, as some HTTP clients send it (Graph decodes the path)
    const isBatch = /^\/(\$|%24)batch\/?$/i.test(match[2] ?? "")
    return isBatch ? this.batchCall(call) : this.singleCall(call)
  }

  /** Whether the call's connection-drop fault strikes in this phase. */
  private drops(call: Call, phase: Phase): boolean {
    const drop = call.drop
    return (drop?.phase ?? "before") === phase && this.dice.roll(drop?.rate)
  }

  /** A request outside a batch: one item. */
  private singleCall(call: Call): Effect.Effect<HttpOut> {
    const { request, httpRequest, stamp } = call
    let body: unknown = undefined
    if (request.body.length > 0) {
      const contentType = headerOf(request.headers, "content-type") ?? "application/json"
      if (/json/i.test(contentType)) {
        try {
          body = JSON.parse(decoder.decode(request.body))
        } catch {
          return Effect.succeed(refusal(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", stamp))
        }
        if (nestedTooDeep(body)) return Effect.succeed(refusal(400, "BadRequest", tooDeepMessage, stamp))
      } else {
        body = request.body
      }
    }
    const item: Item = { id: undefined, method: request.method.toUpperCase(), url: call.rest, headers: request.headers, body }
    const clientRequestId = headerOf(request.headers, "client-request-id") ?? `http-${httpRequest}`
    const context = contextOf(this.options, request.headers)
    return Effect.map(
      runOne(this, prepare(this.options, item, clientRequestId, [], httpRequest, context, call.root)),
      (outcome) => this.drops(call, "after") ? dropped : respondAnswer(outcome)
    )
  }

  /** `POST /$batch`: batch faults, validation, the items, then the envelope (and its faults). */
  private batchCall(call: Call): Effect.Effect<HttpOut> {
    const { request, stamp } = call
    if (request.method.toUpperCase() !== "POST") {
      return Effect.succeed(refusal(405, "BadRequest", "The $batch endpoint accepts only POST.", stamp))
    }
    const batchFault = this.dice.pickBatchFault("before")
    if (batchFault !== undefined) return Effect.succeed(respondAnswer(batchFaultAnswer(batchFault, stamp)))
    const valid = validate(decoder.decode(request.body))
    if (Either.isLeft(valid)) {
      return Effect.succeed(refusal(400, "BadRequest", valid.left.message, stamp))
    }
    const context = contextOf(this.options, request.headers)
    return Effect.clockWith((clock) =>
      Effect.map(runBatch(this, valid.right, call.httpRequest, context, call.root, stamp.clientRequestId), (responses) => this.envelope(call, responses, clock))
    )
  }

  /** The `$batch` answer once its items have answered, with the faults of the phase `after`. */
  private envelope(call: Call, responses: ReadonlyArray<BatchResponse.BatchResponseItem>, clock: Clock.Clock): HttpOut {
    const stamp = call.stamp
    if (this.drops(call, "after")) return dropped
    const lateFault = this.dice.pickBatchFault("after")
    if (lateFault !== undefined) return respondAnswer(batchFaultAnswer(lateFault, { ...stamp, now: clock.unsafeCurrentTimeMillis() }))
    let kept = responses
    if (responses.length > 0 && this.dice.roll(this.faults.missingItem?.rate)) {
      const drop = this.dice.index(responses.length)
      kept = responses.filter((_, i) => i !== drop)
    }
    // Only byte bodies change when encoded (to base64); skip the schema pass otherwise.
    const encoded = kept.some((r) => r.body instanceof Uint8Array) ? batchResponseEncoder({ responses: kept }) : Either.right({ responses: kept })
    const json = Either.isRight(encoded) ? JSON.stringify(encoded.right) : JSON.stringify({ responses: kept })
    const malformed = this.dice.roll(this.faults.malformedJson?.rate)
    return {
      _tag: "Respond",
      status: 200,
      headers: { "Content-Type": "application/json", "request-id": stamp.requestId },
      body: malformed ? json.slice(0, Math.max(1, Math.floor(json.length / 2))) : json
    }
  }
}

const dropped: HttpOut = { _tag: "Drop" }

/** One HTTP call past its version check. */
interface Call {
  readonly request: HttpIn
  readonly httpRequest: number
  readonly stamp: Stamp
  /** Path and query below the version root. */
  readonly rest: string
  readonly root: string
  /** The connection-drop fault as configured when the call arrived. */
  readonly drop: Faults["dropConnection"]
}

const hostRoot = (headers: Readonly<Record<string, string>>): string => {
  const host = headerOf(headers, "host")
  return host === undefined ? "https://graph.microsoft.com" : `http://${host}`
}

/** A call refused before any item ran: Graph's error body, and its request id as a header too. */
const refusal = (status: number, code: string, message: string, stamp: Stamp): HttpOut => {
  const answer = errorAnswer(status, code, message, stamp)
  answer.headers["request-id"] = stamp.requestId
  return respondAnswer(answer)
}

const respondAnswer = (outcome: ItemAnswer): HttpOut => {
  if (outcome.body === undefined) return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: "" }
  if (outcome.body instanceof Uint8Array) return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: outcome.body }
  return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: JSON.stringify(outcome.body) }
}
