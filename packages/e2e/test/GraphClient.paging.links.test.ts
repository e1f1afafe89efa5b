import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { Chunk, Effect, FastCheck, Layer, Stream } from "effect"
import { TOKEN } from "./utils/harness.js"

interface Sent {
  readonly url: string
  readonly authorization: string | undefined
  readonly items: ReadonlyArray<{ readonly id: string; readonly url: string }>
}

/**
 * A Graph `$batch` endpoint that answers every item 200 with one value and, on the first page only,
 * the `@odata.nextLink` it is given; later pages have none. Records every HTTP request.
 */
const graph = (firstLink: string) => {
  const sent: Array<Sent> = []
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.sync(() => {
        const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "{}"
        const { requests } = JSON.parse(text) as { requests: ReadonlyArray<{ id: string; url: string }> }
        sent.push({ url: request.url, authorization: request.headers["authorization"], items: requests })
        const responses = requests.map(({ id, url }) => ({
          id,
          status: 200,
          headers: { "content-type": "application/json" },
          body: { value: [{ id: url }], ...(sent.length === 1 ? { "@odata.nextLink": firstLink } : {}) }
        }))
        return HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ responses }), { status: 200, headers: { "content-type": "application/json" } })
        )
      })
    )
  )
  return { sent, layer }
}

const pagedRun = (firstLink: string) =>
  Effect.gen(function*() {
    const fake = graph(firstLink)
    const events = yield* Effect.flatMap(GraphClient.GraphClient, (client) =>
      Stream.runCollect(client.run([{ id: "list", method: "GET", url: "/users", pages: "all" }]))).pipe(
        Effect.provide(GraphClient.layer().pipe(
          Layer.provide(Layer.mergeAll(TokenProvider.layerStatic(TOKEN), GraphClient.layerUnthrottled, fake.layer))
        ))
      )
    return { outcomes: Chunk.toReadonlyArray(events).filter((e): e is GraphClient.Outcome => e._tag !== "Summary"), sent: fake.sent }
  })

const hostArb = FastCheck.domain().filter((host) => host.toLowerCase() !== "graph.microsoft.com")
const pathArb = FastCheck.webPath()

/** Links that must not be followed: other hosts (also in disguise), ports, versions and relative links. */
const foreignArb = FastCheck.oneof(
  FastCheck.tuple(hostArb, pathArb).map(([host, path]) => `https://${host}/v1.0${path}`),
  FastCheck.tuple(hostArb, pathArb).map(([host, path]) => `https://graph.microsoft.com@${host}/v1.0${path}`),
  FastCheck.tuple(hostArb, pathArb).map(([host, path]) => `https://graph.microsoft.com.${host}/v1.0${path}`),
  FastCheck.tuple(hostArb, pathArb).map(([host, path]) => `//${host}/v1.0${path}`),
  FastCheck.tuple(FastCheck.integer({ min: 1, max: 65535 }), pathArb).map(([port, path]) => `https://graph.microsoft.com:${port}/v1.0${path}`),
  pathArb.map((path) => `https://graph.microsoft.com/beta${path}`),
  pathArb.map((path) => `https://graph.microsoft.com${path.replace(/^\/v1\.0/i, "")}`),
  pathArb.map((path) => `/v1.0/users${path}`),
  pathArb.map((path) => `ftp://graph.microsoft.com/v1.0${path}`)
)

describe("paging follows only links to the configured Graph host and version", () => {
  it.effect.prop(
    "a foreign @odata.nextLink is never sent: one $batch call, to the Graph host, and the request ends NextLinkRefused",
    [foreignArb],
    ([link]) =>
      Effect.gen(function*() {
        const { outcomes, sent } = yield* pagedRun(link)
        expect(outcomes.map((o) => [o._tag, o.page])).toStrictEqual([["Success", 1], ["Failure", 2]])
        expect((outcomes[1] as GraphClient.Failure).error).toMatchObject({ _tag: "NextLinkRefused", id: "list", page: 2 })
        expect(sent.map((s) => [s.url, s.items.map((i) => i.url)])).toStrictEqual([["https://graph.microsoft.com/v1.0/$batch", ["/users"]]])
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it.effect("a link to the Graph host is followed as a batch item to the Graph host, its query kept as written", () =>
    Effect.gen(function*() {
      const link = "https://GRAPH.microsoft.com/v1.0/users?$top=5&$skiptoken=X%2BY%3D%3D"
      const { outcomes, sent } = yield* pagedRun(link)
      expect(outcomes.map((o) => [o._tag, o.page, o._tag === "Success" ? o.more : undefined])).toStrictEqual([
        ["Success", 1, true],
        ["Success", 2, false]
      ])
      expect(sent.map((s) => s.url)).toStrictEqual(Array(2).fill("https://graph.microsoft.com/v1.0/$batch"))
      expect(sent[1]!.items.map((i) => i.url)).toStrictEqual(["/users?$top=5&$skiptoken=X%2BY%3D%3D"])
      expect(sent.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true)
    }))
})
