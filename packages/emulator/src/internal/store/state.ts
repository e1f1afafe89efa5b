/**
 * The store's state, shared by every resource module: the collections, the licences, the change
 * log of `users/delta`, and the small answers every resource gives.
 *
 * @internal
 */
import { errorAnswer, jsonHeaders, type ItemAnswer, type Stamp } from "../responses.js"
import type { ParsedUrl } from "../routing.js"

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

/** @internal */
export type Json = Record<string, unknown>

/** @internal */
export interface Sku {
  readonly skuId: string
  readonly skuPartNumber: string
  consumed: number
}

/** @internal */
export const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

/** Every collection of the store. @internal */
export class State {
  readonly users = new Map<string, Json>()
  readonly upns = new Map<string, string>()
  readonly licenses = new Map<string, Set<string>>()
  readonly skus: Array<Sku> = [
    { skuId: "c7df2760-2c81-4ef7-b578-5b5392b571df", skuPartNumber: "ENTERPRISEPREMIUM", consumed: 0 },
    { skuId: "05e9a617-0261-4cee-bb44-138d3ef5d965", skuPartNumber: "SPE_E3", consumed: 0 }
  ]
  readonly groups = new Map<string, Json>()
  readonly members = new Map<string, Set<string>>()
  readonly mail = new Map<string, Array<Json>>()
  readonly events = new Map<string, Array<Json>>()
  readonly channelMessages = new Map<string, Array<Json>>()
  readonly chatMessages = new Map<string, Array<Json>>()
  readonly driveItems = new Map<string, Json>()
  /** Change tracking for `users/delta`: a counter, each user's last change, deleted users' deletion. */
  changes = 0
  readonly changed = new Map<string, number>()
  readonly removed = new Map<string, number>()

  constructor(readonly options: StoreOptions) {
    const me = options.actingUser
    this.addUser(me.id.toLowerCase(), me.userPrincipalName, "Emulator User")
    for (let n = 0; n < options.seedUsers; n++) {
      const { id, userPrincipalName } = seededUser(n)
      this.addUser(id, userPrincipalName, `Seed User ${n}`)
    }
  }

  private addUser(id: string, userPrincipalName: string, displayName: string): void {
    this.users.set(id, { id, userPrincipalName, displayName, mail: userPrincipalName, accountEnabled: true, usageLocation: "US" })
    this.upns.set(userPrincipalName.toLowerCase(), id)
    this.touch(id)
  }

  /** Records a change to a user, for `users/delta`. */
  touch(id: string): void {
    this.changed.delete(id)
    this.changed.set(id, ++this.changes)
    this.removed.delete(id)
  }

  findUser(idOrUpn: string): Json | undefined {
    return this.users.get(idOrUpn.toLowerCase()) ?? this.users.get(this.upns.get(idOrUpn.toLowerCase()) ?? "")
  }

  /** The 507 Graph gives when the directory (users and groups) holds `capacity` objects. */
  full(call: Call): ItemAnswer | undefined {
    return this.users.size + this.groups.size >= this.options.capacity
      ? errorAnswer(507, "quotaLimitReached", "The emulator's object capacity has been reached.", call.stamp)
      : undefined
  }

  /** Appends to a keyed list, dropping its oldest entry beyond `capacity`. */
  push(store: Map<string, Array<Json>>, key: string, value: Json): void {
    let list = store.get(key)
    if (list === undefined) {
      list = []
      store.set(key, list)
    }
    list.push(value)
    if (list.length > this.options.capacity) list.shift()
  }
}

/** What a path the store does not model answers: a generic body, or 404 as configured. @internal */
export const generic = (state: State, call: Call): ItemAnswer => {
  if (state.options.unknownPaths === "notFound") {
    return errorAnswer(404, "itemNotFound", "The requested resource doesn't exist.", call.stamp)
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

/** @internal */
export const ok = (body: unknown): ItemAnswer => ({ status: 200, headers: jsonHeaders(), body })

/** @internal */
export const noContent = (): ItemAnswer => ({ status: 204, headers: { "Cache-Control": "no-cache" } })

/** @internal */
export const badRequest = (call: Call, code: string, message: string): ItemAnswer => errorAnswer(400, code, message, call.stamp)

/** @internal */
export const methodNotAllowed = (call: Call): ItemAnswer =>
  errorAnswer(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", call.stamp)

/** The 404 of a directory object (user, group, member) that does not exist. @internal */
export const directoryNotFound = (call: Call, id: string): ItemAnswer =>
  errorAnswer(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`, call.stamp)
