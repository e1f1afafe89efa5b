// The first example of docs/emulator.md, verbatim: it must compile and pass.
import { Emulator } from "@effect-msgraph/emulator"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"

it.effect("my code stays within Graph's limits", () =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(
      HttpClientRequest.post("https://graph.microsoft.com/v1.0/$batch").pipe(
        HttpClientRequest.bodyUnsafeJson({ requests: [{ id: "1", method: "GET", url: "/me" }] })
      )
    )
    assert.strictEqual(response.status, 200)
    yield* TestClock.adjust("10 seconds") // wait out a Retry-After without waiting
    const report = yield* Emulator.report
    assert.deepStrictEqual(
      [report.limitViolations, report.duplicateExecutions, report.orderViolations],
      [0, 0, 0]
    )
  }).pipe(Effect.provide(Emulator.layerTest({ tenantSize: "S", seed: 42 })))
)

// The faults example of docs/emulator.md, verbatim: it must build.
const faultsExample = Emulator.layerTest({
  seed: 7,
  faults: {
    items: [
      { status: 503, rate: 0.05, retryAfterSeconds: 2 },      // any service, with Retry-After
      { status: 504, rate: 0.02, service: "outlook" },        // Outlook only, no Retry-After
      { status: 504, rate: 0.01, phase: "after" }             // the item ran, then its answer was lost
    ],
    batches: [
      { status: 502, rate: 0.01 },                            // before any item ran
      { status: 503, rate: 0.01, phase: "after", retryAfterSeconds: 5 } // after all items ran
    ],
    dropConnection: { rate: 0.01, phase: "after" },
    malformedJson: { rate: 0.01 },
    missingItem: { rate: 0.01 }
  }
})

it.effect("the documented faults example builds an emulator", () =>
  Effect.gen(function*() {
    const report = yield* Emulator.report
    assert.strictEqual(report.requests, 0)
  }).pipe(Effect.provide(faultsExample)))
