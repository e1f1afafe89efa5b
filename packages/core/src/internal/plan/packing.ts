/**
 * Packing a round's requests into batches: waves (parallel batches of the frontier) and chains
 * (sequential batches that absorb the dependents of the frontier). See docs/batching.md.
 *
 * @internal
 */
import { PENDING } from "./frontier.js"
import type { Prepared } from "./scheduler.js"

/** Requests in one `$batch` call. @internal */
export const MAX = 20

/**
 * What packing needs of a run.
 *
 * @internal
 */
export interface Packing {
  readonly prepared: Prepared
  readonly state: Uint8Array
  readonly unsatisfied: Int32Array
  readonly mark: Int32Array
  nextStamp(): number
  /** Chains' own working arrays, made on first use (a waves run never needs them). */
  packingArrays(): { readonly need: Int32Array; readonly depth: Int32Array; readonly parent: Int32Array }
  /** Substitutes a request's references; on failure settles it (and its dependents) unsent. */
  resolve(v: number, notSent: Array<string>): boolean
}

/**
 * Waves: the frontier in parallel batches of 20.
 *
 * @internal
 */
export const chunk = (frontier: ReadonlyArray<number>): Array<Array<number>> => {
  const groups: Array<Array<number>> = []
  for (let i = 0; i < frontier.length; i += MAX) groups.push(frontier.slice(i, i + MAX))
  return groups
}

/**
 * Chains: besides the frontier, absorb every request whose unsatisfied dependencies are all
 * absorbed through plain (non-reference) edges within 20 levels, then pack connected groups
 * into sequential batches without splitting them where they fit.
 *
 * @internal
 */
export const pack = (
  run: Packing,
  frontier: ReadonlyArray<number>,
  notSent: Array<string>,
  limit: number
): Array<Array<number>> => {
  const stamp = run.nextStamp()
  const absorbed = absorb(run, frontier, notSent, limit, stamp)
  const singles: Array<number> = []
  const small: Array<Array<number>> = []
  for (const component of components(run, absorbed, stamp)) {
    if (component.length === 1) singles.push(component[0]!)
    else if (component.length <= MAX) small.push(component)
    else for (const batch of split(run, component, stamp)) small.push(batch)
  }
  return binPack(small, singles)
}

/** The frontier and the dependents it absorbs, all marked with `stamp`. */
const absorb = (
  run: Packing,
  frontier: ReadonlyArray<number>,
  notSent: Array<string>,
  limit: number,
  stamp: number
): Array<number> => {
  const p = run.prepared
  const { depth, need } = run.packingArrays()
  const absorbed: Array<number> = []
  for (const v of frontier) {
    run.mark[v] = stamp
    depth[v] = 1
    absorbed.push(v)
  }
  for (let k = 0; k < absorbed.length; k++) {
    const u = absorbed[k]!
    const kids = p.children.of(u)
    for (let j = 0; j < kids.length; j++) {
      const c = kids[j]!
      if (run.state[c] !== PENDING || p.childFlow.of(u)[j]) continue
      if (run.mark[c] !== -stamp) {
        run.mark[c] = -stamp
        need[c] = run.unsatisfied[c]!
        depth[c] = 0
      }
      if (depth[u]! + 1 > depth[c]!) depth[c] = depth[u]! + 1
      // `need` starts at every unsatisfied dependency and reference edges never count down, so a
      // request waiting on a response is never absorbed into the round that produces it
      // past the limit a dependent is left for a later round, when its dependencies have settled
      if (--need[c]! === 0 && depth[c]! <= MAX && absorbed.length < limit) {
        if (!run.resolve(c, notSent)) continue
        run.mark[c] = stamp
        absorbed.push(c)
      }
    }
  }
  return absorbed
}

/** Connected groups over plain edges among absorbed requests. */
const components = (run: Packing, absorbed: ReadonlyArray<number>, stamp: number): Iterable<Array<number>> => {
  const p = run.prepared
  const { parent } = run.packingArrays()
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
      if (run.mark[u] === stamp && !p.flow.of(v)[k]) {
        const a = find(u)
        const b = find(v)
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b)
      }
    }
  }
  const groups = new Map<number, Array<number>>()
  for (const v of absorbed) {
    const root = find(v)
    const list = groups.get(root)
    if (list === undefined) groups.set(root, [v])
    else list.push(v)
  }
  return groups.values()
}

/**
 * Best-fit decreasing: whole groups (and self-contained parts of large ones) into sequential
 * batches; a group is never split across batches of the same round when it fits in one. Then
 * independent requests go to parallel batches, filling gaps only where that saves a batch.
 */
const binPack = (small: Array<Array<number>>, singles: ReadonlyArray<number>): Array<Array<number>> => {
  const bins: Array<Array<number>> = []
  small.sort((a, b) => b.length - a.length)
  // byFree[k] holds the batches with exactly k free places
  const byFree: Array<Array<Array<number>>> = Array.from({ length: MAX + 1 }, () => [])
  for (const group of small) {
    let k = group.length
    while (k <= MAX && byFree[k]!.length === 0) k++
    const bin = k <= MAX ? byFree[k]!.pop()! : []
    if (k > MAX) bins.push(bin)
    bin.push(...group)
    byFree[MAX - bin.length]!.push(bin)
  }
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
  return [...bins, ...chunk(rest)]
}

/**
 * Splits a connected group larger than a batch: each batch starts at an unplaced request whose
 * dependencies are all outside the group, then extends along the dependents that become placeable
 * (deepest chain first). What cannot be placed waits for the next round.
 */
const split = (run: Packing, component: ReadonlyArray<number>, stamp: number): Array<Array<number>> => {
  const p = run.prepared
  const inGroup = (x: number) => run.mark[x] === stamp
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
