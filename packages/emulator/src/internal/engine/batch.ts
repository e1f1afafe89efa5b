/**
 * The items of one `$batch`, in Graph's order: a parallel batch admits its items together (by
 * priority) and runs them at once, Outlook's four at a time, answering in a seeded order; a
 * sequential batch runs one item at a time, each dependency first, and answers 424 for an item
 * whose dependency failed.
 *
 * @internal
 */
import type { BatchResponse } from "@effect-msgraph/spec"
import { Clock, Duration, Effect, Either } from "effect"
import type { Priority } from "../../Audit.js"
import type { Engine } from "../engine.js"
import { errorAnswer, type ItemAnswer } from "../responses.js"
import type { ValidBatch } from "../validation.js"
import { type ClassifyContext, echoedClientRequestId, headerOf, type Item, type Prepared, type Ticket } from "./model.js"
import { admitNow } from "./admit.js"
import { runsWithinCap } from "./facts.js"
import { completeAt, guarded, hold, type Holding, latencyMillis, runOneIn, takesTime } from "./perform.js"
import { prepare } from "./prepare.js"
import { routeOf } from "../routing.js"

const priorityRank: Record<Priority, number> = { high: 0, normal: 1, low: 2 }

/** FNV-1a, 32 bits, as 8 hex digits: a stable fingerprint of an item. @internal */
export const fingerprint = (text: string): string => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, "0")
}

/** The headers of an item that has none: one object, never changed. */
const noHeaders: Readonly<Record<string, string>> = {}

/** The dependencies of an item that has none: one array, never changed (audit entries keep it). */
const noDependencies: ReadonlyArray<string> = []

const methodNames: Record<string, string> = { GET: "GET", POST: "POST", PUT: "PUT", PATCH: "PATCH", DELETE: "DELETE" }

/** A method in upper case, the same string for every item of a documented method. */
const methodName = (method: string): string => {
  const upper = method.toUpperCase()
  return methodNames[upper] ?? upper
}

const bodyText = (body: unknown): string =>
  body === undefined ? "" : body instanceof Uint8Array ? Buffer.from(body).toString("base64") : JSON.stringify(body)

/** @internal */
export const runBatch = (
  engine: Engine,
  batch: ValidBatch,
  httpRequest: number,
  context: ClassifyContext,
  root: string,
  batchClientRequestId: string | undefined
): Effect.Effect<ReadonlyArray<BatchResponse.BatchResponseItem>> =>
  Effect.suspend(() => {
    // the method and URL as strings shared by every item that carries them: audit entries keep both
    const items: Array<Item> = batch.items.map((i) => ({
      id: i.id,
      method: methodName(i.method),
      url: routeOf(i.url).url,
      headers: i.headers ?? noHeaders,
      body: i.body,
      batchClientRequestId
    }))
    const clientIds = items.map((item) =>
      headerOf(item.headers, "client-request-id") ?? `${item.id}#${fingerprint(`${item.method} ${item.url} ${bodyText(item.body)}`)}`
    )
    const prepared = items.map((item, i) => {
      const dep = batch.dependency[i]
      return prepare(engine.options, item, clientIds[i]!, dep === undefined ? noDependencies : [clientIds[dep]!], httpRequest, context, root)
    })
    const toResponse = (i: number, o: ItemAnswer): BatchResponse.BatchResponseItem =>
      o.body === undefined
        ? { id: items[i]!.id!, status: o.status, headers: o.headers }
        : { id: items[i]!.id!, status: o.status, headers: o.headers, body: o.body }
    return batch.shape === "parallel"
      ? Effect.map(runParallel(engine, prepared), (results) => engine.orderDraws.shuffle(results.map((o, i) => toResponse(i, o))))
      : Effect.map(runSequential(engine, batch, prepared), (results) => batch.order.map((i) => toResponse(i, results[i]!)))
  })

/** Every item at once (Outlook's four at a time); the answers in item order. */
const runParallel = (engine: Engine, prepared: ReadonlyArray<Prepared>): Effect.Effect<Array<ItemAnswer>> =>
  guarded((holding) => runParallelIn(engine, prepared, holding))

const runParallelIn = (engine: Engine, prepared: ReadonlyArray<Prepared>, holding: Holding): Effect.Effect<Array<ItemAnswer>> =>
  Effect.clockWith((clock) => {
    const order = prepared.map((_, i) => i).sort((a, b) => priorityRank[prepared[a]!.priority] - priorityRank[prepared[b]!.priority] || a - b)
    // Outlook by path, or by the catalogue's say (a demand whose service runs a batch within its cap).
    const isOutlook = (i: number) => prepared[i]!.service === "outlook" || prepared[i]!.demands.some(runsWithinCap)
    const others: Array<number> = []
    const mail: Array<number> = []
    for (const i of order) (isOutlook(i) ? mail : others).push(i)
    // Items that arrive together are admitted in turn at the same instant, in priority order: when
    // a bucket has room for only some of them, the low-priority ones are throttled first.
    const now = clock.unsafeCurrentTimeMillis()
    const admitted = others.map((i) => admitNow(engine, prepared[i]!, now))
    const results = new Array<ItemAnswer>(prepared.length)
    if (prepared.some((p) => takesTime(engine, p))) return runTimed(engine, clock, prepared, holding, { others, admitted, mail }, results)
    // Without latency nothing suspends: the items run in turn.
    for (let k = 0; k < others.length; k++) {
      const ticket = admitted[k]!
      results[others[k]!] = Either.isRight(ticket)
        ? completeAt(engine, ticket.right, hold(engine, ticket.right.prepared, holding), clock.unsafeCurrentTimeMillis())
        : ticket.left
    }
    for (const i of mail) {
      const ticket = admitNow(engine, prepared[i]!, clock.unsafeCurrentTimeMillis())
      results[i] = Either.isRight(ticket)
        ? completeAt(engine, ticket.right, hold(engine, ticket.right.prepared, holding), clock.unsafeCurrentTimeMillis())
        : ticket.left
    }
    return Effect.succeed(results)
  })

/** An item running: when its latency ends, and how it gives its permits back. */
interface Running {
  readonly index: number
  readonly at: number
  /** Order of starting: items that end at the same millisecond complete in the order they started. */
  readonly started: number
  readonly ticket: Ticket
  readonly settle: () => void
  readonly mail: boolean
}

/** Graph hands the Outlook service at most four items of an unordered batch at a time. */
const OUTLOOK_AT_ONCE = 4

/**
 * A parallel batch with latency, in the batch's own fiber: every admitted item starts now, Outlook's
 * four at a time (first come first served: when one ends, the next is admitted and starts), and the
 * fiber sleeps until the next item's latency ends, completes it, and so on. One fiber and one timer
 * per batch, where a fiber per item would each sleep on their own; items ending at the same
 * millisecond complete in the order they started.
 */
const runTimed = (
  engine: Engine,
  clock: Clock.Clock,
  prepared: ReadonlyArray<Prepared>,
  holding: Holding,
  items: {
    readonly others: ReadonlyArray<number>
    readonly admitted: ReadonlyArray<Either.Either<Ticket, ItemAnswer>>
    readonly mail: ReadonlyArray<number>
  },
  results: Array<ItemAnswer>
): Effect.Effect<Array<ItemAnswer>> => {
  const { admitted, mail, others } = items
  const running: Array<Running> = []
  let started = 0
  const start = (index: number, ticket: Ticket, mail: boolean): void => {
    const settle = hold(engine, ticket.prepared, holding)
    const ms = takesTime(engine, ticket.prepared) ? latencyMillis(engine, ticket.prepared) : 0
    running.push({ index, at: clock.unsafeCurrentTimeMillis() + ms, started: started++, ticket, settle, mail })
  }
  for (let k = 0; k < others.length; k++) {
    const ticket = admitted[k]!
    if (Either.isLeft(ticket)) results[others[k]!] = ticket.left
    else start(others[k]!, ticket.right, false)
  }
  // Outlook's lanes: an item refused at admission frees its lane at once
  let lanes = OUTLOOK_AT_ONCE
  let next = 0
  const fill = (): void => {
    while (lanes > 0 && next < mail.length) {
      const i = mail[next++]!
      const ticket = admitNow(engine, prepared[i]!, clock.unsafeCurrentTimeMillis())
      if (Either.isLeft(ticket)) results[i] = ticket.left
      else {
        lanes--
        start(i, ticket.right, true)
      }
    }
  }
  fill()
  return Effect.gen(function*() {
    while (running.length > 0) {
      let first = 0
      for (let j = 1; j < running.length; j++) {
        const r = running[j]!
        const f = running[first]!
        if (r.at < f.at || (r.at === f.at && r.started < f.started)) first = j
      }
      const item = running[first]!
      running.splice(first, 1)
      const wait = item.at - clock.unsafeCurrentTimeMillis()
      if (wait > 0) yield* clock.sleep(Duration.millis(wait))
      results[item.index] = completeAt(engine, item.ticket, item.settle, clock.unsafeCurrentTimeMillis())
      if (item.mail) {
        lanes++
        fill()
      }
    }
    return results
  })
}

/** Serial and Same batches run one item at a time, every dependency first (array order otherwise). */
const runSequential = (engine: Engine, batch: ValidBatch, prepared: ReadonlyArray<Prepared>): Effect.Effect<Array<ItemAnswer>> =>
  guarded((holding) => runSequentialIn(engine, batch, prepared, holding))

const runSequentialIn = (engine: Engine, batch: ValidBatch, prepared: ReadonlyArray<Prepared>, holding: Holding): Effect.Effect<Array<ItemAnswer>> =>
  Effect.gen(function*() {
    const results = new Array<ItemAnswer>(prepared.length)
    for (const i of batch.order) {
      const dep = batch.dependency[i]
      if (dep !== undefined && results[dep]!.status >= 400) {
        const now = yield* Clock.currentTimeMillis
        const seq = engine.nextSeq()
        const requestId = engine.newId()
        const outcome = errorAnswer(424, "FailedDependency", `The request depends on request '${prepared[dep]!.item.id}', which failed.`, {
          requestId,
          clientRequestId: echoedClientRequestId(prepared[i]!.item),
          now
        })
        engine.log.audited(prepared[i]!, seq, requestId, outcome, now, now, false, false)
        results[i] = outcome
        continue
      }
      results[i] = yield* runOneIn(engine, prepared[i]!, holding)
    }
    return results
  })
