/**
 * Adaptation that converges (issue 18, item 3): against a tenant stricter than documented by an
 * unknown factor, the client learns the real limit and stays under it. Runs the CLI's simulation (the
 * client against the in-process emulator, in virtual time, realistic latency) and compares with the
 * duration lower bound at the stricter limits.
 */
import * as Report from "@effect-msgraph/cli/Report"
import * as Simulation from "@effect-msgraph/cli/Simulation"
import type { Workload } from "@effect-msgraph/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Directory reads (the first `n` of examples/directory-report.json, whose `$expand` and large `$top`
 * cost enough for the identity resource-unit token bucket to bind; Graph reports on it with headers).
 */
const directory = (n: number): Workload.Workload => {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../../examples/directory-report.json")
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { requests: Workload.Workload }).requests.slice(0, n)
}

/** Channel posts: Teams' per-channel windows, where no header tells the real limit. */
const posts = (channels: number, perChannel: number): Workload.Workload =>
  Array.from({ length: channels * perChannel }, (_, i) => {
    const channel = i % channels
    return {
      id: `post-${i}`,
      method: "POST",
      url: `/teams/team-0/channels/channel-0-${channel}/messages`,
      body: { body: { contentType: "text", content: `post ${i}` } }
    }
  })

/** The targets: every request succeeds, 429s at most 1% plus a handful per bucket, efficiency >= 0.90. */
const meets = (workload: Workload.Workload, stricter: number, buckets: number) =>
  Effect.gen(function*() {
    const result = yield* Simulation.simulate(workload, { stricter, latency: "realistic", seed: stricter })
    const { summary } = result
    const efficiency = Report.efficiency(summary, result.bound.ms)
    const figures = { stricter, requests: workload.length, throttled: summary.throttled429, failed: summary.failed, efficiency }
    expect(summary.failed, JSON.stringify(figures)).toBe(0)
    expect(summary.throttled429, JSON.stringify(figures)).toBeLessThanOrEqual(0.01 * workload.length + 5 * buckets)
    expect(efficiency, JSON.stringify(figures)).not.toBeNull()
    expect(efficiency!, JSON.stringify(figures)).toBeGreaterThanOrEqual(0.9)
  })

describe.skip("adaptation against a tenant stricter than documented", () => {
  // Skipped: the targets are not met yet. Measured (branch i18-headers, realistic latency, seed 0):
  // examples/directory-report.json --stricter 2: 187 429s of 12,000 (1.56%), efficiency 0.983;
  // --stricter 5: 4 (0.03%), 0.997; --stricter 20: 46 (0.38%), 0.999. On its first 3,000 requests
  // (seed = factor): 69 (2.3%) at 2, 30 (1.0%) at 7, 42 (1.4%) at 35, 46 (1.5%) at 100, against
  // 40 allowed. The capacity is known from the first reports (0.8 used) and nothing admitted before
  // is sent; what remains are the batches already in flight then, beyond the 20% of Graph's bucket
  // left (at 2x the in-flight limit has grown to a dozen batches; at 100x one round trip of four
  // batches is twice Graph's whole bucket). Channel posts (8 x 60) at
  // stricter 2: 20 429s of 480 (4.2%), efficiency 0.71. Each probe upwards and each episode of
  // requests already in flight still costs a batch's worth of 429s.
  it.effect.prop(
    "directory reads: the identity bucket's real capacity is learnt and kept",
    [fc.integer({ min: 2, max: 100 })],
    ([stricter]) => meets(directory(3000), stricter, 2),
    { fastCheck: { numRuns: 3 }, timeout: 180_000 }
  )

  it.effect.prop(
    "channel posts: each channel's real window is learnt and kept",
    [fc.integer({ min: 2, max: 100 })],
    ([stricter]) => meets(posts(8, 60), stricter, 8),
    { fastCheck: { numRuns: 3 } }
  )
})
