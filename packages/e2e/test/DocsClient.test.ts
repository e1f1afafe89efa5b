// The examples of docs/client.md, kept compiling (and the emulator one running).
import { NodeHttpClient } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { GraphClient, TokenProvider } from "@effect-msgraph/core"
import { Emulator } from "@effect-msgraph/emulator"
import { Effect, Layer } from "effect"

const identity = {
  tenantId: "contoso.onmicrosoft.com",
  appId: "11111111-2222-3333-4444-555555555555"
}

// "Composing it": built, never run (it would need credentials and the network)
export const GraphLive = GraphClient.layer({ cloud: "global", version: "v1.0" }).pipe(
  Layer.provide(TokenProvider.layerClientCredentialsConfig),
  Layer.provide(GraphClient.layerThrottledMemory(identity, { catalog: { tenantSize: "M", delegated: false } })),
  Layer.provide(NodeHttpClient.layerUndici)
)

export const program = Effect.gen(function*() {
  const graph = yield* GraphClient.GraphClient
  const me = yield* graph.execute({ method: "GET", url: "/users/adele@contoso.com?$select=id,displayName" })
  yield* Effect.log(me.status)
})

export const runnable: Effect.Effect<void, unknown> = program.pipe(Effect.provide(GraphLive))

// "Testing with the emulator"
const GraphTest = GraphClient.layer().pipe(
  Layer.provide(TokenProvider.layerStatic("test-token")),
  Layer.provide(
    GraphClient.layerThrottledMemory(Emulator.defaultIdentity, { catalog: { tenantSize: "M", delegated: true } }).pipe(Layer.orDie)
  ),
  Layer.provideMerge(Emulator.layerTest({ licenses: 100 }))
)

it.effect("docs/client.md: onboards a user against the emulator", () =>
  Effect.gen(function*() {
    const graph = yield* GraphClient.GraphClient
    const created = yield* graph.execute({
      method: "POST",
      url: "/users",
      body: { accountEnabled: true, displayName: "Ada", mailNickname: "ada", userPrincipalName: "ada@contoso.onmicrosoft.com" }
    })
    expect(created.status).toBe(201)
    expect((yield* Emulator.report).limitViolations).toBe(0)
  }).pipe(Effect.provide(GraphTest)))
