import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import { Emulator } from "@effect-msgraph/emulator"
import { Cause, Chunk, Effect, Either, Exit, Layer, Stream } from "effect"
import { driveClock, inProcess, onboarding } from "./utils/harness.js"

describe("GraphClient against the in-process emulator", () => {
  it.effect("the onboarding workflow: every request succeeds once, in dependency order", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const workload = onboarding(30)
      const { outcomes, summary } = yield* driveClock(client.runAll(workload))
      expect(outcomes).toHaveLength(workload.length)
      expect(new Set(outcomes.map((o) => o.id)).size).toBe(workload.length)
      const failures = outcomes.filter((o) => o._tag === "Failure")
      expect(failures.map((f) => [f.id, f._tag === "Failure" ? f.error._tag : ""])).toStrictEqual([])
      expect(summary).toMatchObject({ requests: workload.length, succeeded: workload.length, failed: 0 })
      const report = yield* Emulator.report
      expect(report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0, orderViolations: 0 })
      // the user really is in the group, licensed, and mailed
      const group = outcomes.find((o) => o.id === "group") as GraphClient.Success
      const members = yield* client.execute({ method: "GET", url: `/groups/${(group.body as { id: string }).id}/members` })
      expect((members.body as { value: Array<unknown> }).value).toHaveLength(30)
    }).pipe(Effect.provide(inProcess({ licenses: 100 }))))

  it.effect("licences running out fail those requests with Graph's error, and their dependents are not sent", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const workload = onboarding(3)
      const { outcomes } = yield* driveClock(client.runAll(workload))
      const byId = new Map(outcomes.map((o) => [o.id, o]))
      const failedLicenses = ["license-0", "license-1", "license-2"].filter((id) => byId.get(id)!._tag === "Failure")
      expect(failedLicenses).toHaveLength(1)
      const failed = byId.get(failedLicenses[0]!) as GraphClient.Failure
      expect(failed.error).toMatchObject({ _tag: "GraphRequestError", status: 400, code: "Request_BadRequest" })
      const n = failedLicenses[0]!.slice("license-".length)
      expect((byId.get(`member-${n}`) as GraphClient.Failure).error).toMatchObject({ _tag: "DependencyFailed", dependency: `license-${n}`, status: 400 })
      expect((byId.get(`welcome-${n}`) as GraphClient.Failure).error).toMatchObject({ _tag: "DependencyFailed", dependency: `member-${n}`, status: 424 })
      // Graph ran neither: not sent, or answered 424 behind the failure in a sequential batch (no attempt)
      expect([byId.get(`member-${n}`)!.attempts, byId.get(`welcome-${n}`)!.attempts]).toStrictEqual([0, 0])
      const createdId = ((byId.get(`create-${n}`) as GraphClient.Success).body as { id: string }).id
      const mails = (yield* Emulator.audit).filter((a) => a.executed && a.url.endsWith("/sendMail"))
      expect(mails).toHaveLength(2)
      expect(mails.some((a) => a.url.includes(createdId))).toBe(false)
    }).pipe(Effect.provide(inProcess({ licenses: 2 }))))

  it.effect("execute packs concurrent calls into one $batch call", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const results = yield* Effect.all(
        Array.from({ length: 7 }, (_, i) =>
          client.execute({
            method: "POST",
            url: "/users",
            body: { accountEnabled: true, displayName: `B${i}`, mailNickname: `b${i}`, userPrincipalName: `b${i}@contoso.onmicrosoft.com` }
          })),
        { concurrency: "unbounded", batching: true }
      )
      expect(results.map((r) => r.status)).toStrictEqual(Array(7).fill(201))
      const audit = yield* Emulator.audit
      expect(new Set(audit.map((a) => a.httpRequest)).size).toBe(1)
    }).pipe(Effect.provide(inProcess())))

  it.effect("a call that breaks a request rule fails alone with its typed error; the others are sent", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const [bad, good] = yield* Effect.all([
        Effect.either(client.execute({ method: "GET", url: "https://evil.example.com/v1.0/me" })),
        Effect.either(client.execute({ method: "GET", url: "/subscribedSkus" }))
      ], { concurrency: "unbounded", batching: true })
      expect(Either.isLeft(bad) && bad.left._tag).toBe("ForeignHost")
      expect(Either.isRight(good) && good.right.status).toBe(200)
      expect((yield* Emulator.audit).map((a) => a.url)).toStrictEqual(["/subscribedSkus"])
    }).pipe(Effect.provide(inProcess())))

  it.effect("a Graph error becomes a GraphRequestError with code, message and request id", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const error = yield* Effect.flip(client.execute({ method: "GET", url: "/users/nobody@contoso.onmicrosoft.com" }))
      expect(error._tag).toBe("GraphRequestError")
      if (error._tag !== "GraphRequestError") return
      expect(error.status).toBe(404)
      expect(error.code).toBe("Request_ResourceNotFound")
      expect(error.requestId).toBeDefined()
    }).pipe(Effect.provide(inProcess())))

  it.effect("run streams every outcome and ends with the summary", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const workload = onboarding(5)
      const events = Chunk.toReadonlyArray(yield* driveClock(Stream.runCollect(client.run(workload))))
      const last = events[events.length - 1]!
      expect(last._tag).toBe("Summary")
      const outcomes = events.slice(0, -1)
      expect(outcomes.every((e) => e._tag === "Success")).toBe(true)
      expect(new Set(outcomes.map((o) => (o as GraphClient.Outcome).id))).toStrictEqual(new Set(workload.map((w) => w.id)))
      expect(last).toMatchObject({ requests: workload.length, succeeded: workload.length, failed: 0 })
    }).pipe(Effect.provide(inProcess())))
})

describe("execute when the run dies", () => {
  // an admission whose store fails (a QuotaStoreError is a defect: the run dies with it)
  const failing = Layer.effect(
    GraphClient.Admission,
    Effect.map(GraphClient.Admission, (inner) => ({ ...inner, admit: () => Effect.die(new Error("quota store unreachable")) }))
  ).pipe(Layer.provide(GraphClient.layerUnthrottled))

  it.effect("each caller gets the run's defect, not an interruption", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const exits = yield* driveClock(Effect.all([
        Effect.exit(client.execute({ method: "GET", url: "/me" })),
        Effect.exit(client.execute({ method: "GET", url: "/subscribedSkus" }))
      ], { concurrency: "unbounded", batching: true }))
      for (const exit of exits) {
        expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(false)
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ message: "quota store unreachable" })
      }
      expect(yield* Emulator.audit).toStrictEqual([])
    }).pipe(Effect.provide(inProcess({}, {}, failing))))

  it.effect("a further page whose batch dies ends the run with the defect, not with a summary missing the request", () => {
    // the first page goes; the store fails when the second page is admitted
    const failingLater = Layer.effect(
      GraphClient.Admission,
      Effect.map(GraphClient.Admission, (inner) => ({
        ...inner,
        admit: (batch: Parameters<typeof inner.admit>[0]) =>
          batch.items.some((item) => item.request.url.includes("skiptoken"))
            ? Effect.die(new Error("quota store unreachable"))
            : inner.admit(batch)
      }))
    ).pipe(Layer.provide(GraphClient.layerUnthrottled))
    return Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const exit = yield* Effect.exit(driveClock(client.runAll([{ id: "directory", method: "GET", url: "/users?$top=2", pages: "all" }])))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ message: "quota store unreachable" })
    }).pipe(Effect.provide(inProcess({ users: 5 }, {}, failingLater)))
  })

  it.effect("runAll and run die with the defect itself", () =>
    Effect.gen(function*() {
      const client = yield* GraphClient.GraphClient
      const workload = Array.from({ length: 45 }, (_, i) => ({ id: `r${i}`, method: "GET", url: `/users?$top=1&$skip=${i}` }))
      const exits: ReadonlyArray<Exit.Exit<unknown, unknown>> = [
        yield* Effect.exit(driveClock(client.runAll(workload))),
        yield* Effect.exit(driveClock(Stream.runDrain(client.run(workload))))
      ]
      for (const exit of exits) {
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ message: "quota store unreachable" })
      }
    }).pipe(Effect.provide(inProcess({}, {}, failing))))
})
