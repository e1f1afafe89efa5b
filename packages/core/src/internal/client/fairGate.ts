/**
 * A counting gate that serves its waiters strictly in the order they asked.
 *
 * Effect's `Semaphore` wakes its waiters in a task scheduled after a release, and a fiber that asks
 * in between takes the freed permit first. The executor takes a send slot right after admission, so
 * with that semaphore a batch admitted a moment ago (the next batch of the mailbox whose batch just
 * ended) overtook batches admitted long before it, and one mailbox's batches could wait until every
 * other mailbox had finished. Here a released permit goes straight to the oldest waiter.
 *
 * Its number of permits can change while it is used (`resize`, for the adaptive in-flight limit
 * of `client/inFlight.ts`): a larger one lets waiters in at once; a smaller one takes effect as
 * holders end (nobody is interrupted).
 *
 * @internal
 */
import { Effect } from "effect"

interface Entry {
  readonly resume: (effect: Effect.Effect<void>) => void
  /** Given up (its fiber was interrupted before a permit reached it). */
  cancelled: boolean
  /** A permit was handed to it. */
  handed: boolean
}

/** @internal */
export class FairGate {
  private limit: number
  /** Permits held (may exceed `limit` for a while after it shrank). */
  private used = 0
  private queue: Array<Entry> = []
  private head = 0
  /** Entries in `queue` that still wait. */
  private waiting = 0

  constructor(permits: number) {
    this.limit = Math.max(1, Math.floor(permits))
  }

  /** Permits free right now. */
  get available(): number {
    return Math.max(0, this.limit - this.used)
  }

  /** Permits held right now. */
  get held(): number {
    return this.used
  }

  /** Fibers waiting for a permit right now. */
  get waiters(): number {
    return this.waiting
  }

  /** The number of permits. */
  get permits(): number {
    return this.limit
  }

  /** Changes the number of permits (at least 1): waiters that now fit are let in, oldest first. */
  resize(permits: number): void {
    this.limit = Math.max(1, Math.floor(permits))
    while (this.used < this.limit && this.handOver()) this.used++
  }

  private readonly take: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.used < this.limit && this.waiting === 0) {
      this.used++
      resume(Effect.void)
      return
    }
    const entry: Entry = { resume, cancelled: false, handed: false }
    this.queue.push(entry)
    this.waiting++
    return Effect.sync(() => {
      // interrupted: a permit that reached it meanwhile goes on to the next waiter
      if (entry.handed) this.release()
      else if (!entry.cancelled) {
        entry.cancelled = true
        this.waiting--
      }
    })
  })

  /** A permit given back: to the oldest waiter while the gate is within its limit. */
  private release(): void {
    this.used--
    if (this.used < this.limit && this.handOver()) this.used++
  }

  /** Hands a permit to the oldest waiter, if any; says whether one took it. */
  private handOver(): boolean {
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head]!
      this.queue[this.head++] = undefined as unknown as Entry
      if (entry.cancelled) continue
      this.waiting--
      if (this.head === this.queue.length) {
        this.queue = []
        this.head = 0
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        // bounded: drop the served front once it is most of the array
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      entry.handed = true
      entry.resume(Effect.void)
      return true
    }
    this.queue = []
    this.head = 0
    return false
  }

  /** Runs `self` holding one permit, given back when it ends however it ends. */
  withPermit<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(this.take), () => Effect.ensuring(restore(self), Effect.sync(() => this.release())))
    )
  }
}

/** @internal */
export const make = (permits: number): Effect.Effect<FairGate> => Effect.sync(() => new FairGate(permits))
