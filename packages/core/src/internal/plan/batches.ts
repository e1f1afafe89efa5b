/**
 * A round's groups as `$batch` calls: their shape, their wire requests, and their size.
 *
 * @internal
 */
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import type { PlannedBatch } from "../../DependencyResolver.js"
import * as bounds from "../batch/bounds.js"
import type { Group, Prepared } from "./scheduler.js"
import type { BatchShape } from "../../BatchBuilder.js"

/**
 * Writes the batch's order into `dependsOn`: nothing when no member depends on another; every
 * member on the first when that is the only dependency inside the batch (Graph's "same" shape);
 * otherwise each member on the previous one (a sequential chain).
 *
 * @internal
 */
export const shapeOf = (p: Prepared, group: ReadonlyArray<number>): BatchShape => {
  // most groups hold no request with a dependency at all: nothing to look up
  if (p.deps.size === 0 || group.every((v) => p.deps.of(v).length === 0)) return "parallel"
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

/**
 * The batch of a group: its members' wire requests (`wire`), ordered by its shape.
 *
 * @internal
 */
export const toBatch = (
  p: Prepared,
  wire: (v: number) => BatchRequestItem,
  { members: group, shape }: Group,
  round: number,
  position: number
): PlannedBatch => {
  const first = group[0]!
  const requests = group.map((v, i) => {
    const given = wire(v)
    // a parallel batch writes nothing into its items: the wire request itself (made for this send,
    // never the workload's own object), so that what was learnt of it (its affinity) still holds
    if (shape === "parallel" && given.dependsOn === undefined) return given
    const item: { -readonly [K in keyof BatchRequestItem]: BatchRequestItem[K] } = { ...given }
    delete item.dependsOn
    if (shape === "serial" && i > 0) item.dependsOn = [p.workload[group[i - 1]!]!.id]
    if (shape === "same" && i > 0) item.dependsOn = [p.workload[first]!.id]
    return item
  })
  return { id: `r${round}b${position + 1}`, round, shape, requests }
}

/**
 * Keeps every batch within Graph's 4 MB limit on a call, counting the headers the client adds
 * later: a parallel group (`planned`, built from `group`) is split into several batches of the
 * round; a sequential one keeps the prefix that fits, and the rest is handed to `wait` (it waits
 * for a later round). Any request fits on its own (validation bounds its size), so every group
 * yields a batch.
 *
 * @internal
 */
export const fitBytes = (
  planned: PlannedBatch,
  group: Array<number>,
  wait: (rest: ReadonlyArray<number>) => void
): Array<Array<number>> => {
  const limit = bounds.MAX_BATCH_BYTES
  const added = bounds.ADDED_BYTES_PER_ITEM
  if (bounds.envelopeBytes(planned.requests, limit, added) <= limit) return [group]
  const sizes = planned.requests.map((item) => bounds.itemBytes(item) + added + 1)
  const parts: Array<Array<number>> = []
  let part: Array<number> = []
  let used = bounds.ENVELOPE_BYTES
  for (let i = 0; i < group.length; i++) {
    if (part.length > 0 && used + sizes[i]! > limit) {
      if (planned.shape !== "parallel") {
        wait(group.slice(i))
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
