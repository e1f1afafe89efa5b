/**
 * The items of one `$batch`, in Graph's order: a parallel batch admits its items together (by
 * priority) and runs them at once, Outlook's four at a time, answering in a seeded order; a
 * sequential batch runs one item at a time, each dependency first, and answers 424 for an item
 * whose dependency failed.
 *
 * @internal
 */
import type { BatchResponse } from "@effect-msgraph/spec"
import { type Cause, Clock, Effect, Either, Exit, Fiber } from "effect"
import type { Priority } from "../../Audit.js"
import type { Engine } from "../engine.js"
import { errorAnswer, type ItemAnswer } from "../responses.js"
import type { ValidBatch } from "../validation.js"
import { type ClassifyContext, echoedClientRequestId, headerOf, type Item, type Prepared, type Ticket } from "./model.js"
import { admit, admitNow } from "./admit.js"
import { runsWithinCap } from "./facts.js"
import { guarded, type Holding, performIn, runOneIn } from "./perform.js"
import { prepare } from "./prepare.js"

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
    const items: Array<Item> = batch.items.map((i) => ({
      id: i.id,
      method: i.method.toUpperCase(),
      url: i.url,
      headers: i.headers ?? {},
      body: i.body,
      batchClientRequestId
    }))
    const clientIds = items.map((item) =>
      headerOf(item.headers, "client-request-id") ?? `${item.id}#${fingerprint(`${item.method} ${item.url} ${bodyText(item.body)}`)}`
    )
    const prepared = items.map((item, i) => {
      const dep = batch.dependency[i]
      return prepare(engine.options, item, clientIds[i]!, dep === undefined ? [] : [clientIds[dep]!], httpRequest, context, root)
    })
    const toResponse = (i: number, o: ItemAnswer): BatchResponse.BatchResponseItem => ({
      id: items[i]!.id!,
      status: o.status,
      headers: o.headers,
      ...(o.body === undefined ? {} : { body: o.body })
    })
    return batch.shape === "parallel"
      ? Effect.map(runParallel(engine, prepared), (results) => results.map((o, i) => toResponse(i, o))).pipe(
        Effect.flatMap((responses) => engine.orderRandom.shuffle(responses)),
        Effect.map((chunk) => Array.from(chunk))
      )
      : Effect.map(runSequential(engine, batch, prepared), (results) => batch.order.map((i) => toResponse(i, results[i]!)))
  })

/** Every item at once (Outlook's four at a time); the answers in item order. */
const runParallel = (engine: Engine, prepared: ReadonlyArray<Prepared>): Effect.Effect<Array<ItemAnswer>> =>
  guarded((holding) => runParallelIn(engine, prepared, holding))

const runParallelIn = (engine: Engine, prepared: ReadonlyArray<Prepared>, holding: Holding): Effect.Effect<Array<ItemAnswer>> =>
  Effect.gen(function*() {
    const order = prepared.map((_, i) => i).sort((a, b) => priorityRank[prepared[a]!.priority] - priorityRank[prepared[b]!.priority] || a - b)
    // Graph hands Outlook at most four items of an unordered batch at a time.
    const outlook = yield* Effect.makeSemaphore(4)
    // Outlook by path, or by the catalogue's say (a demand whose service runs a batch within its cap).
    const isOutlook = (i: number) => prepared[i]!.service === "outlook" || prepared[i]!.demands.some(runsWithinCap)
    const others = order.filter((i) => !isOutlook(i))
    const mail = order.filter(isOutlook)
    // Items that arrive together are admitted in priority order: when a bucket has room for only
    // some of them, the low-priority ones are throttled first.
    const admitted = yield* admitAll(engine, others.map((i) => prepared[i]!))
    const results = new Array<ItemAnswer>(prepared.length)
    // Without latency nothing suspends, so running in turn gives the same answers without forking.
    const concurrency = prepared.some((p) => {
      const model = engine.options.latency(p.service)
      return model.baseMillis > 0 || model.jitterMillis > 0
    }) ? "unbounded" as const : 1
    const runOther = (i: number, k: number) =>
      Either.match(admitted[k]!, {
        onRight: (ticket) => Effect.map(performIn(engine, ticket, holding), (o) => void (results[i] = o)),
        onLeft: (o) => Effect.sync(() => void (results[i] = o))
      })
    const runMail = (i: number) => outlook.withPermits(1)(Effect.map(runOneIn(engine, prepared[i]!, holding), (o) => void (results[i] = o)))
    if (concurrency === 1) {
      for (let k = 0; k < others.length; k++) yield* runOther(others[k]!, k)
      for (const i of mail) yield* runMail(i)
    } else {
      yield* allAtOnce([...others.map(runOther), ...mail.map(runMail)])
    }
    return results
  })

/**
 * Runs every effect in a fiber of its own, all at once, and waits for them all, on the schedule of
 * `Effect.all([Effect.forEach(a, run, unbounded), Effect.forEach(b, run, unbounded)], unbounded)`
 * (discarding), which ran a parallel batch's items: its fibers take their first step, and the
 * caller its next, at the same turns of the scheduler, so a simulation's events keep their order
 * and its report stays the same, byte for byte. The fibers that `Effect.all` and `Effect.forEach`
 * fork to start and collect theirs (two each, started two turns after they are forked, or woken
 * one turn after their last fiber ends) cost about 25 Effect steps per item; here their turns are
 * yields: five before the fibers are forked (which start a turn later), three after the last one
 * ends (which wakes the caller a turn later). A fiber that fails interrupts the others, and the
 * caller fails with its cause; interrupting the caller interrupts them all.
 *
 * @internal
 */
export const allAtOnce = (effects: ReadonlyArray<Effect.Effect<void>>): Effect.Effect<void> =>
  Effect.zipRight(
    turns(5),
    Effect.flatMap(Effect.forEach(effects, Effect.fork), (fibers) =>
      Effect.zipRight(
        Effect.async<void>((resume) => {
          let left = fibers.length
          let failed: Cause.Cause<never> | undefined
          if (left === 0) resume(Effect.void)
          for (const fiber of fibers) {
            fiber.addObserver((exit) => {
              if (Exit.isFailure(exit) && failed === undefined) {
                failed = exit.cause
                for (const other of fibers) if (other !== fiber) other.unsafeInterruptAsFork(fiber.id())
              }
              if (--left === 0) resume(failed === undefined ? Effect.void : Effect.failCause(failed))
            })
          }
          return Fiber.interruptAll(fibers)
        }),
        turns(3)
      ))
  )

/** `n` turns of the scheduler. */
const turns = (n: number): Effect.Effect<void> => {
  let effect = Effect.yieldNow()
  for (let i = 1; i < n; i++) effect = Effect.zipRight(effect, Effect.yieldNow())
  return effect
}

/** Items that arrive together, admitted in turn at the same instant: one step when no item fault is configured. */
const admitAll = (engine: Engine, items: ReadonlyArray<Prepared>) =>
  Effect.clockWith((clock) => {
    const now = clock.unsafeCurrentTimeMillis()
    const out: Array<Either.Either<Ticket, ItemAnswer>> = []
    for (const p of items) {
      const admitted = admitNow(engine, p, now)
      // an item fault to roll: the rest are admitted with their rolls, in turn
      if (admitted === undefined) return Effect.map(Effect.forEach(items.slice(out.length), (q) => admit(engine, q)), (rest) => [...out, ...rest])
      out.push(admitted)
    }
    return Effect.succeed(out)
  })

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
