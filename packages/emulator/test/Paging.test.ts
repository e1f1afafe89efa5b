import * as Emulator from "@effect-msgraph/emulator/Emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { type Answer, root, send } from "./utils/graph.js"

const relative = (link: string) => link.slice(root.length)

/** Follows `@odata.nextLink` from `url` to the end: every page's body. */
const allPages = (url: string) =>
  Effect.gen(function*() {
    const pages: Array<any> = []
    let next: string | undefined = url
    while (next !== undefined) {
      const page: Answer = yield* send("GET", next)
      assert.strictEqual(page.status, 200)
      pages.push(page.json)
      const link: string | undefined = page.json["@odata.nextLink"]
      next = link === undefined ? undefined : relative(link)
    }
    return pages
  })

describe("emulator paging", () => {
  it.effect("users seeds the directory: every seeded user listed once, 100 a page by default, $top up to 999", () =>
    Effect.gen(function*() {
      const pages = yield* allPages("/users?$select=id")
      assert.deepStrictEqual(pages.map((p) => p.value.length), [100, 100, 51])
      const ids = pages.flatMap((p) => p.value.map((u: { id: string }) => u.id))
      assert.strictEqual(new Set(ids).size, 251)
      assert.include(ids, Emulator.seededUser(249).id)
      assert.deepStrictEqual((yield* allPages("/users?$top=999")).map((p) => p.value.length), [251])
      assert.strictEqual((yield* send("GET", "/users?$top=1000")).status, 400)
      assert.strictEqual((yield* send("GET", `/users/${Emulator.seededUser(3).userPrincipalName}`)).json.id, Emulator.seededUser(3).id)
    }).pipe(Effect.provide(Emulator.layerTest({ users: 250 }))))

  it.effect("the skiptoken is opaque: not a count, and a forged or altered one is refused with 400", () =>
    Effect.gen(function*() {
      const first = yield* send("GET", "/users?$top=5")
      const token = new URL(first.json["@odata.nextLink"]).searchParams.get("$skiptoken")!
      assert.notMatch(token, /^\d+$|^[0-9a-z]{1,3}$/)
      assert.strictEqual((yield* send("GET", "/users?$top=5&$skiptoken=5")).status, 400)
      assert.strictEqual((yield* send("GET", `/users?$top=5&$skiptoken=${token}x`)).status, 400)
    }).pipe(Effect.provide(Emulator.layerTest({ users: 20 }))))

  it.effect("group members are paged like users", () =>
    Effect.gen(function*() {
      const group = yield* send("POST", "/groups", { displayName: "All", mailNickname: "all" })
      const id = group.json.id as string
      for (let n = 0; n < 12; n++) {
        const added = yield* send("POST", `/groups/${id}/members/$ref`, { "@odata.id": `${root}/directoryObjects/${Emulator.seededUser(n).id}` })
        assert.strictEqual(added.status, 204)
      }
      const pages = yield* allPages(`/groups/${id}/members?$top=5`)
      assert.deepStrictEqual(pages.map((p) => p.value.length), [5, 5, 2])
      assert.strictEqual(new Set(pages.flatMap((p) => p.value.map((u: { id: string }) => u.id))).size, 12)
    }).pipe(Effect.provide(Emulator.layerTest({ users: 12 }))))

  it.effect("users/delta: the last page of a round has the deltaLink, which returns only later changes", () =>
    Effect.gen(function*() {
      const round = yield* allPages("/users/delta?$top=4")
      assert.strictEqual(round.length, 3)
      assert.isTrue(round.slice(0, -1).every((p) => p["@odata.deltaLink"] === undefined))
      const deltaLink: string = round.at(-1)["@odata.deltaLink"]
      assert.isUndefined(round.at(-1)["@odata.nextLink"])
      // nothing changed: an empty round
      assert.deepStrictEqual((yield* allPages(relative(deltaLink))).flatMap((p) => p.value), [])
      assert.strictEqual((yield* send("PATCH", `/users/${Emulator.seededUser(2).id}`, { city: "Oslo" })).status, 204)
      const changed = (yield* allPages(relative(deltaLink))).flatMap((p) => p.value)
      assert.deepStrictEqual(changed.map((u: { id: string }) => u.id), [Emulator.seededUser(2).id])
      assert.strictEqual((yield* send("GET", "/users/delta?$deltatoken=forged")).status, 400)
    }).pipe(Effect.provide(Emulator.layerTest({ users: 9 }))))

  it("refuses a users count that is not a whole number within the capacity", () => {
    for (const users of [-1, 1.5, 11]) {
      const made = Effect.runSync(Effect.either(Emulator.make({ users, capacity: 10 })))
      assert.isTrue(Either.isLeft(made) && made.left.option === "users", String(users))
    }
    assert.isTrue(Either.isRight(Effect.runSync(Effect.either(Emulator.make({ users: 10, capacity: 10 })))))
  })
})
