/**
 * Redis quota store benchmark (`npm run bench:redis`, part of `npm run bench`, never of `npm test`).
 * Starts its own `redis-server` on a free loopback port (skipped, with a message, when there is
 * none) and measures:
 *
 * 1. Latency: one `take` at a time (a request's three buckets: an app window, a mailbox window and
 *    a tenant token bucket, with limits high enough that nothing waits), against one `INCR` at a
 *    time on the same connection: the floor of any round trip through this client. The takes run
 *    in one fiber, as the Throttler makes them (a fiber started per call would be the benchmark's
 *    cost, not the store's); the INCRs are bare ioredis calls, the strictest floor. The two are
 *    measured in alternating blocks, so that a loaded machine slows both alike. Two stores: the
 *    defaults, and the CLI's settings (token reserve, units in flight), where each take is
 *    followed by its answer (which goes with the next take). Also the time Redis itself spends per
 *    call (`INFO commandstats`), and two floors for any script keeping this state: an empty script
 *    with the same keys and arguments, and one that only reads the time and reads, decodes,
 *    encodes and writes (with an expiry) three MessagePack arrays of a take's sizes (one busy
 *    window of 20 sub-windows, two small states).
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
import { Effect, Layer, Logger, LogLevel, Scope, Stream } from "effect"
import { Redis } from "ioredis"
import { execFileSync, fork, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

const SEQUENTIAL = 5_000
const BLOCKS = 10
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

type Latency = { meanUs: number; p50Us: number; p99Us: number }

/** Mean, median and 99th percentile of µs samples. */
const summarize = (times: Array<number>): Latency => {
  times.sort((a, b) => a - b)
  return { meanUs: round(times.reduce((a, b) => a + b, 0) / times.length), p50Us: round(percentile(times, 0.5)), p99Us: round(percentile(times, 0.99)) }
}

/**
 * µs per call, one call at a time, for each of `calls`: `BLOCKS` rounds, each running every call
 * `SEQUENTIAL / BLOCKS` times in turn, so that load on a shared machine falls on all of them alike.
 * A call is a promise (a bare client call) or an effect (run in one fiber for all its calls).
 */
type Call = (() => Promise<unknown>) | Effect.Effect<unknown, unknown>

const sequential = async (calls: Record<string, Call>) => {
  const samples: Record<string, Array<number>> = {}
  const block = async (name: string, n: number, record: boolean) => {
    const call = calls[name]!
    const times = (samples[name] ??= [])
    if (Effect.isEffect(call)) {
      await Effect.runPromise(Effect.gen(function*() {
        for (let i = 0; i < n; i++) {
          const start = performance.now()
          yield* call
          if (record) times.push((performance.now() - start) * 1000)
        }
      }))
    } else {
      for (let i = 0; i < n; i++) {
        const start = performance.now()
        await call()
        if (record) times.push((performance.now() - start) * 1000)
      }
    }
  }
  for (const name of Object.keys(calls)) await block(name, WARMUP, false)
  for (let b = 0; b < BLOCKS; b++) {
    for (const name of Object.keys(calls)) await block(name, SEQUENTIAL / BLOCKS, true)
  }
  return Object.fromEntries(Object.entries(samples).map(([name, times]) => [name, summarize(times)]))
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

// The store's scope runs lease renewal and the sending of answers left alone; the benchmark keeps
// it open until the process ends.
const makeStore = (client: Redis, namespace: string, options: RedisQuotaStore.RedisQuotaStore.Options = {}) =>
  Effect.runPromise(Effect.flatMap(Scope.make(), (scope) =>
    Scope.extend(Effect.orDie(RedisQuotaStore.make({ ...options, client, namespace })), scope)))

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
          unitsInFlight: true
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
    // as the store's own connection: no auto-pipelining
    const client = new Redis(url)
    const store = await makeStore(client, "bench")
    const cli = await makeStore(client, "bench-cli", { tokenReserveMillis: GraphClient.defaultTokenReserveMillis, unitsInFlight: true })
    const version = String(await client.info("server")).match(/redis_version:(\S+)/)?.[1] ?? "?"
    /** µs Redis spends per call of `command` (the sum over its forms), since the last reset. */
    const serverUs = async (command: string) => {
      const stats = String(await client.info("commandstats"))
      const rows = [...stats.matchAll(new RegExp(`cmdstat_${command}:calls=(\\d+),usec=(\\d+)`, "g"))]
      return rows.reduce((us, r) => us + Number(r[2]), 0) / rows.reduce((n, r) => n + Number(r[1]), 0)
    }
    // the floors of any script over a take's keys: the same keys and arguments doing nothing, and
    // only the state's reads and writes (arguments as the default store's take sends them)
    const floorKeys = demands.map((d) => `{bench-floor}:${d.key}`)
    const floorArgs = ["take", "", "AbCdEfGhIjKlMnOp", 0, 0, 0, 1e12, 10_000, 1, 0, 1e12, 600_000, 1, 1, 1e12, 1e6, 1]
    const empty = String(await client.script("LOAD", "return 1"))
    const state = String(await client.script("LOAD", [
      "local t = redis.call('TIME')",
      "for i = 1, #KEYS do",
      "  local raw = redis.call('GET', KEYS[i])",
      "  local s = raw and cmsgpack.unpack(raw) or { 0, 0, 0, 0, 1, 0 }",
      // the first key as the take's busy window: 20 sub-windows of (date, units)
      "  while i == 1 and #s < 46 do s[#s + 1] = 1764700000000.123; s[#s + 1] = 1 end",
      "  redis.call('SET', KEYS[i], cmsgpack.pack(s), 'PX', 60000)",
      "end",
      "return 1"
    ].join("\n")))
    const calls: Record<string, Call> = {
      incr: () => client.incr("bench:counter"),
      emptyScript: () => client.evalsha(empty, floorKeys.length, ...floorKeys, ...floorArgs),
      stateScript: () => client.evalsha(state, floorKeys.length, ...floorKeys, ...floorArgs),
      take: Effect.suspend(() => store.take(demands, Date.now())),
      takeAnswered: Effect.suspend(() => {
        const now = Date.now()
        return Effect.zipRight(cli.take(demands, now), cli.adjust(demands, { _tag: "Redate", takenAtMillis: now }, Date.now()))
      })
    }
    // each alone for Redis's own time per call; then all in alternating blocks for the latencies
    const serverTimes: Record<string, number> = {}
    for (const [name, call] of Object.entries(calls)) {
      await client.config("RESETSTAT")
      await sequential({ [name]: call })
      serverTimes[name] = await serverUs(name === "incr" ? "incr" : "eval(?:sha)?")
    }
    const latencies = await sequential(calls)
    await client.quit()
    const incrLatency = latencies.incr!
    const takeLatency = latencies.take!
    const overIncr = (l: Latency) => round(l.p50Us / incrLatency.p50Us, 2)
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
        ...latencies,
        // medians over the INCR's median: the figure the target is about
        overIncrP50: {
          emptyScript: overIncr(latencies.emptyScript!),
          stateScript: overIncr(latencies.stateScript!),
          take: overIncr(takeLatency),
          takeAnswered: overIncr(latencies.takeAnswered!)
        },
        serverUsPerCall: Object.fromEntries(Object.entries(serverTimes).map(([k, v]) => [k, round(v, 2)]))
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
    for (const [name, l] of Object.entries(latencies)) {
      console.log(`latency, one at a time, ${name}: p50 ${l.p50Us} µs (mean ${l.meanUs}, p99 ${l.p99Us})${name === "incr" ? "" : `: ${overIncr(l)}× INCR's p50`}; in Redis ${round(serverTimes[name]!, 2)} µs per call`)
    }
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
