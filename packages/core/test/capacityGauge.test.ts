import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as CapacityGauge from "../src/internal/throttle/capacityGauge.js"

/**
 * Graph's side: a token bucket of `capacity` units refilled `k × capacity` a second, which reports
 * how full it is (rounded to two decimals, as `x-ms-throttle-limit-percentage`) on every request it
 * admits from 0.8 used.
 */
class GraphBucket {
  tokens: number
  last = 0
  constructor(readonly capacity: number, readonly k: number) {
    this.tokens = capacity
  }
  /** Admits `cost` at `now` (ms): the share used it reports (undefined below 0.8), or "refused". */
  take(cost: number, now: number): number | undefined | "refused" {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.k * this.capacity)
    this.last = now
    if (this.tokens < cost) return "refused"
    this.tokens -= cost
    const used = 1 - this.tokens / this.capacity
    return used > 0.8 ? Math.round(used * 100) / 100 : undefined
  }
}

/**
 * A client that sends requests of 1 to 5 units, `perSecond` units a second on average, and feeds
 * Graph's answers to a gauge; each answer reaches the gauge `lagMillis` after Graph counted it, and
 * the answers of requests still in flight are not counted yet.
 */
const drive = (capacity: number, k: number, perSecond: number, seconds: number, lagMillis: number, seed: number) => {
  const graph = new GraphBucket(capacity, k)
  const gauge = CapacityGauge.make(0)
  let random = seed
  const next = () => {
    random = (random * 1103515245 + 12345) % 2147483648
    return random / 2147483648
  }
  const pending: Array<{ at: number; cost: number; answer: number | undefined | "refused" }> = []
  let estimate: number | undefined
  let refused = 0
  for (let now = 0; now <= seconds * 1000; now += 10) {
    // answers due by now
    while (pending.length > 0 && pending[0]!.at <= now) {
      const { answer, cost } = pending.shift()!
      if (answer === "refused") {
        refused++
        estimate = CapacityGauge.refused(gauge, now, k)
        continue
      }
      CapacityGauge.took(gauge, cost, now)
      if (answer !== undefined) estimate = CapacityGauge.reported(gauge, answer, now, k)
    }
    let budget = (perSecond / 100) * (0.5 + next())
    while (budget > 0) {
      const cost = 1 + Math.floor(next() * 5)
      budget -= cost
      pending.push({ at: now + lagMillis, cost, answer: graph.take(cost, now) })
    }
  }
  return { estimate, refused, gauge }
}

describe("capacityGauge", () => {
  it.prop(
    "a client sending faster than Graph refills learns Graph's capacity within 3% from its reports",
    [
      fc.integer({ min: 50, max: 8000 }),
      fc.constantFrom(0.1, 0.05),
      fc.double({ min: 1.2, max: 4, noNaN: true }),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 1, max: 1000 })
    ],
    ([capacity, k, over, lagMillis, seed]) => {
      const { estimate } = drive(capacity, k, capacity * k * over, 30, lagMillis, seed)
      expect(estimate).toBeDefined()
      expect(Math.abs(estimate! / capacity - 1)).toBeLessThanOrEqual(0.03)
    },
    { fastCheck: { numRuns: 60 } }
  )

  it("before any fit, one report gives a lower bound: the bucket is taken as full at the start", () => {
    const gauge = CapacityGauge.make(0)
    CapacityGauge.took(gauge, 900, 500)
    // 900 units taken within 0.5 s, 10% refilled a second, 0.85 used: c >= 900 / (0.85 + 0.05)
    expect(CapacityGauge.reported(gauge, 0.85, 500, 0.1)).toBeCloseTo(900 / 0.9, 6)
    expect(gauge.fitted).toBe(false)
    // a 429 later: at most what Graph held, so never lowers the bound
    expect(CapacityGauge.refused(gauge, 600, 0.1)).toBeCloseTo(1000, 6)
  })

  it("a report after the bucket may have been full starts a new streak (its refill was wasted)", () => {
    const gauge = CapacityGauge.make(0)
    for (let i = 0; i < 10; i++) {
      CapacityGauge.took(gauge, 10, i)
      CapacityGauge.reported(gauge, 0.8 + i / 100, i, 0.1)
    }
    expect(gauge.n).toBe(10)
    // 0.8 of the bucket refills in 8 s at 10% a second: 9 s later, a new streak
    CapacityGauge.reported(gauge, 0.81, 9 + 9000, 0.1)
    expect(gauge.n).toBe(1)
  })
})

/**
 * A client that sends batches of `items` requests of 1 or 2 units, holding its units in flight to
 * `CapacityGauge.allowance` until the gauge knows the capacity, against a Graph `F` times stricter
 * than `documented`. Graph runs each item at its own latency (items of batches in flight
 * interleave) and answers a batch at once, with the report of each item, when its slowest is done;
 * the answers come in the order of the batch's requests, not the order Graph ran them.
 */
const learning = (documented: number, stricter: number, items: number, seed: number) => {
  const k = 0.1
  const graph = new GraphBucket(documented / stricter, k)
  const gauge = CapacityGauge.make(0)
  let random = seed
  const next = () => {
    random = (random * 1103515245 + 12345) % 2147483648
    return random / 2147483648
  }
  // Graph's side: items waiting to run (at `at`), and batches waiting to be answered
  const running: Array<{ at: number; cost: number; batch: number }> = []
  const answers = new Map<number, { at: number; left: number; outcomes: Array<{ cost: number; answer: number | undefined | "refused" }> }>()
  let outstanding = 0
  let refusedBeforeKnown = 0
  let worstLowerBound = 0
  let batches = 0
  for (let now = 0; now <= 30_000 && !CapacityGauge.known(gauge); now += 5) {
    // Graph runs the items due
    running.sort((a, b) => a.at - b.at)
    while (running.length > 0 && running[0]!.at <= now) {
      const item = running.shift()!
      const answer = graph.take(item.cost, item.at)
      if (answer === "refused") refusedBeforeKnown += item.cost
      const batch = answers.get(item.batch)!
      batch.outcomes.push({ cost: item.cost, answer })
      batch.left--
      if (batch.left === 0) batch.at = now + 20 + Math.floor(next() * 30)
    }
    // answers due: the whole batch at once, in the order of its requests, not the order they ran
    for (const [id, batch] of answers) {
      if (batch.left > 0 || batch.at > now) continue
      answers.delete(id)
      const inOrder = batch.outcomes.map((outcome) => ({ outcome, order: next() })).sort((a, b) => a.order - b.order)
      for (const { outcome: { answer, cost } } of inOrder) {
        outstanding -= cost
        const capacity = answer === "refused"
          ? CapacityGauge.refused(gauge, now, k)
          : (CapacityGauge.took(gauge, cost, now), answer === undefined ? undefined : CapacityGauge.reported(gauge, answer, now, k))
        if (capacity !== undefined && !gauge.fitted) worstLowerBound = Math.max(worstLowerBound, capacity / graph.capacity)
      }
    }
    if (CapacityGauge.known(gauge)) break
    // send while the allowance holds (a batch always goes when nothing is in flight)
    while (true) {
      const costs = Array.from({ length: items }, () => 1 + Math.floor(next() * 2))
      const total = costs.reduce((a, b) => a + b, 0)
      if (outstanding > 0 && outstanding + total > CapacityGauge.allowance(gauge, documented, k, now)) break
      const id = batches++
      answers.set(id, { at: Infinity, left: items, outcomes: [] })
      for (const cost of costs) running.push({ at: now + 20 + Math.floor(next() * 150), cost, batch: id })
      outstanding += total
    }
  }
  return {
    refusedBeforeKnown,
    worstLowerBound,
    opening: CapacityGauge.allowance(CapacityGauge.make(0), documented, k, 0),
    // the most a batch costs: one goes whenever nothing is in flight
    largestBatch: items * 2,
    known: CapacityGauge.known(gauge)
  }
}

/** Documented capacity, stricter factor, items per batch, seed: the cases of `learning`. */
const learningCases: [fc.Arbitrary<number>, fc.Arbitrary<number>, fc.Arbitrary<number>, fc.Arbitrary<number>] = [
  fc.integer({ min: 1000, max: 8000 }),
  fc.double({ min: 1, max: 100, noNaN: true }),
  fc.integer({ min: 1, max: 20 }),
  fc.integer({ min: 1, max: 1000 })
]

describe("capacityGauge: before the first report", () => {
  it.prop(
    "a client holding its units in flight to the allowance is refused at most the opening (or one batch, when a batch alone is more) before it learns the capacity, 1 to 100 times stricter",
    learningCases,
    ([documented, stricter, items, seed]) => {
      const { known, largestBatch, opening, refusedBeforeKnown } = learning(documented, stricter, items, seed)
      expect(known).toBe(true)
      expect(refusedBeforeKnown).toBeLessThanOrEqual(Math.max(opening, largestBatch))
    },
    { fastCheck: { numRuns: 100 } }
  )

  it.prop(
    "with batches answered in bursts, their items run interleaved, the capacity from reports before a fit is a lower bound (within the reports' rounding)",
    learningCases,
    ([documented, stricter, items, seed]) => {
      const { worstLowerBound } = learning(documented, stricter, items, seed)
      expect(worstLowerBound).toBeLessThanOrEqual(1.01)
    },
    { fastCheck: { numRuns: 100 } }
  )
})

describe("capacityGauge: the fit", () => {
  /** Ten reports of one burst (one response's answers), 1.5 units each, `u` from 0.80 to 0.98. */
  const burst = (inFlight: number) => {
    const gauge = CapacityGauge.make(0)
    gauge.sent = inFlight
    for (let i = 0; i < 10; i++) {
      CapacityGauge.took(gauge, 1.5, 500)
      CapacityGauge.reported(gauge, 0.8 + 0.02 * i, 500, 0.1)
    }
    return gauge
  }

  it("is not taken over answers that span less than four times the units in flight (they are what the answers miss)", () => {
    expect(burst(90).fitted).toBe(false)
  })

  it("is taken over the same reports when nothing else is in flight", () => {
    expect(burst(0).fitted).toBe(true)
  })
})
