/**
 * Drives a standalone limiter with the TestClock: offers requests (a gap before each, a cost), then
 * advances the clock in steps long enough for the first waiter to go, and returns what was admitted
 * when, when each request arrived, and how each ended.
 */
import { Clock, Effect, type Exit, Fiber, TestClock } from "effect"

export interface Admitted {
  readonly id: number
  readonly at: number
  readonly cost: number
}

export interface Offered {
  readonly gap: number
  readonly cost: number
}

export const simulate = <E>(
  limiter: { readonly take: (cost?: number) => Effect.Effect<void, E> },
  requests: ReadonlyArray<Offered>,
  /** A duration after which the first waiting request surely has room. */
  step: number
) =>
  Effect.gen(function*() {
    const admitted: Array<Admitted> = []
    const arrivals: Array<number> = []
    const fibers: Array<Fiber.RuntimeFiber<void, E>> = []
    for (let id = 0; id < requests.length; id++) {
      const { cost, gap } = requests[id]!
      if (gap > 0) yield* TestClock.adjust(gap)
      arrivals.push(yield* Clock.currentTimeMillis)
      fibers.push(
        yield* limiter.take(cost).pipe(
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.flatMap((at) => Effect.sync(() => void admitted.push({ id, at, cost }))),
          Effect.fork
        )
      )
    }
    // Requests are served in order, so this many steps admit everything that can be admitted; a
    // request still waiting after them was lost.
    for (let i = 0; i <= requests.length + 1; i++) yield* TestClock.adjust(step)
    const exits: Array<Exit.Exit<void, E>> = yield* Effect.forEach(fibers, (fiber) =>
      Effect.map(Fiber.poll(fiber), (exit) => {
        if (exit._tag === "None") throw new Error("a request was never admitted")
        return exit.value
      }))
    return { admitted, arrivals, exits }
  })
