import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as OutcomeRecord from "@effect-msgraph/core/OutcomeRecord"
import type { Workload } from "@effect-msgraph/core/Workload"
import { Emulator } from "@effect-msgraph/emulator"
import { Chunk, Effect, Layer, Stream } from "effect"
import { driveClock, inProcess } from "./utils/harness.js"

interface Page {
  readonly "@odata.nextLink"?: string
  readonly "@odata.deltaLink"?: string
  readonly value: ReadonlyArray<{ readonly id: string; readonly "@removed"?: unknown }>
}

const run = (workload: Workload) =>
  Effect.flatMap(GraphClient.GraphClient, (client) => driveClock(Stream.runCollect(client.run(workload)))).pipe(
    Effect.map((events) => {
      const all = Chunk.toReadonlyArray(events)
      return {
        outcomes: all.filter((e): e is GraphClient.Outcome => e._tag !== "Summary"),
        summary: all.find((e): e is GraphClient.Summary => e._tag === "Summary")!
      }
    })
  )

const pagesOf = (outcomes: ReadonlyArray<GraphClient.Outcome>, id: string) =>
  outcomes.filter((o): o is GraphClient.Success => o.id === id && o._tag === "Success")

const throttled = GraphClient.layerThrottledMemory(Emulator.defaultIdentity, { catalog: { tenantSize: "L", delegated: true } }).pipe(
  Layer.orDie
)

describe("paging against the in-process emulator", () => {
  it.effect("a directory report with pages: all writes every user of a 10,000-user tenant exactly once", () =>
    Effect.gen(function*() {
      // 9,999 seeded users and the acting user
      expect(yield* Effect.flatMap(Emulator.Emulator, (e) => e.userCount)).toBe(10_000)
      const workload: Workload = [
        { id: "users", method: "GET", url: "/users?$select=id,userPrincipalName", pages: "all" },
        { id: "users-999", method: "GET", url: "/users?$select=id&$top=999", pages: "all" },
        { id: "skus", method: "GET", url: "/subscribedSkus" },
        // reads the first page of `users`: released by it, not by the last page
        { id: "first-user", method: "GET", url: "/users/{{users#/body/value/0/id}}" }
      ]
      const { outcomes, summary } = yield* run(workload)
      expect(outcomes.filter((o) => o._tag === "Failure")).toStrictEqual([])
      for (const [id, size, count] of [["users", 100, 100], ["users-999", 999, 11]] as const) {
        const pages = pagesOf(outcomes, id)
        expect(pages.map((p) => p.page)).toStrictEqual(Array.from({ length: count }, (_, i) => i + 1))
        expect(pages.map((p) => p.more)).toStrictEqual([...Array(count - 1).fill(true), false])
        const ids = pages.flatMap((p) => (p.body as Page).value.map((u) => u.id))
        expect(ids).toHaveLength(10_000)
        expect(new Set(ids).size).toBe(10_000)
        expect(Math.max(...pages.map((p) => (p.body as Page).value.length))).toBe(size)
        expect((pages.at(-1)!.body as Page)["@odata.nextLink"]).toBeUndefined()
      }
      const firstUser = outcomes.find((o) => o.id === "first-user") as GraphClient.Success
      const firstPage = pagesOf(outcomes, "users")[0]!
      expect((firstUser.body as { id: string }).id).toBe((firstPage.body as Page).value[0]!.id)
      // released by the first page: it ended before the last page of `users` did
      expect(outcomes.indexOf(firstUser)).toBeLessThan(outcomes.indexOf(pagesOf(outcomes, "users").at(-1)!))
      // a paged request counts once
      expect(summary).toMatchObject({ requests: 4, succeeded: 4, failed: 0 })
      // every page was a batch item, each sent once, within the limits
      const report = yield* Emulator.report
      expect(report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0 })
      const sent = (yield* Emulator.audit).filter((a) => a.executed && a.url.startsWith("/users?"))
      expect(sent).toHaveLength(111)
    }).pipe(Effect.provide(inProcess({ users: 9_999, latency: "realistic" }, {}, throttled))), 60_000)

  it.effect("pages: 3 stops after the third page even though Graph offers more", () =>
    Effect.gen(function*() {
      const { outcomes, summary } = yield* run([{ id: "users", method: "GET", url: "/users?$top=10", pages: 3 }])
      const pages = pagesOf(outcomes, "users")
      expect(pages.map((p) => [p.page, p.more])).toStrictEqual([[1, true], [2, true], [3, false]])
      // the third page still says where a fourth would be
      expect((pages[2]!.body as Page)["@odata.nextLink"]).toContain("$skiptoken=")
      expect(new Set(pages.flatMap((p) => (p.body as Page).value.map((u) => u.id))).size).toBe(30)
      expect(summary).toMatchObject({ requests: 1, succeeded: 1, failed: 0 })
      expect((yield* Emulator.audit).filter((a) => a.url.startsWith("/users?"))).toHaveLength(3)
    }).pipe(Effect.provide(inProcess({ users: 100, latency: "none" }))))

  it.effect("without pages, only the first page is fetched and the outcome has no page number", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* run([{ id: "users", method: "GET", url: "/users?$top=10" }])
      expect(outcomes).toHaveLength(1)
      expect(outcomes[0]!).not.toHaveProperty("page")
      expect(OutcomeRecord.fromOutcome(outcomes[0]!)).not.toHaveProperty("page")
      expect((yield* Emulator.audit).filter((a) => a.url.startsWith("/users?"))).toHaveLength(1)
    }).pipe(Effect.provide(inProcess({ users: 100, latency: "none" }))))

  it.effect("a nextLink to another host is not followed: the request ends NextLinkRefused after its first page", () =>
    Effect.gen(function*() {
      const { outcomes, summary } = yield* run([{ id: "users", method: "GET", url: "/users?$top=10", pages: "all" }])
      expect(outcomes.map((o) => [o._tag, o.page])).toStrictEqual([["Success", 1], ["Failure", 2]])
      const refused = outcomes[1] as GraphClient.Failure
      expect(refused.error).toMatchObject({ _tag: "NextLinkRefused", id: "users", page: 2 })
      expect(refused.error.message).toContain("evil.example.com")
      expect(OutcomeRecord.fromOutcome(refused)).toMatchObject({ id: "users", page: 2, status: 0, error: { tag: "NextLinkRefused" } })
      expect(summary).toMatchObject({ requests: 1, succeeded: 0, failed: 1, batches: 1 })
      expect((yield* Emulator.audit).filter((a) => a.url.startsWith("/users"))).toHaveLength(1)
    }).pipe(Effect.provide(inProcess({ users: 100, latency: "none", baseUrl: "https://evil.example.com" }))))

  it.effect("the deltaLink of a delta query's last page is kept, and the next round returns only what changed", () =>
    Effect.gen(function*() {
      const first = yield* run([{ id: "delta", method: "GET", url: "/users/delta?$select=id,displayName&$top=50", pages: "all" }])
      const pages = pagesOf(first.outcomes, "delta")
      expect(pages).toHaveLength(3)
      expect(new Set(pages.flatMap((p) => (p.body as Page).value.map((u) => u.id))).size).toBe(121)
      const last = OutcomeRecord.fromOutcome(pages.at(-1)!)
      const deltaLink = (last.body as Page)["@odata.deltaLink"]!
      expect(deltaLink).toMatch(/^https:\/\/graph\.microsoft\.com\/v1\.0\/users\/delta\?.*\$deltatoken=/)
      expect(pages.slice(0, -1).every((p) => (p.body as Page)["@odata.deltaLink"] === undefined)).toBe(true)
      const changes = yield* run([
        { id: "create", method: "POST", url: "/users", body: { displayName: "New", userPrincipalName: "new@contoso.onmicrosoft.com" } },
        { id: "rename", method: "PATCH", url: `/users/${Emulator.seededUser(7).id}`, body: { displayName: "Renamed" } },
        { id: "remove", method: "DELETE", url: `/users/${Emulator.seededUser(8).id}` }
      ])
      expect(changes.summary).toMatchObject({ succeeded: 3 })
      const created = (changes.outcomes.find((o) => o.id === "create") as GraphClient.Success).body as { id: string }
      const next = yield* run([{ id: "delta", method: "GET", url: deltaLink, pages: "all" }])
      const changed = pagesOf(next.outcomes, "delta")
      expect(changed).toHaveLength(1)
      const value = (changed[0]!.body as Page).value
      expect(value.map((u) => u.id).sort()).toStrictEqual([created.id, Emulator.seededUser(7).id, Emulator.seededUser(8).id].sort())
      expect(value.find((u) => u.id === Emulator.seededUser(8).id)).toHaveProperty("@removed")
      expect((changed[0]!.body as Page)["@odata.deltaLink"]).toContain("$deltatoken=")
    }).pipe(Effect.provide(inProcess({ users: 120, latency: "none" }))))
})
