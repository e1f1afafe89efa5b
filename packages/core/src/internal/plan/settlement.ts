/**
 * The scheduler's bookkeeping of outcomes: settlements of settled requests, and the responses kept
 * for the requests that reference them.
 *
 * @internal
 */
import type { Settlement } from "../../DependencyResolver.js"
import { DONE, PENDING } from "./frontier.js"
import type { ReadyQueue } from "./readyQueue.js"
import type { Prepared } from "./scheduler.js"
import type { ReferencedResponse } from "../../Workload.js"

/**
 * Settlements are kept for every settled request, so the common ones are shared: one object per
 * status, not one per request.
 */
const sharedSettlements = { Succeeded: new Map<number, Settlement>(), Failed: new Map<number, Settlement>() }

/** @internal */
export const plainSettlement = (tag: "Succeeded" | "Failed", status: number): Settlement => {
  const cache = sharedSettlements[tag]
  const cached = cache.get(status)
  if (cached !== undefined) return cached
  const settlement: Settlement = Object.freeze({ _tag: tag, status })
  // statuses come from the server: cache only the ones HTTP can have
  if (Number.isInteger(status) && status >= 0 && status < 1000) cache.set(status, settlement)
  return settlement
}

/**
 * Settled requests' settlements: a plain success or failure as its status (`plain`: 1 succeeded,
 * 2 failed), any other in `rare`, so that a million settled requests take five bytes each.
 *
 * @internal
 */
export class Settlements {
  private readonly plain: Uint8Array
  private readonly plainStatus: Int32Array
  private readonly rare = new Map<number, Settlement>()

  constructor(n: number) {
    this.plain = new Uint8Array(n)
    this.plainStatus = new Int32Array(n)
  }

  record(v: number, settlement: Settlement): void {
    const status = "status" in settlement ? settlement.status : 0
    if (settlement._tag !== "Succeeded" && settlement._tag !== "Failed" || (status | 0) !== status) this.rare.set(v, settlement)
    else {
      this.plain[v] = settlement._tag === "Succeeded" ? 1 : 2
      this.plainStatus[v] = status
    }
  }

  get(v: number): Settlement | undefined {
    const kind = this.plain[v]
    if (kind === 1) return plainSettlement("Succeeded", this.plainStatus[v]!)
    if (kind === 2) return plainSettlement("Failed", this.plainStatus[v]!)
    return this.rare.get(v)
  }
}

/**
 * Responses kept for references: a response is kept only while a request that references it is
 * unsettled.
 *
 * @internal
 */
export class Responses {
  /** Unsettled requests referencing each request's response, for the requests referenced at all. */
  private readonly referencedBy = new Map<number, number>()
  private readonly responses = new Map<number, ReferencedResponse>()

  constructor(private readonly prepared: Prepared) {
    const n = prepared.workload.length
    for (let v = 0; v < n; v++) {
      prepared.deps.of(v).forEach((u, k) => {
        if (prepared.flow.of(v)[k]) this.referencedBy.set(u, (this.referencedBy.get(u) ?? 0) + 1)
      })
    }
  }

  get size(): number {
    return this.responses.size
  }

  get(u: number): ReferencedResponse | undefined {
    return this.responses.get(u)
  }

  /** Keeps a settled request's response if an unsettled request references it. */
  keep(v: number, response: ReferencedResponse | undefined): void {
    if (response !== undefined && this.referencedBy.has(v)) this.responses.set(v, response)
  }

  /** A request settled: the responses it referenced are dropped once nothing else needs them. */
  release(v: number): void {
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
}

/**
 * What releasing a settled request's dependents needs of a run.
 *
 * @internal
 */
export interface Settling {
  readonly prepared: Prepared
  readonly state: Uint8Array
  readonly unsatisfied: Int32Array
  readonly ready: ReadyQueue
  settle(v: number, settlement: Settlement): void
}

/**
 * A request succeeded: each dependent waits on one dependency fewer, and is ready when none is left.
 *
 * @internal
 */
export const satisfyChildren = (run: Settling, v: number): void => {
  for (const c of run.prepared.children.of(v)) {
    if (run.state[c] === DONE) continue
    if (--run.unsatisfied[c]! === 0 && run.state[c] === PENDING) run.ready.push(c)
  }
}

/**
 * A request failed with `rootStatus`: dependents that accept the status count it as satisfied; the
 * others fail with `DependencyFailed`, and so on down with 424. Returns the requests failed.
 *
 * @internal
 */
export const propagate = (run: Settling, root: number, rootStatus: number): Array<number> => {
  const p = run.prepared
  const failed: Array<number> = []
  const stack: Array<[number, number]> = [[root, rootStatus]]
  while (stack.length > 0) {
    const [u, status] = stack.pop()!
    for (const c of p.children.of(u)) {
      if (run.state[c] === DONE) continue
      if (p.accept.get(c)?.has(status)) {
        if (--run.unsatisfied[c]! === 0 && run.state[c] === PENDING) run.ready.push(c)
        continue
      }
      run.settle(c, { _tag: "DependencyFailed", dependency: p.workload[u]!.id, status })
      failed.push(c)
      stack.push([c, 424])
    }
  }
  return failed
}
