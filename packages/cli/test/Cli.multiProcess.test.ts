/**
 * Four real `msgraph-batch run --shard i/4 --quota-store redis://…` processes on one workload,
 * against one `serve` (in this process, with realistic latency, so that its audit can be read) and
 * one real redis-server: the processes share Graph's documented limits as one client would.
 */
import { Emulator } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { RedisQuotaStore } from "@effect-msgraph/quota-redis"
import { Bucket } from "@effect-msgraph/core"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { command, type RedisServer, startRedis, whenRedis } from "../../quota-redis/test/redisServer.js"
import * as Cli from "../src/Cli.js"
import * as LowerBound from "../src/LowerBound.js"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const bin = path.join(repo, "packages", "cli", "build", "src", "bin.js")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-multi-"))

interface Worker {
  readonly child: ChildProcess
  /** The exit code and the `--json` report, once the process has exited. */
  readonly done: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>
}

const runWorker = (args: ReadonlyArray<string>): Worker => {
  const child = spawn(process.execPath, [bin, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk: Buffer) => void (stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, stdout, stderr }))
  )
  return { child, done }
}

interface RunReport {
  readonly succeeded: number
  readonly failed: number
  readonly throttled429: number
  readonly durationMs: number
  readonly settings: { readonly startedAt: string; readonly shard: string }
}

const withRedis = <A, E, R>(use: (server: RedisServer) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(Effect.promise(startRedis), use, (server) => Effect.promise(server.stop))

/** Redis's clock, in milliseconds. */
const serverTime = async (port: number): Promise<number> => {
  const [seconds, micros] = (await command(port, "TIME")) as ReadonlyArray<string>
  return Number(seconds) * 1000 + Number(micros) / 1000
}

interface Lease {
  readonly owner: string
  readonly permits: number
  readonly expiresAt: number
}

/** The leases stored on every concurrency bucket (kind 2) of the default namespace, by key. */
const leases = async (port: number): Promise<Map<string, ReadonlyArray<Lease>>> => {
  const script = `local out = {}
for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
  local s = cmsgpack.unpack(redis.call('GET', k))
  if s[1] == 2 then
    local row = { k }
    for j = 7, #s, 3 do
      row[#row + 1] = s[j]
      row[#row + 1] = string.format('%.17g', s[j + 1])
      row[#row + 1] = string.format('%.17g', s[j + 2])
    end
    out[#out + 1] = row
  end
end
return out`
  const rows = (await command(port, "EVAL", script, 0, "{msgraph}:*")) as ReadonlyArray<ReadonlyArray<string>>
  const out = new Map<string, ReadonlyArray<Lease>>()
  for (const [key, ...rest] of rows) {
    const list: Array<Lease> = []
    for (let i = 0; i + 2 < rest.length; i += 3) {
      list.push({ owner: rest[i]!, permits: Number(rest[i + 1]), expiresAt: Number(rest[i + 2]) })
    }
    out.set(key!, list)
  }
  return out
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

whenRedis(() => {
  describe("four `run --shard i/4 --quota-store redis://…` processes against one serve", () => {
    // Sign-in reports are limited to 5 requests per 10 seconds per app and tenant: 20 of them need
    // at least 30 s whoever sends them, and four processes that did not share that window would
    // send 20 at once. The mailbox reads share the mailbox's 4 concurrent Outlook permits.
    const workload = path.join(dir, "reports-and-mail.json")
    fs.writeFileSync(
      workload,
      JSON.stringify([
        ...Array.from({ length: 20 }, (_, i) => ({ id: `signins-${i}`, method: "GET", url: `/auditLogs/signIns?$top=50&$skip=${i * 50}` })),
        ...Array.from({ length: 200 }, (_, i) => ({ id: `mail-${i}`, method: "GET", url: `/me/messages?$top=25&$skip=${i * 25}` }))
      ])
    )

    it.live(
      "share the documented limits: no 429, no violation, no duplicate, and at least 90% of the lower bound together",
      () =>
        withRedis((redis) =>
          Cli.serveWith({ port: 0 }, (url) =>
            Effect.gen(function*() {
              const workers = [1, 2, 3, 4].map((i) =>
                runWorker([workload, "--shard", `${i}/4`, "--quota-store", redis.url, "--endpoint", url, "--json"])
              )
              const results = yield* Effect.promise(() => Promise.all(workers.map((w) => w.done)))
              for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
              const reports = results.map((r) => JSON.parse(r.stdout) as RunReport)
              assert.strictEqual(reports.reduce((n, r) => n + r.succeeded, 0), 220)
              const report = yield* Emulator.report
              assert.strictEqual(report.throttled, 0)
              assert.strictEqual(report.limitViolations, 0)
              assert.strictEqual(report.duplicateExecutions, 0)
              assert.strictEqual(report.requests, 220)
              // the group's duration as Graph sees it: from the first request's arrival to the last
              // answer (a process's start-up, which the limits have no part in, is left out)
              const audit = yield* Emulator.audit
              const wall = Math.max(...audit.map((e) => e.finishedAt)) - Math.min(...audit.map((e) => e.startedAt))
              const bound = LowerBound.fromAudit(audit)
              assert.strictEqual(bound.bottleneck?.entryId, "identityReports.appTenant")
              assert.strictEqual(bound.ms, 30_000)
              assert.isAtLeast(bound.ms / wall, 0.9, `bound ${bound.ms} ms, group ${wall} ms`)
            }))
        ),
      120_000
    )

    // Application writes (for apps open to personal accounts) are a token bucket of 60 per minute per
    // app: 80 of them need at least 20 s. Graph takes a request's token when it arrives, which for
    // the first ones is a second or more after their admission (four processes start on one
    // machine), and its bucket is full meanwhile: the store counts the requests in flight against
    // its refill, or Graph's bucket comes up short (before that, 50 of 1,600 identity reads got 429).
    const writes = path.join(dir, "application-writes.json")
    fs.writeFileSync(
      writes,
      JSON.stringify(Array.from({ length: 80 }, (_, i) => ({
        id: `app-${i}`,
        method: "PATCH",
        url: `/applications/app-${i % 5}`,
        headers: { "Content-Type": "application/json" },
        body: { displayName: `renamed ${i}` }
      })))
    )

    it.live(
      "share a token bucket: no 429, no violation, no duplicate, and at least 90% of the lower bound together",
      () =>
        withRedis((redis) =>
          Cli.serveWith({ port: 0 }, (url) =>
            Effect.gen(function*() {
              const workers = [1, 2, 3, 4].map((i) =>
                runWorker([writes, "--shard", `${i}/4`, "--quota-store", redis.url, "--endpoint", url, "--json"])
              )
              const results = yield* Effect.promise(() => Promise.all(workers.map((w) => w.done)))
              for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
              const reports = results.map((r) => JSON.parse(r.stdout) as RunReport)
              assert.strictEqual(reports.reduce((n, r) => n + r.succeeded, 0), 80)
              const report = yield* Emulator.report
              assert.strictEqual(report.throttled, 0)
              assert.strictEqual(report.limitViolations, 0)
              assert.strictEqual(report.duplicateExecutions, 0)
              assert.strictEqual(report.requests, 80)
              const audit = yield* Emulator.audit
              const wall = Math.max(...audit.map((e) => e.finishedAt)) - Math.min(...audit.map((e) => e.startedAt))
              const bound = LowerBound.fromAudit(audit)
              assert.strictEqual(bound.bottleneck?.entryId, "identityAccess.applications.writes.personalAccounts")
              assert.strictEqual(bound.ms, 20_000)
              assert.isAtLeast(bound.ms / wall, 0.9, `bound ${bound.ms} ms, group ${wall} ms`)
            }))
        ),
      120_000
    )

    it.live(
      "a worker killed with SIGKILL while it holds Outlook permits: the others finish, and its permits come back when its lease (--quota-lease 2s) ends",
      () =>
        withRedis((redis) =>
          Cli.serveWith({ port: 0 }, (url) =>
            Effect.gen(function*() {
              const mail = path.join(dir, "mail.json")
              fs.writeFileSync(
                mail,
                JSON.stringify(Array.from({ length: 240 }, (_, i) => ({ id: `mail-${i}`, method: "GET", url: `/me/messages?$top=25&$skip=${i * 25}` })))
              )
              const args = (i: number) => [mail, "--shard", `${i}/4`, "--quota-store", redis.url, "--quota-lease", "2s", "--endpoint", url, "--json"]
              // the first worker alone, until Redis shows it holding the mailbox's permits
              const victim = runWorker(args(1))
              let held: [string, Lease] | undefined
              for (let i = 0; i < 300 && held === undefined; i++) {
                yield* Effect.promise(() => sleep(20))
                for (const [key, list] of yield* Effect.promise(() => leases(redis.port))) {
                  const lease = list.find((l) => l.permits > 0)
                  if (lease !== undefined) held = [key, lease]
                }
              }
              assert.isDefined(held, "the first worker never held an Outlook permit")
              const [key, { owner }] = held!
              const others = [2, 3, 4].map((i) => runWorker(args(i)))
              victim.child.kill("SIGKILL")
              yield* Effect.promise(() => victim.done)
              const killedAt = yield* Effect.promise(() => serverTime(redis.port))
              // dead with permits in hand: its lease is still stored, and ends at most 2 s after the kill
              const dead = (yield* Effect.promise(() => leases(redis.port))).get(key)?.find((l) => l.owner === owner)
              assert.isDefined(dead, "the killed worker's lease is gone already")
              assert.isAbove(dead!.permits, 0)
              assert.isAtMost(dead!.expiresAt, killedAt + 2000)
              // the others go on, on the permits left and then on all of them, and finish
              const results = yield* Effect.promise(() => Promise.all(others.map((w) => w.done)))
              for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
              assert.strictEqual(results.reduce((n, r) => n + (JSON.parse(r.stdout) as RunReport).succeeded, 0), 180)
              const report = yield* Emulator.report
              assert.strictEqual(report.throttled, 0)
              assert.strictEqual(report.limitViolations, 0)
              assert.strictEqual(report.duplicateExecutions, 0)
              // all four permits can be taken again once the dead lease has ended, not before
              const store = yield* Effect.orDie(RedisQuotaStore.make({ url: redis.url }))
              const entry = { key: key.slice("{msgraph}:".length), limit: Bucket.ConcurrencyLimit.make({ permits: 4 }), cost: 4 }
              let outcome = yield* store.take([entry], Date.now())
              let at = yield* Effect.promise(() => serverTime(redis.port))
              for (let i = 0; i < 100 && outcome._tag === "Blocked"; i++) {
                assert.isBelow(at, dead!.expiresAt + 1000, "the permits did not come back after the lease")
                yield* Effect.promise(() => sleep(50))
                outcome = yield* store.take([entry], Date.now())
                at = yield* Effect.promise(() => serverTime(redis.port))
              }
              assert.deepStrictEqual(outcome, { _tag: "Taken" })
              assert.isAtLeast(at, dead!.expiresAt)
              yield* store.release([entry], Date.now())
            }))
        ).pipe(Effect.scoped),
      120_000
    )
  })
})
