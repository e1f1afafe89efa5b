// Calibration round-trips: a real run against `serve` with a known, fixed latency measures it, and a
// simulation given that run's report predicts with the tenant's numbers instead of the defaults.
// Real time over loopback: the bands are wide on purpose (a loaded machine only adds time).
import type { Latency } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Calibration from "../src/Calibration.js"
import * as Cli from "../src/Cli.js"
import * as Simulation from "../src/Simulation.js"
import { exec } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-calibration-"))
const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

const fixed = (ms: number): Latency.LatencyModel => ({ baseMillis: ms, jitterMillis: 0 })
/** Far from the realistic defaults (which are 3 to 6 times slower per item), so a calibration shows. */
const known: Latency.Profile = {
  roundTrip: fixed(20),
  services: { identity: fixed(12), outlook: fixed(16), teams: fixed(0), files: fixed(25), onenote: fixed(0), insights: fixed(0), graph: fixed(0) }
}

// chains of identity reads (sequential batches of several depths), Outlook reads and SharePoint reads
const workload = [
  ...Array.from({ length: 6 }, (_, c) =>
    Array.from({ length: c + 2 }, (_, k) => ({
      id: `c${c}-${k}`,
      method: "GET",
      url: `/users?$top=1&$skip=${k}`,
      ...(k > 0 ? { dependsOn: [`c${c}-${k - 1}`] } : {})
    }))).flat(),
  ...Array.from({ length: 24 }, (_, i) => ({ id: `m${i}`, method: "GET", url: `/me/messages?$top=1&$skip=${i}` })),
  ...Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, method: "GET", url: `/sites/root?n=${i}` }))
]
const file = write("calibrate.json", JSON.stringify(workload))

describe("calibration round-trips in virtual time", () => {
  it.effect("a run timed against a fixed latency predicts, from its own measurements, the duration that latency gives", () =>
    Effect.gen(function*() {
      const observer = new Calibration.Observer()
      const truth = yield* Simulation.simulate(workload, { latency: known, observe: observer, seed: 1 })
      const seen = observer.observed()
      assert.strictEqual(seen.calls.count, truth.summary.batches)
      const predicted = yield* Simulation.simulate(workload, { latency: Calibration.toProfile(seen), seed: 1 })
      // the realistic defaults are several times slower: without the calibration the ratio is far off
      assert.closeTo(predicted.summary.durationMs / truth.summary.durationMs, 1, 0.1)
    }))

  it.effect("a jittered latency calibrates within 15% too", () =>
    Effect.gen(function*() {
      const jittered: Latency.Profile = {
        roundTrip: { baseMillis: 30, jitterMillis: 40 },
        services: { ...known.services, identity: { baseMillis: 20, jitterMillis: 60 }, outlook: { baseMillis: 40, jitterMillis: 120 } }
      }
      const observer = new Calibration.Observer()
      const truth = yield* Simulation.simulate(workload, { latency: jittered, observe: observer, seed: 3 })
      const predicted = yield* Simulation.simulate(workload, { latency: Calibration.toProfile(observer.observed()), seed: 3 })
      assert.closeTo(predicted.summary.durationMs / truth.summary.durationMs, 1, 0.15)
    }))
})

describe("calibration from a real run", () => {
  it.live("run --json measures a fixed latency, and simulate --latency-from predicts with it", () =>
    Effect.gen(function*() {
      const ran = yield* Cli.serveWith({ port: 0, latency: known, seed: 1 }, (url) => exec(Cli.run({ file, endpoint: url, json: true })))
      assert.strictEqual(ran.code, 0)
      const report = JSON.parse(ran.stdout)
      const seen = report.observedLatency
      assert.strictEqual(seen.calls.count, report.batches)
      // every call slept its round trip and some item: loopback and a busy machine only add time
      assert.isAtLeast(seen.calls.p50, 20 + 12)
      assert.isAtLeast(seen.services.identity.count, 1)
      const reportFile = write("report.json", ran.stdout)

      const calibrated = JSON.parse((yield* exec(Cli.simulate({ file, json: true, latencyFrom: reportFile }))).stdout)
      assert.deepInclude(calibrated.settings, { latency: "calibrated", latencyFrom: reportFile })
      // the simulation ran with the profile the report stands for, not the defaults
      const expected = yield* Simulation.simulate(workload, { latency: Calibration.toProfile(seen) })
      assert.strictEqual(calibrated.durationMs, expected.summary.durationMs)
      const realistic = yield* Simulation.simulate(workload, {})
      assert.notStrictEqual(calibrated.durationMs, realistic.summary.durationMs)
      const planned = JSON.parse((yield* exec(Cli.plan({ file, json: true, latencyFrom: reportFile }))).stdout)
      assert.strictEqual(planned.predicted.durationMs, expected.summary.durationMs)
    }), { timeout: 60_000 })

  it.live("a latency file that is not a run report is exit 2, with the reason, before anything runs", () =>
    Effect.gen(function*() {
      const bad = write("bad.json", JSON.stringify({ command: "run", durationMs: 10 }))
      const simulated = yield* exec(Cli.simulate({ file, latencyFrom: bad }))
      assert.strictEqual(simulated.code, 2)
      assert.include(simulated.stderr, `--latency-from ${bad}: not a run --json report with observedLatency`)
      assert.strictEqual(simulated.stdout, "")
      const planned = yield* exec(Cli.plan({ file, latencyFrom: path.join(dir, "absent.json") }))
      assert.strictEqual(planned.code, 2)
      assert.include(planned.stderr, "cannot read it")
    }))
})
