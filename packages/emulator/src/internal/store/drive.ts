/**
 * Drive items of a user's drive or of `drives/{id}`: uploads by path or by item id (`PUT
 * .../content`, content kept as its size only), and reads of an item's metadata by path or id.
 *
 * @internal
 */
import { errorAnswer, jsonHeaders, type ItemAnswer } from "../responses.js"
import { type Call, generic, type Json, ok, type State } from "./state.js"

const bodySize = (body: unknown): number =>
  body instanceof Uint8Array
    ? body.length
    : typeof body === "string"
    ? body.length
    : body === undefined
    ? 0
    : JSON.stringify(body).length

const itemNotFound = (call: Call): ItemAnswer => errorAnswer(404, "itemNotFound", "The resource could not be found.", call.stamp)

/** `rest`: the segments after the drive (`root:/a/b.txt:/content`, `items/{id}`, ...). @internal */
export const drive = (state: State, call: Call, driveKey: string, rest: ReadonlyArray<string>): ItemAnswer => {
  // root:/path/to/file.txt:/content  (the colon syntax arrives split into segments)
  const joined = rest.join("/")
  const upload = /^(?:root:\/(.+):\/content|items\/([^/]+):\/(.+):\/content|items\/([^/]+)\/content)$/i.exec(joined)
  if (upload !== null && call.method === "PUT") {
    const path = upload[1] ?? (upload[3] !== undefined ? `${upload[2]}/${upload[3]}` : undefined)
    const key = path !== undefined ? `${driveKey}:${path.toLowerCase()}` : `${driveKey}:#${upload[4]}`
    const existing = state.driveItems.get(key)
    if (existing === undefined && state.driveItems.size >= state.options.capacity) {
      return errorAnswer(507, "quotaLimitReached", "The emulator's object capacity has been reached.", call.stamp)
    }
    const name = path !== undefined ? path.split("/").pop()! : String(existing?.["name"] ?? upload[4])
    const item: Json = {
      id: existing?.["id"] ?? call.newId(),
      name,
      size: bodySize(call.body),
      file: { mimeType: "application/octet-stream" },
      lastModifiedDateTime: new Date(call.stamp.now).toISOString()
    }
    state.driveItems.set(key, item)
    return { status: existing === undefined ? 201 : 200, headers: jsonHeaders(), body: item }
  }
  const meta = /^root:\/(.+?):?$/i.exec(joined)
  if (meta !== null && call.method === "GET") {
    const item = state.driveItems.get(`${driveKey}:${meta[1]!.toLowerCase()}`)
    return item === undefined ? itemNotFound(call) : ok(item)
  }
  const byId = /^items\/([^/:]+)$/i.exec(joined)
  if (byId !== null && call.method === "GET") {
    for (const [key, item] of state.driveItems) if (key.startsWith(`${driveKey}:`) && item["id"] === byId[1]) return ok(item)
    return itemNotFound(call)
  }
  return generic(state, call)
}
