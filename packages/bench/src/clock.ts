/**
 * Virtual-clock benchmark (`npm run bench:clock`, part of `npm run bench`, never `npm test`):
 * simulated requests per wall second and peak memory for 10k, 100k and 1M independent GETs and for
 * the mailbox-sync example, all with the emulator's realistic latency; the clock alone (fibers that
 * only sleep); and the CLI's `simulate examples/mailbox-sync.json --latency realistic` as a user runs
 * it.
 *
 * Writes `bench/results/clock.json` and the virtual-clock section of `docs/benchmarks.md`.
 * `BENCH_CLOCK_SIZES=10000,100000` runs only those sizes of independent GETs (and then writes
 * nothing, unless `BENCH_CLOCK_WRITE=1`: then the rows of the sizes not run are carried over from
 * the last results, marked with the run that measured them); `BENCH_CLOCK_RERUN=mailbox` measures
 * only the mailbox-sync figures again.
 *
 * Every row records the process's CPU time during the run next to its wall time: on a shared
 * machine the wall time grows with the load, the CPU time much less.
 *
 * @since 0.1.0
 */
import { VirtualClock, type Workload } from "@effect-msgraph/core"
import { Emulator } from "@effect-msgraph/emulator"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Examples from "@effect-msgraph/cli/Examples"
import * as Simulation from "@effect-msgraph/cli/Simulation"
import * as ClockDoc from "./clockDoc.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const latency = "realistic" as const
const allSizes = [10_000, 100_000, 1_000_000]
const sizes = process.env["BENCH_CLOCK_SIZES"] === undefined
  ? allSizes
  : process.env["BENCH_CLOCK_SIZES"].split(",").map((s) => Number(s.trim()))
const full = sizes.join() === allSizes.join()
const writePartial = process.env["BENCH_CLOCK_WRITE"] === "1"

const log = (line: string) => Effect.sync(() => process.stderr.write(`${line}\n`))

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) {
    g()
    g()
  }
}

const mb = (bytes: number) => Math.round(bytes / 1e6)

/** Samples heap and RSS every 20 ms of real time while the effect runs, and keeps the peaks. */
const sampled = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.suspend(() => {
    let peakHeap = 0
    let peakRss = 0
    const sample = () => {
      const m = process.memoryUsage()
      if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
      if (m.rss > peakRss) peakRss = m.rss
    }
    const timer = setInterval(sample, 20)
    return effect.pipe(
      Effect.map((value) => {
        sample()
        return { value, peakHeap, peakRss }
      }),
      Effect.ensuring(Effect.sync(() => clearInterval(timer)))
    )
  })

/** Independent reads of the acting user: distinct requests to the one user an empty tenant has. */
const independentGets = (count: number): Workload.Workload =>
  Array.from({ length: count }, (_, i) => ({
    id: `get-${i}`,
    method: "GET",
    url: `/users/${Emulator.defaultIdentity.userId}?$select=id,displayName`
  }))

const row = (name: string, workload: Workload.Workload) =>
  Effect.gen(function*() {
    gc()
    const baseline = process.memoryUsage().heapUsed
    const world = VirtualClock.unsafeMake()
    const started = performance.now()
    const cpu = process.cpuUsage()
    // simulate joins the world it is run in, so its jumps and tasks can be counted
    const { peakHeap, peakRss, value: result } = yield* sampled(
      VirtualClock.runIn(Simulation.simulate(workload, { latency, seed: 0 }), world).pipe(Effect.orDie)
    )
    const wallMs = performance.now() - started
    const used = process.cpuUsage(cpu)
    const stats = world.stats()
    const out: ClockDoc.ClockRow = {
      name,
      requests: workload.length,
      succeeded: result.summary.succeeded,
      failed: result.summary.failed,
      virtualDurationMs: result.summary.durationMs,
      wallMs: Math.round(wallMs),
      cpuMs: Math.round((used.user + used.system) / 1000),
      loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
      requestsPerWallSecond: Math.round(workload.length / (wallMs / 1000)),
      jumps: stats.jumps,
      tasks: stats.tasksRun,
      peakRssMB: mb(peakRss),
      peakHeapMB: mb(peakHeap),
      baselineHeapMB: mb(baseline),
      bytesPerRequest: Math.round((peakHeap - baseline) / workload.length)
    }
    yield* log(`(f) ${JSON.stringify(out)}`)
    return out
  })

/** The clock alone: fibers that sleep twice each, at distinct deadlines. */
const sleepers = Effect.gen(function*() {
  const fibers = 100_000
  const deadlines = 50_000
  gc()
  const before = process.memoryUsage().heapUsed
  const world = VirtualClock.unsafeMake()
  let held = 0
  const started = performance.now()
  yield* VirtualClock.runIn(
    Effect.gen(function*() {
      const all = yield* Effect.forEach(
        Array.from({ length: fibers }, (_, i) => i),
        (i) => Effect.fork(Effect.zipRight(Effect.sleep((i % deadlines) + 1), Effect.sleep(deadlines))),
        { concurrency: 1 }
      )
      // every fiber now sleeps: measure what they hold, then let time run
      yield* Effect.yieldNow()
      gc()
      held = process.memoryUsage().heapUsed - before
      for (const fiber of all) yield* fiber.await
    }),
    world
  )
  const wallMs = performance.now() - started
  const out = {
    fibers,
    distinctDeadlines: world.stats().jumps,
    wallMs: Math.round(wallMs),
    jumpsPerWallSecond: Math.round(world.stats().jumps / (wallMs / 1000)),
    bytesPerSleepingFiber: Math.round(held / fibers)
  }
  yield* log(`(f) sleepers ${JSON.stringify(out)}`)
  return out
})

/** The CLI command as a user runs it, in a child process; with the 1-minute load average after it (the machine is shared). */
const cli = Effect.sync(() => {
  const args = ["packages/cli/build/src/bin.js", "simulate", "examples/mailbox-sync.json", "--latency", "realistic", "--json"]
  const started = performance.now()
  const child = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  const wallMs = Math.round(performance.now() - started)
  if (child.status !== 0) throw new Error(`simulate failed (${child.status}): ${child.stderr}`)
  const report = JSON.parse(child.stdout) as { readonly durationMs: number; readonly requests: number }
  return {
    command: `msgraph-batch ${args.slice(1, -1).join(" ")}`,
    wallMs,
    loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
    durationMs: report.durationMs,
    requests: report.requests
  }
})

const resultsPath = path.join(root, "bench/results/clock.json")
const docPath = path.join(root, "docs/benchmarks.md")

const write = (results: ClockDoc.ClockResults) =>
  Effect.sync(() => {
    fs.mkdirSync(path.dirname(resultsPath), { recursive: true })
    fs.writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`)
    fs.writeFileSync(docPath, ClockDoc.splice(fs.readFileSync(docPath, "utf8"), ClockDoc.render(results)))
  })

/**
 * `BENCH_CLOCK_RERUN=mailbox`: measures the mailbox-sync row and the CLI command again, into the
 * results of the last full run (a noisy neighbour can spoil one wall time).
 */
const rerunMailbox = Effect.gen(function*() {
  const previous = JSON.parse(fs.readFileSync(resultsPath, "utf8")) as ClockDoc.ClockResults
  const mailbox = yield* row("mailbox-sync (the example)", Examples.mailboxSync())
  const command = yield* cli
  yield* log(`(f) cli ${JSON.stringify(command)}`)
  yield* write({
    ...previous,
    rows: previous.rows.map((r) => (r.name === mailbox.name ? mailbox : r)),
    cli: command,
    mailboxRerunAt: new Date().toISOString()
  })
  yield* log("rewrote the mailbox-sync figures of the results")
})

const main = Effect.gen(function*() {
  if (process.env["BENCH_CLOCK_RERUN"] === "mailbox") return yield* rerunMailbox
  const startedAt = new Date().toISOString()
  const rows: Array<ClockDoc.ClockRow> = []
  const getsName = (size: number) => `independent GETs (${size.toLocaleString("en-US")})`
  for (const size of sizes) rows.push(yield* row(getsName(size), independentGets(size)))
  if (!full && !writePartial) {
    yield* log("partial run: results not written")
    return
  }
  if (!full) {
    // the sizes not run keep their last figures, marked with the run that measured them
    const previous = JSON.parse(fs.readFileSync(resultsPath, "utf8")) as ClockDoc.ClockResults
    for (const size of allSizes) {
      if (sizes.includes(size)) continue
      const kept = previous.rows.find((r) => r.name === getsName(size))
      if (kept !== undefined) rows.push({ ...kept, measuredAt: kept.measuredAt ?? previous.startedAt })
    }
    rows.sort((a, b) => allSizes.indexOf(a.requests) - allSizes.indexOf(b.requests))
  }
  rows.push(yield* row("mailbox-sync (the example)", Examples.mailboxSync()))
  const sleeping = yield* sleepers
  const command = yield* cli
  yield* log(`(f) cli ${JSON.stringify(command)}`)
  const results: ClockDoc.ClockResults = {
    startedAt,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version, platform: `${os.platform()} ${os.arch()}` },
    latency,
    rows,
    sleepers: sleeping,
    cli: command,
    before: {
      command: command.command,
      wallMs: 360_000,
      note: "Before this clock, the CLI drove a `TestClock` and scanned every pending sleep at each step: the same command took about 6 minutes (as measured in issue 16)."
    }
  }
  yield* write(results)
  yield* log(`wrote ${resultsPath} and the virtual-clock section of docs/benchmarks.md`)
})

Effect.runPromise(main).catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
