/**
 * The emulator's audit log: one entry for every request it answered (single or batch item), with the
 * time, the buckets it was counted against, its status and its priority, and three helpers that
 * answer, as numbers, the questions a run must answer:
 *
 * - {@link limitViolations}: how many executed requests a server enforcing the *documented* limits
 *   would have refused (any window, token bucket or concurrency limit);
 * - {@link duplicateExecutions}: how many times a request was executed again after it had already
 *   been executed once (same client request id);
 * - {@link orderViolations}: how many requests were executed although something they depend on had
 *   not completed successfully before they started.
 *
 * The helpers check against the documented limit carried by each demand, never the scaled or
 * overridden limit the emulator enforced: a run against a looser emulator still shows whether the
 * client kept to Graph's limits.
 *
 * @since 0.1.0
 */
import type { Bucket } from "@effect-msgraph/spec"
import { bucketIdOf } from "./internal/accounting.js"

/**
 * `x-ms-throttle-priority`, normalised. Absent or unknown values are `normal`.
 *
 * @since 0.1.0
 * @category models
 */
export type Priority = "low" | "normal" | "high"

/**
 * One answered request.
 *
 * - `clientRequestId` identifies a logical request across retries: the item's `client-request-id`
 *   header when present, otherwise the batch item id plus a hash of method, url and body.
 * - `admitted`: it passed the emulator's limits (it was counted in its buckets).
 * - `executed`: the emulator performed it (its effect on state happened), whatever the status.
 * - `dependsOn`: client request ids this request depends on (from `dependsOn` inside its batch, and
 *   from an `x-emulator-depends-on` header for dependencies across batches).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuditEntry {
  readonly seq: number
  /** The sequence number of the HTTP request that carried it. */
  readonly httpRequest: number
  /** The batch item id, or `undefined` for a single request. */
  readonly itemId: string | undefined
  readonly requestId: string
  readonly clientRequestId: string
  readonly method: string
  readonly url: string
  readonly service: string
  readonly priority: Priority
  readonly demands: ReadonlyArray<Bucket.Demand>
  readonly bucketKeys: ReadonlyArray<string>
  readonly status: number
  readonly admitted: boolean
  readonly executed: boolean
  /** Emulator clock, milliseconds: when the request was admitted (or refused). */
  readonly startedAt: number
  /** Emulator clock, milliseconds: when its answer was ready. */
  readonly finishedAt: number
  readonly dependsOn: ReadonlyArray<string>
  /** The wait the answer's Retry-After asked for, in milliseconds, when it carried one. */
  readonly retryAfterMillis: number | undefined
  /** The key of the bucket whose limit refused it (a 429 of the limits); `undefined` otherwise. */
  readonly throttledBy: string | undefined
}

/**
 * The three numbers a run is judged by.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly limitViolations: number
  readonly duplicateExecutions: number
  readonly orderViolations: number
  readonly requests: number
  readonly throttled: number
  readonly earlyRetries: number
}

/**
 * The id under which a demand's bucket is counted: its catalogue entry and its key. Made once per
 * demand object (requests share them), so counting a million requests does not build and hash a
 * million strings.
 *
 * @since 0.1.0
 * @category audit
 */
export const bucketId = (demand: Bucket.Demand): string => bucketIdOf(demand)

/**
 * The number of admitted requests that a server enforcing each demand's documented limit would have
 * refused. A refused request is not counted in its bucket afterwards, so one burst is not counted
 * again for every later request.
 *
 * @since 0.1.0
 * @category audit
 */
export const limitViolations = (entries: ReadonlyArray<AuditEntry>): number => {
  const admitted = inAdmissionOrder(entries)
  // per bucket, its uses in admission order as parallel arrays (a million entries make millions of
  // uses: no object per use)
  const byBucket = new Map<string, Uses>()
  // the buckets of a demands array, found once per array: the engine's entries share their arrays
  const bucketsOf = new Map<ReadonlyArray<Bucket.Demand>, ReadonlyArray<Uses>>()
  for (const entry of admitted) {
    const demands = entry.demands
    let buckets = bucketsOf.get(demands)
    if (buckets === undefined) {
      buckets = demands.map((demand) => {
        const id = bucketId(demand)
        let bucket = byBucket.get(id)
        if (bucket === undefined) {
          bucket = { limit: demand.limit, entries: [], costs: [] }
          byBucket.set(id, bucket)
        }
        return bucket
      })
      bucketsOf.set(demands, buckets)
    }
    for (let i = 0; i < buckets.length; i++) {
      const bucket = buckets[i]!
      bucket.entries.push(entry)
      bucket.costs.push(demands[i]!.cost)
    }
  }
  const violating = new Set<number>()
  for (const { costs, entries: uses, limit } of byBucket.values()) {
    switch (limit._tag) {
      case "Window": {
        const keptAt: Array<number> = []
        const keptCost: Array<number> = []
        let head = 0
        let sum = 0
        for (let i = 0; i < uses.length; i++) {
          const entry = uses[i]!
          const cost = costs[i]!
          while (head < keptAt.length && keptAt[head]! <= entry.startedAt - limit.windowMillis) {
            sum -= keptCost[head]!
            head++
          }
          if (sum + cost > limit.limit) violating.add(entry.seq)
          else {
            keptAt.push(entry.startedAt)
            keptCost.push(cost)
            sum += cost
          }
        }
        break
      }
      case "TokenBucket": {
        let tokens = limit.capacity
        let last = uses[0]?.startedAt ?? 0
        for (let i = 0; i < uses.length; i++) {
          const entry = uses[i]!
          const cost = costs[i]!
          tokens = Math.min(limit.capacity, tokens + ((entry.startedAt - last) / 1000) * limit.refillPerSecond)
          last = entry.startedAt
          if (tokens + 1e-9 < cost) violating.add(entry.seq)
          else tokens -= cost
        }
        break
      }
      case "Concurrency": {
        const running: Array<{ until: number; cost: number }> = []
        for (let i = 0; i < uses.length; i++) {
          const entry = uses[i]!
          const cost = costs[i]!
          let held = 0
          for (const r of running) if (r.until > entry.startedAt) held += r.cost
          if (held + cost > limit.permits) violating.add(entry.seq)
          else running.push({ until: entry.finishedAt, cost })
          // Forget finished requests so the scan stays short.
          for (let j = running.length - 1; j >= 0; j--) if (running[j]!.until <= entry.startedAt) running.splice(j, 1)
        }
        break
      }
    }
  }
  return violating.size
}

/** One bucket's uses, in admission order, as parallel arrays. */
interface Uses {
  readonly limit: Bucket.Limit
  readonly entries: Array<AuditEntry>
  readonly costs: Array<number>
}

/**
 * The admitted entries by the time they were admitted, then by sequence number. The engine numbers
 * requests as it admits them, so in its log the sequence numbers are distinct whole numbers whose
 * order is already that order: each entry is placed at its number, and a sort is needed only when
 * the entries say otherwise (two with one number, or a later number admitted earlier).
 */
const inAdmissionOrder = (entries: ReadonlyArray<AuditEntry>): Array<AuditEntry> => {
  const admitted: Array<AuditEntry> = []
  let least = Number.POSITIVE_INFINITY
  let most = Number.NEGATIVE_INFINITY
  for (const entry of entries) {
    if (!entry.admitted) continue
    admitted.push(entry)
    if (entry.seq < least) least = entry.seq
    if (entry.seq > most) most = entry.seq
  }
  if (admitted.length > 1 && Number.isSafeInteger(least) && Number.isSafeInteger(most) && most - least < 2 * admitted.length) {
    const slots = new Array<AuditEntry | undefined>(most - least + 1).fill(undefined)
    let placed = true
    for (const entry of admitted) {
      const slot = entry.seq - least
      if (!Number.isInteger(slot) || slots[slot] !== undefined) {
        placed = false
        break
      }
      slots[slot] = entry
    }
    if (placed) {
      const bySeq: Array<AuditEntry> = []
      let last = Number.NEGATIVE_INFINITY
      for (const entry of slots) {
        if (entry === undefined) continue
        if (entry.startedAt < last || Number.isNaN(entry.startedAt)) {
          placed = false
          break
        }
        last = entry.startedAt
        bySeq.push(entry)
      }
      if (placed) return bySeq
    }
  }
  return admitted.sort((a, b) => a.startedAt - b.startedAt || a.seq - b.seq)
}

/**
 * The number of executions beyond the first of the same logical request (same client request id).
 *
 * @since 0.1.0
 * @category audit
 */
export const duplicateExecutions = (entries: ReadonlyArray<AuditEntry>): number => {
  // the executions less the distinct requests among them: one set operation per entry
  const seen = new Set<string>()
  let executions = 0
  for (const entry of entries) {
    if (!entry.executed) continue
    executions++
    seen.add(entry.clientRequestId)
  }
  return executions - seen.size
}

/**
 * The number of executed requests for which some dependency had not completed successfully (status
 * below 400) before the request started.
 *
 * @since 0.1.0
 * @category audit
 */
export const orderViolations = (entries: ReadonlyArray<AuditEntry>): number => {
  // nothing depends on anything (independent requests): nothing to index
  if (!entries.some((e) => e.executed && e.dependsOn.length > 0)) return 0
  const completed = new Map<string, Array<AuditEntry>>()
  for (const entry of entries) {
    if (!entry.executed || entry.status >= 400) continue
    const list = completed.get(entry.clientRequestId)
    if (list === undefined) completed.set(entry.clientRequestId, [entry])
    else list.push(entry)
  }
  let violations = 0
  for (const entry of entries) {
    if (!entry.executed || entry.dependsOn.length === 0) continue
    const satisfied = entry.dependsOn.every((dep) =>
      (completed.get(dep) ?? []).some((done) => done.seq < entry.seq && done.finishedAt <= entry.startedAt)
    )
    if (!satisfied) violations++
  }
  return violations
}

/**
 * The number of attempts made before the Retry-After of the previous attempt of the same request
 * (same client request id) had passed. Graph keeps counting usage while a client is throttled, so an
 * early retry only prolongs the throttling.
 *
 * @since 0.1.0
 * @category audit
 */
export const earlyRetries = (entries: ReadonlyArray<AuditEntry>): number => {
  // no answer asked for a wait: no attempt can have come too early
  if (!entries.some((e) => e.retryAfterMillis !== undefined)) return 0
  const ordered = entries.slice().sort((a, b) => a.seq - b.seq)
  const last = new Map<string, AuditEntry>()
  let early = 0
  for (const entry of ordered) {
    const previous = last.get(entry.clientRequestId)
    if (previous?.retryAfterMillis !== undefined && entry.startedAt < previous.finishedAt + previous.retryAfterMillis) early++
    last.set(entry.clientRequestId, entry)
  }
  return early
}

/**
 * How many 429s each bucket's limit answered, by bucket key (`AuditEntry.throttledBy`): the place to
 * see whether a client that learns a stricter limit meets only a handful per bucket.
 *
 * @since 0.1.0
 * @category audit
 */
export const throttledByBucket = (entries: ReadonlyArray<AuditEntry>): ReadonlyMap<string, number> => {
  const counts = new Map<string, number>()
  for (const entry of entries) {
    if (entry.throttledBy !== undefined) counts.set(entry.throttledBy, (counts.get(entry.throttledBy) ?? 0) + 1)
  }
  return counts
}

const count = (entries: ReadonlyArray<AuditEntry>, holds: (entry: AuditEntry) => boolean): number => {
  let n = 0
  for (const entry of entries) if (holds(entry)) n++
  return n
}

/**
 * All three numbers, plus how many requests were answered, how many were throttled and how many
 * retries came before their Retry-After.
 *
 * @since 0.1.0
 * @category audit
 */
export const report = (entries: ReadonlyArray<AuditEntry>): Report => ({
  limitViolations: limitViolations(entries),
  duplicateExecutions: duplicateExecutions(entries),
  orderViolations: orderViolations(entries),
  requests: entries.length,
  throttled: count(entries, (e) => e.status === 429),
  earlyRetries: earlyRetries(entries)
})
