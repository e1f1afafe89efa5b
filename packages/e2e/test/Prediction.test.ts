// A prediction a real run confirms, at small scale: `run` against `serve` in real time (realistic
// latency, fixed seed) ends with the duration `plan` predicts in virtual time. The ±15% target is
// measured by the benchmark (`npm run bench:predict`); here the ratio only has to fall in a wide
// band (0.5 to 2), a sanity check that a loaded machine does not break.
import { Cli } from "@effect-msgraph/cli"
import * as Output from "@effect-msgraph/cli/Output"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const exec = (effect: Effect.Effect<Cli.ExitCode, never, Output.Output | NodeContext.NodeContext>) =>
  Effect.provide(Output.capture(effect), NodeContext.layer).pipe(Effect.map(({ stdout, value }) => ({ code: value, stdout })))

const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-prediction-")), "small.json")
// two dependency chains and a few independent reads: some seconds of realistic latency
fs.writeFileSync(file, JSON.stringify([
  ...[0, 1].flatMap((c) =>
    Array.from({ length: 4 }, (_, k) => ({
      id: `c${c}-${k}`,
      method: "GET",
      url: `/users?$top=1&$skip=${k}`,
      ...(k > 0 ? { dependsOn: [`c${c}-${k - 1}`] } : {})
    }))),
  ...Array.from({ length: 8 }, (_, i) => ({ id: `m${i}`, method: "GET", url: `/me/messages?$top=1&$skip=${i}` }))
]))

describe("predictions a real run confirms", () => {
  it.live("run against serve ends with the prediction, within a wide band of the actual duration", () =>
    Effect.gen(function*() {
      const planned = JSON.parse((yield* exec(Cli.plan({ file, json: true }))).stdout)
      const ran = yield* Cli.serveWith({ port: 0, seed: 7 }, (url) => exec(Cli.run({ file, endpoint: url, json: true })))
      assert.strictEqual(ran.code, 0)
      const report = JSON.parse(ran.stdout)
      // the same simulation plan runs: the same figure
      assert.strictEqual(report.predictedMs, planned.predicted.durationMs)
      const ratio = report.predictedMs / report.durationMs
      assert.isAtLeast(ratio, 0.5)
      assert.isAtMost(ratio, 2)
    }), { timeout: 60_000 })

  it.live("the table ends with the predicted and the actual duration, and what the run measured", () =>
    Effect.gen(function*() {
      const ran = yield* Cli.serveWith({ port: 0, seed: 7 }, (url) => exec(Cli.run({ file, endpoint: url })))
      assert.strictEqual(ran.code, 0)
      assert.match(ran.stdout, /\nPredicted \d[\d.]* m?s, actual \d[\d.]* m?s \(predicted ÷ actual \d+\.\d\d\)\n/)
      assert.match(ran.stdout, /\nObserved latency \(p50 \/ p90 \/ p99\): round trip .* \(\d+ calls\); identity .*; outlook .*\n$/)
    }), { timeout: 60_000 })
})
