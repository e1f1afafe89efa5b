/**
 * Admission through the Throttler, with costs from the CostCalculator.
 *
 * @internal
 */
import { Effect, Either } from "effect"
import type { BatchRequestItem } from "../BatchRequest.js"
import { Demand } from "../Bucket.js"
import { CostCalculator } from "../CostCalculator.js"
import { LimitCatalog } from "../LimitCatalog.js"
import { CostExceedsCapacity } from "../ThrottleError.js"
import * as ThrottlePriority from "../ThrottlePriority.js"
import { Throttler } from "../Throttler.js"
import type { Admission, Ticket } from "./executor.js"
import { isBinaryBody } from "./body.js"

/** @internal */
export interface Options {
  readonly identity: LimitCatalog.Identity
}

const capacityOf = (demand: Demand): number => {
  switch (demand.limit._tag) {
    case "Window":
      return demand.limit.limit
    case "TokenBucket":
      return demand.limit.capacity
    case "Concurrency":
      return demand.limit.permits
  }
}

const bodyBytes = (item: BatchRequestItem): number | undefined => {
  if (item.body === undefined) return undefined
  if (item.body instanceof Uint8Array) return item.body.length
  if (typeof item.body === "string" && isBinaryBody(item.headers)) return new TextEncoder().encode(item.body).length
  return new TextEncoder().encode(JSON.stringify(item.body)).length
}

/**
 * Graph hands the Outlook service at most four items of a batch at a time, whatever their mailbox,
 * so a parallel batch never runs more Outlook requests at once than the mailbox concurrency limit.
 * Other services run a parallel batch's items together: their concurrency limits cap how many items
 * of one batch may share a key.
 */
const batchRunsWithinCap = (demand: Demand): boolean => demand.service === "outlook"

/**
 * Merges a batch's demands per bucket key. Rates add up. A concurrency limit counts the requests
 * Graph runs at once: one for a sequential batch, and for a parallel one as many as there are,
 * up to the cap (Graph hands Outlook at most four items of a batch at a time).
 */
const merge = (perItem: ReadonlyArray<ReadonlyArray<Demand>>, sequential: boolean): Array<Demand> => {
  const byKey = new Map<string, Demand>()
  for (const demands of perItem) {
    for (const demand of demands) {
      const seen = byKey.get(demand.key)
      if (seen === undefined) {
        byKey.set(demand.key, demand)
        continue
      }
      const cost = demand.limit._tag === "Concurrency"
        ? (sequential ? 1 : Math.min(seen.cost + demand.cost, demand.limit.permits))
        : seen.cost + demand.cost
      byKey.set(demand.key, new Demand({ ...demand, cost }, true))
    }
  }
  return [...byKey.values()]
}

/** @internal */
export const make = (options: Options): Effect.Effect<Admission, never, Throttler | CostCalculator | LimitCatalog> =>
  Effect.gen(function*() {
    const throttler = yield* Throttler
    const costs = yield* CostCalculator
    const catalog = yield* LimitCatalog
    const context = catalog.context(options.identity)

    const demandsOf = (item: BatchRequestItem) => {
      const bytes = bodyBytes(item)
      const request = {
        method: item.method,
        url: item.url,
        ...(bytes === undefined ? {} : { bodyBytes: bytes }),
        ...(item.body === undefined || item.body instanceof Uint8Array ? {} : { body: item.body })
      }
      return Effect.either(costs.cost(request, context))
    }

    const admit: Admission["admit"] = (batch) =>
      Effect.gen(function*() {
        const sequential = batch.shape !== "parallel"
        const used = new Map<string, number>()
        const send: Array<{ index: number; headers: Readonly<Record<string, string>>; handle: unknown }> = []
        const deferred: Array<number> = []
        const rejected: Array<{ index: number; error: Ticket["rejected"][number]["error"] }> = []
        const sentDemands: Array<ReadonlyArray<Demand>> = []
        let stopped = false
        let level = 2
        for (const [index, { priority, request }] of batch.items.entries()) {
          if (stopped) {
            deferred.push(index)
            continue
          }
          const priced = yield* demandsOf(request)
          if (Either.isLeft(priced)) {
            rejected.push({ index, error: priced.left })
            if (sequential) stopped = true
            continue
          }
          const demands = priced.right.demands
          const impossible = demands.find((d) => d.limit._tag !== "Concurrency" && d.cost > capacityOf(d))
          if (impossible !== undefined) {
            rejected.push({
              index,
              error: new CostExceedsCapacity({
                key: impossible.key,
                entryId: impossible.entryId,
                cost: impossible.cost,
                capacity: capacityOf(impossible)
              })
            })
            if (sequential) stopped = true
            continue
          }
          // Graph judges every item on its own: items that together exceed a bucket's capacity
          // would be refused, so they wait for a later round
          const fits = demands.every((d) =>
            d.limit._tag === "Concurrency"
              ? sequential || batchRunsWithinCap(d) || (used.get(d.key) ?? 0) + d.cost <= capacityOf(d)
              : (used.get(d.key) ?? 0) + d.cost <= capacityOf(d)
          )
          if (!fits) {
            deferred.push(index)
            if (sequential) stopped = true
            continue
          }
          for (const d of demands) used.set(d.key, (used.get(d.key) ?? 0) + d.cost)
          send.push({ index, headers: ThrottlePriority.headersFor(priority, demands), handle: demands })
          sentDemands.push(demands)
          level = Math.min(level, ThrottlePriority.level(priority))
        }
        const merged = merge(sentDemands, sequential)
        const priority = level === 0 ? "high" : level === 1 ? "normal" : "low"
        // the merged demand is within every capacity, so only a store failure can fail here
        const acquire = Effect.map(Effect.orDie(throttler.admit(merged, { priority })), (permit) => {
          const waited = permit.admittedAt - permit.arrivedAt
          const waitedMillis: Record<string, number> = {}
          if (waited > 0) for (const d of merged) waitedMillis[d.key] = waited
          return { release: Effect.orDie(throttler.release(permit)), waitedMillis }
        })
        return { send, deferred, rejected, acquire } satisfies Ticket
      })

    const feedback: Admission["feedback"] = (handle, status, headers) =>
      Array.isArray(handle)
        ? Effect.asVoid(Effect.orDie(throttler.feedback({ status, headers }, handle as ReadonlyArray<Demand>)))
        : Effect.void

    return { admit, feedback }
  })
