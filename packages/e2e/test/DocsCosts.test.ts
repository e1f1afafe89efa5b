// The example of docs/costs.md, kept compiling and running. The page's code block is the code
// between the markers below (plus the line that runs it), and the page shows what it prints: both
// are checked against the page, so neither can drift from the code. The other tests check the
// page's claims about pricing against the calculator and the throttler.
// docs:start
import { CostCalculator, LimitCatalog } from "@effect-msgraph/core"
import { Console, Effect } from "effect"

// who is calling: bucket keys are made from it
const context = new LimitCatalog.ClassifyContext({
  tenantId: "contoso.onmicrosoft.com",
  appId: "my-app",
  delegated: false,
  tenantSize: "M"
})

const program = Effect.gen(function*() {
  const calculator = yield* CostCalculator.CostCalculator
  const priced = yield* calculator.costAll([
    { method: "GET", url: "/users?$select=id,displayName&$top=5" },
    { method: "POST", url: "/users/alice@contoso.com/messages", bodyBytes: 2_048 }
  ], context)
  for (const { method, path, demands, identity } of priced) {
    yield* Console.log(`${method} ${path}`)
    for (const demand of demands) {
      yield* Console.log(`  ${demand.key}: ${demand.cost} (${demand.limit._tag})`)
    }
    if (identity !== undefined) {
      const steps = identity.adjustments.map(({ rule, delta }) => `${rule} ${delta > 0 ? "+" : ""}${delta}`)
      yield* Console.log(`  resource units: ${identity.base} ${steps.join(" ")} = ${identity.resourceUnits}, write cost ${identity.writeCost}`)
    }
  }
})
// docs:end

import { describe, expect, it, vi } from "@effect/vitest"
import { Throttler } from "@effect-msgraph/core"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { between, checkLinks, docsPage, fenced } from "./utils/docs.js"

/** The line of the page's block that runs the example; the tests below run the same Effect. */
const runLine = "Effect.runPromise(program.pipe(Effect.provide(CostCalculator.layerDefault)))"
const provided = program.pipe(Effect.provide(CostCalculator.layerDefault))

const page = docsPage("costs.md")
const source = readFileSync(fileURLToPath(import.meta.url), "utf8")

/** The example's block on the page: the only `ts` block that prices with `layerDefault`. */
const exampleBlock = (): string => {
  const blocks = fenced(page, "ts").filter((block) => block.includes("CostCalculator.layerDefault"))
  expect(blocks).toHaveLength(1)
  return blocks[0]!
}

/** The untagged block right after "It prints:". */
const printedBlock = (): string => {
  const after = page.slice(page.indexOf("It prints:"))
  const block = fenced(after, "")[0]
  expect(block).toBeDefined()
  return block!
}

/** Runs an Effect while collecting what it writes with `console.log`, one line per call. */
const capture = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const lines: Array<string> = []
      const spy = vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
        lines.push(args.map(String).join(" "))
      })
      return { lines, spy }
    }),
    ({ lines }) => Effect.as(effect, lines),
    ({ spy }) => Effect.sync(() => spy.mockRestore())
  )

describe("docs/costs.md", () => {
  it("shows the example exactly as this file compiles it, ending with the line that runs it", () => {
    const compiled = between(source, "// docs:start", "// docs:end")
    expect(exampleBlock()).toBe(`${compiled}\n\n${runLine}`)
  })

  it("links only to pages and headings that exist", () => checkLinks(page))

  it.effect("the example prints exactly what the page says it prints", () =>
    Effect.gen(function*() {
      const lines = yield* capture(provided)
      expect(lines.join("\n")).toBe(printedBlock())
    }))

  it.effect("GET users with $select and $top=5 costs 1 resource unit: base 2, each modifier -1, raised to the minimum", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const priced = yield* calculator.cost({ method: "GET", url: "/users?$select=id,displayName&$top=5" }, context)
      expect(priced.identity?.base).toBe(2)
      expect(priced.identity?.adjustments.map((a) => a.rule)).toEqual(["select", "top", "minimum"])
      expect(priced.identity?.resourceUnits).toBe(1)
      // a GET is not matched by the write quotas at all, so nothing is skipped either
      expect(priced.entries.some((id) => id.endsWith(".writes"))).toBe(false)
      expect(priced.skipped).toEqual([])
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("a POST to a mailbox without its body size skips the upload limit as zeroCost", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const priced = yield* calculator.cost({ method: "POST", url: "/users/alice@contoso.com/messages" }, context)
      expect(priced.demands.map((d) => d.entryId)).not.toContain("outlook.mailbox.upload")
      expect(priced.skipped.map((s) => [s.entryId, s.reason, s.detail])).toEqual([
        ["outlook.mailbox.upload", "zeroCost", "the request's body size is not known"]
      ])
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("an identity write costs its resource units and 1 against each of the three write quotas", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const priced = yield* calculator.cost({ method: "PATCH", url: "/users/bob@contoso.com", bodyBytes: 30 }, context)
      const cost = (entryId: string) => priced.demands.find((d) => d.entryId === entryId)?.cost
      expect(cost("identityAccess.appTenant.writes")).toBe(1)
      expect(cost("identityAccess.app.writes")).toBe(1)
      expect(cost("identityAccess.tenant.writes")).toBe(1)
      expect(cost("identityAccess.appTenant.resourceUnits.M")).toBe(1)
      expect(priced.identity?.writeCost).toBe(1)
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("a POST that only reads (getByIds) skips the write quotas as zeroCost", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const priced = yield* calculator.cost({ method: "POST", url: "/directoryObjects/getByIds?$select=id" }, context)
      expect(priced.identity?.resourceUnits).toBe(2)
      expect(priced.skipped.filter((s) => s.reason === "zeroCost").map((s) => s.entryId).sort()).toEqual([
        "identityAccess.app.writes",
        "identityAccess.appTenant.writes",
        "identityAccess.tenant.writes"
      ])
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("an information protection request without its body is missingKey for the per-resource limits, and not cached", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const url = "/informationProtection/threatAssessmentRequests"
      const bare = yield* calculator.cost({ method: "POST", url }, context)
      expect(bare.skipped.map((s) => s.reason)).toContain("missingKey")
      expect(bare.demands.map((d) => d.key)).toContain("informationProtection.tenant.15min/contoso.onmicrosoft.com")
      const first = yield* calculator.cost({ method: "POST", url, body: { url: "https://a.example" } }, context)
      const second = yield* calculator.cost({ method: "POST", url, body: { url: "https://b.example" } }, context)
      expect(first.demands.map((d) => d.key)).toContain("informationProtection.resource.15min/contoso.onmicrosoft.com/url:https://a.example")
      expect(second.demands.map((d) => d.key)).toContain("informationProtection.resource.15min/contoso.onmicrosoft.com/url:https://b.example")
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("the same request in the same context object comes back from the cache", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const request = { method: "GET", url: "/users?$top=5" }
      const first = yield* calculator.cost(request, context)
      expect(yield* calculator.cost(request, context)).toBe(first)
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("lower-cases key parts and names the acting user's mailbox one way, by id or by UPN", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const delegated = new LimitCatalog.ClassifyContext({
        tenantId: "Contoso", appId: "My-App", userId: "U-1", userPrincipalName: "Ada@Contoso.com", delegated: true
      })
      const keys = (url: string) =>
        Effect.map(calculator.cost({ method: "GET", url }, delegated), (c) => c.demands.map((d) => d.key))
      expect(yield* keys("/me/messages")).toContain("outlook.mailbox.requests/u-1")
      expect(yield* keys("/users/ada@contoso.com/messages")).toContain("outlook.mailbox.requests/u-1")
      expect(yield* keys("/users/Bob@Contoso.com/messages")).toContain("outlook.mailbox.requests/bob@contoso.com")
      expect(yield* keys("/users")).toContain("global.app/my-app")
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("refuses a request it cannot price with InvalidRequest, naming the reason", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const reason = (request: LimitCatalog.ClassifyRequest) =>
        Effect.map(Effect.flip(calculator.cost(request, context)), (e) => [e._tag, e.reason])
      expect(yield* reason({ method: "HEAD", url: "/users" })).toEqual(["InvalidRequest", "method"])
      expect(yield* reason({ method: "GET", url: "/" })).toEqual(["InvalidRequest", "url"])
      expect(yield* reason({ method: "GET", url: "/users/a\nb" })).toEqual(["InvalidRequest", "url"])
      expect(yield* reason({ method: "POST", url: "/users", bodyBytes: 1.5 })).toEqual(["InvalidRequest", "bodyBytes"])
    }).pipe(Effect.provide(CostCalculator.layerDefault)))

  it.effect("a body above 150,000,000 bytes can never be admitted: the throttler fails at once with CostExceedsCapacity", () =>
    Effect.gen(function*() {
      const calculator = yield* CostCalculator.CostCalculator
      const throttler = yield* Throttler.Throttler
      const priced = yield* calculator.cost(
        { method: "POST", url: "/users/alice@contoso.com/messages", bodyBytes: 150_000_001 },
        context
      )
      const error = yield* Effect.flip(throttler.admit(priced.demands))
      expect(error._tag).toBe("CostExceedsCapacity")
      expect(error).toMatchObject({
        key: "outlook.mailbox.upload/alice@contoso.com",
        entryId: "outlook.mailbox.upload",
        cost: 150_000_001,
        capacity: 150_000_000
      })
      // one byte less fits
      const fits = yield* calculator.cost(
        { method: "POST", url: "/users/alice@contoso.com/messages", bodyBytes: 150_000_000 },
        context
      )
      yield* throttler.release(yield* throttler.admit(fits.demands))
    }).pipe(Effect.provide(CostCalculator.layerDefault), Effect.provide(Throttler.layerMemory())))
})
