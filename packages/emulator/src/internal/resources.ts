/**
 * The emulator's stateful resources: users (with licences), subscribed SKUs, groups and their members,
 * mail, events, Teams channel and chat messages and drive items. Enough of Graph's behaviour for real
 * workflows, with Graph-shaped errors; everything else answers a generic body or 404 as configured.
 *
 * The {@link Store} routes a call to the module of its resource under `store/`: `users`, `licenses`,
 * `groups`, `mailbox`, `teams` and `drive`, which share the collections of `store/state` and the
 * query options of `store/query`.
 *
 * Memory is bounded: each collection holds at most `capacity` objects, and stored file content is
 * kept as its size only.
 *
 * @internal
 */
import { errorAnswer, type ItemAnswer } from "./responses.js"
import { drive } from "./store/drive.js"
import { groupsRoute } from "./store/groups.js"
import { subscribedSkus } from "./store/licenses.js"
import { type Call, generic, State, type StoreOptions } from "./store/state.js"
import { messageList } from "./store/teams.js"
import { usersRoute } from "./store/users.js"

export type { Call, StoreOptions } from "./store/state.js"
export { seededUser } from "./store/state.js"
export { parseFilter } from "./store/query.js"

/** @internal */
export class Store {
  private readonly state: State

  constructor(options: StoreOptions) {
    this.state = new State(options)
    this.notFound = options.notFoundPaths.map((prefix) => prefix.replace(/^\//, "").toLowerCase())
  }

  /** How many users exist (for tests and the CLI). */
  get userCount(): number {
    return this.state.users.size
  }

  handle(call: Call): ItemAnswer {
    const state = this.state
    const seg = call.url.segments
    const lower = call.url.lower
    // `me/...` is `users/{acting user}/...`
    if (lower[0] === "me") {
      const url = { ...call.url, segments: ["users", call.actingUser, ...seg.slice(1)], lower: ["users", call.actingUser.toLowerCase(), ...lower.slice(1)] }
      return this.handle({ ...call, url })
    }
    if (this.configuredNotFound(call.url.path)) {
      return errorAnswer(404, "itemNotFound", "The requested resource doesn't exist.", call.stamp)
    }
    if (lower[0] === "users") return usersRoute(state, call)
    if (lower[0] === "subscribedskus" && call.method === "GET" && seg.length === 1) return subscribedSkus(state, call)
    if (lower[0] === "groups") return groupsRoute(state, call)
    if (lower[0] === "teams" && lower[2] === "channels" && lower[4] === "messages" && seg.length === 5) {
      return messageList(state, call, state.channelMessages, `${seg[1]}/${seg[3]}`, `${call.root}/$metadata#teams('${seg[1]}')/channels('${seg[3]}')/messages`)
    }
    if (lower[0] === "chats" && lower[2] === "messages" && seg.length === 3) {
      return messageList(state, call, state.chatMessages, seg[1]!, `${call.root}/$metadata#chats('${seg[1]}')/messages`)
    }
    if (lower[0] === "drives" && seg[1] !== undefined) return drive(state, call, `drive:${seg[1]}`, seg.slice(2))
    return generic(state, call)
  }

  /** The configured 404 prefixes, without a leading slash and in lower case. */
  private readonly notFound: ReadonlyArray<string>

  private configuredNotFound(path: string): boolean {
    if (this.notFound.length === 0) return false
    const lower = path.toLowerCase()
    return this.notFound.some((prefix) => lower.startsWith(prefix))
  }
}
