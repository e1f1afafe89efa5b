/**
 * Plans a workload (a DAG of requests) into rounds of Graph-valid batches, and tracks outcomes
 * while it runs. See docs/batching.md for the policies.
 *
 * @internal
 */
import { Either } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import type { PlannedBatch, PlanPolicy, RunRound, Settlement } from "../../DependencyResolver.js"
import type { WorkloadRequest } from "../../Workload.js"
import * as rules from "../batch/rules.js"
import * as bounds from "../batch/bounds.js"
import { topologicalOrder, findCycle } from "../batch/graph.js"
import * as reference from "../workload/reference.js"
import * as VE from "../../ValidationError.js"

/** @internal */
export const MAX = 20

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
 * Workload positions by id key (`rules.idKey`): an open-addressing hash table of positions, about
 * 8 bytes per request where a `Map` takes about 30. Keys are compared with the workload's own ids.
 *
 * @internal
 */
export class IdIndex {
  /** Position + 1 of the request in each slot; 0 is an empty slot. */
  private readonly slots: Int32Array
  private readonly mask: number

  constructor(private readonly workload: ReadonlyArray<WorkloadRequest>, byKey: ReadonlyMap<string, number>) {
    let size = 16
    while (size < byKey.size * 2) size *= 2
    this.slots = new Int32Array(size)
    this.mask = size - 1
    for (const [key, v] of byKey) {
      let i = hashOf(key) & this.mask
      while (this.slots[i] !== 0) i = (i + 1) & this.mask
      this.slots[i] = v + 1
    }
  }

  get(key: string): number | undefined {
    let i = hashOf(key) & this.mask
    for (;;) {
      const slot = this.slots[i]!
      if (slot === 0) return undefined
      if (rules.idKey(this.workload[slot - 1]!.id) === key) return slot - 1
      i = (i + 1) & this.mask
    }
  }
}

/** FNV-1a over UTF-16 code units. */
const hashOf = (key: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h
}

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
    for (let i = 0; i < n; i++) {
      const w = workload[i]!
      const edges = new Map<number, boolean>()
      const note = (id: string) => {
        if (unknownIds[unknownIds.length - 1] !== w.id) unknownIds.push(w.id)
        missing.add(id)
      }
      for (const d of w.dependsOn ?? []) {
        const j = index.get(rules.idKey(d))
        if (j === undefined) note(d)
        else if (!edges.has(j)) edges.set(j, false)
      }
      const refs = reference.referencesOf(w)
      if (refs.length > 0) hasReferences[i] = 1
      for (const r of refs) {
        const j = index.get(rules.idKey(r.source))
        if (j === undefined) note(r.source)
        else edges.set(j, true)
      }
      deps.push(edges.size === 0 ? none : [...edges.keys()])
      flow.push(edges.size === 0 ? none : [...edges.values()])
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
      deps[i]!.forEach((d, k) => {
        if (children[d] === none) {
          children[d] = []
          childFlow[d] = []
        }
        ;(children[d] as Array<number>).push(i)
        ;(childFlow[d] as Array<boolean>).push(flow[i]![k]!)
      })
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
      index: new IdIndex(workload, index),
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
): Either.Either<BatchRequestItem, VE.RequestError> =>
  Either.map(rules.normaliseRequests([prepared.workload[v]!], settings), ([item]) => {
    if (item!.dependsOn === undefined) return item!
    const { dependsOn: _, ...wire } = item!
    return wire
  })

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
  readonly shape: rules.Shape
}

const PENDING = 0
const IN_FLIGHT = 1
const DONE = 2

/**
 * Ready requests, the smallest (priority, workload position) first: a binary heap of indices. A
 * request may be in it more than once; the scheduler skips copies that are no longer ready.
 */
class ReadyQueue {
  private heap = new Int32Array(16)
  private count = 0

  constructor(private readonly priority: Uint8Array) {}

  get size(): number {
    return this.count
  }

  private before(a: number, b: number): boolean {
    const pa = this.priority[a]!
    const pb = this.priority[b]!
    return pa < pb || (pa === pb && a < b)
  }

  push(v: number): void {
    if (this.count === this.heap.length) {
      const grown = new Int32Array(this.heap.length * 2)
      grown.set(this.heap)
      this.heap = grown
    }
    let i = this.count++
    while (i > 0) {
      const up = (i - 1) >> 1
      const parent = this.heap[up]!
      if (!this.before(v, parent)) break
      this.heap[i] = parent
      i = up
    }
    this.heap[i] = v
  }

  /** The first request; only when `size > 0`. */
  pop(): number {
    const top = this.heap[0]!
    const last = this.heap[--this.count]!
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= this.count) break
      if (child + 1 < this.count && this.before(this.heap[child + 1]!, this.heap[child]!)) child++
      if (!this.before(this.heap[child]!, last)) break
      this.heap[i] = this.heap[child]!
      i = child
    }
    this.heap[i] = last
    return top
  }
}

/**
 * Settlements are kept for every settled request, so the common ones are shared: one object per
 * status, not one per request.
 */
const sharedSettlements = { Succeeded: new Map<number, Settlement>(), Failed: new Map<number, Settlement>() }
const plainSettlement = (tag: "Succeeded" | "Failed", status: number): Settlement => {
  const cache = sharedSettlements[tag]
  const cached = cache.get(status)
  if (cached !== undefined) return cached
  const settlement: Settlement = Object.freeze({ _tag: tag, status })
  // statuses come from the server: cache only the ones HTTP can have
  if (Number.isInteger(status) && status >= 0 && status < 1000) cache.set(status, settlement)
  return settlement
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
  /** Wire requests (normalised, with references substituted) still held: those taken to be sent. */
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
 * Tracks one run of a workload. Not safe for concurrent use: one fiber owns it.
 *
 * @internal
 */
export class Scheduler {
  readonly state: Uint8Array
  readonly unsatisfied: Int32Array
  /**
   * Settled requests' settlements: a plain success or failure as its status (`plain`: 1 succeeded,
   * 2 failed), any other in `rare`, so that a million settled requests take five bytes each.
   */
  private readonly plain: Uint8Array
  private readonly plainStatus: Int32Array
  private readonly rare = new Map<number, Settlement>()
  private readonly ready: ReadyQueue
  private readonly mark: Int32Array
  private packing: { readonly need: Int32Array; readonly depth: Int32Array; readonly parent: Int32Array } | undefined
  /** Unsettled requests referencing each request's response, for the requests referenced at all. */
  private readonly referencedBy = new Map<number, number>()
  private readonly responses = new Map<number, reference.ResponseLike>()
  /** Wire requests of the requests taken to be sent and not settled or requeued. */
  private readonly resolved = new Map<number, BatchRequestItem>()
  /** Round trips on the critical path up to each request's latest send (see the executor). */
  private readonly sentDepth: Int32Array
  private stamp = 0
  private rounds = 0
  private remaining: number
  private settledCount = 0

  constructor(
    readonly prepared: Prepared,
    readonly policy: PlanPolicy,
    private readonly settings: rules.Settings,
    private readonly resolveReferences: boolean,
    /**
     * A run owns its `Prepared`: a settled request's accepted statuses are dropped from it, so
     * that memory follows the requests still to run. Plans keep them.
     */
    private readonly releaseSettled = false
  ) {
    const n = prepared.workload.length
    this.ready = new ReadyQueue(prepared.priority)
    this.state = new Uint8Array(n)
    this.unsatisfied = new Int32Array(n)
    this.plain = new Uint8Array(n)
    this.plainStatus = new Int32Array(n)
    this.mark = new Int32Array(n)
    this.sentDepth = new Int32Array(n)
    this.remaining = n
    for (let v = 0; v < n; v++) {
      this.unsatisfied[v] = prepared.deps.of(v).length
      if (prepared.deps.of(v).length === 0) this.ready.push(v)
      prepared.deps.of(v).forEach((u, k) => {
        if (prepared.flow.of(v)[k]) this.referencedBy.set(u, (this.referencedBy.get(u) ?? 0) + 1)
      })
    }
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
    const kind = this.plain[v]
    if (kind === 1) return plainSettlement("Succeeded", this.plainStatus[v]!)
    if (kind === 2) return plainSettlement("Failed", this.plainStatus[v]!)
    return this.rare.get(v)
  }

  get roundCount(): number {
    return this.rounds
  }

  /**
   * The next round: every request whose dependencies are satisfied, packed by the policy; with a
   * `limit`, at most that many requests (the first by priority and workload order), the rest staying
   * ready for the next call. The requests returned are in flight until succeed / fail / requeue is
   * called for them.
   */
  nextRound(limit = Infinity): RunRound {
    const round = this.nextGroups(limit)
    const batches = round.groups.map((group, position) => this.toBatch(group, position))
    return { index: round.index, batches, notSent: round.notSent }
  }

  /**
   * {@link nextRound} as groups of request indices with their shapes, without building the wire
   * requests: for plans that are only measured.
   */
  nextGroups(limit = Infinity): {
    readonly index: number
    readonly groups: ReadonlyArray<Group>
    readonly notSent: ReadonlyArray<string>
  } {
    const notSent: Array<string> = []
    const frontier = this.takeFrontier(notSent, limit)
    if (frontier.length === 0) return { index: this.rounds, groups: [], notSent }
    this.rounds++
    const members = this.policy === "waves" ? this.chunk(frontier) : this.pack(frontier, notSent, limit)
    const groups: Array<Group> = []
    for (const group of members) {
      for (const part of this.fitBytes(group)) {
        for (const v of part) this.state[v] = IN_FLIGHT
        groups.push({ members: part, shape: this.shapeOf(part) })
      }
    }
    return { index: this.rounds, groups, notSent }
  }

  succeed(v: number, response?: reference.ResponseLike): boolean {
    if (this.state[v] === DONE) return false
    this.settle(v, plainSettlement("Succeeded", response?.status ?? 200))
    if (response !== undefined && this.referencedBy.has(v)) this.responses.set(v, response)
    this.satisfyChildren(v)
    return true
  }

  fail(v: number, status: number, response?: reference.ResponseLike): ReadonlyArray<number> {
    if (this.state[v] === DONE) return []
    this.settle(v, plainSettlement("Failed", status))
    if (response !== undefined && this.referencedBy.has(v)) this.responses.set(v, response)
    return this.propagate(v, status)
  }

  /** Back to pending, for a retry (429, 503, 504) or a 424 caused by packing, not by a real dependency. */
  requeue(v: number): boolean {
    if (this.state[v] === DONE) return false
    this.state[v] = PENDING
    this.resolved.delete(v)
    if (this.unsatisfied[v] === 0) this.ready.push(v)
    return true
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
    return { pending: this.remaining, ready: this.ready.size, requests: this.resolved.size, responses: this.responses.size }
  }

  private settle(v: number, settlement: Settlement) {
    this.state[v] = DONE
    const status = "status" in settlement ? settlement.status : 0
    if (settlement._tag !== "Succeeded" && settlement._tag !== "Failed" || (status | 0) !== status) this.rare.set(v, settlement)
    else {
      this.plain[v] = settlement._tag === "Succeeded" ? 1 : 2
      this.plainStatus[v] = status
    }
    this.remaining--
    this.settledCount++
    this.resolved.delete(v)
    if (this.releaseSettled) (this.prepared.accept as Map<number, ReadonlySet<number>>).delete(v)
    // responses are kept only while a request that references them is unsettled
    const deps = this.prepared.deps.of(v)
    for (let k = 0; k < deps.length; k++) {
      if (this.prepared.flow.of(v)[k]) {
        const u = deps[k]!
        const left = this.referencedBy.get(u)! - 1
        if (left > 0) this.referencedBy.set(u, left)
        else {
          this.referencedBy.delete(u)
          this.responses.delete(u)
        }
      }
    }
  }

  private satisfyChildren(v: number) {
    for (const c of this.prepared.children.of(v)) {
      if (this.state[c] === DONE) continue
      if (--this.unsatisfied[c]! === 0 && this.state[c] === PENDING) this.ready.push(c)
    }
  }

  private propagate(root: number, rootStatus: number): Array<number> {
    const failed: Array<number> = []
    const stack: Array<[number, number]> = [[root, rootStatus]]
    while (stack.length > 0) {
      const [u, status] = stack.pop()!
      for (const c of this.prepared.children.of(u)) {
        if (this.state[c] === DONE) continue
        if (this.prepared.accept.get(c)?.has(status)) {
          if (--this.unsatisfied[c]! === 0 && this.state[c] === PENDING) this.ready.push(c)
          continue
        }
        this.settle(c, { _tag: "DependencyFailed", dependency: this.prepared.workload[u]!.id, status })
        failed.push(c)
        stack.push([c, 424])
      }
    }
    return failed
  }

  /** Up to `limit` ready requests in priority then workload order, with their references resolved. */
  private takeFrontier(notSent: Array<string>, limit: number): Array<number> {
    const stamp = ++this.stamp
    const frontier: Array<number> = []
    while (frontier.length < limit && this.ready.size > 0) {
      const v = this.ready.pop()
      if (this.state[v] !== PENDING || this.unsatisfied[v] !== 0 || this.mark[v] === stamp) continue
      this.mark[v] = stamp
      frontier.push(v)
    }
    const out: Array<number> = []
    for (const v of frontier) {
      if (this.state[v] !== PENDING) continue // settled by a failed resolution earlier in this loop
      if (this.resolve(v, notSent)) out.push(v)
    }
    return out
  }

  /** Substitutes a request's references; on failure settles it (and its dependents) unsent. */
  private resolve(v: number, notSent: Array<string>): boolean {
    const wire = wireRequest(this.prepared, v, this.settings)
    const checked = Either.isLeft(wire) || !this.resolveReferences || this.prepared.hasReferences[v] === 0
      ? wire
      : Either.flatMap(
        Either.mapLeft(
          reference.substitute(wire.right, (source) => {
            const u = this.prepared.index.get(rules.idKey(source))
            return u === undefined ? undefined : this.responses.get(u)
          }),
          (refs) => new VE.InvalidReference({ ids: [wire.right.id], references: refs })
        ),
        (item) => Either.map(rules.normaliseRequests([item], this.settings), (items) => items[0]!)
      )
    if (Either.isRight(checked)) {
      this.resolved.set(v, checked.right)
      return true
    }
    this.settle(v, { _tag: "NotSent", error: checked.left })
    notSent.push(this.prepared.workload[v]!.id)
    for (const c of this.propagate(v, 424)) notSent.push(this.prepared.workload[c]!.id)
    return false
  }

  /** Waves: the frontier in parallel batches of 20. */
  private chunk(frontier: ReadonlyArray<number>): Array<Array<number>> {
    const groups: Array<Array<number>> = []
    for (let i = 0; i < frontier.length; i += MAX) groups.push(frontier.slice(i, i + MAX))
    return groups
  }

  /**
   * Chains: besides the frontier, absorb every request whose unsatisfied dependencies are all
   * absorbed through plain (non-reference) edges within 20 levels, then pack connected groups
   * into sequential batches without splitting them where they fit.
   */
  private pack(frontier: ReadonlyArray<number>, notSent: Array<string>, limit: number): Array<Array<number>> {
    const p = this.prepared
    // chains' own working arrays, made on its first round (a waves run never needs them)
    const n = p.workload.length
    this.packing ??= { need: new Int32Array(n), depth: new Int32Array(n), parent: new Int32Array(n) }
    const { need, depth, parent } = this.packing
    const stamp = ++this.stamp
    const absorbed: Array<number> = []
    for (const v of frontier) {
      this.mark[v] = stamp
      depth[v] = 1
      absorbed.push(v)
    }
    for (let k = 0; k < absorbed.length; k++) {
      const u = absorbed[k]!
      const kids = p.children.of(u)
      for (let j = 0; j < kids.length; j++) {
        const c = kids[j]!
        if (this.state[c] !== PENDING || p.childFlow.of(u)[j]) continue
        if (this.mark[c] !== -stamp) {
          this.mark[c] = -stamp
          need[c] = this.unsatisfied[c]!
          depth[c] = 0
        }
        if (depth[u]! + 1 > depth[c]!) depth[c] = depth[u]! + 1
        // `need` starts at every unsatisfied dependency and reference edges never count down, so a
        // request waiting on a response is never absorbed into the round that produces it
        // past the limit a dependent is left for a later round, when its dependencies have settled
        if (--need[c]! === 0 && depth[c]! <= MAX && absorbed.length < limit) {
          if (!this.resolve(c, notSent)) continue
          this.mark[c] = stamp
          absorbed.push(c)
        }
      }
    }
    // connected groups over plain edges among absorbed requests
    for (const v of absorbed) parent[v] = v
    const find = (x: number): number => {
      while (parent[x] !== x) {
        parent[x] = parent[parent[x]!]!
        x = parent[x]!
      }
      return x
    }
    for (const v of absorbed) {
      const deps = p.deps.of(v)
      for (let k = 0; k < deps.length; k++) {
        const u = deps[k]!
        if (this.mark[u] === stamp && !p.flow.of(v)[k]) {
          const a = find(u)
          const b = find(v)
          if (a !== b) parent[Math.max(a, b)] = Math.min(a, b)
        }
      }
    }
    const components = new Map<number, Array<number>>()
    for (const v of absorbed) {
      const root = find(v)
      const list = components.get(root)
      if (list === undefined) components.set(root, [v])
      else list.push(v)
    }
    const singles: Array<number> = []
    const small: Array<Array<number>> = []
    const bins: Array<Array<number>> = []
    for (const component of components.values()) {
      if (component.length === 1) singles.push(component[0]!)
      else if (component.length <= MAX) small.push(component)
      else for (const batch of this.split(component, stamp)) small.push(batch)
    }
    // best-fit decreasing: whole groups (and self-contained parts of large ones) into sequential
    // batches; a group is never split across batches of the same round when it fits in one.
    // byFree[k] holds the batches with exactly k free places.
    small.sort((a, b) => b.length - a.length)
    const byFree: Array<Array<Array<number>>> = Array.from({ length: MAX + 1 }, () => [])
    for (const group of small) {
      let k = group.length
      while (k <= MAX && byFree[k]!.length === 0) k++
      const bin = k <= MAX ? byFree[k]!.pop()! : []
      if (k > MAX) bins.push(bin)
      bin.push(...group)
      byFree[MAX - bin.length]!.push(bin)
    }
    // independent requests go to parallel batches; fill gaps only where that saves a batch
    const gap = bins.reduce((sum, b) => sum + (MAX - b.length), 0)
    const parallelNeeded = Math.ceil(Math.max(0, singles.length - gap) / MAX)
    let fill = Math.max(0, singles.length - parallelNeeded * MAX)
    if (Math.ceil(singles.length / MAX) === parallelNeeded) fill = 0
    let next = singles.length - fill
    const rest = singles.slice(0, next)
    for (const bin of bins) {
      while (fill > 0 && bin.length < MAX) {
        bin.push(singles[next++]!)
        fill--
      }
    }
    return [...bins, ...this.chunk(rest)]
  }

  /**
   * Splits a connected group larger than a batch: each batch starts at an unplaced request whose
   * dependencies are all outside the group, then extends along the dependents that become placeable
   * (deepest chain first). What cannot be placed waits for the next round.
   */
  private split(component: ReadonlyArray<number>, stamp: number): Array<Array<number>> {
    const p = this.prepared
    const inGroup = (x: number) => this.mark[x] === stamp
    const placed = new Set<number>()
    const roots = component
      .filter((v) => !p.deps.of(v).some((u) => inGroup(u)))
      .sort((a, b) => p.height[b]! - p.height[a]! || a - b)
    let rootAt = 0
    const batches: Array<Array<number>> = []
    while (rootAt < roots.length) {
      const batch: Array<number> = []
      const need = new Map<number, number>()
      const candidates: Array<number> = []
      const add = (v: number) => {
        batch.push(v)
        placed.add(v)
        for (const c of p.children.of(v)) {
          if (!inGroup(c) || placed.has(c)) continue
          let left = need.get(c)
          if (left === undefined) left = p.deps.of(c).filter((u) => inGroup(u)).length
          left--
          need.set(c, left)
          if (left === 0) candidates.push(c)
        }
      }
      while (rootAt < roots.length && placed.has(roots[rootAt]!)) rootAt++
      if (rootAt >= roots.length) break
      add(roots[rootAt++]!)
      while (batch.length < MAX) {
        let pick = -1
        let pickAt = -1
        for (let i = 0; i < candidates.length; i++) {
          const c = candidates[i]!
          if (placed.has(c)) continue
          if (pick === -1 || p.height[c]! > p.height[pick]!) {
            pick = c
            pickAt = i
          }
        }
        if (pick !== -1) {
          candidates.splice(pickAt, 1)
          add(pick)
          continue
        }
        while (rootAt < roots.length && placed.has(roots[rootAt]!)) rootAt++
        if (rootAt >= roots.length) break
        add(roots[rootAt++]!)
      }
      batches.push(batch)
    }
    return batches
  }

  /**
   * Keeps every batch within Graph's 4 MB limit on a call, counting the headers the client adds
   * later: a parallel group is split into several batches of the round; a sequential one keeps the
   * prefix that fits, and the rest waits for a later round. Any request fits on its own (validation
   * bounds its size), so every group yields a batch.
   */
  private fitBytes(group: Array<number>): Array<Array<number>> {
    const limit = bounds.MAX_BATCH_BYTES
    const added = bounds.ADDED_BYTES_PER_ITEM
    const planned = this.toBatch({ members: group, shape: this.shapeOf(group) }, 0)
    if (bounds.envelopeBytes(planned.requests, limit, added) <= limit) return [group]
    const sizes = planned.requests.map((item) => bounds.itemBytes(item) + added + 1)
    const parts: Array<Array<number>> = []
    let part: Array<number> = []
    let used = bounds.ENVELOPE_BYTES
    for (let i = 0; i < group.length; i++) {
      if (part.length > 0 && used + sizes[i]! > limit) {
        if (planned.shape !== "parallel") {
          // the rest of a sequential batch waits: its requests are pending again
          for (const v of group.slice(i)) {
            this.resolved.delete(v)
            if (this.unsatisfied[v] === 0) this.ready.push(v)
          }
          break
        }
        parts.push(part)
        part = []
        used = bounds.ENVELOPE_BYTES
      }
      part.push(group[i]!)
      used += sizes[i]!
    }
    parts.push(part)
    return parts
  }

  /**
   * Writes the batch's order into `dependsOn`: nothing when no member depends on another; every
   * member on the first when that is the only dependency inside the batch (Graph's "same" shape);
   * otherwise each member on the previous one (a sequential chain).
   */
  private shapeOf(group: ReadonlyArray<number>): rules.Shape {
    const p = this.prepared
    const inBatch = new Set(group)
    let internal = false
    // two requests form a chain; 'same' is for one dependency shared by two or more dependents
    let star = group.length > 2
    const first = group[0]!
    for (let i = 0; i < group.length; i++) {
      const v = group[i]!
      const deps = p.deps.of(v).filter((u) => inBatch.has(u))
      if (deps.length > 0) internal = true
      if (i > 0 && !(deps.length === 1 && deps[0] === first)) star = false
    }
    return !internal ? "parallel" : star ? "same" : "serial"
  }

  private toBatch({ members: group, shape }: Group, position: number): PlannedBatch {
    const p = this.prepared
    const first = group[0]!
    const requests = group.map((v, i) => {
      const base = this.resolved.get(v) ?? Either.getOrThrow(wireRequest(p, v, this.settings))
      const item: { -readonly [K in keyof BatchRequestItem]: BatchRequestItem[K] } = { ...base }
      delete item.dependsOn
      if (shape === "serial" && i > 0) item.dependsOn = [p.workload[group[i - 1]!]!.id]
      if (shape === "same" && i > 0) item.dependsOn = [p.workload[first]!.id]
      return item
    })
    return { id: `r${this.rounds}b${position + 1}`, round: this.rounds, shape, requests }
  }
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
 * request on a path must finish before the next starts, however they are batched).
 *
 * @internal
 */
export const longestPath = (prepared: Prepared, weight: ArrayLike<number>): number => {
  const until = new Float64Array(prepared.workload.length)
  let best = 0
  for (const v of prepared.order) {
    let start = 0
    for (const u of prepared.deps.of(v)) if (until[u]! > start) start = until[u]!
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
