import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type * as rules from "../src/internal/batch/rules.js"
import { prepare } from "../src/internal/plan/scheduler.js"

const settings: rules.Settings = { host: "graph.microsoft.com", version: "v1.0", maxRequests: 20 }

describe("prepare", () => {
  it("checks a workload array once per host and version: later calls share its preparation", () => {
    const workload = [{ id: "a", method: "GET", url: "/me" }, { id: "b", method: "GET", url: "/me", dependsOn: ["a"] }]
    const first = Either.getOrThrow(prepare(workload, settings))
    expect(Either.getOrThrow(prepare(workload, settings))).toBe(first)
    // the same requests in another array, or under another version, are prepared again
    expect(Either.getOrThrow(prepare([...workload], settings))).not.toBe(first)
    expect(Either.getOrThrow(prepare(workload, { ...settings, version: "beta" }))).not.toBe(first)
  })

  it("prepares a workload again when its length changed, and keeps no failed check", () => {
    const workload: Array<{ id: string; method: string; url: string; dependsOn?: Array<string> }> = [{ id: "a", method: "GET", url: "/me" }]
    const first = Either.getOrThrow(prepare(workload, settings))
    workload.push({ id: "b", method: "GET", url: "/me", dependsOn: ["c"] })
    expect(Either.isLeft(prepare(workload, settings))).toBe(true)
    workload.push({ id: "c", method: "GET", url: "/me" })
    const third = Either.getOrThrow(prepare(workload, settings))
    expect(third).not.toBe(first)
    expect(third.deps.of(1)).toEqual([2])
  })
})
