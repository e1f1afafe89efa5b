import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as OutcomeRecord from "@effect-msgraph/core/OutcomeRecord"
import { Effect } from "effect"
import { driveClock, inProcess, TOKEN } from "./utils/harness.js"

const byId = (outcomes: ReadonlyArray<GraphClient.Outcome>) => new Map(outcomes.map((o) => [o.id, o]))

describe("outcomes carry what a result record needs", () => {
  it.effect("a failure Graph answered carries its answer: request-id, client-request-id and Graph's error", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const { outcomes } = yield* driveClock(client.runAll([
        { id: "ghost", method: "GET", url: "/users/nobody@contoso.onmicrosoft.com" }
      ]))
      const ghost = byId(outcomes).get("ghost") as GraphClient.Failure
      expect(ghost.response?.status).toBe(404)
      const record = OutcomeRecord.fromOutcome(ghost)
      expect(record).toMatchObject({ id: "ghost", status: 404, error: { tag: "GraphRequestError", code: "Request_ResourceNotFound" } })
      expect(record.headers?.["request-id"]).toMatch(/\S/)
      expect(record.headers?.["client-request-id"]).toMatch(/\S/)
      expect((record.body as { error: { code: string } }).error.code).toBe("Request_ResourceNotFound")
    }).pipe(Effect.provide(inProcess())))

  it.effect("a request throttled to the end carries the last answer, with its Retry-After", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const { outcomes } = yield* driveClock(client.runAll([{ id: "me", method: "GET", url: "/me" }]))
      const me = byId(outcomes).get("me") as GraphClient.Failure
      expect(me.error._tag).toBe("Throttled")
      const record = OutcomeRecord.fromOutcome(me)
      expect(record).toMatchObject({ status: 503, attempts: 2, error: { tag: "Throttled" }, headers: { "retry-after": "1" } })
    }).pipe(Effect.provide(inProcess({ faults: { items: [{ status: 503, rate: 1, retryAfterSeconds: 1 }] } }, { maxAttempts: 2 }))))

  it.effect("a created object's record has its Location and id; no record holds the token", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const { outcomes } = yield* driveClock(client.runAll([{
        id: "create",
        method: "POST",
        url: "/users",
        body: { accountEnabled: true, displayName: "Ada", mailNickname: "ada", userPrincipalName: "ada@contoso.onmicrosoft.com" }
      }]))
      const record = OutcomeRecord.fromOutcome(byId(outcomes).get("create")!)
      const id = (record.body as { id: string }).id
      expect(record.status).toBe(201)
      expect(record.headers?.location).toContain(id)
      expect(JSON.stringify(record)).not.toContain(TOKEN)
    }).pipe(Effect.provide(inProcess())))
})
