/**
 * The emulator's stateful resources: users (with licences), subscribed SKUs, groups and their members,
 * mail, events, Teams channel and chat messages and drive items. Enough of Graph's behaviour for real
 * workflows, with Graph-shaped errors; everything else answers a generic body or 404 as configured.
 *
 * Memory is bounded: each collection holds at most `capacity` objects, and stored file content is
 * kept as its size only.
 *
 * @internal
 */
import type { ParsedUrl } from "./routing.js"
import { errorOutcome, jsonHeaders, type Outcome, type Stamp } from "./responses.js"

/** One call to the store. @internal */
export interface Call {
  readonly method: string
  readonly url: ParsedUrl
  /** JSON value, bytes for binary bodies, or undefined. */
  readonly body: unknown
  /** The user `me` stands for. */
  readonly actingUser: string
  /** The absolute root used in `@odata.context` and `@odata.nextLink`, e.g. `https://graph.microsoft.com/v1.0`. */
  readonly root: string
  readonly stamp: Stamp
  readonly newId: () => string
}

/** @internal */
export interface StoreOptions {
  /** Number of licences per subscribed SKU. */
  readonly licenses: number
  /** Paths (relative, without version) answered 404 instead of a generic body. Prefix match. */
  readonly notFoundPaths: ReadonlyArray<string>
  /** What unknown paths answer. */
  readonly unknownPaths: "generic" | "notFound"
  /** At most this many objects per collection. */
  readonly capacity: number
  /** The signed-in user (`me`), created with the store so that `me/...` paths work. */
  readonly actingUser: { readonly id: string; readonly userPrincipalName: string }
  /** Users created with the store, besides the acting user (see {@link seededUser}). */
  readonly seedUsers: number
}

/**
 * The `n`-th seeded user (from 0): `seed.user{n}@contoso.onmicrosoft.com`, with an id made from
 * `n`, so that a test knows every user the directory starts with.
 *
 * @internal
 */
export const seededUser = (n: number): { readonly id: string; readonly userPrincipalName: string } => ({
  id: `5eed0000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`,
  userPrincipalName: `seed.user${n}@contoso.onmicrosoft.com`
})

/** Page tokens: opaque to clients (base64url of a small JSON array), checked when read back. */
const encodeToken = (parts: ReadonlyArray<string | number>): string =>
  btoa(JSON.stringify(parts)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const decodeToken = (token: string, kind: string): ReadonlyArray<number> | undefined => {
  try {
    const parts: unknown = JSON.parse(atob(token.replace(/-/g, "+").replace(/_/g, "/")))
    if (!Array.isArray(parts) || parts[0] !== kind) return undefined
    const numbers = parts.slice(1)
    return numbers.every((n) => Number.isSafeInteger(n) && n >= 0) ? numbers as Array<number> : undefined
  } catch {
    return undefined
  }
}

type Json = Record<string, unknown>

interface Sku {
  readonly skuId: string
  readonly skuPartNumber: string
  consumed: number
}

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

const userFields = [
  "id",
  "userPrincipalName",
  "displayName",
  "mail",
  "givenName",
  "surname",
  "jobTitle",
  "city",
  "department",
  "accountEnabled",
  "usageLocation"
] as const

const defaultUserSelect = ["id", "displayName", "userPrincipalName", "mail", "givenName", "surname", "jobTitle"]

/** @internal */
export class Store {
  private readonly users = new Map<string, Json>()
  private readonly upns = new Map<string, string>()
  private readonly licenses = new Map<string, Set<string>>()
  private readonly skus: Array<Sku>
  private readonly groups = new Map<string, Json>()
  private readonly members = new Map<string, Set<string>>()
  private readonly mail = new Map<string, Array<Json>>()
  private readonly events = new Map<string, Array<Json>>()
  private readonly channelMessages = new Map<string, Array<Json>>()
  private readonly chatMessages = new Map<string, Array<Json>>()
  private readonly driveItems = new Map<string, Json>()
  /** Change tracking for `users/delta`: a counter, each user's last change, deleted users' deletion. */
  private changes = 0
  private readonly changed = new Map<string, number>()
  private readonly removed = new Map<string, number>()

  constructor(private readonly options: StoreOptions) {
    this.skus = [
      { skuId: "c7df2760-2c81-4ef7-b578-5b5392b571df", skuPartNumber: "ENTERPRISEPREMIUM", consumed: 0 },
      { skuId: "05e9a617-0261-4cee-bb44-138d3ef5d965", skuPartNumber: "SPE_E3", consumed: 0 }
    ]
    const me = options.actingUser
    this.users.set(me.id.toLowerCase(), {
      id: me.id.toLowerCase(),
      userPrincipalName: me.userPrincipalName,
      displayName: "Emulator User",
      mail: me.userPrincipalName,
      accountEnabled: true,
      usageLocation: "US"
    })
    this.upns.set(me.userPrincipalName.toLowerCase(), me.id.toLowerCase())
    this.touch(me.id.toLowerCase())
    for (let n = 0; n < options.seedUsers; n++) {
      const { id, userPrincipalName } = seededUser(n)
      this.users.set(id, {
        id,
        userPrincipalName,
        displayName: `Seed User ${n}`,
        mail: userPrincipalName,
        accountEnabled: true,
        usageLocation: "US"
      })
      this.upns.set(userPrincipalName.toLowerCase(), id)
      this.touch(id)
    }
  }

  /** Records a change to a user, for `users/delta`. */
  private touch(id: string): void {
    this.changed.delete(id)
    this.changed.set(id, ++this.changes)
    this.removed.delete(id)
  }

  /** How many users exist (for tests and the CLI). */
  get userCount(): number {
    return this.users.size
  }

  handle(call: Call): Outcome {
    const seg = call.url.segments
    const lower = seg.map((s) => s.toLowerCase())
    const m = call.method
    // `me/...` is `users/{acting user}/...`
    if (lower[0] === "me") return this.handle({ ...call, url: { ...call.url, segments: ["users", call.actingUser, ...seg.slice(1)] } })
    if (this.configuredNotFound(call.url.path)) {
      return errorOutcome(404, "itemNotFound", "The requested resource doesn't exist.", call.stamp)
    }
    if (lower[0] === "users") {
      if (seg.length === 2 && lower[1] === "delta" && m === "GET") return this.usersDelta(call)
      if (seg.length === 1) {
        if (m === "GET") return this.listUsers(call)
        if (m === "POST") return this.createUser(call)
        return methodNotAllowed(call)
      }
      const user = this.findUser(seg[1]!)
      if (user === undefined) {
        // Drive uploads, mail and events all need the user to exist.
        return errorOutcome(404, "Request_ResourceNotFound", `Resource '${seg[1]}' does not exist or one of its queried reference-property objects are not present.`, call.stamp)
      }
      const id = user["id"] as string
      if (seg.length === 2) {
        if (m === "GET") return ok(select(user, call.url.query, defaultUserSelect, `${call.root}/$metadata#users/$entity`))
        if (m === "PATCH") return this.patchUser(call, user)
        if (m === "DELETE") return this.deleteUser(id)
        return methodNotAllowed(call)
      }
      const sub = lower[2]!
      if (sub === "assignlicense" && m === "POST") return this.assignLicense(call, user)
      if (sub === "licensedetails" && m === "GET") return this.licenseDetails(call, id)
      if (sub === "sendmail" && m === "POST") return this.sendMail(call, user)
      if (sub === "messages") return this.messages(call, id, seg.slice(3))
      if (sub === "mailfolders" && lower[4] === "messages") return this.messages(call, id, seg.slice(5), lower[3])
      if (sub === "events" || (sub === "calendar" && lower[3] === "events")) {
        return this.eventsOf(call, id, sub === "events" ? seg.slice(3) : seg.slice(4))
      }
      if (sub === "drive") return this.drive(call, `user:${id}`, seg.slice(3))
      return this.generic(call)
    }
    if (lower[0] === "subscribedskus" && m === "GET" && seg.length === 1) return this.subscribedSkus(call)
    if (lower[0] === "groups") return this.groupsRoute(call)
    if (lower[0] === "teams" && lower[2] === "channels" && lower[4] === "messages" && seg.length === 5) {
      return this.list(call, this.channelMessages, `${seg[1]}/${seg[3]}`, `${call.root}/$metadata#teams('${seg[1]}')/channels('${seg[3]}')/messages`)
    }
    if (lower[0] === "chats" && lower[2] === "messages" && seg.length === 3) {
      return this.list(call, this.chatMessages, seg[1]!, `${call.root}/$metadata#chats('${seg[1]}')/messages`)
    }
    if (lower[0] === "drives" && seg[1] !== undefined) return this.drive(call, `drive:${seg[1]}`, seg.slice(2))
    return this.generic(call)
  }

  private configuredNotFound(path: string): boolean {
    const lower = path.toLowerCase()
    return this.options.notFoundPaths.some((prefix) => lower.startsWith(prefix.replace(/^\//, "").toLowerCase()))
  }

  private generic(call: Call): Outcome {
    if (this.options.unknownPaths === "notFound") {
      return errorOutcome(404, "itemNotFound", "The requested resource doesn't exist.", call.stamp)
    }
    switch (call.method) {
      case "GET":
        return ok({ "@odata.context": `${call.root}/$metadata#${call.url.path}`, value: [] })
      case "DELETE":
        return noContent()
      default:
        return ok({ "@odata.context": `${call.root}/$metadata#${call.url.path}`, id: call.newId() })
    }
  }

  private findUser(idOrUpn: string): Json | undefined {
    return this.users.get(idOrUpn.toLowerCase()) ?? this.users.get(this.upns.get(idOrUpn.toLowerCase()) ?? "")
  }

  private full(call: Call): Outcome | undefined {
    return this.users.size + this.groups.size >= this.options.capacity
      ? errorOutcome(507, "quotaLimitReached", "The emulator's object capacity has been reached.", call.stamp)
      : undefined
  }

  private createUser(call: Call): Outcome {
    const body = call.body
    if (!isObject(body)) return badRequest(call, "Request_BadRequest", "Invalid request body: a JSON object is required.")
    const upn = body["userPrincipalName"]
    if (typeof upn !== "string" || !upn.includes("@")) {
      return badRequest(call, "Request_BadRequest", "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
    }
    if (typeof body["displayName"] !== "string" || body["displayName"] === "") {
      return badRequest(call, "Request_BadRequest", "Invalid value specified for property 'displayName' of resource 'User'.")
    }
    if (this.upns.has(upn.toLowerCase())) {
      return errorOutcome(409, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property userPrincipalName already exists.", call.stamp)
    }
    const full = this.full(call)
    if (full !== undefined) return full
    const id = call.newId()
    const user: Json = { id, mail: upn }
    for (const field of userFields) if (field in body && field !== "id") user[field] = body[field]
    user["userPrincipalName"] = upn
    this.users.set(id, user)
    this.upns.set(upn.toLowerCase(), id)
    this.touch(id)
    return { status: 201, headers: { ...jsonHeaders(), Location: `${call.root}/users/${id}` }, body: { "@odata.context": `${call.root}/$metadata#users/$entity`, ...user } }
  }

  private patchUser(call: Call, user: Json): Outcome {
    const body = call.body
    if (!isObject(body)) return badRequest(call, "Request_BadRequest", "Invalid request body: a JSON object is required.")
    if ("id" in body) return badRequest(call, "Request_BadRequest", "Property 'id' is read-only and cannot be set.")
    const upn = body["userPrincipalName"]
    if (upn !== undefined) {
      if (typeof upn !== "string" || !upn.includes("@")) {
        return badRequest(call, "Request_BadRequest", "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
      }
      const owner = this.upns.get(upn.toLowerCase())
      if (owner !== undefined && owner !== user["id"]) {
        return errorOutcome(409, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property userPrincipalName already exists.", call.stamp)
      }
      this.upns.delete(String(user["userPrincipalName"]).toLowerCase())
      this.upns.set(upn.toLowerCase(), user["id"] as string)
    }
    for (const field of userFields) if (field in body && field !== "id") user[field] = body[field]
    this.touch(user["id"] as string)
    return noContent()
  }

  private deleteUser(id: string): Outcome {
    const user = this.users.get(id)!
    this.users.delete(id)
    this.upns.delete(String(user["userPrincipalName"]).toLowerCase())
    const held = this.licenses.get(id)
    if (held !== undefined) for (const sku of this.skus) if (held.has(sku.skuId)) sku.consumed--
    this.licenses.delete(id)
    for (const set of this.members.values()) set.delete(id)
    this.mail.delete(id)
    this.events.delete(id)
    this.changed.delete(id)
    this.removed.set(id, ++this.changes)
    // deletions are remembered as long as there is room for as many users
    if (this.removed.size > this.options.capacity) this.removed.delete(this.removed.keys().next().value!)
    return noContent()
  }

  private listUsers(call: Call): Outcome {
    const q = call.url.query
    const filter = q.get("$filter")
    let predicate: (user: Json) => boolean = () => true
    if (filter !== null) {
      const parsed = parseFilter(filter)
      if (parsed === undefined) {
        return badRequest(call, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified: '${filter}'.`)
      }
      predicate = parsed
    }
    const all = [...this.users.values()].filter(predicate)
    return this.page(call, all, (u) => select(u, q, defaultUserSelect), `${call.root}/$metadata#users`, "users")
  }

  /** `$top`: 100 by default, 1 to 999 (Graph's bounds for users); otherwise the 400 Graph gives. */
  private pageSize(call: Call): number | Outcome {
    const topText = call.url.query.get("$top")
    const top = topText === null ? 100 : Number(topText)
    return Number.isInteger(top) && top >= 1 && top <= 999
      ? top
      : badRequest(call, "Request_BadRequest", `Invalid page size specified: '${topText}'. Must be between 1 and 999 inclusive.`)
  }

  private page(call: Call, all: ReadonlyArray<Json>, shape: (j: Json) => Json, context: string, path: string): Outcome {
    const q = call.url.query
    const top = this.pageSize(call)
    if (typeof top !== "number") return top
    const skipText = q.get("$skiptoken")
    const skip = skipText === null ? 0 : decodeToken(skipText, "o")?.[0]
    if (skip === undefined) return badRequest(call, "Request_BadRequest", "Invalid $skiptoken.")
    const slice = all.slice(skip, skip + top)
    const body: Json = { "@odata.context": context }
    if (q.get("$count") === "true") body["@odata.count"] = all.length
    if (skip + top < all.length) {
      // Spaces as %20, never '+': the emulator reads a '+' in a query as a plus sign, as Graph does.
      const params: Array<string> = []
      for (const [k, v] of q) if (k !== "$skiptoken") params.push(`${k}=${encodeURIComponent(v)}`)
      params.push(`$skiptoken=${encodeToken(["o", skip + top])}`)
      body["@odata.nextLink"] = `${call.root}/${path}?${params.join("&")}`
    }
    body["value"] = slice.map(shape)
    return ok(body)
  }

  /**
   * `GET /users/delta`: without a token, every user; with the `$deltatoken` of a round's last page,
   * the users changed since (created or updated, in full) and those deleted (`@removed`). Pages as
   * lists do (`$top`, `$skiptoken`, which remembers the round); the last page carries the
   * `@odata.deltaLink` for the next round.
   */
  private usersDelta(call: Call): Outcome {
    const q = call.url.query
    const top = this.pageSize(call)
    if (typeof top !== "number") return top
    const skipText = q.get("$skiptoken")
    const deltaText = q.get("$deltatoken")
    const round = skipText !== null ? decodeToken(skipText, "d") : deltaText !== null ? decodeToken(deltaText, "t") : [0, 0]
    if (round === undefined || round.length < 2) return badRequest(call, "Request_BadRequest", "Invalid $skiptoken or $deltatoken.")
    const since = round[0]!
    const offset = round[1]!
    // the round's end: changes after the first page wait for the next round
    const upto = round[2] ?? this.changes
    const entries: Array<Json> = []
    for (const [id, seq] of this.changed) {
      if (seq > since && seq <= upto) entries.push({ ...select(this.users.get(id)!, q, defaultUserSelect) })
    }
    if (since > 0) {
      for (const [id, seq] of this.removed) if (seq > since && seq <= upto) entries.push({ id, "@removed": { reason: "changed" } })
    }
    const body: Json = { "@odata.context": `${call.root}/$metadata#users` }
    const keep: Array<string> = []
    for (const [k, v] of q) if (k !== "$skiptoken" && k !== "$deltatoken") keep.push(`${k}=${encodeURIComponent(v)}`)
    if (offset + top < entries.length) {
      body["@odata.nextLink"] = `${call.root}/users/delta?${[...keep, `$skiptoken=${encodeToken(["d", since, offset + top, upto])}`].join("&")}`
    } else {
      body["@odata.deltaLink"] = `${call.root}/users/delta?${[...keep, `$deltatoken=${encodeToken(["t", upto, 0])}`].join("&")}`
    }
    body["value"] = entries.slice(offset, offset + top)
    return ok(body)
  }

  private assignLicense(call: Call, user: Json): Outcome {
    const body = call.body
    if (!isObject(body) || !Array.isArray(body["addLicenses"]) || !Array.isArray(body["removeLicenses"])) {
      return badRequest(call, "Request_BadRequest", "Invalid request body: 'addLicenses' and 'removeLicenses' are required.")
    }
    const id = user["id"] as string
    if (user["usageLocation"] === undefined || user["usageLocation"] === null) {
      return badRequest(call, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
    }
    const held = this.licenses.get(id) ?? new Set<string>()
    const add: Array<Sku> = []
    for (const entry of body["addLicenses"] as Array<unknown>) {
      const skuId = isObject(entry) ? entry["skuId"] : undefined
      const sku = this.skus.find((s) => s.skuId === skuId)
      if (sku === undefined) return badRequest(call, "Request_BadRequest", `License ${String(skuId)} does not correspond to a valid company License.`)
      if (!held.has(sku.skuId)) add.push(sku)
    }
    const remove: Array<Sku> = []
    for (const skuId of body["removeLicenses"] as Array<unknown>) {
      const sku = this.skus.find((s) => s.skuId === skuId)
      if (sku === undefined) return badRequest(call, "Request_BadRequest", `License ${String(skuId)} does not correspond to a valid company License.`)
      if (held.has(sku.skuId)) remove.push(sku)
    }
    for (const sku of add) {
      if (sku.consumed >= this.options.licenses) {
        return badRequest(call, "Request_BadRequest", `Subscription ${sku.skuPartNumber} does not have any available licenses.`)
      }
    }
    for (const sku of add) {
      sku.consumed++
      held.add(sku.skuId)
    }
    for (const sku of remove) {
      sku.consumed--
      held.delete(sku.skuId)
    }
    this.licenses.set(id, held)
    return ok({ "@odata.context": `${call.root}/$metadata#users/$entity`, ...user, assignedLicenses: [...held].map((skuId) => ({ skuId, disabledPlans: [] })) })
  }

  private licenseDetails(call: Call, id: string): Outcome {
    const held = this.licenses.get(id) ?? new Set<string>()
    const value = this.skus.filter((s) => held.has(s.skuId)).map((s) => ({ id: `${s.skuId}-${id}`, skuId: s.skuId, skuPartNumber: s.skuPartNumber, servicePlans: [] }))
    return ok({ "@odata.context": `${call.root}/$metadata#users('${id}')/licenseDetails`, value })
  }

  private subscribedSkus(call: Call): Outcome {
    return ok({
      "@odata.context": `${call.root}/$metadata#subscribedSkus`,
      value: this.skus.map((s) => ({
        id: `tenant_${s.skuId}`,
        skuId: s.skuId,
        skuPartNumber: s.skuPartNumber,
        capabilityStatus: "Enabled",
        appliesTo: "User",
        consumedUnits: s.consumed,
        prepaidUnits: { enabled: this.options.licenses, suspended: 0, warning: 0, lockedOut: 0 },
        servicePlans: []
      }))
    })
  }

  private groupsRoute(call: Call): Outcome {
    const seg = call.url.segments
    const lower = seg.map((s) => s.toLowerCase())
    const m = call.method
    if (seg.length === 1) {
      if (m === "GET") return this.page(call, [...this.groups.values()], (g) => g, `${call.root}/$metadata#groups`, "groups")
      if (m !== "POST") return methodNotAllowed(call)
      const body = call.body
      if (!isObject(body)) return badRequest(call, "Request_BadRequest", "Invalid request body: a JSON object is required.")
      if (typeof body["displayName"] !== "string" || typeof body["mailNickname"] !== "string") {
        return badRequest(call, "Request_BadRequest", "Invalid value specified for property 'displayName' or 'mailNickname' of resource 'Group'.")
      }
      const full = this.full(call)
      if (full !== undefined) return full
      const id = call.newId()
      const group: Json = {
        id,
        displayName: body["displayName"],
        mailNickname: body["mailNickname"],
        mailEnabled: body["mailEnabled"] ?? false,
        securityEnabled: body["securityEnabled"] ?? true,
        groupTypes: body["groupTypes"] ?? []
      }
      this.groups.set(id, group)
      this.members.set(id, new Set())
      return { status: 201, headers: jsonHeaders(), body: { "@odata.context": `${call.root}/$metadata#groups/$entity`, ...group } }
    }
    const group = this.groups.get(lower[1]!)
    if (group === undefined) {
      return errorOutcome(404, "Request_ResourceNotFound", `Resource '${seg[1]}' does not exist or one of its queried reference-property objects are not present.`, call.stamp)
    }
    const id = group["id"] as string
    if (seg.length === 2) {
      if (m === "GET") return ok({ "@odata.context": `${call.root}/$metadata#groups/$entity`, ...group })
      if (m === "DELETE") {
        this.groups.delete(id)
        this.members.delete(id)
        return noContent()
      }
      return methodNotAllowed(call)
    }
    if (lower[2] !== "members") return this.generic(call)
    const members = this.members.get(id)!
    if (seg.length === 3 && m === "GET") {
      const users = [...members].flatMap((u) => {
        const user = this.users.get(u)
        return user === undefined ? [] : [user]
      })
      return this.page(
        call,
        users,
        (user) => ({ "@odata.type": "#microsoft.graph.user", ...select(user, call.url.query, defaultUserSelect) }),
        `${call.root}/$metadata#directoryObjects`,
        `groups/${id}/members`
      )
    }
    if (seg.length === 4 && lower[3] === "$ref" && m === "POST") {
      const body = call.body
      const ref = isObject(body) ? body["@odata.id"] : undefined
      if (typeof ref !== "string") return badRequest(call, "Request_BadRequest", "Invalid request body: '@odata.id' is required.")
      const memberId = ref.replace(/\/+$/, "").split("/").pop()!.replace(/^.*\('?|'?\)$/g, "").toLowerCase()
      if (!this.users.has(memberId)) {
        return errorOutcome(404, "Request_ResourceNotFound", `Resource '${memberId}' does not exist or one of its queried reference-property objects are not present.`, call.stamp)
      }
      if (members.has(memberId)) {
        return badRequest(call, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
      }
      members.add(memberId)
      return noContent()
    }
    if (seg.length === 5 && lower[4] === "$ref" && m === "DELETE") {
      if (!members.delete(lower[3]!)) {
        return errorOutcome(404, "Request_ResourceNotFound", `Resource '${seg[3]}' does not exist or one of its queried reference-property objects are not present.`, call.stamp)
      }
      return noContent()
    }
    return methodNotAllowed(call)
  }

  private sendMail(call: Call, sender: Json): Outcome {
    const body = call.body
    const message = isObject(body) ? body["message"] : undefined
    if (!isObject(message)) return badRequest(call, "ErrorInvalidRequest", "Cannot read the request body: 'message' is required.")
    const to = message["toRecipients"]
    if (!Array.isArray(to) || to.length === 0) return badRequest(call, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    const addresses: Array<string> = []
    for (const r of to) {
      const address = isObject(r) && isObject(r["emailAddress"]) ? r["emailAddress"]["address"] : undefined
      if (typeof address !== "string" || !address.includes("@")) return badRequest(call, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
      addresses.push(address)
    }
    const stored: Json = {
      subject: message["subject"] ?? "",
      body: message["body"] ?? { contentType: "text", content: "" },
      from: { emailAddress: { address: sender["mail"] ?? sender["userPrincipalName"] } },
      toRecipients: to,
      sentDateTime: new Date(call.stamp.now).toISOString().replace(/\.\d+Z$/, "Z")
    }
    if (isObject(body) && body["saveToSentItems"] !== false) {
      this.push(this.mail, sender["id"] as string, { id: call.newId(), parentFolderId: "sentitems", isDraft: false, ...stored })
    }
    for (const address of addresses) {
      const rcpt = this.findUser(address)
      if (rcpt !== undefined) {
        this.push(this.mail, rcpt["id"] as string, { id: call.newId(), parentFolderId: "inbox", isDraft: false, isRead: false, receivedDateTime: stored["sentDateTime"], ...stored })
      }
    }
    return { status: 202, headers: { "Cache-Control": "no-cache" } }
  }

  private messages(call: Call, owner: string, rest: ReadonlyArray<string>, folder?: string): Outcome {
    const m = call.method
    const list = this.mail.get(owner) ?? []
    const inFolder = folder === undefined ? list : list.filter((msg) => msg["parentFolderId"] === folder)
    if (rest.length === 0) {
      if (m === "GET") return this.page(call, [...inFolder].reverse(), (j) => j, `${call.root}/$metadata#users('${owner}')/messages`, `users/${owner}/messages`)
      if (m === "POST") {
        if (!isObject(call.body)) return badRequest(call, "ErrorInvalidRequest", "Cannot read the request body.")
        const draft: Json = { ...call.body, id: call.newId(), parentFolderId: folder ?? "drafts", isDraft: true }
        this.push(this.mail, owner, draft)
        return { status: 201, headers: jsonHeaders(), body: draft }
      }
      return methodNotAllowed(call)
    }
    return mailboxItem(call, list, rest[0]!)
  }

  private eventsOf(call: Call, owner: string, rest: ReadonlyArray<string>): Outcome {
    const m = call.method
    const list = this.events.get(owner) ?? []
    if (rest.length === 0) {
      if (m === "GET") return this.page(call, list, (j) => j, `${call.root}/$metadata#users('${owner}')/events`, `users/${owner}/events`)
      if (m === "POST") {
        const body = call.body
        if (!isObject(body) || typeof body["subject"] !== "string" || !isObject(body["start"]) || !isObject(body["end"])) {
          return badRequest(call, "ErrorInvalidRequest", "Your request can't be completed. 'subject', 'start' and 'end' are required.")
        }
        const event: Json = { ...body, id: call.newId(), createdDateTime: new Date(call.stamp.now).toISOString() }
        this.push(this.events, owner, event)
        return { status: 201, headers: jsonHeaders(), body: event }
      }
      return methodNotAllowed(call)
    }
    return mailboxItem(call, list, rest[0]!)
  }

  private list(call: Call, store: Map<string, Array<Json>>, key: string, context: string): Outcome {
    if (call.method === "GET") {
      return this.page(call, store.get(key) ?? [], (j) => j, context, call.url.path)
    }
    if (call.method !== "POST") return methodNotAllowed(call)
    const body = call.body
    if (!isObject(body) || !isObject(body["body"])) return badRequest(call, "BadRequest", "Invalid request body: 'body' is required.")
    const message: Json = {
      id: String(call.stamp.now) + call.newId().slice(-6),
      messageType: "message",
      createdDateTime: new Date(call.stamp.now).toISOString(),
      body: body["body"]
    }
    this.push(store, key, message)
    return { status: 201, headers: jsonHeaders(), body: { "@odata.context": context + "/$entity", ...message } }
  }

  private drive(call: Call, drive: string, rest: ReadonlyArray<string>): Outcome {
    // root:/path/to/file.txt:/content  (the colon syntax arrives split into segments)
    const joined = rest.join("/")
    const upload = /^(?:root:\/(.+):\/content|items\/([^/]+):\/(.+):\/content|items\/([^/]+)\/content)$/i.exec(joined)
    if (upload !== null && call.method === "PUT") {
      const path = upload[1] ?? (upload[3] !== undefined ? `${upload[2]}/${upload[3]}` : undefined)
      const bytes = call.body instanceof Uint8Array
        ? call.body.length
        : typeof call.body === "string"
        ? call.body.length
        : call.body === undefined
        ? 0
        : JSON.stringify(call.body).length
      const key = path !== undefined ? `${drive}:${path.toLowerCase()}` : `${drive}:#${upload[4]}`
      const existing = this.driveItems.get(key)
      if (existing === undefined && this.driveItems.size >= this.options.capacity) {
        return errorOutcome(507, "quotaLimitReached", "The emulator's object capacity has been reached.", call.stamp)
      }
      const name = path !== undefined ? path.split("/").pop()! : String(existing?.["name"] ?? upload[4])
      const item: Json = {
        id: existing?.["id"] ?? call.newId(),
        name,
        size: bytes,
        file: { mimeType: "application/octet-stream" },
        lastModifiedDateTime: new Date(call.stamp.now).toISOString()
      }
      this.driveItems.set(key, item)
      return { status: existing === undefined ? 201 : 200, headers: jsonHeaders(), body: item }
    }
    const meta = /^root:\/(.+?):?$/i.exec(joined)
    if (meta !== null && call.method === "GET") {
      const item = this.driveItems.get(`${drive}:${meta[1]!.toLowerCase()}`)
      return item === undefined ? errorOutcome(404, "itemNotFound", "The resource could not be found.", call.stamp) : ok(item)
    }
    const byId = /^items\/([^/:]+)$/i.exec(joined)
    if (byId !== null && call.method === "GET") {
      for (const [key, item] of this.driveItems) if (key.startsWith(`${drive}:`) && item["id"] === byId[1]) return ok(item)
      return errorOutcome(404, "itemNotFound", "The resource could not be found.", call.stamp)
    }
    return this.generic(call)
  }

  private push(store: Map<string, Array<Json>>, key: string, value: Json): void {
    let list = store.get(key)
    if (list === undefined) {
      list = []
      store.set(key, list)
    }
    list.push(value)
    if (list.length > this.options.capacity) list.shift()
  }
}

/** GET, PATCH or DELETE of one message or event in a mailbox list. */
const mailboxItem = (call: Call, list: Array<Json>, id: string): Outcome => {
  const found = list.find((item) => item["id"] === id)
  if (found === undefined) return errorOutcome(404, "ErrorItemNotFound", "The specified object was not found in the store.", call.stamp)
  switch (call.method) {
    case "GET":
      return ok(found)
    case "DELETE":
      list.splice(list.indexOf(found), 1)
      return noContent()
    case "PATCH":
      if (!isObject(call.body)) return badRequest(call, "ErrorInvalidRequest", "Cannot read the request body.")
      Object.assign(found, call.body, { id: found["id"] })
      return ok(found)
    default:
      return methodNotAllowed(call)
  }
}

const ok = (body: unknown): Outcome => ({ status: 200, headers: jsonHeaders(), body })

const noContent = (): Outcome => ({ status: 204, headers: { "Cache-Control": "no-cache" } })

const badRequest = (call: Call, code: string, message: string): Outcome => errorOutcome(400, code, message, call.stamp)

const methodNotAllowed = (call: Call): Outcome =>
  errorOutcome(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", call.stamp)

const select = (object: Json, query: URLSearchParams, defaults: ReadonlyArray<string>, context?: string): Json => {
  const chosen = query.get("$select")
  const fields = chosen === null ? defaults : chosen.split(",").map((f) => f.trim()).filter((f) => f !== "")
  const out: Json = context === undefined ? {} : { "@odata.context": context }
  for (const field of fields) {
    const match = Object.keys(object).find((k) => k.toLowerCase() === field.toLowerCase()) ?? field
    out[match] = object[match] ?? null
  }
  if (!("id" in out) && chosen === null) out["id"] = object["id"]
  return out
}

const filterable = new Set(["id", "userprincipalname", "displayname", "mail", "city", "jobtitle", "department", "accountenabled", "givenname", "surname", "usagelocation"])

/**
 * A small `$filter` grammar: `field eq 'text'`, `field eq true|false|null`, `startswith(field,'text')`,
 * joined with `and` / `or` (no parentheses, `and` binds tighter). Anything else is unsupported.
 *
 * @internal
 */
export const parseFilter = (filter: string): ((user: Record<string, unknown>) => boolean) | undefined => {
  const ors = filter.split(/\s+or\s+/i)
  const disjuncts: Array<Array<(u: Record<string, unknown>) => boolean>> = []
  for (const or of ors) {
    const conjuncts: Array<(u: Record<string, unknown>) => boolean> = []
    for (const clause of or.split(/\s+and\s+/i)) {
      const c = clause.trim()
      const eq = /^(\w+)\s+(eq|ne)\s+(?:'((?:[^']|'')*)'|(true|false|null))$/i.exec(c)
      const sw = /^startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)$/i.exec(c)
      if (eq !== null) {
        const field = eq[1]!.toLowerCase()
        if (!filterable.has(field)) return undefined
        const literal = eq[3] !== undefined ? eq[3].replace(/''/g, "'") : eq[4]!.toLowerCase() === "null" ? null : eq[4]!.toLowerCase() === "true"
        const negate = eq[2]!.toLowerCase() === "ne"
        conjuncts.push((u) => {
          const value = fieldOf(u, field)
          const same = typeof literal === "string" && typeof value === "string"
            ? value.toLowerCase() === literal.toLowerCase()
            : (value ?? null) === literal
          return negate ? !same : same
        })
      } else if (sw !== null) {
        const field = sw[1]!.toLowerCase()
        if (!filterable.has(field)) return undefined
        const prefix = sw[2]!.replace(/''/g, "'").toLowerCase()
        conjuncts.push((u) => {
          const value = fieldOf(u, field)
          return typeof value === "string" && value.toLowerCase().startsWith(prefix)
        })
      } else {
        return undefined
      }
    }
    disjuncts.push(conjuncts)
  }
  return (u) => disjuncts.some((all) => all.every((p) => p(u)))
}

const fieldOf = (u: Record<string, unknown>, lowerField: string): unknown => {
  for (const key in u) if (key.toLowerCase() === lowerField) return u[key]
  return undefined
}
