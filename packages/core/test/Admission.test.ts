import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Admission from "../src/Admission.js"
import * as GraphClient from "../src/GraphClient.js"
import { CostExceedsCapacity } from "../src/ThrottleError.js"
import * as TokenProvider from "../src/TokenProvider.js"
import type { Workload } from "../src/Workload.js"

/** A `$batch` server in process: every item 200, echoing the `x-admitted` header the item carried. */
const echo = HttpClient.make((request) =>
  Effect.sync(() => {
    const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "{}"
    const { requests } = JSON.parse(text) as {
      requests: ReadonlyArray<{ id: string; headers?: Record<string, string> }>
    }
    const responses = requests.map((r) => ({ id: r.id, status: 200, body: { admitted: r.headers?.["x-admitted"] ?? null } }))
    return HttpClientResponse.fromWeb(
      request,
      new Response(JSON.stringify({ responses }), { status: 200, headers: { "content-type": "application/json" } })
    )
  })
)

/**
 * An admission written against the public port only: it counts what the client asks, refuses the
 * item `too-big`, tags every item it lets through with a header and a handle of its own, and
 * checks that the answers come back with those handles.
 */
const counting = () => {
  const counts = { admitted: 0, sent: 0, released: 0, answers: 0, ownHandles: 0 }
  const service: Admission.AdmissionService = {
    admit: (batch) =>
      Effect.sync(() => {
        counts.admitted++
        const rejected: Array<{ index: number; error: Admission.Rejection }> = []
        const send: Array<{ index: number; headers: Record<string, string>; handle: unknown }> = []
        batch.items.forEach(({ request }, index) => {
          if (request.id === "too-big") {
            rejected.push({ index, error: new CostExceedsCapacity({ key: "k", entryId: "e", cost: 2, capacity: 1 }) })
          } else {
            send.push({ index, headers: { "x-admitted": batch.batchId }, handle: { counted: request.id } })
          }
        })
        return {
          rejected,
          acquire: Effect.sync(() => {
            counts.sent += send.length
            return {
              send,
              deferred: [],
              release: Effect.sync(() => void counts.released++),
              waitedMillis: {}
            } satisfies Admission.Permission
          })
        } satisfies Admission.Ticket
      }),
    feedback: (answers) =>
      Effect.sync(() => {
        counts.answers += answers.length
        for (const answer of answers) {
          if (typeof answer.handle === "object" && answer.handle !== null && "counted" in answer.handle) counts.ownHandles++
        }
      })
  }
  return { counts, layer: Layer.succeed(Admission.Admission, service) }
}

const workload: Workload = [
  ...Array.from({ length: 45 }, (_, i) => ({ id: `r${i}`, method: "GET", url: `/users/u${i}` })),
  { id: "too-big", method: "GET", url: "/users/big" }
]

describe("Admission: a custom admission written against the public port", () => {
  it.effect("runs a workload through GraphClient: every batch is asked for, sent as permitted, released and fed back", () =>
    Effect.gen(function*() {
      const { counts, layer } = counting()
      const client = GraphClient.layer().pipe(
        Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("t"), layer, Layer.succeed(HttpClient.HttpClient, echo)))
      )
      const { outcomes, summary } = yield* Effect.flatMap(GraphClient.GraphClient, (graph) => graph.runAll(workload)).pipe(
        Effect.provide(client)
      )
      expect(summary.succeeded).toBe(45)
      expect(summary.failed).toBe(1)
      const refused = outcomes.find((o) => o.id === "too-big")
      expect(refused?._tag === "Failure" ? refused.error._tag : undefined).toBe("CostExceedsCapacity")
      // 46 requests need at least three batches of 20; each was asked for once and released once
      expect(counts.admitted).toBeGreaterThanOrEqual(3)
      expect(counts.released).toBe(counts.admitted)
      expect(counts.sent).toBe(45)
      // every item sent was answered with the handle this admission gave it
      expect(counts.answers).toBe(45)
      expect(counts.ownHandles).toBe(45)
      // and carried the headers it added
      for (const outcome of outcomes) {
        if (outcome._tag === "Success") expect(typeof (outcome.body as { admitted: unknown }).admitted).toBe("string")
      }
    }))

  it("GraphClient.Admission is the same tag as Admission.Admission", () => {
    expect(GraphClient.Admission).toBe(Admission.Admission)
    expect(GraphClient.layerUnthrottled).toBe(Admission.layerUnthrottled)
  })
})
