import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Ref } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import * as Examples from "../src/Examples.js"
import { makeMemory, Output } from "../src/Output.js"
import * as Simulation from "../src/Simulation.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-vt-"))
const file = (name: string, text: string) => {
  const at = path.join(dir, name)
  fs.writeFileSync(at, text)
  return at
}

/** Onboarding, a mailbox sync and channel posts together: many services, limits and latencies. */
const workload = file(
  "mixed.json",
  Examples.render([
    ...Examples.onboarding(40),
    ...Examples.mailboxSync({ mailboxes: 3, busy: 0, quietRequests: 60 }),
    ...Examples.teamsPosting({ teams: 1, channelsPerTeam: 2, postsPerChannel: 5 })
  ])
)

const simulateJson = (options: Omit<Cli.SimulateOptions, "file" | "json">) =>
  Effect.gen(function*() {
    const memory = yield* makeMemory()
    const code = yield* Effect.provideService(Cli.simulate({ file: workload, json: true, ...options }), Output, memory.service)
    return { code, stdout: yield* Ref.get(memory.captured.stdout) }
  }).pipe(Effect.provide(NodeContext.layer))

describe("simulate in virtual time", () => {
  it.live("the same workload, seed and options give the same JSON report, byte for byte, with faults and realistic latency", () =>
    Effect.gen(function*() {
      const options = { faults: "heavy", seed: 11, latency: "realistic", maxAttempts: 6 } as const
      const first = yield* simulateJson(options)
      const second = yield* simulateJson(options)
      const report = JSON.parse(first.stdout)
      // the run did meet faults and took virtual time, so there was something to get wrong
      assert.isTrue(report.retries > 0, "heavy faults cause retries")
      assert.isTrue(report.durationMs > 1_000)
      assert.strictEqual(second.stdout, first.stdout)
      // and another seed is another run
      const other = yield* simulateJson({ ...options, seed: 12 })
      assert.notStrictEqual(other.stdout, first.stdout)
    }))

  it.live("driveClock reports a simulation that waits on something no sleep can end, instead of spinning", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Simulation.driveClock(Effect.gen(function*() {
        const never = yield* Deferred.make<void>()
        yield* Effect.sleep("3 seconds")
        yield* Deferred.await(never)
      })))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Die")
      assert.match(String(Exit.isFailure(exit) && exit.cause._tag === "Die" ? exit.cause.defect : ""), /virtual time cannot wake \(at 3000 ms/)
    }))
})
