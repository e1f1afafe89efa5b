/**
 * `msgraph-batch`: plan, simulate, serve and run Graph workloads.
 *
 * - `plan FILE`: validate, print the rounds and batches, the predicted duration (a virtual-time
 *   simulation against the in-process emulator, with realistic latency unless `--latency none`),
 *   the lower bounds and what bounds the duration;
 * - `simulate FILE`: run against the in-process emulator in virtual time (realistic latency
 *   unless `--latency none`) and report;
 * - `serve`: the emulator on 127.0.0.1 until SIGINT or SIGTERM;
 * - `run FILE --endpoint URL`: run for real, against Graph (client credentials from the environment)
 *   or against `serve` (a loopback endpoint, no credentials).
 *
 * Exit codes: 0 when every request succeeded, 1 when some failed, 2 on invalid input (nothing sent),
 * 130 or 143 when SIGINT or SIGTERM stopped `run`. On such a signal, `run` sends no further `$batch`
 * call, lets the calls in flight finish for `signalGrace` (a second signal: not at all), prints its
 * report with the requests that did not end counted as not run, and returns 130 or 143.
 * `run` and `simulate` write every outcome as an NDJSON line with `--out FILE` (`-`: standard
 * output, the report then on standard error; see `Results`); when those lines can no longer be
 * written, `run` stops as on a signal and returns 1. `--shard i/n` (also for `plan`) takes only the
 * i-th of n parts of the workload (`Workload.shard`), each keeping its dependency chains whole.
 * `run --journal FILE` (default `OUT.journal` with `--out OUT`) records every send and outcome
 * (`Journal`); `run --resume` goes on with it without sending again what ended, nor what may not be
 * resent (`--resend-unknown` sends those), and refuses another workload's journal with exit 2.
 * Each command is also an Effect of its own (`plan`, `simulate`, `serve`, `run`) returning the exit
 * code, which the tests call directly.
 *
 * @since 0.1.0
 */
import { BatchBuilder, Cloud, DependencyResolver, GraphClient, LimitCatalog, TokenProvider, type ValidationError, Workload } from "@effect-msgraph/core"
import { Emulator, EmulatorServer } from "@effect-msgraph/emulator"
import { RedisQuotaStore } from "@effect-msgraph/quota-redis"
import { Args, Command, Options, ValidationError as CliValidationError } from "@effect/cli"
import type { CliApp } from "@effect/cli"
import { FileSystem, HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Clock, ConfigError, Deferred, Duration, Effect, Either, Exit, Layer, Option, Ref, Stream } from "effect"
import * as nodePath from "node:path"
import { admissionLayer, admissionName } from "./internal/admission.js"
import * as Calibration from "./Calibration.js"
import * as durationText from "./internal/duration.js"
import * as Journal from "./Journal.js"
import * as LowerBound from "./LowerBound.js"
import { escape, json as jsonText, layerLogger, Output, stderr, stdout } from "./Output.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import * as Results from "./Results.js"
import * as Simulation from "./Simulation.js"
import * as WorkloadFile from "./WorkloadFile.js"

/**
 * 0: every request succeeded; 1: some failed (or `--out` lost results); 2: invalid input, nothing
 * sent; 130 and 143: `run` was stopped by SIGINT or SIGTERM (128 plus the signal's number, as
 * shells report it).
 *
 * @since 0.1.0
 * @category models
 */
export type ExitCode = 0 | 1 | 2 | 130 | 143

/**
 * How long `run` lets the `$batch` calls in flight finish after SIGINT or SIGTERM, before it
 * abandons them and prints its report. A second signal abandons them at once.
 *
 * @since 0.1.0
 * @category constants
 */
export const signalGrace: Duration.Duration = Duration.seconds(10)

/**
 * The most requests `run` predicts after the run (`--predict-up-to`). The prediction simulates the
 * whole run again in virtual time, in the same process: about 10 s of CPU and a few hundred MB of
 * heap at 50,000 requests, growing with the workload. After a run of a million requests it took
 * minutes and more memory than the run itself had needed, and a process that ran out of it there
 * lost the report of a run that had succeeded.
 *
 * @since 0.1.0
 * @category constants
 */
export const predictUpTo = 50_000

type Signal = "SIGINT" | "SIGTERM"

const signalExit: Record<Signal, ExitCode> = { SIGINT: 130, SIGTERM: 143 }

/**
 * While the scope is open, SIGINT and SIGTERM go to `onSignal` alone: the listeners already there
 * (`NodeRuntime.runMain`'s, which would interrupt the program at once) are set aside and put back
 * when the scope closes.
 */
const takeSignals = (onSignal: (signal: Signal) => void) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const saved = (["SIGINT", "SIGTERM"] as const).map((signal) => {
        const listeners = process.listeners(signal)
        process.removeAllListeners(signal)
        process.on(signal, onSignal)
        return [signal, listeners] as const
      })
      return saved
    }),
    (saved) =>
      Effect.sync(() => {
        for (const [signal, listeners] of saved) {
          process.off(signal, onSignal)
          for (const listener of listeners) process.on(signal, listener as (signal: Signal) => void)
        }
      })
  )

/**
 * @since 0.1.0
 * @category models
 */
export type TenantSize = "S" | "M" | "L"

/**
 * @since 0.1.0
 * @category models
 */
export interface SimulateOptions {
  readonly file: string
  readonly tenantSize?: TenantSize
  /** Enforce 1/F of every documented limit; F ≥ 1 is stricter, below 1 looser. */
  readonly stricter?: number
  readonly faults?: Simulation.FaultProfile
  readonly seed?: number
  readonly json?: boolean
  readonly maxAttempts?: number | undefined
  /** Send without client-side throttling, relying on Retry-After. */
  readonly unthrottled?: boolean
  /**
   * How long Graph takes in the simulation (virtual time): `realistic` (the default, the latency
   * model `serve` uses: `Latency.realistic`) or `none`.
   */
  readonly latency?: "none" | "realistic"
  /**
   * A `run --json` report: the latency its run measured (`observedLatency`, see `Calibration`)
   * replaces `latency`.
   */
  readonly latencyFrom?: string | undefined
  /** Every outcome as an NDJSON line (see `Results`) to this file, or to standard output with `-`. */
  readonly out?: string | undefined
  /** `i/n`: only the i-th of n parts of the workload (`Workload.shard`). */
  readonly shard?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly file: string
  readonly endpoint: string
  readonly json?: boolean
  readonly tenantSize?: TenantSize
  readonly maxAttempts?: number | undefined
  readonly unthrottled?: boolean
  /**
   * A `redis://HOST:PORT` URL (default: `MSGRAPH_REDIS_URL`, else none): the quota lives in that
   * Redis, shared by every process given it (`RedisQuotaStore`), instead of in this process.
   */
  readonly quotaStore?: string | undefined
  /**
   * With `quotaStore`: how long a concurrency permit held in Redis lives without renewal (such as
   * `30s`, the default, or `5s`). A process that dies holding permits gives them back after this
   * long; a live one renews its leases every third of it.
   */
  readonly quotaLease?: string | undefined
  /**
   * How long one `$batch` round trip may take (`GraphClient` option `timeout`), such as `30s`,
   * `500ms`, `2m` or `1h` (see `--deadline` for the forms). Default 120 s.
   */
  readonly timeout?: string | undefined
  /**
   * Every request ends within this long of the run's start (`GraphClient.Options.deadline`), as
   * typed: `30s`, `15m`, `2h`, `1d`, `500ms` or `"30 minutes"`. Default: none.
   */
  readonly deadline?: string | undefined
  /**
   * Every outcome as an NDJSON line (see `Results`) to this file, or to standard output with `-`
   * (the report then goes to standard error).
   */
  readonly out?: string | undefined
  /** `i/n`: only the i-th of n parts of the workload (`Workload.shard`), for several workers. */
  readonly shard?: string | undefined
  /**
   * The latency model the duration lower bound and the prediction assume (`realistic` by default,
   * as `serve` answers); `none` for an endpoint that answers at once (`serve --latency none`).
   */
  readonly latency?: "none" | "realistic"
  /**
   * The journal (see `Journal`): what was sent and how each request ended, synced as the run goes.
   * Default: `OUT.journal` next to a `--out` file; none otherwise.
   */
  readonly journal?: string | undefined
  /**
   * Go on with the journal's run: requests with an outcome are not sent again (their responses
   * still answer references), requests sent without one are sent again when resendable and end
   * `UnknownOutcome` otherwise. The journal must belong to the same workload file (and shard).
   */
  readonly resume?: boolean | undefined
  /** With `resume`: send again the requests sent without an outcome that may not be resent. */
  readonly resendUnknown?: boolean | undefined
  /** A `run --json` report whose measured latency (`observedLatency`) replaces `latency`. */
  readonly latencyFrom?: string | undefined
  /**
   * The run ends with a prediction only when it has at most this many requests (default
   * {@link predictUpTo}); 0: never. Above it the report says so and `plan` predicts instead.
   */
  readonly predictUpTo?: number | undefined
}

/**
 * The options of `serve`: those of `msgraph-emulator` (`EmulatorServer.ServeOptions`), with the same
 * defaults (`EmulatorServer.serveDefaults`).
 *
 * @since 0.1.0
 * @category models
 */
export type ServeOptions = EmulatorServer.ServeOptions

/** Lines on standard error, exit 2. Each line is escaped whole: it may quote outside text. */
const invalid = (...lines: ReadonlyArray<string>): Effect.Effect<ExitCode, never, Output> =>
  Effect.as(stderr(lines.map((line) => `${escape(line)}\n`).join("")), 2 as const)

const loadOrReport = (file: string, planning?: DependencyResolver.DependencyResolver.Options) =>
  WorkloadFile.load(file, planning).pipe(
    Effect.map(Either.right),
    Effect.catchTag("InvalidWorkload", (error) =>
      Effect.as(
        // one line per problem: ids and reasons quote the file, so each line is escaped on its own
        stderr(`${error.problems.map((p) => escape(WorkloadFile.describe(error.file, p))).join("\n")}\nNothing was sent.\n`),
        Either.left(2 as const)
      ))
  )

/**
 * The file, cut to the part `--shard` names (with a note on standard error of what the part holds),
 * or exit 2 when the part does not exist; planned with `planning`.
 */
const loadPart = (
  file: string,
  shard: { readonly index: number; readonly count: number } | undefined,
  planning?: DependencyResolver.DependencyResolver.Options
): Effect.Effect<Either.Either<WorkloadFile.Loaded, ExitCode>, never, Output | FileSystem.FileSystem> =>
  Effect.flatMap(loadOrReport(file, planning), (read): Effect.Effect<Either.Either<WorkloadFile.Loaded, ExitCode>, never, Output> => {
    if (Either.isLeft(read) || shard === undefined) return Effect.succeed(read)
    const part = WorkloadFile.shard(read.right, shard.index, shard.count, planning)
    if (Either.isLeft(part)) return Effect.map(invalid(part.left.message, "Nothing was sent."), Either.left)
    const n = part.right.workload.length.toLocaleString("en-US")
    const total = read.right.workload.length.toLocaleString("en-US")
    return Effect.as(stderr(`${escape(file)}: shard ${shard.index}/${shard.count}, ${n} of ${total} requests\n`), Either.right(part.right))
  })

/** `--shard` as given: absent, parsed, or the message for a malformed value. */
const shardOption = (text: string | undefined) =>
  text === undefined ? Either.right(undefined) : WorkloadFile.parseShard(text)

const shardSetting = (loaded: WorkloadFile.Loaded): Record<string, string> =>
  loaded.shard === undefined ? {} : { shard: `${loaded.shard.index}/${loaded.shard.count}` }

/**
 * The `--out` writer (`undefined` without `--out`); a file that cannot be opened is exit 2, before
 * anything is sent.
 */
const openResults = (out: string | undefined) =>
  out === undefined
    ? Effect.succeed(Either.right(undefined))
    : Results.open(out).pipe(
      Effect.map((writer): Either.Either<Results.Writer | undefined, ExitCode> => Either.right(writer)),
      Effect.catchTag("ResultsError", (e) => Effect.map(invalid(e.message, "Nothing was sent."), Either.left))
    )

/** Whether two paths name one file: the same real path (links followed), or the same absolute path for a file not there yet. */
const sameFile = (a: string, b: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => {
    const real = (path: string) => fs.realPath(path).pipe(Effect.orElseSucceed(() => nodePath.resolve(path)))
    return Effect.zipWith(real(a), real(b), (x, y) => x === y)
  })

/**
 * The message for files a run would write over what it needs: `--out` or the journal naming the
 * workload file (emptied before the run, the workload would be lost), or `--out` and the journal one
 * file (the two writers would tear each other's lines); `undefined` when they are apart.
 */
const overlapping = (file: string, out: string | undefined, journal: string | undefined) =>
  Effect.gen(function*() {
    const results = out === undefined || out === "-" ? undefined : out
    if (results !== undefined && (yield* sameFile(results, file))) return `--out ${results} is the workload file: it would be overwritten`
    if (journal !== undefined && (yield* sameFile(journal, file))) return `--journal ${journal} is the workload file: it would be overwritten`
    if (results !== undefined && journal !== undefined && (yield* sameFile(results, journal))) {
      return `--out and --journal name one file, ${results}: the results and the journal need a file each`
    }
    return undefined
  })

/** Where the report goes: standard error when the results take standard output. */
const printReport = (out: string | undefined) => (text: string) => out === "-" ? stderr(text) : stdout(text)

/**
 * After the run: a writer's buffered lines written out (the `--out` results, or the journal synced),
 * and `true`, with the reason on standard error, if some could not be written (exit 1).
 */
const finishWriter = (writer: {
  readonly flush: Effect.Effect<void>
  readonly failed: Effect.Effect<Option.Option<{ readonly message: string }>>
} | undefined) =>
  writer === undefined ? Effect.succeed(false) : Effect.gen(function*() {
    yield* writer.flush
    const failed = yield* writer.failed
    if (Option.isNone(failed)) return false
    yield* stderr(`${escape(failed.value.message)}\n`)
    return true
  })

/**
 * The journal of `--out FILE` when none is named: `FILE.journal`, for a regular file (or one that
 * does not exist yet); none for standard output or a device such as `/dev/null`.
 */
const defaultJournal = (out: string | undefined) =>
  out === undefined || out === "-" ? Effect.succeed(undefined) : Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.stat(out).pipe(
      Effect.map((info) => (info.type === "File" ? `${out}.journal` : undefined)),
      Effect.orElseSucceed(() => `${out}.journal`)
    ))

/**
 * The journal of a `run`: its header (new, or the one of the journal resumed) and what it holds, or
 * exit 2 when it cannot be used: `--resume` without a journal, a journal of another workload, a
 * journal already there without `--resume`.
 */
const prepareJournal = (
  options: RunOptions,
  path: string,
  loaded: WorkloadFile.Loaded
): Effect.Effect<
  Either.Either<{ readonly path: string; readonly header: Journal.Header; readonly state: Journal.State | undefined }, ExitCode>,
  never,
  Output | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(loaded.file).pipe(Effect.option)
    if (Option.isNone(bytes)) return Either.left(yield* invalid(`cannot read ${loaded.file} again to hash it`, "Nothing was sent."))
    const hash = Journal.hashWorkload(bytes.value)
    const shard = loaded.shard === undefined ? null : `${loaded.shard.index}/${loaded.shard.count}`
    if (options.resume !== true) {
      const size = yield* fs.stat(path).pipe(Effect.map((info) => Number(info.size)), Effect.orElseSucceed(() => 0))
      if (size > 0) {
        return Either.left(
          yield* invalid(
            `journal ${path} already exists: --resume goes on with it; remove it (or give another --journal) to start over`,
            "Nothing was sent."
          )
        )
      }
      return Either.right({ path, header: Journal.makeHeader(hash, shard), state: undefined })
    }
    // responses are kept only for the requests that references read
    const sources = new Set<string>()
    for (const request of loaded.workload) for (const ref of Workload.references(request)) sources.add(ref.source.trim().toLowerCase())
    const read = yield* Journal.read(path, (id) => sources.has(id.toLowerCase())).pipe(Effect.either)
    if (Either.isLeft(read)) return Either.left(yield* invalid(read.left.message, "Nothing was sent."))
    if (Option.isNone(read.right)) return Either.left(yield* invalid(`journal ${path} does not exist: there is nothing to resume`, "Nothing was sent."))
    const state = read.right.value
    if (state.header === undefined) return Either.right({ path, header: Journal.makeHeader(hash, shard), state })
    if (state.header.workload !== hash || state.header.shard !== shard) {
      const was = `${state.header.workload}${state.header.shard === null ? "" : ` shard ${state.header.shard}`}`
      const now = `${hash}${shard === null ? "" : ` shard ${shard}`}`
      return Either.left(
        yield* invalid(
          `journal ${path} belongs to another workload: it was written for ${was}, and ${loaded.file} is ${now}`,
          "Resume with the workload file (and --shard) the journal was written for. Nothing was sent."
        )
      )
    }
    return Either.right({ path, header: state.header, state })
  })

const checkStricter = (stricter: number | undefined): string | undefined =>
  stricter === undefined || (Number.isFinite(stricter) && stricter > 0) ? undefined : `--stricter must be a positive number, got ${stricter}`

const checkMaxAttempts = (maxAttempts: number | undefined): string | undefined =>
  maxAttempts === undefined || (Number.isInteger(maxAttempts) && maxAttempts >= 1)
    ? undefined
    : `--max-attempts must be a whole number from 1, got ${maxAttempts}`

const clientOptions = (maxAttempts: number | undefined): GraphClient.GraphClient.Options =>
  maxAttempts === undefined ? {} : { maxAttempts }

/** The progress line counts requests: a paged request moves it once, with its last page. */
const advance = (progress: Progress.Progress, outcome: GraphClient.Outcome) =>
  outcome._tag === "Success" && outcome.more === true ? Effect.void : progress.advance(outcome._tag === "Success")

const exitOf = (failed: number): ExitCode => (failed > 0 ? 1 : 0)

/**
 * How `simulate` and `plan` plan a file, as the simulated client runs it: the plan the resolver
 * chooses knowing the simulated latency (`Simulation.planningOptions`), the shorter estimated
 * duration, or with latency `none` the fewest round trips.
 */
const planningFor = (latency: Simulation.LatencyOption, maxAttempts: number | undefined): DependencyResolver.DependencyResolver.Options =>
  Simulation.planningOptions(latency, clientOptions(maxAttempts))

const simulateWith = (
  loaded: WorkloadFile.Loaded,
  options: Omit<SimulateOptions, "file" | "json" | "out" | "shard" | "latency"> & {
    readonly latency?: Simulation.LatencyOption
    /** `plan` predicts for `run`'s client, which assumes no least latency; `simulate` its model's. */
    readonly leastLatency?: Simulation.Options["leastLatency"]
  },
  progress: Progress.Progress,
  results?: Results.Writer
) =>
  Simulation.simulate(loaded.workload, {
    tenantSize: options.tenantSize ?? "M",
    ...(options.stricter === undefined ? {} : { stricter: options.stricter }),
    faults: options.faults ?? "none",
    seed: options.seed ?? 0,
    client: {
      ...clientOptions(options.maxAttempts),
      // the file was planned with these options: the client runs the policy that plan chose
      // instead of estimating both policies again (the same choice, on the same workload)
      planning: { ...planningFor(options.latency ?? "realistic", options.maxAttempts), policy: loaded.plan.policy }
    },
    unthrottled: options.unthrottled ?? false,
    latency: options.latency ?? "realistic",
    ...(options.leastLatency === undefined ? {} : { leastLatency: options.leastLatency }),
    onOutcome: (outcome) =>
      results === undefined
        ? advance(progress, outcome)
        : Effect.zipRight(advance(progress, outcome), results.write(outcome))
  }).pipe(
    // the file passed the same checks the client applies, so a workload error here is a defect
    Effect.catchIf((e): e is Exclude<typeof e, Emulator.InvalidOptions> => e._tag !== "InvalidOptions", Effect.die),
    Effect.ensuring(progress.done)
  )

const settingsOf = (options: Omit<SimulateOptions, "file" | "json" | "out" | "shard">) => ({
  tenantSize: options.tenantSize ?? "M",
  stricter: options.stricter ?? 1,
  faults: options.faults ?? "none",
  seed: options.seed ?? 0,
  unthrottled: options.unthrottled ?? false,
  ...latencySetting(options)
})

/** How the report names its latency: `realistic`, `none`, or `calibrated` with the file it came from. */
const latencySetting = (options: { readonly latency?: "none" | "realistic"; readonly latencyFrom?: string | undefined }) =>
  options.latencyFrom === undefined
    ? { latency: options.latency ?? "realistic" }
    : { latency: "calibrated", latencyFrom: options.latencyFrom }

/**
 * The latency model of `--latency`, or the profile `--latency-from` measured (`Calibration.load`);
 * exit 2 when that file cannot be used.
 */
const latencyOf = (options: { readonly latency?: "none" | "realistic"; readonly latencyFrom?: string | undefined }) =>
  options.latencyFrom === undefined
    ? Effect.succeed(Either.right<Simulation.LatencyOption>(options.latency ?? "realistic"))
    : Calibration.load(options.latencyFrom).pipe(
      Effect.map((profile) => Either.right<Simulation.LatencyOption>(profile)),
      Effect.catchTag("InvalidLatencyFile", (e) => Effect.map(invalid(`--latency-from ${e.message}`, "Nothing was sent."), Either.left))
    )

/**
 * `simulate FILE`: the workload against the in-process emulator in virtual time.
 *
 * @since 0.1.0
 * @category commands
 */
export const simulate = (options: SimulateOptions): Effect.Effect<ExitCode, never, Output | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const problem = checkStricter(options.stricter) ?? checkMaxAttempts(options.maxAttempts)
    if (problem !== undefined) return yield* invalid(problem)
    const shard = shardOption(options.shard)
    if (Either.isLeft(shard)) return yield* invalid(shard.left)
    const overlap = yield* overlapping(options.file, options.out, undefined)
    if (overlap !== undefined) return yield* invalid(overlap, "Nothing was sent.")
    const latency = yield* latencyOf(options)
    if (Either.isLeft(latency)) return latency.left
    const read = yield* loadPart(options.file, shard.right, planningFor(latency.right, options.maxAttempts))
    if (Either.isLeft(read)) return read.left
    const loaded = read.right
    const results = yield* openResults(options.out)
    if (Either.isLeft(results)) return results.left
    const progress = yield* Progress.make(loaded.workload.length)
    const result = yield* simulateWith(loaded, { ...options, latency: latency.right }, progress, results.right)
    const lost = yield* finishWriter(results.right)
    const report = Report.make({
      command: "simulate",
      file: options.file,
      summary: result.summary,
      plan: loaded.plan,
      bound: result.bound,
      audit: result.report,
      admission: result.admission,
      failures: result.failures.map(Report.failureOf),
      settings: { ...settingsOf(options), ...shardSetting(loaded) }
    })
    yield* printReport(options.out)(options.json === true ? `${jsonText(report)}\n` : Report.render(report))
    return lost ? 1 : exitOf(result.summary.failed)
  }).pipe(
    Effect.scoped,
    Effect.catchTag("InvalidOptions", (e) => invalid(`invalid emulator option ${e.option}: ${e.detail}`)),
    Effect.withSpan("Cli.simulate")
  )

const describeBatch = (batch: { readonly id: string; readonly shape: string; readonly requests: ReadonlyArray<{ readonly id: string }> }) => {
  const ids = batch.requests.map((r) => r.id)
  const shown = ids.length <= 6 ? ids.join(" ") : `${ids.slice(0, 3).join(" ")} ... ${ids.slice(-2).join(" ")}`
  return `  ${batch.id} [${batch.shape}, ${ids.length}] ${escape(shown)}`
}

/** At most this many batches are listed one by one; larger plans are summarised per round. */
const listedBatches = 40

/**
 * The plan's rounds and batches as text, compact when there are many batches. The file name and
 * the request ids are escaped (`Output.escape`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderPlan = (loaded: WorkloadFile.Loaded): string => {
  const { plan } = loaded
  const part = loaded.shard === undefined
    ? ""
    : `, shard ${loaded.shard.index}/${loaded.shard.count} of ${loaded.shard.total.toLocaleString("en-US")}`
  const lines = [`${escape(loaded.file)}: ${plan.requests.toLocaleString("en-US")} requests (${loaded.format}${part}), policy ${plan.policy}`]
  for (const round of plan.rounds) {
    const requests = round.batches.reduce((n, b) => n + b.requests.length, 0)
    const shapes = new Map<string, number>()
    for (const b of round.batches) shapes.set(b.shape, (shapes.get(b.shape) ?? 0) + 1)
    const mix = [...shapes].map(([shape, count]) => `${count} ${shape}`).join(", ")
    lines.push(`Round ${round.index}: ${round.batches.length} batch(es), ${requests} requests (${mix})`)
    if (plan.batches <= listedBatches) for (const batch of round.batches) lines.push(describeBatch(batch))
  }
  return `${lines.join("\n")}\n`
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PlanOptions {
  readonly file: string
  readonly json?: boolean
  readonly tenantSize?: TenantSize
  /**
   * How long Graph takes in the prediction: `realistic` (the default, as `serve`) or `none`. With
   * `realistic`, the plan is chosen by its estimated duration under that model, and the prediction
   * runs with it.
   */
  readonly latency?: "none" | "realistic"
  /** A `run --json` report whose measured latency (`observedLatency`) replaces `latency`. */
  readonly latencyFrom?: string | undefined
  /** `i/n`: plan only the i-th of n parts of the workload (`Workload.shard`). */
  readonly shard?: string | undefined
}

/**
 * `plan FILE`: validation, rounds and batches, then the prediction from a virtual-time simulation
 * against the in-process emulator at documented limits.
 *
 * @since 0.1.0
 * @category commands
 */
export const plan = (options: PlanOptions): Effect.Effect<ExitCode, never, Output | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const shard = shardOption(options.shard)
    if (Either.isLeft(shard)) return yield* invalid(shard.left)
    const latencyModel = yield* latencyOf(options)
    if (Either.isLeft(latencyModel)) return latencyModel.left
    const read = yield* loadPart(options.file, shard.right, planningFor(latencyModel.right, undefined))
    if (Either.isLeft(read)) return read.left
    const latency = options.latency ?? "realistic"
    const loaded = read.right
    const { plan } = loaded
    const progress = yield* Progress.make(plan.requests)
    const simulated = { tenantSize: options.tenantSize ?? "M", latency, latencyFrom: options.latencyFrom } as const
    // the prediction is for `run`, whose client assumes no least latency
    const result = yield* simulateWith(loaded, { ...simulated, latency: latencyModel.right, leastLatency: Simulation.noLeastLatency }, progress)
    const report = Report.make({
      command: "plan",
      file: options.file,
      summary: result.summary,
      plan,
      bound: result.bound,
      audit: result.report,
      admission: result.admission,
      failures: result.failures.map(Report.failureOf),
      settings: { ...settingsOf(simulated), ...shardSetting(loaded) }
    })
    if (options.json === true) {
      const rounds = plan.rounds.map((r) => ({
        index: r.index,
        batches: r.batches.length,
        requests: r.batches.reduce((n, b) => n + b.requests.length, 0)
      }))
      const estimated = plan.estimatedMillis === undefined ? {} : { estimatedMillis: Math.round(plan.estimatedMillis) }
      yield* stdout(`${jsonText({ policy: plan.policy, rounds, plannedRoundTrips: plan.roundTrips, plannedBatches: plan.batches, ...estimated, predicted: report })}\n`)
    } else {
      yield* stdout(
        renderPlan(loaded) +
          Report.table([
            ["Round trips", String(plan.roundTrips), `lower bound ${plan.lowerBound.roundTrips}`],
            ["Batches", String(plan.batches), `lower bound ${plan.lowerBound.batches}`],
            ...(plan.estimatedMillis === undefined ? [] : [[
              "Estimated duration",
              Report.duration(plan.estimatedMillis),
              `policy ${plan.policy}: the shorter estimate under the emulator's expected latencies`
            ] as const]),
            ["Predicted round trips", String(result.summary.roundTrips), `${result.summary.batches} batches, as the simulated client sent them`],
            ...Report.timeRows(report, "Predicted duration"),
            ["Predicted 429s", String(result.summary.throttled429), `failures ${result.summary.failed}, admission ${result.admission}`],
            [
              "Simulated",
              "",
              `tenant ${options.tenantSize ?? "M"}, documented limits, ${
                options.latencyFrom !== undefined
                  ? `latency measured in ${escape(options.latencyFrom)}`
                  : latency === "none"
                  ? "no latency"
                  : "realistic latency"
              }`
            ]
          ])
      )
    }
    return 0 as ExitCode
  }).pipe(
    Effect.catchTag("InvalidOptions", (e) => invalid(`invalid emulator option ${e.option}: ${e.detail}`)),
    Effect.withSpan("Cli.plan")
  )

/**
 * The duration `plan` predicts for a workload: a virtual-time simulation against the in-process
 * emulator at documented limits, with the given latency and the run's client options, and like
 * `run`'s client assuming no least latency (`Simulation.noLeastLatency`; `simulate` assumes its
 * model's).
 */
const predict = (
  workload: Workload.Workload,
  options: { readonly tenantSize: TenantSize; readonly latency: Simulation.LatencyOption; readonly maxAttempts: number | undefined; readonly unthrottled: boolean | undefined }
) =>
  Simulation.simulate(workload, {
    tenantSize: options.tenantSize,
    latency: options.latency,
    client: clientOptions(options.maxAttempts),
    leastLatency: Simulation.noLeastLatency,
    unthrottled: options.unthrottled ?? false
  }).pipe(
    Effect.map((result): number | null => result.summary.durationMs),
    // the workload passed the client's checks already; an emulator that cannot take it predicts nothing
    Effect.orElseSucceed(() => null)
  )

/**
 * `run FILE --endpoint URL`: the workload for real. A loopback endpoint (`serve`) gets a static
 * token; any other endpoint must be a cloud's Graph endpoint (`Cloud.clouds`), which picks the
 * cloud of the token, and needs `MSGRAPH_TENANT_ID`, `MSGRAPH_CLIENT_ID` and
 * `MSGRAPH_CLIENT_SECRET` (read as a redacted value, never printed). `MSGRAPH_CLOUD`, when set,
 * must name the same cloud; `MSGRAPH_AUTHORITY` overrides the login host.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = (options: RunOptions): Effect.Effect<ExitCode, never, Output | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    // SIGINT or SIGTERM: send nothing more, let the calls in flight finish for `signalGrace` (a
    // second signal: not at all), then report what ended and exit 130 or 143
    const signalled = yield* Deferred.make<Signal>()
    const again = yield* Deferred.make<void>()
    let signals = 0
    // once every request has ended, a signal only gives up the prediction
    let ended = false
    yield* takeSignals((signal) =>
      signals++ === 0 ? Deferred.unsafeDone(signalled, Exit.succeed(signal)) : Deferred.unsafeDone(again, Exit.void)
    )
    yield* Deferred.await(signalled).pipe(
      Effect.flatMap((signal) =>
        stderr(
          ended
            ? `\n${signal}: every request has ended; the prediction is given up\n`
            : `\n${signal}: sending nothing more; waiting up to ${Duration.format(signalGrace)} for the calls in flight (${signal} again to stop now)\n`
        )
      ),
      Effect.forkScoped
    )
    // results that can no longer be written stop the run as a signal does: nothing more is sent
    const resultsLost = yield* Deferred.make<void>()
    const stop = {
      stop: Effect.race(Deferred.await(signalled), Deferred.await(resultsLost)),
      abandon: Effect.race(Effect.sleep(signalGrace), Deferred.await(again))
    }
    let endpoint: URL
    try {
      endpoint = new URL(options.endpoint)
    } catch {
      return yield* invalid(`--endpoint is not a URL: ${options.endpoint}`)
    }
    if (!Cloud.isSecure(endpoint)) {
      return yield* invalid(`--endpoint must be https, or http on a loopback address: ${options.endpoint}`)
    }
    const deadline = options.deadline === undefined ? Option.none() : durationText.parse(options.deadline)
    if (options.deadline !== undefined && Option.isNone(deadline)) {
      return yield* invalid(`--deadline must be a positive duration such as 30s, 15m or 2h, got ${options.deadline}`)
    }
    const timeout = options.timeout === undefined ? Option.none() : durationText.parse(options.timeout)
    if (options.timeout !== undefined && Option.isNone(timeout)) {
      return yield* invalid(`--timeout must be a positive duration such as 30s, 500ms or 2m, got ${options.timeout}`)
    }
    if (options.predictUpTo !== undefined && !(Number.isSafeInteger(options.predictUpTo) && options.predictUpTo >= 0)) {
      return yield* invalid(`--predict-up-to must be a whole number of requests, 0 or more, got ${options.predictUpTo}`)
    }
    const attempts = checkMaxAttempts(options.maxAttempts)
    if (attempts !== undefined) return yield* invalid(attempts)
    const shard = shardOption(options.shard)
    if (Either.isLeft(shard)) return yield* invalid(shard.left)
    const loopback = Cloud.isLoopback(endpoint)
    // a token is for one cloud's Graph: it is sent there, or to `serve` on loopback, and nowhere else
    const cloud = Cloud.fromGraphUrl(endpoint)
    if (!loopback && Option.isNone(cloud)) {
      const graphs = Cloud.names.map((name) => `${Cloud.clouds[name].graph} (${name})`).join(", ")
      return yield* invalid(`--endpoint must be a Microsoft Graph endpoint, ${graphs}, or a loopback address: ${endpoint.origin}`)
    }
    const journalPath = options.journal ?? (yield* defaultJournal(options.out))
    if (options.resume === true && journalPath === undefined) {
      return yield* invalid("--resume needs the journal: --journal FILE, or the --out FILE whose journal is FILE.journal")
    }
    if (options.resendUnknown === true && options.resume !== true) return yield* invalid("--resend-unknown applies only with --resume")
    const overlap = yield* overlapping(options.file, options.out, journalPath)
    if (overlap !== undefined) return yield* invalid(overlap, "Nothing was sent.")
    const latency = yield* latencyOf(options)
    if (Either.isLeft(latency)) return latency.left
    const loaded = yield* loadPart(options.file, shard.right)
    if (Either.isLeft(loaded)) return loaded.left
    const { plan } = loaded.right
    const journaled = journalPath === undefined ? Either.right(undefined) : yield* prepareJournal(options, journalPath, loaded.right)
    if (Either.isLeft(journaled)) return journaled.left
    const job = journaled.right
    const workload = job === undefined ? loaded.right.workload : Journal.correlate(loaded.right.workload, job.header.nonce)
    const tenantSize = options.tenantSize ?? "M"
    const credentials = loopback ? undefined : yield* TokenProvider.clientCredentialsConfig
    if (credentials?.cloud !== undefined && Option.isSome(cloud) && credentials.cloud !== cloud.value) {
      return yield* invalid(`MSGRAPH_CLOUD is ${credentials.cloud}, but --endpoint ${endpoint.origin} is the ${cloud.value} cloud's Graph`)
    }
    const tokens = credentials === undefined
      ? TokenProvider.layerStatic("loopback-emulator")
      : TokenProvider.layerClientCredentials({ ...credentials, cloud: Option.getOrElse(cloud, () => "global" as const) }).pipe(
        // clientCredentialsConfig has already refused an authority that is not https (or loopback http)
        Layer.orDie,
        Layer.provide(NodeHttpClient.layerUndici)
      )
    // buckets are keyed by who calls: `serve`'s emulator identity, or the app and tenant of the credentials
    const identity = credentials === undefined
      ? Emulator.defaultIdentity
      : { tenantId: credentials.tenantId, appId: credentials.clientId }
    const quotaStore = options.quotaStore ??
      Option.getOrUndefined(yield* Effect.orElseSucceed(RedisQuotaStore.config, () => Option.none()))
    if (quotaStore !== undefined && !RedisQuotaStore.isRedisUrl(quotaStore)) {
      return yield* invalid(`--quota-store (or MSGRAPH_REDIS_URL) must be redis://HOST:PORT or rediss://HOST:PORT`)
    }
    if (quotaStore !== undefined && options.unthrottled === true) {
      return yield* invalid(`--quota-store shares the client's throttling between processes; --unthrottled has none`)
    }
    const lease = options.quotaLease === undefined ? Option.none() : durationText.parse(options.quotaLease)
    if (options.quotaLease !== undefined && Option.isNone(lease)) {
      return yield* invalid(`--quota-lease must be a positive duration such as 30s or 5s, got ${options.quotaLease}`)
    }
    // a renewal may take up to the store's 1 s timeout: a shorter lease lapses while its permit is
    // still in use (measured with 1ms: 120 of 150 mailbox reads got 429 from 4 processes)
    if (Option.isSome(lease) && Duration.lessThan(lease.value, Duration.seconds(1))) {
      return yield* invalid(`--quota-lease must be at least 1s (a renewal may take that long), got ${options.quotaLease}`)
    }
    if (options.quotaLease !== undefined && quotaStore === undefined) {
      return yield* invalid(`--quota-lease is the lifetime of permits held in Redis: it needs --quota-store (or MSGRAPH_REDIS_URL)`)
    }
    // one token first, built once for the run: credentials the login endpoint refuses are bad input
    // (exit 2, nothing sent), rather than every request's failure after five token requests a batch
    const tokenContext = yield* Layer.build(tokens)
    if (credentials !== undefined) {
      const first = yield* Effect.either(Effect.provide(Effect.flatMap(TokenProvider.TokenProvider, (p) => p.token), tokenContext))
      const status = Either.isLeft(first) && first.left.reason === "Rejected" ? first.left.status ?? 0 : 0
      // 408 and 429 are the login endpoint's own load: the run waits them out as it goes
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        return yield* invalid(
          `the login endpoint refused the client credentials (${status}): check MSGRAPH_TENANT_ID, MSGRAPH_CLIENT_ID and MSGRAPH_CLIENT_SECRET`,
          "Nothing was sent."
        )
      }
    }
    const admission = {
      tenantSize,
      delegated: loopback,
      identity,
      unthrottled: options.unthrottled,
      quotaStore,
      ...(Option.isSome(lease) ? { leaseMillis: Math.max(1, Math.round(Duration.toMillis(lease.value))) } : {})
    }
    // every `$batch` call is timed: the report's `observedLatency` (see `Calibration`)
    const observer = new Calibration.Observer()
    const http = Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, Calibration.observing(observer))).pipe(
      Layer.provide(NodeHttpClient.layerUndici)
    )
    const client = GraphClient.layer({
      baseUrl: endpoint.origin + endpoint.pathname.replace(/\/+$/, ""),
      ...clientOptions(options.maxAttempts),
      // planned as `plan` and the prediction plan it, knowing the latency
      planning: Simulation.planningOptions(latency.right),
      ...(Option.isSome(timeout) ? { timeout: timeout.value } : {}),
      ...(Option.isSome(deadline) ? { deadline: deadline.value } : {})
    }).pipe(
      Layer.provide(Layer.mergeAll(Layer.succeedContext(tokenContext), admissionLayer(admission), http))
    )
    // --out, then the journal, opened last: files are emptied only once everything else was found
    // valid (a resumed run's --out is written anew from its journal anyway)
    const opened = yield* openResults(options.out)
    if (Either.isLeft(opened)) return opened.left
    const journal = job === undefined
      ? Either.right(undefined)
      : yield* Journal.open(job.path, job.header, job.state).pipe(
        Effect.map((writer): Either.Either<Journal.Writer | undefined, ExitCode> => Either.right(writer)),
        Effect.catchTag("JournalError", (e) => Effect.map(invalid(e.message, "Nothing was sent."), Either.left))
      )
    if (Either.isLeft(journal)) return journal.left
    const results = opened.right
    if (results !== undefined) {
      yield* results.failure.pipe(Effect.zipRight(Deferred.succeed(resultsLost, undefined)), Effect.forkScoped)
    }
    if (journal.right !== undefined) {
      yield* journal.right.failure.pipe(Effect.zipRight(Deferred.succeed(resultsLost, undefined)), Effect.forkScoped)
    }
    // a resumed run's --out holds the whole job: the journal's outcomes first
    if (results !== undefined && job?.state?.header !== undefined) {
      // read without a problem just before, so a failure now is a defect
      yield* Journal.records(job.path, results.record, job.state).pipe(Effect.orDie)
    }
    const earlier = job?.state?.header === undefined ? undefined : job.state
    const runOptions: GraphClient.GraphClient.RunOptions = {
      ...stop,
      ...(earlier === undefined ? {} : { completed: earlier.completed, sent: earlier.unsettled, resendUnknown: options.resendUnknown === true }),
      ...(journal.right === undefined ? {} : { onSend: journal.right.sending })
    }
    const progress = yield* Progress.make(workload.length - (earlier?.completed.length ?? 0))
    // every failure, kept small (`Report.failureOf`): `--json` lists them all
    const failures: Array<Report.FailureReport> = []
    // requests an earlier run sent without an outcome, ended UnknownOutcome here
    let interrupted = 0
    const started = yield* Clock.currentTimeMillis
    const summary = yield* Effect.flatMap(GraphClient.GraphClient, (graph) =>
      graph.run(workload, runOptions).pipe(
        Stream.runFoldEffect(undefined as GraphClient.Summary | undefined, (last, event) => {
          if (event._tag === "Summary") return Effect.succeed(event)
          if (event._tag === "Failure") {
            failures.push(Report.failureOf(event))
            if (event.error._tag === "UnknownOutcome" && event.error.cause === "Interrupted") interrupted++
          }
          const advanced = advance(progress, event)
          const journaled = journal.right === undefined ? advanced : Effect.zipRight(journal.right.outcome(event), advanced)
          return Effect.as(results === undefined ? journaled : Effect.zipRight(journaled, results.write(event)), last)
        })
      )).pipe(
        Effect.provide(client),
        Effect.ensuring(progress.done),
        // the client checks the workload against the endpoint's host before sending anything
        Effect.map(Either.right),
        Effect.catchAll((e: ValidationError.WorkloadError) => Effect.succeed(Either.left(e)))
      )
    ended = true
    if (Either.isLeft(summary)) return yield* invalid(`${options.file}: ${summary.left.message}`, "Nothing was sent.")
    if (summary.right === undefined) return yield* Effect.dieMessage("the client ended without a summary")
    // both are finished, whichever failed: a lost result line must not leave the journal unsynced
    const outLost = yield* finishWriter(results)
    const journalLost = yield* finishWriter(journal.right)
    const lost = outLost || journalLost
    const signal = Option.getOrUndefined(yield* Deferred.poll(signalled).pipe(Effect.flatMap(Effect.transposeOption)))
    const failedIds = new Set(failures.map((f) => f.id))
    // a resumed run is judged on what it ran: the outcomes taken from the journal count for nothing
    const earlierIds = new Set(earlier?.completed.map((c) => c.id.toLowerCase()))
    const bound = LowerBound.fromWorkload(
      workload,
      new LimitCatalog.ClassifyContext({ tenantId: "tenant", appId: "app", delegated: loopback, tenantSize }),
      undefined,
      // requests that failed may never have run, and those that never ended did not count either
      {
        latency: Simulation.latencyProfile(latency.right),
        failed: (id) => failedIds.has(id) || signal !== undefined,
        earlier: (id) => earlierIds.has(id.toLowerCase())
      }
    )
    // the same workload in virtual time with the same latency model: what `plan` would have predicted
    // not for a run stopped by a signal, nor a resumed one (it ran only the rest of the workload),
    // nor one over --predict-up-to (see `predictUpTo`); a signal while it predicts gives it up
    const tooLarge = workload.length > (options.predictUpTo ?? predictUpTo)
    const predictedMs = signal !== undefined || earlier !== undefined || tooLarge ? null : yield* Effect.raceFirst(
      // it can take seconds: say what the wait after the last outcome is for
      Effect.zipRight(
        stderr(`predicting the duration: a simulation of ${workload.length.toLocaleString("en-US")} requests (Ctrl-C skips it)\n`),
        predict(workload, { tenantSize, latency: latency.right, maxAttempts: options.maxAttempts, unthrottled: options.unthrottled })
      ),
      Effect.as(Deferred.await(signalled), null)
    )
    // the plan's lower bounds are the whole workload's; a resumed run's only know its own requests
    // (their dependencies on what the journal held are not counted: one round trip)
    const requests = summary.right.requests
    const lowerBound = earlier === undefined
      ? plan.lowerBound
      : { batches: Math.ceil(requests / BatchBuilder.MAX_BATCH_SIZE), roundTrips: Math.min(requests, 1) }
    const report = Report.make({
      command: "run",
      file: options.file,
      summary: summary.right,
      plan: { ...plan, lowerBound },
      bound,
      audit: undefined,
      admission: admissionName(admission),
      failures,
      settings: { endpoint: endpoint.origin, tenantSize, startedAt: new Date(started).toISOString(), ...latencySetting(options), ...shardSetting(loaded.right) },
      interrupted: signal,
      journal: job === undefined ? undefined : {
        file: job.path,
        resumed: earlier !== undefined,
        earlier: earlier?.completed.length ?? 0,
        earlierFailed: earlier?.failed ?? 0,
        sentWithoutOutcome: earlier?.unsettled.length ?? 0,
        unknown: interrupted,
        resendUnknown: options.resendUnknown === true
      }
    })
    const observedLatency = observer.observed()
    yield* printReport(options.out)(
      options.json === true
        ? `${jsonText({ ...report, predictedMs, observedLatency })}\n`
        : Report.render(report) +
          (tooLarge && signal === undefined && earlier === undefined
            ? Report.renderUnpredicted(workload.length, options.predictUpTo ?? predictUpTo)
            : Report.renderPrediction(predictedMs, summary.right.durationMs)) +
          Report.renderObserved(observedLatency)
    )
    return signal !== undefined ? signalExit[signal] : lost ? 1 : exitOf(summary.right.failed + (earlier?.failed ?? 0))
  }).pipe(
    Effect.scoped,
    // the quota store's warnings: never on standard output, which carries the report
    Effect.provide(layerLogger),
    Effect.catchTag("ConfigError", (error) =>
      ConfigError.isMissingDataOnly(error)
        ? invalid("run against Graph needs MSGRAPH_TENANT_ID, MSGRAPH_CLIENT_ID and MSGRAPH_CLIENT_SECRET in the environment")
        : invalid(`invalid configuration: ${String(error)}\nNothing was sent.`)),
    Effect.withSpan("Cli.run")
  )

/**
 * The emulator server on 127.0.0.1 while `use` runs with its URL (and the `Emulator` in context, for
 * its audit); it stops when `use` ends or is interrupted. It is `EmulatorServer.layerServed`, the
 * server `msgraph-emulator` runs, with its defaults (100,000 licences per SKU, since a server does
 * not know its workloads in advance; realistic latency).
 *
 * @since 0.1.0
 * @category commands
 */
export const serveWith = <A, E, R>(
  options: ServeOptions,
  use: (url: string) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const url = yield* EmulatorServer.url
    return yield* use(url)
  }).pipe(
    Effect.provide(EmulatorServer.layerServed(options)),
    Effect.scoped
  )

/**
 * `serve`: prints the URL and serves until interrupted (SIGINT or SIGTERM under `NodeRuntime`).
 *
 * @since 0.1.0
 * @category commands
 */
export const serve = (options: ServeOptions): Effect.Effect<ExitCode, never, Output> =>
  Effect.gen(function*() {
    const problem = checkStricter(options.stricter)
    if (problem !== undefined) return yield* invalid(problem)
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65_535)) {
      return yield* invalid(`--port must be an integer from 0 to 65535, got ${options.port}`)
    }
    return yield* serveWith(options, (url) =>
      Effect.zipRight(
        stdout(`msgraph-batch: emulator listening on ${url} (Ctrl-C to stop)\n`),
        Effect.never
      ))
  }).pipe(
    Effect.catchTags({
      InvalidOptions: (e) => invalid(`invalid emulator option ${e.option}: ${e.detail}`),
      ServeError: (e) => Effect.as(stderr(`cannot listen: ${escape(String(e.cause))}\n`), 2 as const)
    }),
    Effect.withSpan("Cli.serve")
  )

const fileArg = Args.text({ name: "FILE" }).pipe(Args.withDescription("workload file: JSON (array or { requests }) or NDJSON"))
const json = Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of the table"))
const tenantSize = Options.choice("tenant-size", ["S", "M", "L"]).pipe(
  Options.withDefault("M" as const),
  Options.withDescription("emulated tenant size for identity resource-unit limits")
)
const stricter = Options.float("stricter").pipe(
  Options.withDefault(1),
  Options.withDescription("the emulator enforces 1/F of every documented limit; the client is not told")
)
const faults = Options.choice("faults", ["none", "light", "heavy"]).pipe(
  Options.withDefault("none" as const),
  Options.withDescription("fault profile: none, light or heavy (see docs/cli.md)")
)
const seed = Options.integer("seed").pipe(Options.withDefault(0), Options.withDescription("seed for faults and response order"))
const unthrottled = Options.boolean("unthrottled").pipe(
  Options.withDescription("no client-side throttling: send everything, rely on Retry-After (for comparison)")
)
const latency = Options.choice("latency", ["realistic", "none"]).pipe(
  Options.withDefault(EmulatorServer.serveDefaults.latency),
  Options.withDescription("latency of the served emulator: per round trip and per item (realistic) or none")
)
const simulatedLatency = Options.choice("latency", ["realistic", "none"]).pipe(
  Options.withDefault("realistic" as const),
  Options.withDescription("latency of the simulated emulator, in virtual time: realistic (as serve) or none")
)
const runLatency = Options.choice("latency", ["realistic", "none"]).pipe(
  Options.withDefault("realistic" as const),
  Options.withDescription("the latency model the duration lower bound and the prediction assume: realistic (as serve) or none")
)
/** An option that takes a text value and may be left out. */
const optionalText = (name: string, description: string) => Options.text(name).pipe(Options.optional, Options.withDescription(description))

const predictUpToFlag = Options.integer("predict-up-to").pipe(
  Options.optional,
  Options.withDescription(`end with a prediction only for runs of at most N requests (default ${predictUpTo.toLocaleString("en-US")}; 0: never)`)
)
const latencyFrom = optionalText("latency-from", "FILE: the report of run --json; predict with the latency that run measured (replaces --latency)")
const maxAttempts = Options.integer("max-attempts").pipe(Options.optional, Options.withDescription("attempts per request (default 5)"))
const port = Options.integer("port").pipe(Options.withDefault(EmulatorServer.serveDefaults.port), Options.withDescription("port on 127.0.0.1 (0: any free port)"))
const licenses = Options.integer("licenses").pipe(
  Options.withDefault(EmulatorServer.serveDefaults.licenses),
  Options.withDescription("licences per subscribed SKU of the served emulator")
)
const loadKnee = Options.integer("load-knee").pipe(
  Options.withDefault(EmulatorServer.serveDefaults.loadKnee),
  Options.withDescription("load model: items in flight per app beyond which latency grows with the queue (0: none)")
)
const loadCeiling = Options.integer("load-ceiling").pipe(
  Options.withDefault(EmulatorServer.serveDefaults.loadCeiling),
  Options.withDescription("load model: items in flight per app at which new items answer 503 with Retry-After (0: none)")
)
const deadline = optionalText("deadline", "every request ends within this long of the start (30s, 15m, 2h); default none")
const timeoutOption = optionalText("timeout", "how long one $batch round trip may take, such as 30s or 2m (default 120s)")
const outFlag = optionalText("out", "write every outcome as one JSON line to this file (- for standard output; the report then goes to standard error)")
const shardFlag = optionalText("shard", "i/n: only the i-th of n parts of the workload, each keeping its dependency chains whole (for several workers)")
const journalFlag = optionalText("journal", "record what is sent and how each request ended in this file, for --resume (default: OUT.journal with --out OUT)")
const resumeFlag = Options.boolean("resume").pipe(
  Options.withDescription("go on with the journal's run: nothing with an outcome is sent again; the workload file must be the same")
)
const resendUnknown = Options.boolean("resend-unknown").pipe(
  Options.withDescription("with --resume: also send again requests sent without an outcome that may not be resent (POST, PATCH)")
)
const quotaStore = optionalText("quota-store", "redis://HOST:PORT: share the quota with every process given it (default MSGRAPH_REDIS_URL)")
const quotaLease = optionalText("quota-lease", "with --quota-store: how long a permit held in Redis lives without renewal, such as 5s (default 30s)")
const endpoint = Options.text("endpoint").pipe(
  Options.withDescription("a cloud's Graph endpoint (https://graph.microsoft.com, graph.microsoft.us, ...), or the URL `serve` printed")
)

const optional = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)

/**
 * The command tree; each handler stores its exit code in `exit`.
 *
 * @since 0.1.0
 * @category cli
 */
export const command = (exit: Ref.Ref<ExitCode>) => {
  const done = <E, R>(effect: Effect.Effect<ExitCode, E, R>) => Effect.flatMap(effect, (code) => Ref.set(exit, code))
  const planCmd = Command.make(
    "plan",
    { file: fileArg, json, tenantSize, latency: simulatedLatency, latencyFrom, shard: shardFlag },
    (a) => done(plan({ ...a, shard: optional(a.shard), latencyFrom: optional(a.latencyFrom) }))
  ).pipe(
    Command.withDescription("validate a workload, print its rounds and batches, and predict its duration")
  )
  const simulateCmd = Command.make(
    "simulate",
    { file: fileArg, json, tenantSize, stricter, faults, seed, maxAttempts, unthrottled, latency: simulatedLatency, latencyFrom, out: outFlag, shard: shardFlag },
    (a) =>
      done(simulate({ ...a, maxAttempts: optional(a.maxAttempts), out: optional(a.out), shard: optional(a.shard), latencyFrom: optional(a.latencyFrom) }))
  ).pipe(Command.withDescription("run a workload against the in-process emulator in virtual time"))
  const serveCmd = Command.make("serve", { port, tenantSize, stricter, faults, seed, latency, licenses, loadKnee, loadCeiling }, (a) => done(serve(a))).pipe(
    Command.withDescription("serve the emulator on 127.0.0.1 until Ctrl-C")
  )
  const runCmd = Command.make(
    "run",
    {
      file: fileArg,
      endpoint,
      json,
      tenantSize,
      maxAttempts,
      unthrottled,
      timeout: timeoutOption,
      deadline,
      out: outFlag,
      shard: shardFlag,
      quotaStore,
      quotaLease,
      latency: runLatency,
      journal: journalFlag,
      resume: resumeFlag,
      resendUnknown,
      latencyFrom,
      predictUpTo: predictUpToFlag
    },
    (a) =>
      done(run({
        ...a,
        maxAttempts: optional(a.maxAttempts),
        timeout: optional(a.timeout),
        deadline: optional(a.deadline),
        out: optional(a.out),
        shard: optional(a.shard),
        quotaStore: optional(a.quotaStore),
        quotaLease: optional(a.quotaLease),
        journal: optional(a.journal),
        latencyFrom: optional(a.latencyFrom),
        predictUpTo: optional(a.predictUpTo)
      }))
  ).pipe(Command.withDescription("run a workload against Graph or a `serve` endpoint"))
  return Command.make("msgraph-batch").pipe(Command.withSubcommands([planCmd, simulateCmd, serveCmd, runCmd]))
}

/**
 * Parses `argv` (as `process.argv`: the executable and script first) and runs the command. Returns
 * the exit code: a command-line error (unknown option, missing argument) is 2.
 *
 * @since 0.1.0
 * @category cli
 */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode, never, Output | CliApp.CliApp.Environment> =>
  Effect.gen(function*() {
    const exit = yield* Ref.make<ExitCode>(0)
    const cli = Command.run(command(exit), { name: "msgraph-batch", version: "0.1.0" })
    return yield* cli(argv).pipe(
      Effect.zipRight(Ref.get(exit)),
      Effect.catchIf(CliValidationError.isValidationError, (e) => Effect.succeed(CliValidationError.isHelpRequested(e) ? 0 as const : 2 as const))
    )
  })
