/**
 * Admission benchmark (`npm run bench`, never part of `npm test`).
 *
 * 1. Throughput: 100,000 admissions over 1,000 keys, costs 1 to 5, two buckets per request (a sliding
 *    window per mailbox and a token bucket per tenant), limits high enough that nothing waits, so the
 *    figure is the admission overhead itself. The same job runs, in the same process, through
 *    `bottleneck` (a `Group` per bucket kind, one limiter per key, the request scheduled on its
 *    mailbox limiter and then on its tenant limiter, cost as `weight`) and through `p-queue` (one queue
 *    per key, nested the same way; p-queue has no notion of cost, so each job counts 1).
 * 2. Memory: 1,000,000 requests offered to full buckets (5 units per hour on each of 1,000
 *    mailboxes, so all but the first few per mailbox wait), through `Throttler.admitAll`, which queues a request as a record rather than a
 *    fiber. The heap growth, after garbage collection, divided by the number of queued requests. The
 *    requests' own demand arrays are built before the baseline is taken: they exist whether or not
 *    the request is throttled. For comparison, the same is measured for 100,000 requests each
 *    waiting in its own fiber via `Throttler.admit`.
 *
 * Writes `bench/results/admission.json` at the repository root and prints a table.
 */
import Bottleneck from "bottleneck"
import { Effect, Fiber, Stream } from "effect"
import * as fs from "node:fs"
import { performance } from "node:perf_hooks"
import PQueue from "p-queue"
import { Demand, TokenBucketLimit, WindowLimit } from "@effect-msgraph/spec/Bucket"
import * as QuotaStore from "@effect-msgraph/core/QuotaStore"
import * as Throttler from "@effect-msgraph/core/Throttler"

const ADMISSIONS = 100_000
const KEYS = 1_000
const TENANTS = 100
const QUEUED = 1_000_000
const QUEUED_FIBERS = 100_000
const RUNS = 3

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run node with --expose-gc")
  collect()
  collect()
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

interface Job {
  readonly mailbox: string
  readonly tenant: string
  readonly cost: number
  readonly demands: ReadonlyArray<Demand>
}

// A fixed pseudo-random sequence, so that every run and every library sees the same workload.
const lcg = (seed: number) => () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31

const makeJobs = (count: number, mailboxLimit: WindowLimit, tenantLimit: TokenBucketLimit): Array<Job> => {
  const random = lcg(42)
  const cache = new Map<string, Demand>()
  const demand = (key: string, limit: WindowLimit | TokenBucketLimit, cost: number, scope: "appMailbox" | "appTenant") => {
    const id = `${key}#${cost}`
    let d = cache.get(id)
    if (d === undefined) {
      d = Demand.make({ key, entryId: `bench.${scope}`, service: "bench", scope, limit, cost, retryAfter: true })
      cache.set(id, d)
    }
    return d
  }
  const jobs: Array<Job> = []
  for (let i = 0; i < count; i++) {
    const m = Math.floor(random() * KEYS)
    const cost = 1 + Math.floor(random() * 5)
    const mailbox = `mailbox/${m}`
    const tenant = `tenant/${m % TENANTS}`
    jobs.push({
      mailbox,
      tenant,
      cost,
      demands: [demand(mailbox, mailboxLimit, cost, "appMailbox"), demand(tenant, tenantLimit, cost, "appTenant")]
    })
  }
  return jobs
}

// Limits that nothing in the throughput run reaches.
const roomyMailbox = WindowLimit.make({ limit: 1_000_000, windowMillis: 600_000 })
const roomyTenant = TokenBucketLimit.make({ capacity: 10_000_000, refillPerSecond: 1_000_000 })

const throttlerRun = (jobs: ReadonlyArray<Job>): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const throttler = yield* Throttler.Throttler
      const start = performance.now()
      yield* Effect.forEach(jobs, (job) => throttler.admit(job.demands), { discard: true })
      return performance.now() - start
    }).pipe(Effect.provide(Throttler.layerMemory()))
  )

const bottleneckRun = async (jobs: ReadonlyArray<Job>): Promise<number> => {
  const options: Bottleneck.ConstructorOptions = {
    maxConcurrent: null,
    minTime: 0,
    reservoir: 1_000_000,
    reservoirRefreshAmount: 1_000_000,
    reservoirRefreshInterval: 600_000
  }
  const mailboxes = new Bottleneck.Group(options)
  const tenants = new Bottleneck.Group(options)
  const start = performance.now()
  await Promise.all(
    jobs.map((job) =>
      mailboxes.key(job.mailbox).schedule({ weight: job.cost }, () =>
        tenants.key(job.tenant).schedule({ weight: job.cost }, () => Promise.resolve()))
    )
  )
  const elapsed = performance.now() - start
  for (const group of [mailboxes, tenants]) {
    for (const { limiter } of group.limiters()) await limiter.disconnect(false)
    await group.disconnect(false)
  }
  return elapsed
}

const pqueueRun = async (jobs: ReadonlyArray<Job>): Promise<number> => {
  const queues = new Map<string, PQueue>()
  const queue = (key: string) => {
    let q = queues.get(key)
    if (q === undefined) {
      q = new PQueue({ concurrency: Number.POSITIVE_INFINITY, intervalCap: 1_000_000, interval: 600_000 })
      queues.set(key, q)
    }
    return q
  }
  const start = performance.now()
  await Promise.all(jobs.map((job) => queue(job.mailbox).add(() => queue(job.tenant).add(() => undefined))))
  const elapsed = performance.now() - start
  for (const q of queues.values()) q.clear()
  return elapsed
}

const time = async (name: string, run: (jobs: ReadonlyArray<Job>) => Promise<number>, jobs: ReadonlyArray<Job>) => {
  await run(jobs.slice(0, 10_000)) // warm-up
  const samples: Array<number> = []
  for (let i = 0; i < RUNS; i++) {
    gc()
    samples.push(await run(jobs))
  }
  const ms = median(samples)
  process.stdout.write(`${name}: median ${ms.toFixed(1)} ms over ${RUNS} runs\n`)
  return (ms * 1000) / jobs.length
}

// Full after a few requests: 5 units per mailbox per hour, costs 1 to 5.
const tightMailbox = WindowLimit.make({ limit: 5, windowMillis: 3_600_000 })
const anyTenant = TokenBucketLimit.make({ capacity: 1_000_000_000, refillPerSecond: 1 })

/** Waits until every request is either admitted or waiting, collects garbage, and returns how many wait. */
const settled = (throttler: Throttler.ThrottlerService, count: number, admitted: () => number) =>
  Effect.gen(function*() {
    let waiting = 0
    while (admitted() + waiting < count) {
      yield* Effect.sleep(50)
      waiting = yield* throttler.waiting
    }
    gc()
    return waiting
  })

/** Heap growth per request while `count` requests wait behind full buckets, queued by `admitAll`. */
const queuedBytes = (count: number): Promise<{ readonly bytes: number; readonly waiting: number }> => {
  const jobs = makeJobs(count, tightMailbox, anyTenant)
  return Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const store = yield* QuotaStore.makeMemory()
      const throttler = yield* Throttler.make().pipe(Effect.provideService(QuotaStore.QuotaStore, store))
      yield* Effect.sync(gc)
      const before = process.memoryUsage().heapUsed
      let admitted = 0
      const consumer = yield* throttler.admitAll(Stream.fromIterable(jobs), (job) => ({ demands: job.demands })).pipe(
        Stream.runForEach(() => Effect.sync(() => void admitted++)),
        Effect.fork
      )
      const waiting = yield* settled(throttler, count, () => admitted)
      const after = process.memoryUsage().heapUsed
      yield* Fiber.interrupt(consumer)
      return { bytes: (after - before) / waiting, waiting }
    }))
  )
}

/** The same, with each request waiting in its own fiber (`Throttler.admit`). */
const queuedFiberBytes = (count: number): Promise<{ readonly bytes: number; readonly waiting: number }> => {
  const jobs = makeJobs(count, tightMailbox, anyTenant)
  return Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const throttler = yield* Throttler.make().pipe(Effect.provide(QuotaStore.layerMemory()))
      yield* Effect.sync(gc)
      const before = process.memoryUsage().heapUsed
      let admitted = 0
      const fibers = yield* Effect.forEach(jobs, (job) =>
        Effect.fork(Effect.tap(throttler.admit(job.demands), () => Effect.sync(() => void admitted++))))
      const waiting = yield* settled(throttler, count, () => admitted)
      const after = process.memoryUsage().heapUsed
      yield* Fiber.interruptAll(fibers)
      return { bytes: (after - before) / waiting, waiting }
    }))
  )
}

const main = async () => {
  const jobs = makeJobs(ADMISSIONS, roomyMailbox, roomyTenant)
  const usPerAdmission = await time("effect-msgraph Throttler", throttlerRun, jobs)
  const bottleneckUsPerAdmission = await time("bottleneck (Group per key)", bottleneckRun, jobs)
  const pqueueUsPerAdmission = await time("p-queue (queue per key)", pqueueRun, jobs)
  const queued = await queuedBytes(QUEUED)
  const fiberBytes = await queuedFiberBytes(QUEUED_FIBERS)
  const round = (n: number, digits: number) => Number(n.toFixed(digits))
  const results = {
    usPerAdmission: round(usPerAdmission, 3),
    bottleneckUsPerAdmission: round(bottleneckUsPerAdmission, 3),
    pqueueUsPerAdmission: round(pqueueUsPerAdmission, 3),
    bytesPerQueuedRequest: round(queued.bytes, 1),
    bytesPerQueuedFiberRequest: round(fiberBytes.bytes, 1),
    speedupVsBottleneck: round(bottleneckUsPerAdmission / usPerAdmission, 1),
    speedupVsPqueue: round(pqueueUsPerAdmission / usPerAdmission, 1),
    workload: {
      admissions: ADMISSIONS,
      keys: KEYS,
      bucketsPerRequest: 2,
      costs: "1-5, fixed pseudo-random sequence",
      queuedRequests: queued.waiting,
      queuedFiberRequests: fiberBytes.waiting,
      runs: RUNS,
      statistic: "median"
    },
    environment: { node: process.version, platform: `${process.platform}-${process.arch}` },
    targets: { usPerAdmission: 5, speedupVsBottleneck: 10, bytesPerQueuedRequest: 500 }
  }
  console.table([
    { measure: "µs per admission (Throttler)", value: results.usPerAdmission, target: "<= 5" },
    { measure: "µs per admission (bottleneck)", value: results.bottleneckUsPerAdmission, target: "" },
    { measure: "µs per admission (p-queue)", value: results.pqueueUsPerAdmission, target: "" },
    { measure: "speed-up vs bottleneck", value: results.speedupVsBottleneck, target: ">= 10" },
    { measure: "bytes per queued request (admitAll, 1M)", value: results.bytesPerQueuedRequest, target: "<= 500" },
    { measure: "bytes per queued request (fiber each, 100k)", value: results.bytesPerQueuedFiberRequest, target: "" }
  ])
  const out = new URL("../../../bench/results/admission.json", import.meta.url)
  fs.mkdirSync(new URL(".", out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n")
  process.stdout.write(`wrote ${out.pathname}\n`)
  process.exit(0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
