/**
 * One bucket with its own in-memory store and queue: the body of the standalone primitives
 * (`SlidingWindow`, `TokenBucket`, `ConcurrencyLimiter`). Waiters are served first come first served,
 * and a costly waiter keeps cheaper latecomers out until it is admitted.
 *
 * @internal
 */
import { Effect } from "effect"
import type * as Scope from "effect/Scope"
import type { Limit } from "@effect-msgraph/spec/Bucket"
import * as QuotaStore from "../../QuotaStore.js"
import type { Limiter } from "../../Limiter.js"
import type { ThrottleError } from "../../ThrottleError.js"
import { InvalidDemand } from "../../ThrottleError.js"
import * as runner from "./runner.js"
import { NORMAL } from "./admissionQueue.js"

/** @internal */
export const make = (
  name: string,
  limit: Limit,
  storeOptions: QuotaStore.QuotaStore.MemoryOptions = {}
): Effect.Effect<Limiter, InvalidDemand, Scope.Scope> =>
  Effect.gen(function*() {
    if (runner.capacityOf(limit) === undefined) {
      return yield* new InvalidDemand({ key: name, entryId: name, reason: "LimitNotPositive" })
    }
    const store = QuotaStore.unsafeMakeMemory(storeOptions)
    const run = yield* runner.makeRunner(store, 0)
    const demand = (cost: number): runner.DemandLike => ({
      key: name,
      entryId: name,
      service: "local",
      scope: "resource",
      retryAfter: false,
      limit,
      cost
    })
    const unit = [demand(1)]
    const entriesFor = (cost: number) => runner.normalise(cost === 1 ? unit : [demand(cost)])
    // The in-memory store never fails, so a store error here is a defect.
    const acquire = (cost: number) =>
      Effect.suspend(() => {
        const entries = entriesFor(cost)
        if (!Array.isArray(entries)) return Effect.fail(entries as ThrottleError)
        return Effect.orDie(runner.admitEntries(run, entries as ReadonlyArray<runner.DemandLike>, NORMAL))
      })
    const withCost = (cost: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ThrottleError, R> =>
      limit._tag === "Concurrency"
        ? Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(restore(acquire(cost)), (permit) =>
            Effect.ensuring(restore(self), Effect.orDie(Effect.suspend(() => runner.toEffect(runner.release(run, permit))))))
        )
        : Effect.zipRight(acquire(cost), self)
    const limiter = (<A, E, R>(self: Effect.Effect<A, E, R>) => withCost(1)(self)) as Limiter
    return Object.assign(limiter, {
      withCost,
      take: (cost = 1) => Effect.asVoid(acquire(cost))
    })
  })
