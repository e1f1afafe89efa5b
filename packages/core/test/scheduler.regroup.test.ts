import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import * as DependencyResolver from "../src/DependencyResolver.js"
import { MAX, regroup } from "../src/internal/plan/scheduler.js"

/** A request on mailbox `m` (or on no mailbox for `m === undefined`). */
const item = (id: string, m: number | undefined): BatchRequestItem => ({
  id,
  method: "GET",
  url: m === undefined ? `/sites/${id}` : `/users/mbx${m}/messages/${id}`
})
const mailboxOf = (request: BatchRequestItem) => /^\/users\/(mbx\d+)\//.exec(request.url)?.[1]

/** The waves planner's cut: the frontier in parallel batches of 20. */
const chunked = (items: ReadonlyArray<BatchRequestItem>): Array<DependencyResolver.PlannedBatch> => {
  const out: Array<DependencyResolver.PlannedBatch> = []
  for (let i = 0; i < items.length; i += MAX) {
    out.push({ id: `r1b${out.length + 1}`, round: 1, shape: "parallel", requests: items.slice(i, i + MAX) })
  }
  return out
}

const mailboxesPerBatch = (batches: ReadonlyArray<DependencyResolver.PlannedBatch>) =>
  batches.map((b) => new Set(b.requests.map(mailboxOf).filter((m) => m !== undefined)).size)

describe("scheduler.regroup: a round's parallel batches repacked by affinity", () => {
  it("five mailboxes of 90 then 10 more each: 25 batches of one mailbox instead of mixed ones", () => {
    const normal = [0, 1, 2, 3, 4].flatMap((m) => Array.from({ length: 90 }, (_, k) => item(`n-${m}-${k}`, m)))
    const low = [0, 1, 2, 3, 4].flatMap((m) => Array.from({ length: 10 }, (_, k) => item(`l-${m}-${k}`, m)))
    const before = chunked([...normal, ...low])
    expect(mailboxesPerBatch(before).filter((n) => n > 1)).toHaveLength(5)
    const after = regroup(before, mailboxOf)
    expect(after).toHaveLength(25)
    expect(mailboxesPerBatch(after).every((n) => n === 1)).toBe(true)
    expect(after.every((b) => b.requests.length === MAX && b.shape === "parallel")).toBe(true)
    // a mailbox's requests keep their order: its normal ones before its later ones
    const mbx0 = after.flatMap((b) => b.requests).filter((r) => mailboxOf(r) === "mbx0").map((r) => r.id)
    expect(mbx0.slice(0, 90).every((id) => id.startsWith("n-"))).toBe(true)
    expect(after.map((b) => b.id)).toEqual(before.map((b) => b.id))
  })

  it("leaves sequential batches alone and returns the input when there is nothing to regroup", () => {
    const one = chunked(Array.from({ length: 30 }, (_, k) => item(`a${k}`, 0)))
    expect(regroup(one, mailboxOf)).toBe(one)
    const none = chunked(Array.from({ length: 30 }, (_, k) => item(`s${k}`, undefined)))
    expect(regroup(none, mailboxOf)).toBe(none)
    const serial: DependencyResolver.PlannedBatch = { id: "r1b9", round: 1, shape: "serial", requests: [item("x", 1), { ...item("y", 2), dependsOn: ["x"] }] }
    const mixed = [serial, ...chunked([...Array.from({ length: 15 }, (_, k) => item(`p${k}`, 0)), ...Array.from({ length: 15 }, (_, k) => item(`q${k}`, 1))])]
    const out = regroup(mixed, mailboxOf)
    expect(out[0]).toBe(serial)
  })

  it.prop(
    "every request is kept exactly once, in no more batches of at most 20, with order kept per affinity",
    [
      FastCheck.array(FastCheck.option(FastCheck.integer({ min: 0, max: 6 }), { nil: undefined }), { maxLength: 200 })
    ],
    ([mailboxes]) => {
      const items = mailboxes.map((m, k) => item(`i${k}`, m))
      const before = chunked(items)
      const after = regroup(before, mailboxOf)
      expect(after.length).toBeLessThanOrEqual(before.length)
      expect(after.every((b) => b.requests.length > 0 && b.requests.length <= MAX)).toBe(true)
      const ids = after.flatMap((b) => b.requests.map((r) => r.id))
      expect([...ids].sort()).toEqual(items.map((r) => r.id).sort())
      for (let m = 0; m < 7; m++) {
        const order = ids.filter((id) => mailboxOf(items[Number(id.slice(1))]!) === `mbx${m}`)
        const expected = items.filter((r) => mailboxOf(r) === `mbx${m}`).map((r) => r.id)
        expect(order).toEqual(expected)
      }
      // a mailbox with at least 20 requests in the round fills whole batches of its own
      for (let m = 0; m < 7; m++) {
        const count = items.filter((r) => mailboxOf(r) === `mbx${m}`).length
        const own = after.filter((b) => b.requests.length === MAX && b.requests.every((r) => mailboxOf(r) === `mbx${m}`))
        expect(own.length).toBe(before.length < 2 ? own.length : Math.floor(count / MAX))
      }
    }
  )
})

describe("DependencyResolver.regroup: regrouping counts requests, the round's bytes are checked", () => {
  /** Three parallel batches, each with a POST of `content` to mailbox 0 and one to mailbox 1. */
  const round = (content: string): Array<DependencyResolver.PlannedBatch> =>
    [0, 1, 2].map((k) => ({
      id: `r1b${k + 1}`,
      round: 1,
      shape: "parallel",
      requests: [0, 1].map((m) => ({ ...item(`${m}-${k}`, m), method: "POST", body: { content } }))
    }))

  it("small bodies: the round is regrouped as the scheduler packs it (three batches of two become one)", () => {
    const small = round("x")
    const after = DependencyResolver.regroup(small, mailboxOf)
    expect(after).toHaveLength(1)
    expect(after).toEqual(regroup(small, mailboxOf))
  })

  it("1.5 MB bodies would make a call above 4 MB: the round keeps its own batches", () => {
    const large = round("x".repeat(1_500_000))
    expect(regroup(large, mailboxOf)).not.toBe(large)
    expect(DependencyResolver.regroup(large, mailboxOf)).toBe(large)
  })
})
