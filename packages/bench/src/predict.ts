/**
 * Predictions against real runs (`npm run bench:predict`, also a step of `npm run bench`): for each
 * example in `examples/`, `msgraph-batch serve` runs in a child process in real time (realistic
 * latency, seed 1), and `msgraph-batch run` sends a part of the example to it (`--shard i/n`, the
 * same deterministic part every time, chains kept whole: the first of the first parts predicted to
 * take at most {@link targetMs}, `n` doubling from the whole's prediction ÷ {@link targetMs}). `run` ends with the duration the same simulation predicts in
 * virtual time (`predictedMs`) next to the actual one (`durationMs`).
 *
 * A prediction is one draw: the simulation's emulator draws its latencies from seed 0, and where a
 * workload's duration hangs on a few 429s (mixed: its Teams posts), another seed gives another
 * duration. So each part is also simulated with emulator seeds {@link spreadSeeds}
 * (`simulatedMs`, the first being `predictedMs`): the spread a single real run is drawn from.
 *
 * Merges `prediction: [{ workload, predictedMs, actualMs, ... }]` into `bench/results/workloads.json`
 * (its other fields are kept), then rewrites `docs/benchmarks.md` from the stored results
 * (`workloads.js --render`, whose section (h) is `predictDoc.ts`).
 *
 * @since 0.1.0
 */
import { Cli } from "@effect-msgraph/cli"
import * as Output from "@effect-msgraph/cli/Output"
import * as Simulation from "@effect-msgraph/cli/Simulation"
import * as WorkloadFile from "@effect-msgraph/cli/WorkloadFile"
import { NodeContext } from "@effect/platform-node"
import { Effect, Either } from "effect"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = fileURLToPath(import.meta.url)
const root = path.resolve(path.dirname(here), "../../..")
const bin = path.join(root, "packages/cli/build/src/bin.js")
/** The longest a part may be predicted to take. */
const targetMs = 40_000
const seed = 1
/** The emulator seeds each part is simulated with: 0 is the one `plan` and `run` predict with. */
const spreadSeeds = [0, 1, 2, 3, 4] as const

/**
 * One example's real run against its prediction.
 *
 * @since 0.1.0
 * @category models
 */
export interface PredictionRow {
  readonly workload: string
  /** The part run: `--shard 1/n` of the example (`1/1`: all of it). */
  readonly shard: string
  readonly requests: number
  readonly predictedMs: number
  readonly actualMs: number
  /** predicted ÷ actual. */
  readonly ratio: number
  readonly withinTarget: boolean
  readonly failed: number
  readonly throttled429: number
  /** The part simulated as `plan` does, with each of the emulator seeds 0 to 4 (seed 0: `predictedMs`). */
  readonly simulatedMs?: ReadonlyArray<number>
}

/** The part's duration simulated as `plan` simulates it, once per emulator seed. */
const simulatedSpread = (file: string, shard: string) =>
  Effect.gen(function*() {
    const whole = yield* WorkloadFile.load(file)
    const [index, count] = shard.split("/").map(Number) as [number, number]
    const part = count === 1 ? whole : Either.getOrThrow(WorkloadFile.shard(whole, index, count))
    const durations: Array<number> = []
    for (const s of spreadSeeds) {
      // as `plan` predicts for `run`'s client: no least latency assumed
      const result = yield* Simulation.simulate(part.workload, { tenantSize: "M", latency: "realistic", seed: s, leastLatency: Simulation.noLeastLatency })
      durations.push(result.summary.durationMs)
    }
    return durations
  }).pipe(Effect.provide(NodeContext.layer), Effect.orDie)

const exec = (effect: Effect.Effect<Cli.ExitCode, never, Output.Output | NodeContext.NodeContext>) =>
  Effect.provide(Output.capture(effect), NodeContext.layer)

/** `serve` in a child process until the scope closes; its URL. */
const served = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly stop: () => void }, Error>((resume) => {
    const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--seed", String(seed), "--latency", "realistic"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const url = /listening on (\S+)/.exec(out)?.[1]
      if (url !== undefined) resume(Effect.succeed({ url, stop: () => child.kill("SIGTERM") }))
    })
    child.on("exit", (code) => resume(Effect.fail(new Error(`serve exited with ${code}: ${out}`))))
  }),
  (server) => Effect.sync(server.stop)
)

const log = (line: string) => Effect.sync(() => process.stderr.write(`${line}\n`))

const examples = fs.readdirSync(path.join(root, "examples")).filter((f) => f.endsWith(".json")).sort()

const main = Effect.gen(function*() {
  const rows: Array<PredictionRow> = []
  for (const name of examples) {
    const file = path.join(root, "examples", name)
    // the part: the first shard i/n predicted to take at most targetMs, n growing from the whole's
    // prediction ÷ targetMs (a part bound by one busy bucket does not shrink with n)
    const whole = JSON.parse((yield* exec(Cli.plan({ file, json: true }))).stdout) as { predicted: { durationMs: number } }
    yield* log(`${name}: predicted ${whole.predicted.durationMs} ms in all`)
    let shard: string | undefined = whole.predicted.durationMs <= targetMs ? "1/1" : undefined
    for (let parts = Math.ceil(whole.predicted.durationMs / targetMs); shard === undefined && parts <= 4_096; parts *= 2) {
      for (let index = 1; index <= Math.min(parts, 8) && shard === undefined; index++) {
        const planned = yield* exec(Cli.plan({ file, json: true, shard: `${index}/${parts}` }))
        if (planned.value !== 0) break // fewer chains than parts
        const p = JSON.parse(planned.stdout) as { predicted: { requests: number; durationMs: number } }
        if (p.predicted.requests > 0 && p.predicted.durationMs <= targetMs) shard = `${index}/${parts}`
      }
    }
    if (shard === undefined) {
      yield* log(`${name}: no part predicted under ${targetMs} ms; skipped`)
      continue
    }
    yield* log(`${name}: running part ${shard}`)
    const report = yield* Effect.scoped(Effect.flatMap(served, ({ url }) => exec(Cli.run({ file, endpoint: url, json: true, shard }))))
    const r = JSON.parse(report.stdout) as { requests: number; durationMs: number; predictedMs: number; failed: number; throttled429: number }
    const ratio = Math.round((r.predictedMs / r.durationMs) * 1000) / 1000
    const simulatedMs = yield* simulatedSpread(file, shard)
    if (simulatedMs[0] !== r.predictedMs) yield* log(`${name}: seed 0 simulated ${simulatedMs[0]} ms, not the ${r.predictedMs} ms run predicted`)
    const row: PredictionRow = {
      workload: name.replace(/\.json$/, ""),
      shard,
      requests: r.requests,
      predictedMs: r.predictedMs,
      actualMs: r.durationMs,
      ratio,
      withinTarget: Math.abs(ratio - 1) <= 0.15,
      failed: r.failed,
      throttled429: r.throttled429,
      simulatedMs
    }
    rows.push(row)
    yield* log(`${row.workload} (${shard}, ${row.requests} requests): predicted ${row.predictedMs} ms, actual ${row.actualMs} ms, ratio ${ratio}; seeds ${spreadSeeds.join(", ")}: ${simulatedMs.join(", ")} ms`)
  }
  const resultsPath = path.join(root, "bench/results/workloads.json")
  const previous = fs.existsSync(resultsPath) ? JSON.parse(fs.readFileSync(resultsPath, "utf8")) as Record<string, unknown> : {}
  const prediction = { startedAt: new Date().toISOString(), seed, latency: "realistic", targetMs, spreadSeeds, load: os.loadavg().map((l) => Math.round(l * 100) / 100), rows }
  fs.writeFileSync(resultsPath, `${JSON.stringify({ ...previous, prediction: rows, predictionRun: { ...prediction, rows: undefined } }, null, 2)}\n`)
  execFileSync(process.execPath, [path.join(path.dirname(here), "workloads.js"), "--render"], { stdio: "inherit" })
  yield* log(`wrote ${resultsPath} and docs/benchmarks.md`)
})

Effect.runPromise(main).catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
