/**
 * Limits scaled by the emulator's `multiplier`.
 *
 * @internal
 */
import { Bucket } from "@effect-msgraph/spec"

const scaled = new Map<string, Bucket.Limit>()

/**
 * The limit times the multiplier, memoised: building a limit validates it, and this runs per item.
 * Counts (a window's limit, concurrency permits) round down and stay at least 1; a token bucket
 * scales its capacity (at least 1) and its refill rate.
 *
 * @internal
 */
export const scale = (limit: Bucket.Limit, m: number): Bucket.Limit => {
  if (m === 1) return limit
  const id = limit._tag === "Window"
    ? `W${limit.limit}/${limit.windowMillis}*${m}`
    : limit._tag === "TokenBucket"
    ? `T${limit.capacity}/${limit.refillPerSecond}*${m}`
    : `C${limit.permits}*${m}`
  let known = scaled.get(id)
  if (known === undefined) {
    known = scaleNow(limit, m)
    if (scaled.size >= 10_000) scaled.clear()
    scaled.set(id, known)
  }
  return known
}

const scaleNow = (limit: Bucket.Limit, m: number): Bucket.Limit => {
  switch (limit._tag) {
    case "Window":
      return new Bucket.WindowLimit({ limit: Math.max(1, Math.floor(limit.limit * m)), windowMillis: limit.windowMillis })
    case "TokenBucket":
      return new Bucket.TokenBucketLimit({ capacity: Math.max(1, limit.capacity * m), refillPerSecond: limit.refillPerSecond * m })
    case "Concurrency":
      return new Bucket.ConcurrencyLimit({ permits: Math.max(1, Math.floor(limit.permits * m)) })
  }
}
