import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import { Emulator, EmulatorServer } from "@effect-msgraph/emulator"
import { Effect, Layer, Schedule } from "effect"
import { Examples } from "@effect-msgraph/cli"
import { onboarding, TOKEN } from "./utils/harness.js"

/**
 * The emulator's server on a free port, and a client pointed at it over real HTTP. The client is a
 * layer so its HTTP client lives as long as the test (providing NodeHttpClient to `make` alone
 * would close the connection pool as soon as `make` returned).
 */
const served = (
  options: Emulator.Emulator.Options,
  client: GraphClient.GraphClient.Options = {},
  admission: Layer.Layer<GraphClient.Admission> = GraphClient.layerUnthrottled
) =>
  Layer.unwrapEffect(Effect.map(EmulatorServer.url, (url) => GraphClient.layer({ baseUrl: url, ...client }))).pipe(
    Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, TokenProvider.layerStatic(TOKEN), admission)),
    Layer.provideMerge(EmulatorServer.layer({ port: 0 })),
    Layer.provideMerge(Emulator.layer({ latency: "none", ...options }))
  )

describe("GraphClient over loopback HTTP", () => {
  it.live("the onboarding workflow against the emulator's server", () =>
    Effect.gen(function*() {
      const url = yield* EmulatorServer.url
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const client = yield* GraphClient.GraphClient
      expect(client.options.baseUrl).toBe(url)
      const workload = onboarding(20)
      const { outcomes, summary } = yield* client.runAll(workload)
      expect(outcomes.filter((o) => o._tag === "Failure")).toStrictEqual([])
      expect(summary).toMatchObject({ requests: workload.length, succeeded: workload.length })
      expect(yield* Emulator.report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0, orderViolations: 0 })
      // every item reached the server with the client's token
      const audit = yield* Emulator.audit
      expect(audit).toHaveLength(workload.length)
    }).pipe(Effect.provide(served({ licenses: 100 }))))

  it.live("faults over a real socket: dropped connections and 503s end as Success or UnknownOutcome, never a duplicate create", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const workload = onboarding(10)
      const { outcomes } = yield* client.runAll(workload)
      expect(outcomes).toHaveLength(workload.length)
      for (const o of outcomes) {
        if (o._tag === "Failure") expect(["UnknownOutcome", "DependencyFailed"]).toContain(o.error._tag)
      }
      // the faults did hit this run: something was resent or ended unknown
      expect(outcomes.some((o) => o._tag === "Failure" || o.attempts > 1)).toBe(true)
      const creates = (yield* Emulator.audit).filter((a) => a.executed && a.method === "POST" && a.url === "/users")
      expect(new Set(creates.map((a) => a.clientRequestId)).size).toBe(creates.length)
    }).pipe(Effect.provide(served({
      licenses: 100,
      seed: 23,
      faults: { dropConnection: { rate: 0.2, phase: "after" }, items: [{ status: 503, rate: 0.2 }] }
    }, { backoff: Schedule.spaced("20 millis"), maxAttempts: 20 }))))

  it.live("proactive throttling in real time: channel posts at one a second get no 429, though the first call also sets up the connection", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const workload = Examples.teamsPosting({ teams: 1, channelsPerTeam: 2, postsPerChannel: 3 })
      const { outcomes, summary } = yield* client.runAll(workload)
      expect(outcomes.filter((o) => o._tag !== "Success")).toStrictEqual([])
      expect(summary.throttled429).toBe(0)
      const audit = yield* Emulator.audit
      expect(audit.filter((a) => a.status === 429)).toStrictEqual([])
      // on the server's clock, each channel's posts are at least a second apart
      for (const channel of ["channel-0-0", "channel-0-1"]) {
        const times = audit.filter((a) => a.url.includes(channel)).map((a) => a.startedAt).sort((a, b) => a - b)
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000)
      }
    }).pipe(Effect.provide(served(
      {},
      {},
      GraphClient.layerThrottledMemory(Emulator.defaultIdentity, { catalog: { tenantSize: "M", delegated: true } }).pipe(Layer.orDie)
    ))))
})
