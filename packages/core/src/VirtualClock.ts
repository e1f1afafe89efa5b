/**
 * A virtual clock made for simulation: time moves only when every fiber of its world is waiting,
 * and then straight to the earliest deadline.
 *
 * A world is a `Clock` and a `Scheduler` that go together. The scheduler does not hand its fibers'
 * tasks to the event loop: it queues them, and the world runs them itself. When the queue is empty,
 * no fiber of the world can make progress without time passing, so the world sets its time to the
 * earliest pending sleep and wakes every sleeper due at that instant, in the order they went to
 * sleep. Sleepers live in a binary heap keyed by (deadline, registration order): a step costs
 * `O(log n)` in the sleepers pending, never a scan of all of them, and a cancelled sleep (an
 * interrupted fiber, a `timeout` that lost its race) leaves the heap at once.
 *
 * Nothing depends on the machine's timers or speed: the same program gives the same interleaving
 * and the same times on every run. The world only knows about work done by its own fibers, so
 * everything the simulated program waits on must be an Effect of the world (a sleep, a `Deferred`,
 * a queue…): a `Promise` or a callback from outside completes in real time, and the world may jump
 * ahead (or, in {@link run}, report {@link Stalled}) before it does.
 *
 * Compared with `TestClock`, which a test advances by hand (`TestClock.adjust`), this clock drives
 * itself: {@link run} is all a simulation needs. `TestClock` remains the tool for tests that want to
 * stop time at chosen instants.
 *
 * @since 0.1.0
 */
import { Data, Effect, FiberId, Layer } from "effect"
import type * as Clock from "effect/Clock"
import { dual } from "effect/Function"
import type * as Scheduler from "effect/Scheduler"
import * as internal from "./internal/virtualClock.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface VirtualClock {
  /** The world's clock: `sleep` registers a deadline; the time is the world's. */
  readonly clock: Clock.Clock
  /** The world's scheduler: its fibers' tasks queue here and run when the world drains. */
  readonly scheduler: Scheduler.Scheduler
  /** The world's time, in milliseconds. */
  readonly unsafeNow: () => number
  /** Sleeps registered and not yet woken or cancelled. */
  readonly pendingSleeps: () => number
  /** Tasks run and time jumps made so far. */
  readonly stats: () => { readonly tasksRun: number; readonly jumps: number }
}

/**
 * @since 0.1.0
 */
export declare namespace VirtualClock {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options {
    /** The world's time at the start, in milliseconds (default 0, as `TestClock`). */
    readonly startMillis?: number
    /**
     * Tasks the world runs before handing the thread back to the event loop once (default 8,192),
     * so that a long simulation does not starve the rest of the process. It changes no result.
     */
    readonly tasksPerSlice?: number
  }
}

/**
 * The world can make no more progress: no task is queued and no sleep is pending, yet the effect
 * given to {@link run} has not finished. Its fibers wait on something no amount of virtual time
 * can end (a `Deferred` nobody completes, `Effect.never`, an outside callback).
 *
 * @since 0.1.0
 * @category errors
 */
export class Stalled extends Data.TaggedError("VirtualClockStalled")<{
  /** The world's time when it stalled. */
  readonly atMillis: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the simulation is waiting on something virtual time cannot wake (at ${this.atMillis} ms of virtual time)`
  }
}

const worlds = new WeakMap<VirtualClock, internal.World>()
const byClock = new WeakMap<Clock.Clock, VirtualClock>()

/**
 * A new world, at its start time, with nothing pending.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (options: VirtualClock.Options = {}): VirtualClock => {
  const world = new internal.World(options)
  const clock: VirtualClock = {
    clock: world.clock,
    scheduler: world.scheduler,
    unsafeNow: () => world.now,
    pendingSleeps: () => world.pendingSleeps,
    stats: () => ({ tasksRun: world.tasksRun, jumps: world.jumps })
  }
  worlds.set(clock, world)
  byClock.set(world.clock, clock)
  return clock
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: VirtualClock.Options = {}): Effect.Effect<VirtualClock> => Effect.sync(() => unsafeMake(options))

/**
 * Runs the effect in the world: with its clock and its scheduler, which every fiber it forks
 * inherits. Without {@link run}'s watch: a world that stalls simply waits.
 *
 * @since 0.1.0
 * @category combinators
 */
export const provide: {
  (clock: VirtualClock): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, clock: VirtualClock): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, clock: VirtualClock): Effect.Effect<A, E, R> =>
    self.pipe(Effect.withClock(clock.clock), Effect.withScheduler(clock.scheduler))
)

/**
 * A layer that puts what is built after it, and the effect it is provided to, in a new world.
 * Without {@link run}'s watch: a world that stalls simply waits.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: VirtualClock.Options = {}): Layer.Layer<never> =>
  Layer.unwrapEffect(Effect.map(make(options), (clock) => Layer.merge(Layer.setClock(clock.clock), Layer.setScheduler(clock.scheduler))))

/**
 * Runs the effect in the given world until it ends, and fails with {@link Stalled} (interrupting
 * it) if the world runs out of work while the effect has not ended.
 *
 * @since 0.1.0
 * @category running
 */
export const runIn: {
  (clock: VirtualClock): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Stalled, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, clock: VirtualClock): Effect.Effect<A, E | Stalled, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, clock: VirtualClock): Effect.Effect<A, E | Stalled, R> =>
    // forked with the world's clock and scheduler, so that the fiber lives in the world to its very
    // end (after `self`, it still awaits its children), not only while `self` runs
    Effect.flatMap(provide(Effect.fork(self), clock), (fiber) =>
      Effect.async<A, E | Stalled>((resume) => {
        const world = worlds.get(clock)!
        let settled = false
        const settle = (effect: Effect.Effect<A, E | Stalled>) => {
          if (settled) return
          settled = true
          stopWatching()
          resume(effect)
        }
        const stopWatching = world.onIdle(() => {
          if (fiber.unsafePoll() !== null) return
          fiber.unsafeInterruptAsFork(FiberId.none)
          settle(Effect.fail(new Stalled({ atMillis: world.now })))
        })
        fiber.addObserver((exit) => settle(exit))
        const done = fiber.unsafePoll()
        if (done !== null) settle(done)
        return Effect.sync(() => {
          stopWatching()
          fiber.unsafeInterruptAsFork(FiberId.none)
        })
      })
    )
)

/**
 * The world the current fiber lives in, if its clock is a virtual one.
 *
 * @since 0.1.0
 * @category accessors
 */
export const current: Effect.Effect<VirtualClock | undefined> = Effect.clockWith((clock) => Effect.succeed(byClock.get(clock)))

/**
 * Runs the effect in virtual time until it ends: time jumps from one deadline to the next whenever
 * all of the effect's fibers wait, so an hour of sleeps and timeouts costs only the work done
 * between them. The effect runs in the caller's world when the caller already lives in one (a
 * {@link layer}), else in a new world (time 0 by default, or `options.startMillis`). Fails with
 * {@link Stalled} if the effect waits on something no sleep can end.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <A, E, R>(self: Effect.Effect<A, E, R>, options: VirtualClock.Options = {}): Effect.Effect<A, E | Stalled, R> =>
  Effect.flatMap(current, (clock) => runIn(self, clock ?? unsafeMake(options)))
