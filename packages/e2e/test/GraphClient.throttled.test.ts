import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Emulator } from "@effect-msgraph/emulator"
import * as Bucket from "@effect-msgraph/spec/Bucket"
import * as CostCalculator from "@effect-msgraph/spec/CostCalculator"
import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import * as QuotaStore from "@effect-msgraph/core/QuotaStore"
import * as Throttler from "@effect-msgraph/core/Throttler"
import { type Duration, Effect, Layer } from "effect"
import { driveClock, inProcess, onboarding } from "./utils/harness.js"

interface Lowered {
  readonly entryId: string
  readonly quantity: number
  readonly windowMillis?: number
}

/**
 * The client throttling proactively, with the emulator's identity and tenant size. `lowered` limits
 * apply to both sides, as a user's catalogue override would match a tenant stricter than documented.
 */
const throttled = (
  emulator: Emulator.Emulator.Options,
  options: {
    readonly tenantSize?: "S" | "M" | "L"
    readonly lowered?: ReadonlyArray<Lowered>
    readonly maxAttempts?: number
    /** A fixed number of `$batch` calls in flight (default: the adaptive limit). */
    readonly concurrency?: number
    /**
     * `remote`: the Throttler's store hides its in-process face, as a store shared between processes
     * would, so admission and feedback take their Effect paths instead of the synchronous ones.
     */
    readonly store?: "memory" | "remote"
  } = {}
) => {
  const lowered = options.lowered ?? []
  const catalog: LimitCatalog.LimitCatalog.Options = {
    tenantSize: options.tenantSize ?? "M",
    delegated: true,
    overrides: lowered.map((l) =>
      new LimitCatalog.LimitOverride({
        entryId: l.entryId,
        quantity: l.quantity,
        ...(l.windowMillis === undefined ? {} : { window: new LimitCatalog.Window({ amount: l.windowMillis / 1000, unit: "second" }) })
      })
    )
  }
  const remoteStore = Layer.effect(
    QuotaStore.QuotaStore,
    Effect.map(
      QuotaStore.makeMemory({ tokenReserveMillis: GraphClient.defaultTokenReserveMillis }),
      // a copy is not the store `makeMemory` built, so the Throttler drives it through its Effects
      (memory): QuotaStore.QuotaStoreService => ({ ...memory })
    )
  )
  const admission = options.store === "remote"
    ? GraphClient.layerThrottled(Emulator.defaultIdentity).pipe(
      Layer.provide(Layer.merge(Throttler.layer().pipe(Layer.provide(remoteStore)), CostCalculator.layer)),
      Layer.provide(LimitCatalog.layer(catalog)),
      Layer.orDie
    )
    : GraphClient.layerThrottledMemory(Emulator.defaultIdentity, { catalog }).pipe(Layer.orDie)
  const overrides = Object.fromEntries(lowered.map((l) => [
    l.entryId,
    l.windowMillis === undefined
      ? new Bucket.ConcurrencyLimit({ permits: l.quantity })
      : new Bucket.WindowLimit({ limit: l.quantity, windowMillis: l.windowMillis })
  ]))
  return inProcess(
    { tenantSize: options.tenantSize ?? "M", ...emulator, overrides: { ...overrides, ...emulator.overrides } },
    { maxAttempts: options.maxAttempts ?? 5, ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }) },
    admission
  )
}

const reads = (n: number, url: (i: number) => string): Array<WorkloadRequest> =>
  Array.from({ length: n }, (_, i) => ({ id: `get-${i}`, method: "GET", url: url(i) }))

const run = (workload: ReadonlyArray<WorkloadRequest>, step: Duration.DurationInput = "1 second") =>
  Effect.gen(function*() {
    const client = yield* GraphClient.GraphClient
    const result = yield* driveClock(client.runAll(workload), step)
    expect(result.outcomes.map((o) => o.id).sort()).toStrictEqual(workload.map((w) => w.id).sort())
    return { ...result, report: yield* Emulator.report, audit: yield* Emulator.audit }
  })

/** 5 mailboxes x 100 (created first), every tenth a low-priority draft: the planner's cut of 20 crosses mailboxes. */
const mailboxWorkload = (): Array<WorkloadRequest> => {
  const mailboxes = [0, 1, 2, 3, 4]
  return [
    ...mailboxes.map((m): WorkloadRequest => ({
      id: `mbx-${m}`,
      method: "POST",
      url: "/users",
      body: {
        accountEnabled: true,
        displayName: `Mailbox ${m}`,
        mailNickname: `mbx${m}`,
        userPrincipalName: `mbx${m}@contoso.onmicrosoft.com`,
        passwordProfile: { forceChangePasswordNextSignIn: true, password: "Generated-1!" }
      }
    })),
    ...mailboxes.flatMap((m) =>
      Array.from({ length: 100 }, (_, k): WorkloadRequest => {
        const owner = `/users/{{mbx-${m}#/body/id}}`
        return k % 10 === 9
          ? { id: `d-${m}-${k}`, method: "POST", url: `${owner}/messages`, body: { subject: `${k}` }, priority: "low" }
          : { id: `g-${m}-${k}`, method: "GET", url: `${owner}/messages?$top=5&$skip=${k}` }
      })
    )
  ]
}

describe("GraphClient with proactive throttling", () => {
  // "remote": the store hides its in-process face, so admission and feedback take their Effect paths
  for (const store of ["memory", "remote"] as const) {
    const where = store === "memory" ? "" : " (a store outside the process)"

    it.effect(`an Outlook mailbox beyond its limit: paced below it, zero 429s, every request succeeds${where}`, () =>
      Effect.gen(function*() {
        const { outcomes, report, summary } = yield* run(reads(260, (i) => `/me/messages?$top=1&$skip=${i}`), "2 seconds")
        expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
        expect(summary.throttled429).toBe(0)
        expect(report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0, throttled: 0 })
        // 100 per 10 minutes: the last window cannot start before 20 minutes
        expect(summary.durationMs).toBeGreaterThanOrEqual(20 * 60_000)
      }).pipe(Effect.provide(throttled({}, {
        store,
        lowered: [{ entryId: "outlook.mailbox.requests", quantity: 100, windowMillis: 600_000 }]
      }))))

    it.effect(`a tenant stricter than documented, which the client is not told about: it adapts and nothing is lost${where}`, () =>
      Effect.gen(function*() {
        const { outcomes, report, summary } = yield* run(reads(150, (i) => `/me/messages?$top=1&$skip=${i}`), "2 seconds")
        expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
        expect(summary.throttled429).toBeGreaterThan(0)
        expect(report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0 })
      }).pipe(Effect.provide(throttled({ multiplier: { outlook: 0.01 } }, { maxAttempts: 20, store }))))
  }

  it.effect("OneNote, which sends no Retry-After: paced by its documented limits, zero 429s", () =>
    Effect.gen(function*() {
      const { outcomes, report, summary } = yield* run(reads(60, (i) => `/me/onenote/pages?$top=1&$skip=${i}`))
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary.throttled429).toBe(0)
      expect(report.throttled).toBe(0)
    }).pipe(Effect.provide(throttled({}, {
      lowered: [
        { entryId: "onenote.delegated.minute", quantity: 24, windowMillis: 60_000 },
        { entryId: "onenote.delegated.hour", quantity: 80, windowMillis: 3_600_000 }
      ]
    }))))

  it.effect("mailboxes: each batch carries one mailbox's requests, so none is split by another's busy permits", () =>
    Effect.gen(function*() {
      const workload = mailboxWorkload()
      const { audit, outcomes, report, summary } = yield* run(workload, "50 millis")
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary.throttled429).toBe(0)
      expect(report.limitViolations).toBe(0)
      // one batch of creations, then 25 full batches of one mailbox each
      expect(summary.batches).toBe(26)
      const perBatch = new Map<number, Set<string>>()
      for (const a of audit) {
        if (a.method === "POST" && a.url === "/users") continue
        const set = perBatch.get(a.httpRequest) ?? new Set<string>()
        set.add(a.url.split("/")[2]!)
        perBatch.set(a.httpRequest, set)
      }
      expect(perBatch.size).toBe(25)
      expect([...perBatch.values()].every((s) => s.size === 1)).toBe(true)
    }).pipe(Effect.provide(throttled({}))))

  it.effect("mailboxes with latency take the send slots in turn: no mailbox's batches wait until the others are done", () =>
    Effect.gen(function*() {
      // Graph runs four items of a mailbox at a time, so a batch of 20 takes 5 x 100 ms and holds its
      // mailbox's four permits throughout; 4 send slots, 5 mailboxes of 5 batches, so at least 7 waves
      // of 500 ms. If a mailbox's next batch could take the slot its previous batch left ahead of
      // batches admitted earlier, one mailbox would be left to run its five batches alone at the end:
      // 5 waves for the others, then 5 more. Served in the order they were admitted, ties at the same
      // instant aside, every mailbox starts in the first two waves and the run takes 8 waves at most.
      const { audit, outcomes, summary } = yield* run(mailboxWorkload(), "50 millis")
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary.throttled429).toBe(0)
      const created = Math.max(...audit.filter((a) => a.url === "/users").map((a) => a.finishedAt))
      const firstSend = new Map<string, number>()
      for (const a of audit) {
        if (a.url === "/users") continue
        const mailbox = a.url.split("/")[2]!
        firstSend.set(mailbox, Math.min(firstSend.get(mailbox) ?? Infinity, a.startedAt - created))
      }
      expect(firstSend.size).toBe(5)
      // every mailbox starts within the first two waves
      expect(Math.max(...firstSend.values())).toBeLessThan(1_000)
      expect(summary.durationMs).toBeGreaterThanOrEqual(3_500)
      expect(summary.durationMs).toBeLessThan(4_500)
    }).pipe(Effect.provide(throttled({
      latency: { outlook: { baseMillis: 100, jitterMillis: 0 }, identity: { baseMillis: 10, jitterMillis: 0 } }
    }, { concurrency: 4 }))))

  it.effect("Teams: posts to one channel go one per second, never two in one batch", () =>
    Effect.gen(function*() {
      const workload: Array<WorkloadRequest> = Array.from({ length: 12 }, (_, i) => ({
        id: `post-${i}`,
        method: "POST",
        url: `/teams/team-1/channels/channel-${i % 2}/messages`,
        body: { body: { content: `message ${i}` } }
      }))
      const { audit, outcomes, report, summary } = yield* run(workload, "200 millis")
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary.throttled429).toBe(0)
      expect(report.limitViolations).toBe(0)
      // each channel's posts are at least a second apart
      for (const channel of ["channel-0", "channel-1"]) {
        const times = audit.filter((a) => a.executed && a.url.includes(channel)).map((a) => a.startedAt).sort((a, b) => a - b)
        expect(times).toHaveLength(6)
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000)
      }
    }).pipe(Effect.provide(throttled({}))))

  it.effect("Teams: the team's four posts a second are all used, across its channels, so the last post goes when the team limit allows", () =>
    Effect.gen(function*() {
      // listed channel by channel: a batch of one channel's posts must not hold the others back
      const workload: Array<WorkloadRequest> = Array.from({ length: 30 }, (_, i) => ({
        id: `post-${i}`,
        method: "POST",
        url: `/teams/team-1/channels/channel-${Math.floor(i / 6)}/messages`,
        body: { body: { content: `message ${i}` } }
      }))
      const { audit, outcomes, report, summary } = yield* run(workload, "200 millis")
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary.throttled429).toBe(0)
      expect(report.limitViolations).toBe(0)
      // 30 posts at 4 a second: 28 in seconds 0 to 6, the last two at 7 s
      const starts = audit.filter((a) => a.executed).map((a) => a.startedAt)
      expect(starts).toHaveLength(30)
      expect(Math.max(...starts)).toBe(7000)
    }).pipe(Effect.provide(throttled({}))))

  it.effect("Teams: posts admitted while slow batches hold the send slot still reach Graph a second apart", () =>
    Effect.gen(function*() {
      // One send slot, held first by two batches of identity reads that take 2.5 s each. The posts
      // to one channel are admitted meanwhile and wait for the slot behind them. A post's unit dated
      // at its admission would leave the channel's one-second window while the post still waits, and
      // let the next post be admitted too: both would then be sent back to back, and Graph, which
      // counts a post when it arrives, would answer the second 429. Units in flight are counted as
      // taken until they are answered.
      const reads = Array.from({ length: 40 }, (_, i): WorkloadRequest => ({ id: `read-${i}`, method: "GET", url: "/users?$top=1" }))
      const posts = Array.from({ length: 6 }, (_, i): WorkloadRequest => ({
        id: `post-${i}`,
        method: "POST",
        url: "/teams/team-1/channels/channel-0/messages",
        body: { body: { content: `message ${i}` } }
      }))
      const { audit, outcomes, report, summary } = yield* run([...reads, ...posts], "50 millis")
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      const times = audit.filter((a) => a.url.includes("/channels/")).map((a) => a.startedAt).sort((a, b) => a - b)
      // every post reached Graph once, the first only after the slow reads had held the slot
      expect(times).toHaveLength(6)
      expect(times[0]).toBeGreaterThanOrEqual(2_500)
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000)
      expect(summary.throttled429).toBe(0)
      expect(report.limitViolations).toBe(0)
    }).pipe(Effect.provide(throttled({
      latency: { identity: { baseMillis: 2_500, jitterMillis: 0 }, teams: { baseMillis: 100, jitterMillis: 0 } }
    }, { concurrency: 1 }))))

  it.effect("identity reads against the resource-unit bucket: zero 429s at the documented rate", () =>
    Effect.gen(function*() {
      const workload = reads(400, (i) => `/users?$select=id,displayName&$expand=manager&$top=5&$skip=${i}`)
      const { outcomes, report, summary } = yield* run(workload, "500 millis")
      expect(outcomes.every((o) => o._tag === "Success")).toBe(true)
      expect(summary.throttled429).toBe(0)
      expect(report).toMatchObject({ limitViolations: 0, throttled: 0 })
    }).pipe(Effect.provide(throttled({}, { tenantSize: "S" }))))

  it.effect("the onboarding workflow, throttled: every request succeeds with zero 429s", () =>
    Effect.gen(function*() {
      const workload = onboarding(40)
      const { outcomes, report, summary } = yield* run(workload)
      expect(outcomes.filter((o) => o._tag === "Failure")).toStrictEqual([])
      expect(summary.throttled429).toBe(0)
      expect(report).toMatchObject({ limitViolations: 0, duplicateExecutions: 0, orderViolations: 0 })
    }).pipe(Effect.provide(throttled({ licenses: 100 }))))

  it.effect("a request that could never fit a bucket fails with CostExceedsCapacity and is not sent", () =>
    Effect.gen(function*() {
      // uploads to a mailbox lowered to 1.5 MB per 5 minutes; this one is 2 MB
      const big = new Uint8Array(2_000_000)
      const workload: Array<WorkloadRequest> = [
        { id: "upload", method: "PUT", url: "/me/messages/m1/attachments/a1/$value", headers: { "Content-Type": "application/octet-stream" }, body: big },
        { id: "read", method: "GET", url: "/me/messages?$top=1" }
      ]
      const { audit, outcomes } = yield* run(workload)
      const upload = outcomes.find((o) => o.id === "upload")!
      expect(upload._tag === "Failure" && upload.error._tag).toBe("CostExceedsCapacity")
      expect(audit.map((a) => a.url)).toStrictEqual(["/me/messages?$top=1"])
    }).pipe(Effect.provide(throttled({}, { lowered: [{ entryId: "outlook.mailbox.upload", quantity: 1_500_000, windowMillis: 300_000 }] }))))

  it.effect("x-ms-throttle-priority is set on identity requests given a priority, and only on those", () =>
    Effect.gen(function*() {
      const workload: Array<WorkloadRequest> = [
        { id: "urgent", method: "GET", url: "/users?$top=1", priority: "high" },
        { id: "background", method: "GET", url: "/groups?$top=1", priority: "low" },
        { id: "plain", method: "GET", url: "/users?$top=2" },
        { id: "mail", method: "GET", url: "/me/messages?$top=1", priority: "high" }
      ]
      const { audit } = yield* run(workload)
      const priorityOf = (url: string) => audit.find((a) => a.url === url)!.priority
      expect(priorityOf("/users?$top=1")).toBe("high")
      expect(priorityOf("/groups?$top=1")).toBe("low")
      expect(priorityOf("/users?$top=2")).toBe("normal")
      // not an identity request: no header, so Graph (and the emulator) treat it as normal
      expect(priorityOf("/me/messages?$top=1")).toBe("normal")
    }).pipe(Effect.provide(throttled({}))))
})
