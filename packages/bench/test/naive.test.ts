import * as Emulator from "@effect-msgraph/emulator/Emulator"
import * as EmulatorServer from "@effect-msgraph/emulator/EmulatorServer"
import * as Latency from "@effect-msgraph/emulator/Latency"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { type NaiveRequest, runNaive } from "../src/workloads/naive.js"

const served = (options: Emulator.Emulator.Options) =>
  EmulatorServer.layer({ port: 0 }).pipe(Layer.provideMerge(Emulator.layer({ seed: 0, ...options })))

/** A `fetch` that records each `$batch` call's item ids and how many calls were open at once. */
const watching = () => {
  const batches: Array<Array<string>> = []
  let open = 0
  let mostOpen = 0
  const watched: typeof fetch = async (input, init) => {
    batches.push((JSON.parse(String(init?.body)) as { requests: Array<{ id: string }> }).requests.map((r) => r.id))
    open++
    mostOpen = Math.max(mostOpen, open)
    try {
      return await fetch(input, init)
    } finally {
      open--
    }
  }
  return { fetch: watched, batches, mostOpen: () => mostOpen }
}

const reads = (n: number): Array<NaiveRequest> =>
  Array.from({ length: n }, (_, i) => ({ id: `get-${i}`, method: "GET", url: `/users/${Emulator.defaultIdentity.userId}?$select=id` }))

describe("naive client", () => {
  it.live("sends batches of 20 in request order, at most 4 in flight", () =>
    Effect.gen(function*() {
      const url = yield* EmulatorServer.url
      const workload = reads(210)
      const watch = watching()
      const result = yield* Effect.promise(() => runNaive(workload, { baseUrl: url, fetch: watch.fetch }))
      assert.strictEqual(result.succeeded, 210)
      assert.deepStrictEqual(watch.batches.map((b) => b.length), [20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 10])
      assert.deepStrictEqual(watch.batches.flat(), workload.map((r) => r.id))
      // items take time on the server, so the four workers' first batches are all open together
      assert.strictEqual(watch.mostOpen(), 4)
    }).pipe(
      Effect.provide(served({ latency: Latency.fromServices({ identity: { baseMillis: 30, jitterMillis: 0 } }) })),
      Effect.scoped
    ))

  it.live("resends an item answered 429 after its Retry-After, at most 3 times, then counts it failed", () =>
    Effect.gen(function*() {
      const url = yield* EmulatorServer.url
      // one channel takes one post per second: six posts in one batch are admitted one per attempt
      const workload: Array<NaiveRequest> = Array.from({ length: 6 }, (_, i) => ({
        id: `post-${i}`,
        method: "POST",
        url: "/teams/team-0/channels/channel-0/messages",
        body: { body: { contentType: "text", content: `post ${i}` } }
      }))
      const watch = watching()
      const result = yield* Effect.promise(() => runNaive(workload, { baseUrl: url, fetch: watch.fetch }))
      const audit = yield* Emulator.audit
      const report = yield* Emulator.report
      const attempts = new Map<string, number>()
      for (const entry of audit) attempts.set(entry.itemId!, (attempts.get(entry.itemId!) ?? 0) + 1)
      // the first send and 3 resends, no more
      assert.isTrue([...attempts.values()].every((n) => n <= 4))
      assert.strictEqual(Math.max(...attempts.values()), 4)
      // every resend waited for the Retry-After of the answer before it
      assert.strictEqual(report.earlyRetries, 0)
      // an item still throttled after its last resend is given up: failed, after exactly 4 sends
      const lastStatus = new Map(audit.map((e) => [e.itemId!, e.status]))
      const givenUp = [...lastStatus].filter(([, status]) => status === 429).map(([id]) => id)
      assert.isAbove(givenUp.length, 0)
      assert.strictEqual(result.failed, givenUp.length)
      assert.isTrue(givenUp.every((id) => attempts.get(id) === 4))
      assert.strictEqual(result.throttled429, audit.filter((e) => e.status === 429).length)
      // each resend carries only the 429'd items
      assert.deepStrictEqual(watch.batches[0], workload.map((r) => r.id))
      for (let i = 1; i < watch.batches.length; i++) assert.isBelow(watch.batches[i]!.length, watch.batches[i - 1]!.length)
    }).pipe(Effect.provide(served({ latency: "none" })), Effect.scoped))

  it.live("sends a request that reads another's response in a later batch, with the value substituted", () =>
    Effect.gen(function*() {
      const url = yield* EmulatorServer.url
      const workload: Array<NaiveRequest> = [
        { id: "create", method: "POST", url: "/users", body: { userPrincipalName: "ref@contoso.com", displayName: "Ref" } },
        { id: "read", method: "GET", url: "/users/{{create#/body/id}}?$select=displayName", dependsOn: ["create"] }
      ]
      const watch = watching()
      const result = yield* Effect.promise(() => runNaive(workload, { baseUrl: url, fetch: watch.fetch }))
      assert.deepStrictEqual(watch.batches, [["create"], ["read"]])
      assert.strictEqual(result.succeeded, 2)
      const read = (yield* Emulator.audit).find((e) => e.itemId === "read")!
      assert.notInclude(read.url, "{{")
    }).pipe(Effect.provide(served({ latency: "none" })), Effect.scoped))
})
