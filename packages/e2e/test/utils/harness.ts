import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import { Examples } from "@effect-msgraph/cli"
import { type Audit, Emulator } from "@effect-msgraph/emulator"
import { Duration, Effect, Fiber, Layer, Option, TestClock } from "effect"

export const TOKEN = "e2e-secret-token-value"

/** The client against the in-process emulator, without client-side throttling. */
export const inProcess = (
  emulator: Emulator.Emulator.Options = {},
  client: GraphClient.GraphClient.Options = {},
  admission: Layer.Layer<GraphClient.Admission> = GraphClient.layerUnthrottled
) =>
  GraphClient.layer(client).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic(TOKEN), admission)),
    Layer.provideMerge(Emulator.layerTest(emulator))
  )

/**
 * Runs an effect that sleeps on the TestClock (Retry-After, backoff, latency): advances the clock in
 * steps until the effect completes.
 */
export const driveClock = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "250 millis", maxSteps = 200_000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxSteps; i++) {
      const done = yield* fiber.poll
      if (Option.isSome(done)) return yield* Fiber.join(fiber)
      yield* TestClock.adjust(step)
    }
    return yield* Effect.dieMessage("the effect did not finish within the simulated time")
  })

/**
 * The onboarding workflow (create a user, license them by UPN, add them to a group, send a welcome
 * mail): the CLI's example generator, so the tests and the main job run the same workload.
 */
export const onboarding = Examples.onboarding

/**
 * The audit sequence number of each item's first successful execution on the server, by item id:
 * a request that depends on another must have run after it.
 */
export const firstSuccess = (audit: ReadonlyArray<Audit.AuditEntry>): Map<string, number> => {
  const ran = new Map<string, number>()
  for (const entry of audit) {
    if (entry.executed && entry.status < 300 && entry.itemId !== undefined && !ran.has(entry.itemId)) {
      ran.set(entry.itemId, entry.seq)
    }
  }
  return ran
}
