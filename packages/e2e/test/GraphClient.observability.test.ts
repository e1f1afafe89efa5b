import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import { Emulator } from "@effect-msgraph/emulator"
import { Effect, Layer, Logger, Metric, Option, Tracer } from "effect"
import { driveClock, onboarding, TOKEN } from "./utils/harness.js"

interface Recorded {
  readonly name: string
  readonly attributes: Map<string, unknown>
  ended: boolean
}

/** A tracer that keeps every span, to inspect names and attributes. */
const recordingTracer = (spans: Array<Recorded>) =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const record: Recorded = { name, attributes, ended: false }
      spans.push(record)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: () => {
          record.ended = true
        },
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

describe("GraphClient observability", () => {
  it.effect("spans per batch and per request; the token never appears in spans, logs or outcomes; only the Graph host is contacted", () => {
    const spans: Array<Recorded> = []
    const logs: Array<string> = []
    const contacted: Array<{ url: string; authorization: string | undefined }> = []
    // record what leaves the process, then hand the request to the emulator
    const recordingClient = Layer.effect(
      HttpClient.HttpClient,
      Effect.map(Emulator.httpClient, (inner) =>
        HttpClient.tapRequest(inner, (request) =>
          Effect.sync(() => void contacted.push({ url: request.url, authorization: request.headers["authorization"] }))))
    )
    const layer = GraphClient.layer({ baseUrl: "https://graph.microsoft.com" }).pipe(
      Layer.provide(Layer.mergeAll(TokenProvider.layerStatic(TOKEN), GraphClient.layerUnthrottled)),
      Layer.provide(recordingClient),
      Layer.provideMerge(Emulator.layer({ latency: "none", licenses: 2, seed: 3, faults: { items: [{ status: 503, rate: 0.2 }] } }))
    )
    return Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      // reads too: only they are resent after a 503 (a create answered 503 may have run)
      const workload = [...onboarding(4), ...Array.from({ length: 10 }, (_, i) => ({ id: `read-${i}`, method: "GET", url: `/users?$top=1&$skip=${i}` }))]
      const { outcomes } = yield* driveClock(client.runAll(workload))
      yield* Effect.logInfo("run finished", { outcomes: outcomes.length })

      // metrics moved: batches sent, 201s counted by status, retries after the injected 503s
      expect((yield* Metric.value(GraphClient.metrics.batches)).count).toBeGreaterThan(0)
      const created = yield* Metric.value(Metric.tagged(GraphClient.metrics.requests, "status", "201"))
      expect(created.count).toBeGreaterThanOrEqual(outcomes.filter((o) => o._tag === "Success" && o.status === 201).length)
      expect((yield* Metric.value(GraphClient.metrics.retries)).count).toBeGreaterThan(0)
      expect((yield* Metric.value(GraphClient.metrics.queueDepth)).value).toBe(0)

      // a span per batch (with its size and attempt) and a span per request, all ended
      const batches = spans.filter((s) => s.name === "GraphClient.batch")
      expect(batches.length).toBeGreaterThan(0)
      for (const b of batches) {
        expect(b.attributes.get("batch.size")).toBeTypeOf("number")
        expect(b.attributes.get("batch.attempt")).toBeTypeOf("number")
        expect(b.attributes.has("batch.admissionWaitMs")).toBe(true)
      }
      // one per request that was sent, even if Graph did not run it (a 424 is no attempt)
      const requests = spans.filter((s) => s.name === "GraphClient.request")
      const sent = new Set((yield* Emulator.audit).map((a) => a.itemId))
      expect(new Set(requests.map((s) => s.attributes.get("request.id")))).toStrictEqual(sent)
      for (const o of outcomes) if (o.attempts > 0) expect(sent.has(o.id)).toBe(true)
      expect(requests.every((s) => s.ended)).toBe(true)

      // the token went on the wire, and only there
      expect(contacted.length).toBeGreaterThan(0)
      for (const c of contacted) {
        expect(new URL(c.url).host).toBe("graph.microsoft.com")
        expect(c.authorization).toBe(`Bearer ${TOKEN}`)
      }
      const everything = JSON.stringify({
        spans: spans.map((s) => ({ name: s.name, attributes: [...s.attributes] })),
        logs,
        outcomes
      })
      expect(everything).not.toContain(TOKEN)
      expect(logs.some((l) => l.includes("run finished"))).toBe(true)
      expect(Option.isNone(Option.fromNullable(everything.match(/Bearer/)))).toBe(true)
    }).pipe(
      Effect.provide(layer),
      Effect.withTracer(recordingTracer(spans)),
      Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message, annotations }) => {
        logs.push(JSON.stringify({ message, annotations: [...annotations] }))
      })))
    )
  })
})
