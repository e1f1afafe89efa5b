/**
 * Teams: channel messages (`teams/{id}/channels/{id}/messages`) and chat messages
 * (`chats/{id}/messages`), each a keyed list that can be read and posted to.
 *
 * @internal
 */
import { jsonHeaders, type ItemAnswer } from "../responses.js"
import { page } from "./query.js"
import { badRequest, type Call, isObject, type Json, methodNotAllowed, type State } from "./state.js"

/** A keyed list of messages: GET pages it, POST appends a message. @internal */
export const messageList = (state: State, call: Call, store: Map<string, Array<Json>>, key: string, context: string): ItemAnswer => {
  if (call.method === "GET") {
    return page(call, store.get(key) ?? [], (j) => j, context, call.url.path)
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
  state.push(store, key, message)
  return { status: 201, headers: jsonHeaders(), body: { "@odata.context": context + "/$entity", ...message } }
}
