/**
 * One `$batch` round trip: the HTTP call, bounded by the timeout, and the decoding of its answer
 * into item responses or a batch-level error.
 *
 * @internal
 */
import { HttpBody, type HttpClient, type HttpClientError, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Clock, Duration, Effect, Either, Exit, Fiber, Option } from "effect"
import type { Headers } from "@effect-msgraph/spec/BatchRequest"
import type { BatchResponseEnvelope, BatchResponseItem } from "@effect-msgraph/spec/BatchResponse"
import type { PlannedBatch } from "../../DependencyResolver.js"
import * as GCE from "../../GraphClientError.js"
import * as GraphError from "@effect-msgraph/spec/GraphError"
import * as RetryAfter from "@effect-msgraph/spec/RetryAfter"
import type { TokenError } from "../../TokenProvider.js"
import * as transport from "./transport.js"
import * as wire from "./wire.js"

/** What a `$batch` call came to. */
export type BatchResult =
  | {
    readonly _tag: "Envelope"
    readonly responses: ReadonlyArray<BatchResponseItem>
    /** The answer of each of the batch's requests, in the batch's order (undefined: none). */
    readonly answers: ReadonlyArray<BatchResponseItem | undefined>
    readonly missing: ReadonlyArray<string>
    /** Some items were answered twice, differently (they are in `missing`). */
    readonly contradicted: boolean
  }
  | {
    readonly _tag: "Error"
    readonly error: GCE.BatchError
    readonly headers: Headers
    /**
     * No connection to the endpoint could be made (refused, unreachable, a failed name lookup, a
     * connect timeout, a rejected certificate): the endpoint was out of reach, and nothing left.
     */
    readonly unreachable?: true
  }
  | { readonly _tag: "NoToken"; readonly error: TokenError }

const batchError = (error: GCE.BatchError, headers: Headers = {}): BatchResult => ({ _tag: "Error", error, headers })

/** The `$batch` POST of a batch's JSON, with its bearer token. */
export const request = (url: string, token: string, json: unknown): HttpClientRequest.HttpClientRequest =>
  // one `modify`: the same headers, in the same order, as bearerToken, acceptJson and bodyUnsafeJson
  HttpClientRequest.post(url, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    body: HttpBody.unsafeJson(json)
  })

/** A round trip waiting for its answer: when its time is up, and what ends it then. */
interface Pending {
  readonly deadline: number
  /** Called once: by the answer (`true`) or by the timeout (`false`); later calls do nothing. */
  settled: boolean
  readonly onTimeout: () => void
}

/**
 * The timeouts of a run's round trips, watched by one fiber (`watch`) instead of a sleeping fiber
 * per call. Every call of a run has the same timeout and starts no earlier than the one before,
 * so their deadlines come in order: a queue, whose head is the next deadline (a wall clock set
 * back can put a deadline behind a later one: that call's timeout then comes late by as much as
 * the clock went back). Calls answered
 * leave the queue from its head. The watcher sleeps until the head's deadline and ends the calls
 * still waiting then; it stops sleeping when no call waits any more (a sleep no call needs would
 * move a virtual clock on), and waits for the next call.
 */
export class Timeouts {
  private queue: Array<Pending> = []
  private head = 0
  /** Resumes the watcher waiting for a call, when it waits for one. */
  private arrived: (() => void) | undefined
  /** Resumes the watcher sleeping, when it sleeps: no call waits any more. */
  private emptied: (() => void) | undefined

  /** `clock`: the run's, read directly for the time a call starts and the watcher wakes. */
  constructor(readonly millis: number, private readonly clock: Clock.Clock) {}

  /** Watches the deadlines while the run lasts (fork it into the run's scope). */
  readonly watch: Effect.Effect<never> = Effect.suspend(() => this.step(this.watch))

  private step(next: Effect.Effect<never>): Effect.Effect<never> {
    this.dropSettled()
    const first = this.queue[this.head]
    if (first === undefined) return Effect.zipRight(this.signal("arrived"), next)
    return Effect.suspend(() => {
      const now = this.clock.unsafeCurrentTimeMillis()
      if (first.deadline > now) {
        return Effect.zipRight(Effect.raceFirst(Effect.sleep(Duration.millis(first.deadline - now)), this.signal("emptied")), next)
      }
      for (let pending = this.queue[this.head]; pending !== undefined && pending.deadline <= now; pending = this.queue[this.head]) {
        this.head++
        if (pending.settled) continue
        pending.settled = true
        pending.onTimeout()
      }
      return next
    })
  }

  /** Waits until `arrived` or `emptied` is called. */
  private signal(name: "arrived" | "emptied"): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      this[name] = () => {
        this[name] = undefined
        resume(Effect.void)
      }
      return Effect.sync(() => {
        this[name] = undefined
      })
    })
  }

  private add(pending: Pending): void {
    this.queue.push(pending)
    this.arrived?.()
  }

  private dropSettled(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.settled) this.head++
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
      this.emptied?.()
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  /**
   * `self` within the timeout: its result, or none once the timeout passed (`self`, in a fiber of
   * its own, is then interrupted and waited for), as `Effect.timeoutTo` with `Option.some` and
   * `Option.none`.
   */
  within<A>(self: Effect.Effect<A>): Effect.Effect<Option.Option<A>> {
    if (!(this.millis > 0 && this.millis < Infinity)) {
      return Effect.timeoutTo(self, { duration: Duration.millis(this.millis), onSuccess: Option.some, onTimeout: Option.none })
    }
    return Effect.flatMap(Effect.fork(self), (fiber) =>
      Effect.async<Option.Option<A>>((resume) => {
        const pending: Pending = {
          deadline: this.clock.unsafeCurrentTimeMillis() + this.millis,
          settled: false,
          onTimeout: () => resume(Effect.as(Fiber.interrupt(fiber), Option.none()))
        }
        fiber.addObserver((exit) => {
          if (pending.settled) return
          pending.settled = true
          this.dropSettled()
          resume(
            Exit.isSuccess(exit) ? Effect.as(fiber.inheritAll, Option.some(exit.value)) : Effect.failCause(exit.cause)
          )
        })
        if (pending.settled) return
        this.add(pending)
        return Effect.sync(() => {
          pending.settled = true
          this.dropSettled()
        })
      }))
  }
}

/**
 * Sends the request and reads its answer; one timeout covers the whole round trip, headers and
 * body (interrupting the exchange aborts it).
 */
export const exchange = (
  http: HttpClient.HttpClient,
  batch: PlannedBatch,
  request: HttpClientRequest.HttpClientRequest,
  timeouts: Timeouts
): Effect.Effect<BatchResult> =>
  Effect.flatMap(
    timeouts.within(Effect.either(
      Effect.flatMap(answerOf(http.execute(request)), (response) =>
        Effect.map(Effect.either(response.text), (text) => ({ status: response.status, headers: response.headers, text })))
    )),
    (exchanged) => {
      const timeoutMillis = timeouts.millis
      if (Option.isNone(exchanged)) {
        return Effect.succeed(batchError(
          new GCE.BatchTransportError({
            batchId: batch.id,
            sent: true,
            description: `no complete answer within ${Duration.format(Duration.millis(timeoutMillis))}`
          })
        ))
      }
      if (Either.isLeft(exchanged.value)) return Effect.succeed(failedCall(batch, exchanged.value.left))
      const { headers, status, text } = exchanged.value.right
      const flat: Headers = { ...headers }
      if (Either.isLeft(text)) {
        return Effect.succeed(batchError(
          new GCE.BatchTransportError({ batchId: batch.id, sent: true, description: "connection lost while reading the response" }),
          flat
        ))
      }
      return decode(batch, status, flat, text.right)
    }
  )

/**
 * The answer, also when an HttpClient of the user's (built with `filterStatusOk`, say) failed it for
 * its status: it is still Graph's answer, and a 429 in it means nothing ran.
 */
const answerOf = (
  execute: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.catchIf(
    execute,
    (error): error is HttpClientError.ResponseError => error._tag === "ResponseError" && error.reason === "StatusCode",
    (error) => Effect.succeed(error.response)
  )

/** A call that got no answer: whether anything left this process decides `sent`. */
const failedCall = (batch: PlannedBatch, error: HttpClientError.HttpClientError): BatchResult => {
  // a failure while encoding, or before a connection existed, means nothing left this process
  const notSent = error._tag === "RequestError" && error.reason === "Encode"
    ? "Encode"
    : error._tag === "RequestError" && error.reason === "Transport"
    ? transport.notSentCode(error.cause)
    : undefined
  const failure = new GCE.BatchTransportError({
    batchId: batch.id,
    sent: notSent === undefined,
    description: notSent === undefined || notSent === "Encode" ? error.reason : `${error.reason} (${notSent})`
  })
  // an encoding failure is this process's own, not the endpoint's
  return notSent === undefined || notSent === "Encode"
    ? batchError(failure)
    : { _tag: "Error", error: failure, headers: {}, unreachable: true }
}

/**
 * An answer read whole: a batch-level error for a 4xx or 5xx status or a body that is not a batch
 * response, else the item responses (an item answered twice, differently, counts as missing).
 */
export const decode = (batch: PlannedBatch, status: number, headers: Headers, text: string): Effect.Effect<BatchResult> =>
  status >= 500
    ? Effect.map(RetryAfter.delayFromHeaders(headers), (millis) =>
      batchError(
        new GCE.BatchServerError({
          batchId: batch.id,
          status,
          ...(Option.isSome(millis) ? { retryAfterMillis: Duration.toMillis(millis.value) } : {})
        }),
        headers
      ))
    : Effect.succeed(decodeAnswer(batch, status, headers, text))

/** {@link decode} of an answer below 500: read without an Effect. */
const decodeAnswer = (batch: PlannedBatch, status: number, headers: Headers, text: string): BatchResult => {
  const parsed = Either.try(() => JSON.parse(text) as unknown)
  if (status >= 400) {
    const body = Either.isRight(parsed) ? GraphError.fromBody(parsed.right) : Option.none()
    return batchError(
      new GCE.BatchRejected({ batchId: batch.id, status, ...(Option.isSome(body) ? { error: body.value.error } : {}) }),
      headers
    )
  }
  const envelope: Either.Either<typeof BatchResponseEnvelope.Type, unknown> = Either.isRight(parsed)
    ? wire.decodeResponseEnvelope(parsed.right)
    : Either.left("malformed JSON")
  if (Either.isLeft(envelope)) {
    return batchError(
      new GCE.BatchDecodeError({
        batchId: batch.id,
        description: Either.isLeft(parsed) ? "malformed JSON" : "not a batch response",
        missing: batch.requests.map((r) => r.id)
      }),
      headers
    )
  }
  // an item answered twice, differently, is as unanswered as a missing one
  const { byKey, contradicted, responses } = wire.distinctResponses(envelope.right.responses)
  const missing: Array<string> = []
  const answers: Array<BatchResponseItem | undefined> = []
  for (const { id } of batch.requests) {
    const answer = byKey.get(id.toLowerCase())
    if (answer === undefined) missing.push(id)
    answers.push(answer)
  }
  return { _tag: "Envelope", responses, answers, missing, contradicted: contradicted.length > 0 }
}
