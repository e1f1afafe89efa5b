import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as DR from "@effect-msgraph/core/DependencyResolver"
import * as VE from "@effect-msgraph/core/ValidationError"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"

/** `n` requests in a ring: each depends on the next, the last on the first. */
const ring = (n: number): Array<WorkloadRequest> =>
  Array.from({ length: n }, (_, i) => ({ id: `r${i}`, method: "GET", url: "/me", dependsOn: [`r${(i + 1) % n}`] }))

describe("ValidationError messages", () => {
  it("a cycle of 10,000 ids: the message gives its length and the first and last ids, the path keeps them all", () => {
    const error = Either.getOrThrowWith(Either.flip(DR.plan(ring(10_000))), () => new Error("expected a cycle"))
    expect(error._tag).toBe("DependencyCycle")
    const cycle = error as VE.DependencyCycle
    expect(cycle.path).toHaveLength(10_001)
    expect(cycle.path[0]).toBe(cycle.path[10_000])
    expect(cycle.message.length).toBeLessThan(200)
    expect(cycle.message).toContain("dependency cycle of 10,000 requests: ")
    expect(cycle.message.startsWith(`dependency cycle of 10,000 requests: ${cycle.path.slice(0, 5).join(" -> ")} -> ... (`)).toBe(true)
    expect(cycle.message.endsWith(`... -> ${cycle.path.slice(-5).join(" -> ")}`)).toBe(true)
  })

  it("a short cycle is written out whole", () => {
    expect(new VE.DependencyCycle({ path: ["a", "b", "a"] }).message).toBe("dependency cycle: a -> b -> a")
  })

  it.prop(
    "a cycle message names at most 10 ids of its path, and every id when there are at most 10 steps",
    { length: fc.integer({ min: 1, max: 3_000 }) },
    ({ length }) => {
      const ids = Array.from({ length }, (_, i) => `id-${i}`)
      const message = new VE.DependencyCycle({ path: [...ids, ids[0]!] }).message
      const named = message.match(/id-\d+/g) ?? []
      if (length <= 10) expect(named).toStrictEqual([...ids, ids[0]])
      else {
        expect(named).toStrictEqual([...ids.slice(0, 5), ...ids.slice(-4), ids[0]])
        expect(message).toContain(`cycle of ${length.toLocaleString("en-US")} requests`)
      }
    }
  )

  it("long id lists in other messages are elided the same way, and the fields keep every id", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `r${i}`)
    const error = new VE.UnknownDependency({ ids, missing: ["zzz"] })
    expect(error.message).toBe("requests r0, r1, r2, r3, r4, ... (9,990 more) ..., r9995, r9996, r9997, r9998, r9999 depend on unknown ids zzz")
    expect(error.ids).toHaveLength(10_000)
    expect(new VE.UnknownDependency({ ids: ["a", "b"], missing: ["c"] }).message).toBe("requests a, b depend on unknown ids c")
  })
})
