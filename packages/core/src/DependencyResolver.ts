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
 * see docs/batching.md. Every plan reports its round trips next to a lower bound.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer } from "effect"
import { BatchBuilder, type BatchShape, validate } from "./BatchBuilder.js"
import type { BatchRequestItem } from "./BatchRequest.js"
import * as rules from "./internal/batchRules.js"
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
  /** Every ready request, packed into batches, with response references substituted. */
  readonly nextRound: () => RunRound
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
    /** `auto` (default) computes both policies and keeps the one with fewer round trips. */
    readonly policy?: "auto" | Policy
  }
}

const staticPlan = (prepared: scheduler.Prepared, policy: Policy, settings: rules.Settings): Plan => {
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
  const requests = prepared.ids.length
  return {
    policy,
    rounds,
    requests,
    batches,
    roundTrips: rounds.length,
    lowerBound: { roundTrips: scheduler.roundLowerBound(prepared), batches: Math.ceil(requests / scheduler.MAX) }
  }
}

const better = (a: Plan, b: Plan): Plan =>
  b.roundTrips < a.roundTrips || (b.roundTrips === a.roundTrips && b.batches < a.batches) ? b : a

const choose = (prepared: scheduler.Prepared, settings: rules.Settings, options?: DependencyResolver.Options): Plan => {
  const policy = options?.policy ?? "auto"
  if (policy !== "auto") return staticPlan(prepared, policy, settings)
  // waves first: on a tie it keeps parallel batches, which couple no unrelated requests
  return better(staticPlan(prepared, "waves", settings), staticPlan(prepared, "chains", settings))
}

const makeRun = (prepared: scheduler.Prepared, policy: Policy, settings: rules.Settings, workload: Workload): Run => {
  const s = new scheduler.Scheduler(prepared, policy, settings, true)
  const at = (id: string) => prepared.index.get(rules.idKey(id))
  const ids = (list: ReadonlyArray<number>) => list.map((v) => prepared.ids[v]!)
  return {
    policy,
    request: (id) => {
      const v = at(id)
      return v === undefined ? undefined : workload[v]
    },
    dependencies: (id) => {
      const v = at(id)
      return v === undefined ? [] : ids(prepared.deps[v]!)
    },
    nextRound: () => s.nextRound(),
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
      return v === undefined ? undefined : s.outcomes[v]
    },
    pending: () => s.pending
  }
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
  return Either.map(scheduler.prepare(workload, settings), (prepared) => choose(prepared, settings, options))
}

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
      const result = choose(prepared, settings, options)
      yield* Effect.annotateCurrentSpan({
        "plan.requests": result.requests,
        "plan.policy": result.policy,
        "plan.roundTrips": result.roundTrips,
        "plan.batches": result.batches
      })
      return result
    }),
    start: Effect.fn("DependencyResolver.start")(function*(workload: Workload, options?: DependencyResolver.Options) {
      const prepared = yield* scheduler.prepare(workload, settings)
      const policy = options?.policy === undefined || options.policy === "auto"
        ? choose(prepared, settings, options).policy
        : options.policy
      return makeRun(prepared, policy, settings, workload)
    })
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<DependencyResolver, never, BatchBuilder> = Layer.effect(DependencyResolver, make)
