// With a quota store outside the process, every item's admission is a store call. A parallel
// batch whose items take independently of each other offers them all at once, so that a shared
// store answers them together instead of one round trip after another; a batch with Outlook
// permits (which Graph runs four at a time) still offers its items one after another.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import * as CostCalculator from "@effect-msgraph/spec/CostCalculator"
import * as GraphClient from "../src/GraphClient.js"
import type * as Admission from "../src/Admission.js"
import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import * as QuotaStore from "../src/QuotaStore.js"
import * as Throttler from "../src/Throttler.js"

const identity = { tenantId: "tenant-1", appId: "app-1", userId: "user-1", userPrincipalName: "user1@contoso.example" }

const batch = (items: ReadonlyArray<BatchRequestItem>): Admission.Request => ({
  batchId: "b",
  shape: "parallel",
  items: items.map((request) => ({ request, priority: undefined }))
})

/** An in-memory store behind an asynchronous face that counts how many takes are in flight at once. */
const setUp = Effect.gen(function*() {
  const memory = yield* QuotaStore.makeMemory()
  let inFlight = 0
  let most = 0
  const store: QuotaStore.QuotaStoreService = {
    ...memory,
    take: (entries, now) =>
      Effect.gen(function*() {
        inFlight++
        most = Math.max(most, inFlight)
        yield* Effect.yieldNow()
        inFlight--
        return yield* memory.take(entries, now)
      })
  }
  const services = yield* Layer.build(
    GraphClient.layerThrottled(identity).pipe(
      Layer.provideMerge(Layer.merge(Throttler.layer(), CostCalculator.layer)),
      Layer.provideMerge(Layer.succeed(QuotaStore.QuotaStore, store)),
      Layer.provideMerge(LimitCatalog.layer({ tenantSize: "M", delegated: true })),
      Layer.orDie
    )
  )
  const admission = yield* Effect.provide(GraphClient.Admission, services)
  return { admission, most: () => most }
})

describe("throttled admission over a store outside the process", () => {
  it.scoped("a parallel batch of independent items offers them all to the store at once", () =>
    Effect.gen(function*() {
      const { admission, most } = yield* setUp
      const items = Array.from({ length: 20 }, (_, i): BatchRequestItem => ({ id: `r${i}`, method: "GET", url: `/users/u${i}` }))
      const permission = yield* (yield* admission.admit(batch(items))).acquire
      assert.deepStrictEqual(permission.send.map((s) => s.index), items.map((_, i) => i))
      assert.strictEqual(most(), 20)
      yield* permission.release
    }))

  it.scoped("a parallel batch on one mailbox's Outlook permits offers its items one after another", () =>
    Effect.gen(function*() {
      const { admission, most } = yield* setUp
      const items = Array.from({ length: 6 }, (_, i): BatchRequestItem => ({ id: `m${i}`, method: "GET", url: `/users/mailbox-1/messages?$skip=${i}` }))
      const permission = yield* (yield* admission.admit(batch(items))).acquire
      // Graph runs four of a mailbox's items at once: all six go, the last two on the first four's permits
      assert.strictEqual(permission.send.length, 6)
      assert.strictEqual(most(), 1)
      yield* permission.release
    }))
})
