/**
 * Plans a workload (a DAG of requests) into rounds of Graph-valid batches, and tracks outcomes
 * while it runs. See docs/batching.md for the policies.
 *
 * @internal
 */
import { Either } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import type { PlannedBatch, PlanPolicy, RunRound, Settlement, Spread } from "../../DependencyResolver.js"
import type { WorkloadRequest } from "../../Workload.js"
import * as rules from "../batch/rules.js"
import type { IdIndex } from "../batch/ids.js"
import { topologicalOrder, findCycle } from "../batch/graph.js"
import * as reference from "../workload/reference.js"
import * as VE from "../../ValidationError.js"
import { fitBytes, shapeOf, toBatch } from "./batches.js"
import { DONE, IN_FLIGHT, PENDING, takeFrontier, takeSpread, type Taking } from "./frontier.js"
import { chunk, MAX, pack, type Packing } from "./packing.js"
import { ReadyQueue } from "./readyQueue.js"
import { plainSettlement, propagate, Responses, satisfyChildren, type Settling, Settlements } from "./settlement.js"
import type { BatchShape } from "../../BatchBuilder.js"
import type { ReferencedResponse } from "../../Workload.js"

export { MAX }

/** @internal */
export interface Prepared {
  /**
   * The workload as given: ids and wire requests are read from it when needed (a wire request is
   * normalised again when its request is sent), so that a plan holds no copy of it.
   */
  readonly workload: ReadonlyArray<WorkloadRequest>
  /** Workload positions by id key (`rules.idKey`). */
  readonly index: IdIndex
  readonly priority: Uint8Array
  /** Accepted dependency statuses, for the requests that give any. */
  readonly accept: ReadonlyMap<number, ReadonlySet<number>>
  readonly deps: Lists<number>
  /** Parallel to `deps`: whether the edge carries a response reference (must cross rounds). */
  readonly flow: Lists<boolean>
  readonly children: Lists<number>
  readonly childFlow: Lists<boolean>
  readonly hasReferences: Uint8Array
  /** Longest path (in requests) from each request to a sink. */
  readonly height: Int32Array
  readonly order: Int32Array
}

const priorityRank = { high: 0, normal: 1, low: 2 } as const

/** The one empty list every request without dependencies or dependents shares (frozen: never pushed to). */
const none: ReadonlyArray<never> = Object.freeze([])

/**
 * A list per request, held only for the requests whose list is not empty: a million independent
 * requests take no memory here.
 *
 * @internal
 */
export class Lists<T> {
  private readonly lists = new Map<number, ReadonlyArray<T>>()

  constructor(lists: ReadonlyArray<ReadonlyArray<T>>) {
    for (let v = 0; v < lists.length; v++) if (lists[v]!.length > 0) this.lists.set(v, lists[v]!)
  }

  of(v: number): ReadonlyArray<T> {
    return this.lists.get(v) ?? none
  }

  /** Requests with a list that is not empty. */
  get size(): number {
    return this.lists.size
  }
}

/**
 * Validates a workload and builds its dependency graph.
 *
 * @internal
 */
export const prepare = (
  workload: ReadonlyArray<WorkloadRequest>,
  settings: rules.Settings
): Either.Either<Prepared, VE.WorkloadError> =>
  Either.gen(function*() {
    const index = yield* rules.checkIds(workload)
    // every request is checked now, so that a bad one fails the workload with nothing sent; the
    // normalised copies are not kept (see `wireRequest`)
    yield* rules.checkRequests(workload, settings)
    const n = workload.length
    // lists are shared when empty: a million independent requests need no million empty arrays
    const deps: Array<ReadonlyArray<number>> = []
    const flow: Array<ReadonlyArray<boolean>> = []
    const hasReferences = new Uint8Array(n)
    const unknownIds: Array<string> = []
    const missing = new Set<string>()
    // one map and one list of references for every request, emptied after each that used them
    const edges = new Map<number, boolean>()
    const refs: Array<reference.Reference> = []
    const note = (id: string, w: WorkloadRequest) => {
      if (unknownIds[unknownIds.length - 1] !== w.id) unknownIds.push(w.id)
      missing.add(id)
    }
    for (let i = 0; i < n; i++) {
      const w = workload[i]!
      const dependsOn = w.dependsOn
      if (dependsOn !== undefined) {
        for (const d of dependsOn) {
          const j = index.of(d)
          if (j === undefined) note(d, w)
          else if (!edges.has(j)) edges.set(j, false)
        }
      }
      reference.collect(w, refs)
      if (refs.length > 0) {
        hasReferences[i] = 1
        for (const r of refs) {
          const j = index.of(r.source)
          if (j === undefined) note(r.source, w)
          else edges.set(j, true)
        }
        refs.length = 0
      }
      if (edges.size === 0) {
        deps.push(none)
        flow.push(none)
      } else {
        deps.push([...edges.keys()])
        flow.push([...edges.values()])
        edges.clear()
      }
    }
    if (unknownIds.length > 0) {
      return yield* Either.left(new VE.UnknownDependency({ ids: unknownIds, missing: [...missing] }))
    }
    const { order, cyclic } = topologicalOrder(deps)
    if (cyclic) {
      const cycle = findCycle(deps)!
      return yield* Either.left(new VE.DependencyCycle({ path: cycle.map((i) => workload[i]!.id) }))
    }
    const children: Array<ReadonlyArray<number>> = new Array(n).fill(none)
    const childFlow: Array<ReadonlyArray<boolean>> = new Array(n).fill(none)
    for (let i = 0; i < n; i++) {
      const list = deps[i]!
      for (let k = 0; k < list.length; k++) {
        const d = list[k]!
        if (children[d] === none) {
          children[d] = []
          childFlow[d] = []
        }
        ;(children[d] as Array<number>).push(i)
        ;(childFlow[d] as Array<boolean>).push(flow[i]![k]!)
      }
    }
    const height = new Int32Array(n)
    for (let k = n - 1; k >= 0; k--) {
      const v = order[k]!
      let h = 0
      for (const c of children[v]!) if (height[c]! > h) h = height[c]!
      height[v] = h + 1
    }
    const priority = new Uint8Array(n)
    const accept = new Map<number, ReadonlySet<number>>()
    for (let i = 0; i < n; i++) {
      priority[i] = priorityRank[workload[i]!.priority ?? "normal"]
      const statuses = workload[i]!.acceptStatuses
      if (statuses !== undefined && statuses.length > 0) accept.set(i, new Set(statuses))
    }
    return {
      workload,
      index,
      priority,
      accept,
      deps: new Lists(deps),
      flow: new Lists(flow),
      children: new Lists(children),
      childFlow: new Lists(childFlow),
      hasReferences,
      height,
      order: Int32Array.from(order)
    }
  })

/**
 * A request as it travels, without `dependsOn` (the plan's, not the wire's): normalised again from
 * the workload each time it is needed, so that no copy is held while it waits. `prepare` checked
 * it, so this fails only if the workload was changed since.
 *
 * @internal
 */
export const wireRequest = (
  prepared: Prepared,
  v: number,
  settings: rules.Settings
): Either.Either<BatchRequestItem, VE.RequestError> => {
  // the normalised request as it is when it has no dependsOn (most have none): no second Either
  const normalised = rules.normaliseRequest(prepared.workload[v]!, settings)
  if (Either.isLeft(normalised) || normalised.right.dependsOn === undefined) return normalised
  const { dependsOn: _, ...wire } = normalised.right
  return Either.right(wire)
}

/**
 * The fewest rounds any plan can use: along every dependency path, consecutive requests share a
 * round only inside one batch (at most 20 of them) and never across a response reference. The
 * maximum over paths of the greedy segmentation of that path is computed in one topological pass,
 * carrying the lexicographically largest (round, position) reaching each request.
 *
 * @internal
 */
export const roundLowerBound = (prepared: Prepared): number => {
  const n = prepared.workload.length
  if (n === 0) return 0
  const round = new Int32Array(n)
  const position = new Int32Array(n)
  let best = 0
  for (const v of prepared.order) {
    let r = 1
    let p = 1
    const deps = prepared.deps.of(v)
    for (let k = 0; k < deps.length; k++) {
      const u = deps[k]!
      let cr: number
      let cp: number
      if (prepared.flow.of(v)[k] || position[u]! >= MAX) {
        cr = round[u]! + 1
        cp = 1
      } else {
        cr = round[u]!
        cp = position[u]! + 1
      }
      if (cr > r || (cr === r && cp > p)) {
        r = cr
        p = cp
      }
    }
    round[v] = r
    position[v] = p
    if (r > best) best = r
  }
  return best
}

/**
 * A batch of a round before its wire requests are built: request indices in batch order.
 *
 * @internal
 */
export interface Group {
  readonly members: ReadonlyArray<number>
  readonly shape: BatchShape
}

/**
 * What a scheduler still holds for its requests, for tests: per-request data must be released as
 * requests settle.
 *
 * @internal
 */
export interface Retained {
  /** Requests not yet settled. */
  readonly pending: number
  /** Entries of the ready queue. */
  readonly ready: number
  /**
   * Wire requests (normalised, with references substituted) still held: those of the round being
   * formed, so 0 between rounds.
   */
  readonly requests: number
  /** Responses kept for references. */
  readonly responses: number
}

/**
 * The scheduler behind each run object `DependencyResolver.start` returns, for tests that count what
 * a run holds.
 *
 * @internal
 */
export const schedulerOf = new WeakMap<object, Scheduler>()

/**
 * A run's state: per-request arrays, counters, and what is kept for settled requests. The
 * operations on it are {@link Scheduler}'s.
 *
 * @internal
 */
export class RunState {
  readonly state: Uint8Array
  readonly unsatisfied: Int32Array
  readonly ready: ReadyQueue
  readonly parked = new Map<string, ReadyQueue>()
  readonly mark: Int32Array
  readonly resolved = new Map<number, BatchRequestItem>()
  protected readonly settlements: Settlements
  protected readonly responses: Responses
  protected packing: { readonly need: Int32Array; readonly depth: Int32Array; readonly parent: Int32Array } | undefined
  /** Round trips on the critical path up to each request's latest send (see the executor). */
  protected readonly sentDepth: Int32Array
  protected stamp = 0
  protected rounds = 0
  protected remaining: number
  protected settledCount = 0

  constructor(
    readonly prepared: Prepared,
    readonly policy: PlanPolicy,
    protected readonly settings: rules.Settings,
    protected readonly resolveReferences: boolean,
    /**
     * A run owns its `Prepared`: a settled request's accepted statuses are dropped from it, so
     * that memory follows the requests still to run. Plans keep them.
     */
    protected readonly releaseSettled = false
  ) {
    const n = prepared.workload.length
    this.ready = new ReadyQueue(prepared.priority)
    this.state = new Uint8Array(n)
    this.unsatisfied = new Int32Array(n)
    this.settlements = new Settlements(n)
    this.mark = new Int32Array(n)
    this.sentDepth = new Int32Array(n)
    this.remaining = n
    for (let v = 0; v < n; v++) {
      this.unsatisfied[v] = prepared.deps.of(v).length
      if (prepared.deps.of(v).length === 0) this.ready.push(v)
    }
    this.responses = new Responses(prepared)
  }

  /** Requests not yet settled. */
  get pending(): number {
    return this.remaining
  }

  get settled(): number {
    return this.settledCount
  }

  /** A request's settlement, once settled. */
  settlement(v: number): Settlement | undefined {
    return this.settlements.get(v)
  }

  get roundCount(): number {
    return this.rounds
  }

  get priority(): Uint8Array {
    return this.prepared.priority
  }

  /** Critical-path round trips up to the request's latest send (0 before its first). */
  depthOf(v: number): number {
    return this.sentDepth[v]!
  }

  setDepth(v: number, depth: number): void {
    this.sentDepth[v] = depth
  }

  /** What is still held, counted (linear in the workload: for tests). */
  retained(): Retained {
    let parked = 0
    for (const lane of this.parked.values()) parked += lane.size
    return { pending: this.remaining, ready: this.ready.size + parked, requests: this.resolved.size, responses: this.responses.size }
  }

  nextStamp(): number {
    return ++this.stamp
  }

  packingArrays() {
    const n = this.prepared.workload.length
    return this.packing ??= { need: new Int32Array(n), depth: new Int32Array(n), parent: new Int32Array(n) }
  }

  /** Records a request's settlement and releases what it held. */
  settle(v: number, settlement: Settlement): void {
    this.state[v] = DONE
    this.settlements.record(v, settlement)
    this.remaining--
    this.settledCount++
    this.resolved.delete(v)
    if (this.releaseSettled) (this.prepared.accept as Map<number, ReadonlySet<number>>).delete(v)
    this.responses.release(v)
  }
}

/**
 * Tracks one run of a workload. Not safe for concurrent use: one fiber owns it. Its state is
 * {@link RunState}; taking the ready requests is in `frontier.ts`, packing them in `packing.ts`,
 * building batches in `batches.ts`, and the settlements and kept responses in `settlement.ts`.
 *
 * @internal
 */
export class Scheduler extends RunState implements Taking, Packing, Settling {
  /**
   * The next round: every request whose dependencies are satisfied, packed by the policy; with a
   * `limit`, at most that many requests (the first by priority and workload order), the rest staying
   * ready for the next call. The requests returned are in flight until succeed / fail / requeue is
   * called for them.
   */
  nextRound(limit = Infinity, spread?: Spread): RunRound {
    const batches: Array<PlannedBatch> = []
    const round = this.form(limit, spread, batches)
    return { index: round.index, batches, notSent: round.notSent }
  }

  /**
   * {@link nextRound} as groups of request indices with their shapes, without building the wire
   * requests: for plans that are only measured.
   */
  nextGroups(limit = Infinity, spread?: Spread): {
    readonly index: number
    readonly groups: ReadonlyArray<Group>
    readonly notSent: ReadonlyArray<string>
  } {
    return this.form(limit, spread, undefined)
  }

  /**
   * Takes the round and packs it; each group is built once as a batch to fit it within Graph's
   * size limit, and that batch is pushed to `batches` (when given) unless the group had to be split.
   */
  private form(limit: number, spread: Spread | undefined, batches: Array<PlannedBatch> | undefined): {
    readonly index: number
    readonly groups: ReadonlyArray<Group>
    readonly notSent: ReadonlyArray<string>
  } {
    const notSent: Array<string> = []
    const frontier = spread === undefined ? takeFrontier(this, notSent, limit) : takeSpread(this, notSent, limit, spread)
    if (frontier.length === 0) return { index: this.rounds, groups: [], notSent }
    this.rounds++
    const members = this.policy === "waves" ? chunk(frontier) : pack(this, frontier, notSent, limit)
    const groups: Array<Group> = []
    for (const group of members) {
      const whole: Group = { members: group, shape: shapeOf(this.prepared, group) }
      const planned = this.toBatch(whole, groups.length)
      const parts = fitBytes(planned, group, (rest) => this.wait(rest))
      for (const part of parts) {
        for (const v of part) this.state[v] = IN_FLIGHT
        const formed = part === group ? whole : { members: part, shape: shapeOf(this.prepared, part) }
        if (batches !== undefined) batches.push(part === group ? planned : this.toBatch(formed, groups.length))
        groups.push(formed)
      }
    }
    // the batches hold their wire requests now: the map stays as small as one round
    this.resolved.clear()
    return { index: this.rounds, groups, notSent }
  }

  succeed(v: number, response?: ReferencedResponse): boolean {
    if (this.state[v] === DONE) return false
    this.settle(v, plainSettlement("Succeeded", response?.status ?? 200))
    this.responses.keep(v, response)
    satisfyChildren(this, v)
    return true
  }

  fail(v: number, status: number, response?: ReferencedResponse): ReadonlyArray<number> {
    if (this.state[v] === DONE) return []
    this.settle(v, plainSettlement("Failed", status))
    this.responses.keep(v, response)
    return propagate(this, v, status)
  }

  /** The rest of a sequential batch that did not fit waits: its requests are pending again. */
  private wait(rest: ReadonlyArray<number>): void {
    for (const v of rest) {
      this.resolved.delete(v)
      if (this.unsatisfied[v] === 0) this.ready.push(v)
    }
  }

  /** Back to pending, for a retry (429, 503, 504) or a 424 caused by packing, not by a real dependency. */
  requeue(v: number): boolean {
    if (this.state[v] === DONE) return false
    this.state[v] = PENDING
    this.resolved.delete(v)
    if (this.unsatisfied[v] === 0) this.ready.push(v)
    return true
  }

  /** Substitutes a request's references; on failure settles it (and its dependents) unsent. */
  resolve(v: number, notSent: Array<string>): boolean {
    const checked = resolveWire(this.prepared, v, this.settings, this.resolveReferences, this.responses)
    if (Either.isRight(checked)) {
      this.resolved.set(v, checked.right)
      return true
    }
    this.settle(v, { _tag: "NotSent", error: checked.left })
    notSent.push(this.prepared.workload[v]!.id)
    for (const c of propagate(this, v, 424)) notSent.push(this.prepared.workload[c]!.id)
    return false
  }

  private toBatch(group: Group, position: number): PlannedBatch {
    const wire = (v: number) => this.resolved.get(v) ?? Either.getOrThrow(wireRequest(this.prepared, v, this.settings))
    return toBatch(this.prepared, wire, group, this.rounds, position)
  }
}

/**
 * A request's wire request with its references substituted from the kept responses (when the run
 * resolves them), normalised again.
 */
const resolveWire = (
  prepared: Prepared,
  v: number,
  settings: rules.Settings,
  resolveReferences: boolean,
  responses: Responses
): Either.Either<BatchRequestItem, VE.RequestError | VE.InvalidReference> => {
  const wire = wireRequest(prepared, v, settings)
  return Either.isLeft(wire) || !resolveReferences || prepared.hasReferences[v] === 0
    ? wire
    : Either.flatMap(
      Either.mapLeft(
        reference.substitute(wire.right, (source) => {
          const u = prepared.index.get(rules.idKey(source))
          return u === undefined ? undefined : responses.get(u)
        }),
        (refs) => new VE.InvalidReference({ ids: [wire.right.id], references: refs })
      ),
      (item) => rules.normaliseRequest(item, settings)
    )
}

/**
 * What a request and a `$batch` call cost in time, for {@link estimateMillis}.
 *
 * @internal
 */
export interface Timing {
  /** Milliseconds Graph spends on each request, parallel to `Prepared.workload`. */
  readonly itemMillis: Float64Array
  /** Milliseconds every `$batch` call adds whatever it holds. */
  readonly roundTripMillis: number
  /** `$batch` calls in flight at once (at least 1). */
  readonly concurrency: number
}

/**
 * How long a batch takes: a parallel batch as long as its slowest request, a sequential one
 * (`serial` or `same`: Graph runs the items one after another) the sum of its requests.
 */
const batchMillis = (batch: Group, timing: Timing): number => {
  let total = 0
  let longest = 0
  for (const v of batch.members) {
    const ms = timing.itemMillis[v]!
    total += ms
    if (ms > longest) longest = ms
  }
  return timing.roundTripMillis + (batch.shape === "parallel" ? longest : total)
}

/**
 * The makespan of a run under a policy when every request succeeds, by a discrete-event
 * simulation of the pipelined executor: batches are released as soon as their requests are ready,
 * wait first-in first-out for one of `concurrency` calls in flight, and take {@link batchMillis}.
 * Every batch that ends at the same instant settles before the next batches are formed.
 *
 * @internal
 */
export const estimateMillis = (
  prepared: Prepared,
  policy: PlanPolicy,
  settings: rules.Settings,
  timing: Timing
): number => {
  const run = new Scheduler(prepared, policy, settings, false)
  const lanes = Math.max(1, Math.floor(timing.concurrency))
  const waiting: Array<Group> = []
  let head = 0
  const running: Array<{ readonly endsAt: number; readonly batch: Group }> = []
  let now = 0
  const release = () => {
    for (const batch of run.nextGroups().groups) waiting.push(batch)
  }
  release()
  while (head < waiting.length || running.length > 0) {
    while (running.length < lanes && head < waiting.length) {
      const batch = waiting[head++]!
      running.push({ endsAt: now + batchMillis(batch, timing), batch })
    }
    if (head > 1024 && head * 2 > waiting.length) {
      waiting.splice(0, head)
      head = 0
    }
    let next = Infinity
    for (const r of running) if (r.endsAt < next) next = r.endsAt
    now = next
    for (let i = running.length - 1; i >= 0; i--) {
      if (running[i]!.endsAt !== now) continue
      for (const v of running[i]!.batch.members) run.succeed(v)
      running.splice(i, 1)
    }
    release()
  }
  if (run.pending > 0) throw new Error("estimate made no progress on an acyclic workload")
  return now
}

/**
 * The heaviest dependency path: the largest sum of `weight` over the requests of any path (each
 * request on a path must finish before the next starts, however they are batched), plus, with
 * `hop`, `hop[v]` for every response reference on the path into request `v` (the gap between the
 * referenced answer and `v`'s start).
 *
 * @internal
 */
export const longestPath = (prepared: Prepared, weight: ArrayLike<number>, hop?: ArrayLike<number>): number => {
  const until = new Float64Array(prepared.workload.length)
  let best = 0
  for (const v of prepared.order) {
    let start = 0
    const deps = prepared.deps.of(v)
    const flow = prepared.flow.of(v)
    const gap = hop === undefined ? 0 : hop[v]!
    for (let k = 0; k < deps.length; k++) {
      const at = until[deps[k]!]! + (flow[k] ? gap : 0)
      if (at > start) start = at
    }
    until[v] = start + weight[v]!
    if (until[v]! > best) best = until[v]!
  }
  return best
}

/**
 * Repacks a round's parallel batches so that requests with the same `affinity` (the client's
 * admission gives the concurrency buckets a request holds, such as a mailbox's four Outlook
 * permits) share batches: each affinity's requests fill whole batches first, and the remainders
 * share the rest. A batch that mixes two mailboxes can only go whole when both are free, and the
 * part that cannot go becomes a batch of its own; batches of one mailbox follow one another.
 *
 * Requests of parallel batches of one round are independent of each other, so any grouping of them
 * is valid. Requests keep their order within an affinity, batches are ordered by their earliest
 * request, and the round never gets more batches than it had. Sequential batches are kept as they
 * are. Returns `batches` itself when there is nothing to gain.
 *
 * @internal
 */
export const regroup = (
  batches: ReadonlyArray<PlannedBatch>,
  affinity: (request: BatchRequestItem) => string | undefined
): ReadonlyArray<PlannedBatch> => {
  const parallel = batches.filter((b) => b.shape === "parallel")
  if (parallel.length < 2) return batches
  const position = new Map<BatchRequestItem, number>()
  const groups = new Map<string, Array<BatchRequestItem>>()
  const free: Array<BatchRequestItem> = []
  for (const batch of parallel) {
    for (const item of batch.requests) {
      position.set(item, position.size)
      const key = affinity(item)
      if (key === undefined) {
        free.push(item)
        continue
      }
      const group = groups.get(key)
      if (group === undefined) groups.set(key, [item])
      else group.push(item)
    }
  }
  if (groups.size === 0 || (groups.size === 1 && free.length === 0)) return batches
  const packed: Array<Array<BatchRequestItem>> = []
  const rests: Array<Array<BatchRequestItem>> = []
  for (const items of groups.values()) {
    let i = 0
    for (; i + MAX <= items.length; i += MAX) packed.push(items.slice(i, i + MAX))
    if (i < items.length) rests.push(items.slice(i))
  }
  // the remainders, each kept whole where that costs no batch (first fit, largest first), with the
  // requests of no affinity filling the gaps; otherwise laid end to end
  const restCount = rests.reduce((n, r) => n + r.length, 0) + free.length
  const fewest = Math.ceil(restCount / MAX)
  const bins: Array<Array<BatchRequestItem>> = []
  for (const rest of [...rests].sort((a, b) => b.length - a.length)) {
    const bin = bins.find((b) => b.length + rest.length <= MAX)
    if (bin === undefined) bins.push([...rest])
    else bin.push(...rest)
  }
  let f = 0
  for (const bin of bins) while (bin.length < MAX && f < free.length) bin.push(free[f++]!)
  while (f < free.length) bins.push(free.slice(f, (f += MAX)))
  if (bins.length > fewest) {
    bins.length = 0
    const line = [...rests.flat(), ...free]
    for (let i = 0; i < line.length; i += MAX) bins.push(line.slice(i, i + MAX))
  }
  const first = (items: ReadonlyArray<BatchRequestItem>) => {
    let min = Infinity
    for (const item of items) min = Math.min(min, position.get(item)!)
    return min
  }
  const regrouped = [...packed, ...bins]
    .map((items) => ({ items: [...items].sort((a, b) => position.get(a)! - position.get(b)!), at: first(items) }))
    .sort((a, b) => a.at - b.at)
  const ids = parallel.map((b) => b.id)
  const out: Array<PlannedBatch> = batches.filter((b) => b.shape !== "parallel")
  regrouped.forEach(({ items }, i) => out.push({ id: ids[i]!, round: parallel[0]!.round, shape: "parallel", requests: items }))
  return out
}
