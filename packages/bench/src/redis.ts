/**
 * Redis quota store benchmark (`npm run bench:redis`, part of `npm run bench`, never of `npm test`).
 * Starts its own `redis-server` on a free loopback port (skipped, with a message, when there is
 * none) and measures:
 *
 * 1. Latency: one `take` at a time (a request's three buckets: an app window, a mailbox window and
 *    a tenant token bucket, with limits high enough that nothing waits), against one `INCR` at a
 *    time on the same connection: the floor of any round trip through this client. Also the time
 *    Redis itself spends per call (`INFO commandstats`), which splits a `take` into server and
 *    client.
 * 2. Throughput: admissions per second with 64 takes in flight per process, in one process and in
 *    four processes at once, against `INCR` the same way.
 * 3. The client's overhead per request: 10,000 independent GETs per process through the whole
 *    `GraphClient` (in-process emulator, no latency, limits × 1,000 on both sides so nothing
 *    paces), four processes at once, with the in-memory store and with the Redis store (both with the
 *    token reserve and in-flight accounting of `layerThrottledMemory`). CPU time of
 *    the client's process per request (the work it does), and wall time per request.
 *
 * Writes `bench/results/redis.json` at the repository root and prints a table.
 */
import { CostCalculator, GraphClient, LimitCatalog, Throttler, TokenProvider } from "@effect-msgraph/core"
import { Demand, TokenBucketLimit, WindowLimit } from "@effect-msgraph/spec/Bucket"
import { Emulator } from "@effect-msgraph/emulator"
import { RedisQuotaStore } from "@effect-msgraph/quota-redis"
import { Effect, Layer, Logger, LogLevel, Stream } from "effect"
import { Redis } from "ioredis"
import { execFileSync, fork, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

const SEQUENTIAL = 5_000
const WARMUP = 500
const IN_FLIGHT = 64
const THROUGHPUT_MILLIS = 3_000
const CLIENT_REQUESTS = 10_000
const PROCESSES = 4

const demands = [
  Demand.make({ key: "outlook/app", entryId: "a", service: "outlook", scope: "app", limit: WindowLimit.make({ limit: 1e12, windowMillis: 10_000 }), cost: 1, retryAfter: true }),
  Demand.make({ key: "outlook/app/mailbox", entryId: "m", service: "outlook", scope: "appMailbox", limit: WindowLimit.make({ limit: 1e12, windowMillis: 600_000 }), cost: 1, retryAfter: true }),
  Demand.make({ key: "identity/tenant", entryId: "t", service: "identity", scope: "tenant", limit: TokenBucketLimit.make({ capacity: 1e12, refillPerSecond: 1e9 }), cost: 1, retryAfter: true })
]

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits

/** µs per call, one call at a time. */
const sequential = async (call: () => Promise<unknown>) => {
  for (let i = 0; i < WARMUP; i++) await call()
  const times: Array<number> = []
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now()
    await call()
    times.push((performance.now() - start) * 1000)
  }
  times.sort((a, b) => a - b)
  return { meanUs: round(times.reduce((a, b) => a + b, 0) / times.length), p50Us: round(percentile(times, 0.5)), p99Us: round(percentile(times, 0.99)) }
}

/** Calls per second with `IN_FLIGHT` loops for `THROUGHPUT_MILLIS`. */
const throughput = async (call: () => Promise<unknown>) => {
  let done = 0
  const end = performance.now() + THROUGHPUT_MILLIS
  const loop = async () => {
    while (performance.now() < end) {
      await call()
      done++
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop))
  return done / ((performance.now() - start) / 1000)
}

const makeStore = (client: Redis, namespace: string) =>
  Effect.runPromise(Effect.scoped(Effect.orDie(RedisQuotaStore.make({ client, namespace })))).then(
    // the store's scope only runs lease renewal, which this benchmark does not need
    (store) => store
  )

/** A worker process: one measurement, printed as JSON on stdout. */
const worker = async (mode: string, url: string) => {
  const client = new Redis(url, { enableAutoPipelining: true })
  let result: unknown
  if (mode === "take") {
    const store = await makeStore(client, "bench")
    result = await throughput(() => Effect.runPromise(store.take(demands, Date.now())))
  } else if (mode === "incr") {
    result = await throughput(() => client.incr("bench:counter"))
  } else {
    result = await clientOverhead(mode === "client-redis" ? url : undefined)
  }
  await client.quit()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

/** Every rate and token bucket × 1,000, as the emulator's limits: nothing paces. */
const scaledOverrides = LimitCatalog.defaultCatalog.entries.flatMap((entry) =>
  entry.limit._tag === "Rate" || entry.limit._tag === "TokenBucket"
    ? [new LimitCatalog.LimitOverride({ entryId: entry.id, quantity: entry.limit.quantity * 1000 })]
    : []
)

const clientOverhead = async (redisUrl: string | undefined) => {
  const catalog = { tenantSize: "M" as const, delegated: true, overrides: scaledOverrides }
  const admission = redisUrl === undefined
    ? GraphClient.layerThrottledMemory(Emulator.defaultIdentity, { catalog }).pipe(Layer.orDie)
    : GraphClient.layerThrottled(Emulator.defaultIdentity).pipe(
      Layer.provide(Layer.merge(
        Throttler.layer().pipe(Layer.provide(RedisQuotaStore.layer({
          url: redisUrl,
          namespace: `client${process.pid}`,
          // as layerThrottledMemory (and the CLI): the same work on both sides
          tokenReserveMillis: GraphClient.defaultTokenReserveMillis,
          tokensInFlight: true
        }))),
        CostCalculator.layer
      )),
      Layer.provide(LimitCatalog.layer(catalog)),
      Layer.orDie
    )
  const live = GraphClient.layer({ concurrency: 8 }).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("bench-token"), admission)),
    Layer.provide(Emulator.layerTest({ tenantSize: "M", seed: 0, latency: "none", multiplier: 1000 })),
    Layer.orDie
  )
  const workload = Array.from({ length: CLIENT_REQUESTS }, (_, i) => ({
    id: `get-${i}`,
    method: "GET" as const,
    url: `/users/${Emulator.defaultIdentity.userId}?$select=id,displayName`
  }))
  const cpu = process.cpuUsage()
  const started = performance.now()
  const summary = await Effect.runPromise(
    Effect.flatMap(GraphClient.GraphClient, (graph) =>
      graph.run(workload).pipe(
        Stream.runFold(undefined as GraphClient.Summary | undefined, (last, event) => event._tag === "Summary" ? event : last)
      )).pipe(Effect.provide(live), Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error))
  )
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return {
    cpuUsPerRequest: (used.user + used.system) / CLIENT_REQUESTS,
    wallUsPerRequest: (wallMs * 1000) / CLIENT_REQUESTS,
    succeeded: summary?.succeeded ?? 0
  }
}

const self = fileURLToPath(import.meta.url)

/** Runs `mode` in `n` processes at once; their JSON results. */
const inProcesses = <A>(n: number, mode: string, url: string): Promise<Array<A>> =>
  Promise.all(Array.from({ length: n }, () =>
    new Promise<A>((resolve, reject) => {
      const child = fork(self, ["worker", mode, url], { stdio: ["ignore", "pipe", "inherit", "ipc"] })
      let out = ""
      child.stdout!.on("data", (chunk: Buffer) => void (out += chunk.toString()))
      child.once("exit", (code) => code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!) as A) : reject(new Error(`${mode} worker exited ${code}`)))
    })))

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const main = async () => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" })
  } catch {
    console.log("SKIPPED: the Redis benchmark needs redis-server on PATH (apt-get install -y redis-server)")
    return
  }
  const port = await freePort()
  const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "inherit"] })
  await new Promise<void>((resolve) => {
    let out = ""
    server.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes("Ready to accept connections")) resolve()
    })
  })
  const url = `redis://127.0.0.1:${port}`
  try {
    const client = new Redis(url, { enableAutoPipelining: true })
    const store = await makeStore(client, "bench")
    const version = String(await client.info("server")).match(/redis_version:(\S+)/)?.[1] ?? "?"
    /** µs Redis spends per call of `command`, since the last reset. */
    const serverUs = async (command: string) => {
      const stats = String(await client.info("commandstats"))
      return Number(stats.match(new RegExp(`cmdstat_${command}:.*usec_per_call=([0-9.]+)`))?.[1] ?? NaN)
    }
    await client.config("RESETSTAT")
    const incrLatency = await sequential(() => client.incr("bench:counter"))
    const incrServerUs = await serverUs("incr")
    await client.config("RESETSTAT")
    const takeLatency = await sequential(() => Effect.runPromise(store.take(demands, Date.now())))
    const takeServerUs = await serverUs("evalsha")
    await client.quit()
    const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)
    const one = { incr: sum(await inProcesses<number>(1, "incr", url)), take: sum(await inProcesses<number>(1, "take", url)) }
    const four = { incr: sum(await inProcesses<number>(PROCESSES, "incr", url)), take: sum(await inProcesses<number>(PROCESSES, "take", url)) }
    type Overhead = { cpuUsPerRequest: number; wallUsPerRequest: number; succeeded: number }
    const mean = (rows: ReadonlyArray<Overhead>, field: "cpuUsPerRequest" | "wallUsPerRequest") => round(sum(rows.map((r) => r[field])) / rows.length)
    const memoryRows = await inProcesses<Overhead>(PROCESSES, "client-memory", url)
    const redisRows = await inProcesses<Overhead>(PROCESSES, "client-redis", url)
    const results = {
      redisVersion: version,
      latency: {
        incr: incrLatency,
        take: takeLatency,
        takeOverIncr: round(takeLatency.meanUs / incrLatency.meanUs, 2),
        takeOverIncrP50: round(takeLatency.p50Us / incrLatency.p50Us, 2),
        serverUsPerCall: { incr: round(incrServerUs, 2), take: round(takeServerUs, 2) }
      },
      throughput: {
        oneProcess: { incrPerSecond: Math.round(one.incr), takesPerSecond: Math.round(one.take) },
        fourProcesses: { incrPerSecond: Math.round(four.incr), takesPerSecond: Math.round(four.take) }
      },
      clientOverhead: {
        processes: PROCESSES,
        requestsPerProcess: CLIENT_REQUESTS,
        memory: { cpuUsPerRequest: mean(memoryRows, "cpuUsPerRequest"), wallUsPerRequest: mean(memoryRows, "wallUsPerRequest") },
        redis: { cpuUsPerRequest: mean(redisRows, "cpuUsPerRequest"), wallUsPerRequest: mean(redisRows, "wallUsPerRequest") },
        allSucceeded: [...memoryRows, ...redisRows].every((r) => r.succeeded === CLIENT_REQUESTS)
      }
    }
    const overhead = results.clientOverhead
    const cpuRatio = round(overhead.redis.cpuUsPerRequest / overhead.memory.cpuUsPerRequest, 2)
    const wallRatio = round(overhead.redis.wallUsPerRequest / overhead.memory.wallUsPerRequest, 2)
    const out = { ...results, clientOverhead: { ...overhead, cpuRatio, wallRatio } }
    const dir = new URL("../../../bench/results/", import.meta.url)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(new URL("redis.json", dir), `${JSON.stringify(out, null, 2)}\n`)
    console.log(`Redis ${version} on loopback`)
    console.log(`latency, one at a time: INCR ${incrLatency.meanUs} µs (p50 ${incrLatency.p50Us}, p99 ${incrLatency.p99Us}); take ${takeLatency.meanUs} µs (p50 ${takeLatency.p50Us}, p99 ${takeLatency.p99Us}): ${out.latency.takeOverIncr}× the floor (p50 ${out.latency.takeOverIncrP50}×)`)
    console.log(`time in Redis per call: INCR ${out.latency.serverUsPerCall.incr} µs, take ${out.latency.serverUsPerCall.take} µs`)
    console.log(`throughput, ${IN_FLIGHT} in flight per process: 1 process INCR ${Math.round(one.incr)}/s, take ${Math.round(one.take)}/s; ${PROCESSES} processes INCR ${Math.round(four.incr)}/s, take ${Math.round(four.take)}/s`)
    console.log(`client overhead per request, ${PROCESSES} processes: memory ${overhead.memory.cpuUsPerRequest} µs CPU (${overhead.memory.wallUsPerRequest} µs wall), Redis ${overhead.redis.cpuUsPerRequest} µs CPU (${overhead.redis.wallUsPerRequest} µs wall): ${cpuRatio}× CPU, ${wallRatio}× wall`)
  } finally {
    server.kill("SIGTERM")
  }
}

if (process.argv[2] === "worker") {
  worker(process.argv[3]!, process.argv[4]!).then(() => process.exit(0), (error) => {
    console.error(error)
    process.exit(1)
  })
} else {
  main().then(() => process.exit(0), (error) => {
    console.error(error)
    process.exit(1)
  })
}
