/**
 * Deterministic partition of a workload into parts that share no dependency: the connected
 * components of the dependency graph (`dependsOn` and response references, ids compared
 * case-insensitively) are dealt out largest first, each to the part with the fewest requests so far.
 *
 * @internal
 */
import type { WorkloadRequest } from "../../Workload.js"
import { idKey } from "../batch/rules.js"
import { referencesOf } from "./reference.js"

/** Union-find over request indices; a root is the smallest index of its set. */
const unionFind = (n: number) => {
  const parent = new Int32Array(n)
  for (let i = 0; i < n; i++) parent[i] = i
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!
      x = parent[x]!
    }
    return x
  }
  const union = (a: number, b: number): void => {
    const ra = find(a)
    const rb = find(b)
    if (ra < rb) parent[rb] = ra
    else if (rb < ra) parent[ra] = rb
  }
  return { find, union }
}

/**
 * The component of every request, as the index of its first request. Ids that name no request of
 * the workload join nothing; two requests whose ids differ only in case join each other (the
 * workload's own validation refuses them, in whichever part they land).
 *
 * @internal
 */
export const components = (workload: ReadonlyArray<WorkloadRequest>): Int32Array => {
  const n = workload.length
  const sets = unionFind(n)
  const index = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const key = idKey(workload[i]!.id)
    const first = index.get(key)
    if (first === undefined) index.set(key, i)
    else sets.union(i, first)
  }
  const join = (i: number, id: string) => {
    const j = index.get(idKey(id))
    if (j !== undefined) sets.union(i, j)
  }
  for (let i = 0; i < n; i++) {
    const request = workload[i]!
    for (const d of request.dependsOn ?? []) join(i, d)
    for (const r of referencesOf(request)) join(i, r.source)
  }
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = sets.find(i)
  return out
}

/** A min-heap of parts by (load, index): the part the next component goes to is at the top. */
const partHeap = (parts: number) => {
  const load = new Float64Array(parts)
  const heap = Array.from({ length: parts }, (_, i) => i)
  const less = (a: number, b: number) => load[a]! < load[b]! || (load[a] === load[b] && a < b)
  const down = (k: number) => {
    for (;;) {
      const l = 2 * k + 1
      const r = l + 1
      let m = k
      if (l < parts && less(heap[l]!, heap[m]!)) m = l
      if (r < parts && less(heap[r]!, heap[m]!)) m = r
      if (m === k) return
      ;[heap[k], heap[m]] = [heap[m]!, heap[k]!]
      k = m
    }
  }
  return {
    /** Adds `size` to the least loaded part and returns it. */
    take: (size: number): number => {
      const part = heap[0]!
      load[part]! += size
      down(0)
      return part
    }
  }
}

/**
 * The part (0 to `count - 1`) of every request. Components are taken largest first, equal sizes
 * by their smallest id (lower-cased, compared by UTF-16 code units, the same on every machine),
 * and each goes to the part with the fewest requests so far (the lowest-numbered on a tie). No
 * part then exceeds `requests / count` by more than the largest component.
 *
 * @internal
 */
export const assign = (workload: ReadonlyArray<WorkloadRequest>, count: number): Int32Array => {
  const n = workload.length
  const component = components(workload)
  const size = new Map<number, number>()
  const smallest = new Map<number, string>()
  for (let i = 0; i < n; i++) {
    const root = component[i]!
    size.set(root, (size.get(root) ?? 0) + 1)
    const key = idKey(workload[i]!.id)
    const known = smallest.get(root)
    if (known === undefined || key < known) smallest.set(root, key)
  }
  const roots = [...size.keys()].sort((a, b) => {
    const bySize = size.get(b)! - size.get(a)!
    if (bySize !== 0) return bySize
    const ka = smallest.get(a)!
    const kb = smallest.get(b)!
    return ka < kb ? -1 : ka > kb ? 1 : a - b
  })
  // with more parts than components, the components fill the first parts one each, as the greedy
  // choice over every part would: only those parts need a place in the heap
  const parts = partHeap(Math.min(count, roots.length))
  const partOf = new Map<number, number>()
  for (const root of roots) partOf.set(root, parts.take(size.get(root)!))
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = partOf.get(component[i]!)!
  return out
}
