/**
 * Users: `users` and `users/{id|upn}` (list with `$filter`, create, read, update, delete),
 * `users/delta`, and the routes below a user (licences, mail, events, drive).
 *
 * @internal
 */
import { errorAnswer, jsonHeaders, type ItemAnswer } from "../responses.js"
import { drive } from "./drive.js"
import { assignLicense, licenseDetails } from "./licenses.js"
import { eventsOf, messages, sendMail } from "./mailbox.js"
import { decodeToken, encodeToken, page, pageSize, parseFilter, select } from "./query.js"
import {
  badRequest,
  type Call,
  directoryNotFound,
  generic,
  isObject,
  type Json,
  methodNotAllowed,
  noContent,
  ok,
  type State
} from "./state.js"

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

/** The fields a user is read with when `$select` names none. @internal */
export const defaultUserSelect = ["id", "displayName", "userPrincipalName", "mail", "givenName", "surname", "jobTitle"]

/** `users/...`, `me/...` already rewritten to it. @internal */
export const usersRoute = (state: State, call: Call): ItemAnswer => {
  const seg = call.url.segments
  const lower = call.url.lower
  const m = call.method
  if (seg.length === 2 && lower[1] === "delta" && m === "GET") return usersDelta(state, call)
  if (seg.length === 1) {
    if (m === "GET") return listUsers(state, call)
    if (m === "POST") return createUser(state, call)
    return methodNotAllowed(call)
  }
  const user = state.findUser(seg[1]!)
  // Drive uploads, mail and events all need the user to exist.
  if (user === undefined) return directoryNotFound(call, seg[1]!)
  const id = user["id"] as string
  if (seg.length === 2) {
    if (m === "GET") return ok(select(user, call.url.query, defaultUserSelect, `${call.root}/$metadata#users/$entity`))
    if (m === "PATCH") return patchUser(state, call, user)
    if (m === "DELETE") return deleteUser(state, id)
    return methodNotAllowed(call)
  }
  const sub = lower[2]!
  if (sub === "assignlicense" && m === "POST") return assignLicense(state, call, user)
  if (sub === "licensedetails" && m === "GET") return licenseDetails(state, call, id)
  if (sub === "sendmail" && m === "POST") return sendMail(state, call, user)
  if (sub === "messages") return messages(state, call, id, seg.slice(3))
  if (sub === "mailfolders" && lower[4] === "messages") return messages(state, call, id, seg.slice(5), lower[3])
  if (sub === "events" || (sub === "calendar" && lower[3] === "events")) {
    return eventsOf(state, call, id, sub === "events" ? seg.slice(3) : seg.slice(4))
  }
  if (sub === "drive") return drive(state, call, `user:${id}`, seg.slice(3))
  return generic(state, call)
}

const upnTaken = (call: Call): ItemAnswer =>
  errorAnswer(409, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property userPrincipalName already exists.", call.stamp)

const invalidUpn = (call: Call): ItemAnswer =>
  badRequest(call, "Request_BadRequest", "Invalid value specified for property 'userPrincipalName' of resource 'User'.")

const notAnObject = (call: Call): ItemAnswer => badRequest(call, "Request_BadRequest", "Invalid request body: a JSON object is required.")

const createUser = (state: State, call: Call): ItemAnswer => {
  const body = call.body
  if (!isObject(body)) return notAnObject(call)
  const upn = body["userPrincipalName"]
  if (typeof upn !== "string" || !upn.includes("@")) return invalidUpn(call)
  if (typeof body["displayName"] !== "string" || body["displayName"] === "") {
    return badRequest(call, "Request_BadRequest", "Invalid value specified for property 'displayName' of resource 'User'.")
  }
  if (state.upns.has(upn.toLowerCase())) return upnTaken(call)
  const full = state.full(call)
  if (full !== undefined) return full
  const id = call.newId()
  const user: Json = { id, mail: upn }
  for (const field of userFields) if (field in body && field !== "id") user[field] = body[field]
  user["userPrincipalName"] = upn
  state.users.set(id, user)
  state.upns.set(upn.toLowerCase(), id)
  state.touch(id)
  return { status: 201, headers: { ...jsonHeaders(), Location: `${call.root}/users/${id}` }, body: { "@odata.context": `${call.root}/$metadata#users/$entity`, ...user } }
}

const patchUser = (state: State, call: Call, user: Json): ItemAnswer => {
  const body = call.body
  if (!isObject(body)) return notAnObject(call)
  if ("id" in body) return badRequest(call, "Request_BadRequest", "Property 'id' is read-only and cannot be set.")
  const upn = body["userPrincipalName"]
  if (upn !== undefined) {
    if (typeof upn !== "string" || !upn.includes("@")) return invalidUpn(call)
    const owner = state.upns.get(upn.toLowerCase())
    if (owner !== undefined && owner !== user["id"]) return upnTaken(call)
    state.upns.delete(String(user["userPrincipalName"]).toLowerCase())
    state.upns.set(upn.toLowerCase(), user["id"] as string)
  }
  for (const field of userFields) if (field in body && field !== "id") user[field] = body[field]
  state.touch(user["id"] as string)
  return noContent()
}

const deleteUser = (state: State, id: string): ItemAnswer => {
  const user = state.users.get(id)!
  state.users.delete(id)
  state.upns.delete(String(user["userPrincipalName"]).toLowerCase())
  const held = state.licenses.get(id)
  if (held !== undefined) for (const sku of state.skus) if (held.has(sku.skuId)) sku.consumed--
  state.licenses.delete(id)
  for (const set of state.members.values()) set.delete(id)
  state.mail.delete(id)
  state.events.delete(id)
  state.changed.delete(id)
  state.removed.set(id, ++state.changes)
  // deletions are remembered as long as there is room for as many users
  if (state.removed.size > state.options.capacity) state.removed.delete(state.removed.keys().next().value!)
  return noContent()
}

const listUsers = (state: State, call: Call): ItemAnswer => {
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
  const all = [...state.users.values()].filter(predicate)
  return page(call, all, (u) => select(u, q, defaultUserSelect), `${call.root}/$metadata#users`, "users")
}

/**
 * `GET /users/delta`: without a token, every user; with the `$deltatoken` of a round's last page,
 * the users changed since (created or updated, in full) and those deleted (`@removed`). Pages as
 * lists do (`$top`, `$skiptoken`, which remembers the round); the last page carries the
 * `@odata.deltaLink` for the next round.
 */
const usersDelta = (state: State, call: Call): ItemAnswer => {
  const q = call.url.query
  const top = pageSize(call)
  if (typeof top !== "number") return top
  const skipText = q.get("$skiptoken")
  const deltaText = q.get("$deltatoken")
  const round = skipText !== null ? decodeToken(skipText, "d") : deltaText !== null ? decodeToken(deltaText, "t") : [0, 0]
  if (round === undefined || round.length < 2) return badRequest(call, "Request_BadRequest", "Invalid $skiptoken or $deltatoken.")
  const since = round[0]!
  const offset = round[1]!
  // the round's end: changes after the first page wait for the next round
  const upto = round[2] ?? state.changes
  const entries: Array<Json> = []
  for (const [id, seq] of state.changed) {
    if (seq > since && seq <= upto) entries.push({ ...select(state.users.get(id)!, q, defaultUserSelect) })
  }
  if (since > 0) {
    for (const [id, seq] of state.removed) if (seq > since && seq <= upto) entries.push({ id, "@removed": { reason: "changed" } })
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
