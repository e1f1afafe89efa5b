/**
 * Memory of a run (`npm run bench:memory`, also the last step of `npm run bench`): the peak RSS
 * of the library's `GraphClient.run` over the real `HttpClient` (`NodeHttpClient.layerUndici`)
 * against a minimal fake `$batch` server on 127.0.0.1, at 100k and 1M independent GETs.
 *
 * The server runs in this (the parent) process and answers every item 200 with a tiny body at once.
 * Each size runs in a fresh child process, which measures itself: its RSS after loading the client
 * and a full GC (the baseline), then builds the workload (it is part of what the run holds) and
 * drains `GraphClient.run`, keeping only counts. The peak is the kernel's high-water mark of the
 * child's RSS (`process.resourceUsage().maxRSS`); heap figures are sampled every 50 ms.
 *
 * Writes `bench/results/memory.json`, then rewrites `docs/benchmarks.md` from the stored results
 * (`workloads.js --render`), so this section can be rerun on its own.
 *
 * @since 0.1.0
 */
import { GraphClient, TokenProvider, type Workload } from "@effect-msgraph/core"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel, Stream } from "effect"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

const here = fileURLToPath(import.meta.url)
const root = path.resolve(path.dirname(here), "../../..")

/** Workload sizes, smallest first. `BENCH_MEMORY_SIZES=1000,10000` overrides them (not written). */
const defaultSizes = [100_000, 1_000_000]
/** `$batch` calls in flight, fixed (where the client's adaptive limit starts, and its earlier default). */
const concurrency = 4

/**
 * @since 0.1.0
 * @category models
 */
export interface MemoryRow {
  readonly requests: number
  readonly succeeded: number
  readonly failed: number
  readonly batches: number
  readonly baselineRssMB: number
  readonly peakRssMB: number
  /** (peak RSS − baseline RSS) / requests. */
  readonly bytesPerRequest: number
  readonly baselineHeapMB: number
  readonly peakHeapMB: number
  /** Heap taken by the workload array itself (after a full GC), per request. */
  readonly workloadBytesPerRequest: number
  readonly wallMs: number
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10

const gc = () => (globalThis as { gc?: () => void }).gc?.()

const independentGets = (n: number): Workload.Workload =>
  Array.from({ length: n }, (_, i) => ({ id: `get-${i}`, method: "GET", url: `/users/u${i % 1000}?$select=id` }))

/** The child: one run of `requests` against the server at `port`, printing a `MemoryRow` as JSON. */
const child = async (requests: number, port: number) => {
  const client = GraphClient.layer({ baseUrl: `http://127.0.0.1:${port}`, concurrency }).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic("bench-token"), GraphClient.layerUnthrottled, NodeHttpClient.layerUndici))
  )
  const runOnce = (workload: Workload.Workload) =>
    Effect.flatMap(GraphClient.GraphClient, (graph) =>
      graph.run(workload).pipe(
        Stream.runFold({ succeeded: 0, failed: 0, batches: 0 }, (counts, event) => {
          if (event._tag === "Summary") counts.batches = event.batches
          else if (event._tag === "Success") counts.succeeded++
          else counts.failed++
          return counts
        })
      )).pipe(Effect.provide(client), Logger.withMinimumLogLevel(LogLevel.Error))
  // warm up: load and compile the whole path once, so the baseline includes the code
  await Effect.runPromise(runOnce(independentGets(200)))
  gc()
  gc()
  const baselineRss = process.memoryUsage.rss()
  const baselineHeap = process.memoryUsage().heapUsed
  let peakHeap = baselineHeap
  const sampler = setInterval(() => {
    const heap = process.memoryUsage().heapUsed
    if (heap > peakHeap) peakHeap = heap
  }, 50)
  const t0 = performance.now()
  const workload = independentGets(requests)
  gc()
  const workloadHeap = process.memoryUsage().heapUsed - baselineHeap
  const counts = await Effect.runPromise(runOnce(workload))
  const wallMs = Math.round(performance.now() - t0)
  clearInterval(sampler)
  const peakRss = process.resourceUsage().maxRSS * 1024
  const row: MemoryRow = {
    requests,
    ...counts,
    baselineRssMB: mb(baselineRss),
    peakRssMB: mb(peakRss),
    bytesPerRequest: Math.round((peakRss - baselineRss) / requests),
    baselineHeapMB: mb(baselineHeap),
    peakHeapMB: mb(peakHeap),
    workloadBytesPerRequest: Math.round(workloadHeap / requests),
    wallMs
  }
  // the workload is used after the run, so it is live throughout (as a caller's array would be)
  if (workload.length !== requests) throw new Error("workload changed")
  process.stdout.write(`${JSON.stringify(row)}\n`)
}

/** A minimal `$batch` server: every item 200 with a tiny body, at once. */
const fakeServer = () =>
  new Promise<http.Server>((resolve) => {
    const server = http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { requests: Array<{ id: string }> }
        const responses = body.requests.map((r) => ({ id: r.id, status: 200, body: { id: "x" } }))
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ responses }))
      })
    })
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

const runChild = (requests: number, port: number) =>
  new Promise<MemoryRow>((resolve, reject) => {
    const proc = spawn(process.execPath, ["--expose-gc", "--max-old-space-size=4096", here, "--child", String(requests), String(port)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    proc.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")))
    proc.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`child for ${requests} requests exited with ${code}`))
      resolve(JSON.parse(out.trim().split("\n").pop()!) as MemoryRow)
    })
  })

const parent = async () => {
  const given = process.env["BENCH_MEMORY_SIZES"]
  const sizes = given === undefined ? defaultSizes : given.split(",").map((s) => Number(s.trim()))
  const server = await fakeServer()
  const port = (server.address() as AddressInfo).port
  const rows: Array<MemoryRow> = []
  try {
    for (const requests of sizes) {
      const row = await runChild(requests, port)
      process.stderr.write(`(f) ${JSON.stringify(row)}\n`)
      rows.push(row)
    }
  } finally {
    server.close()
  }
  if (given !== undefined) {
    process.stderr.write("BENCH_MEMORY_SIZES given: results not written\n")
    return
  }
  const results = {
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version, platform: `${os.platform()} ${os.arch()}` },
    concurrency,
    rows
  }
  const resultsPath = path.join(root, "bench/results/memory.json")
  fs.mkdirSync(path.dirname(resultsPath), { recursive: true })
  fs.writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`)
  // docs/benchmarks.md is rendered from every stored result by the workloads generator
  execFileSync(process.execPath, [path.join(path.dirname(here), "workloads.js"), "--render"], { stdio: "inherit" })
  process.stderr.write(`wrote ${resultsPath} and docs/benchmarks.md\n`)
}

const childAt = process.argv.indexOf("--child")
const main = childAt >= 0 ? child(Number(process.argv[childAt + 1]), Number(process.argv[childAt + 2])) : parent()
main.catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
