import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as OutcomeRecord from "@effect-msgraph/core/OutcomeRecord"
import type { Workload } from "@effect-msgraph/core/Workload"
import { Emulator } from "@effect-msgraph/emulator"
import { Effect, Either, Stream } from "effect"
import { driveClock, inProcess } from "./utils/harness.js"

const create = {
  id: "create",
  method: "POST",
  url: "/users",
  body: { accountEnabled: true, displayName: "Ada", mailNickname: "ada", userPrincipalName: "ada@contoso.onmicrosoft.com" }
} as const
const read = { id: "read", method: "GET", url: "/users/{{create#/body/id}}" } as const

const runEvents = (workload: Workload, options: GraphClient.GraphClient.RunOptions) =>
  Effect.flatMap(GraphClient.GraphClient, (client) => driveClock(Stream.runCollect(client.run(workload, options))))
    .pipe(Effect.map((chunk) => {
      const events = [...chunk]
      const summary = events.at(-1) as GraphClient.Summary
      return { outcomes: events.slice(0, -1) as Array<GraphClient.Outcome>, summary }
    }))

const completedOf = (outcome: GraphClient.Outcome) => Either.getOrThrow(OutcomeRecord.toCompleted(OutcomeRecord.fromOutcome(outcome)))

const executed = (method: string) =>
  Effect.map(Emulator.audit, (entries) => entries.filter((e) => e.executed && e.method === method).map((e) => e.itemId))

describe("GraphClient.run resuming an earlier run", () => {
  it.effect("a completed request is not sent again and its dependent reads its recorded response", () =>
    Effect.gen(function*() {
      const first = yield* runEvents([create], {})
      expect(first.outcomes.map((o) => o._tag)).toEqual(["Success"])
      const second = yield* runEvents([create, read], { completed: [completedOf(first.outcomes[0]!)] })
      expect(second.outcomes.map((o) => [o.id, o._tag])).toEqual([["read", "Success"]])
      expect((second.outcomes[0] as GraphClient.Success).body).toMatchObject({ userPrincipalName: "ada@contoso.onmicrosoft.com" })
      expect(second.summary).toMatchObject({ requests: 1, succeeded: 1, failed: 0 })
      expect(yield* executed("POST")).toEqual(["create"])
    }).pipe(Effect.provide(inProcess())))

  it.effect("the dependents of a completed failure end DependencyFailed, unless already recorded, and nothing is sent", () =>
    Effect.gen(function*() {
      const workload: Workload = [
        { id: "ghost", method: "GET", url: "/users/nobody@contoso.onmicrosoft.com" },
        { id: "a", method: "GET", url: "/users/{{ghost#/body/id}}" },
        { id: "b", method: "GET", url: "/me", dependsOn: ["ghost"] }
      ]
      const ghost = { id: "ghost", succeeded: false, response: { status: 404 } }
      const b = { id: "b", succeeded: false, response: { status: 424 } }
      const { outcomes, summary } = yield* runEvents(workload, { completed: [ghost, b] })
      expect(outcomes.map((o) => [o.id, o._tag === "Failure" ? o.error._tag : o._tag])).toEqual([["a", "DependencyFailed"]])
      expect(summary).toMatchObject({ requests: 1, failed: 1, batches: 0 })
      expect(yield* Emulator.audit).toEqual([])
    }).pipe(Effect.provide(inProcess())))

  it.effect("sent without an outcome: a POST ends UnknownOutcome unsent, a GET and an idempotent POST are sent again", () =>
    Effect.gen(function*() {
      const upsert = { ...create, id: "upsert", idempotent: true, body: { ...create.body, mailNickname: "bo", userPrincipalName: "bo@contoso.onmicrosoft.com" } }
      const workload: Workload = [create, read, upsert, { id: "me", method: "GET", url: "/me" }]
      const { outcomes } = yield* runEvents(workload, { sent: ["create", "upsert", "me"] })
      const tags = new Map(outcomes.map((o) => [o.id, o._tag === "Failure" ? o.error._tag : o._tag]))
      expect(Object.fromEntries(tags)).toEqual({ create: "UnknownOutcome", read: "DependencyFailed", upsert: "Success", me: "Success" })
      const unknown = outcomes.find((o) => o.id === "create") as GraphClient.Failure
      expect(unknown.error).toMatchObject({ _tag: "UnknownOutcome", cause: "Interrupted", method: "POST" })
      expect(unknown.attempts).toBe(1)
      expect(yield* executed("POST")).toEqual(["upsert"])
    }).pipe(Effect.provide(inProcess())))

  it.effect("resendUnknown sends again a POST sent without an outcome", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* runEvents([create, read], { sent: ["create"], resendUnknown: true })
      expect(outcomes.map((o) => [o.id, o._tag])).toEqual([["create", "Success"], ["read", "Success"]])
      expect(yield* executed("POST")).toEqual(["create"])
    }).pipe(Effect.provide(inProcess())))

  it.effect("onSend hears of every request before its $batch call reaches Graph, with the client's resendable rule", () =>
    Effect.gen(function*() {
      const heard: Array<{ id: string; resendable: boolean; seenByGraph: boolean }> = []
      const emulator = yield* Emulator.Emulator
      const onSend = (requests: ReadonlyArray<GraphClient.Sending>) =>
        Effect.map(emulator.audit, (entries) => {
          const seen = new Set(entries.map((e) => e.itemId))
          for (const r of requests) heard.push({ ...r, seenByGraph: seen.has(r.id) })
        })
      const upsert = { ...create, id: "upsert", idempotent: true, body: { ...create.body, mailNickname: "bo", userPrincipalName: "bo@contoso.onmicrosoft.com" } }
      const { outcomes } = yield* runEvents([create, read, upsert], { onSend })
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(heard.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
        { id: "create", resendable: false, seenByGraph: false },
        { id: "read", resendable: true, seenByGraph: false },
        { id: "upsert", resendable: true, seenByGraph: false }
      ])
    }).pipe(Effect.provide(inProcess())))
})
