/**
 * Execution of one admitted item: its latency (slowed by the load model), the store, the permits
 * back, and a late item fault; then the audit entry.
 *
 * @internal
 */
import { Duration, Effect, Either } from "effect"
import type { Engine } from "../engine.js"
import type { ItemAnswer, Stamp } from "../responses.js"
import { admitNow } from "./admit.js"
import { itemFaultAnswer } from "./faults.js"
import { echoedClientRequestId, type Prepared, type Ticket } from "./model.js"

/**
 * What a batch's items hold while they wait for their latency: each item's way of giving its
 * permits back, until it gives them back itself. An interruption (the client gave up on the call)
 * gives back what is left, once for the whole batch: see {@link guarded}.
 *
 * @internal
 */
export type Holding = Set<() => void>

/**
 * Runs `f`, then gives back what its items still hold: nothing once every item ended, and what
 * the items cut short (interrupted, or stopped by another's failure) hold otherwise.
 *
 * @internal
 */
export const guarded = <A>(f: (holding: Holding) => Effect.Effect<A>): Effect.Effect<A> =>
  Effect.suspend(() => {
    const holding: Holding = new Set()
    return Effect.ensuring(
      f(holding),
      Effect.sync(() => {
        for (const settle of holding) settle()
      })
    )
  })

/**
 * Puts an admitted item in `holding` until it gives its permits back; returns the way it gives them
 * back (once: later calls do nothing).
 *
 * @internal
 */
export const hold = (engine: Engine, p: Prepared, holding: Holding): () => void => {
  const load = engine.load
  let held = true
  let inFlight = load !== undefined
  const settle = () => {
    if (!held) return
    held = false
    holding.delete(settle)
    engine.accounting.release(p.enforced)
    if (inFlight) {
      inFlight = false
      load!.settle(p.context.appId)
    }
  }
  holding.add(settle)
  return settle
}

/** Whether items of this service take any time. @internal */
export const takesTime = (engine: Engine, p: Prepared): boolean => {
  const model = engine.options.latency(p.service)
  return model.baseMillis > 0 || model.jitterMillis > 0
}

/**
 * How long an item just admitted runs, in milliseconds: its service's latency, drawn from the
 * latency stream, slowed by the load model. Only for an item that {@link takesTime}.
 *
 * @internal
 */
export const latencyMillis = (engine: Engine, p: Prepared): number => {
  const r = engine.latencyDraws.next()
  const model = engine.options.latency(p.service)
  const slowdown = engine.load === undefined ? 1 : engine.load.slowdown(p.context.appId)
  return Math.round((model.baseMillis + r * model.jitterMillis) * slowdown)
}

/**
 * The end of an item's execution at `now`: the store, the permits back (`settle`), then a late item
 * fault; then its audit entry.
 *
 * @internal
 */
export const completeAt = (engine: Engine, ticket: Ticket, settle: () => void, now: number): ItemAnswer => {
  const p = ticket.prepared
  const stamp: Stamp = { requestId: ticket.requestId, clientRequestId: echoedClientRequestId(p.item), now }
  const result = engine.store.handle({
    method: p.item.method,
    url: p.parsed,
    body: p.item.body,
    actingUser: p.context.userId,
    root: p.root,
    stamp,
    newId: engine.newId
  })
  settle()
  // an item fault `after` execution: the effect stays, the answer is lost to the fault
  const late = engine.dice.pickItemFault(p, "after")
  // the store's answer is made for this call: the admission's headers join its own
  const outcome = late === undefined ? (Object.assign(result.headers, ticket.headers), result) : itemFaultAnswer(late, stamp)
  engine.log.audited(p, ticket.seq, ticket.requestId, outcome, ticket.startedAt, now, true, true)
  return outcome
}

/**
 * The admitted item's execution within a {@link guarded} run: the item is in `holding` from now
 * until it gives its permits back.
 *
 * @internal
 */
export const performIn = (engine: Engine, ticket: Ticket, holding: Holding): Effect.Effect<ItemAnswer> => {
  const p = ticket.prepared
  const settle = hold(engine, p, holding)
  return Effect.clockWith((clock) => {
    if (!takesTime(engine, p)) return Effect.succeed(completeAt(engine, ticket, settle, clock.unsafeCurrentTimeMillis()))
    return Effect.map(clock.sleep(Duration.millis(latencyMillis(engine, p))), () => completeAt(engine, ticket, settle, clock.unsafeCurrentTimeMillis()))
  })
}

/** Admission, then execution when admitted, within a {@link guarded} run. @internal */
export const runOneIn = (engine: Engine, p: Prepared, holding: Holding): Effect.Effect<ItemAnswer> =>
  Effect.clockWith((clock) => {
    const admitted = admitNow(engine, p, clock.unsafeCurrentTimeMillis())
    return Either.isRight(admitted) ? performIn(engine, admitted.right, holding) : Effect.succeed(admitted.left)
  })

/** Admission, then execution when admitted. @internal */
export const runOne = (engine: Engine, p: Prepared): Effect.Effect<ItemAnswer> => guarded((holding) => runOneIn(engine, p, holding))
