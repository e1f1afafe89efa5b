import { describe, expect, it } from "@effect/vitest"
import * as DR from "@effect-msgraph/core/DependencyResolver"
import * as Workload from "@effect-msgraph/core/Workload"
import { Either, FastCheck as fc } from "effect"
import { dagSpec, dagWorkload } from "./utils/dag.js"
import { req } from "./utils/plan.js"

type Request = Workload.WorkloadRequest

const partsOf = (workload: ReadonlyArray<Request>, count: number) =>
  Either.getOrThrowWith(Workload.partition(workload, count), (e) => new Error(e.message))

const shardOf = (workload: ReadonlyArray<Request>, index: number, count: number) =>
  Either.getOrThrowWith(Workload.shard(workload, index, count), (e) => new Error(e.message))

/** Every dependency edge (dependsOn and response references), as lower-cased ids. */
const edgesOf = (workload: ReadonlyArray<Request>) =>
  workload.flatMap((r) => [
    ...(r.dependsOn ?? []).map((d) => [d.toLowerCase(), r.id.toLowerCase()] as const),
    ...Workload.references(r).map((ref) => [ref.source.toLowerCase(), r.id.toLowerCase()] as const)
  ])

/** Sizes of the connected components, found independently of the library (breadth-first search). */
const componentSizes = (workload: ReadonlyArray<Request>): Array<number> => {
  const neighbours = new Map<string, Array<string>>(workload.map((r) => [r.id.toLowerCase(), []]))
  for (const [a, b] of edgesOf(workload)) {
    neighbours.get(a)?.push(b)
    neighbours.get(b)?.push(a)
  }
  const seen = new Set<string>()
  const sizes: Array<number> = []
  for (const start of neighbours.keys()) {
    if (seen.has(start)) continue
    seen.add(start)
    const queue = [start]
    for (let k = 0; k < queue.length; k++) {
      for (const next of neighbours.get(queue[k]!)!) {
        if (!seen.has(next)) {
          seen.add(next)
          queue.push(next)
        }
      }
    }
    sizes.push(queue.length)
  }
  return sizes
}

const counts = fc.integer({ min: 1, max: 12 })

describe("Workload.partition and Workload.shard", () => {
  it.prop("the parts hold every request exactly once, each in the workload's order", { spec: dagSpec(800), count: counts }, ({ count, spec }) => {
    const workload: ReadonlyArray<Request> = dagWorkload(spec)
    const parts = partsOf(workload, count)
    expect(parts.length).toBe(count)
    const position = new Map(workload.map((r, i) => [r, i]))
    const seen = new Set<Request>()
    for (const part of parts) {
      let last = -1
      for (const request of part) {
        expect(seen.has(request)).toBe(false)
        seen.add(request)
        const at = position.get(request)!
        expect(at).toBeGreaterThan(last)
        last = at
      }
    }
    expect(seen.size).toBe(workload.length)
  })

  it.prop("no dependency or response reference crosses parts, and every part plans on its own", { spec: dagSpec(800), count: counts }, ({ count, spec }) => {
    const workload = dagWorkload(spec)
    const parts = partsOf(workload, count)
    const partOf = new Map<string, number>()
    parts.forEach((part, p) => part.forEach((r) => partOf.set(r.id.toLowerCase(), p)))
    for (const [from, to] of edgesOf(workload)) expect(partOf.get(from)).toBe(partOf.get(to))
    // a part names no id outside itself: the resolver accepts it as a workload of its own
    for (const part of parts) if (part.length > 0) expect(Either.isRight(DR.plan(part))).toBe(true)
  })

  it.prop("shard i/n is part i of the partition, and the same workload always gives the same parts", { spec: dagSpec(500), count: counts }, ({ count, spec }) => {
    const workload = dagWorkload(spec)
    const parts = partsOf(workload, count)
    // a copy read from text, as another machine would read the same file
    const copy: ReadonlyArray<Request> = JSON.parse(JSON.stringify(workload))
    const again = partsOf(copy, count)
    for (let i = 1; i <= count; i++) {
      const ids = shardOf(workload, i, count).map((r) => r.id)
      expect(ids).toEqual(parts[i - 1]!.map((r) => r.id))
      expect(again[i - 1]!.map((r) => r.id)).toEqual(ids)
    }
  })

  it.prop("parts are balanced: they differ by at most the largest component", { spec: dagSpec(800), count: counts }, ({ count, spec }) => {
    const workload = dagWorkload(spec)
    const sizes = partsOf(workload, count).map((p) => p.length)
    const largest = Math.max(...componentSizes(workload))
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(largest)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(workload.length / count + largest)
  })

  it.prop("independent requests are spread evenly: part sizes differ by at most one", {
    n: fc.integer({ min: 0, max: 300 }),
    count: counts
  }, ({ count, n }) => {
    const workload = Array.from({ length: n }, (_, i) => req(`u${i}`))
    const sizes = partsOf(workload, count).map((p) => p.length)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
  })

  it("keeps a chain linked only by a response reference, spelt in another case, in one part", () => {
    const workload = [
      req("create"),
      req("a"),
      { id: "read", method: "GET", url: "/users/{{CREATE#/body/id}}" },
      req("b"),
      req("c", { dependsOn: ["read"] })
    ]
    const parts = partsOf(workload, 2)
    // the component {create, read, c} is the largest: it goes first, to part 1; a and b to part 2
    expect(parts.map((p) => p.map((r) => r.id))).toEqual([["create", "read", "c"], ["a", "b"]])
  })

  it("gives the same parts for a pinned example (the cut is part of the file format's contract)", () => {
    // sizes 2, 2, 1, 1: equal sizes go by their smallest id, each to the least loaded part
    const workload = [req("z1"), req("z2", { dependsOn: ["z1"] }), req("m"), req("b1"), req("b2", { dependsOn: ["B1"] }), req("k")]
    expect(partsOf(workload, 3).map((p) => p.map((r) => r.id))).toEqual([["b1", "b2"], ["z1", "z2"], ["m", "k"]])
  })

  it("with more parts than components, the last parts are empty", () => {
    const parts = partsOf([req("a"), req("b", { dependsOn: ["a"] })], 3)
    expect(parts.map((p) => p.length)).toEqual([2, 0, 0])
  })

  it("refuses a shard that does not exist with InvalidShard", () => {
    const workload = [req("a")]
    for (const [index, count] of [[0, 3], [4, 3], [1, 0], [-1, 2], [1.5, 3], [1, 2.5], [Number.NaN, 2], [1, Infinity]] as const) {
      const result = Workload.shard(workload, index, count)
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidShard")
    }
    expect(Either.isLeft(Workload.partition(workload, 0))).toBe(true)
    // the pipeable form
    expect(Either.getOrThrow(Workload.shard(2, 2)(workload))).toEqual([])
  })
})
