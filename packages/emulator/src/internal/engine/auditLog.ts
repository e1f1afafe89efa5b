/**
 * The engine's audit log: one entry per answered item, bounded by `auditCapacity`, with equal
 * demands shared between entries to keep a long log small.
 *
 * @internal
 */
import type { Bucket } from "@effect-msgraph/spec"
import type { AuditEntry } from "../../Audit.js"
import type { ItemAnswer } from "../responses.js"
import { headerOf, type Prepared } from "./model.js"

/** @internal */
export class AuditLog {
  private readonly entries: Array<AuditEntry> = []
  private dropped = 0
  /** Equal demands share one object in the audit log, which keeps a long log small. */
  private readonly interned = new Map<string, Bucket.Demand>()

  constructor(private readonly capacity: number) {}

  /** The audit log, oldest first, and how many old entries were dropped to bound memory. */
  audit(): { readonly entries: ReadonlyArray<AuditEntry>; readonly dropped: number } {
    const excess = Math.max(0, this.entries.length - this.capacity)
    return { entries: this.entries.slice(excess), dropped: this.dropped + excess }
  }

  clear(): void {
    this.entries.length = 0
    this.dropped = 0
  }

  /**
   * Stamps the answer with its `request-id` (and the item's `client-request-id`) and records it.
   */
  audited(p: Prepared, seq: number, requestId: string, outcome: ItemAnswer, startedAt: number, finishedAt: number, admitted: boolean, executed: boolean, throttledBy?: string): void {
    outcome.headers["request-id"] = requestId
    const clientRequestId = headerOf(p.item.headers, "client-request-id")
    if (clientRequestId !== undefined) outcome.headers["client-request-id"] = clientRequestId
    const { bucketKeys, demands } = this.demandsOf(p.demands)
    this.record({
      seq,
      httpRequest: p.httpRequest,
      itemId: p.item.id,
      requestId,
      clientRequestId: p.clientRequestId,
      method: p.item.method,
      url: p.item.url,
      service: p.service,
      priority: p.priority,
      demands,
      bucketKeys,
      status: outcome.status,
      admitted,
      executed,
      startedAt,
      finishedAt,
      dependsOn: p.dependsOn,
      retryAfterMillis: outcome.headers["Retry-After"] === undefined ? undefined : Math.round(Number(outcome.headers["Retry-After"]) * 1000),
      throttledBy
    })
  }

  /**
   * An item's demands as an entry records them (interned, and their keys), once per demands array:
   * items of the same request share the classifier's array, and so do their entries.
   */
  private readonly recorded = new WeakMap<ReadonlyArray<Bucket.Demand>, Pick<AuditEntry, "demands" | "bucketKeys">>()

  private demandsOf(demands: ReadonlyArray<Bucket.Demand>): Pick<AuditEntry, "demands" | "bucketKeys"> {
    let recorded = this.recorded.get(demands)
    if (recorded === undefined) {
      recorded = { demands: this.intern(demands), bucketKeys: demands.map((d) => d.key) }
      this.recorded.set(demands, recorded)
    }
    return recorded
  }

  /** The interned demand of each demand object seen: classification shares demand objects, so most items are found here. */
  private readonly seen = new WeakMap<Bucket.Demand, Bucket.Demand>()

  private intern(demands: ReadonlyArray<Bucket.Demand>): ReadonlyArray<Bucket.Demand> {
    return demands.map((d) => {
      const seen = this.seen.get(d)
      if (seen !== undefined) return seen
      const interned = this.internByValue(d)
      this.seen.set(d, interned)
      return interned
    })
  }

  private internByValue(d: Bucket.Demand): Bucket.Demand {
    const limit = d.limit
    const shape = limit._tag === "Window"
      ? `${limit.limit}/${limit.windowMillis}`
      : limit._tag === "TokenBucket"
      ? `${limit.capacity}/${limit.refillPerSecond}`
      : `${limit.permits}`
    const id = `${d.entryId}\u0000${d.key}\u0000${d.cost}\u0000${d.retryAfter}\u0000${limit._tag}\u0000${shape}`
    const known = this.interned.get(id)
    if (known !== undefined) return known
    if (this.interned.size >= 100_000) this.interned.clear()
    this.interned.set(id, d)
    return d
  }

  private record(entry: AuditEntry): void {
    this.entries.push(entry)
    // Trim in steps of a tenth of the capacity so that a full log does not move on every entry.
    const cap = this.capacity
    if (this.entries.length > cap + Math.ceil(cap / 10)) {
      const excess = this.entries.length - cap
      this.entries.splice(0, excess)
      this.dropped += excess
    }
  }
}
