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
 * Two packing policies are computed and the one with fewer round trips (then fewer batches) wins;
 * given a latency model, the one with the shorter estimated duration wins instead (see
 * docs/batching.md). Every plan reports its round trips next to a lower bound.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer } from "effect"
import { BatchBuilder, type BatchShape, validate } from "./BatchBuilder.js"
import type { BatchRequestItem } from "./BatchRequest.js"
import * as rules from "./internal/batchRules.js"
import * as bounds from "./internal/jsonBounds.js"
import * as scheduler from "./internal/scheduler.js"
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
export type Policy = scheduler.Policy

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
  readonly policy: Policy
  readonly rounds: ReadonlyArray<PlannedRound>
  readonly requests: number
  readonly batches: number
  readonly roundTrips: number
  readonly lowerBound: { readonly roundTrips: number; readonly batches: number }
  /**
   * Only when `latency` was given: the estimated duration of a run that follows this policy and
   * where every request succeeds, in milliseconds (see {@link DependencyResolver.Latency}).
   */
  readonly estimatedMillis?: number
}

/**
 * How a request ended, as far as ordering is concerned.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = scheduler.Outcome

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
  readonly notSent: ReadonlyArray<string>
}

/**
 * A running workload, owned by one fiber (the executor). Requests handed out by `nextRound` are in
 * flight until the executor reports them with `succeed`, `fail` or `requeue`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Run {
  readonly policy: Policy
  /** The workload request with this id. */
  readonly request: (id: string) => WorkloadRequest | undefined
  /** Ids of the requests this one depends on (its `dependsOn` and its references). */
  readonly dependencies: (id: string) => ReadonlyArray<string>
  /**
   * Every ready request, packed into batches, with response references substituted; with a
   * `limit`, at most that many requests (the first by priority, then workload order), the others
   * staying ready for the next call, so that a large workload is handed out as it can be sent.
   */
  readonly nextRound: (limit?: number) => RunRound
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
  readonly outcome: (id: string) => Outcome | undefined
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
     * `auto` (default) computes both policies and keeps the one with fewer round trips (then fewer
     * batches); with `latency`, the one with the shorter estimated duration (then fewer round
     * trips, then fewer batches).
     */
    readonly policy?: "auto" | Policy
    /**
     * A latency model: each plan gets `estimatedMillis`, and `auto` compares plans by it. Without
     * it, plans are compared by round trips only, which favours long sequential batches even when
     * Graph runs their items one after another.
     */
    readonly latency?: Latency
    /**
     * `$batch` calls in flight at once, for the estimate (default 4, the client's default). Values
     * below 1 count as 1; fractions are rounded down.
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
 * `check`: validate every planned batch against Graph's rules (a failure is a planner defect). A
 * run's choice of policy skips it (the executor validates every batch it sends anyway) and only
 * counts: its plans have no rounds, so that choosing a policy never holds a copy of the workload.
 */
const staticPlan = (prepared: scheduler.Prepared, policy: Policy, settings: rules.Settings, check: boolean): Plan => {
  if (!check) return countedPlan(prepared, policy, settings)
  const run = new scheduler.Scheduler(prepared, policy, settings, false)
  const rounds: Array<PlannedRound> = []
  let batches = 0
  while (run.pending > 0) {
    const round = run.nextRound()
    if (round.batches.length === 0) throw new Error("planner made no progress on an acyclic workload")
    for (const batch of round.batches) {
      // Every planned batch must satisfy Graph's rules; a failure here is a planner defect.
      if (check) {
        const checked = validate(batch.requests, { host: settings.host, version: settings.version })
        if (Either.isLeft(checked)) throw new Error(`planner produced an invalid batch: ${checked.left.message}`)
      }
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

/** A plan's figures without its rounds (`rounds` is empty). */
const countedPlan = (prepared: scheduler.Prepared, policy: Policy, settings: rules.Settings): Plan => {
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
  options: DependencyResolver.Options
): scheduler.Timing | undefined => {
  const latency = options.latency
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

const estimated = (
  prepared: scheduler.Prepared,
  policy: Policy,
  settings: rules.Settings,
  timing: scheduler.Timing | undefined,
  check: boolean
): Plan => {
  const plan = staticPlan(prepared, policy, settings, check)
  return timing === undefined ? plan : { ...plan, estimatedMillis: scheduler.estimateMillis(prepared, policy, settings, timing) }
}

const better = (a: Plan, b: Plan): Plan => {
  if (a.estimatedMillis !== undefined && b.estimatedMillis !== undefined && a.estimatedMillis !== b.estimatedMillis) {
    return b.estimatedMillis < a.estimatedMillis ? b : a
  }
  return b.roundTrips < a.roundTrips || (b.roundTrips === a.roundTrips && b.batches < a.batches) ? b : a
}

const choose = (
  prepared: scheduler.Prepared,
  settings: rules.Settings,
  workload: Workload,
  options: DependencyResolver.Options = {},
  check = true
): Plan => {
  const policy = options.policy ?? "auto"
  const timing = timingOf(prepared, workload, options)
  if (policy !== "auto") return estimated(prepared, policy, settings, timing, check)
  // without dependencies both policies make the same batches, and a tie keeps waves
  if (prepared.deps.size === 0) return estimated(prepared, "waves", settings, timing, check)
  // waves first: on a tie it keeps parallel batches, which couple no unrelated requests
  return better(estimated(prepared, "waves", settings, timing, check), estimated(prepared, "chains", settings, timing, check))
}

const makeRun = (prepared: scheduler.Prepared, policy: Policy, settings: rules.Settings, workload: Workload): Run => {
  const s = new scheduler.Scheduler(prepared, policy, settings, true, true)
  const at = (id: string) => prepared.index.get(rules.idKey(id))
  const ids = (list: ReadonlyArray<number>) => list.map((v) => workload[v]!.id)
  const run: Run = {
    policy,
    request: (id) => {
      const v = at(id)
      return v === undefined ? undefined : workload[v]
    },
    dependencies: (id) => {
      const v = at(id)
      return v === undefined ? [] : ids(prepared.deps.of(v))
    },
    nextRound: (limit) => s.nextRound(limit),
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
    outcome: (id) => {
      const v = at(id)
      return v === undefined ? undefined : s.outcome(v)
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
  return Either.map(scheduler.prepare(workload, settings), (prepared) => choose(prepared, settings, workload, options))
}

/**
 * The heaviest dependency path of a workload: the largest sum of `weight` (default 1 per request,
 * giving the number of requests) over the requests of any path through `dependsOn` and response
 * references. A request starts only after its dependencies finished, in separate round trips or
 * one after another in a sequential batch alike, so with `weight` a request's least latency this
 * is a lower bound on any run's duration. Weights that are not finite non-negative numbers count
 * as 0.
 *
 * @since 0.1.0
 * @category planning
 */
export const criticalPath = (
  workload: Workload,
  weight?: (request: WorkloadRequest) => number,
  options?: BatchBuilder.Options
): Either.Either<number, VE.WorkloadError> => {
  const settings = settingsOf({ host: options?.host ?? "graph.microsoft.com", version: options?.version ?? "v1.0" })
  return Either.map(scheduler.prepare(workload, settings), (prepared) => {
    const weights = new Float64Array(prepared.workload.length)
    for (let v = 0; v < weights.length; v++) weights[v] = weight === undefined ? 1 : time(weight(workload[v]!))
    return scheduler.longestPath(prepared, weights)
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
      const result = choose(prepared, settings, workload, options)
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
      // without dependencies both policies make the same batches (and a tie keeps waves): a run of
      // independent requests plans nothing before it starts
      const policy = options?.policy !== undefined && options.policy !== "auto"
        ? options.policy
        : prepared.deps.size === 0
        ? "waves"
        : choose(prepared, settings, workload, options, false).policy
      return makeRun(prepared, policy, settings, workload)
    })
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<DependencyResolver, never, BatchBuilder> = Layer.effect(DependencyResolver, make)
