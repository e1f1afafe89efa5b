/**
 * The optional load model: how many items each app has in flight (admitted and not yet answered,
 * across all its batches and single requests), how much that slows each new item down, and when the
 * service refuses more.
 *
 * Beyond the knee the service behaves as `knee` workers shared by every item in flight (processor
 * sharing): with `n > knee` items in flight each gets `knee / n` of a worker, so an item's modelled
 * latency `L` becomes `L × n / knee`, that is `L × (1 + (n − knee) / knee)`. Throughput then stays at
 * `knee / L` items per unit of time however many more are sent (Little's law), while latency grows
 * with the queue: the signal an adaptive concurrency limit reads. At the ceiling a new item is not
 * queued at all: it answers 503 with Retry-After.
 *
 * `n` is taken when the item starts (after every item of its batch was admitted) and kept for the
 * item's whole latency, so a run is decided by the seed and the order of arrivals alone.
 *
 * @internal
 */

/** The load model's settings, checked by `Emulator.make`. @internal */
export interface LoadOptions {
  /** Items in flight per app beyond which latency grows (none when absent). */
  readonly knee: number | undefined
  /** Items in flight per app at which a new item answers 503 (none when absent). */
  readonly ceiling: number | undefined
  /** The Retry-After of those 503s, in whole seconds. */
  readonly retryAfterSeconds: number
}

/** @internal */
export class Load {
  private readonly inFlight = new Map<string, number>()

  constructor(readonly options: LoadOptions) {}

  /** Whether the app already has `ceiling` items in flight, so a new one is refused. */
  full(app: string): boolean {
    const ceiling = this.options.ceiling
    return ceiling !== undefined && (this.inFlight.get(app) ?? 0) >= ceiling
  }

  /** An item of the app was admitted: it is in flight until `settle`. */
  enter(app: string): void {
    this.inFlight.set(app, (this.inFlight.get(app) ?? 0) + 1)
  }

  /** An item of the app was answered (or interrupted). */
  settle(app: string): void {
    const n = (this.inFlight.get(app) ?? 0) - 1
    if (n > 0) this.inFlight.set(app, n)
    else this.inFlight.delete(app)
  }

  /** The factor on a starting item's latency: `max(1, inFlight / knee)`. */
  slowdown(app: string): number {
    const knee = this.options.knee
    const n = this.inFlight.get(app) ?? 0
    return knee === undefined || n <= knee ? 1 : n / knee
  }
}
