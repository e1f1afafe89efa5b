import { FastCheck as fc } from "effect"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"

/** A small deterministic PRNG so that one fast-check seed describes a whole large DAG. */
export const mulberry32 = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export interface DagSpec {
  readonly n: number
  readonly seed: number
  /** probability that a request continues the previous one's chain */
  readonly chain: number
  /** probability that a request depends on 1-3 random earlier requests */
  readonly random: number
  /** probability that an edge is a response reference rather than a plain dependsOn */
  readonly flow: number
}

export const dagSpec = (maxN: number): fc.Arbitrary<DagSpec> =>
  fc.record({
    n: fc.integer({ min: 1, max: maxN }),
    seed: fc.integer(),
    chain: fc.double({ min: 0, max: 0.9, noNaN: true }),
    random: fc.double({ min: 0, max: 0.5, noNaN: true }),
    flow: fc.double({ min: 0, max: 0.5, noNaN: true })
  })

/** A random DAG as a workload, in shuffled order so dependencies may appear later in the array. */
export const dagWorkload = (spec: DagSpec): Array<WorkloadRequest & { readonly dependsOn: ReadonlyArray<string> }> => {
  const rand = mulberry32(spec.seed)
  const nodes: Array<{ id: string; deps: Array<string>; refs: Array<string> }> = []
  for (let i = 0; i < spec.n; i++) {
    const targets = new Set<number>()
    const r = rand()
    if (i > 0 && r < spec.chain) targets.add(i - 1)
    else if (i > 0 && r < spec.chain + spec.random) {
      const k = 1 + Math.floor(rand() * 3)
      for (let j = 0; j < k; j++) targets.add(Math.max(0, i - 1 - Math.floor(rand() * Math.min(i, 50))))
    }
    const deps: Array<string> = []
    const refs: Array<string> = []
    for (const t of targets) (rand() < spec.flow ? refs : deps).push(`q${t}`)
    nodes.push({ id: `q${i}`, deps, refs })
  }
  for (let i = nodes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!]
  }
  return nodes.map((node) => ({
    id: node.id,
    method: "GET",
    url: node.refs.length === 0 ? `/users/${node.id}` : `/users/${node.refs.map((r) => `{{${r}#/body/id}}`).join("/")}`,
    dependsOn: node.deps
  }))
}
