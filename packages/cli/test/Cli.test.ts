import { Emulator, Latency } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Ref } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import * as Examples from "../src/Examples.js"
import { makeMemory, Output } from "../src/Output.js"
import { exec } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-"))
const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

const small = write("small.json", Examples.render(Examples.onboarding(5)))
const failing = write(
  "failing.ndjson",
  [
    { id: "me", method: "GET", url: "/me" },
    { id: "ghost", method: "GET", url: "/users/nobody@contoso.onmicrosoft.com" },
    { id: "after-ghost", method: "GET", url: "/users/{{ghost#/body/id}}" }
  ].map((r) => JSON.stringify(r)).join("\n")
)
const invalid = write("invalid.ndjson", `{"id":"a","method":"GET","url":"/me"}\n{"id":"b","method":"GET","url":"/me","dependsOn":["nope"]}\n`)
const posts = write("posts.json", Examples.render(Examples.teamsPosting({ teams: 1, channelsPerTeam: 2, postsPerChannel: 6 })))
const wide = write("wide.json", JSON.stringify(Array.from({ length: 1_000 }, (_, i) => ({ id: `r${i}`, method: "GET", url: "/me" }))))

const jsonFields = [
  "requests",
  "succeeded",
  "failed",
  "throttled429",
  "batches",
  "roundTrips",
  "roundTripLowerBound",
  "durationMs",
  "durationLowerBoundMs",
  "efficiency",
  "limitViolations",
  "duplicateExecutions"
]

describe("msgraph-batch simulate", () => {
  it.live("--json prints one object with every required field; exit 0 when all succeed", () =>
    Effect.gen(function*() {
      // without latency nothing takes time, so the efficiency is exact
      const { code, stdout } = yield* exec(Cli.simulate({ file: small, json: true, latency: "none" }))
      assert.strictEqual(code, 0)
      assert.strictEqual(stdout.trim().split("\n").length, 1)
      const report = JSON.parse(stdout)
      for (const field of jsonFields) assert.property(report, field)
      assert.strictEqual(report.requests, 22)
      assert.strictEqual(report.succeeded, 22)
      assert.strictEqual(report.roundTripLowerBound, 2)
      assert.isTrue(report.roundTrips >= report.roundTripLowerBound)
      assert.strictEqual(report.limitViolations, 0)
      assert.strictEqual(report.duplicateExecutions, 0)
      assert.strictEqual(report.efficiency, 1) // nothing forces a wait and nothing waited
    }))

  it.live("exit 1 when a request fails; its dependent fails too and both are listed", () =>
    Effect.gen(function*() {
      const { code, stdout } = yield* exec(Cli.simulate({ file: failing, json: true }))
      assert.strictEqual(code, 1)
      const report = JSON.parse(stdout)
      assert.deepStrictEqual([report.succeeded, report.failed], [1, 2])
      assert.deepStrictEqual(report.failures.map((f: { id: string }) => f.id).sort(), ["after-ghost", "ghost"])
      assert.isNull(report.efficiency)
    }))

  it.live("exit 2 on an invalid file: the message names file, line and field, and nothing runs", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* exec(Cli.simulate({ file: invalid }))
      assert.strictEqual(code, 2)
      assert.strictEqual(stdout, "")
      assert.include(stderr, `${invalid}:2 (id "b"): field dependsOn:`)
      assert.include(stderr, "Nothing was sent")
      const missing = yield* exec(Cli.simulate({ file: path.join(dir, "absent.json") }))
      assert.strictEqual(missing.code, 2)
      assert.include(missing.stderr, "cannot read the file")
      const stricter = yield* exec(Cli.simulate({ file: small, stricter: 0 }))
      assert.strictEqual(stricter.code, 2)
    }))

  it.live("the human table compares with the lower bounds; no progress bar when stderr is not a TTY", () =>
    Effect.gen(function*() {
      // no latency: the plan with the fewest round trips
      const { stderr, stdout } = yield* exec(Cli.simulate({ file: small, latency: "none" }))
      assert.strictEqual(stderr, "")
      assert.match(stdout, /Round trips\s+2\s+lower bound 2/)
      assert.match(stdout, /Requests\s+22\s+succeeded 22, failed 0/)
      assert.match(stdout, /Limit violations\s+0/)
    }))

  it.live("throttles proactively by default; --unthrottled meets the limits as 429s", () =>
    Effect.gen(function*() {
      const throttled = JSON.parse((yield* exec(Cli.simulate({ file: posts, json: true }))).stdout)
      const unthrottled = JSON.parse((yield* exec(Cli.simulate({ file: posts, json: true, unthrottled: true, maxAttempts: 50 }))).stdout)
      assert.strictEqual(throttled.throttled429, 0)
      assert.strictEqual(throttled.succeeded, 12)
      assert.include(throttled.admission, "throttled (documented limits)")
      assert.isTrue(unthrottled.throttled429 > 0)
      assert.include(unthrottled.admission, "unthrottled")
      for (const r of [throttled, unthrottled]) assert.isTrue(r.durationMs >= r.durationLowerBoundMs)
    }))

  it.live("latency is realistic by default: the duration is not 0 and the critical path, with a round trip, joins the bound", () =>
    Effect.gen(function*() {
      const { code, stdout } = yield* exec(Cli.simulate({ file: small, json: true }))
      assert.strictEqual(code, 0)
      const report = JSON.parse(stdout)
      assert.strictEqual(report.settings.latency, "realistic")
      // a round trip (50 ms at least) and the create (identity, 30 ms at least); a second round trip,
      // as the licence names the user the create's answer returned; then licence and member
      // (identity) and the welcome mail (Outlook, 60 ms), one after another
      const { roundTrip, services } = Latency.realistic
      assert.strictEqual(report.durationLowerBoundMs, 2 * roundTrip.baseMillis + 3 * services.identity.baseMillis + services.outlook.baseMillis)
      assert.deepInclude(report.boundBy, { kind: "criticalPath", name: "dependencies", key: null, ms: report.durationLowerBoundMs })
      assert.isAbove(report.durationMs, report.durationLowerBoundMs)
      assert.strictEqual(report.efficiency, Math.round((report.durationLowerBoundMs / report.durationMs) * 10_000) / 10_000)
      assert.deepStrictEqual(JSON.parse((yield* exec(Cli.simulate({ file: small, json: true, latency: "realistic" }))).stdout), report)
      const none = JSON.parse((yield* exec(Cli.simulate({ file: small, json: true, latency: "none" }))).stdout)
      assert.deepInclude(none, { durationMs: 0, durationLowerBoundMs: 0, boundBy: null })
      const table = (yield* exec(Cli.simulate({ file: small }))).stdout
      assert.match(table, /Duration\s+\d+(\.\d)? m?s\s+lower bound 250 ms, efficiency \d+\.\d%/)
      assert.match(table, /Bound by\s+critical path\s+the heaviest chain of dependent requests/)
    }))

  it.live("draws the progress bar on stderr when it is a TTY, and only there", () =>
    Effect.gen(function*() {
      const { stderr, stdout } = yield* exec(Cli.simulate({ file: small, json: true }), { tty: true })
      assert.include(stderr, "22/22 requests")
      assert.notInclude(stdout, "requests]")
      JSON.parse(stdout)
    }))
})

describe("msgraph-batch plan", () => {
  it.live("prints rounds, batches, the prediction and the lower bounds", () =>
    Effect.gen(function*() {
      const { code, stdout } = yield* exec(Cli.plan({ file: small, latency: "none" }))
      assert.strictEqual(code, 0)
      assert.match(stdout, /Round 1: \d+ batch\(es\)/)
      assert.include(stdout, "r1b1 [")
      assert.match(stdout, /Round trips\s+2\s+lower bound 2/)
      assert.match(stdout, /Predicted duration\s+0 ms\s+lower bound 0 ms, efficiency 100\.0%/)
      assert.match(stdout, /Bound by\s+nothing/)
      assert.match(stdout, /Simulated\s+tenant M, documented limits, no latency/)
    }))

  it.live("--latency realistic chooses the plan by its estimated duration and prints the estimate", () =>
    Effect.gen(function*() {
      // five onboardings: chains packs the 15 dependents into one sequential batch (2 round trips),
      // which runs its items one after another; four rounds of parallel batches are estimated shorter
      const plain = yield* exec(Cli.plan({ file: small, latency: "none" }))
      assert.match(plain.stdout, /policy chains/)
      assert.notInclude(plain.stdout, "Estimated duration")
      const timed = yield* exec(Cli.plan({ file: small, latency: "realistic" }))
      assert.strictEqual(timed.code, 0)
      assert.match(timed.stdout, /policy waves/)
      assert.match(timed.stdout, /Round trips\s+4\s+lower bound 2/)
      assert.match(timed.stdout, /Estimated duration\s+\d+ ms\s+policy waves/)
      assert.match(timed.stdout, /Predicted duration\s+\d+(\.\d)? m?s\s+lower bound 250 ms, efficiency \d+\.\d%/)
      assert.match(timed.stdout, /Bound by\s+critical path/)
      assert.match(timed.stdout, /Simulated\s+tenant M, documented limits, realistic latency/)
      // realistic is the default
      assert.strictEqual((yield* exec(Cli.plan({ file: small }))).stdout, timed.stdout)
      const json = JSON.parse((yield* exec(Cli.plan({ file: small, json: true, latency: "realistic" }))).stdout)
      assert.strictEqual(json.policy, "waves")
      assert.isNumber(json.estimatedMillis)
      assert.strictEqual(json.predicted.settings.latency, "realistic")
      assert.notProperty(JSON.parse((yield* exec(Cli.plan({ file: small, json: true, latency: "none" }))).stdout), "estimatedMillis")
    }))

  it.live("summarises large plans per round, and --json carries the plan and the prediction", () =>
    Effect.gen(function*() {
      // the plan's shape, not its time: no latency keeps the prediction quick
      const text = yield* exec(Cli.plan({ file: wide, latency: "none" }))
      assert.match(text.stdout, /Round 1: 50 batch\(es\), 1000 requests \(50 parallel\)/)
      assert.notInclude(text.stdout, "r1b1 [")
      const json = yield* exec(Cli.plan({ file: wide, json: true, latency: "none" }))
      const out = JSON.parse(json.stdout)
      assert.deepStrictEqual(out.rounds, [{ index: 1, batches: 50, requests: 1000 }])
      assert.strictEqual(out.predicted.batchLowerBound, 50)
      assert.strictEqual(out.predicted.requests, 1000)
    }))

  it.live("exit 2 on an invalid file", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* exec(Cli.plan({ file: invalid }))
      assert.strictEqual(code, 2)
      assert.include(stderr, "dependsOn")
    }))
})

describe("msgraph-batch serve and run", () => {
  it.live("run against a loopback serve on port 0: everything arrives once; an invalid file sends nothing", () =>
    Effect.gen(function*() {
      const result = yield* Cli.serveWith({ port: 0 }, (url) =>
        Effect.gen(function*() {
          const bad = yield* exec(Cli.run({ file: invalid, endpoint: url }))
          const afterBad = yield* Emulator.report
          const good = yield* exec(Cli.run({ file: small, endpoint: url, json: true }))
          const report = yield* Emulator.report
          return { bad, afterBad, good, report }
        }))
      assert.strictEqual(result.bad.code, 2)
      assert.strictEqual(result.afterBad.requests, 0)
      assert.strictEqual(result.good.code, 0)
      const json = JSON.parse(result.good.stdout)
      for (const field of jsonFields) assert.property(json, field)
      assert.strictEqual(json.succeeded, 22)
      assert.isNull(json.limitViolations) // run has no audit of its own
      // served with realistic latency, and a bound that assumes it: two round trips (the licence
      // needs the create's answer) and the chain
      assert.strictEqual(json.settings.latency, "realistic")
      assert.strictEqual(json.durationLowerBoundMs, 250)
      assert.deepInclude(json.boundBy, { kind: "criticalPath", ms: 250 })
      assert.isAtLeast(json.durationMs, json.durationLowerBoundMs)
      assert.strictEqual(result.report.duplicateExecutions, 0)
      assert.strictEqual(result.report.requests - result.report.throttled, 22)
    }))

  it.live("run ends with its prediction for runs of at most --predict-up-to requests; a larger run says it was not predicted; a negative value is exit 2 and sends nothing", () =>
    Effect.gen(function*() {
      const main = (...args: Array<string>) => exec(Cli.main(["node", "msgraph-batch", ...args]))
      // reads only, so that every run against the one emulator succeeds alike
      const reads = write("reads.json", JSON.stringify(Array.from({ length: 22 }, (_, i) => ({ id: `me-${i}`, method: "GET", url: "/me" }))))
      const result = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) =>
        Effect.gen(function*() {
          const run = (...args: Array<string>) => main("run", reads, "--endpoint", url, "--latency", "none", ...args)
          const byDefault = yield* run()
          const atLimit = yield* run("--json", "--predict-up-to", "22")
          const over = yield* run("--predict-up-to", "21")
          const overJson = yield* run("--json", "--predict-up-to", "21")
          const never = yield* run("--predict-up-to", "0")
          const before = (yield* Emulator.report).requests
          const negative = yield* run("--predict-up-to", "-1")
          const after = (yield* Emulator.report).requests
          return { byDefault, atLimit, over, overJson, never, negative, sentByNegative: after - before }
        }))
      assert.strictEqual(result.byDefault.code, 0)
      assert.match(result.byDefault.stdout, /^Predicted \d+ ms, actual \d+ ms/m)
      assert.notInclude(result.byDefault.stdout, "Not predicted")
      assert.isNumber(JSON.parse(result.atLimit.stdout).predictedMs)
      assert.strictEqual(result.over.code, 0)
      assert.notMatch(result.over.stdout, /^Predicted /m)
      assert.include(result.over.stdout, "Not predicted: 22 requests, over 21 (--predict-up-to)")
      assert.isNull(JSON.parse(result.overJson.stdout).predictedMs)
      assert.include(result.never.stdout, "Not predicted (--predict-up-to 0)")
      assert.strictEqual(result.negative.code, 2)
      assert.include(result.negative.stderr, "--predict-up-to must be a whole number of requests, 0 or more, got -1")
      assert.strictEqual(result.sentByNegative, 0)
    }))

  it.live("run --deadline: requests still unfinished at the deadline end Throttled (exit 1); a bad value is exit 2 and sends nothing", () =>
    Effect.gen(function*() {
      const main = (...args: Array<string>) => exec(Cli.main(["node", "msgraph-batch", ...args]))
      // realistic latency: the workload's chains need several round trips of tens of milliseconds
      const result = yield* Cli.serveWith({ port: 0, latency: "realistic" }, (url) =>
        Effect.gen(function*() {
          const bad = yield* main("run", small, "--endpoint", url, "--deadline", "soon")
          const zero = yield* main("run", small, "--endpoint", url, "--deadline", "0s")
          const afterBad = yield* Emulator.report
          const cut = yield* main("run", small, "--endpoint", url, "--deadline", "1ms", "--json")
          return { bad, zero, afterBad, cut }
        }))
      assert.strictEqual(result.bad.code, 2)
      assert.include(result.bad.stderr, "--deadline")
      assert.strictEqual(result.zero.code, 2)
      assert.strictEqual(result.afterBad.requests, 0)
      assert.strictEqual(result.cut.code, 1)
      const json = JSON.parse(result.cut.stdout)
      assert.isAbove(json.failed, 0)
      assert.include(result.cut.stdout, "Throttled")
    }))

  it.live("serve prints its URL, answers, and stops when interrupted", () =>
    Effect.gen(function*() {
      const memory = yield* makeMemory()
      const fiber = yield* Effect.fork(Effect.provideService(Cli.serve({ port: 0 }), Output, memory.service))
      let url: string | undefined
      for (let i = 0; i < 200 && url === undefined; i++) {
        url = /listening on (\S+)/.exec(yield* Ref.get(memory.captured.stdout))?.[1]
        if (url === undefined) yield* Effect.sleep("10 millis")
      }
      assert.isDefined(url)
      const answer = yield* Effect.promise(() =>
        fetch(`${url}/v1.0/$batch`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ requests: [{ id: "1", method: "GET", url: "/me" }] })
        }).then((r) => r.status)
      )
      assert.strictEqual(answer, 200)
      yield* Fiber.interrupt(fiber)
      const after = yield* Effect.promise(() => fetch(`${url}/v1.0/me`).then(() => "answered", () => "refused"))
      assert.strictEqual(after, "refused")
    }))

  it.live("run against Graph needs credentials from the environment, and never prints the secret", () =>
    Effect.gen(function*() {
      const secret = "very-secret-value-123"
      const config = ConfigProvider.fromMap(new Map([["MSGRAPH_CLIENT_ID", "client"], ["MSGRAPH_CLIENT_SECRET", secret]]))
      const { code, stderr, stdout } = yield* exec(
        Cli.run({ file: small, endpoint: "https://graph.microsoft.com" }).pipe(Effect.withConfigProvider(config))
      )
      assert.strictEqual(code, 2)
      assert.include(stderr, "MSGRAPH_TENANT_ID")
      assert.notInclude(stderr + stdout, secret)
    }))

  it.live("refuses a plain-http endpoint that is not loopback, and a malformed one", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* exec(Cli.run({ file: small, endpoint: "http://graph.example.com" }))).code, 2)
      assert.strictEqual((yield* exec(Cli.run({ file: small, endpoint: "not a url" }))).code, 2)
    }))
})

describe("msgraph-batch argv", () => {
  const main = (...args: Array<string>) => exec(Cli.main(["node", "msgraph-batch", ...args]))

  it.live("parses options and returns the command's exit code", () =>
    Effect.gen(function*() {
      const ok = yield* main("simulate", small, "--json", "--tenant-size", "S", "--seed", "7")
      assert.strictEqual(ok.code, 0)
      assert.deepStrictEqual(JSON.parse(ok.stdout).settings, { tenantSize: "S", stricter: 1, faults: "none", seed: 7, unthrottled: false, latency: "realistic" })
      const none = yield* main("simulate", small, "--json", "--latency", "none")
      assert.deepInclude(JSON.parse(none.stdout), { durationMs: 0, settings: { tenantSize: "M", stricter: 1, faults: "none", seed: 0, unthrottled: false, latency: "none" } })
      assert.strictEqual((yield* main("simulate", failing)).code, 1)
      assert.strictEqual((yield* main("plan", invalid)).code, 2)
    }))

  it.live("a command-line error is exit 2", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* main("simulate", small, "--faults", "catastrophic")).code, 2)
      assert.strictEqual((yield* main("simulate")).code, 2)
      assert.strictEqual((yield* main("frobnicate")).code, 2)
    }))
})
