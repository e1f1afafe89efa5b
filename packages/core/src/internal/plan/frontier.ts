/**
 * Taking a round's ready requests, one lane per affinity when the round is spread (see
 * {@link Spread}).
 *
 * @internal
 */
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import type { Spread } from "../../DependencyResolver.js"
import { ReadyQueue } from "./readyQueue.js"

/** @internal */
export const PENDING = 0
/** @internal */
export const IN_FLIGHT = 1
/** @internal */
export const DONE = 2

/**
 * What taking the frontier needs of a run.
 *
 * @internal
 */
export interface Taking {
  readonly state: Uint8Array
  readonly unsatisfied: Int32Array
  readonly mark: Int32Array
  readonly ready: ReadyQueue
  readonly priority: Uint8Array
  /** Ready requests passed over because their affinity had no room, per affinity. */
  readonly parked: Map<string, ReadyQueue>
  /**
   * Wire requests of the requests taken for the round being formed (not settled or requeued since),
   * until its batches are built.
   */
  readonly resolved: Map<number, BatchRequestItem>
  nextStamp(): number
  /** Substitutes a request's references; on failure settles it (and its dependents) unsent. */
  resolve(v: number, notSent: Array<string>): boolean
}

/**
 * Up to `limit` ready requests in priority then workload order, with their references resolved.
 *
 * @internal
 */
export const takeFrontier = (run: Taking, notSent: Array<string>, limit: number): Array<number> => {
  const stamp = run.nextStamp()
  const frontier: Array<number> = []
  while (frontier.length < limit && run.ready.size > 0) {
    const v = run.ready.pop()
    if (run.state[v] !== PENDING || run.unsatisfied[v] !== 0 || run.mark[v] === stamp) continue
    run.mark[v] = stamp
    frontier.push(v)
  }
  const out: Array<number> = []
  for (const v of frontier) {
    if (run.state[v] !== PENDING) continue // settled by a failed resolution earlier in this loop
    if (run.resolve(v, notSent)) out.push(v)
  }
  return out
}

/**
 * {@link takeFrontier} across affinities: parked requests of an affinity that has room again go
 * back to the ready queue first (the first by priority and workload order); then ready requests
 * are taken in priority and workload order, and one whose affinity has no room left is parked
 * (its wire request dropped) and passed over. Same input, same order: affinities are visited in
 * the order they were first parked.
 *
 * @internal
 */
export const takeSpread = (run: Taking, notSent: Array<string>, limit: number, spread: Spread): Array<number> => {
  for (const [key, lane] of run.parked) {
    for (let room = spread.room(key); room > 0 && lane.size > 0; room--) run.ready.push(lane.pop())
    if (lane.size === 0) run.parked.delete(key)
  }
  const stamp = run.nextStamp()
  const taken = new Map<string, number>()
  const out: Array<number> = []
  while (out.length < limit && run.ready.size > 0) {
    const v = run.ready.pop()
    if (run.state[v] !== PENDING || run.unsatisfied[v] !== 0 || run.mark[v] === stamp) continue
    run.mark[v] = stamp
    if (!run.resolve(v, notSent)) continue
    const key = spread.affinity(run.resolved.get(v)!)
    if (key === undefined) {
      out.push(v)
      continue
    }
    const n = taken.get(key) ?? 0
    if (n < spread.room(key)) {
      taken.set(key, n + 1)
      out.push(v)
      continue
    }
    run.resolved.delete(v)
    let lane = run.parked.get(key)
    if (lane === undefined) run.parked.set(key, lane = new ReadyQueue(run.priority))
    lane.push(v)
  }
  return out
}
