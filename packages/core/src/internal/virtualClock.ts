/**
 * The machinery behind `VirtualClock`: a scheduler that queues the tasks of its fibers instead of
 * handing them to the event loop, a binary heap of sleepers keyed by (deadline, registration order),
 * and a drain loop that runs queued tasks until none is left (every fiber of the world waits), then
 * moves time to the earliest deadline and wakes the sleepers due then.
 *
 * @internal
 */
import { Clock, Duration, Effect, Scheduler } from "effect"

/** @internal */
export interface Sleeper {
  readonly deadline: number
  readonly seq: number
  /** Position in the heap; -1 once woken or removed. */
  index: number
  readonly wake: () => void
}

const before = (a: Sleeper, b: Sleeper): boolean => a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq)

/**
 * A binary min-heap of sleepers ordered by deadline, then by registration order. Every sleeper
 * knows its index, so a cancelled sleep leaves the heap at once (`O(log n)`) instead of lingering
 * until its deadline.
 *
 * @internal
 */
export class SleeperHeap {
  private readonly items: Array<Sleeper> = []

  get size(): number {
    return this.items.length
  }

  peek(): Sleeper | undefined {
    return this.items[0]
  }

  push(sleeper: Sleeper): void {
    sleeper.index = this.items.length
    this.items.push(sleeper)
    this.up(sleeper.index)
  }

  pop(): Sleeper | undefined {
    const top = this.items[0]
    if (top !== undefined) this.removeAt(0)
    return top
  }

  remove(sleeper: Sleeper): boolean {
    const i = sleeper.index
    if (i < 0 || this.items[i] !== sleeper) return false
    this.removeAt(i)
    return true
  }

  private removeAt(i: number): void {
    const items = this.items
    const removed = items[i]!
    const last = items.pop()!
    removed.index = -1
    if (last === removed) return
    items[i] = last
    last.index = i
    this.down(i)
    this.up(last.index)
  }

  private up(i: number): void {
    const items = this.items
    const item = items[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = items[parent]!
      if (!before(item, p)) break
      items[i] = p
      p.index = i
      i = parent
    }
    items[i] = item
    item.index = i
  }

  private down(i: number): void {
    const items = this.items
    const n = items.length
    const item = items[i]!
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && before(items[right]!, items[left]!) ? right : left
      const c = items[child]!
      if (!before(c, item)) break
      items[i] = c
      c.index = i
      i = child
    }
    items[i] = item
    item.index = i
  }
}

/**
 * Runs the callback in a later turn of the event loop, once every pending microtask (promise
 * reactions) has run: `setImmediate` where it exists (Node, Bun), else `setTimeout(0)`. It is a
 * turn, not a duration: nothing in the world depends on when it comes.
 */
const afterMicrotasks: (f: () => void) => void = typeof globalThis.setImmediate === "function"
  ? (f) => void globalThis.setImmediate(f)
  : (f) => void globalThis.setTimeout(f, 0)

/** @internal */
export interface WorldOptions {
  readonly startMillis?: number
  /** Tasks run before the drain hands the thread back to the event loop once (default 8,192). */
  readonly tasksPerSlice?: number
}

/**
 * One virtual world: its time, its sleepers, its task queue.
 *
 * @internal
 */
export class World {
  now: number
  private seq = 0
  private readonly sleepers = new SleeperHeap()
  private readonly tasks = new Scheduler.PriorityBuckets()
  private queued = 0
  private draining = false
  private drainScheduled = false
  private readonly tasksPerSlice: number
  private readonly idleListeners = new Set<() => void>()
  /** `tasksRun` when the world was last found quiet; -1: never. */
  private quietAt = -1
  private quietCheck = false
  /** Tasks run and time jumps made, for diagnostics and benchmarks. */
  tasksRun = 0
  jumps = 0

  readonly clock: Clock.Clock
  readonly scheduler: Scheduler.Scheduler

  constructor(options: WorldOptions = {}) {
    this.now = options.startMillis ?? 0
    this.tasksPerSlice = Math.max(1, options.tasksPerSlice ?? 8_192)
    const world = this
    const currentTimeMillis = Effect.sync(() => world.now)
    const currentTimeNanos = Effect.sync(() => BigInt(Math.round(world.now * 1_000_000)))
    this.clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => world.now,
      unsafeCurrentTimeNanos: () => BigInt(Math.round(world.now * 1_000_000)),
      currentTimeMillis,
      currentTimeNanos,
      sleep: (duration) => world.sleep(duration)
    }
    this.scheduler = Scheduler.make(
      (task, priority) => world.schedule(task, priority),
      Scheduler.defaultShouldYield
    )
  }

  get pendingSleeps(): number {
    return this.sleepers.size
  }

  get pendingTasks(): number {
    return this.queued
  }

  /** Called each time the world has nothing to run and no sleeper to wake; returns the unsubscribe. */
  onIdle(listener: () => void): () => void {
    this.idleListeners.add(listener)
    return () => void this.idleListeners.delete(listener)
  }

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const millis = Duration.toMillis(duration)
    // as TestClock: a sleep of no time does not wait
    if (!(millis > 0)) return Effect.void
    // no deadline can ever wake it: the fiber waits on nothing time can end
    if (millis === Infinity) return Effect.never
    return Effect.async<void>((resume) => {
      const sleeper: Sleeper = { deadline: this.now + millis, seq: this.seq++, index: -1, wake: () => resume(Effect.void) }
      this.sleepers.push(sleeper)
      this.ensureDrain()
      return Effect.sync(() => void this.sleepers.remove(sleeper))
    })
  }

  private schedule(task: Scheduler.Task, priority: number): void {
    this.tasks.scheduleTask(task, priority)
    this.queued++
    this.ensureDrain()
  }

  /**
   * After the microtasks of this turn (and any other callbacks queued before it), checks that no
   * task ran meanwhile: then the world is quiet, and the drain may move time.
   */
  private awaitQuiet(): void {
    if (this.quietCheck) return
    this.quietCheck = true
    const checkedAt = this.tasksRun
    afterMicrotasks(() => {
      this.quietCheck = false
      if (this.draining || this.queued > 0) return
      if (this.tasksRun === checkedAt) {
        this.quietAt = checkedAt
        this.drain()
      } else {
        this.awaitQuiet()
      }
    })
  }

  private ensureDrain(): void {
    if (this.draining || this.drainScheduled) return
    this.drainScheduled = true
    Scheduler.defaultScheduler.scheduleTask(this.drain, 0)
  }

  /**
   * Runs queued tasks; when none is left, every fiber of this world waits, so time moves to the
   * earliest deadline and the sleepers due then wake, in registration order. Hands the thread back
   * after `tasksPerSlice` tasks and continues in a later turn.
   */
  private readonly drain = (): void => {
    this.drainScheduled = false
    if (this.draining) return
    this.draining = true
    let budget = this.tasksPerSlice
    try {
      for (;;) {
        if (this.queued > 0) {
          if (budget <= 0) {
            this.draining = false
            this.ensureDrain()
            return
          }
          const buckets = this.tasks.buckets
          this.tasks.buckets = []
          for (const [, toRun] of buckets) {
            for (let i = 0; i < toRun.length; i++) {
              this.queued--
              this.tasksRun++
              budget--
              toRun[i]!()
            }
          }
          continue
        }
        // Nothing of the world is runnable. Work outside the world (a promise the body of the
        // in-process emulator's web Response resolves) may still be about to wake one of its fibers: only
        // once a turn of the event loop has passed with no task run is the world quiet.
        if (this.quietAt !== this.tasksRun) {
          this.awaitQuiet()
          this.draining = false
          return
        }
        const first = this.sleepers.pop()
        if (first === undefined) break
        this.jumps++
        if (first.deadline > this.now) this.now = first.deadline
        first.wake()
        // every other sleeper due at the same instant wakes in the same step, in registration order
        for (let next = this.sleepers.peek(); next !== undefined && next.deadline <= this.now; next = this.sleepers.peek()) {
          this.sleepers.pop()
          next.wake()
        }
      }
    } catch (error) {
      // a task threw (a bug in the runtime, not in an effect): keep the world running, then rethrow
      this.draining = false
      if (this.queued > 0 || this.sleepers.size > 0) this.ensureDrain()
      throw error
    }
    this.draining = false
    for (const listener of Array.from(this.idleListeners)) listener()
  }
}
