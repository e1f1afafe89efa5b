import { Emulator } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { countKeys, startRedis, whenRedis } from "../../quota-redis/test/redisServer.js"
import * as Cli from "../src/Cli.js"
import * as Examples from "../src/Examples.js"
import { exec, main } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-redis-"))
const small = path.join(dir, "small.json")
fs.writeFileSync(small, Examples.render(Examples.onboarding(5)))

/** A redis-server for one test: its URL, and how many bucket keys it holds under the default namespace. */
const withRedis = <A, E, R>(use: (url: string, bucketKeys: Effect.Effect<number>) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.promise(startRedis),
    (server) => use(server.url, Effect.promise(() => countKeys(server.port, "{msgraph}:*"))),
    (server) => Effect.promise(server.stop)
  )

whenRedis(() => {
  describe("msgraph-batch run --quota-store", () => {
    it.live("keeps the quota in the given Redis and says so in the report", () =>
      withRedis((redisUrl, bucketKeys) =>
        Effect.gen(function*() {
          const result = yield* Cli.serveWith({ port: 0 }, (url) =>
            Effect.gen(function*() {
              const out = yield* main("run", small, "--endpoint", url, "--quota-store", redisUrl, "--json")
              return { out, report: yield* Emulator.report }
            }))
          assert.strictEqual(result.out.code, 0)
          const json = JSON.parse(result.out.stdout)
          assert.strictEqual(json.succeeded, 22)
          assert.strictEqual(json.admission, `throttled (documented limits, shared through ${redisUrl})`)
          assert.strictEqual(result.report.throttled, 0)
          // the buckets are in Redis, under the default namespace's hash tag
          assert.isAbove(yield* bucketKeys, 0)
        })))

    it.live("reads MSGRAPH_REDIS_URL when --quota-store is not given", () =>
      withRedis((redisUrl, bucketKeys) =>
        Effect.gen(function*() {
          const config = ConfigProvider.fromMap(new Map([["MSGRAPH_REDIS_URL", redisUrl]]))
          const out = yield* Cli.serveWith({ port: 0 }, (url) =>
            exec(Cli.run({ file: small, endpoint: url, json: true }).pipe(Effect.withConfigProvider(config))))
          assert.strictEqual(out.code, 0)
          assert.include(JSON.parse(out.stdout).admission, "shared through")
          assert.isAbove(yield* bucketKeys, 0)
        })))

    it.live("a --quota-lease that is not a positive duration, or one without --quota-store, is exit 2 and sends nothing", () =>
      Effect.gen(function*() {
        const result = yield* Cli.serveWith({ port: 0 }, (url) =>
          Effect.gen(function*() {
            const runs = [
              yield* main("run", small, "--endpoint", url, "--quota-store", "redis://127.0.0.1:6379", "--quota-lease", "0s"),
              yield* main("run", small, "--endpoint", url, "--quota-store", "redis://127.0.0.1:6379", "--quota-lease", "soon"),
              yield* main("run", small, "--endpoint", url, "--quota-lease", "5s")
            ]
            return { runs, report: yield* Emulator.report }
          }))
        for (const run of result.runs) {
          assert.strictEqual(run.code, 2)
          assert.include(run.stderr, "--quota-lease")
        }
        assert.include(result.runs[2]!.stderr, "needs --quota-store")
        assert.strictEqual(result.report.requests, 0)
      }))

    // measured: --quota-lease 1ms let every lease lapse before its request was answered, so the
    // processes did not share a mailbox's 4 permits: 120 of 150 reads got 429
    it.live("a --quota-lease under 1s, shorter than a renewal may take, is exit 2 and sends nothing", () =>
      Effect.gen(function*() {
        const result = yield* Cli.serveWith({ port: 0 }, (url) =>
          Effect.gen(function*() {
            const runs = [
              yield* main("run", small, "--endpoint", url, "--quota-store", "redis://127.0.0.1:6379", "--quota-lease", "1ms"),
              yield* main("run", small, "--endpoint", url, "--quota-store", "redis://127.0.0.1:6379", "--quota-lease", "999ms")
            ]
            return { runs, report: yield* Emulator.report }
          }))
        for (const run of result.runs) {
          assert.strictEqual(run.code, 2)
          assert.include(run.stderr, "--quota-lease must be at least 1s")
        }
        assert.strictEqual(result.report.requests, 0)
      }))

    it.live("a --quota-store that is not a redis:// URL, or one with --unthrottled, is exit 2 and sends nothing", () =>
      Effect.gen(function*() {
        const result = yield* Cli.serveWith({ port: 0 }, (url) =>
          Effect.gen(function*() {
            const http = yield* main("run", small, "--endpoint", url, "--quota-store", "http://127.0.0.1:6379")
            const both = yield* main("run", small, "--endpoint", url, "--quota-store", "redis://127.0.0.1:6379", "--unthrottled")
            return { http, both, report: yield* Emulator.report }
          }))
        assert.strictEqual(result.http.code, 2)
        assert.include(result.http.stderr, "--quota-store")
        assert.strictEqual(result.both.code, 2)
        assert.strictEqual(result.report.requests, 0)
      }))
  })
})
