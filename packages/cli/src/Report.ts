/**
 * What a run printed: one JSON object (`--json`) or a human summary table, from the client's
 * `Summary`, the static plan's lower bounds, the duration bound and, when the emulator ran the
 * workload, its audit report.
 *
 * @since 0.1.0
 */
import type { DependencyResolver, GraphClient } from "@effect-msgraph/core"
import type { Audit } from "@effect-msgraph/emulator"
import * as LowerBound from "./LowerBound.js"
import { escape } from "./Output.js"

/**
 * One failed request in the report: why it failed, with what the error carries.
 *
 * - `error`: the error's tag (`GraphRequestError`, `Throttled`, `DependencyFailed`,
 *   `UnknownOutcome`, a batch-level tag such as `BatchServerError`, or a rule refused before sending);
 * - `status`: the HTTP status the error carries, or `null`;
 * - `code`: Graph's `error.code` (`GraphRequestError`, and `BatchRejected` when its body had a Graph
 *   error), or `null`;
 * - `message`: the reason in words: Graph's `error.message`, the batch failure, the attempts and
 *   the last Retry-After, the failed dependency, or why the outcome is unknown;
 * - `attempts`: the sends the request took (0: never sent);
 * - `dependency`: for `DependencyFailed`, the dependency that failed; otherwise `null`;
 * - `retryAfterMillis`: the Retry-After Graph gave in its last answer (`Throttled`,
 *   `BatchServerError`), or `null`;
 * - `requestId`: Graph's `request-id` for Microsoft support (`GraphRequestError`), or `null`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FailureReport {
  readonly id: string
  readonly error: string
  readonly status: number | null
  readonly code: string | null
  readonly message: string
  readonly attempts: number
  readonly dependency: string | null
  readonly retryAfterMillis: number | null
  readonly requestId: string | null
}

/**
 * The `--json` object: the client's `Summary` (without its tag) and more. Audit fields are `null`
 * when no emulator audited the run (`run` against a real endpoint). `efficiency` is
 * `durationLowerBoundMs / durationMs` (1 when both are 0), and `null` when it says nothing: some
 * request failed (the run did less work than the bound counts), or the bound is 0 while the run took
 * time (see {@link efficiency}). `failures` lists every failed request.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunReport extends Omit<GraphClient.Summary, "_tag"> {
  readonly command: "simulate" | "run" | "plan"
  readonly file: string
  readonly batchLowerBound: number
  readonly roundTripLowerBound: number
  readonly durationLowerBoundMs: number
  readonly efficiency: number | null
  readonly bottleneck: {
    readonly entryId: string
    readonly key: string
    readonly limit: string
    readonly cost: number
    readonly boundMs: number
  } | null
  /**
   * What attains `durationLowerBoundMs`, or `null` when it is 0: `kind` is `limit` (a window or
   * token bucket), `criticalPath` (the heaviest chain of dependent requests at each service's least
   * latency, with its round trips) or `concurrency` (a concurrency-limited bucket's requests × least
   * latency ÷ permits); `name` the catalogue entry (or `dependencies`), `key` the bucket (or `null`),
   * `detail` the figures in words.
   */
  readonly boundBy: {
    readonly kind: LowerBound.Binding["kind"]
    readonly name: string
    readonly key: string | null
    readonly detail: string
    readonly ms: number
  } | null
  readonly limitViolations: number | null
  readonly duplicateExecutions: number | null
  readonly orderViolations: number | null
  readonly admission: string
  readonly failures: ReadonlyArray<FailureReport>
  readonly settings: Readonly<Record<string, string | number | boolean>>
  /**
   * Requests without an outcome: `requests - succeeded - failed`. Always 0 unless the run was
   * stopped early: by a signal, or because its `--out` results could no longer be written.
   */
  readonly notRun: number
  /** The signal that stopped the run early, or `null`. */
  readonly interrupted: "SIGINT" | "SIGTERM" | null
  /** `run` with a journal: what it held and what became of it; otherwise `null`. */
  readonly journal: JournalReport | null
}

/**
 * The journal of a `run`:
 * - `file`: where it is;
 * - `resumed`: whether the run went on with an earlier one (`--resume`);
 * - `earlier`, `earlierFailed`: requests that already had an outcome in it (not sent again, and
 *   not counted in `requests`), and how many of them failed;
 * - `sentWithoutOutcome`: requests it had sent without an outcome;
 * - `unknown`: those of them that may not be resent, ended `UnknownOutcome` without being sent
 *   (0 with `--resend-unknown`, which sends them again: `resendUnknown`).
 *
 * @since 0.1.0
 * @category models
 */
export interface JournalReport {
  readonly file: string
  readonly resumed: boolean
  readonly earlier: number
  readonly earlierFailed: number
  readonly sentWithoutOutcome: number
  readonly unknown: number
  readonly resendUnknown: boolean
}

const retryAfterText = (ms: number | undefined): string => (ms === undefined ? "" : `, last Retry-After ${duration(ms)}`)

/** The reason in words, without the id (the report prints the id beside it). */
const reasonOf = (error: GraphClient.OutcomeError): string => {
  switch (error._tag) {
    case "GraphRequestError":
      return error.message === "" ? "the answer had no Graph error message" : error.message
    case "Throttled": {
      const attempts = `${error.attempts} attempt${error.attempts === 1 ? "" : "s"}`
      if (error.reason !== "Deadline") return `still answered ${error.status} after ${attempts}${retryAfterText(error.retryAfterMillis)}`
      // ended by --deadline: never answered (it waited to be sent), or not sent again in time
      return error.status === 0
        ? "not sent before the deadline"
        : `answered ${error.status} after ${attempts}; the deadline came before it could be sent again${retryAfterText(error.retryAfterMillis)}`
    }
    case "DependencyFailed":
      // 424: the dependency was itself not run, because of a failure further up the chain
      return error.status === 424
        ? `not run: its dependency ${error.dependency} was not run either (424)`
        : `not run: its dependency ${error.dependency} failed with ${error.status}`
    case "UnknownOutcome":
      return `${error.method} sent, may or may not have run: ${error.detail ?? error.cause}`
    case "BatchServerError":
      return `${error.message}${retryAfterText(error.retryAfterMillis)}`
    case "InvalidRequest":
      return `refused before sending: invalid ${error.reason} (${error.method} ${error.url})`
    default:
      return error.message === "" ? error._tag : error.message
  }
}

/**
 * A failure as the report keeps it: small, and everything the error says about why.
 *
 * @since 0.1.0
 * @category formatting
 */
export const failureOf = (failure: GraphClient.Failure): FailureReport => {
  const error = failure.error
  const status = "status" in error && typeof error.status === "number" ? error.status : null
  const code = error._tag === "GraphRequestError"
    ? (error.code === "" ? null : error.code)
    : error._tag === "BatchRejected"
    ? (error.error?.code ?? null)
    : null
  const retryAfterMillis = error._tag === "Throttled" || error._tag === "BatchServerError" ? error.retryAfterMillis ?? null : null
  return {
    id: failure.id,
    error: error._tag,
    status,
    code,
    message: reasonOf(error),
    attempts: failure.attempts,
    dependency: error._tag === "DependencyFailed" ? error.dependency : null,
    retryAfterMillis,
    requestId: error._tag === "GraphRequestError" ? error.requestId ?? null : null
  }
}

/**
 * `lower bound ÷ duration`, rounded to 4 places; 1 when both are 0. `null` when the ratio says
 * nothing: requests failed, the run took no time against a positive bound, or the bound is 0 while
 * the run took time (a bound of 0 measures nothing, so `0` would read as the worst efficiency).
 *
 * @since 0.1.0
 * @category formatting
 */
export const efficiency = (summary: Pick<GraphClient.Summary, "failed" | "durationMs">, boundMs: number): number | null => {
  if (summary.failed > 0) return null
  if (summary.durationMs <= 0) return boundMs <= 0 ? 1 : null
  if (boundMs <= 0) return null
  return Math.round((boundMs / summary.durationMs) * 10_000) / 10_000
}

const boundByOf = (by: LowerBound.Binding | undefined): RunReport["boundBy"] => {
  if (by === undefined) return null
  const words = LowerBound.describeBinding(by)
  return { kind: by.kind, name: words.name, key: by.kind === "criticalPath" ? null : by.bucket.key, detail: words.detail, ms: Math.ceil(by.ms) }
}

/**
 * The table's rows for time: the duration against the lower bound and the efficiency, then what
 * bounds it (the kind, then the bucket or path in words, escaped). `label` names the duration row
 * (`plan` says `Predicted duration`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const timeRows = (
  report: Pick<RunReport, "durationMs" | "durationLowerBoundMs" | "efficiency" | "boundBy">,
  label = "Duration"
): ReadonlyArray<readonly [string, string, string]> => [
  [
    label,
    duration(report.durationMs),
    `lower bound ${duration(report.durationLowerBoundMs)}${report.efficiency === null ? "" : `, efficiency ${(report.efficiency * 100).toFixed(1)}%`}`
  ],
  report.boundBy === null
    ? ["Bound by", "nothing", "no limit, latency or concurrency forces a wait"]
    : [
      "Bound by",
      report.boundBy.kind === "criticalPath" ? "critical path" : report.boundBy.kind,
      report.boundBy.kind === "criticalPath"
        ? escape(report.boundBy.detail)
        : `${escape(report.boundBy.name)}, ${escape(report.boundBy.detail)}`
    ]
]

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: {
  readonly command: RunReport["command"]
  readonly file: string
  readonly summary: GraphClient.Summary
  readonly plan: DependencyResolver.Plan
  readonly bound: LowerBound.DurationBound
  readonly audit: Audit.Report | undefined
  readonly admission: string
  /** Every failure, as {@link failureOf} keeps it. */
  readonly failures: ReadonlyArray<FailureReport>
  readonly settings: RunReport["settings"]
  readonly interrupted?: "SIGINT" | "SIGTERM" | undefined
  readonly journal?: JournalReport | undefined
}): RunReport => {
  const { bound, summary } = input
  const top = bound.bottleneck
  return {
    command: input.command,
    file: input.file,
    requests: summary.requests,
    succeeded: summary.succeeded,
    failed: summary.failed,
    throttled429: summary.throttled429,
    retries: summary.retries,
    batches: summary.batches,
    batchLowerBound: input.plan.lowerBound.batches,
    roundTrips: summary.roundTrips,
    roundTripLowerBound: input.plan.lowerBound.roundTrips,
    durationMs: summary.durationMs,
    ...(summary.inFlight === undefined ? {} : { inFlight: summary.inFlight }),
    durationLowerBoundMs: Math.ceil(bound.ms),
    efficiency: efficiency(summary, bound.ms),
    bottleneck: top === undefined
      ? null
      : { entryId: top.entryId, key: top.key, limit: LowerBound.describeLimit(top.limit), cost: top.cost, boundMs: Math.ceil(top.boundMs) },
    boundBy: boundByOf(bound.by),
    limitViolations: input.audit?.limitViolations ?? null,
    duplicateExecutions: input.audit?.duplicateExecutions ?? null,
    orderViolations: input.audit?.orderViolations ?? null,
    admission: input.admission,
    failures: input.failures,
    settings: input.settings,
    notRun: summary.requests - summary.succeeded - summary.failed,
    interrupted: input.interrupted ?? null,
    journal: input.journal ?? null
  }
}

/**
 * A duration for people: `850 ms`, `12.4 s`, `10 min 3 s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const duration = (ms: number): string => {
  // each unit is chosen after rounding, so that 999.6 ms reads 1.0 s and 179.6 s reads 3 min, not
  // "1000 ms" or "2 min 60 s"
  if (Math.round(ms) < 1_000) return `${Math.round(ms)} ms`
  if (Math.round(ms / 100) < 600) return `${(ms / 1_000).toFixed(1)} s`
  const wholeSeconds = Math.round(ms / 1_000)
  const minutes = Math.floor(wholeSeconds / 60)
  const seconds = wholeSeconds % 60
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`
}

const n = (x: number) => x.toLocaleString("en-US")

/**
 * Rows of label / value / comparison, aligned in columns.
 *
 * @since 0.1.0
 * @category formatting
 */
export const table = (rows: ReadonlyArray<readonly [string, string, string]>): string => {
  const w0 = Math.max(...rows.map((r) => r[0].length))
  const w1 = Math.max(...rows.map((r) => r[1].length))
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}${c === "" ? "" : `  ${c}`}`.trimEnd()).join("\n") + "\n"
}

/** Failure groups listed in the table, and examples listed per group; `--json` has them all. */
const shownGroups = 10
const shownExamples = 5

/**
 * The failures grouped by error, status and code, largest group first (first seen first among
 * equals), each with its count and at most 5 examples (id and reason). At most 10 groups are shown.
 * Ids, codes and reasons are escaped ({@link Output.escape}).
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderFailures = (failures: ReadonlyArray<FailureReport>): string => {
  if (failures.length === 0) return ""
  const groups = new Map<string, { readonly label: string; count: number; readonly examples: Array<FailureReport> }>()
  for (const failure of failures) {
    const label = [failure.error, failure.status === null ? "" : String(failure.status), failure.code ?? ""].filter((part) => part !== "").join(" ")
    const group = groups.get(label) ?? { label, count: 0, examples: [] }
    group.count++
    if (group.examples.length < shownExamples) group.examples.push(failure)
    groups.set(label, group)
  }
  const sorted = [...groups.values()].sort((a, b) => b.count - a.count)
  const lines = [`Failures (${n(failures.length)}, by error and code; --json lists them all):`]
  for (const group of sorted.slice(0, shownGroups)) {
    lines.push(`  ${escape(group.label)}: ${n(group.count)}`)
    for (const f of group.examples) lines.push(`    ${escape(f.id)}: ${escape(f.message)}`)
    if (group.count > group.examples.length) lines.push(`    ... and ${n(group.count - group.examples.length)} more`)
  }
  if (sorted.length > shownGroups) {
    const rest = sorted.slice(shownGroups).reduce((sum, g) => sum + g.count, 0)
    lines.push(`  ... ${n(sorted.length - shownGroups)} more groups, ${n(rest)} failures`)
  }
  return `${lines.join("\n")}\n`
}

/**
 * `run`'s last line: the predicted duration next to the actual one, and `predicted ÷ actual`.
 * Nothing when there is no prediction (the run was stopped early).
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderPrediction = (predictedMs: number | null, actualMs: number): string =>
  predictedMs === null
    ? ""
    : `Predicted ${duration(predictedMs)}, actual ${duration(actualMs)} (predicted ÷ actual ${
      actualMs > 0 ? (predictedMs / actualMs).toFixed(2) : "n/a"
    })\n`

/**
 * The line `run` prints instead of its prediction when the run had more requests than it predicts
 * (`--predict-up-to`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderUnpredicted = (requests: number, upTo: number): string =>
  upTo === 0
    ? `Not predicted (--predict-up-to 0); plan predicts a workload before it runs\n`
    : `Not predicted: ${requests.toLocaleString("en-US")} requests, over ${
      upTo.toLocaleString("en-US")
    } (--predict-up-to); plan predicts a workload before it runs\n`

/**
 * What `run` measured of the latency (`Calibration.ObservedLatency`): the round trip, then each
 * service's items, as p50 / p90 / p99. Nothing when no `$batch` call was timed.
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderObserved = (observed: {
  readonly roundTrip: Quantiles
  readonly services: Readonly<Partial<Record<string, Quantiles>>>
}): string => {
  if (observed.roundTrip.count === 0) return ""
  const q = (x: Quantiles) => `${duration(x.p50)} / ${duration(x.p90)} / ${duration(x.p99)}`
  const services = Object.entries(observed.services).flatMap(([name, x]) => x === undefined ? [] : [`${name} ${q(x)} (${n(x.count)} items)`])
  return `Observed latency (p50 / p90 / p99): round trip ${q(observed.roundTrip)} (${n(observed.roundTrip.count)} calls)${
    services.length === 0 ? "" : `; ${services.join("; ")}`
  }\n`
}

interface Quantiles {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

/**
 * The human summary table, then the failures ({@link renderFailures}).
 *
 * @since 0.1.0
 * @category formatting
 */
export const render = (report: RunReport): string => {
  const rows: Array<readonly [string, string, string]> = [
    ["Requests", n(report.requests), `succeeded ${n(report.succeeded)}, failed ${n(report.failed)}`],
    ["429s", n(report.throttled429), `retries ${n(report.retries)}`],
    ["Batches", n(report.batches), `lower bound ${n(report.batchLowerBound)}`],
    ["Round trips", n(report.roundTrips), `lower bound ${n(report.roundTripLowerBound)}`],
    ...(report.inFlight === undefined
      ? []
      : [["In flight", n(report.inFlight.peak), `most $batch calls at once; limit ${n(report.inFlight.limit)} at the end`] as const]),
    ...timeRows(report)
  ]
  if (report.limitViolations !== null) {
    rows.push(["Limit violations", n(report.limitViolations), "against the documented limits"])
    rows.push(["Duplicates", n(report.duplicateExecutions ?? 0), `order violations ${n(report.orderViolations ?? 0)}`])
  }
  rows.push(["Admission", "", report.admission])
  if (report.interrupted !== null || report.notRun > 0) {
    rows.push(["Not run", n(report.notRun), `stopped by ${report.interrupted ?? "the client"} before they ended`])
  }
  if (report.journal?.resumed === true) {
    const j = report.journal
    rows.push(["Resumed", n(j.earlier), `earlier outcomes in ${escape(j.file)} (${n(j.earlierFailed)} failed), not sent again`])
    if (j.sentWithoutOutcome > 0) {
      rows.push([
        "Sent, no outcome",
        n(j.sentWithoutOutcome),
        j.resendUnknown
          ? "sent again (--resend-unknown)"
          : `resendable ones sent again; ${n(j.unknown)} that may not be resent reported UnknownOutcome (--resend-unknown sends them)`
      ])
    }
  }
  const failures = renderFailures(report.failures)
  return table(rows) + (failures === "" ? "" : `\n${failures}`)
}
