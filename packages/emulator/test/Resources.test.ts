import { GraphError } from "@effect-msgraph/spec"
import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { batch, get, post, send } from "./utils/graph.js"

const codeOf = (body: unknown) => Option.getOrThrow(GraphError.fromBody(body)).error.code

const createUser = (upn: string, extra: Record<string, unknown> = {}) =>
  send("POST", "/users", { userPrincipalName: upn, displayName: upn.split("@")[0], ...extra })

const test = Effect.provide(Emulator.layerTest())

describe("users", () => {
  it.effect("create, get by id and by UPN, patch, delete", () =>
    Effect.gen(function*() {
      const created = yield* createUser("ada@contoso.com", { city: "London" })
      assert.strictEqual(created.status, 201)
      const id = created.json.id as string
      assert.strictEqual((yield* send("GET", `/users/${id}`)).json.userPrincipalName, "ada@contoso.com")
      assert.strictEqual((yield* send("GET", "/users/ADA@contoso.com")).json.id, id)
      assert.strictEqual((yield* send("PATCH", `/users/${id}`, { jobTitle: "Engineer" })).status, 204)
      assert.strictEqual((yield* send("GET", `/users/${id}?$select=jobTitle`)).json.jobTitle, "Engineer")
      assert.strictEqual((yield* send("DELETE", `/users/${id}`)).status, 204)
      const gone = yield* send("GET", `/users/${id}`)
      assert.strictEqual(gone.status, 404)
      assert.strictEqual(codeOf(gone.json), "Request_ResourceNotFound")
    }).pipe(test))

  it.effect("409 for a duplicate UPN, 400 for a malformed body, 404 for an unknown user", () =>
    Effect.gen(function*() {
      yield* createUser("bob@contoso.com")
      const duplicate = yield* createUser("BOB@contoso.com")
      assert.strictEqual(duplicate.status, 409)
      assert.isString(codeOf(duplicate.json))
      assert.strictEqual((yield* send("POST", "/users", { displayName: "no upn" })).status, 400)
      const raw = yield* HttpClient.execute(
        HttpClientRequest.post("https://graph.microsoft.com/v1.0/users").pipe(HttpClientRequest.bodyText("{oops", "application/json"))
      )
      assert.strictEqual(raw.status, 400)
      assert.strictEqual((yield* send("GET", "/users/nobody@contoso.com")).status, 404)
      assert.strictEqual((yield* send("PATCH", "/users/nobody@contoso.com", { city: "x" })).status, 404)
    }).pipe(test))

  it.effect("list with $select, $top, $filter and @odata.nextLink paging", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 7; i++) yield* createUser(`user${i}@contoso.com`, { city: i % 2 === 0 ? "Paris" : "Oslo" })
      const page1 = yield* send("GET", "/users?$top=3&$select=id,userPrincipalName&$filter=startswith(userPrincipalName,'user')")
      assert.strictEqual(page1.json.value.length, 3)
      assert.deepStrictEqual(Object.keys(page1.json.value[0]).sort(), ["id", "userPrincipalName"])
      const seen: Array<string> = page1.json.value.map((u: any) => u.userPrincipalName)
      let next: string | undefined = page1.json["@odata.nextLink"]
      while (next !== undefined) {
        assert.match(next, /^https:\/\/graph\.microsoft\.com\/v1\.0\/users\?/)
        const page = yield* send("GET", next.slice("https://graph.microsoft.com/v1.0".length))
        seen.push(...page.json.value.map((u: any) => u.userPrincipalName))
        next = page.json["@odata.nextLink"]
      }
      assert.deepStrictEqual(seen, Array.from({ length: 7 }, (_, i) => `user${i}@contoso.com`))
      const paris = yield* send("GET", "/users?$filter=city eq 'Paris'&$select=city&$count=true")
      assert.strictEqual(paris.json["@odata.count"], 4)
      assert.isTrue(paris.json.value.every((u: any) => u.city === "Paris"))
      // A filter with spaces survives the round trip through @odata.nextLink.
      const first = yield* send("GET", "/users?$filter=city eq 'Oslo'&$top=2&$select=city")
      const rest = yield* send("GET", first.json["@odata.nextLink"].slice("https://graph.microsoft.com/v1.0".length))
      assert.strictEqual(rest.status, 200)
      assert.deepStrictEqual([...first.json.value, ...rest.json.value].map((u: any) => u.city), ["Oslo", "Oslo", "Oslo"])
      const unsupported = yield* send("GET", "/users?$filter=contains(displayName,'x')")
      assert.strictEqual(unsupported.status, 400)
    }).pipe(test))

  it.effect("a '+' in a query string is a space, as Graph reads it: form encoders' $filter=city+eq+'Paris' filters, %2B is a plus", () =>
    Effect.gen(function*() {
      yield* createUser("p@contoso.com", { city: "Paris" })
      yield* createUser("a+b@contoso.com", { city: "Oslo" })
      const formEncoded = yield* send("GET", "/users?%24filter=city+eq+%27Paris%27&%24select=userPrincipalName")
      assert.strictEqual(formEncoded.status, 200)
      assert.deepStrictEqual(formEncoded.json.value.map((u: any) => u.userPrincipalName), ["p@contoso.com"])
      const inBatch = yield* batch([get("1", "/users?$filter=city+eq+'Paris'&$select=userPrincipalName")])
      assert.deepStrictEqual(inBatch.byId["1"].body.value.map((u: any) => u.userPrincipalName), ["p@contoso.com"])
      const plus = yield* send("GET", "/users?$filter=userPrincipalName%20eq%20'a%2Bb@contoso.com'&$select=userPrincipalName")
      assert.deepStrictEqual(plus.json.value.map((u: any) => u.userPrincipalName), ["a+b@contoso.com"])
      // an unencoded plus is a space on Graph, so it matches nobody here either
      const unencoded = yield* send("GET", "/users?$filter=userPrincipalName%20eq%20'a+b@contoso.com'")
      assert.deepStrictEqual(unencoded.json.value, [])
    }).pipe(Effect.provide(Emulator.layerTest())))
})

describe("licences", () => {
  it.effect("assignLicense consumes a subscribed SKU unit and is refused when none are left", () =>
    Effect.gen(function*() {
      const skus = yield* send("GET", "/subscribedSkus")
      const sku = skus.json.value[0]
      assert.strictEqual(sku.prepaidUnits.enabled, 1)
      const a = (yield* createUser("a@contoso.com", { usageLocation: "GB" })).json.id
      const b = (yield* createUser("b@contoso.com", { usageLocation: "GB" })).json.id
      const assign = (id: string) => send("POST", `/users/${id}/assignLicense`, { addLicenses: [{ skuId: sku.skuId, disabledPlans: [] }], removeLicenses: [] })
      assert.strictEqual((yield* assign(a)).status, 200)
      assert.strictEqual((yield* send("GET", "/subscribedSkus")).json.value[0].consumedUnits, 1)
      const refused = yield* assign(b)
      assert.strictEqual(refused.status, 400)
      assert.strictEqual((yield* send("GET", `/users/${a}/licenseDetails`)).json.value[0].skuId, sku.skuId)
      const noLocation = (yield* createUser("c@contoso.com")).json.id
      assert.strictEqual((yield* assign(noLocation)).status, 400)
      assert.strictEqual((yield* send("POST", `/users/${a}/assignLicense`, { addLicenses: [{ skuId: "nope" }], removeLicenses: [] })).status, 400)
    }).pipe(Effect.provide(Emulator.layerTest({ licenses: 1 }))))
})

describe("groups", () => {
  it.effect("members are added through $ref, listed and removed; duplicates and unknown users are refused", () =>
    Effect.gen(function*() {
      const group = (yield* send("POST", "/groups", { displayName: "Team", mailNickname: "team", securityEnabled: true })).json.id
      const user = (yield* createUser("m@contoso.com")).json.id
      const ref = { "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${user}` }
      assert.strictEqual((yield* send("POST", `/groups/${group}/members/$ref`, ref)).status, 204)
      assert.strictEqual((yield* send("POST", `/groups/${group}/members/$ref`, ref)).status, 400)
      assert.strictEqual((yield* send("POST", `/groups/${group}/members/$ref`, { "@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/nobody" })).status, 404)
      assert.deepStrictEqual((yield* send("GET", `/groups/${group}/members`)).json.value.map((m: any) => m.id), [user])
      assert.strictEqual((yield* send("DELETE", `/groups/${group}/members/${user}/$ref`)).status, 204)
      assert.deepStrictEqual((yield* send("GET", `/groups/${group}/members`)).json.value, [])
      assert.strictEqual((yield* send("GET", "/groups/nope")).status, 404)
    }).pipe(test))
})

describe("mail and calendars", () => {
  it.effect("sendMail delivers to known recipients and keeps a sent copy", () =>
    Effect.gen(function*() {
      const to = (yield* createUser("rcpt@contoso.com")).json.id
      const sent = yield* send("POST", "/me/sendMail", {
        message: { subject: "Hello", body: { contentType: "Text", content: "hi" }, toRecipients: [{ emailAddress: { address: "rcpt@contoso.com" } }] }
      })
      assert.strictEqual(sent.status, 202)
      const inbox = yield* send("GET", `/users/${to}/mailFolders/inbox/messages`)
      assert.deepStrictEqual(inbox.json.value.map((m: any) => m.subject), ["Hello"])
      const mine = yield* send("GET", "/me/messages")
      assert.deepStrictEqual(mine.json.value.map((m: any) => m.parentFolderId), ["sentitems"])
      assert.strictEqual((yield* send("POST", "/me/sendMail", { message: { subject: "x" } })).status, 400)
    }).pipe(test))

  it.effect("events are created, read and deleted", () =>
    Effect.gen(function*() {
      const created = yield* send("POST", "/me/events", {
        subject: "Standup",
        start: { dateTime: "2026-01-01T09:00:00", timeZone: "UTC" },
        end: { dateTime: "2026-01-01T09:15:00", timeZone: "UTC" }
      })
      assert.strictEqual(created.status, 201)
      assert.strictEqual((yield* send("GET", `/me/events/${created.json.id}`)).json.subject, "Standup")
      assert.strictEqual((yield* send("GET", "/me/calendar/events")).json.value.length, 1)
      assert.strictEqual((yield* send("DELETE", `/me/events/${created.json.id}`)).status, 204)
      assert.strictEqual((yield* send("GET", `/me/events/${created.json.id}`)).status, 404)
      assert.strictEqual((yield* send("POST", "/me/events", { subject: "no times" })).status, 400)
    }).pipe(test))
})

describe("Teams and files", () => {
  it.effect("channel and chat messages are posted and listed", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        post("c", "/teams/t1/channels/c1/messages", { body: { content: "channel" } }),
        post("h", "/chats/19:abc/messages", { body: { content: "chat" } })
      ])
      assert.strictEqual(answer.byId["c"].status, 201)
      assert.strictEqual(answer.byId["h"].status, 201)
      // The catalogue allows one request per second per channel and per chat.
      assert.strictEqual((yield* send("GET", "/teams/t1/channels/c1/messages")).status, 429)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual((yield* send("GET", "/teams/t1/channels/c1/messages")).json.value.map((m: any) => m.body.content), ["channel"])
      assert.deepStrictEqual((yield* send("GET", "/chats/19:abc/messages")).json.value.map((m: any) => m.body.content), ["chat"])
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* send("POST", "/chats/19:abc/messages", { text: "no body" })).status, 400)
    }).pipe(test))

  it.effect("drive item upload by path, in a batch as base64, and read back", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode("hello, drive")
      const client = yield* HttpClient.HttpClient
      const put = yield* client.execute(
        HttpClientRequest.put("https://graph.microsoft.com/v1.0/me/drive/root:/docs/a.txt:/content").pipe(
          HttpClientRequest.bodyUint8Array(bytes, "text/plain")
        )
      )
      assert.strictEqual(put.status, 201)
      const item = yield* put.json as Effect.Effect<any, unknown>
      assert.strictEqual(item.size, bytes.length)
      const inBatch = yield* batch([{
        id: "up",
        method: "PUT",
        url: "/me/drive/root:/docs/b.bin:/content",
        headers: { "Content-Type": "application/octet-stream" },
        body: Buffer.from([1, 2, 3, 4]).toString("base64")
      }])
      assert.strictEqual(inBatch.byId["up"].status, 201)
      assert.strictEqual(inBatch.byId["up"].body.size, 4)
      assert.strictEqual((yield* send("GET", "/me/drive/root:/docs/a.txt")).json.id, item.id)
      assert.strictEqual((yield* send("GET", `/me/drive/items/${item.id}`)).json.name, "a.txt")
    }).pipe(test))
})

describe("other paths", () => {
  it.effect("answer a generic 200 body, or 404 where configured", () =>
    Effect.gen(function*() {
      const generic = yield* send("GET", "/planner/tasks")
      assert.strictEqual(generic.status, 200)
      assert.deepStrictEqual(generic.json.value, [])
      const missing = yield* send("GET", "/print/printers").pipe(Effect.provide(Emulator.layerTest({ notFoundPaths: ["/print"] })))
      assert.strictEqual(missing.status, 404)
      const strict = yield* send("GET", "/planner/tasks").pipe(Effect.provide(Emulator.layerTest({ unknownPaths: "notFound" })))
      assert.strictEqual(strict.status, 404)
      assert.strictEqual(codeOf(strict.json), "itemNotFound")
      const badVersion = yield* HttpClient.get("https://graph.microsoft.com/v2.0/users")
      assert.strictEqual(badVersion.status, 400)
      assert.strictEqual((yield* send("GET", "/me?$select=displayName")).json.displayName, "Emulator User")
    }).pipe(test))

  it.effect("batch items are run against the state the batch's earlier items left", () =>
    Effect.gen(function*() {
      const answer = yield* batch([
        post("1", "/users", { userPrincipalName: "chain@contoso.com", displayName: "Chain" }),
        { ...get("2", "/users/chain@contoso.com"), dependsOn: ["1"] }
      ])
      assert.strictEqual(answer.byId["1"].status, 201)
      assert.strictEqual(answer.byId["2"].body.displayName, "Chain")
    }).pipe(test))
})
