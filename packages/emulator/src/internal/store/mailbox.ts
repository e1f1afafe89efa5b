/**
 * A user's mailbox: `sendMail` (to the sender's sent items and each known recipient's inbox),
 * `messages` and `mailFolders/{folder}/messages`, and calendar `events`.
 *
 * @internal
 */
import { errorAnswer, jsonHeaders, type ItemAnswer } from "../responses.js"
import { page } from "./query.js"
import { badRequest, type Call, isObject, type Json, methodNotAllowed, noContent, ok, type State } from "./state.js"

const invalidRecipients = (call: Call): ItemAnswer => badRequest(call, "ErrorInvalidRecipients", "At least one recipient isn't valid.")

/** @internal */
export const sendMail = (state: State, call: Call, sender: Json): ItemAnswer => {
  const body = call.body
  const message = isObject(body) ? body["message"] : undefined
  if (!isObject(message)) return badRequest(call, "ErrorInvalidRequest", "Cannot read the request body: 'message' is required.")
  const to = message["toRecipients"]
  if (!Array.isArray(to) || to.length === 0) return invalidRecipients(call)
  const addresses: Array<string> = []
  for (const r of to) {
    const address = isObject(r) && isObject(r["emailAddress"]) ? r["emailAddress"]["address"] : undefined
    if (typeof address !== "string" || !address.includes("@")) return invalidRecipients(call)
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
    state.push(state.mail, sender["id"] as string, { id: call.newId(), parentFolderId: "sentitems", isDraft: false, ...stored })
  }
  for (const address of addresses) {
    const rcpt = state.findUser(address)
    if (rcpt !== undefined) {
      state.push(state.mail, rcpt["id"] as string, { id: call.newId(), parentFolderId: "inbox", isDraft: false, isRead: false, receivedDateTime: stored["sentDateTime"], ...stored })
    }
  }
  return { status: 202, headers: { "Cache-Control": "no-cache" } }
}

/** @internal */
export const messages = (state: State, call: Call, owner: string, rest: ReadonlyArray<string>, folder?: string): ItemAnswer => {
  const m = call.method
  const list = state.mail.get(owner) ?? []
  const inFolder = folder === undefined ? list : list.filter((msg) => msg["parentFolderId"] === folder)
  if (rest.length === 0) {
    if (m === "GET") return page(call, [...inFolder].reverse(), (j) => j, `${call.root}/$metadata#users('${owner}')/messages`, `users/${owner}/messages`)
    if (m === "POST") {
      if (!isObject(call.body)) return badRequest(call, "ErrorInvalidRequest", "Cannot read the request body.")
      const draft: Json = { ...call.body, id: call.newId(), parentFolderId: folder ?? "drafts", isDraft: true }
      state.push(state.mail, owner, draft)
      return { status: 201, headers: jsonHeaders(), body: draft }
    }
    return methodNotAllowed(call)
  }
  return mailboxItem(call, list, rest[0]!)
}

/** @internal */
export const eventsOf = (state: State, call: Call, owner: string, rest: ReadonlyArray<string>): ItemAnswer => {
  const m = call.method
  const list = state.events.get(owner) ?? []
  if (rest.length === 0) {
    if (m === "GET") return page(call, list, (j) => j, `${call.root}/$metadata#users('${owner}')/events`, `users/${owner}/events`)
    if (m === "POST") {
      const body = call.body
      if (!isObject(body) || typeof body["subject"] !== "string" || !isObject(body["start"]) || !isObject(body["end"])) {
        return badRequest(call, "ErrorInvalidRequest", "Your request can't be completed. 'subject', 'start' and 'end' are required.")
      }
      const event: Json = { ...body, id: call.newId(), createdDateTime: new Date(call.stamp.now).toISOString() }
      state.push(state.events, owner, event)
      return { status: 201, headers: jsonHeaders(), body: event }
    }
    return methodNotAllowed(call)
  }
  return mailboxItem(call, list, rest[0]!)
}

/** GET, PATCH or DELETE of one message or event in a mailbox list. */
const mailboxItem = (call: Call, list: Array<Json>, id: string): ItemAnswer => {
  const found = list.find((item) => item["id"] === id)
  if (found === undefined) return errorAnswer(404, "ErrorItemNotFound", "The specified object was not found in the store.", call.stamp)
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
