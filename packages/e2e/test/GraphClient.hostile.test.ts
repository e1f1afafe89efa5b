// Hostile input and hostile answers: bodies too deep or too large, references that would change a
// URL's structure, and a $batch answer that answers an item twice.
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import * as VE from "@effect-msgraph/core/ValidationError"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Emulator } from "@effect-msgraph/emulator"
import { Effect, Layer, Ref } from "effect"
import { driveClock, inProcess } from "./utils/harness.js"

const nested = (levels: number): unknown => {
  let body: Record<string, unknown> = { leaf: true }
  for (let i = 1; i < levels; i++) body = { next: body }
  return body
}

const tagOf = (o: GraphClient.Outcome) => (o._tag === "Success" ? "Success" : o.error._tag)

describe("bodies nested too deep", () => {
  it.effect("a workload with a body nested 5,000 deep fails with BodyTooDeep naming it, and nothing is sent", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const error = yield* Effect.flip(client.runAll([
        { id: "fine", method: "GET", url: "/me" },
        { id: "deep", method: "POST", url: "/users", body: nested(5_000) }
      ]))
      expect(error).toStrictEqual(new VE.BodyTooDeep({ ids: ["deep"], limit: 64 }))
      expect(yield* Emulator.audit).toHaveLength(0)
    }).pipe(Effect.provide(inProcess())))

  it.effect("a body nested as deep as the bound is sent, and the run ends with its outcome", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const { outcomes } = yield* driveClock(client.runAll([{ id: "deep", method: "PATCH", url: "/me", body: { extra: nested(63) } }]))
      expect(outcomes.map((o) => o.id)).toStrictEqual(["deep"])
      expect((yield* Emulator.audit).map((a) => a.itemId)).toStrictEqual(["deep"])
    }).pipe(Effect.provide(inProcess())))
})

describe("large bodies", () => {
  const throttled = GraphClient.layerThrottledMemory(Emulator.defaultIdentity, { catalog: { tenantSize: "M", delegated: true } }).pipe(
    Layer.orDie
  )

  it.effect("messages of one mailbox are grouped by admission, but never into a call above 4 MB", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const workload: Array<WorkloadRequest> = Array.from({ length: 3 }, (_, i): WorkloadRequest => ({
        id: `m${i}`,
        method: "POST",
        url: "/me/messages",
        body: { subject: `large ${i}`, body: { contentType: "text", content: "x".repeat(1_500_000) } }
      }))
      workload.push({ id: "me", method: "GET", url: "/me" })
      const { outcomes } = yield* driveClock(client.runAll(workload), "1 second")
      expect(outcomes.map(tagOf)).toStrictEqual(["Success", "Success", "Success", "Success"])
      const batches = new Set((yield* Emulator.audit).map((a) => a.httpRequest))
      expect(batches.size).toBe(2)
    }).pipe(Effect.provide(inProcess({}, {}, throttled))))
})

interface WireItem {
  readonly id: string
  readonly method: string
  readonly url: string
  readonly body?: unknown
}

/**
 * A `$batch` server in memory: `answer` gives the `responses` array for the items of each call (the
 * call's number from 1); every call is recorded.
 */
const fakeGraph = (
  calls: Ref.Ref<ReadonlyArray<ReadonlyArray<WireItem>>>,
  answer: (items: ReadonlyArray<WireItem>, call: number) => ReadonlyArray<unknown> | string
) =>
  GraphClient.layer({ maxAttempts: 3 }).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("fake-token"), GraphClient.layerUnthrottled)),
    Layer.provide(Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) =>
        Effect.gen(function*() {
          const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "{}"
          const items = (JSON.parse(text) as { requests: ReadonlyArray<WireItem> }).requests
          const all = yield* Ref.updateAndGet(calls, (list) => [...list, items])
          const answered = answer(items, all.length)
          const body = typeof answered === "string" ? answered : JSON.stringify({ responses: answered })
          return HttpClientResponse.fromWeb(request, new Response(body, { status: 200, headers: { "content-type": "application/json" } }))
        })
      )
    ))
  )

const runOn = (
  workload: ReadonlyArray<WorkloadRequest>,
  answer: (items: ReadonlyArray<WireItem>, call: number) => ReadonlyArray<unknown> | string
) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<ReadonlyArray<WireItem>>>([])
    const { outcomes } = yield* driveClock(
      Effect.flatMap(GraphClient.GraphClient, (client) => client.runAll(workload)),
      "1 second"
    ).pipe(Effect.provide(fakeGraph(calls, answer)))
    return { outcomes, calls: yield* Ref.get(calls) }
  })

describe("an answer that answers an item twice", () => {
  it.effect("two different answers to a GET: neither is believed, and the GET is sent again", () =>
    Effect.gen(function*() {
      const { calls, outcomes } = yield* runOn([{ id: "read", method: "GET", url: "/me" }], (items, call) =>
        call === 1
          ? [{ id: "read", status: 200, body: { id: "first" } }, { id: "read", status: 404, body: {} }]
          : items.map((item) => ({ id: item.id, status: 200, body: { id: "again" } })))
      expect(calls).toHaveLength(2)
      expect(outcomes).toMatchObject([{ _tag: "Success", id: "read", status: 200, body: { id: "again" }, attempts: 2 }])
    }))

  it.effect("two different answers to a POST: it may have run, so it ends UnknownOutcome and is not sent again", () =>
    Effect.gen(function*() {
      const { calls, outcomes } = yield* runOn(
        [{ id: "create", method: "POST", url: "/users", body: { displayName: "A" } }],
        () => [{ id: "create", status: 201, body: { id: "u1" } }, { id: "CREATE", status: 400, body: {} }]
      )
      expect(calls).toHaveLength(1)
      expect(outcomes.map(tagOf)).toStrictEqual(["UnknownOutcome"])
      expect(outcomes[0]).toMatchObject({ error: { id: "create", method: "POST", cause: "BatchDecodeError" } })
    }))

  it.effect("the same answer twice is one answer: it is taken, and nothing is resent", () =>
    Effect.gen(function*() {
      const copy = { id: "create", status: 201, headers: { "content-type": "application/json" }, body: { id: "u1", tags: [1, 2] } }
      const { calls, outcomes } = yield* runOn(
        [{ id: "create", method: "POST", url: "/users", body: { displayName: "A" } }, { id: "other", method: "GET", url: "/me" }],
        () => [copy, { id: "other", status: 200, body: {} }, { ...copy }]
      )
      expect(calls).toHaveLength(1)
      expect(outcomes.map(tagOf).sort()).toStrictEqual(["Success", "Success"])
    }))
})

describe("references filled from a hostile answer", () => {
  it.effect("an id of `..` is never sent as a path segment: the request ends InvalidReference", () =>
    Effect.gen(function*() {
      const { calls, outcomes } = yield* runOn(
        [{ id: "me", method: "GET", url: "/me" }, { id: "groups", method: "GET", url: "/users/{{me#/body/id}}/memberOf" }],
        (items) => items.map((item) => ({ id: item.id, status: 200, body: { id: ".." } }))
      )
      expect(calls.flat().map((item) => item.url)).toStrictEqual(["/me"])
      const groups = outcomes.find((o) => o.id === "groups")!
      expect(groups).toMatchObject({ _tag: "Failure", error: { _tag: "InvalidReference", references: ["{{me#/body/id}}"] }, attempts: 0 })
    }))

  it.effect("a response nested 5,000 deep, copied into a body, ends BodyTooDeep unsent instead of crashing the run", () =>
    Effect.gen(function*() {
      const { calls, outcomes } = yield* runOn(
        [
          { id: "src", method: "GET", url: "/me" },
          { id: "copy", method: "POST", url: "/users", body: { value: "{{src#/body/value}}" } },
          { id: "text", method: "GET", url: "/users?$search={{src#/body/value}}" }
        ],
        // written as text: JSON.stringify itself cannot write it
        (items) =>
          `{"responses":[${
            items.map((item) => `{"id":${JSON.stringify(item.id)},"status":200,"body":{"value":${"[".repeat(5_000)}${"]".repeat(5_000)}}}`).join(",")
          }]}`
      )
      expect(calls.flat().map((item) => item.id)).toStrictEqual(["src"])
      expect(Object.fromEntries(outcomes.map((o) => [o.id, tagOf(o)]))).toStrictEqual({
        src: "Success",
        copy: "BodyTooDeep",
        text: "InvalidReference"
      })
    }))
})
