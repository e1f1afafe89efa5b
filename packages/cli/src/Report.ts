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

/**
 * The `--json` object: the client's `Summary` (without its tag) and more. Audit fields are `null` when no emulator audited the run (`run` against a
 * real endpoint). `efficiency` is `durationLowerBoundMs / durationMs` (1 when both are 0) and `null`
 * when some request failed, since the run then did less work than the bound counts.
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
  readonly limitViolations: number | null
  readonly duplicateExecutions: number | null
  readonly orderViolations: number | null
  readonly admission: string
  readonly failures: ReadonlyArray<{ readonly id: string; readonly error: string; readonly status: number | null }>
  readonly settings: Readonly<Record<string, string | number | boolean>>
  /**
   * Requests without an outcome: `requests - succeeded - failed`. Always 0 unless the run was
   * stopped by a signal.
   */
  readonly notRun: number
  /** The signal that stopped the run early, or `null`. */
  readonly interrupted: "SIGINT" | "SIGTERM" | null
}

/**
 * A failure in one line: the error's tag and its status when it has one.
 *
 * @since 0.1.0
 * @category formatting
 */
export const failureOf = (failure: GraphClient.Failure): RunReport["failures"][number] => {
  const error = failure.error as { readonly _tag: string; readonly status?: unknown; readonly message?: unknown }
  return {
    id: failure.id,
    error: error._tag,
    status: typeof error.status === "number" ? error.status : null
  }
}

/**
 * `lower bound ÷ duration`, 1 when both are 0, `null` when requests failed.
 *
 * @since 0.1.0
 * @category formatting
 */
export const efficiency = (summary: Pick<GraphClient.Summary, "failed" | "durationMs">, boundMs: number): number | null =>
  summary.failed > 0 ? null : summary.durationMs <= 0 ? (boundMs <= 0 ? 1 : null) : Math.round((boundMs / summary.durationMs) * 10_000) / 10_000

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
  readonly failures: ReadonlyArray<GraphClient.Failure>
  readonly settings: RunReport["settings"]
  readonly interrupted?: "SIGINT" | "SIGTERM" | undefined
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
    durationLowerBoundMs: Math.ceil(bound.ms),
    efficiency: efficiency(summary, bound.ms),
    bottleneck: top === undefined
      ? null
      : { entryId: top.entryId, key: top.key, limit: LowerBound.describeLimit(top.limit), cost: top.cost, boundMs: Math.ceil(top.boundMs) },
    limitViolations: input.audit?.limitViolations ?? null,
    duplicateExecutions: input.audit?.duplicateExecutions ?? null,
    orderViolations: input.audit?.orderViolations ?? null,
    admission: input.admission,
    failures: input.failures.map(failureOf),
    settings: input.settings,
    notRun: summary.requests - summary.succeeded - summary.failed,
    interrupted: input.interrupted ?? null
  }
}

/**
 * A duration for people: `850 ms`, `12.4 s`, `10 min 3 s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const duration = (ms: number): string => {
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1_000)
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

/**
 * The human summary table.
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
    [
      "Duration",
      duration(report.durationMs),
      `lower bound ${duration(report.durationLowerBoundMs)}${report.efficiency === null ? "" : `, efficiency ${(report.efficiency * 100).toFixed(1)}%`}`
    ],
    [
      "Bottleneck",
      report.bottleneck === null ? "none" : report.bottleneck.entryId,
      report.bottleneck === null ? "no limit forces a wait" : `${report.bottleneck.key}: ${n(report.bottleneck.cost)} units at ${report.bottleneck.limit}`
    ]
  ]
  if (report.limitViolations !== null) {
    rows.push(["Limit violations", n(report.limitViolations), "against the documented limits"])
    rows.push(["Duplicates", n(report.duplicateExecutions ?? 0), `order violations ${n(report.orderViolations ?? 0)}`])
  }
  rows.push(["Admission", "", report.admission])
  if (report.interrupted !== null || report.notRun > 0) {
    rows.push(["Not run", n(report.notRun), `stopped by ${report.interrupted ?? "the client"} before they ended`])
  }
  const failures = report.failures.length === 0
    ? ""
    : `\nFirst failures:\n${report.failures.map((f) => `  ${f.id}: ${f.error}${f.status === null ? "" : ` ${f.status}`}`).join("\n")}\n`
  return table(rows) + failures
}
