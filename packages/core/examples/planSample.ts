/**
 * Builds a sample onboarding workload, plans it with the DependencyResolver and prints the default
 * plan, then the one with the fewest round trips, each with its estimated duration under the default
 * latency model. Run with `npm run plan-sample`.
 */
import { Console, Effect, Layer } from "effect"
import * as BatchBuilder from "../src/BatchBuilder.js"
import * as DependencyResolver from "../src/DependencyResolver.js"
import type { WorkloadRequest } from "../src/Workload.js"

const users = ["ada", "grace", "alan", "barbara", "edsger", "margaret", "donald", "frances"]

/** Per user: create, license (needs the new id), add to a group (needs the id), then a welcome mail. */
const workload: Array<WorkloadRequest> = [
  ...users.flatMap((name): Array<WorkloadRequest> => [
    {
      id: `create-${name}`,
      method: "POST",
      url: "/users",
      body: {
        accountEnabled: true,
        displayName: name,
        mailNickname: name,
        userPrincipalName: `${name}@contoso.com`,
        passwordProfile: { forceChangePasswordNextSignIn: true, password: "generated-elsewhere" }
      }
    },
    {
      id: `license-${name}`,
      method: "POST",
      url: `/users/{{create-${name}#/body/id}}/assignLicense`,
      body: { addLicenses: [{ skuId: "c7df2760-2c81-4ef7-b578-5b5392b571df", disabledPlans: [] }], removeLicenses: [] }
    },
    {
      id: `group-${name}`,
      method: "POST",
      url: "/groups/02bd9fd6-8f93-4758-87c3-1fb73740a315/members/$ref",
      body: { "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/{{create-${name}#/body/id}}` },
      dependsOn: [`license-${name}`]
    },
    {
      id: `welcome-${name}`,
      method: "POST",
      url: "/users/hr@contoso.com/sendMail",
      body: {
        message: {
          subject: "Welcome",
          body: { contentType: "Text", content: `Welcome aboard, ${name}!` },
          toRecipients: [{ emailAddress: { address: `${name}@contoso.com` } }]
        }
      },
      dependsOn: [`group-${name}`]
    }
  ]),
  ...Array.from({ length: 30 }, (_, i): WorkloadRequest => ({
    id: `read-${i}`,
    method: "GET",
    url: `/groups?$select=id,displayName&$top=10&$skip=${i}`,
    priority: "low"
  }))
]

const show = (title: string, plan: DependencyResolver.Plan) =>
  Effect.gen(function*() {
    const estimate = plan.estimatedMillis === undefined ? "" : `, estimated ${Math.round(plan.estimatedMillis)} ms`
    yield* Console.log(`${title}: policy ${plan.policy}${estimate}`)
    for (const round of plan.rounds) {
      yield* Console.log(`Round ${round.index}: ${round.batches.length} batch(es)`)
      for (const batch of round.batches) {
        const ids = batch.requests.map((r) => r.id)
        yield* Console.log(`  ${batch.id} [${batch.shape}, ${ids.length}] ${ids.join(" ")}`)
      }
    }
    yield* Console.log(
      `Round trips: ${plan.roundTrips} (lower bound ${plan.lowerBound.roundTrips}); ` +
        `batches: ${plan.batches} (lower bound ${plan.lowerBound.batches})`
    )
  })

const program = Effect.gen(function*() {
  const resolver = yield* DependencyResolver.DependencyResolver
  // the default: the shorter estimated duration under DependencyResolver.defaultLatency
  const plan = yield* resolver.plan(workload)
  yield* Console.log(`Sample workload: ${plan.requests} requests`)
  yield* show("Default (auto)", plan)
  // the fewest round trips, estimated under the same model for comparison
  const fewest = yield* resolver.plan(workload, { policy: "fewestRoundTrips", latency: DependencyResolver.defaultLatency })
  yield* show("\nfewestRoundTrips", fewest)
})

program.pipe(
  Effect.provide(DependencyResolver.layer.pipe(Layer.provide(BatchBuilder.layer()))),
  Effect.catchAll((error) => Console.error(`Invalid workload: ${error.message}`).pipe(Effect.zipRight(Effect.sync(() => { process.exitCode = 2 })))),
  Effect.runPromise
)
