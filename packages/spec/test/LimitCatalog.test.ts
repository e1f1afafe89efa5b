import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Exit, FastCheck, Layer, Option, Schema } from "effect"
import * as LimitCatalog from "../src/LimitCatalog.js"
import { compilePattern, matchPattern, parseUrl } from "../src/internal/catalog/urlPattern.js"
import { intuneIncludes, ms, type SeedRow, seedRows, teamsTable } from "./catalogSeedRows.js"

const catalog = LimitCatalog.defaultCatalog
const tenant = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
const app = "9A3D526C-B3C1-4479-BA74-197B5C5751AE"
const userId = "0785EF7C-2D7A-4542-B048-95BCAB406E0B"
const upn = "Alice@Contoso.com"
const t = tenant.toLowerCase()
const a = app.toLowerCase()
const u = userId.toLowerCase()

const delegated = new LimitCatalog.ClassifyContext({
  tenantId: tenant,
  appId: app,
  userId,
  userPrincipalName: upn,
  delegated: true,
  tenantSize: "M"
})
const appOnly = new LimitCatalog.ClassifyContext({ tenantId: tenant, appId: app, delegated: false, tenantSize: "M" })

const classify = (
  method: string,
  url: string,
  context: LimitCatalog.ClassifyContext = delegated,
  extra: { bodyBytes?: number; body?: unknown } = {}
) => LimitCatalog.classify(catalog, { method, url, ...extra }, context)

const keys = (result: LimitCatalog.Classification) => result.demands.map((demand) => demand.key)
const entryIds = (result: LimitCatalog.Classification) => result.demands.map((demand) => demand.entryId)
const demand = (result: LimitCatalog.Classification, entryId: string) => {
  const found = result.demands.find((d) => d.entryId === entryId)
  if (found === undefined) throw new Error(`no demand for ${entryId}; got ${entryIds(result).join(", ")}`)
  return found
}

const windowOf = (entry: LimitCatalog.LimitEntry): number | undefined =>
  entry.limit._tag === "Rate" || entry.limit._tag === "TokenBucket" ? LimitCatalog.windowMillis(entry.limit.window) : undefined

const quantityOf = (entry: LimitCatalog.LimitEntry): number | undefined =>
  entry.limit._tag === "Rate" || entry.limit._tag === "TokenBucket"
    ? entry.limit.quantity
    : entry.limit._tag === "Concurrent"
    ? entry.limit.permits
    : undefined

const sameMethods = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join()

const fitsRow = (entry: LimitCatalog.LimitEntry, row: SeedRow): boolean => {
  if (entry.service !== row.service) return false
  if (row.row !== undefined && !entry.row.startsWith(row.row)) return false
  const limit = entry.limit
  if (row.kind === "unpublished") return limit._tag === "Unpublished"
  if (row.kind === "concurrent" && limit._tag !== "Concurrent") return false
  if (row.kind === "quota" && limit._tag !== "Rate" && limit._tag !== "TokenBucket") return false
  if (limit._tag === "Unpublished") return false
  if (row.scope !== undefined && limit.scope !== row.scope) return false
  if (quantityOf(entry) !== row.quantity) return false
  if (row.windowMs !== undefined && windowOf(entry) !== row.windowMs) return false
  if (row.measure !== undefined && (limit._tag === "Concurrent" || limit.measure !== row.measure)) return false
  if (row.methods !== undefined && !sameMethods(entry.match.methods, row.methods)) return false
  if (row.tenantSize !== undefined && entry.when.tenantSize !== row.tenantSize) return false
  if (row.auth !== undefined && entry.when.auth !== row.auth) return false
  if (row.retryAfter !== undefined && entry.retryAfter !== row.retryAfter) return false
  return true
}

describe("LimitCatalog: every seed row is an entry with the same numbers", () => {
  for (const row of seedRows) {
    it(row.seed, () => {
      const found = catalog.entries.filter((entry) => fitsRow(entry, row))
      expect(found.map((entry) => entry.id), `no entry for: ${row.seed}`).not.toEqual([])
      for (const entry of found) expect(entry.source.length).toBeGreaterThan(20)
    })
  }

  for (const [label, perTenant, allTenants, perResource] of teamsTable) {
    it(`Teams: ${label} | ${perTenant} rps | ${allTenants} rps${perResource ? ` | ${perResource}` : ""}`, () => {
      const rows = catalog.entries.filter((entry) =>
        entry.service === "teams" && (entry.row === label || entry.row.startsWith(`${label} (per `))
      )
      const second = ms(1, "second")
      expect(rows.some((e) => e.limit._tag === "Rate" && e.limit.scope === "appTenant" && e.limit.quantity === perTenant && windowOf(e) === second)).toBe(true)
      expect(rows.some((e) => e.limit._tag === "Rate" && e.limit.scope === "app" && e.limit.quantity === allTenants && windowOf(e) === second)).toBe(true)
      const resource = rows.filter((e) =>
        e.limit._tag === "Rate" && ["channel", "chat", "team"].includes(e.limit.scope)
      )
      if (perResource === null) {
        expect(resource).toEqual([])
      } else {
        const [quantity, window] = perResource === "1rps" ? [1, second] : [4, ms(1, "minute")]
        expect(resource.length).toBeGreaterThan(0)
        for (const entry of resource) {
          expect(quantityOf(entry)).toBe(quantity)
          expect(windowOf(entry)).toBe(window)
        }
      }
    })
  }

  for (const include of intuneIncludes) {
    it(`Intune: ${include} (POST, PUT, DELETE, PATCH and Any, per tenant and per app per tenant, per 20 seconds)`, () => {
      const factor = include === "Intune devices" ? 2 : 1
      const area = catalog.entries.filter((entry) => entry.service === "intune" && entry.row.startsWith(`${include}:`))
      const has = (scope: string, quantity: number, methods: ReadonlyArray<string>) =>
        area.some((e) =>
          e.limit._tag === "Rate" && e.limit.scope === scope && e.limit.quantity === quantity &&
          windowOf(e) === ms(20, "second") && sameMethods(e.match.methods, methods)
        )
      const writes = ["POST", "PUT", "DELETE", "PATCH"]
      expect(has("tenant", 200 * factor, writes)).toBe(true)
      expect(has("appTenant", 100 * factor, writes)).toBe(true)
      expect(has("tenant", 2000 * factor, [])).toBe(true)
      expect(has("appTenant", 1000 * factor, [])).toBe(true)
    })
  }
})

describe("LimitCatalog: the catalogue as data", () => {
  it("passes its own consistency checks", () => {
    expect(LimitCatalog.validate(catalog)).toEqual([])
  })

  it("quotes a seed row in every entry and names a known service", () => {
    const ids = new Set(catalog.services.map((service) => service.id))
    for (const entry of catalog.entries) {
      expect(entry.source, entry.id).toMatch(/: "/)
      expect(ids.has(entry.service), entry.id).toBe(true)
    }
  })

  it("has a section for every service id, each with at least one entry", () => {
    expect(catalog.services.map((service) => service.id).sort()).toEqual([...LimitCatalog.ServiceId.literals].sort())
    for (const service of catalog.services) {
      expect(catalog.entries.some((entry) => entry.service === service.id), service.id).toBe(true)
    }
  })

  it("marks exactly the sections the page says lack Retry-After (data policy, identity protection, OneNote)", () => {
    const without = new Set(catalog.entries.filter((entry) => !entry.retryAfter).map((entry) => entry.service))
    expect([...without].sort()).toEqual(["dataPolicy", "identityProtection", "onenote"])
  })

  it("round-trips through its Schema encoding unchanged", () => {
    const encoded = Schema.encodeSync(LimitCatalog.Catalog)(catalog)
    const decoded = Schema.decodeUnknownSync(LimitCatalog.Catalog)(JSON.parse(JSON.stringify(encoded)))
    expect(Schema.encodeSync(LimitCatalog.Catalog)(decoded)).toEqual(encoded)
    const url = "/users/alice@contoso.com/messages?$top=5"
    expect(LimitCatalog.classify(decoded, { method: "GET", url }, delegated)).toEqual(classify("GET", url))
  })

  it("reports malformed patterns, duplicate ids and uncaptured key parts", () => {
    const [first, second] = catalog.entries
    const broken = new LimitCatalog.Catalog({
      ...catalog,
      entries: [
        first!,
        new LimitCatalog.LimitEntry({ ...second!, id: first!.id }),
        new LimitCatalog.LimitEntry({
          ...second!,
          id: "broken.pattern",
          match: new LimitCatalog.RequestMatcher({ methods: [], paths: ["users/{user"], except: [], query: [] })
        }),
        new LimitCatalog.LimitEntry({
          ...second!,
          id: "broken.key",
          limit: new LimitCatalog.Rate({
            scope: "channel",
            key: ["channel"],
            measure: "requests",
            cost: "request",
            quantity: 1,
            window: new LimitCatalog.Window({ amount: 1, unit: "second" })
          })
        })
      ]
    })
    const problems = LimitCatalog.validate(broken)
    expect(problems.some((p) => p.includes("duplicate entry id"))).toBe(true)
    expect(problems.some((p) => p.includes("broken.pattern"))).toBe(true)
    expect(problems.some((p) => p.includes("broken.key") && p.includes("channel"))).toBe(true)
  })

  it("derives the tenant size from the user count: S under 50, M from 50 to 500, L above 500", () => {
    expect(LimitCatalog.tenantSizeFromUsers(0)).toBe("S")
    expect(LimitCatalog.tenantSizeFromUsers(49)).toBe("S")
    expect(LimitCatalog.tenantSizeFromUsers(50)).toBe("M")
    expect(LimitCatalog.tenantSizeFromUsers(500)).toBe("M")
    expect(LimitCatalog.tenantSizeFromUsers(501)).toBe("L")
  })
})

describe("LimitCatalog: path patterns", () => {
  const match = (pattern: string, url: string) => matchPattern(compilePattern(pattern), parseUrl(url).segments)

  it("matches literals case-insensitively and captures ids in lower case", () => {
    expect(match("users/{mailbox}/messages/**", "/Users/Bob@Contoso.COM/Messages/AAMk=")).toEqual({ mailbox: "bob@contoso.com" })
  })

  it("lets `**` match zero segments and `{x}` refuse function calls", () => {
    expect(match("users/{user}/memberOf/**", "users/x/memberOf")).toEqual({ user: "x" })
    expect(match("communications/callRecords/{callRecord}/**", "communications/callRecords/getPstnCalls(fromDateTime=2019-11-01)")).toBeUndefined()
  })

  it("captures a function's name without arguments, and strips the microsoft.graph namespace", () => {
    expect(match("reports/{api:any}/**", "reports/getTeamsUserActivityUserDetail(period='D7')")).toEqual({ api: "getteamsuseractivityuserdetail" })
    expect(match("communications/callRecords/{c|getSmsLog}", "communications/callRecords/microsoft.graph.callRecords.getSmsLog(fromDateTime=2024-01-01)")).toEqual({ c: "getsmslog" })
  })

  it("reads `me` in a pattern as users/{user}", () => {
    expect(match("me/insights/**", "users/abc/insights/trending")).toEqual({ user: "abc" })
  })

  it("rejects malformed patterns", () => {
    expect(() => compilePattern("users/{user")).toThrow()
    expect(() => compilePattern("users/{a:b}")).toThrow()
    expect(() => compilePattern("")).toThrow()
  })

  it("parses percent-encoding, version prefixes, absolute URLs and query options", () => {
    const parsed = parseUrl("https://graph.microsoft.com/v1.0/users/alice%40contoso.com/messages?$Select=id&$top=10")
    expect(parsed.segments.map((s) => s.raw)).toEqual(["users", "alice@contoso.com", "messages"])
    expect([...parsed.query.entries()]).toEqual([["$select", "id"], ["$top", "10"]])
  })
})

describe("LimitCatalog.classify: the issue's realistic URLs", () => {
  it("/users/{upn}/messages: global and the addressed mailbox's request and concurrency buckets", () => {
    const result = classify("GET", `/users/${upn}/messages?$select=subject`)
    expect(result.services).toEqual(["global", "outlook"])
    expect(keys(result)).toEqual([
      `global.app/${a}`,
      `outlook.mailbox.requests/${u}`,
      `outlook.mailbox.concurrent/${u}`
    ])
    expect(demand(result, "outlook.mailbox.requests").limit).toEqual({ _tag: "Window", limit: 10_000, windowMillis: 600_000 })
    expect(demand(result, "outlook.mailbox.concurrent").limit).toEqual({ _tag: "Concurrency", permits: 4 })
  })

  it("/me/events lands in the same mailbox bucket as /users/{id}/events and /users/{upn}/events", () => {
    const me = keys(classify("GET", "/me/events"))
    expect(keys(classify("GET", `/users/${userId}/events`))).toEqual(me)
    expect(keys(classify("GET", `users/${upn.toUpperCase()}/events`))).toEqual(me)
    expect(me).toContain(`outlook.mailbox.requests/${u}`)
  })

  it("another user's mailbox is a different bucket", () => {
    expect(keys(classify("GET", "/users/bob@contoso.com/events"))).toContain("outlook.mailbox.requests/bob@contoso.com")
  })

  it("/users/{id}/sendMail counts its body against the 150 MB upload window", () => {
    const result = classify("POST", "/users/bob@contoso.com/sendMail", delegated, { bodyBytes: 4_096 })
    const upload = demand(result, "outlook.mailbox.upload")
    expect(upload.cost).toBe(4_096)
    expect(upload.key).toBe("outlook.mailbox.upload/bob@contoso.com")
    expect(upload.limit).toEqual({ _tag: "Window", limit: 150_000_000, windowMillis: 300_000 })
  })

  it("/users/{id}/sendMail without a body size skips the upload bucket and says why", () => {
    const result = classify("POST", "/users/bob@contoso.com/sendMail")
    expect(entryIds(result)).not.toContain("outlook.mailbox.upload")
    expect(result.skipped).toContainEqual(
      new LimitCatalog.Skipped({ entryId: "outlook.mailbox.upload", reason: "zeroCost", detail: "the request's body size is not known" })
    )
  })

  it("POST /teams/{id}/channels/{id}/messages: row, team, channel and per-user buckets", () => {
    const result = classify("POST", "/teams/TEAM-1/channels/19:abc@thread.tacv2/messages", delegated, { bodyBytes: 10 })
    expect(result.services).toEqual(["global", "teams"])
    expect(keys(result)).toEqual([
      `global.app/${a}`,
      `teams.postChannelMessage.appTenant/${a}/${t}`,
      `teams.postChannelMessage.app/${a}`,
      `teams.postChannelMessage.perChannel/${a}/${t}/19:abc@thread.tacv2`,
      `teams.team.perApp/${a}/team-1`,
      `teams.channel.perApp/${a}/${t}/19:abc@thread.tacv2`,
      `teams.postMessage.perUser/${u}/19:abc@thread.tacv2`
    ])
    expect(demand(result, "teams.postChannelMessage.appTenant").limit).toEqual({ _tag: "Window", limit: 50, windowMillis: 1_000 })
  })

  it("GET /teams/{id}/channels/{id}/messages uses the GET channel message row", () => {
    const result = classify("GET", "/teams/team-1/channels/19:abc@thread.tacv2/messages?$top=50")
    expect(entryIds(result)).toContain("teams.getChannelMessage.appTenant")
    expect(entryIds(result)).not.toContain("teams.otherGet.appTenant")
    expect(entryIds(result)).not.toContain("teams.postMessage.perUser")
  })

  it("POST /chats/{id}/messages: chat buckets, and the per-user limit only in delegated context", () => {
    const chat = "19:meeting_abc@thread.v2"
    const mine = classify("POST", `/chats/${chat}/messages`)
    expect(keys(mine)).toContain(`teams.postChatMessage.perChat/${a}/${t}/${chat}`)
    expect(keys(mine)).toContain(`teams.chat.perApp/${a}/${t}/${chat}`)
    expect(keys(mine)).toContain(`teams.postMessage.perUser/${u}/${chat}`)
    const migration = classify("POST", `/chats/${chat}/messages`, appOnly)
    expect(entryIds(migration)).not.toContain("teams.postMessage.perUser")
  })

  it("/users/{id}/onenote/pages: per app per user in delegated context, per app in app-only context", () => {
    const mine = classify("GET", `/users/${userId}/onenote/pages`)
    expect(keys(mine)).toEqual([
      `global.app/${a}`,
      `onenote.delegated.minute/${a}/${u}`,
      `onenote.delegated.hour/${a}/${u}`,
      `onenote.delegated.concurrent/${a}/${u}`
    ])
    expect(mine.demands.every((d) => d.service === "global" || !d.retryAfter)).toBe(true)
    const app = classify("GET", `/users/${userId}/onenote/pages`, appOnly)
    expect(keys(app)).toEqual([
      `global.app/${a}`,
      `onenote.appOnly.minute/${a}`,
      `onenote.appOnly.hour/${a}`,
      `onenote.appOnly.concurrent/${a}`
    ])
    expect(demand(app, "onenote.appOnly.concurrent").limit).toEqual({ _tag: "Concurrency", permits: 20 })
  })

  it("/reports/getTeamsUserActivityUserDetail(period='D7'): CSV buckets of that report API only", () => {
    const result = classify("GET", "/reports/getTeamsUserActivityUserDetail(period='D7')")
    expect(result.services).toEqual(["global", "reports"])
    expect(keys(result)).toEqual([
      `global.app/${a}`,
      `reports.csv.appTenant/${a}/${t}/getteamsuseractivityuserdetail`,
      `reports.csv.tenant/${t}/getteamsuseractivityuserdetail`
    ])
    const other = classify("GET", "/reports/getEmailActivityUserDetail(period='D30')")
    expect(keys(other)).toContain(`reports.csv.appTenant/${a}/${t}/getemailactivityuserdetail`)
  })

  it("a report with $format=application/json uses the JSON row, which has no tenant-wide figure", () => {
    const result = classify("GET", "/reports/getTeamsUserActivityUserDetail(period='D7')?$format=application/json")
    expect(entryIds(result)).toEqual(["global.app", "reports.json.appTenant"])
  })

  it("/informationProtection/threatAssessmentRequests: tenant buckets, plus per-resource buckets keyed from the body", () => {
    const body = { "@odata.type": "#microsoft.graph.mailAssessmentRequest", recipientEmail: "Bob@contoso.com", messageUri: "https://graph.microsoft.com/v1.0/users/x/messages/AAA" }
    const result = classify("POST", "/informationProtection/threatAssessmentRequests", delegated, { body })
    expect(entryIds(result)).toEqual([
      "global.app",
      "informationProtection.tenant.15min",
      "informationProtection.tenant.day",
      "informationProtection.resource.15min",
      "informationProtection.resource.day"
    ])
    const resourceKey = demand(result, "informationProtection.resource.15min").key
    const again = classify("POST", "/informationProtection/threatAssessmentRequests", delegated, { body: JSON.stringify(body) })
    expect(demand(again, "informationProtection.resource.15min").key).toBe(resourceKey)
    const otherRecipient = classify("POST", "/informationProtection/threatAssessmentRequests", delegated, { body: { ...body, recipientEmail: "carol@contoso.com" } })
    expect(demand(otherRecipient, "informationProtection.resource.15min").key).not.toBe(resourceKey)
    const url = classify("POST", "/informationProtection/threatAssessmentRequests", delegated, { body: { url: "http://contoso.com/x" } })
    expect(demand(url, "informationProtection.resource.day").key).toBe(`informationProtection.resource.day/${t}/url:http://contoso.com/x`)
  })

  it("/informationProtection/threatAssessmentRequests without a body: per-resource entries are reported, not guessed", () => {
    const result = classify("POST", "/informationProtection/threatAssessmentRequests")
    expect(result.skipped.map((s) => [s.entryId, s.reason])).toEqual([
      ["informationProtection.resource.15min", "missingKey"],
      ["informationProtection.resource.day", "missingKey"]
    ])
    expect(entryIds(classify("GET", "/informationProtection/threatAssessmentRequests"))).toEqual(["global.app"])
  })

  it("/groups/{id}/transitiveMembers?$select=id&$top=10: identity resource units 5 - 1 - 1 = 3, no write", () => {
    const result = classify("GET", "/groups/02bd9fd6-8f93-4758-87c3-1fb73740a315/transitiveMembers?$select=id&$top=10")
    expect(result.services).toEqual(["global", "identityAccess"])
    expect(result.identity?.resourceUnits).toBe(3)
    expect(keys(result)).toEqual([
      `global.app/${a}`,
      `identityAccess.appTenant.resourceUnits.M/${a}/${t}`,
      `identityAccess.app.resourceUnits/${a}`
    ])
    expect(result.demands.slice(1).map((d) => d.cost)).toEqual([3, 3])
    expect(demand(result, "identityAccess.appTenant.resourceUnits.M").limit).toEqual({ _tag: "TokenBucket", capacity: 5_000, refillPerSecond: 500 })
  })

  it("/users?$expand=manager: GET users costs 2, $expand adds 1", () => {
    const result = classify("GET", "/users?$expand=manager")
    expect(result.identity?.resourceUnits).toBe(3)
    expect(demand(result, "identityAccess.app.resourceUnits").cost).toBe(3)
  })

  it("/education/me/assignments: the assignment limits, including GET me/Assignment, and not the rostering ones", () => {
    const result = classify("GET", "/education/me/assignments")
    expect(result.services).toEqual(["global", "assignment"])
    expect(entryIds(result)).toEqual([
      "global.app",
      "assignment.any.appTenant.10s",
      "assignment.any.tenant.10s",
      "assignment.any.appTenant.hour",
      "assignment.any.tenant.hour",
      "assignment.meAssignment.appTenant",
      "assignment.meAssignment.tenant"
    ])
  })
})

describe("LimitCatalog.classify: per service", () => {
  it("bookings: four concurrent requests per app and booking mailbox", () => {
    const result = classify("GET", "/solutions/bookingBusinesses/ContosoLunch@contoso.onmicrosoft.com/appointments")
    expect(demand(result, "bookings.appMailbox.concurrent").key).toBe(`bookings.appMailbox.concurrent/${a}/contosolunch@contoso.onmicrosoft.com`)
    expect(entryIds(classify("GET", "/solutions/bookingBusinesses"))).toEqual(["global.app"])
    expect(classify("GET", "/solutions/bookingBusinesses").services).toContain("bookings")
  })

  it("cloud communications: calls, meeting creation per organiser, presence, virtual events", () => {
    expect(entryIds(classify("POST", "/communications/calls/57dab8b1/answer"))).toContain("cloudCommunications.calls.appTenant")
    const meeting = classify("POST", "/me/onlineMeetings")
    expect(demand(meeting, "cloudCommunications.meetings.appUser").key).toBe(`cloudCommunications.meetings.appUser/${a}/${u}`)
    expect(entryIds(classify("GET", "/me/onlineMeetings/abc"))).not.toContain("cloudCommunications.meetings.appUser")
    expect(entryIds(classify("GET", "/users/bob/presence"))).toContain("cloudCommunications.presence.appTenant")
    expect(entryIds(classify("POST", "/communications/getPresencesByUserId"))).toContain("cloudCommunications.presence.appTenant")
    const webinar = demand(classify("GET", "/solutions/virtualEvents/webinars"), "cloudCommunications.virtualEvent.app")
    expect(webinar.limit).toEqual({ _tag: "Window", limit: 10_000, windowMillis: 31 * 86_400_000 })
  })

  it("call records: per record first page, subsequent pages, and listing", () => {
    const first = classify("GET", "/communications/callRecords/E523D2ED?$expand=sessions($expand=segments)")
    expect(entryIds(first)).toEqual(["global.app", "callRecords.app", "callRecords.tenant", "callRecords.appTenant", "callRecords.record.firstPage"])
    expect(demand(first, "callRecords.record.firstPage").key).toBe("callRecords.record.firstPage/e523d2ed")
    const next = classify("GET", "/communications/callRecords/E523D2ED/sessions?$skiptoken=abc")
    expect(entryIds(next)).toContain("callRecords.record.laterPages")
    expect(entryIds(next)).not.toContain("callRecords.record.firstPage")
    expect(entryIds(classify("GET", "/communications/callRecords"))).toContain("callRecords.list.firstPage")
    expect(entryIds(classify("GET", "/communications/callRecords?$skiptoken=x"))).toContain("callRecords.list.laterPages")
  })

  it("PSTN call records: each function is its own collection, and not a call record", () => {
    const result = classify("GET", "/communications/callRecords/getPstnCalls(fromDateTime=2019-11-01,toDateTime=2019-12-01)")
    expect(result.services).toEqual(["global", "pstnCallRecords"])
    expect(keys(result)).toEqual([
      `global.app/${a}`,
      `pstnCallRecords.tenant/${t}`,
      `pstnCallRecords.appTenant/${a}/${t}`,
      `pstnCallRecords.collection/${t}/getpstncalls`
    ])
    expect(keys(classify("GET", "/communications/callRecords/getSmsLog(fromDateTime=2024-01-01,toDateTime=2024-01-02)"))).toContain(
      `pstnCallRecords.collection/${t}/getsmslog`
    )
  })

  it("excel: workbook requests, which are also files and lists requests", () => {
    const result = classify("GET", "/me/drive/items/01ABC/workbook/worksheets('Sheet1')/range(address='A1:B2')")
    expect(result.services).toEqual(["global", "excel", "filesAndLists"])
    expect(entryIds(result)).toEqual(["global.app", "excel.app", "excel.appTenant"])
    expect(result.skipped.map((s) => s.reason)).toEqual(["unpublished"])
  })

  it("education: rostering limits for classes and schools", () => {
    const result = classify("GET", "/education/classes/11023/members")
    expect(result.services).toEqual(["global", "education"])
    expect(entryIds(result)).toEqual(["global.app", "education.app", "education.appTenant"])
  })

  it("files and lists: the service is named, with no figures, only the global limit applies", () => {
    const result = classify("GET", "/drives/b!abc/root/children")
    expect(result.services).toEqual(["global", "filesAndLists"])
    expect(entryIds(result)).toEqual(["global.app"])
    expect(result.skipped.map((s) => [s.entryId, s.reason])).toEqual([["filesAndLists.sharePoint", "unpublished"]])
  })

  it("identity reports: five requests per 10 seconds, not identity and access resource units", () => {
    const result = classify("GET", "/auditLogs/signIns?$top=5&$filter=createdDateTime ge 2024-01-01")
    expect(result.services).toEqual(["global", "identityReports"])
    expect(entryIds(result)).toEqual(["global.app", "identityReports.appTenant"])
    expect(classify("GET", "/reports/authenticationMethods/userRegistrationDetails").services).toEqual(["global", "identityReports"])
  })

  it("data policy: exportPersonalData per tenant and per subject; other requests fall back", () => {
    const exported = classify("POST", "/users/Bob@contoso.com/exportPersonalData")
    expect(keys(exported)).toEqual([
      `global.app/${a}`,
      `dataPolicy.exportPersonalData.tenant/${t}`,
      `dataPolicy.exportPersonalData.subject/${t}/bob@contoso.com`
    ])
    expect(exported.demands.slice(1).every((d) => d.retryAfter === false)).toBe(true)
    expect(entryIds(classify("GET", "/dataPolicyOperations/a1b2"))).toEqual(["global.app", "dataPolicy.other.tenant"])
  })

  it("identity protection and conditional access: one request per second per tenant, no Retry-After", () => {
    const result = classify("GET", "/identityProtection/riskyUsers?$filter=riskLevel eq 'high'")
    expect(entryIds(result)).toEqual(["global.app", "identityProtection.tenant"])
    expect(demand(result, "identityProtection.tenant").retryAfter).toBe(false)
    expect(entryIds(classify("PATCH", "/identity/conditionalAccess/policies/p1"))).toContain("identityProtection.tenant")
  })

  it("identity providers: B2C user flows and providers, not identity and access", () => {
    const result = classify("GET", "/identity/b2cUserFlows")
    expect(result.services).toEqual(["global", "identityProviders"])
    expect(entryIds(result)).toEqual(["global.app", "identityProviders.tenant", "identityProviders.appTenant"])
    expect(classify("GET", "/policies/authenticationFlowsPolicy").services).toEqual(["global", "identityProviders"])
  })

  it("insights: per addressed user; trending is also an assignment resource", () => {
    const result = classify("GET", "/me/insights/trending")
    expect(result.services).toEqual(["global", "assignment", "insights"])
    expect(keys(result)).toContain(`insights.requests/${u}`)
    expect(keys(result)).toContain(`insights.concurrent/${u}`)
    expect(keys(classify("GET", "/users/bob/insights/used"))).toContain("insights.requests/bob")
  })

  it("intune: the devices area has doubled figures; other areas and unmapped paths have the common ones", () => {
    const devices = classify("GET", "/deviceManagement/managedDevices?$top=100")
    expect(entryIds(devices)).toEqual(["global.app", "intune.devices.any.tenant", "intune.devices.any.appTenant"])
    expect(demand(devices, "intune.devices.any.tenant").limit).toEqual({ _tag: "Window", limit: 4_000, windowMillis: 20_000 })
    const compliance = classify("POST", "/deviceManagement/deviceCompliancePolicies")
    expect(entryIds(compliance)).toEqual([
      "global.app",
      "intune.deviceConfiguration.writes.tenant",
      "intune.deviceConfiguration.writes.appTenant",
      "intune.deviceConfiguration.any.tenant",
      "intune.deviceConfiguration.any.appTenant"
    ])
    const unmapped = classify("GET", "/deviceManagement/someFutureCollection")
    expect(entryIds(unmapped)).toEqual(["global.app", "intune.unmapped.any.tenant", "intune.unmapped.any.appTenant"])
  })

  it("invitations: 150 requests per 5 seconds per tenant", () => {
    expect(keys(classify("POST", "/invitations"))).toEqual([`global.app/${a}`, `invitations.tenant/${t}`])
  })

  it("teams: a path no row names falls back to the 'Other' rows, with the per-channel bucket", () => {
    const result = classify("GET", "/teams/team-1/channels/19:abc@thread.tacv2/filesFolder")
    expect(entryIds(result)).toEqual([
      "global.app",
      "teams.otherGet.appTenant",
      "teams.otherGet.app",
      "teams.otherGet.perChannel",
      "teams.team.perApp",
      "teams.channel.perApp"
    ])
    const write = classify("POST", "/chats/19:x@thread.v2/messages/1/setReaction")
    expect(entryIds(write)).toContain("teams.other.perChat")
  })

  it("teams: getAllMessages is its own row, not a channel id", () => {
    const result = classify("GET", "/teams/team-1/channels/getAllMessages?model=B")
    expect(entryIds(result)).toEqual([
      "global.app",
      "teams.getAllChannelMessages.appTenant",
      "teams.getAllChannelMessages.app",
      "teams.team.perApp"
    ])
  })

  it("teams: list chats, get chat and removeAllAccessForUser share one bucket per user; creating a chat does not count", () => {
    const list = demand(classify("GET", "/me/chats"), "teams.chats.perUser.read")
    const get = demand(classify("GET", "/chats/19:x@thread.v2"), "teams.chats.perUser.read")
    const remove = demand(classify("POST", "/chats/19:x@thread.v2/removeAllAccessForUser"), "teams.chats.perUser.removeAccess")
    expect(list.key).toBe(`teams.chats.perUser/${u}`)
    expect(get.key).toBe(list.key)
    expect(remove.key).toBe(list.key)
    const create = classify("POST", "/chats")
    expect(entryIds(create).some((id) => id.startsWith("teams.chats.perUser"))).toBe(false)
  })

  it("teams: four requests per second per app on a team, including PUT /groups/{id}/team", () => {
    const result = classify("PUT", "/groups/G-1/team")
    expect(entryIds(result)).toContain("teams.putGroupTeam.appTenant")
    expect(demand(result, "teams.team.perApp").key).toBe(`teams.team.perApp/${a}/g-1`)
  })

  it("multitenant management: writes count against the write and the Any rows", () => {
    const result = classify("PATCH", "/tenantRelationships/managedTenants/managementActions/x")
    expect(entryIds(result)).toEqual([
      "global.app",
      "multitenantManagement.writes.tenant",
      "multitenantManagement.writes.appTenant",
      "multitenantManagement.any.tenant",
      "multitenantManagement.any.appTenant"
    ])
  })

  it("open extensions: extension operations on any resource", () => {
    const result = classify("POST", "/me/extensions", delegated, { bodyBytes: 100 })
    expect(result.services).toEqual(["global", "extensions"])
    expect(entryIds(result)).toEqual(["global.app", "extensions.appTenant"])
    expect(entryIds(classify("GET", "/schemaExtensions?$filter=id eq 'x'"))).toContain("extensions.appTenant")
  })

  it("project rome: separate read and write budgets per user", () => {
    expect(entryIds(classify("GET", "/me/activities"))).toEqual(["global.app", "projectRome.reads.5min", "projectRome.reads.day"])
    const write = classify("PUT", "/me/activities/app-activity-1")
    expect(keys(write)).toEqual([`global.app/${a}`, `projectRome.writes.5min/${u}`, `projectRome.writes.day/${u}`])
  })

  it("security: secureScores counts against both rows that name it and the concurrency limit", () => {
    const result = classify("GET", "/security/secureScores?$top=1")
    expect(entryIds(result)).toEqual([
      "global.app",
      "security.alerts.appTenant",
      "security.secureScore.requests",
      "security.secureScore.concurrent"
    ])
    expect(entryIds(classify("POST", "/security/tiIndicators"))).toEqual(["global.app", "security.tiIndicators.appTenant"])
    expect(classify("GET", "/security/incidents").services).toEqual(["global", "security"])
  })

  it("eDiscovery: five requests per minute, under both spellings of the path", () => {
    expect(entryIds(classify("GET", "/security/cases/ediscoveryCases/c1/custodians"))).toEqual(["global.app", "eDiscovery.appTenant"])
    expect(classify("GET", "/security/eDiscoveryCases").services).toEqual(["global", "security", "eDiscovery"])
  })

  it("service communications: both windows apply", () => {
    expect(entryIds(classify("GET", "/admin/serviceAnnouncement/issues"))).toEqual([
      "global.app",
      "serviceCommunications.minute",
      "serviceCommunications.hour"
    ])
  })

  it("subscriptions: a write counts against the write rows and the Any rows at every scope", () => {
    expect(entryIds(classify("POST", "/subscriptions"))).toEqual([
      "global.app",
      "subscriptions.writes.app",
      "subscriptions.any.app",
      "subscriptions.writes.tenant",
      "subscriptions.any.tenant",
      "subscriptions.writes.appTenant",
      "subscriptions.any.appTenant"
    ])
    expect(entryIds(classify("GET", "/subscriptions"))).toHaveLength(4)
  })

  it("planner: the service is named, with no figures", () => {
    const result = classify("PATCH", "/planner/tasks/t1")
    expect(result.services).toEqual(["global", "planner"])
    expect(result.skipped.map((s) => [s.entryId, s.reason])).toEqual([["planner.unavailable", "unpublished"]])
  })

  it("viva engage: ten requests per 30 seconds per user per app", () => {
    expect(keys(classify("GET", "/employeeExperience/communities"))).toEqual([`global.app/${a}`, `vivaEngage.appUser/${a}/${u}`])
    expect(keys(classify("GET", "/employeeExperience/communities", appOnly))).toEqual([`global.app/${a}`, `vivaEngage.appUser/${a}/app:${a}`])
  })

  it("identity and access: the tenant size selects the application+tenant resource-unit quota", () => {
    for (const [size, capacity] of [["S", 3_500], ["M", 5_000], ["L", 8_000]] as const) {
      const context = new LimitCatalog.ClassifyContext({ ...delegated, tenantSize: size })
      const result = classify("GET", "/me", context)
      expect(demand(result, `identityAccess.appTenant.resourceUnits.${size}`).limit).toEqual({
        _tag: "TokenBucket",
        capacity,
        refillPerSecond: capacity / 10
      })
      expect(entryIds(result).filter((id) => id.startsWith("identityAccess.appTenant.resourceUnits"))).toHaveLength(1)
    }
  })

  it("identity and access: writes charge the write quotas; the applications audience rows follow the context", () => {
    const unknown = classify("POST", "/applications", delegated, { bodyBytes: 10 })
    expect(entryIds(unknown)).toEqual([
      "global.app",
      "identityAccess.appTenant.resourceUnits.M",
      "identityAccess.appTenant.writes",
      "identityAccess.app.resourceUnits",
      "identityAccess.app.writes",
      "identityAccess.tenant.writes",
      "identityAccess.applications.writes.organizations",
      "identityAccess.applications.writes.personalAccounts"
    ])
    const org = classify("PATCH", "/applications/app-1", new LimitCatalog.ClassifyContext({ ...delegated, signInAudience: "AzureADMyOrg" }))
    expect(entryIds(org)).toContain("identityAccess.applications.writes.organizations")
    expect(entryIds(org)).not.toContain("identityAccess.applications.writes.personalAccounts")
    expect(entryIds(classify("GET", "/applications"))).not.toContain("identityAccess.applications.writes.organizations")
  })

  it("identity and access: a user's mail is not a directory request", () => {
    expect(classify("GET", "/me/messages").identity).toBeUndefined()
    expect(classify("GET", "/me/memberOf").identity?.resourceUnits).toBe(2)
  })
})

describe("LimitCatalog.classify: invariants", () => {
  const realistic = [
    ["GET", "/users/alice@contoso.com/messages?$select=subject&$top=10"],
    ["POST", "/teams/T1/channels/19:AbC@thread.tacv2/messages"],
    ["GET", "/reports/getTeamsUserActivityUserDetail(period='D7')?$format=application/json"],
    ["GET", "/groups/G1/transitiveMembers?$select=id&$top=10"],
    ["POST", "/communications/callRecords/getPstnCalls(fromDateTime=2019-11-01,toDateTime=2019-12-01)"],
    ["GET", "/me/insights/trending"],
    ["PATCH", "/deviceManagement/managedDevices/D1"]
  ] as const

  it.prop("never throws, and every demand has a positive cost and a key starting with its bucket", [
    FastCheck.constantFrom("GET", "POST", "put", "PATCH", "DELETE", "HEAD", ""),
    FastCheck.oneof(FastCheck.string(), FastCheck.webUrl(), FastCheck.webPath()),
    FastCheck.boolean()
  ], ([method, url, isDelegated]) => {
    const result = classify(method, url, isDelegated ? delegated : appOnly)
    for (const d of result.demands) {
      expect(d.cost).toBeGreaterThan(0)
      const entry = catalog.entries.find((e) => e.id === d.entryId)!
      expect(d.key.startsWith(`${entry.bucket ?? entry.id}/`)).toBe(true)
    }
    expect(result.services[0]).toBe("global")
    expect(entryIds(result)).toContain("global.app")
  })

  it.prop("a leading slash, a version prefix or the Graph host do not change the result", [
    FastCheck.constantFrom(...realistic),
    FastCheck.constantFrom("", "/", "v1.0/", "/beta/", "https://graph.microsoft.com/v1.0/")
  ], ([[method, url], prefix]) => {
    expect(classify(method, prefix + url.replace(/^\//, ""))).toEqual(classify(method, url))
  })

  it.prop("letter case in the path does not change which buckets are used", [
    FastCheck.constantFrom(...realistic),
    FastCheck.array(FastCheck.boolean(), { minLength: 120, maxLength: 120 })
  ], ([[method, url], flips]) => {
    const [path, query = ""] = url.split("?")
    const flipped = [...path!].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch.toLowerCase())).join("")
    const again = classify(method, query ? `${flipped}?${query}` : flipped)
    expect(keys(again)).toEqual(keys(classify(method, url)))
  })
})

describe("LimitCatalog service: overrides, version and Config", () => {
  it.effect("raises a limit and marks the version", () =>
    Effect.gen(function*() {
      const service = yield* LimitCatalog.make({
        overrides: [new LimitCatalog.LimitOverride({ entryId: "global.app", quantity: 200_000 })]
      })
      expect(service.catalog.version).toBe(`${LimitCatalog.builtinVersion}+overrides`)
      const result = service.classify({ method: "GET", url: "/organization" }, delegated)
      expect(demand(result, "global.app").limit).toEqual({ _tag: "Window", limit: 200_000, windowMillis: 10_000 })
    }))

  it.effect("lowers a limit and changes its window", () =>
    Effect.gen(function*() {
      const service = yield* LimitCatalog.make({
        overrides: [
          new LimitCatalog.LimitOverride({
            entryId: "outlook.mailbox.requests",
            quantity: 100,
            window: new LimitCatalog.Window({ amount: 1, unit: "minute" })
          }),
          new LimitCatalog.LimitOverride({ entryId: "outlook.mailbox.concurrent", quantity: 2 })
        ],
        version: "tenant-contoso-2"
      })
      expect(service.catalog.version).toBe("tenant-contoso-2")
      const result = service.classify({ method: "GET", url: "/me/messages" }, delegated)
      expect(demand(result, "outlook.mailbox.requests").limit).toEqual({ _tag: "Window", limit: 100, windowMillis: 60_000 })
      expect(demand(result, "outlook.mailbox.concurrent").limit).toEqual({ _tag: "Concurrency", permits: 2 })
      expect(Option.map(service.entry("outlook.mailbox.concurrent"), (e) => e.limit)).toEqual(
        Option.some(new LimitCatalog.Concurrent({ scope: "mailbox", key: ["mailbox"], permits: 2 }))
      )
    }))

  it.effect("an override of one entry of a shared bucket applies to all its entries", () =>
    Effect.gen(function*() {
      const service = yield* LimitCatalog.make({
        overrides: [new LimitCatalog.LimitOverride({ entryId: "teams.chats.perUser.read", quantity: 2 })]
      })
      expect(LimitCatalog.validate(service.catalog)).toEqual([])
      const remove = service.classify({ method: "POST", url: "/chats/c/removeAllAccessForUser" }, delegated)
      expect(demand(remove, "teams.chats.perUser.removeAccess").limit).toEqual({ _tag: "Window", limit: 2, windowMillis: 1_000 })
    }))

  it.effect("refuses overrides it cannot apply, with the reason", () =>
    Effect.gen(function*() {
      const reasonOf = (override: LimitCatalog.LimitOverride) =>
        LimitCatalog.make({ overrides: [override] }).pipe(Effect.flip, Effect.map((e) => e._tag === "InvalidOverride" ? e.reason : e._tag))
      expect(yield* reasonOf(new LimitCatalog.LimitOverride({ entryId: "nope", quantity: 1 }))).toBe("unknownEntry")
      expect(yield* reasonOf(new LimitCatalog.LimitOverride({ entryId: "planner.unavailable", quantity: 1 }))).toBe("unpublishedLimit")
      expect(
        yield* reasonOf(
          new LimitCatalog.LimitOverride({ entryId: "outlook.mailbox.concurrent", quantity: 1, window: new LimitCatalog.Window({ amount: 1, unit: "second" }) })
        )
      ).toBe("concurrencyWindow")
      expect(yield* reasonOf(new LimitCatalog.LimitOverride({ entryId: "outlook.mailbox.concurrent", quantity: 1.5 }))).toBe("notInteger")
    }))

  it.effect("refuses a custom catalogue that fails its checks", () =>
    Effect.gen(function*() {
      const broken = new LimitCatalog.Catalog({
        ...catalog,
        entries: [...catalog.entries, catalog.entries[0]!]
      })
      const error = yield* Effect.flip(LimitCatalog.make({ catalog: broken }))
      expect(error._tag).toBe("InvalidCatalog")
    }))

  it("parses the override syntax, and reports the item it cannot read", () => {
    expect(LimitCatalog.parseOverrides("outlook.mailbox.requests=5000/10m, global.app=100000;onenote.appOnly.hour=1.5/2h")).toEqual(
      Either.right([
        new LimitCatalog.LimitOverride({ entryId: "outlook.mailbox.requests", quantity: 5_000, window: new LimitCatalog.Window({ amount: 10, unit: "minute" }) }),
        new LimitCatalog.LimitOverride({ entryId: "global.app", quantity: 100_000 }),
        new LimitCatalog.LimitOverride({ entryId: "onenote.appOnly.hour", quantity: 1.5, window: new LimitCatalog.Window({ amount: 2, unit: "hour" }) })
      ])
    )
    expect(LimitCatalog.parseOverrides("")).toEqual(Either.right([]))
    const bad = LimitCatalog.parseOverrides("global.app=fast")
    expect(Either.isLeft(bad) && bad.left.input === "global.app=fast" && bad.left.reason === "syntax").toBe(true)
    expect(Either.isLeft(LimitCatalog.parseOverrides("global.app=0"))).toBe(true)
  })

  it.effect("layerConfig reads tenant size, auth, B2C, audience, overrides and version from Config", () =>
    Effect.gen(function*() {
      const service = yield* LimitCatalog.LimitCatalog
      expect(service.settings).toEqual({ tenantSize: "L", delegated: false, b2c: true, signInAudience: "AzureADMyOrg" })
      expect(service.catalog.version).toBe("ops-2024-07")
      const context = service.context({ tenantId: tenant, appId: app })
      expect(context).toEqual(
        new LimitCatalog.ClassifyContext({ tenantId: tenant, appId: app, delegated: false, tenantSize: "L", b2c: true, signInAudience: "AzureADMyOrg" })
      )
      const result = service.classify({ method: "GET", url: "/organization" }, context)
      expect(demand(result, "global.app").limit).toEqual({ _tag: "Window", limit: 1_000, windowMillis: 60_000 })
      expect(entryIds(result)).toContain("identityAccess.appTenant.resourceUnits.L")
    }).pipe(
      Effect.provide(
        LimitCatalog.layerConfig().pipe(
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.fromMap(
                new Map([
                  ["MSGRAPH_TENANT_SIZE", "L"],
                  ["MSGRAPH_AUTH", "appOnly"],
                  ["MSGRAPH_B2C", "true"],
                  ["MSGRAPH_SIGN_IN_AUDIENCE", "AzureADMyOrg"],
                  ["MSGRAPH_LIMIT_OVERRIDES", "global.app=1000/1m"],
                  ["MSGRAPH_CATALOG_VERSION", "ops-2024-07"]
                ])
              )
            )
          )
        )
      )
    ))

  it.effect("layerConfig defaults: tenant size S, delegated, not B2C, the built-in version", () =>
    Effect.gen(function*() {
      const service = yield* LimitCatalog.LimitCatalog
      expect(service.settings).toEqual({ tenantSize: "S", delegated: true, b2c: false, signInAudience: undefined })
      expect(service.catalog.version).toBe(LimitCatalog.builtinVersion)
    }).pipe(
      Effect.provide(LimitCatalog.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))))
    ))

  it.effect("layerConfig fails with a ConfigError on an unreadable override", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.provide(
          LimitCatalog.LimitCatalog,
          LimitCatalog.layerConfig().pipe(
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["MSGRAPH_LIMIT_OVERRIDES", "global.app:5"]]))))
          )
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("MSGRAPH_LIMIT_OVERRIDES")
    }))
})

describe("LimitCatalog.make: sharing the catalogue", () => {
  it.effect("two services without overrides use the same catalogue object, so its compiled plans are built once", () =>
    Effect.gen(function*() {
      const first = yield* LimitCatalog.make({ tenantSize: "M" })
      const second = yield* LimitCatalog.make({ tenantSize: "L", delegated: false })
      expect(first.catalog).toBe(LimitCatalog.defaultCatalog)
      expect(second.catalog).toBe(first.catalog)
    }))

  it.effect("an override or a new version gives a catalogue of its own, and leaves the default as it was", () =>
    Effect.gen(function*() {
      const limited = yield* LimitCatalog.make({ overrides: [{ entryId: "teams.channel.perApp", quantity: 2 }] })
      const renamed = yield* LimitCatalog.make({ version: "tenant-measured" })
      expect(limited.catalog).not.toBe(LimitCatalog.defaultCatalog)
      expect(renamed.catalog).not.toBe(LimitCatalog.defaultCatalog)
      expect(renamed.catalog.version).toBe("tenant-measured")
      const entry = (c: LimitCatalog.Catalog) => c.entries.find((e) => e.id === "teams.channel.perApp")!.limit
      expect(entry(limited.catalog)).toMatchObject({ _tag: "Rate", quantity: 2 })
      expect(entry(LimitCatalog.defaultCatalog)).toMatchObject({ _tag: "Rate", quantity: 1 })
    }))
})
