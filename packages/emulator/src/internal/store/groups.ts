/**
 * Groups: `groups` (list, create), `groups/{id}` (read, delete) and their members
 * (`members`, `members/$ref`, `members/{id}/$ref`).
 *
 * @internal
 */
import { jsonHeaders, type ItemAnswer } from "../responses.js"
import { page, select } from "./query.js"
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
import { defaultUserSelect } from "./users.js"

/** `groups/...`. @internal */
export const groupsRoute = (state: State, call: Call): ItemAnswer => {
  const seg = call.url.segments
  const lower = call.url.lower
  const m = call.method
  if (seg.length === 1) {
    if (m === "GET") return page(call, [...state.groups.values()], (g) => g, `${call.root}/$metadata#groups`, "groups")
    if (m === "POST") return createGroup(state, call)
    return methodNotAllowed(call)
  }
  const group = state.groups.get(lower[1]!)
  if (group === undefined) return directoryNotFound(call, seg[1]!)
  const id = group["id"] as string
  if (seg.length === 2) {
    if (m === "GET") return ok({ "@odata.context": `${call.root}/$metadata#groups/$entity`, ...group })
    if (m === "DELETE") {
      state.groups.delete(id)
      state.members.delete(id)
      return noContent()
    }
    return methodNotAllowed(call)
  }
  if (lower[2] !== "members") return generic(state, call)
  return membersRoute(state, call, id)
}

const createGroup = (state: State, call: Call): ItemAnswer => {
  const body = call.body
  if (!isObject(body)) return badRequest(call, "Request_BadRequest", "Invalid request body: a JSON object is required.")
  if (typeof body["displayName"] !== "string" || typeof body["mailNickname"] !== "string") {
    return badRequest(call, "Request_BadRequest", "Invalid value specified for property 'displayName' or 'mailNickname' of resource 'Group'.")
  }
  const full = state.full(call)
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
  state.groups.set(id, group)
  state.members.set(id, new Set())
  return { status: 201, headers: jsonHeaders(), body: { "@odata.context": `${call.root}/$metadata#groups/$entity`, ...group } }
}

/** `groups/{id}/members...` of an existing group. */
const membersRoute = (state: State, call: Call, id: string): ItemAnswer => {
  const seg = call.url.segments
  const lower = call.url.lower
  const m = call.method
  const members = state.members.get(id)!
  if (seg.length === 3 && m === "GET") {
    const users = [...members].flatMap((u) => {
      const user = state.users.get(u)
      return user === undefined ? [] : [user]
    })
    return page(
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
    if (!state.users.has(memberId)) return directoryNotFound(call, memberId)
    if (members.has(memberId)) {
      return badRequest(call, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
    }
    members.add(memberId)
    return noContent()
  }
  if (seg.length === 5 && lower[4] === "$ref" && m === "DELETE") {
    if (!members.delete(lower[3]!)) return directoryNotFound(call, seg[3]!)
    return noContent()
  }
  return methodNotAllowed(call)
}
