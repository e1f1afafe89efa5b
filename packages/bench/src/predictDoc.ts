/**
 * Section (h) of docs/benchmarks.md, predictions against real runs, rendered from the `prediction`
 * rows `predict.ts` merges into `bench/results/workloads.json`. `workloads.ts` appends it whenever it
 * rewrites the page, so the section reads the same whichever ran last.
 *
 * @since 0.1.0
 */
import type { PredictionRow } from "./predict.js"

/**
 * How the rows were measured (`predictionRun` in the results file).
 *
 * @since 0.1.0
 * @category models
 */
export interface PredictionRun {
  readonly startedAt: string
  readonly seed: number
  readonly targetMs: number
  /** The emulator seeds each part was also simulated with (older results: absent). */
  readonly spreadSeeds?: ReadonlyArray<number>
  /** The machine's load average (1, 5 and 15 minutes) when the run ended (older results: absent). */
  readonly load?: ReadonlyArray<number>
}

const fmtMs = (ms: number): string =>
  ms < 1_000 ? `${ms} ms` : ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`

const spreadOf = (p: PredictionRow): string =>
  p.simulatedMs === undefined || p.simulatedMs.length === 0
    ? "—"
    : `${fmtMs(Math.min(...p.simulatedMs))}–${fmtMs(Math.max(...p.simulatedMs))}`

/**
 * The section, or `""` when `npm run bench:predict` has not run.
 *
 * @since 0.1.0
 * @category rendering
 */
export const section = (rows: ReadonlyArray<PredictionRow> | undefined, run: PredictionRun | undefined): string => {
  if (rows === undefined || run === undefined) return ""
  const met = rows.filter((p) => p.withinTarget).length
  const seeds = run.spreadSeeds ?? []
  const load = run.load === undefined ? "" : ` The load average (1, 5, 15 minutes) when it ended: ${run.load.join(", ")}.`
  return `
## (h) Predictions against real runs

Does \`plan\`'s predicted duration hold for a real run? For each example, \`msgraph-batch serve\` runs in
a child process in real time (realistic latency, seed ${run.seed}) and \`msgraph-batch run\`
sends it a part of the example: \`--shard i/n\`, the same part every time, dependency chains kept
whole: the first part \`plan\` predicts to take at most ${fmtMs(run.targetMs)}, \`n\` doubling from the
whole example's prediction ÷ ${fmtMs(run.targetMs)} until one is (a part bound by one busy bucket,
such as a mailbox, does not shrink with \`n\`). \`run\` ends
with the prediction (the same virtual-time simulation \`plan\` runs, on the same part, with the same
latency model, emulator seed 0) next to its actual duration. Run with
\`npm run bench:predict --workspace @effect-msgraph/bench\` (${run.startedAt}); the rows are
\`prediction\` in \`bench/results/workloads.json\`. Target: predicted ÷ actual within ±15%.
**Met on ${met} of ${rows.length} examples.**${load}
${
    seeds.length === 0 ? "" : `
A prediction is one draw: the simulated emulator draws every latency from its seed. "Simulated,
seeds ${seeds[0]}–${seeds[seeds.length - 1]}" is the same part simulated as \`plan\` does with each of those emulator seeds
(\`simulatedMs\` in the results): the spread a single real run is drawn from as well.
`
  }
| workload | part | requests | predicted | actual | predicted ÷ actual | within ±15% | 429s | failed | simulated, seeds ${
    seeds.length === 0 ? "—" : `${seeds[0]}–${seeds[seeds.length - 1]}`
  } |
|---|---|---:|---:|---:|---:|---|---:|---:|---|
${
    rows.map((p) =>
      `| ${p.workload} | ${p.shard} | ${p.requests.toLocaleString("en-US")} | ${fmtMs(p.predictedMs)} | ${fmtMs(p.actualMs)} | ${p.ratio.toFixed(2)} | ${p.withinTarget ? "yes" : "**no**"} | ${p.throttled429} | ${p.failed} | ${spreadOf(p)} |`
    ).join("\n")
  }

The emulator and the client run on the same machine as the benchmark, so the actual durations
carry its load: a busy machine adds time to every real round trip and none to a virtual one, which
shows as a ratio below 1. The real run also spends time the simulation counts as none: the
client's start before its first call (planning the workload, opening a connection).

The prediction is for \`run\`'s client. That client cannot know a least latency that always holds
for a real tenant, so it dates each window unit at its answer; \`plan\` and \`run\`'s prediction
therefore simulate a client that assumes no least latency (\`Simulation.noLeastLatency\`).
\`simulate\` instead assumes its own model's least latencies, and finishes Teams posts sooner
(teams-posting 47.9 s against the 52.8 s that \`plan\` predicts and \`run\` takes). Until
2026-12-03 the prediction used \`simulate\`'s client, and teams-posting's part was predicted at
23.7 s against 27.7 s actual (0.86).

Earlier runs (2026-12-02) missed on mixed (1.19). The cause was a few 429s on its Teams channels,
landing on a different channel from run to run: window units were then dated at admission, and a
post could wait up to 2 s for a send slot. Window units in flight, dated when they are answered,
removed those 429s, and with them the spread: mixed's simulations over seeds 0 to 4 now differ by
less than 4%.
`
}
