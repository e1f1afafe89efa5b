/**
 * The throttled implementation of the `Admission` port: every batch priced by the CostCalculator
 * and admitted through the Throttler.
 *
 * @internal
 */
import { Effect, Either, Option } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import { Demand } from "@effect-msgraph/spec/Bucket"
import { CostCalculator } from "@effect-msgraph/spec/CostCalculator"
import { LimitCatalog } from "@effect-msgraph/spec/LimitCatalog"
import { CostExceedsCapacity } from "../../ThrottleError.js"
import * as ThrottlePriority from "../../ThrottlePriority.js"
import { type AnsweredRequest, type Permit, Throttler, type ThrottlerService } from "../../Throttler.js"
import type { AdmissionService, LeastLatency, Permission, Ticket } from "../../Admission.js"
import { andThen, capacityOf as limitCapacity, type Direct, directOf, type Step, toEffect } from "../throttle/runner.js"
import { isBinaryBody } from "@effect-msgraph/spec/Body"

/** @internal */
export interface Options {
  readonly identity: LimitCatalog.Identity
  readonly leastLatency?: LeastLatency | undefined
}

/** A bucket's capacity; a malformed limit (the catalogue rejects them) holds nothing. */
const capacityOf = (demand: Demand): number => limitCapacity(demand.limit) ?? 0

const utf8 = new TextEncoder()

const bodyBytes = (item: BatchRequestItem): number | undefined => {
  if (item.body === undefined) return undefined
  if (item.body instanceof Uint8Array) return item.body.length
  if (typeof item.body === "string" && isBinaryBody(item.headers)) return utf8.encode(item.body).length
  return utf8.encode(JSON.stringify(item.body)).length
}

/**
 * Graph hands the Outlook service at most four items of a batch at a time, whatever their mailbox,
 * so a parallel batch never runs more Outlook requests at once than the mailbox concurrency limit.
 * Other services run a parallel batch's items together: each item holds its own permit. The
 * catalogue declares this per service (`batchWithinCap`).
 */
const batchRunsWithinCap = (demand: Demand): boolean => demand.batchWithinCap

/**
 * Merges demands per bucket key. Rates add up. A concurrency limit counts the requests Graph runs at
 * once: one for a sequential batch, and for a parallel one as many as there are, up to the cap.
 */
const merge = (
  perItem: ReadonlyArray<ReadonlyArray<Demand>>,
  sequential: boolean,
  withCost: (demand: Demand, cost: number) => Demand
): Array<Demand> => {
  // first demand and summed cost per key; a new Demand only for keys that more than one item holds
  const byKey = new Map<string, { readonly demand: Demand; cost: number; shared: boolean }>()
  for (const demands of perItem) {
    for (const demand of demands) {
      const seen = byKey.get(demand.key)
      if (seen === undefined) byKey.set(demand.key, { demand, cost: demand.cost, shared: false })
      else {
        seen.cost += demand.cost
        seen.shared = true
      }
    }
  }
  const merged: Array<Demand> = []
  for (const { cost, demand, shared } of byKey.values()) {
    if (!shared) merged.push(demand)
    else {
      const total = demand.limit._tag === "Concurrency" ? (sequential ? 1 : Math.min(cost, demand.limit.permits)) : cost
      merged.push(withCost(demand, total))
    }
  }
  return merged
}

const priorityOf = (level: number): ThrottlePriority.Priority => level === 0 ? "high" : level === 1 ? "normal" : "low"

/**
 * What a blocked batch waits for: its first item, and the later items whose buckets are all among
 * the first item's, while together they fit every bucket's capacity (a sequential batch: only a
 * prefix). Each bucket is then waited for once, with all the units it must hold.
 */
const waitGroup = (sequential: boolean, left: ReadonlyArray<Candidate>): Array<Candidate> => {
  const first = left[0]!
  const keys = new Set(first.demands.map((d) => d.key))
  const used = new Map<string, number>()
  const group: Array<Candidate> = []
  for (const candidate of left) {
    const within = candidate.demands.every((d) => keys.has(d.key))
    const fits = within && candidate.demands.every((d) =>
      d.limit._tag === "Concurrency"
        ? sequential || batchRunsWithinCap(d) || (used.get(d.key) ?? 0) + d.cost <= capacityOf(d)
        : (used.get(d.key) ?? 0) + d.cost <= capacityOf(d)
    )
    if (!fits) {
      if (sequential) break
      continue
    }
    for (const d of candidate.demands) used.set(d.key, (used.get(d.key) ?? 0) + d.cost)
    group.push(candidate)
  }
  return group
}

/** How many units a bucket serves per millisecond; `undefined` for concurrency. */
const perMillis = (demand: Demand): number | undefined => {
  switch (demand.limit._tag) {
    case "Window":
      return demand.limit.limit / demand.limit.windowMillis
    case "TokenBucket":
      return demand.limit.refillPerSecond / 1000
    case "Concurrency":
      return undefined
  }
}

/** The most a backlog can move a request up its queue level (below the throttler's ageing step). */
const LEAD_MILLIS = 10_000

/**
 * The opaque handle of one item sent: its demands and when this very send was admitted (priced
 * demands are shared between requests and their sends), for feedback (a 429 for an item admitted
 * before its bucket was last lowered teaches nothing new).
 */
class SendHandle {
  constructor(readonly demands: ReadonlyArray<Demand>, readonly admittedAt: number | undefined) {}
}

interface Candidate {
  readonly index: number
  readonly priority: ThrottlePriority.Priority | undefined
  readonly demands: ReadonlyArray<Demand>
  /** How long before its answer its window units are dated (see `Admission.LeastLatency`). */
  readonly datedBeforeMillis: number
}

/**
 * A step that yields nothing, as an Effect whose store failures are defects: `Effect.void` when it
 * was done at once (the built-in Throttler over an in-memory store, every time), so a batch's
 * settling and feedback cost no steps beyond their own.
 */
const voidOrDie = (step: Step<void>): Effect.Effect<void> => Effect.isEffect(step) ? Effect.orDie(step) : Effect.void

/** A batch's room check when the Throttler cannot tell: it may always go. */
const alwaysRoom = (): undefined => undefined

/**
 * What admission asks of the Throttler: the built-in one's direct operations, which answer at once
 * over an in-memory store, or the same operations through any Throttler's interface.
 */
const directOrService = (throttler: ThrottlerService): Omit<Direct, "runner"> =>
  directOf(throttler) ?? {
    tryAdmit: (demands, options) => Effect.map(Effect.orDie(throttler.tryAdmit(demands, options)), Option.getOrUndefined),
    settle: (permit, datedBeforeMillis) =>
      Effect.orDie(Effect.zipRight(throttler.answered(permit, { datedBeforeMillis }), throttler.release(permit))),
    feedbackAll: (answers) => Effect.orDie(throttler.feedbackAll(answers)),
    stale: () => false,
    roomFor: () => alwaysRoom,
    sending: () => undefined,
    revoke: (permit) => Effect.orDie(Effect.zipRight(throttler.answered(permit), throttler.release(permit)))
  }

/** @internal */
export const make = (options: Options): Effect.Effect<AdmissionService, never, Throttler | CostCalculator | LimitCatalog> =>
  Effect.gen(function*() {
    const throttler = yield* Throttler
    const costs = yield* CostCalculator
    const catalog = yield* LimitCatalog
    const context = catalog.context(options.identity)
    const leastLatency = options.leastLatency
    /**
     * How long before its answer Graph counted an item at the latest, plus how long after its
     * admission Graph counts any later item at the soonest: its item's least run and the least round
     * trip (see `Admission.LeastLatency`). 0 without an assumption, or for one that is not a
     * non-negative number.
     */
    const datedBeforeOf = (request: BatchRequestItem): number => {
      if (leastLatency === undefined) return 0
      const roundTrip = leastLatency.perRoundTripMillis
      const item = leastLatency.perItemMillis(request)
      return roundTrip >= 0 && item >= 0 && Number.isFinite(roundTrip + item) ? roundTrip + item : 0
    }

    // A blocked batch waits with its items' demands merged per bucket (see `merge`). Its items are
    // mostly priced alike, so the same demand is merged to the same cost again and again: each is
    // made once (a Demand is immutable; a few costs are kept per demand).
    const mergedDemands = new WeakMap<Demand, Map<number, Demand>>()
    const withCost = (demand: Demand, cost: number): Demand => {
      let costs = mergedDemands.get(demand)
      if (costs === undefined) {
        costs = new Map()
        mergedDemands.set(demand, costs)
      }
      let made = costs.get(cost)
      if (made === undefined) {
        if (costs.size >= 64) costs.clear()
        made = new Demand({ ...demand, cost }, true)
        costs.set(cost, made)
      }
      return made
    }

    const priceOf = (item: BatchRequestItem) => {
      // a request without a body (most reads) is priced from its method and URL alone
      if (item.body === undefined) return costs.cost({ method: item.method, url: item.url }, context)
      const bytes = bodyBytes(item)
      const request = {
        method: item.method,
        url: item.url,
        ...(bytes === undefined ? {} : { bodyBytes: bytes }),
        ...(item.body instanceof Uint8Array ? {} : { body: item.body })
      }
      return costs.cost(request, context)
    }
    // the built-in Throttler over an in-memory store admits without an Effect per request
    const direct = directOrService(throttler)

    // Units waiting in batches, per bucket: how long each bucket needs to serve what is queued on
    // it. Requests on the most loaded buckets are ranked first (see `leadOf`), which keeps every
    // bucket of a shared limit busy until the end instead of leaving one bucket's backlog for last.
    const backlog = new Map<string, number>()
    const track = (candidates: ReadonlyArray<Candidate>, sign: 1 | -1) => {
      for (const c of candidates) {
        for (const d of c.demands) {
          if (d.limit._tag === "Concurrency") continue
          const next = (backlog.get(d.key) ?? 0) + sign * d.cost
          if (next <= 1e-9) backlog.delete(d.key)
          else backlog.set(d.key, next)
        }
      }
    }
    const leadOf = (candidate: Candidate): number => {
      let drain = 0
      for (const d of candidate.demands) {
        const rate = perMillis(d)
        if (rate !== undefined) drain += (backlog.get(d.key) ?? 0) / rate
      }
      // bounded below the throttler's ageing step, so priority levels keep their meaning
      return LEAD_MILLIS * (1 - Math.exp(-drain / LEAD_MILLIS))
    }

    /** The candidates by descending `leadOf` (ties in their order), with their leads. */
    const rank = (candidates: ReadonlyArray<Candidate>): [ReadonlyArray<Candidate>, Array<number>] => {
      const n = candidates.length
      const leads = new Array<number>(n)
      // a batch's requests are mostly priced alike (one demands array): their lead is computed once,
      // and when every lead is the same the order stays as it is
      let same = true
      for (let i = 0; i < n; i++) {
        leads[i] = i > 0 && candidates[i]!.demands === candidates[i - 1]!.demands ? leads[i - 1]! : leadOf(candidates[i]!)
        if (leads[i] !== leads[0]) same = false
      }
      if (same) return [candidates, leads]
      const order = new Array<number>(n)
      for (let i = 0; i < n; i++) order[i] = i
      order.sort((a, b) => leads[b]! - leads[a]! || a - b)
      const ordered = new Array<Candidate>(n)
      const orderedLeads = new Array<number>(n)
      for (let i = 0; i < n; i++) {
        ordered[i] = candidates[order[i]!]!
        orderedLeads[i] = leads[order[i]!]!
      }
      return [ordered, orderedLeads]
    }

    /**
     * Which items go now. Every item is admitted on its own, as Graph judges it: an item goes when
     * all of its buckets have room at this moment (and no better-ranked waiter claims them), and
     * the others wait for a later batch instead of holding this one back. Items on the most loaded
     * buckets are offered first. Only when nothing can go does the batch wait, for its first item
     * and the items on the same buckets (see `waitGroup`; a sequential batch can only start at its
     * first item), and then it takes whatever else has room by then.
     */
    const acquire = (sequential: boolean, candidates: ReadonlyArray<Candidate>, held: ReadonlyArray<number>) =>
      Effect.suspend(() => {
        const send: Array<{ index: number; headers: Readonly<Record<string, string>>; handle: unknown }> = []
        const permits: Array<Permit> = []
        // each permit's `datedBeforeMillis`, by position in `permits`
        const datedBefore: Array<number> = []
        const hold = (permit: Permit, millis: number) => {
          permits.push(permit)
          datedBefore.push(millis)
        }
        const waitedMillis: Record<string, number> = {}
        // concurrency: a sequential batch runs one item at a time, so one permit per key covers it;
        // Graph runs at most `permits` Outlook items of a parallel batch at once
        const running = new Map<string, number>()
        const keeps = (d: Demand): boolean => {
          if (d.limit._tag !== "Concurrency") return true
          const n = running.get(d.key) ?? 0
          if (sequential) return n === 0
          return !batchRunsWithinCap(d) || n < d.limit.permits
        }
        // the demands as given when all are kept (the common case), without a copy
        const share = (demands: ReadonlyArray<Demand>): ReadonlyArray<Demand> => {
          for (let i = 0; i < demands.length; i++) if (!keeps(demands[i]!)) return demands.filter(keeps)
          return demands
        }
        const commit = (
          candidate: Candidate,
          taken: ReadonlyArray<Demand>,
          permit: Permit | undefined,
          at: number | undefined = permit?.admittedAt
        ) => {
          for (const d of taken) if (d.limit._tag === "Concurrency") running.set(d.key, (running.get(d.key) ?? 0) + 1)
          send.push({
            index: candidate.index,
            headers: ThrottlePriority.headersFor(candidate.priority, candidate.demands),
            handle: new SendHandle(candidate.demands, at)
          })
          if (permit !== undefined) hold(permit, candidate.datedBeforeMillis)
        }
        // called once the batch is answered (or was never sent): window units count from the answer
        // each permit in turn, synchronously while the store answers at once
        const eachFrom = (op: (permit: (typeof permits)[number], i: number) => Step<void>, i: number): Step<void> => {
          for (; i < permits.length; i++) {
            const step = op(permits[i]!, i)
            if (Effect.isEffect(step)) {
              const next = i + 1
              return andThen(step, () => eachFrom(op, next))
            }
          }
          return undefined
        }
        const releaseAll = Effect.suspend(() => voidOrDie(eachFrom((p) => direct.settle(p), 0)))
        // Graph answered: each permit's window units are dated its `datedBeforeMillis` before now
        const answeredAll = leastLatency === undefined
          ? releaseAll
          : Effect.suspend(() => voidOrDie(eachFrom((p, i) => direct.settle(p, datedBefore[i]), 0)))
        const revokeAll = Effect.suspend(() => voidOrDie(eachFrom((p) => direct.revoke(p), 0)))
        // asked just before sending, and again after each wait: whether its gauged buckets have room
        // in flight for it. Made at the first ask, once the permits are all held
        let roomCheck: (() => Effect.Effect<void> | undefined) | undefined
        const room = () => {
          if (permits.length === 0) return undefined
          roomCheck ??= direct.roomFor(permits)
          return roomCheck()
        }
        // asked just before sending: a batch found fresh is sent
        const stale = () => {
          if (permits.some((p) => direct.stale(p))) return true
          for (const p of permits) direct.sending(p)
          return false
        }
        /**
         * In a parallel batch with no Outlook permit, what one item takes does not depend on whether
         * the items before it went (`share` keeps every demand), so all of them are offered before
         * any answer is awaited: a shared store answers them together (ioredis pipelines commands
         * issued in one tick) and still runs them in rank order.
         */
        const independent = (list: ReadonlyArray<Candidate>): boolean =>
          !sequential && list.length > 1 &&
          list.every((c) => c.demands.every((d) => d.limit._tag !== "Concurrency" || !batchRunsWithinCap(d)))
        /**
         * Admits, in order, the candidates that can go now; returns the ones that cannot. `leads`, when
         * given, holds each candidate's `leadOf`, computed in the same synchronous step; after an
         * answer that had to be awaited they are computed afresh.
         */
        const sweep = (list: ReadonlyArray<Candidate>, leads?: ReadonlyArray<number>): Step<Array<Candidate>> => {
          const left: Array<Candidate> = []
          const together = independent(list)
          const offers: Array<Step<Permit | undefined>> = []
          const settle = (candidate: Candidate, own: ReadonlyArray<Demand>, permit: Permit | undefined) => {
            if (permit !== undefined) commit(candidate, own, permit)
            else left.push(candidate)
          }
          const from = (i: number, fresh: boolean): Step<Array<Candidate>> => {
            for (; i < list.length; i++) {
              const candidate = list[i]!
              if (sequential && left.length > 0) {
                left.push(candidate)
                continue
              }
              const own = share(candidate.demands)
              const lead = leads === undefined || fresh ? leadOf(candidate) : leads[i]!
              const offer = direct.tryAdmit(own, { priority: candidate.priority, leadMillis: lead })
              if (together) offers.push(offer)
              else if (!Effect.isEffect(offer)) settle(candidate, own, offer)
              else {
                const next = i + 1
                return andThen(offer, (permit) => {
                  settle(candidate, own, permit)
                  return from(next, true)
                })
              }
            }
            if (!together) return left
            // every demand was kept (see `independent`)
            return andThen(
              offers.some(Effect.isEffect) ? Effect.all(offers.map(toEffect), { concurrency: "unbounded" }) : offers as Array<Permit | undefined>,
              (permits) => {
                for (let j = 0; j < list.length; j++) settle(list[j]!, list[j]!.demands, permits[j])
                return left
              }
            )
          }
          return from(0, false)
        }
        // Only the wait is interruptible. Interrupted after it (a deadline, say), the batch gives its
        // permits back: `onInterrupt` sits outside the mask, where an interruption held back until the
        // mask ends still reaches it.
        return Effect.uninterruptibleMask((restore) => Effect.gen(function*() {
          track(candidates, 1)
          // most loaded buckets first; the backlog does not change between ranking and a synchronous
          // sweep, so that sweep reuses the leads
          const swept = sequential ? sweep(candidates) : sweep(...rank(candidates))
          let left = Effect.isEffect(swept) ? yield* Effect.orDie(swept) : swept
          if (send.length === 0 && left.length > 0) {
            // Nothing can go now. Wait for the first item together with the items that need no other
            // bucket than it does (as many as those buckets can hold at once), so that a busy bucket
            // still gets full batches; then take whatever else has room by then.
            const group = waitGroup(sequential, left)
            const together = merge(group.map((c) => share(c.demands)), sequential, withCost)
            const level = Math.min(...group.map((c) => ThrottlePriority.level(c.priority)))
            const lead = Math.max(...group.map(leadOf))
            const permit = yield* restore(
              Effect.orDie(throttler.admit(together, { priority: priorityOf(level), leadMillis: lead }))
            )
            const waited = permit.admittedAt - permit.arrivedAt
            if (waited > 0) for (const d of together) waitedMillis[d.key] = waited
            // one permit for the group: dated by the least sure of its items
            hold(permit, Math.min(...group.map((c) => c.datedBeforeMillis)))
            for (const candidate of group) commit(candidate, share(candidate.demands), undefined, permit.admittedAt)
            const rest = sweep(left.filter((c) => !group.includes(c)))
            left = Effect.isEffect(rest) ? yield* Effect.orDie(rest) : rest
          }
          send.sort((a, b) => a.index - b.index)
          const deferred = [...left.map((c) => c.index), ...held].sort((a, b) => a - b)
          return { send, deferred, release: releaseAll, answered: answeredAll, room, stale, revoke: revokeAll, waitedMillis } satisfies Permission
        }).pipe(Effect.ensuring(Effect.sync(() => track(candidates, -1))))).pipe(Effect.onInterrupt(() => releaseAll))
      })

    const admit: AdmissionService["admit"] = (batch) =>
      Effect.gen(function*() {
        const sequential = batch.shape !== "parallel"
        const candidates: Array<Candidate> = []
        const held: Array<number> = []
        const rejected: Array<{ index: number; error: Ticket["rejected"][number]["error"] }> = []
        let stopped = false
        for (let index = 0; index < batch.items.length; index++) {
          const { priority, request } = batch.items[index]!
          if (stopped) {
            // a sequential chain stops at a rejected item: the rest waits for a later batch
            held.push(index)
            continue
          }
          // priced for its affinity already: the calculator remembers what it priced, and asking it
          // again costs less than keeping each request's price here in between (a WeakMap entry per
          // request cost about twice as much)
          const priced = priceOf(request)
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
          candidates.push({ index, priority, demands, datedBeforeMillis: datedBeforeOf(request) })
        }
        return { rejected, acquire: acquire(sequential, candidates, held) } satisfies Ticket
      })

    /**
     * The answers in order, as one event (see `ThrottlerService.feedbackAll`): the batch's response
     * is one event for each bucket's backoff however many of its items it implicates, and a 429's
     * pause is in place before a later success wakes the same buckets. With the built-in Throttler
     * over an in-memory store, the answers that step no schedule (the common case) are settled at once.
     */
    const feedback: AdmissionService["feedback"] = (answers) =>
      Effect.suspend(() => {
        const answered: Array<AnsweredRequest> = []
        for (const answer of answers) {
          const handle = answer.handle
          if (handle instanceof SendHandle) answered.push({ response: answer, demands: handle.demands, admittedAt: handle.admittedAt })
        }
        return voidOrDie(direct.feedbackAll(answered))
      })

    // the concurrency buckets a request holds: a batch of one mailbox's requests holds only its permits
    const affinity: NonNullable<AdmissionService["affinity"]> = (request) => {
      const price = priceOf(request)
      if (Either.isLeft(price)) return undefined
      let key: string | undefined
      for (const d of price.right.demands) {
        if (d.limit._tag === "Concurrency") key = key === undefined ? d.key : `${key}\n${d.key}`
      }
      return key
    }

    return { admit, feedback, affinity }
  })
