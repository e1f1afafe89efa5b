import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import * as VirtualClock from "@effect-msgraph/core/VirtualClock"
import { Examples } from "@effect-msgraph/cli"
import { type Audit, Emulator } from "@effect-msgraph/emulator"
import { type Duration, Effect, Layer } from "effect"

export const TOKEN = "e2e-secret-token-value"

/**
 * The client against the in-process emulator, without client-side throttling (unless `admission`
 * says otherwise), all of it in a new virtual-time world (`VirtualClock.layer`) that the test's
 * effect shares: the admission's timers, the client's backoff and the emulator's latency and
 * windows run on one clock, which moves only when every fiber waits.
 */
export const inProcess = (
  emulator: Emulator.Emulator.Options = {},
  client: GraphClient.GraphClient.Options = {},
  admission: Layer.Layer<GraphClient.Admission> = GraphClient.layerUnthrottled
) =>
  GraphClient.layer(client).pipe(
    Layer.provide(Layer.mergeAll(TokenProvider.layerStatic(TOKEN), admission)),
    Layer.provideMerge(Emulator.layerTest(emulator)),
    Layer.provide(VirtualClock.layer())
  )

/**
 * Runs an effect that sleeps (Retry-After, backoff, latency, admission timers) in virtual time until
 * it completes: in the world of {@link inProcess} when the test provides it, else in a new one.
 * Time jumps straight to each deadline once every fiber waits, so the layers the effect uses must
 * live in the same world (build them inside, or with {@link inProcess}). Dies if the effect waits on
 * something no sleep can end.
 *
 * `_step` is what the clock used to advance by on each turn, when this drove a `TestClock`; the
 * virtual clock needs none, and existing callers still pass one.
 */
export const driveClock = <A, E, R>(effect: Effect.Effect<A, E, R>, _step?: Duration.DurationInput): Effect.Effect<A, E, R> =>
  VirtualClock.run(effect).pipe(Effect.catchIf((e): e is VirtualClock.Stalled => e instanceof VirtualClock.Stalled, Effect.die))

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
