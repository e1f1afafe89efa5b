/**
 * Measures what pricing one batch item costs: the URLs of the repository's example workloads
 * (`examples/*.json`), priced through `LimitCatalog` + `CostCalculator` the way the throttled
 * admission does (`catalog.context(identity)` once, then `costs.cost(request, context)` per item),
 * and through the pure `LimitCatalog.classify` the emulator calls per item.
 *
 * Usage (after `npx tsc -b`): `node packages/core/build/scripts/profilePricing.js [rounds]`.
 * Run under `node --cpu-prof` to find hot spots.
 */
import { Effect, Layer } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as CostCalculator from "../src/CostCalculator.js"
import * as LimitCatalog from "../src/LimitCatalog.js"

interface ExampleItem {
  readonly method: string
  readonly url: string
  readonly body?: unknown
}

const root = resolve(process.argv[3] ?? process.cwd())
const rounds = Number(process.argv[2] ?? "3")
const encoder = new TextEncoder()

const workloads = readdirSync(join(root, "examples"))
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => {
    const parsed = JSON.parse(readFileSync(join(root, "examples", name), "utf8")) as {
      readonly requests: ReadonlyArray<ExampleItem>
    }
    const requests = parsed.requests.map((item): LimitCatalog.ClassifyRequest => ({
      method: item.method,
      url: item.url,
      ...(item.body === undefined ? {} : { body: item.body, bodyBytes: encoder.encode(JSON.stringify(item.body)).length })
    }))
    return { name, requests }
  })

const identity: LimitCatalog.LimitCatalog.Identity = {
  tenantId: "contoso-tenant",
  appId: "bench-app",
  userId: "00000000-0000-0000-0000-0000000000aa",
  userPrincipalName: "admin@contoso.onmicrosoft.com"
}

const microsPer = (count: number, run: () => void): number => {
  const start = process.hrtime.bigint()
  run()
  return Number(process.hrtime.bigint() - start) / 1000 / count
}

const program = Effect.gen(function*() {
  const catalog = yield* LimitCatalog.LimitCatalog
  const costs = yield* CostCalculator.CostCalculator
  const context = catalog.context(identity)
  console.log(`rounds=${rounds} (each round prices every request of a workload once; best round shown)`)
  console.log("workload                requests  cost() µs/req  classify() µs/req")
  let total = 0
  let totalCost = 0
  let totalClassify = 0
  for (const { name, requests } of workloads) {
    let bestCost = Infinity
    let bestClassify = Infinity
    for (let round = 0; round < rounds; round++) {
      bestCost = Math.min(
        bestCost,
        microsPer(requests.length, () =>
          Effect.runSync(Effect.gen(function*() {
            for (const request of requests) yield* Effect.either(costs.cost(request, context))
          })))
      )
      bestClassify = Math.min(
        bestClassify,
        microsPer(requests.length, () => {
          for (const request of requests) LimitCatalog.classify(catalog.catalog, request, context)
        })
      )
    }
    total += requests.length
    totalCost += bestCost * requests.length
    totalClassify += bestClassify * requests.length
    console.log(
      `${name.padEnd(24)}${String(requests.length).padStart(8)}${bestCost.toFixed(2).padStart(15)}${bestClassify.toFixed(2).padStart(19)}`
    )
  }
  console.log(
    `${"all (weighted)".padEnd(24)}${String(total).padStart(8)}${(totalCost / total).toFixed(2).padStart(15)}${(totalClassify / total).toFixed(2).padStart(19)}`
  )
})

Effect.runSync(Effect.provide(program, Layer.merge(CostCalculator.layerDefault, LimitCatalog.layerDefault)))
