/**
 * The built `msgraph-batch run --quota-store` as a real process while its Redis cannot be reached:
 * where its warnings go, and how it stops.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startRedis, whenRedis } from "../../quota-redis/test/redisServer.js"
import * as Cli from "../src/Cli.js"
import { start, until } from "./utils/process.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-redis-process-"))
const reads = path.join(dir, "reads.json")
fs.writeFileSync(reads, JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ id: `m${i}`, method: "GET", url: "/me/messages" }))))

/** A loopback port where no Redis listens any more: a server started, then stopped. */
const deadRedis = Effect.promise(async () => {
  const server = await startRedis()
  await server.stop()
  return server
})

const waiting = "admitting nothing until it answers"

/** `run --json` of the reads against `url`, sharing its quota through `redis`: started, and once it says it waits for Redis. */
const startWaiting = (url: string, redis: string) =>
  Effect.gen(function*() {
    const run = yield* start(["run", reads, "--endpoint", url, "--quota-store", redis, "--json"])
    yield* until(() => (run.stdout() + run.stderr()).includes(waiting))
    return run
  })

whenRedis(() => {
  describe("msgraph-batch run --quota-store while Redis cannot be reached", () => {
    it.live("the store's warning goes to standard error: --json's standard output is the report alone", () =>
      Effect.gen(function*() {
        const dead = yield* deadRedis
        yield* Cli.serveWith({ port: 0 }, (url) =>
          Effect.gen(function*() {
            const run = yield* startWaiting(url, dead.url)
            assert.include(run.stderr(), waiting)
            assert.notInclude(run.stdout(), waiting)
            // Redis comes up on that port: the run goes on, and its report is one JSON object
            const redis = spawn("redis-server", ["--port", String(dead.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" })
            yield* Effect.addFinalizer(() => Effect.sync(() => void redis.kill("SIGTERM")))
            const exit = yield* Effect.promise(() => run.exit)
            assert.strictEqual(exit, 0, run.stderr())
            assert.strictEqual(JSON.parse(run.stdout()).succeeded, 5)
          }))
      }).pipe(Effect.scoped), 60_000)

    it.live("SIGINT stops a run that waits for Redis: exit 130 with its report, the requests not run", () =>
      Effect.gen(function*() {
        const dead = yield* deadRedis
        yield* Cli.serveWith({ port: 0 }, (url) =>
          Effect.gen(function*() {
            const run = yield* startWaiting(url, dead.url)
            run.child.kill("SIGINT")
            const exit = yield* Effect.promise(() => run.exit)
            assert.strictEqual(exit, 130, run.stderr())
            const report = JSON.parse(run.stdout())
            assert.strictEqual(report.notRun, 5)
            assert.strictEqual(report.interrupted, "SIGINT")
          }))
      }).pipe(Effect.scoped), 60_000)
  })
})
