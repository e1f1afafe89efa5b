// Admission.feedback takes a batch's answers in the batch's order: a 429 listed before a success
// pauses its buckets before that success can wake a waiter on them, and a success listed first
// wakes it before the 429 arrives. Run over an in-memory store (the synchronous path) and over a
// store that hides its in-process face (the Effect path).
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, TestClock } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import type { Demand } from "@effect-msgraph/spec/Bucket"
import * as CostCalculator from "@effect-msgraph/spec/CostCalculator"
import * as GraphClient from "../src/GraphClient.js"
import type * as Admission from "../src/Admission.js"
import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import * as QuotaStore from "../src/QuotaStore.js"
import * as Throttler from "../src/Throttler.js"

const identity = { tenantId: "tenant-1", appId: "app-1", userId: "user-1", userPrincipalName: "user1@contoso.example" }

/** Outlook's per-mailbox request window, lowered to 20 an hour: a success gives back one unit. */
const windowEntry = "outlook.mailbox.requests"
const catalog: LimitCatalog.LimitCatalog.Options = {
  tenantSize: "M",
  delegated: true,
  overrides: [new LimitCatalog.LimitOverride({ entryId: windowEntry, quantity: 20, window: new LimitCatalog.Window({ amount: 1, unit: "hour" }) })]
}

const read = (id: string): BatchRequestItem => ({ id, method: "GET", url: "/users/mailbox-1/messages?$top=1" })
const batch = (batchId: string, ids: ReadonlyArray<string>): Admission.Request => ({
  batchId,
  shape: "parallel",
  items: ids.map((id) => ({ request: read(id), priority: undefined }))
})

const setUp = (store: "memory" | "remote") =>
  Effect.gen(function*() {
    const memory = yield* QuotaStore.makeMemory()
    // a copy is not the store `makeMemory` built, so the Throttler drives it through its Effects
    const quota: QuotaStore.QuotaStoreService = store === "memory" ? memory : { ...memory }
    const services = yield* Layer.build(
      GraphClient.layerThrottled(identity).pipe(
        Layer.provideMerge(Layer.merge(Throttler.layer(), CostCalculator.layer)),
        Layer.provideMerge(Layer.succeed(QuotaStore.QuotaStore, quota)),
        Layer.provideMerge(LimitCatalog.layer(catalog)),
        Layer.orDie
      )
    )
    const admission = yield* Effect.provide(GraphClient.Admission, services)
    const throttler = yield* Effect.provide(Throttler.Throttler, services)

    // two reads go at once; their handles (opaque to the executor) carry the demands that feedback will name
    const first = yield* (yield* admission.admit(batch("b1", ["r1", "r2"]))).acquire
    assert.deepStrictEqual(first.send.map((s) => s.index), [0, 1])
    const [h1, h2] = first.send.map((s) => s.handle)
    const window = (h1 as { readonly demands: ReadonlyArray<Demand> }).demands.find((d) => d.entryId === windowEntry)
    assert.isDefined(window)

    // an earlier 429 left the window's effective limit at 14 (20 × 0.7), and 14 units are in use
    yield* memory.adjust([window!], { _tag: "Scale", factor: 0.7 }, 0)
    yield* throttler.admit([{ ...window!, cost: 12 }])

    // a third read finds no room and waits
    const waiting = yield* Effect.fork((yield* admission.admit(batch("b2", ["r3"]))).acquire)
    yield* TestClock.adjust(0)
    assert.isTrue(Option.isNone(yield* Fiber.poll(waiting)), "the third read waits for room")
    return { admission, h1, h2, waiting }
  })

const throttled = (handle: unknown): Admission.Answer => ({ handle, status: 429, headers: { "retry-after": "30" } })
const succeeded = (handle: unknown): Admission.Answer => ({ handle, status: 200, headers: {} })

describe("Admission.feedback: a batch's answers in order", () => {
  for (const store of ["memory", "remote"] as const) {
    const where = store === "memory" ? "" : " (store outside the process)"

    it.scoped(`a 429 listed before a success pauses the bucket first: the success wakes no one${where}`, () =>
      Effect.gen(function*() {
        const { admission, h1, h2, waiting } = yield* setUp(store)
        yield* admission.feedback([throttled(h1), succeeded(h2)])
        yield* TestClock.adjust(0)
        assert.isTrue(Option.isNone(yield* Fiber.poll(waiting)), "paused by the 429 before the success could wake it")
        // past the pause the lowered limit still has no room; the waiter goes when the hour's units expire
        yield* TestClock.adjust("31 seconds")
        assert.isTrue(Option.isNone(yield* Fiber.poll(waiting)))
        yield* TestClock.adjust("1 hour")
        const permission = yield* Fiber.join(waiting)
        assert.deepStrictEqual(permission.send.map((s) => s.index), [0])
      }))
  }
})
