/**
 * A seeded stream of draws, drawn synchronously: the numbers `Random.make(seed)` gives, in the same
 * order, without an Effect step for each. The engine draws per item (latency), per batch (the
 * answer order) and per fault roll; as plain calls they cost a function call instead of a fiber step.
 *
 * @internal
 */
import { Hash, Utils } from "effect"

/** @internal */
export class Draws {
  private readonly prng: Utils.PCGRandom

  /** The stream of `Random.make(seed)`. */
  constructor(seed: string) {
    this.prng = new Utils.PCGRandom(Hash.hash(seed))
  }

  /** A number in `[0, 1)`: `Random.next`. */
  next(): number {
    return this.prng.number()
  }

  /** An integer in `[0, n)`: `Random.nextIntBetween(0, n)`. */
  below(n: number): number {
    return this.prng.integer(n)
  }

  /** Shuffles `items` in place and returns them, in the order `Random.shuffle` gives. */
  shuffle<A>(items: Array<A>): Array<A> {
    for (let n = items.length; n >= 2; n--) {
      const k = this.below(n)
      const tmp = items[n - 1]!
      items[n - 1] = items[k]!
      items[k] = tmp
    }
    return items
  }
}
