/**
 * The built `msgraph-batch` executable as a real process, against a fake `$batch` server on
 * loopback that answers only when the test lets it: signals, exit codes and the report.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { start, until } from "./utils/process.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-process-"))
// two rounds: each second request reads the first one's answer, so it cannot go before it is back
const twoRounds = path.join(dir, "two-rounds.json")
fs.writeFileSync(
  twoRounds,
  JSON.stringify([
    ...Array.from({ length: 20 }, (_, i) => ({ id: `a${i}`, method: "GET", url: `/users/u${i}` })),
    ...Array.from({ length: 20 }, (_, i) => ({ id: `b${i}`, method: "GET", url: `/users/{{a${i}#/body/id}}/memberOf` }))
  ])
)
const onePost = path.join(dir, "one-post.json")
fs.writeFileSync(
  onePost,
  JSON.stringify([{ id: "p", method: "POST", url: "/users", headers: { "Content-Type": "application/json" }, body: { displayName: "P" } }])
)

/** A `$batch` server that holds every answer until `release()`; `answer: false` never answers. */
const heldServer = (answer: boolean) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; port: number; batches: () => number; release: () => void }>((resume) => {
      let batches = 0
      let release!: () => void
      const released = new Promise<void>((r) => (release = r))
      const server = http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => (body += chunk))
        req.on("end", () => {
          batches++
          const { requests } = JSON.parse(body) as { requests: Array<{ id: string }> }
          if (!answer) return
          void released.then(() => {
            res.writeHead(200, { "content-type": "application/json" })
            res.end(JSON.stringify({ responses: requests.map((r) => ({ id: r.id, status: 200, body: { id: `id-${r.id}` } })) }))
          })
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, port: (server.address() as { port: number }).port, batches: () => batches, release })))
    }),
    ({ release, server }) =>
      Effect.async<void>((resume) => {
        release()
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

describe("msgraph-batch run as a process: signals", () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it.live(`${signal} while a batch is in flight: it finishes, nothing more is sent, the --json report counts the rest as not run, exit ${code}`, () =>
      Effect.gen(function*() {
        const server = yield* heldServer(true)
        const run = yield* start(["run", twoRounds, "--endpoint", `http://127.0.0.1:${server.port}`, "--json"])
        yield* until(() => server.batches() === 1)
        run.child.kill(signal)
        // the run has stopped sending: the answer to the first round may now come
        yield* until(() => run.stderr().includes(`${signal}: sending nothing more`))
        server.release()
        const exit = yield* Effect.promise(() => run.exit)
        assert.strictEqual(exit, code, run.stderr())
        const report = JSON.parse(run.stdout())
        assert.strictEqual(report.requests, 40)
        assert.strictEqual(report.succeeded, 20)
        assert.strictEqual(report.failed, 0)
        assert.strictEqual(report.notRun, 20)
        assert.strictEqual(report.notRun + report.succeeded + report.failed, report.requests)
        assert.strictEqual(report.interrupted, signal)
        assert.strictEqual(report.batches, 1)
        assert.strictEqual(server.batches(), 1)
      }).pipe(Effect.scoped), 30_000)
  }

  it.live("a second SIGINT abandons the call in flight at once; the table says how many did not run", () =>
    Effect.gen(function*() {
      const server = yield* heldServer(true)
      const run = yield* start(["run", twoRounds, "--endpoint", `http://127.0.0.1:${server.port}`])
      yield* until(() => server.batches() === 1)
      run.child.kill("SIGINT")
      yield* until(() => run.stderr().includes("SIGINT: sending nothing more"))
      run.child.kill("SIGINT")
      const exit = yield* Effect.promise(() => run.exit)
      assert.strictEqual(exit, 130, run.stderr())
      assert.match(run.stdout(), /^Requests\s+40\s+succeeded 0, failed 0$/m)
      assert.match(run.stdout(), /^Not run\s+40\s+stopped by SIGINT/m)
    }).pipe(Effect.scoped), 30_000)
})

describe("msgraph-batch run as a process: a signal while it predicts", () => {
  it.live("once every request has ended, SIGINT gives the prediction up: the report at once, predictedMs null, exit by the outcomes", () =>
    Effect.gen(function*() {
      const server = yield* heldServer(true)
      server.release()
      // 12,000 reads: sent in a few seconds unthrottled, and predicted in a couple more
      const many = path.join(dir, "many.json")
      fs.writeFileSync(many, JSON.stringify(Array.from({ length: 12_000 }, (_, i) => ({ id: `g${i}`, method: "GET", url: `/users/u${i}` }))))
      const out = path.join(dir, "many-results.ndjson")
      const run = yield* start(["run", many, "--endpoint", `http://127.0.0.1:${server.port}`, "--unthrottled", "--json", "--out", out])
      // it says when it starts predicting, once every request has ended and every outcome is out
      yield* until(() => run.stderr().includes("predicting the duration: a simulation of 12,000 requests (Ctrl-C skips it)"))
      const lines = fs.readFileSync(out, "utf8").split("\n").length - 1
      assert.strictEqual(lines, 12_000)
      run.child.kill("SIGINT")
      const exit = yield* Effect.promise(() => run.exit)
      assert.strictEqual(exit, 0, run.stderr())
      const report = JSON.parse(run.stdout())
      assert.deepInclude(report, { requests: 12_000, succeeded: 12_000, notRun: 0, interrupted: null, predictedMs: null })
      // it says what the signal did: no call was in flight to wait for
      assert.include(run.stderr(), "SIGINT: every request has ended; the prediction is given up")
      assert.notInclude(run.stderr(), "sending nothing more")
    }).pipe(Effect.scoped), 60_000)
})

describe("msgraph-batch run as a process: --out - into a pipe its reader closed", () => {
  it.live("the results can no longer be written: it stops sending, says so, exit 1", () =>
    Effect.gen(function*() {
      const server = yield* heldServer(true)
      server.release()
      const many = path.join(dir, "many-pipe.json")
      fs.writeFileSync(many, JSON.stringify(Array.from({ length: 12_000 }, (_, i) => ({ id: `g${i}`, method: "GET", url: `/users/u${i}` }))))
      const run = yield* start(["run", many, "--endpoint", `http://127.0.0.1:${server.port}`, "--unthrottled", "--out", "-", "--json"])
      // the reader takes the first lines, then goes away (as `| head -1` does)
      yield* until(() => run.stdout().length > 0)
      run.child.stdout!.destroy()
      const exit = yield* Effect.promise(() => run.exit)
      assert.strictEqual(exit, 1, run.stderr())
      assert.include(run.stderr(), "cannot write results to standard output")
      // with --out -, the --json report is on standard error, after the message
      const report = JSON.parse(run.stderr().slice(run.stderr().indexOf("{")))
      assert.isAbove(report.notRun, 0)
      assert.isBelow(server.batches(), 600)
    }).pipe(Effect.scoped), 60_000)
})

describe("msgraph-batch run as a process: --timeout", () => {
  it.live("a server that never answers: the call times out, the POST ends UnknownOutcome, exit 1", () =>
    Effect.gen(function*() {
      const server = yield* heldServer(false)
      const run = yield* start(["run", onePost, "--endpoint", `http://127.0.0.1:${server.port}`, "--json", "--timeout", "200ms"])
      const exit = yield* Effect.promise(() => run.exit)
      assert.strictEqual(exit, 1, run.stderr())
      const report = JSON.parse(run.stdout())
      assert.strictEqual(report.failures.length, 1)
      const [failure] = report.failures
      assert.deepStrictEqual([failure.id, failure.error, failure.status, failure.attempts], ["p", "UnknownOutcome", null, 1])
      assert.include(failure.message, "no complete answer within 200ms")
      assert.strictEqual(report.notRun, 0)
      assert.strictEqual(server.batches(), 1)
    }).pipe(Effect.scoped), 30_000)

  it.live("--timeout must be a positive duration: exit 2, nothing sent", () =>
    Effect.gen(function*() {
      const server = yield* heldServer(false)
      for (const bad of ["0s", "soon", "-1s"]) {
        const run = yield* start(["run", onePost, "--endpoint", `http://127.0.0.1:${server.port}`, "--timeout", bad])
        assert.strictEqual(yield* Effect.promise(() => run.exit), 2)
        assert.include(run.stderr(), "--timeout must be a positive duration")
      }
      assert.strictEqual(server.batches(), 0)
    }).pipe(Effect.scoped), 30_000)

  it.live("--max-attempts below 1: exit 2, nothing sent (run and simulate)", () =>
    Effect.gen(function*() {
      const server = yield* heldServer(false)
      for (const bad of ["0", "-1"]) {
        for (const args of [["run", onePost, "--endpoint", `http://127.0.0.1:${server.port}`], ["simulate", onePost]]) {
          const run = yield* start([...args, "--max-attempts", bad])
          assert.strictEqual(yield* Effect.promise(() => run.exit), 2, run.stderr())
          assert.include(run.stderr(), `--max-attempts must be a whole number from 1, got ${bad}`)
        }
      }
      assert.strictEqual(server.batches(), 0)
    }).pipe(Effect.scoped), 30_000)
})
