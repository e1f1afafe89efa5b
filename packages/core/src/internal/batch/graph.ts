/**
 * Graph algorithms over requests indexed 0..n-1, where `deps[i]` lists the indices request i
 * depends on.
 *
 * @internal
 */

/**
 * A topological order (dependencies first), or the indices left over when there is a cycle.
 *
 * @internal
 */
export const topologicalOrder = (
  deps: ReadonlyArray<ReadonlyArray<number>>
): { readonly order: Array<number>; readonly cyclic: boolean } => {
  const n = deps.length
  const remaining = new Int32Array(n)
  // a list only for requests that have dependents
  const children: Array<Array<number> | undefined> = new Array(n)
  for (let i = 0; i < n; i++) {
    for (const d of deps[i]!) {
      remaining[i]!++
      ;(children[d] ??= []).push(i)
    }
  }
  const order: Array<number> = []
  for (let i = 0; i < n; i++) if (remaining[i] === 0) order.push(i)
  for (let k = 0; k < order.length; k++) {
    for (const c of children[order[k]!] ?? []) {
      if (--remaining[c]! === 0) order.push(c)
    }
  }
  return { order, cyclic: order.length < n }
}

/**
 * One cycle, as indices where each depends on the next and the last equals the first; `undefined`
 * when the graph is acyclic.
 *
 * @internal
 */
export const findCycle = (deps: ReadonlyArray<ReadonlyArray<number>>): Array<number> | undefined => {
  const { order, cyclic } = topologicalOrder(deps)
  if (!cyclic) return undefined
  // Every index outside the topological order depends on another index outside it, so walking
  // those dependencies from any of them must revisit an index: the walk from there is a cycle.
  const sorted = new Uint8Array(deps.length)
  for (const i of order) sorted[i] = 1
  let start = 0
  while (sorted[start] === 1) start++
  const position = new Map<number, number>()
  const walk: Array<number> = []
  let current = start
  while (!position.has(current)) {
    position.set(current, walk.length)
    walk.push(current)
    current = deps[current]!.find((d) => sorted[d] === 0)!
  }
  const cycle = walk.slice(position.get(current)!)
  cycle.push(current)
  return cycle
}

/**
 * A topological order (dependencies first) that moves as little as it can: at every step it takes
 * the lowest index whose dependencies are all placed, so an order that is already topological comes
 * back unchanged. `deps` must be acyclic. Quadratic, which suits a batch of at most 20 requests.
 *
 * @internal
 */
export const stableTopologicalOrder = (deps: ReadonlyArray<ReadonlyArray<number>>): Array<number> => {
  const n = deps.length
  const placed = new Uint8Array(n)
  const order: Array<number> = []
  while (order.length < n) {
    let next = 0
    while (placed[next] === 1 || !deps[next]!.every((d) => placed[d] === 1)) {
      next++
      if (next === n) throw new Error("stableTopologicalOrder: the graph has a cycle")
    }
    placed[next] = 1
    order.push(next)
  }
  return order
}
