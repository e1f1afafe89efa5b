import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import { HttpClient } from "@effect/platform"
import { ConfigProvider, Effect, Layer } from "effect"

/** The client read from these variables, over an HttpClient that is never called. */
const fromEnvironment = (entries: Record<string, string>) =>
  Effect.provide(GraphClient.GraphClient, GraphClient.layerConfig()).pipe(
    Effect.provide(Layer.mergeAll(
      TokenProvider.layerStatic("token"),
      GraphClient.layerUnthrottled,
      Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.die("nothing is sent")))
    )),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))
  )

describe("GraphClient.layerConfig", () => {
  it.effect("MSGRAPH_BASE_URL and MSGRAPH_VERSION set the endpoint", () =>
    Effect.gen(function*() {
      const graph = yield* fromEnvironment({ MSGRAPH_BASE_URL: "http://127.0.0.1:4000/", MSGRAPH_VERSION: "beta" })
      expect(graph.options).toStrictEqual({ baseUrl: "http://127.0.0.1:4000", version: "beta", host: "127.0.0.1:4000" })
    }))

  for (const value of ["graph.microsoft.com", "ftp://graph.microsoft.com", "https://"]) {
    it.effect(`MSGRAPH_BASE_URL=${value} is a ConfigError naming the variable, not a defect`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(fromEnvironment({ MSGRAPH_BASE_URL: value }))
        expect(error._tag).toBe("ConfigError")
        expect(String(error)).toContain("MSGRAPH_BASE_URL")
      }))
  }
})
