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
import { type Admission, type DependencyResolver, GraphClient, TokenProvider, type ValidationError, VirtualClock, type Workload } from "@effect-msgraph/core"
import { type Audit, Emulator, Faults, Latency } from "@effect-msgraph/emulator"
import { HttpClient } from "@effect/platform"
import { Effect, Layer, Stream } from "effect"
import * as Calibration from "./Calibration.js"
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
 * A latency model by name (`Latency.profiles`) or as data.
 *
 * @since 0.1.0
 * @category latency
 */
export type LatencyOption = "none" | "realistic" | Latency.Profile

/**
 * The profile a latency option stands for.
 *
 * @since 0.1.0
 * @category latency
 */
export const latencyProfile = (latency: LatencyOption = "realistic"): Latency.Profile =>
  typeof latency === "string" ? Latency.profiles[latency] : latency

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
  /**
   * How long Graph takes, in virtual time: `realistic` (the default, `Latency.realistic`, as `serve`
   * uses), `none`, or a whole `Latency.Profile`.
   */
  readonly latency?: LatencyOption
  /**
   * What the client assumes Graph takes at least (`Admission.LeastLatency`): by default the
   * simulated model's least ({@link leastLatencyOf}), which it never goes below.
   */
  readonly leastLatency?: Admission.LeastLatency
  readonly client?: GraphClient.GraphClient.Options
  /** Send without client-side throttling, relying on Retry-After (default false). */
  readonly unthrottled?: boolean
  /** Called with every settled request, in order. */
  readonly onOutcome?: (outcome: GraphClient.Outcome) => Effect.Effect<void>
  /**
   * Times every `$batch` call in virtual time, as `run` does in real time
   * (`Calibration.observing`): a calibration of the simulated emulator.
   */
  readonly observe?: Calibration.Observer
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
 * The resolver's options for a simulated latency: each request's expected item latency under the
 * profile (its service's `baseMillis + jitterMillis / 2`, by `Latency.serviceOf`), the expected cost
 * of a round trip, and the client's fixed `concurrency`, or else 4 (where its adaptive in-flight limit
 * starts: the estimate does not model the limit opening beyond it); `auto` then picks the plan with
 * the shorter estimated duration. With `none` (or a profile where nothing takes time) every plan would
 * take no time, so the policy `fewestRoundTrips` (and no estimate) rather than the resolver's
 * default latency model, which would estimate a latency the emulator does not sleep.
 *
 * @since 0.1.0
 * @category latency
 */
export const planningOptions = (
  latency: LatencyOption,
  client: GraphClient.GraphClient.Options = {}
): DependencyResolver.DependencyResolver.Options => {
  const profile = latencyProfile(latency)
  const timed = Latency.takesTime(profile.roundTrip) || Latency.serviceNames.some((s) => Latency.takesTime(profile.services[s]))
  return !timed ? { policy: "fewestRoundTrips" } : {
    latency: {
      perItemMillis: (request) => Latency.expected(Latency.itemOf(profile, request.url)),
      perRoundTripMillis: Latency.expected(profile.roundTrip)
    },
    concurrency: client.concurrency ?? 4
  }
}

/**
 * What the simulated Graph takes at least (`Admission.LeastLatency`): each model's `baseMillis`
 * (`Latency.least`). The emulator sleeps a call's round trip before it counts any of its items, and
 * an item's own latency after counting it, and never less than these: the client in `simulate`
 * knows the model it runs against, as `planningOptions` does.
 *
 * @since 0.1.0
 * @category latency
 */
export const leastLatencyOf = (latency: LatencyOption): Admission.LeastLatency => {
  const profile = latencyProfile(latency)
  return {
    perRoundTripMillis: Latency.least(profile.roundTrip),
    perItemMillis: (request) => Latency.least(Latency.itemOf(profile, request.url))
  }
}

/**
 * A client that assumes Graph takes no time at least: window units dated at the answer, as `run`'s
 * client has them against any endpoint (it cannot know a least that always holds), so `plan` and
 * `run` predict with it.
 *
 * @since 0.1.0
 * @category latency
 */
export const noLeastLatency: Admission.LeastLatency = { perRoundTripMillis: 0, perItemMillis: () => 0 }

/** One pattern for every request (a literal in the loop would be a new RegExp object each time). */
const assignLicense = /\/assignLicense(\?|$)/i

/**
 * Licences the emulator needs so that every `assignLicense` of the workload can succeed.
 *
 * @since 0.1.0
 * @category options
 */
export const licensesFor = (workload: Workload.Workload): number => {
  let assigns = 0
  for (const request of workload) if (assignLicense.test(request.url)) assigns++
  return Math.max(25, assigns)
}

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
  const latency = latencyProfile(options.latency)
  const faults = typeof options.faults === "string" ? faultProfiles[options.faults] : options.faults ?? {}
  const emulator = Emulator.layerTest({
    tenantSize,
    seed: options.seed ?? 0,
    multiplier,
    faults,
    latency,
    licenses: options.licenses ?? licensesFor(workload),
    // the report's violations, duplicates and lower bound read the whole audit: the emulator's
    // default keeps the last 250,000 entries, and a bigger run was judged on its tail alone
    auditCapacity: Number.MAX_SAFE_INTEGER
  })
  // the client plans knowing the simulated latency, as `plan` does
  const observer = options.observe
  const http = observer === undefined
    ? Layer.empty
    : Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, Calibration.observing(observer))).pipe(Layer.provide(emulator))
  const client = GraphClient.layer({
    ...options.client,
    planning: options.client?.planning ?? planningOptions(latency, options.client)
  }).pipe(
    Layer.provide(Layer.mergeAll(
      TokenProvider.layerStatic("simulated-token"),
      admissionLayer({
        tenantSize,
        delegated: true,
        identity: Emulator.defaultIdentity,
        unthrottled: options.unthrottled,
        leastLatency: options.leastLatency ?? leastLatencyOf(latency)
      }),
      http
    )),
    Layer.provideMerge(emulator)
  )
  const onOutcome = options.onOutcome
  return driveClock(Effect.gen(function*() {
    const graph = yield* GraphClient.GraphClient
    const failures: Array<GraphClient.Failure> = []
    let summary: GraphClient.Summary | undefined
    // one step per chunk of events, not per event: without `onOutcome`, a plain loop
    yield* graph.run(workload).pipe(
      Stream.runForEachChunk((chunk) => {
        const settled: Array<GraphClient.Outcome> = []
        for (const event of chunk) {
          if (event._tag === "Summary") {
            summary = event
            continue
          }
          if (event._tag === "Failure") failures.push(event)
          if (onOutcome !== undefined) settled.push(event)
        }
        return settled.length === 0 || onOutcome === undefined ? Effect.void : Effect.forEach(settled, onOutcome, { discard: true })
      })
    )
    if (summary === undefined) return yield* Effect.dieMessage("the client ended without a summary")
    const report = yield* Emulator.report
    const entries = yield* Emulator.audit
    const bound = LowerBound.fromAudit(entries, { multiplier: () => multiplier, latency, workload })
    return { summary, report, bound, failures, admission: admissionName(options), multiplier } satisfies Result
  }).pipe(Effect.provide(client))).pipe(
    Effect.withSpan("Simulation.simulate", { attributes: { requests: workload.length, tenantSize, multiplier } })
  )
}
