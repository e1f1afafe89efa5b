import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import * as Examples from "../src/Examples.js"
import * as Simulation from "../src/Simulation.js"
import { exec } from "./utils/exec.js"

// two channels of six posts: one post per second per channel binds, and latency decides how soon a
// place frees, so a client that dates window units before the answer finishes sooner
const workload = Examples.teamsPosting({ teams: 1, channelsPerTeam: 2, postsPerChannel: 6 })
const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-prediction-")), "teams.json")
fs.writeFileSync(file, JSON.stringify(workload))

describe("plan's prediction is for run's client", () => {
  it.live("plan predicts with no least latency assumed, as run's client has it, while simulate assumes its model's", () =>
    Effect.gen(function*() {
      const planned = JSON.parse((yield* exec(Cli.plan({ file, json: true }))).stdout)
      const simulated = JSON.parse((yield* exec(Cli.simulate({ file, json: true }))).stdout)
      const asRun = yield* Simulation.simulate(workload, { leastLatency: Simulation.noLeastLatency })
      const asSimulate = yield* Simulation.simulate(workload)
      assert.strictEqual(planned.predicted.durationMs, asRun.summary.durationMs)
      assert.strictEqual(simulated.durationMs, asSimulate.summary.durationMs)
      // the two clients differ on this workload: dating at the answer holds each place longer
      assert.isAbove(planned.predicted.durationMs, simulated.durationMs)
      assert.strictEqual(planned.predicted.throttled429, 0)
    }))
})
