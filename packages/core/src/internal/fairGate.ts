/**
 * A counting gate that serves its waiters strictly in the order they asked.
 *
 * Effect's `Semaphore` wakes its waiters in a task scheduled after a release, and a fiber that asks
 * in between takes the freed permit first. The executor takes a send slot right after admission, so
 * with that semaphore a batch admitted a moment ago (the next batch of the mailbox whose batch just
 * ended) overtook batches admitted long before it, and one mailbox's batches could wait until every
 * other mailbox had finished. Here a released permit goes straight to the oldest waiter.
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
  private free: number
  private queue: Array<Entry> = []
  private head = 0
  /** Entries in `queue` that still wait. */
  private waiting = 0

  constructor(permits: number) {
    this.free = Math.max(1, Math.floor(permits))
  }

  /** Permits free right now (for tests). */
  get available(): number {
    return this.free
  }

  private readonly take: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.free > 0 && this.waiting === 0) {
      this.free--
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

  private release(): void {
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
      return
    }
    this.queue = []
    this.head = 0
    this.free++
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
