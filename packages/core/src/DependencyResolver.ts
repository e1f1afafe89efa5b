/**
 * Plans a workload of any size, whose `dependsOn` (and response references) form a DAG, into
 * ordered rounds of Graph-valid batches, and tracks outcomes while it runs.
 *
 * - A request runs only after all of its dependencies succeeded (or failed with a status it
 *   accepts). Inside a batch the order is written as `dependsOn`; across rounds the executor
 *   enforces it by not sending a round before the previous one settled.
 * - No batch holds more than 20 requests, and every batch is fully parallel or fully sequential.
 * - A request that references another's response is always planned into a later round.
 * - When a request fails, every transitive dependent is settled `DependencyFailed` (Graph's 424)
 *   without being sent, except a dependent whose `acceptStatuses` lists the status: it proceeds.
 *
 * Two packing policies are computed and the one with the shorter estimated duration wins, under the
 * latency model given or else {@link defaultLatency} (see docs/batching.md); the policy
 * `fewestRoundTrips` keeps the one with fewer round trips instead. Every plan reports its round
 * trips next to a lower bound.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer } from "effect"
import { BatchBuilder, type BatchShape, validate } from "./BatchBuilder.js"
import type { BatchRequestItem } from "@effect-msgraph/spec/BatchRequest"
import * as idIndex from "./internal/batch/ids.js"
import * as rules from "./internal/batch/rules.js"
import * as bounds from "./internal/batch/bounds.js"
import * as scheduler from "./internal/plan/scheduler.js"
import type * as VE from "./ValidationError.js"
import type { ReferencedResponse, Workload, WorkloadRequest } from "./Workload.js"

/**
 * `waves`: every round is the set of requests whose dependencies are all settled, in parallel
 * batches. `chains`: a round also absorbs dependents reachable through plain `dependsOn` edges, packed
 * into sequential batches.
 *
 * @since 0.1.0
 * @category models
 */
export type PlanPolicy = "waves" | "chains"

/**
 * A batch of a plan; `requests` are ready for the wire (their `dependsOn` encodes the batch's order).
 *
 * @since 0.1.0
 * @category models
 */
export interface PlannedBatch {
  readonly id: string
  readonly round: number
  readonly shape: BatchShape
  readonly requests: ReadonlyArray<BatchRequestItem>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PlannedRound {
  readonly index: number
  readonly batches: ReadonlyArray<PlannedBatch>
}

/**
 * A static plan: the rounds the workload takes when every request succeeds.
 *
 * `roundTrips` counts rounds: sequential waits on the network, each a set of batches sent
 * together. `lowerBound.roundTrips` is the fewest any valid plan can use (see docs/batching.md);
 * `lowerBound.batches` is ⌈requests / 20⌉.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  readonly policy: PlanPolicy
  readonly rounds: ReadonlyArray<PlannedRound>
  readonly requests: number
  readonly batches: number
  readonly roundTrips: number
  readonly lowerBound: { readonly roundTrips: number; readonly batches: number }
  /**
   * The estimated duration of a run that follows this policy and where every request succeeds, in
   * milliseconds (see {@link DependencyResolver.Latency}): under `latency` when it was given, under
   * {@link defaultLatency} when `auto` chose without one; absent otherwise (a forced policy or
   * `fewestRoundTrips` without `latency`).
   */
  readonly estimatedMillis?: number
}

/**
 * How a request settled in a run, as far as ordering is concerned: what its dependents read to
 * know whether they may run. (The request's result, with its response, is a `GraphClient.Outcome`.)
 *
 * @since 0.1.0
 * @category models
 */
export type Settlement =
  | { readonly _tag: "Succeeded"; readonly status: number }
  | { readonly _tag: "Failed"; readonly status: number }
  | { readonly _tag: "DependencyFailed"; readonly dependency: string; readonly status: number }
  | { readonly _tag: "NotSent"; readonly error: VE.InvalidReference | VE.RequestError }

/**
 * One round of a run: batches to send now, and requests settled without being sent because their
 * response references could not be resolved (their dependents are settled too).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunRound {
  readonly index: number
  readonly batches: ReadonlyArray<PlannedBatch>
  /** Requests settled while forming the round: their references could not be resolved. */
  readonly notSent: ReadonlyArray<string>
}

/**
 * How a run spreads what it hands out across affinities (the concurrency buckets a request holds,
 * such as a mailbox's Outlook permits; see {@link regroup}): a ready request whose affinity has no
 * `room` left is passed over and kept, as an index, until its affinity has room again. The requests
 * handed out then cover the affinities admission can serve now, not one affinity's backlog.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spread {
  /** The request's affinity; `undefined` when it has none (it is never passed over). */
  readonly affinity: (request: BatchRequestItem) => string | undefined
  /** How many more requests of this affinity may be handed out now. */
  readonly room: (key: string) => number
}

/**
 * A running workload, owned by one fiber (the executor). Requests handed out by `nextRound` are in
 * flight until the executor reports them with `succeed`, `fail` or `requeue`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Run {
  readonly policy: PlanPolicy
  /** The workload request with this id. */
  readonly request: (id: string) => WorkloadRequest | undefined
  /** Ids of the requests this one depends on (its `dependsOn` and its references). */
  readonly dependencies: (id: string) => ReadonlyArray<string>
  /**
   * Every ready request, packed into batches, with response references substituted; with a
   * `limit`, at most that many requests (the first by priority, then workload order), the others
   * staying ready for the next call, so that a large workload is handed out as it can be sent.
   * With `spread`, a ready request whose affinity has no room left is passed over (and kept, as an
   * index, until its affinity has room), so that one affinity's backlog does not fill the round.
   */
  readonly nextRound: (limit?: number, spread?: Spread) => RunRound
  /**
   * Round trips on the critical path up to this request's latest send (0 before its first), as the
   * executor records them with `setDepth`: one number per request, held by the run.
   */
  readonly depth: (id: string) => number
  readonly setDepth: (id: string, depth: number) => void
  /** A 2xx: dependents may proceed; the response is kept while a pending request references it. */
  readonly succeed: (id: string, response?: ReferencedResponse) => boolean
  /** A final failure: returns the ids of dependents settled `DependencyFailed`. */
  readonly fail: (id: string, status: number, response?: ReferencedResponse) => ReadonlyArray<string>
  /** Back to pending: a retry, or a 424 Graph gave because of packing rather than a real dependency. */
  readonly requeue: (id: string) => boolean
  /** How the request settled, once it has. */
  readonly settlement: (id: string) => Settlement | undefined
  /** Requests not yet settled. */
  readonly pending: () => number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DependencyResolverService {
  readonly plan: (workload: Workload, options?: DependencyResolver.Options) => Effect.Effect<Plan, VE.WorkloadError>
  readonly start: (workload: Workload, options?: DependencyResolver.Options) => Effect.Effect<Run, VE.WorkloadError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class DependencyResolver extends Context.Tag("@effect-msgraph/core/DependencyResolver")<
  DependencyResolver,
  DependencyResolverService
>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace DependencyResolver {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /**
     * `auto` (default) computes both policies and keeps the one with the shorter estimated duration
     * (then fewer round trips, then fewer batches), under `latency` or else {@link defaultLatency}.
     * `fewestRoundTrips` computes both and keeps the one with fewer round trips (then fewer
     * batches), which favours long sequential batches even when Graph runs their items one after
     * another. `waves` or `chains` forces that policy. Every rule keeps waves on a full tie.
     */
    readonly policy?: "auto" | "fewestRoundTrips" | PlanPolicy
    /**
     * A latency model: each plan gets `estimatedMillis`, and `auto` compares plans by it. Default,
     * for `auto` only: {@link defaultLatency}, an assumption; give the figures of your own tenant
     * (measured, or `msgraph-batch`'s calibration) when you have them.
     */
    readonly latency?: Latency
    /**
     * `$batch` calls in flight at once, for the estimate (default 4). `GraphClient` passes its fixed
     * `concurrency`, or 4 when its in-flight limit adapts: where that limit starts, and the fixed
     * default of earlier versions. The estimate holds this number for the whole replay, so it does
     * not model an adaptive limit opening (under a pacing admission, to a quarter of the client's
     * `maxConcurrency`: 16 calls by default) or growing, and overstates a run whose limit opens. Values below 1 count as 1; fractions are rounded down.
     */
    readonly concurrency?: number
  }

  /**
   * How long Graph takes, for the duration estimate. The estimate replays a run in which every
   * request succeeds, as the pipelined executor sends it: a batch goes out as soon as its requests
   * are ready and one of `concurrency` calls is free (first come, first served), and takes
   * `perRoundTripMillis` plus, for a parallel batch, its slowest request, for a sequential one
   * (`serial` or `same`), the sum of its requests. Throttling, retries and Graph's own limits on the
   * parallelism inside a batch (Outlook runs four items at a time) are not modelled.
   *
   * Times that are not finite non-negative numbers count as 0.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Latency {
    /** Milliseconds Graph spends on one request: one figure for all, or by request. */
    readonly perItemMillis: number | ((request: WorkloadRequest) => number)
    /** Milliseconds every `$batch` call adds whatever it holds: network and authentication (default 0). */
    readonly perRoundTripMillis?: number
  }
}

/**
 * The latency model `auto` assumes when given none: 120 ms for every request and 75 ms for every
 * `$batch` call. These are assumptions, not measurements (Microsoft publishes no latency figures for
 * Graph): the expected costs of the emulator's realistic profile (`Latency.realistic` of
 * `@effect-msgraph/emulator`, whose figures docs/emulator.md, "Latency", explains): 75 ms is its
 * round trip (50 ms plus up to 50 ms), 120 ms its item latency for a request of no particular
 * service (40 ms plus up to 160 ms), between a directory request (90 ms) and an Outlook one
 * (180 ms). One figure for every request keeps the default coarse: the emulator's per-service
 * figures need its URL classification, which this package does not share. Scaling both figures
 * scales every estimate alike, so only their ratio decides between the policies.
 *
 * The emulator does not depend on this package, so the figures are written twice; a test of the
 * CLI package (which depends on both) checks that they agree.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLatency: DependencyResolver.Latency = { perItemMillis: 120, perRoundTripMillis: 75 }

/**
 * A whole plan, every planned batch validated against Graph's rules (a failure is a planner
 * defect). A run's choice of policy uses {@link countedPlan} instead.
 */
const staticPlan = (prepared: scheduler.Prepared, policy: PlanPolicy, settings: rules.Settings): Plan => {
  const run = new scheduler.Scheduler(prepared, policy, settings, false)
  const rounds: Array<PlannedRound> = []
  let batches = 0
  while (run.pending > 0) {
    const round = run.nextRound()
    if (round.batches.length === 0) throw new Error("planner made no progress on an acyclic workload")
    for (const batch of round.batches) {
      // Every planned batch must satisfy Graph's rules; a failure here is a planner defect.
      const checked = validate(batch.requests, { host: settings.host, version: settings.version })
      if (Either.isLeft(checked)) throw new Error(`planner produced an invalid batch: ${checked.left.message}`)
      for (const item of batch.requests) run.succeed(prepared.index.get(rules.idKey(item.id))!)
    }
    batches += round.batches.length
    rounds.push({ index: round.index, batches: round.batches })
  }
  const requests = prepared.workload.length
  return {
    policy,
    rounds,
    requests,
    batches,
    roundTrips: rounds.length,
    lowerBound: { roundTrips: scheduler.roundLowerBound(prepared), batches: Math.ceil(requests / scheduler.MAX) }
  }
}

/**
 * A plan's figures without its rounds (`rounds` is empty), unchecked: a run's choice of policy only
 * counts (the executor validates every batch it sends anyway), so that choosing a policy never
 * holds a copy of the workload.
 */
const countedPlan = (prepared: scheduler.Prepared, policy: PlanPolicy, settings: rules.Settings): Plan => {
  const run = new scheduler.Scheduler(prepared, policy, settings, false)
  let roundTrips = 0
  let batches = 0
  while (run.pending > 0) {
    const round = run.nextGroups()
    if (round.groups.length === 0) throw new Error("planner made no progress on an acyclic workload")
    for (const group of round.groups) for (const v of group.members) run.succeed(v)
    batches += round.groups.length
    roundTrips++
  }
  const requests = prepared.workload.length
  return {
    policy,
    rounds: [],
    requests,
    batches,
    roundTrips,
    lowerBound: { roundTrips: scheduler.roundLowerBound(prepared), batches: Math.ceil(requests / scheduler.MAX) }
  }
}

const time = (ms: number): number => (Number.isFinite(ms) && ms > 0 ? ms : 0)

const timingOf = (
  prepared: scheduler.Prepared,
  workload: Workload,
  latency: DependencyResolver.Latency | undefined,
  options: DependencyResolver.Options
): scheduler.Timing | undefined => {
  if (latency === undefined) return undefined
  const per = latency.perItemMillis
  const itemMillis = new Float64Array(prepared.workload.length)
  if (typeof per === "number") itemMillis.fill(time(per))
  else for (let v = 0; v < itemMillis.length; v++) itemMillis[v] = time(per(workload[v]!))
  const concurrency = options.concurrency
  return {
    itemMillis,
    roundTripMillis: time(latency.perRoundTripMillis ?? 0),
    concurrency: concurrency !== undefined && Number.isFinite(concurrency) ? Math.max(1, Math.floor(concurrency)) : 4
  }
}

const lazy = <A>(f: () => A): () => A => {
  let done = false
  let value: A
  return () => {
    if (!done) {
      value = f()
      done = true
    }
    return value
  }
}

/** One policy's figures, each computed at most once and only when the choice needs it. */
interface Candidate {
  readonly policy: PlanPolicy
  readonly estimate: () => number | undefined
  readonly counts: () => Plan
}

/**
 * The rule of `auto` (`byEstimate`) and of `fewestRoundTrips`: the shorter estimate when both
 * plans have one and they differ, else fewer round trips, then fewer batches; `a` on a tie.
 */
const pick = (a: Candidate, b: Candidate, byEstimate: boolean): Candidate => {
  if (byEstimate) {
    const ea = a.estimate()
    const eb = b.estimate()
    if (ea !== undefined && eb !== undefined && ea !== eb) return eb < ea ? b : a
  }
  const pa = a.counts()
  const pb = b.counts()
  return pb.roundTrips < pa.roundTrips || (pb.roundTrips === pa.roundTrips && pb.batches < pa.batches) ? b : a
}

/**
 * The policy the options choose. `whole`: candidates are whole checked plans (for `plan`), else
 * counted ones (for `start`, which only needs the policy). Nothing is computed before the choice
 * asks for it: a forced policy, or a workload without dependencies, costs nothing here.
 */
const choose = (
  prepared: scheduler.Prepared,
  settings: rules.Settings,
  workload: Workload,
  options: DependencyResolver.Options,
  whole: boolean
): Candidate => {
  const policy = options.policy ?? "auto"
  const latency = options.latency ?? (policy === "auto" ? defaultLatency : undefined)
  const timing = lazy(() => timingOf(prepared, workload, latency, options))
  const of = (p: PlanPolicy): Candidate => ({
    policy: p,
    estimate: lazy(() => {
      const t = timing()
      return t === undefined ? undefined : scheduler.estimateMillis(prepared, p, settings, t)
    }),
    counts: lazy(() => whole ? staticPlan(prepared, p, settings) : countedPlan(prepared, p, settings))
  })
  if (policy === "waves" || policy === "chains") return of(policy)
  // without dependencies both policies make the same batches, and a tie keeps waves
  if (prepared.deps.size === 0) return of("waves")
  // waves first: on a tie it keeps parallel batches, which couple no unrelated requests
  return pick(of("waves"), of("chains"), policy === "auto")
}

/** The chosen plan, with its estimate when there is a latency model. */
const planned = (chosen: Candidate): Plan => {
  const plan = chosen.counts()
  const estimatedMillis = chosen.estimate()
  return estimatedMillis === undefined ? plan : { ...plan, estimatedMillis }
}

const noIds: ReadonlyArray<string> = Object.freeze([])

const makeRun = (prepared: scheduler.Prepared, policy: PlanPolicy, settings: rules.Settings, workload: Workload): Run => {
  const s = new scheduler.Scheduler(prepared, policy, settings, true, true)
  const at = idIndex.remembered(prepared.index)
  // most requests have no dependency and fail no dependent: one shared empty answer for them
  const ids = (list: ReadonlyArray<number>): ReadonlyArray<string> => list.length === 0 ? noIds : list.map((v) => workload[v]!.id)
  const run: Run = {
    policy,
    request: (id) => {
      const v = at(id)
      return v === undefined ? undefined : workload[v]
    },
    dependencies: (id) => {
      const v = at(id)
      return v === undefined ? noIds : ids(prepared.deps.of(v))
    },
    nextRound: (limit, spread) => s.nextRound(limit, spread),
    depth: (id) => {
      const v = at(id)
      return v === undefined ? 0 : s.depthOf(v)
    },
    setDepth: (id, depth) => {
      const v = at(id)
      if (v !== undefined) s.setDepth(v, depth)
    },
    succeed: (id, response) => {
      const v = at(id)
      return v !== undefined && s.succeed(v, response)
    },
    fail: (id, status, response) => {
      const v = at(id)
      return v === undefined ? [] : ids(s.fail(v, status, response))
    },
    requeue: (id) => {
      const v = at(id)
      return v !== undefined && s.requeue(v)
    },
    settlement: (id) => {
      const v = at(id)
      return v === undefined ? undefined : s.settlement(v)
    },
    pending: () => s.pending
  }
  scheduler.schedulerOf.set(run, s)
  return run
}

const settingsOf = (options: Required<BatchBuilder.Options>): rules.Settings => ({
  host: options.host,
  version: options.version,
  maxRequests: scheduler.MAX
})

/**
 * Plans a workload without a service in scope (default Graph host and version unless given).
 *
 * @since 0.1.0
 * @category planning
 */
export const plan = (
  workload: Workload,
  options?: DependencyResolver.Options & BatchBuilder.Options
): Either.Either<Plan, VE.WorkloadError> => {
  const settings = settingsOf({ host: options?.host ?? "graph.microsoft.com", version: options?.version ?? "v1.0" })
  return Either.map(scheduler.prepare(workload, settings), (prepared) => planned(choose(prepared, settings, workload, options ?? {}, true)))
}

/**
 * The heaviest dependency path of a workload: the largest sum of `weight` (default 1 per request,
 * giving the number of requests) over the requests of any path through `dependsOn` and response
 * references. A request starts only after its dependencies finished, in separate round trips or
 * one after another in a sequential batch alike, so with `weight` a request's least latency this
 * is a lower bound on any run's duration.
 *
 * With `options.referenceHop`, every response reference on a path also adds
 * `referenceHop(request)` for the request that holds it: a request that uses another's answer cannot
 * share that request's batch (Graph's batches have no response references), so it goes out in a
 * later call, after the answer came back; that call's own cost (a round trip) lies between the two.
 * A plain `dependsOn` adds nothing, since one sequential batch can carry both. Weights and hops
 * that are not finite non-negative numbers count as 0.
 *
 * @since 0.1.0
 * @category planning
 */
export const criticalPath = (
  workload: Workload,
  weight?: (request: WorkloadRequest) => number,
  options?: BatchBuilder.Options & { readonly referenceHop?: (request: WorkloadRequest) => number }
): Either.Either<number, VE.WorkloadError> =>
  Either.map(
    criticalPaths(workload, [{ weight, referenceHop: options?.referenceHop }], options),
    (paths) => paths[0]!
  )

/**
 * One weighting of {@link criticalPaths}: `criticalPath`'s `weight` and `referenceHop`, each also
 * given the request's position in the workload.
 *
 * @since 0.1.0
 * @category planning
 */
export interface PathWeighting {
  readonly weight?: ((request: WorkloadRequest, position: number) => number) | undefined
  readonly referenceHop?: ((request: WorkloadRequest, position: number) => number) | undefined
}

/**
 * {@link criticalPath} under several weightings at once, in their order: the workload is checked
 * and its dependency graph built once for all of them.
 *
 * @since 0.1.0
 * @category planning
 */
export const criticalPaths = (
  workload: Workload,
  weightings: ReadonlyArray<PathWeighting>,
  options?: BatchBuilder.Options
): Either.Either<Array<number>, VE.WorkloadError> => {
  const settings = settingsOf({ host: options?.host ?? "graph.microsoft.com", version: options?.version ?? "v1.0" })
  return Either.map(scheduler.prepare(workload, settings), (prepared) => {
    const n = prepared.workload.length
    const weights = new Float64Array(n)
    let hops: Float64Array | undefined
    return weightings.map(({ referenceHop, weight }) => {
      for (let v = 0; v < n; v++) weights[v] = weight === undefined ? 1 : time(weight(workload[v]!, v))
      if (referenceHop === undefined) return scheduler.longestPath(prepared, weights)
      hops ??= new Float64Array(n)
      for (let v = 0; v < n; v++) if (prepared.hasReferences[v] === 1) hops[v] = time(referenceHop(workload[v]!, v))
      return scheduler.longestPath(prepared, weights, hops)
    })
  })
}

/**
 * Repacks one round's parallel batches (of `Run.nextRound`) so that requests with the same
 * `affinity` share batches: requests that hold the same concurrency permits (a mailbox's Outlook
 * permits, say) are better sent together, since a batch mixing two can only go whole when both are
 * free. Requests keep their order within an affinity, sequential batches are kept, and the round
 * never gets more batches than it had. Regrouping counts requests, not bytes: when a regrouped
 * batch would exceed the `$batch` size limit, the round's own batches are returned. Returns
 * `batches` itself when there is nothing to gain.
 *
 * @since 0.1.0
 * @category planning
 */
export const regroup = (
  batches: ReadonlyArray<PlannedBatch>,
  affinity: (request: BatchRequestItem) => string | undefined
): ReadonlyArray<PlannedBatch> => {
  const regrouped = scheduler.regroup(batches, affinity)
  return regrouped === batches || regrouped.every(withinBytes) ? regrouped : batches
}

const withinBytes = (batch: PlannedBatch) =>
  bounds.envelopeBytes(batch.requests, bounds.MAX_BATCH_BYTES, bounds.ADDED_BYTES_PER_ITEM) <= bounds.MAX_BATCH_BYTES

/**
 * Uses the host and version of the `BatchBuilder` in scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<DependencyResolverService, never, BatchBuilder> = Effect.gen(function*() {
  const builder = yield* BatchBuilder
  const settings = settingsOf(builder.options)
  return DependencyResolver.of({
    plan: Effect.fn("DependencyResolver.plan")(function*(workload: Workload, options?: DependencyResolver.Options) {
      const prepared = yield* scheduler.prepare(workload, settings)
      const result = planned(choose(prepared, settings, workload, options ?? {}, true))
      yield* Effect.annotateCurrentSpan({
        "plan.requests": result.requests,
        "plan.policy": result.policy,
        "plan.roundTrips": result.roundTrips,
        "plan.batches": result.batches,
        ...(result.estimatedMillis === undefined ? {} : { "plan.estimatedMillis": result.estimatedMillis })
      })
      return result
    }),
    start: Effect.fn("DependencyResolver.start")(function*(workload: Workload, options?: DependencyResolver.Options) {
      const prepared = yield* scheduler.prepare(workload, settings)
      // a forced policy, or a run of independent requests, plans nothing before it starts; otherwise
      // the plans are only counted, and only when their estimates tie
      const { policy } = choose(prepared, settings, workload, options ?? {}, false)
      return makeRun(prepared, policy, settings, workload)
    })
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<DependencyResolver, never, BatchBuilder> = Layer.effect(DependencyResolver, make)
