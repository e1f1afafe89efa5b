/**
 * The emulator's engine: one HTTP request in, one answer out. It validates batches, runs items in
 * Graph's order, enforces limits with its own accounting, serves the stateful resources, injects
 * faults and writes the audit log. All time comes from the Effect `Clock`, all chance from seeded
 * `Random` instances.
 *
 * The {@link Engine} holds the state and answers the HTTP envelope; its pieces live under
 * `engine/`: `prepare` (who calls, what an item demands), `admit` (faults, load, limits),
 * `perform` (latency, the store), `batch` (Graph's order within a `$batch`), `faults`,
 * `auditLog`, `facts` (what a demand means) and `scale` (the multiplier).
 *
 * @internal
 */
import { BatchResponse } from "@effect-msgraph/spec"
import { Clock, Duration, Effect, Either, Random, Schema } from "effect"
import type { AuditEntry } from "../Audit.js"
import type { Faults, Phase } from "../Faults.js"
import { Accounting } from "./accounting.js"
import { AuditLog } from "./engine/auditLog.js"
import { runBatch } from "./engine/batch.js"
import { batchFaultAnswer, FaultDice } from "./engine/faults.js"
import { headerOf, type HttpIn, type HttpOut, type Item, type Resolved } from "./engine/model.js"
import { runOne } from "./engine/perform.js"
import { contextOf, prepare } from "./engine/prepare.js"
import { Load } from "./load.js"
import { errorAnswer, type ItemAnswer, type Stamp } from "./responses.js"
import { Store } from "./resources.js"
import { validate } from "./validation.js"

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
  readonly orderRandom: Random.Random
  readonly latencyRandom: Random.Random
  private readonly roundTripRandom: Random.Random
  private seq = 0
  private httpSeq = 0
  private idSeq = 0

  constructor(readonly options: Resolved) {
    this.store = new Store(options.store)
    this.load = options.load === undefined ? undefined : new Load(options.load)
    this.log = new AuditLog(options.auditCapacity)
    this.dice = new FaultDice(options.faults, Random.make(`faults:${options.seed}`))
    this.orderRandom = Random.make(`order:${options.seed}`)
    this.latencyRandom = Random.make(`latency:${options.seed}`)
    // a stream of its own, so the item latencies a seed gives do not depend on the round trips
    this.roundTripRandom = Random.make(`roundTrip:${options.seed}`)
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

  readonly newId = (): string => {
    const n = ++this.idSeq
    const hex = n.toString(16).padStart(12, "0")
    const seed = (this.options.seed >>> 0).toString(16).padStart(8, "0")
    return `${seed}-0000-4000-8000-${hex}`
  }

  handle(request: HttpIn): Effect.Effect<HttpOut> {
    const self = this
    return Effect.gen(function*() {
      const httpRequest = ++self.httpSeq
      // the round trip's own cost comes first: nothing in the call runs before it has arrived
      const roundTrip = self.options.roundTrip
      if (roundTrip.baseMillis > 0 || roundTrip.jitterMillis > 0) {
        const r = yield* self.roundTripRandom.next
        yield* Effect.sleep(Duration.millis(Math.round(roundTrip.baseMillis + r * roundTrip.jitterMillis)))
      }
      if (httpRequest % 1024 === 0) self.accounting.sweep(yield* Clock.currentTimeMillis)
      const now = yield* Clock.currentTimeMillis
      const stamp: Stamp = { requestId: self.newId(), clientRequestId: headerOf(request.headers, "client-request-id"), now }
      const match = /^\/(v1\.0|beta)(\/[^?]*)?(\?.*)?$/.exec(request.url)
      if (match === null) {
        return respondAnswer(errorAnswer(400, "BadRequest", "Invalid version: the path must start with /v1.0/ or /beta/.", stamp))
      }
      const version = match[1]!
      const rest = (match[2] ?? "/") + (match[3] ?? "")
      const root = `${self.options.baseUrl ?? hostRoot(request.headers)}/${version}`
      const call: Call = { request, httpRequest, stamp, rest, root, drop: self.faults.dropConnection }
      if (yield* self.drops(call, "before")) return { _tag: "Drop" } as const
      const isBatch = /^\/\$batch\/?$/i.test(match[2] ?? "")
      return yield* (isBatch ? self.batchCall(call) : self.singleCall(call))
    })
  }

  /** Whether the call's connection-drop fault strikes in this phase. */
  private drops(call: Call, phase: Phase): Effect.Effect<boolean> {
    const drop = call.drop
    return (drop?.phase ?? "before") === phase ? this.dice.roll(drop?.rate) : Effect.succeed(false)
  }

  /** A request outside a batch: one item. */
  private singleCall(call: Call): Effect.Effect<HttpOut> {
    const self = this
    const { request, httpRequest, stamp } = call
    return Effect.gen(function*() {
      let body: unknown = undefined
      if (request.body.length > 0) {
        const contentType = headerOf(request.headers, "content-type") ?? "application/json"
        if (/json/i.test(contentType)) {
          try {
            body = JSON.parse(decoder.decode(request.body))
          } catch {
            return respondAnswer(errorAnswer(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", stamp))
          }
        } else {
          body = request.body
        }
      }
      const item: Item = { id: undefined, method: request.method.toUpperCase(), url: call.rest, headers: request.headers, body }
      const clientRequestId = headerOf(request.headers, "client-request-id") ?? `http-${httpRequest}`
      const context = contextOf(self.options, request.headers)
      const outcome = yield* runOne(self, prepare(self.options, item, clientRequestId, [], httpRequest, context, call.root))
      if (yield* self.drops(call, "after")) return { _tag: "Drop" } as const
      return respondAnswer(outcome)
    })
  }

  /** `POST /$batch`: batch faults, validation, the items, then the envelope (and its faults). */
  private batchCall(call: Call): Effect.Effect<HttpOut> {
    const self = this
    const { request, stamp } = call
    return Effect.gen(function*() {
      if (request.method.toUpperCase() !== "POST") {
        return respondAnswer(errorAnswer(405, "BadRequest", "The $batch endpoint accepts only POST.", stamp))
      }
      const batchFault = yield* self.dice.pickBatchFault("before")
      if (batchFault !== undefined) return respondAnswer(batchFaultAnswer(batchFault, stamp))
      const valid = validate(decoder.decode(request.body))
      if (Either.isLeft(valid)) {
        return respondAnswer(errorAnswer(400, "BadRequest", valid.left.message, stamp))
      }
      const context = contextOf(self.options, request.headers)
      const responses = yield* runBatch(self, valid.right, call.httpRequest, context, call.root, stamp.clientRequestId)
      if (yield* self.drops(call, "after")) return { _tag: "Drop" } as const
      const lateFault = yield* self.dice.pickBatchFault("after")
      if (lateFault !== undefined) return respondAnswer(batchFaultAnswer(lateFault, { ...stamp, now: yield* Clock.currentTimeMillis }))
      let kept = responses
      if (responses.length > 0 && (yield* self.dice.roll(self.faults.missingItem?.rate))) {
        const drop = yield* self.dice.index(responses.length)
        kept = responses.filter((_, i) => i !== drop)
      }
      // Only byte bodies change when encoded (to base64); skip the schema pass otherwise.
      const encoded = kept.some((r) => r.body instanceof Uint8Array) ? batchResponseEncoder({ responses: kept }) : Either.right({ responses: kept })
      const json = Either.isRight(encoded) ? JSON.stringify(encoded.right) : JSON.stringify({ responses: kept })
      const malformed = yield* self.dice.roll(self.faults.malformedJson?.rate)
      return {
        _tag: "Respond",
        status: 200,
        headers: { "Content-Type": "application/json", "request-id": stamp.requestId },
        body: malformed ? json.slice(0, Math.max(1, Math.floor(json.length / 2))) : json
      } as const
    })
  }
}

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

const respondAnswer = (outcome: ItemAnswer): HttpOut => {
  if (outcome.body === undefined) return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: "" }
  if (outcome.body instanceof Uint8Array) return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: outcome.body }
  return { _tag: "Respond", status: outcome.status, headers: outcome.headers, body: JSON.stringify(outcome.body) }
}
