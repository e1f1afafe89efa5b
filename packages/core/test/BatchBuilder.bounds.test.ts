import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { MAX_BATCH_BYTES, MAX_BODY_DEPTH, MAX_REQUEST_BYTES, validate } from "@effect-msgraph/core/BatchBuilder"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import * as DR from "@effect-msgraph/core/DependencyResolver"
import * as VE from "@effect-msgraph/core/ValidationError"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"

/** A JSON body with `levels` objects nested in one another. */
const nested = (levels: number): unknown => {
  let body: Record<string, unknown> = { leaf: true }
  for (let i = 1; i < levels; i++) body = { next: body }
  return body
}

const post = (id: string, body: unknown, extra: Partial<BatchRequestItem> = {}): BatchRequestItem => ({
  id,
  method: "POST",
  url: "/users",
  body,
  ...extra
})

/** A JSON body whose wire form takes about `bytes` bytes. */
const sized = (bytes: number) => ({ text: "x".repeat(bytes) })

const rejected = (items: ReadonlyArray<BatchRequestItem>) =>
  Either.getOrThrowWith(Either.flip(validate(items)), () => new Error("expected the batch to be rejected"))

describe("bounds on bodies and sizes", () => {
  it("a body nested as deep as the bound is valid; one level more is BodyTooDeep, naming the request", () => {
    expect(Either.isRight(validate([post("ok", nested(MAX_BODY_DEPTH))]))).toBe(true)
    expect(rejected([post("ok", nested(MAX_BODY_DEPTH)), post("deep", nested(MAX_BODY_DEPTH + 1))]))
      .toStrictEqual(new VE.BodyTooDeep({ ids: ["deep"], limit: 64 }))
  })

  it("a body nested 5,000 deep (arrays too) is refused without overflowing the stack", () => {
    let arrays: unknown = []
    for (let i = 0; i < 5_000; i++) arrays = [arrays]
    expect(rejected([post("a", nested(5_000)), post("b", arrays)]))
      .toStrictEqual(new VE.BodyTooDeep({ ids: ["a", "b"], limit: 64 }))
  })

  it("a body that contains itself is BodyTooDeep, not a crash", () => {
    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic.self = cyclic
    expect(rejected([post("c", cyclic)])).toStrictEqual(new VE.BodyTooDeep({ ids: ["c"], limit: 64 }))
  })

  it("a body JSON cannot carry (a bigint) is InvalidBody", () => {
    expect(rejected([post("n", { count: 1n })])).toStrictEqual(new VE.InvalidBody({ ids: ["n"] }))
  })

  it("a request larger than MAX_REQUEST_BYTES is RequestTooLarge; one just under it is valid", () => {
    expect(MAX_REQUEST_BYTES).toBeLessThan(MAX_BATCH_BYTES)
    const overhead = JSON.stringify({ id: "big", method: "POST", url: "/users", headers: { "Content-Type": "application/json" }, body: sized(0) }).length
    const fits = post("big", sized(MAX_REQUEST_BYTES - overhead))
    expect(Either.isRight(validate([fits]))).toBe(true)
    expect(rejected([post("big", sized(MAX_REQUEST_BYTES - overhead + 1))]))
      .toStrictEqual(new VE.RequestTooLarge({ ids: ["big"], limit: MAX_REQUEST_BYTES }))
  })

  it("sizes count UTF-8 bytes and JSON escapes, as the body travels", () => {
    const overhead = JSON.stringify({ id: "u", method: "POST", url: "/users", headers: { "Content-Type": "application/json" }, body: sized(0) }).length
    // "é" is 2 bytes in UTF-8; a quote is escaped as 2 characters
    const limit = MAX_REQUEST_BYTES - overhead
    expect(Either.isRight(validate([post("u", { text: "é".repeat(limit / 2) })]))).toBe(true)
    expect(rejected([post("u", { text: "é".repeat(limit / 2) + "\"" })])._tag).toBe("RequestTooLarge")
  })

  it("a binary body is measured as base64", () => {
    const headers = { "Content-Type": "application/octet-stream" }
    const bytes = new Uint8Array(Math.ceil((MAX_REQUEST_BYTES * 3) / 4))
    expect(rejected([{ id: "file", method: "PUT", url: "/me/drive/root:/a.bin:/content", headers, body: bytes }]))
      .toStrictEqual(new VE.RequestTooLarge({ ids: ["file"], limit: MAX_REQUEST_BYTES }))
    const small = new Uint8Array(2_900_000)
    expect(Either.isRight(validate([{ id: "file", method: "PUT", url: "/me/drive/root:/a.bin:/content", headers, body: small }]))).toBe(true)
  })

  it("a batch whose envelope exceeds MAX_BATCH_BYTES is BatchTooLarge, naming its requests", () => {
    const half = Math.floor(MAX_BATCH_BYTES / 2)
    const error = rejected([post("a", sized(half)), post("b", sized(half))])
    expect(error._tag).toBe("BatchTooLarge")
    const tooLarge = error as VE.BatchTooLarge
    expect(tooLarge.ids).toStrictEqual(["a", "b"])
    expect(tooLarge.limit).toBe(MAX_BATCH_BYTES)
    expect(tooLarge.bytes).toBe(JSON.stringify({ requests: [
      { id: "a", method: "POST", url: "/users", headers: { "Content-Type": "application/json" }, body: sized(half) },
      { id: "b", method: "POST", url: "/users", headers: { "Content-Type": "application/json" }, body: sized(half) }
    ] }).length)
  })
})

describe("the planner keeps batches within MAX_BATCH_BYTES", () => {
  const large = (id: string, extra: Partial<WorkloadRequest> = {}): WorkloadRequest =>
    ({ id, method: "POST", url: "/users", body: sized(1_500_000), ...extra })

  const planned = (workload: ReadonlyArray<WorkloadRequest>, policy: DR.PlanPolicy) =>
    Either.getOrThrow(DR.plan(workload, { policy }))

  it("a workload refuses a deep body as a whole, naming it", () => {
    expect(Either.flip(DR.plan([large("a"), { id: "deep", method: "POST", url: "/users", body: nested(5_000) }])))
      .toStrictEqual(Either.right(new VE.BodyTooDeep({ ids: ["deep"], limit: 64 })))
  })

  it("independent large requests are split into several batches of the same round", () => {
    for (const policy of ["waves", "chains"] as const) {
      const plan = planned([large("a"), large("b"), large("c"), { id: "d", method: "GET", url: "/me" }], policy)
      expect(plan.roundTrips).toBe(1)
      for (const batch of plan.rounds.flatMap((r) => r.batches)) expect(Either.isRight(validate(batch.requests))).toBe(true)
      expect(plan.rounds[0]!.batches.map((b) => b.requests.map((r) => r.id))).toStrictEqual([["a", "b"], ["c", "d"]])
    }
  })

  it("a sequential chain of large requests is cut where it would not fit: the rest goes in a later round", () => {
    const plan = planned([large("a"), large("b", { dependsOn: ["a"] }), large("c", { dependsOn: ["b"] })], "chains")
    for (const batch of plan.rounds.flatMap((r) => r.batches)) expect(Either.isRight(validate(batch.requests))).toBe(true)
    expect(plan.rounds.map((r) => r.batches.map((b) => b.requests.map((q) => q.id)))).toStrictEqual([[["a", "b"]], [["c"]]])
  })
})
