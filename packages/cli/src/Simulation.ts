/**
 * Runs a workload against the in-process emulator in virtual time: the client and the emulator
 * live in one `VirtualClock` world, whose time jumps from one pending sleep to the next (a
 * Retry-After, a backoff, a latency, a window opening) as soon as every fiber waits, so an hour of
 * throttled traffic takes seconds. `durationMs` in the result is virtual time.
 *
 * `stricter: F` makes the emulator enforce `1/F` of every documented limit (its `multiplier`
 * option); the client is not told. `limitViolations` is still judged against the documented limits.
 *
 * @since 0.1.0
 */
import { type DependencyResolver, GraphClient, TokenProvider, type ValidationError, VirtualClock, type Workload } from "@effect-msgraph/core"
import { type Audit, Emulator, Faults } from "@effect-msgraph/emulator"
import { Effect, Layer, Stream } from "effect"
import { admissionLayer, admissionName } from "./internal/admission.js"
import * as LowerBound from "./LowerBound.js"

/**
 * Named fault profiles for `--faults`: `Faults.profiles` of the emulator package, which its
 * `msgraph-emulator` command shares.
 *
 * @since 0.1.0
 * @category faults
 */
export const faultProfiles = Faults.profiles

/**
 * @since 0.1.0
 * @category faults
 */
export type FaultProfile = keyof typeof faultProfiles

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The emulated tenant's size (default `M`). */
  readonly tenantSize?: "S" | "M" | "L"
  /** Enforce `1/F` of every documented limit (default 1: the documented limits). Must be positive. */
  readonly stricter?: number
  readonly faults?: FaultProfile | Faults.Faults
  readonly seed?: number
  /** Licences per SKU; default: enough for every `assignLicense` request in the workload (at least 25). */
  readonly licenses?: number
  /** `none` (default) or `realistic` per-service latencies, in virtual time. */
  readonly latency?: "none" | "realistic"
  readonly client?: GraphClient.GraphClient.Options
  /** Send without client-side throttling, relying on Retry-After (default false). */
  readonly unthrottled?: boolean
  /** Called with every settled request, in order. */
  readonly onOutcome?: (outcome: GraphClient.Outcome) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly summary: GraphClient.Summary
  readonly report: Audit.Report
  readonly bound: LowerBound.DurationBound
  /** Every failure, in the order the requests settled. */
  readonly failures: ReadonlyArray<GraphClient.Failure>
  readonly admission: string
  readonly multiplier: number
}

/**
 * The resolver's options for a simulated latency: with `realistic`, each request's expected latency
 * in the emulator (its service's `baseMillis + jitterMillis / 2`, by `Emulator.serviceOf`), no
 * per-call cost (the in-process emulator has no network), and the client's concurrency (default 4);
 * `auto` then picks the plan with the shorter estimated duration. With `none`, no latency model:
 * `auto` picks the fewest round trips.
 *
 * @since 0.1.0
 * @category latency
 */
export const planningOptions = (
  latency: "none" | "realistic",
  client: GraphClient.GraphClient.Options = {}
): DependencyResolver.DependencyResolver.Options =>
  latency === "none" ? {} : {
    latency: {
      perItemMillis: (request) => {
        const model = Emulator.realisticLatency[Emulator.serviceOf(request.url)]
        return model.baseMillis + model.jitterMillis / 2
      }
    },
    concurrency: client.concurrency ?? 4
  }

/**
 * The least time the workload's heaviest dependency path took in a run, from the emulator's audit:
 * each request the emulator executed at least once took at least its service's `baseMillis`; a
 * request never executed took nothing.
 *
 * @since 0.1.0
 * @category latency
 */
export const criticalPathMs = (
  workload: Workload.Workload,
  entries: ReadonlyArray<Audit.AuditEntry>,
  latency: "none" | "realistic"
): number => {
  if (latency === "none") return 0
  const executed = new Map<string, number>()
  for (const entry of entries) {
    if (!entry.executed || entry.itemId === undefined) continue
    const model = Emulator.realisticLatency[entry.service as Emulator.ServiceName]
    if (model !== undefined) executed.set(entry.itemId.toLowerCase(), model.baseMillis)
  }
  return LowerBound.criticalPathMs(workload, (request) => executed.get(request.id.toLowerCase()) ?? 0)
}

/**
 * Licences the emulator needs so that every `assignLicense` of the workload can succeed.
 *
 * @since 0.1.0
 * @category options
 */
export const licensesFor = (workload: Workload.Workload): number =>
  Math.max(25, workload.filter((r) => /\/assignLicense(\?|$)/i.test(r.url)).length)

/**
 * Runs the effect in a new virtual world (`VirtualClock.run`, time 0): whenever every fiber of the
 * effect waits, time jumps to the earliest pending sleep. Layers the effect builds (the client, the
 * emulator, admission) live in the same world, so build them inside. Dies if the effect waits on
 * something virtual time cannot wake.
 *
 * @since 0.1.0
 * @category virtual time
 */
export const driveClock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  VirtualClock.run(effect).pipe(Effect.catchTag("VirtualClockStalled", (stalled) => Effect.die(stalled)))

/**
 * Runs the workload against a fresh in-process emulator in virtual time.
 *
 * @since 0.1.0
 * @category simulation
 */
export const simulate = (
  workload: Workload.Workload,
  options: Options = {}
): Effect.Effect<Result, Emulator.InvalidOptions | ValidationError.WorkloadError> => {
  const tenantSize = options.tenantSize ?? "M"
  const multiplier = 1 / (options.stricter ?? 1)
  const latency = options.latency ?? "none"
  const faults = typeof options.faults === "string" ? faultProfiles[options.faults] : options.faults ?? {}
  const emulator = Emulator.layerTest({
    tenantSize,
    seed: options.seed ?? 0,
    multiplier,
    faults,
    latency,
    licenses: options.licenses ?? licensesFor(workload)
  })
  // the client plans knowing the simulated latency, as `plan` does
  const client = GraphClient.layer({
    ...options.client,
    planning: options.client?.planning ?? planningOptions(latency, options.client)
  }).pipe(
    Layer.provide(Layer.mergeAll(
      TokenProvider.layerStatic("simulated-token"),
      admissionLayer({ tenantSize, delegated: true, identity: Emulator.defaultIdentity, unthrottled: options.unthrottled })
    )),
    Layer.provideMerge(emulator)
  )
  const onOutcome = options.onOutcome ?? (() => Effect.void)
  return driveClock(Effect.gen(function*() {
    const graph = yield* GraphClient.GraphClient
    const failures: Array<GraphClient.Failure> = []
    const summary = yield* graph.run(workload).pipe(
      Stream.runFoldEffect(undefined as GraphClient.Summary | undefined, (last, event) => {
        if (event._tag === "Summary") return Effect.succeed(event)
        if (event._tag === "Failure") failures.push(event)
        return Effect.as(onOutcome(event), last)
      })
    )
    if (summary === undefined) return yield* Effect.dieMessage("the client ended without a summary")
    const report = yield* Emulator.report
    const entries = yield* Emulator.audit
    const bound = LowerBound.fromAudit(entries, {
      multiplier: () => multiplier,
      criticalPathMs: criticalPathMs(workload, entries, latency)
    })
    return { summary, report, bound, failures, admission: admissionName(options), multiplier } satisfies Result
  }).pipe(Effect.provide(client))).pipe(
    Effect.withSpan("Simulation.simulate", { attributes: { requests: workload.length, tenantSize, multiplier } })
  )
}
