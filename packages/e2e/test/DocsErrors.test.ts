// The example of docs/errors.md, kept compiling and running. The page's code block is the code
// between the markers below, checked against the page; the results the page quotes are checked
// against a real BatchBuilder and the emulator. The other tests check the page's claims about
// each error: its fields, and whether anything was sent.
// docs:start
import { BatchBuilder, GraphClient } from "@effect-msgraph/core"
import { Effect, Match } from "effect"

// Before sending: a batch Graph would refuse is refused here, and nothing is sent.
const requests = Array.from({ length: 21 }, (_, i) => ({ id: `r${i + 1}`, method: "GET", url: "/users" }))

export const checked = Effect.flatMap(BatchBuilder.BatchBuilder, (builder) => builder.build(requests)).pipe(
  Effect.as("valid"),
  Effect.catchTags({
    TooManyRequests: (e) => Effect.succeed(`${e.count} requests, at most ${e.limit}: move ${e.ids.join(", ")} to another batch`),
    DuplicateRequestIds: (e) => Effect.succeed(`rename ${e.ids.join(", ")}`)
  }),
  Effect.provide(BatchBuilder.layer())
)

// After sending: a request that did not succeed carries exactly one of these errors.
export const explain = Match.type<GraphClient.OutcomeError>().pipe(
  Match.tag("GraphRequestError", (e) => `Graph answered ${e.status} ${e.code}`),
  Match.tag("Throttled", (e) => `still ${e.status} after ${e.attempts} attempts: try again later`),
  Match.tag("DependencyFailed", (e) => `not run: ${e.dependency} failed with ${e.status}`),
  Match.tag("UnknownOutcome", (e) => `${e.method} may have run (${e.cause}): look before sending it again`),
  Match.tag("CostExceedsCapacity", (e) => `never admissible: costs ${e.cost}, ${e.key} holds ${e.capacity}`),
  Match.tag("BatchRejected", "BatchServerError", "BatchTransportError", "BatchDecodeError", (e) => `the $batch call failed: ${e._tag}`),
  Match.tag("TokenError", (e) => `no token (${e.reason})`),
  Match.orElse((e) => `refused before sending: ${e._tag}`)
)

export const getUser = (upn: string) =>
  Effect.flatMap(GraphClient.GraphClient, (graph) => graph.execute({ method: "GET", url: `/users/${upn}` })).pipe(
    Effect.mapError(explain)
  )
// docs:end

import { expect, it } from "@effect/vitest"
import { LimitCatalog, RetryAfter, TokenProvider } from "@effect-msgraph/core"
import { Emulator } from "@effect-msgraph/emulator"
import { Either, Layer } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { between, checkLinks, docsPage, fenced } from "./utils/docs.js"

const page = docsPage("errors.md")
const source = readFileSync(fileURLToPath(import.meta.url), "utf8")

/** The client against a fresh emulator, throttled, keyed by the emulator's default identity. */
const graph = (options: {
  readonly emulator?: Emulator.Emulator.Options
  readonly client?: GraphClient.GraphClient.Options
  readonly overrides?: string
  readonly tokens?: Layer.Layer<TokenProvider.TokenProvider>
} = {}) =>
  GraphClient.layer(options.client).pipe(
    Layer.provide(options.tokens ?? TokenProvider.layerStatic("test-token")),
    Layer.provide(
      GraphClient.layerThrottledMemory(Emulator.defaultIdentity, {
        catalog: {
          tenantSize: "M",
          delegated: true,
          overrides: Either.getOrThrow(LimitCatalog.parseOverrides(options.overrides ?? ""))
        }
      }).pipe(Layer.orDie)
    ),
    Layer.provideMerge(Emulator.layerTest({ licenses: 100, ...options.emulator }).pipe(Layer.orDie))
  )

const me = Emulator.defaultIdentity.userPrincipalName
const newUser = {
  accountEnabled: true,
  displayName: "Ada",
  mailNickname: "ada",
  userPrincipalName: "ada@contoso.onmicrosoft.com",
  passwordProfile: { password: "x-1234-Y" }
}

it("docs/errors.md shows the example exactly as this file compiles it", () => {
  const blocks = fenced(page, "ts").filter((block) => block.includes("Match.type<GraphClient.OutcomeError>"))
  expect(blocks).toHaveLength(1)
  expect(blocks[0]).toBe(between(source, "// docs:start", "// docs:end"))
})

it("docs/errors.md links only to pages and headings that exist", () => checkLinks(page))

it.effect("docs/errors.md: a 21-request batch is refused with TooManyRequests, naming the request past 20", () =>
  Effect.gen(function*() {
    const result = yield* checked
    expect(result).toBe("21 requests, at most 20: move r21 to another batch")
    expect(page).toContain(`\`"${result}"\``)
    const error = yield* Effect.flip(BatchBuilder.validate(requests))
    expect(error._tag).toBe("TooManyRequests")
  }))

it.effect("docs/errors.md: a missing user is a request-level GraphRequestError, sent and answered 404", () =>
  Effect.gen(function*() {
    const explained = yield* Effect.flip(getUser("nobody@contoso.com"))
    expect(explained).toBe("Graph answered 404 Request_ResourceNotFound")
    expect(page).toContain(`\`"${explained}"\``)
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.execute({ method: "GET", url: "/users/nobody@contoso.com" }))
    expect(error).toMatchObject({ _tag: "GraphRequestError", status: 404, code: "Request_ResourceNotFound" })
    expect((yield* Emulator.audit).filter((entry) => entry.executed)).toHaveLength(2)
  }).pipe(Effect.provide(graph())))

it.effect("a call that breaks a request rule fails alone with its validation error, and is not sent", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const [foreign, fine] = yield* Effect.all([
      Effect.flip(client.execute({ method: "GET", url: "https://example.com/v1.0/users" })),
      client.execute({ method: "GET", url: `/users/${me}` })
    ], { concurrency: "unbounded", batching: true })
    expect(foreign).toMatchObject({ _tag: "ForeignHost", ids: ["1"], hosts: ["example.com"], expected: "graph.microsoft.com" })
    expect(explain(foreign)).toBe("refused before sending: ForeignHost")
    expect(fine.status).toBe(200)
    expect((yield* Emulator.audit).map((entry) => entry.url)).toEqual([`/users/${me}`])
  }).pipe(Effect.provide(graph())))

it.effect("a workload that breaks a rule fails as a whole with the rule's error, and nothing is sent", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.runAll([
      { id: "a", method: "GET", url: `/users/${me}` },
      { id: "A", method: "GET", url: "/users" }
    ]))
    expect(error).toMatchObject({ _tag: "DuplicateRequestIds", groups: [["a", "A"]] })
    expect(yield* Emulator.audit).toHaveLength(0)
  }).pipe(Effect.provide(graph())))

it.effect("a dependent of a failed request ends DependencyFailed with 0 attempts: Graph answers it 424 and does not run it", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const { outcomes } = yield* client.runAll([
      { id: "a", method: "GET", url: "/users/nobody@contoso.com" },
      { id: "b", method: "GET", url: `/users/${me}`, dependsOn: ["a"] }
    ])
    const b = outcomes.find((outcome) => outcome.id === "b")
    expect(b).toMatchObject({ _tag: "Failure", attempts: 0, error: { _tag: "DependencyFailed", id: "b", dependency: "a", status: 404 } })
    // the two share a sequential batch: b travels with a, and Graph answers it 424 without running it
    expect((yield* Emulator.audit).map((entry) => [entry.itemId, entry.status, entry.executed])).toEqual([
      ["a", 404, true],
      ["b", 424, false]
    ])
  }).pipe(Effect.provide(graph())))

it.effect("an item above a bucket's capacity ends CostExceedsCapacity with 0 attempts; it and its dependents are not sent", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const { outcomes } = yield* client.runAll([
      { id: "big", method: "POST", url: `/users/${me}/messages`, body: { subject: "hello", body: { content: "x".repeat(2_000) } } },
      { id: "after", method: "GET", url: `/users/${me}/messages`, dependsOn: ["big"] }
    ])
    const big = outcomes.find((outcome) => outcome.id === "big")
    expect(big).toMatchObject({
      _tag: "Failure",
      attempts: 0,
      error: { _tag: "CostExceedsCapacity", entryId: "outlook.mailbox.upload", key: `outlook.mailbox.upload/${Emulator.defaultIdentity.userId}`, capacity: 1_000 }
    })
    expect(big?._tag === "Failure" && explain(big.error)).toMatch(/^never admissible: costs \d+, outlook\.mailbox\.upload\/\S+ holds 1000$/)
    expect(outcomes.find((outcome) => outcome.id === "after")).toMatchObject({ error: { _tag: "DependencyFailed", dependency: "big" } })
    expect(yield* Emulator.audit).toHaveLength(0)
  }).pipe(Effect.provide(graph({ overrides: "outlook.mailbox.upload=1000" }))))

it.effect("under proactive throttling, a URL with spaces (Graph's own batch example) is priced and sent, not refused", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const url = "/users?$select=id,displayName,userPrincipalName&$filter=city eq null&$count=true"
    const response = yield* client.execute({ method: "GET", url })
    expect(response.status).toBe(200)
    expect((yield* Emulator.audit).map((entry) => entry.url)).toEqual([url])
  }).pipe(Effect.provide(graph())))

it.effect("a batch-level 5xx ends each item of the call with BatchServerError once attempts run out", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.execute({ method: "GET", url: `/users/${me}` }))
    expect(error).toMatchObject({ _tag: "BatchServerError", status: 502 })
    expect(explain(error)).toBe("the $batch call failed: BatchServerError")
  }).pipe(Effect.provide(graph({ client: { maxAttempts: 1 }, emulator: { faults: { batches: [{ status: 502, rate: 1 }] } } }))))

it.effect("a POST whose batch answered 5xx after running ends UnknownOutcome, and it did run", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.execute({ method: "POST", url: "/users", body: newUser }))
    expect(error).toMatchObject({ _tag: "UnknownOutcome", method: "POST", cause: "BatchServerError" })
    expect((yield* Emulator.audit).map((entry) => [entry.method, entry.executed])).toEqual([["POST", true]])
  }).pipe(Effect.provide(graph({ emulator: { faults: { batches: [{ status: 502, rate: 1, phase: "after" }] } } }))))

it.effect("UnknownOutcome.detail says why: the batch error's message, naming the batch and its status", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.execute({ method: "POST", url: "/users", body: newUser }))
    expect(error._tag === "UnknownOutcome" && error.detail).toMatch(/^batch \S+ failed with 502$/)
    expect(error.message).toMatch(/may or may not have run: BatchServerError \(batch \S+ failed with 502\)$/)
  }).pipe(Effect.provide(graph({ emulator: { faults: { batches: [{ status: 502, rate: 1, phase: "after" }] } } }))))

it.effect("an item answered 503 on every allowed attempt ends Throttled with its status and attempts", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.execute({ method: "GET", url: `/users/${me}` }))
    expect(error).toMatchObject({ _tag: "Throttled", status: 503, attempts: 1 })
  }).pipe(Effect.provide(graph({ client: { maxAttempts: 1 }, emulator: { faults: { items: [{ status: 503, rate: 1 }] } } }))))

it.effect("Throttled carries the Retry-After of Graph's last answer, when it gave one", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.execute({ method: "GET", url: `/users/${me}` }))
    expect(error).toMatchObject({ _tag: "Throttled", status: 503, attempts: 1, retryAfterMillis: 7_000 })
    expect(error.message).toContain("(last Retry-After 7000 ms)")
  }).pipe(Effect.provide(graph({ client: { maxAttempts: 1 }, emulator: { faults: { items: [{ status: 503, rate: 1, retryAfterSeconds: 7 }] } } }))))

it.effect("without a token nothing is sent, and the request ends TokenError once attempts run out", () =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const error = yield* Effect.flip(client.execute({ method: "GET", url: `/users/${me}` }))
    expect(error).toMatchObject({ _tag: "TokenError", reason: "Rejected", status: 401 })
    expect(explain(error)).toBe("no token (Rejected)")
    expect(yield* Emulator.audit).toHaveLength(0)
  }).pipe(Effect.provide(graph({
    client: { maxAttempts: 1 },
    tokens: Layer.succeed(TokenProvider.TokenProvider, {
      token: Effect.fail(new TokenProvider.TokenError({ reason: "Rejected", status: 401, description: "token endpoint refused the request" }))
    })
  }))))

it.effect("configuration errors carry the fields the page lists: InvalidOverride, InvalidOptions, InvalidRetryAfter", () =>
  Effect.gen(function*() {
    expect(yield* Effect.flip(LimitCatalog.parseOverrides("outlook.mailbox.upload=lots"))).toMatchObject({
      _tag: "InvalidOverride",
      input: "outlook.mailbox.upload=lots",
      reason: "syntax"
    })
    const unknown = yield* Effect.flip(LimitCatalog.make({ overrides: [new LimitCatalog.LimitOverride({ entryId: "no.such.entry", quantity: 1 })] }))
    expect(unknown).toMatchObject({ _tag: "InvalidOverride", input: "no.such.entry", reason: "unknownEntry" })
    const options = yield* Effect.flip(Emulator.make({ faults: { items: [{ status: 503, rate: 2 }] } }))
    expect(options).toMatchObject({ _tag: "InvalidOptions", option: "faults.items[0].rate" })
    expect(yield* Effect.flip(RetryAfter.parse("soon"))).toMatchObject({ _tag: "InvalidRetryAfter", value: "soon" })
    expect(RetryAfter.fromHeaders({ "Retry-After": "soon" })._tag).toBe("None")
  }))
