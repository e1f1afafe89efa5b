import { Bucket } from "@effect-msgraph/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as RedisQuotaStore from "../src/RedisQuotaStore.js"
import { whenRedis } from "./redisServer.js"
import { freshNamespace, useRedis } from "./target.js"

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "worker.mjs")

interface Running {
  readonly child: ChildProcess
  /** Resolves with the worker's last line of output once it exits. */
  readonly result: Promise<{ readonly code: number | null; readonly last: string }>
  /** Resolves once the worker printed `line`. */
  readonly printed: (line: string) => Promise<void>
}

const start = (...args: Array<string>): Running => {
  const child = spawn(process.execPath, [worker, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  const waiting: Array<[string, () => void]> = []
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString()
    for (const [line, done] of waiting) if (out.includes(line)) done()
  })
  child.stderr!.on("data", (chunk: Buffer) => void (err += chunk.toString()))
  const result = new Promise<{ code: number | null; last: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, last: out.trim().split("\n").pop() ?? err }))
  )
  return {
    child,
    result,
    printed: (line) => new Promise((resolve) => (out.includes(line) ? resolve() : waiting.push([line, resolve])))
  }
}

const json = (text: string) => JSON.parse(text) as Record<string, number>

// Four processes on one redis-server share one quota. (`run --shard i/4` is not there yet: the
// workers are small scripts over the library, each with a disjoint part of the work.)
whenRedis(() => {
  const redis = useRedis()

  describe("RedisQuotaStore across processes", () => {
    it.live("four processes never hold more than a mailbox's 4 concurrent permits between them", () =>
      Effect.promise(async () => {
        const namespace = freshNamespace("mp")
        const workers = [0, 1, 2, 3].map(() => start(redis.server!.url, namespace, "concurrency", "30"))
        const results = await Promise.all(workers.map((w) => w.result))
        for (const r of results) expect(r.code).toBe(0)
        const outputs = results.map((r) => json(r.last))
        expect(outputs.reduce((n, o) => n + o.done!, 0)).toBe(120)
        // the counter is bumped while a permit is held: Redis saw at most 4 at once
        for (const o of outputs) expect(o.peak).toBeLessThanOrEqual(4)
      }))

    it.live("four processes admit a shared window's 40 a minute between them, not 40 each", () =>
      Effect.promise(async () => {
        const namespace = freshNamespace("mp")
        const workers = [0, 1, 2, 3].map(() => start(redis.server!.url, namespace, "window", "20"))
        const results = await Promise.all(workers.map((w) => w.result))
        for (const r of results) expect(r.code).toBe(0)
        expect(results.reduce((n, r) => n + json(r.last).admitted!, 0)).toBe(40)
      }))

    it.live("a worker killed with SIGKILL while it holds permits: the others go on, and its permits come back within the lease", () =>
      Effect.gen(function*() {
        const namespace = freshNamespace("mp")
        const url = redis.server!.url
        const holder = start(url, namespace, "hold", "0", "1500")
        yield* Effect.promise(() => holder.printed("holding"))
        holder.child.kill("SIGKILL")
        yield* Effect.promise(() => holder.result)
        // the three others run on the two permits left, then on all four once the lease lapses
        const others = [0, 1, 2].map(() => start(url, namespace, "concurrency", "20", "1500"))
        const results = yield* Effect.promise(() => Promise.all(others.map((w) => w.result)))
        for (const r of results) expect(r.code).toBe(0)
        for (const r of results) expect(json(r.last).peak).toBeLessThanOrEqual(4)
        // all four permits are free again: one take of 4 goes
        const store = yield* Effect.orDie(RedisQuotaStore.make({ client: redis.client!, namespace }))
        const permits = Bucket.ConcurrencyLimit.make({ permits: 4 })
        const entry = { key: "outlook/concurrency/app/mailbox", limit: permits, cost: 4 }
        let outcome = yield* store.take([entry], Date.now())
        for (let i = 0; i < 30 && outcome._tag === "Blocked"; i++) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
          outcome = yield* store.take([entry], Date.now())
        }
        expect(outcome).toEqual({ _tag: "Taken" })
      }).pipe(Effect.scoped))
  })
})
