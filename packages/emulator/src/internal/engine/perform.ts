/**
 * Execution of one admitted item: its latency (slowed by the load model), the store, the permits
 * back, and a late item fault; then the audit entry.
 *
 * @internal
 */
import { Clock, Duration, Effect, Either } from "effect"
import type { Engine } from "../engine.js"
import type { ItemAnswer, Stamp } from "../responses.js"
import { admit } from "./admit.js"
import { itemFaultAnswer } from "./faults.js"
import { echoedClientRequestId, type Prepared, type Ticket } from "./model.js"

/** Latency, then the store, then the permits go back. @internal */
export const perform = (engine: Engine, ticket: Ticket): Effect.Effect<ItemAnswer> => {
  const p = ticket.prepared
  const load = engine.load
  let inFlight = load !== undefined
  const settle = () => {
    engine.accounting.release(p.enforced)
    if (inFlight) {
      inFlight = false
      load!.settle(p.context.appId)
    }
  }
  return Effect.gen(function*() {
    const model = engine.options.latency(p.service)
    if (model.baseMillis > 0 || model.jitterMillis > 0) {
      const r = yield* engine.latencyRandom.next
      const slowdown = load === undefined ? 1 : load.slowdown(p.context.appId)
      yield* Effect.sleep(Duration.millis(Math.round((model.baseMillis + r * model.jitterMillis) * slowdown)))
    }
    const now = yield* Clock.currentTimeMillis
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
    const late = yield* engine.dice.pickItemFault(p, "after")
    const outcome: ItemAnswer = late === undefined
      ? { ...result, headers: { ...result.headers, ...ticket.headers } }
      : itemFaultAnswer(late, stamp)
    engine.log.audited(p, ticket.seq, ticket.requestId, outcome, ticket.startedAt, now, true, true)
    return outcome
  }).pipe(Effect.onInterrupt(() => Effect.sync(settle)))
}

/** Admission, then execution when admitted. @internal */
export const runOne = (engine: Engine, p: Prepared): Effect.Effect<ItemAnswer> =>
  Effect.flatMap(admit(engine, p), Either.match({ onRight: (ticket) => perform(engine, ticket), onLeft: Effect.succeed }))
