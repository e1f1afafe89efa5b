import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Emulator } from "@effect-msgraph/emulator"
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

/** The onboarding workflow: create a user, license them by UPN, add them to a group, send mail. */
export const onboarding = (users: number): Array<WorkloadRequest> => [
  { id: "skus", method: "GET", url: "/subscribedSkus" },
  {
    id: "group",
    method: "POST",
    url: "/groups",
    body: { displayName: "New starters", mailNickname: "newstarters", mailEnabled: false, securityEnabled: true }
  },
  ...Array.from({ length: users }, (_, i): Array<WorkloadRequest> => [
    {
      id: `create-${i}`,
      method: "POST",
      url: "/users",
      body: {
        accountEnabled: true,
        displayName: `User ${i}`,
        mailNickname: `user${i}`,
        userPrincipalName: `user${i}@contoso.onmicrosoft.com`,
        usageLocation: "US",
        passwordProfile: { forceChangePasswordNextSignIn: true, password: "Generated-1!" }
      }
    },
    {
      id: `license-${i}`,
      method: "POST",
      url: `/users/{{create-${i}#/body/userPrincipalName}}/assignLicense`,
      body: { addLicenses: [{ skuId: "{{skus#/body/value/0/skuId}}", disabledPlans: [] }], removeLicenses: [] }
    },
    {
      id: `member-${i}`,
      method: "POST",
      url: "/groups/{{group#/body/id}}/members/$ref",
      body: { "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/{{create-${i}#/body/id}}` },
      dependsOn: [`license-${i}`]
    },
    {
      id: `mail-${i}`,
      method: "POST",
      url: `/users/{{create-${i}#/body/id}}/sendMail`,
      body: {
        message: {
          subject: "Welcome",
          body: { contentType: "Text", content: "Welcome aboard" },
          toRecipients: [{ emailAddress: { address: `user${i}@contoso.onmicrosoft.com` } }]
        }
      },
      dependsOn: [`member-${i}`]
    }
  ]).flat()
]
