/**
 * The Microsoft Teams table and the four sentences after it.
 *
 * Every table row gives a limit per app per tenant and per app across all tenants, and most add a
 * limit per app per tenant per resource (chat or channel; for rows about a whole team, the team).
 * Rows are mapped to the paths of the operations they name; the two "Other ..." rows apply only
 * when no other row matched.
 *
 * @internal
 */
import { entry, type EntryData, per, rate } from "../build.js"
import type { Method } from "../../../LimitCatalog.js"
import { teamsPaths } from "./services.js"

const section = "Microsoft Teams service limits"
const table = "teams.table"

/** Function-like segments that a `{channel}` or `{chat}` capture would otherwise take for an id. */
const allMessages = ["getAllMessages", "allMessages", "getAllRetainedMessages"]
const notAnId: ReadonlyArray<string> = [
  ...allMessages.map((name) => `teams/{team}/channels/${name}/**`),
  ...allMessages.map((name) => `chats/${name}/**`),
  ...allMessages.map((name) => `users/{user}/chats/${name}/**`)
]

interface PerResource {
  readonly quantity: number
  readonly unit: "second" | "minute"
  readonly channel?: readonly [string, ...Array<string>]
  readonly chat?: readonly [string, ...Array<string>]
  readonly team?: readonly [string, ...Array<string>]
}

interface Row {
  readonly slug: string
  /** The row as the seed prints it, cells separated by `|`. */
  readonly text: string
  readonly methods: ReadonlyArray<Method>
  readonly paths: readonly [string, ...Array<string>]
  readonly appTenant: number
  readonly app: number
  readonly perResource?: PerResource
  readonly fallback?: boolean
  readonly except?: ReadonlyArray<string>
  readonly note?: string
}

const label = (text: string): string => text.split("|")[0]!.trim()

const resourceEntries = (row: Row): Array<EntryData> => {
  const resource = row.perResource
  if (resource === undefined) return []
  const kinds: ReadonlyArray<readonly ["channel" | "chat" | "team", "Channel" | "Chat" | "Team"]> = [
    ["channel", "Channel"],
    ["chat", "Chat"],
    ["team", "Team"]
  ]
  return kinds.flatMap(([kind, suffix]) => {
    const paths = resource[kind]
    if (paths === undefined) return []
    return [
      entry({
        id: `teams.${row.slug}.per${suffix}`,
        service: "teams",
        group: table,
        row: `${label(row.text)} (per ${kind})`,
        methods: row.methods,
        paths,
        except: row.except ?? notAnId,
        ...(row.fallback ? { fallback: true } : {}),
        limit: rate(kind, resource.quantity, per(1, resource.unit), { key: ["app", "tenant", kind] }),
        source: `${section}: "${row.text}" (column: Limit per app per tenant per resource(chat/channel))`,
        ...(kind === "team"
          ? { note: "The row concerns a whole team, so the resource is taken to be the team." }
          : {})
      })
    ]
  })
}

const rowEntries = (row: Row): Array<EntryData> => [
  entry({
    id: `teams.${row.slug}.appTenant`,
    service: "teams",
    group: table,
    row: label(row.text),
    methods: row.methods,
    paths: row.paths,
    except: row.except ?? notAnId,
    ...(row.fallback ? { fallback: true } : {}),
    limit: rate("appTenant", row.appTenant, per(1, "second")),
    source: `${section}: "${row.text}" (column: Limit per app per tenant)`,
    ...(row.note !== undefined ? { note: row.note } : {})
  }),
  entry({
    id: `teams.${row.slug}.app`,
    service: "teams",
    group: table,
    row: label(row.text),
    methods: row.methods,
    paths: row.paths,
    except: row.except ?? notAnId,
    ...(row.fallback ? { fallback: true } : {}),
    limit: rate("app", row.app, per(1, "second")),
    source: `${section}: "${row.text}" (column: Limit per app across all tenants)`,
    ...(row.note !== undefined ? { note: row.note } : {})
  }),
  ...resourceEntries(row)
]

const channel = "teams/{team}/channels/{channel}"
const channelTabs = [`${channel}/tabs`, `${channel}/tabs/{tab}`] as const
const chatTabs = ["chats/{chat}/tabs", "chats/{chat}/tabs/{tab}"] as const
const team = ["teams/{team}", "groups/{team}/team"] as const
const oneSecond = (extra: Omit<PerResource, "quantity" | "unit">): PerResource => ({ quantity: 1, unit: "second", ...extra })
const fourPerMinute = (extra: Omit<PerResource, "quantity" | "unit">): PerResource => ({ quantity: 4, unit: "minute", ...extra })

const rows: ReadonlyArray<Row> = [
  { slug: "getTeam", text: "GET team | 30 rps | 600 rps", methods: ["GET"], paths: team, appTenant: 30, app: 600 },
  {
    slug: "getChannel",
    text: "GET channel | 30 rps | 600 rps | 1rps",
    methods: ["GET"],
    paths: [channel, "teams/{team}/primaryChannel"],
    appTenant: 30,
    app: 600,
    perResource: oneSecond({ channel: [channel] })
  },
  {
    slug: "getTab",
    text: "GET tab for channel, chat | 30 rps | 600 rps | 1rps",
    methods: ["GET"],
    paths: [...channelTabs, ...chatTabs],
    appTenant: 30,
    app: 600,
    perResource: oneSecond({ channel: channelTabs, chat: chatTabs })
  },
  {
    slug: "getInstalledAppsUserTeam",
    text: "GET installedApps for user, team | 30 rps | 600 rps",
    methods: ["GET"],
    paths: ["users/{user}/teamwork/installedApps/**", "teams/{team}/installedApps/**"],
    appTenant: 30,
    app: 600
  },
  {
    slug: "getInstalledAppsChat",
    text: "GET installedApps for chat | 30 rps | 600 rps | 1rps",
    methods: ["GET"],
    paths: ["chats/{chat}/installedApps/**"],
    appTenant: 30,
    app: 600,
    perResource: oneSecond({ chat: ["chats/{chat}/installedApps/**"] })
  },
  {
    slug: "getAppCatalogs",
    text: "GET appCatalogs | 30 rps | 600 rps",
    methods: ["GET"],
    paths: ["appCatalogs/**"],
    appTenant: 30,
    app: 600
  },
  {
    slug: "postChannel",
    text: "POST channel | 30 rps | 300 rps | 1rps",
    methods: ["POST"],
    paths: ["teams/{team}/channels"],
    appTenant: 30,
    app: 300,
    perResource: oneSecond({ team: ["teams/{team}/channels"] })
  },
  {
    slug: "postTab",
    text: "POST tab for channel or chat | 30 rps | 300 rps | 1rps",
    methods: ["POST"],
    paths: [`${channel}/tabs`, "chats/{chat}/tabs"],
    appTenant: 30,
    app: 300,
    perResource: oneSecond({ channel: [`${channel}/tabs`], chat: ["chats/{chat}/tabs"] })
  },
  {
    slug: "postInstalledApps",
    text: "POST installedApps for chat, user, team | 30 rps | 300 rps",
    methods: ["POST"],
    paths: ["chats/{chat}/installedApps/**", "users/{user}/teamwork/installedApps/**", "teams/{team}/installedApps/**"],
    appTenant: 30,
    app: 300
  },
  {
    slug: "postAppCatalogs",
    text: "POST appCatalogs | 30 rps | 300 rps",
    methods: ["POST"],
    paths: ["appCatalogs/**"],
    appTenant: 30,
    app: 300
  },
  {
    slug: "patchTeamTab",
    text: "PATCH team, tab | 30 rps | 300 rps",
    methods: ["PATCH"],
    paths: [...team, `${channel}/tabs/{tab}`, "chats/{chat}/tabs/{tab}"],
    appTenant: 30,
    app: 300
  },
  {
    slug: "patchChannel",
    text: "PATCH channel | 30 rps | 300 rps | 1rps",
    methods: ["PATCH"],
    paths: [channel],
    appTenant: 30,
    app: 300,
    perResource: oneSecond({ channel: [channel] })
  },
  {
    slug: "deleteChannel",
    text: "DELETE channel | 15 rps | 150 rps | 1rps",
    methods: ["DELETE"],
    paths: [channel],
    appTenant: 15,
    app: 150,
    perResource: oneSecond({ channel: [channel] })
  },
  {
    slug: "deleteTab",
    text: "DELETE tab for chat, channel | 15 rps | 150 rps | 1rps",
    methods: ["DELETE"],
    paths: [`${channel}/tabs/{tab}`, "chats/{chat}/tabs/{tab}"],
    appTenant: 15,
    app: 150,
    perResource: oneSecond({ channel: [`${channel}/tabs/{tab}`], chat: ["chats/{chat}/tabs/{tab}"] })
  },
  {
    slug: "deleteInstalledApps",
    text: "DELETE installedApps for chat, user, team | 15 rps | 150 rps",
    methods: ["DELETE"],
    paths: ["chats/{chat}/installedApps/**", "users/{user}/teamwork/installedApps/**", "teams/{team}/installedApps/**"],
    appTenant: 15,
    app: 150
  },
  {
    slug: "deleteAppCatalogs",
    text: "DELETE appCatalogs | 15 rps | 150 rps",
    methods: ["DELETE"],
    paths: ["appCatalogs/**"],
    appTenant: 15,
    app: 150
  },
  {
    slug: "getTeamJoinedTeams",
    text: "GET /teams/{team-id}, joinedTeams | 30 rps | 300 rps",
    methods: ["GET"],
    paths: ["teams/{team}", "users/{user}/joinedTeams"],
    appTenant: 30,
    app: 300
  },
  { slug: "postTeams", text: "POST /teams | 10 rps | 100 rps", methods: ["POST"], paths: ["teams"], appTenant: 10, app: 100 },
  {
    slug: "putGroupTeam",
    text: "PUT /groups/{team-id}/team | Six rps | 150 rps",
    methods: ["PUT"],
    paths: ["groups/{team}/team"],
    appTenant: 6,
    app: 150
  },
  {
    slug: "cloneTeam",
    text: "POST /{team-id}/ clone | Six rps | 150 rps",
    methods: ["POST"],
    paths: ["teams/{team}/clone"],
    appTenant: 6,
    app: 150
  },
  {
    slug: "getChannelMessage",
    text: "GET channel message | 20 rps | 200 rps | 1rps",
    methods: ["GET"],
    paths: [`${channel}/messages/**`],
    appTenant: 20,
    app: 200,
    perResource: oneSecond({ channel: [`${channel}/messages/**`] })
  },
  {
    slug: "getChatMessage",
    text: "GET 1:1/group chat message | 20 rps | 200 rps | 1rps",
    methods: ["GET"],
    paths: ["chats/{chat}/messages/**", "users/{user}/chats/{chat}/messages/**"],
    appTenant: 20,
    app: 200,
    perResource: oneSecond({ chat: ["chats/{chat}/messages/**", "users/{user}/chats/{chat}/messages/**"] })
  },
  {
    slug: "postChannelMessage",
    text: "POST channel message | 50 rps | 500 rps | 1rps",
    methods: ["POST"],
    paths: [`${channel}/messages`, `${channel}/messages/{message}/replies`],
    appTenant: 50,
    app: 500,
    perResource: oneSecond({ channel: [`${channel}/messages`, `${channel}/messages/{message}/replies`] })
  },
  {
    slug: "postChatMember",
    text: "POST chat member | 30 rps | 300 rps | 4rpm",
    methods: ["POST"],
    paths: ["chats/{chat}/members", "chats/{chat}/members/add"],
    appTenant: 30,
    app: 300,
    perResource: fourPerMinute({ chat: ["chats/{chat}/members", "chats/{chat}/members/add"] })
  },
  {
    slug: "deleteChatMember",
    text: "Delete chat member | 30 rps | 300 rps | 4rpm",
    methods: ["DELETE"],
    paths: ["chats/{chat}/members/{member}"],
    appTenant: 30,
    app: 300,
    perResource: fourPerMinute({ chat: ["chats/{chat}/members/{member}"] })
  },
  {
    slug: "postChatMessage",
    text: "POST 1:1/group chat message | 20 rps | 200 rps | 1rps",
    methods: ["POST"],
    paths: ["chats/{chat}/messages", "users/{user}/chats/{chat}/messages"],
    appTenant: 20,
    app: 200,
    perResource: oneSecond({ chat: ["chats/{chat}/messages", "users/{user}/chats/{chat}/messages"] })
  },
  {
    slug: "getSchedule",
    text: "GET /teams/{team-id}/schedule and all APIs under this path | 30 rps | 600 rps",
    methods: ["GET"],
    paths: ["teams/{team}/schedule/**"],
    appTenant: 30,
    app: 600
  },
  {
    slug: "postSchedule",
    text: "POST /teams/{team-id}/schedule and all APIs under this path | 30 rps | 300 rps",
    methods: ["POST"],
    paths: ["teams/{team}/schedule/**"],
    appTenant: 30,
    app: 300
  },
  {
    slug: "putSchedule",
    text: "PUT /teams/{team-id}/schedule and all APIs under this path | 30 rps | 300 rps",
    methods: ["PUT"],
    paths: ["teams/{team}/schedule/**"],
    appTenant: 30,
    app: 300
  },
  {
    slug: "teamActivityNotification",
    text: "POST /teams/{team-id}/sendActivityNotification | Five rps | 50 rps",
    methods: ["POST"],
    paths: ["teams/{team}/sendActivityNotification"],
    appTenant: 5,
    app: 50
  },
  {
    slug: "chatActivityNotification",
    text: "POST /chats/{chat-id}/sendActivityNotification | Five rps | 50 rps | 1rps",
    methods: ["POST"],
    paths: ["chats/{chat}/sendActivityNotification"],
    appTenant: 5,
    app: 50,
    perResource: oneSecond({ chat: ["chats/{chat}/sendActivityNotification"] })
  },
  {
    slug: "userActivityNotification",
    text: "POST /users/{user-id}/teamwork/sendActivityNotification | Five rps | 50 rps",
    methods: ["POST"],
    paths: ["users/{user}/teamwork/sendActivityNotification"],
    appTenant: 5,
    app: 50
  },
  {
    slug: "recipientsActivityNotification",
    text: "POST /teamwork/sendActivityNotificationToRecipients | Two rps | 20 rps",
    methods: ["POST"],
    paths: ["teamwork/sendActivityNotificationToRecipients"],
    appTenant: 2,
    app: 20
  },
  {
    slug: "getTeamMembers",
    text: "GET /teams/{team-id}/members | 60 rps | 1200 rps",
    methods: ["GET"],
    paths: ["teams/{team}/members"],
    appTenant: 60,
    app: 1_200
  },
  {
    slug: "postTeamMembers",
    text: "POST /teams/{team-id}/members | 30 rps | 300 rps | 4rpm",
    methods: ["POST"],
    paths: ["teams/{team}/members", "teams/{team}/members/add"],
    appTenant: 30,
    app: 300,
    perResource: fourPerMinute({ team: ["teams/{team}/members", "teams/{team}/members/add"] })
  },
  {
    slug: "getChannels",
    text: "GET /teams/{team-id}/channels | 60 rps | 1200 rps | 1rps",
    methods: ["GET"],
    paths: ["teams/{team}/channels"],
    appTenant: 60,
    app: 1_200,
    perResource: oneSecond({ team: ["teams/{team}/channels"] })
  },
  {
    slug: "getChannelMembers",
    text: "GET /teams/{team-id}/channels/{channel-id}/members | 60 rps | 1200 rps | 1rps",
    methods: ["GET"],
    paths: [`${channel}/members`],
    appTenant: 60,
    app: 1_200,
    perResource: oneSecond({ channel: [`${channel}/members`] })
  },
  {
    slug: "getAllChannelMessages",
    text:
      "Get all channel messages for a team GET teams/{team-id}/channels/getAllMessages GET teams/{team-id}/channels/allMessages | 200rps | 1000rps",
    methods: ["GET"],
    paths: ["teams/{team}/channels/getAllMessages/**", "teams/{team}/channels/allMessages/**"],
    except: [],
    appTenant: 200,
    app: 1_000
  },
  {
    slug: "getAllChatMessages",
    text:
      "Get all chat messages for a user GET users/{user-id}/chats/getAllMessages GET users/{user-id}/chats/allMessages | 200rps | 1000rps",
    methods: ["GET"],
    paths: ["users/{user}/chats/getAllMessages/**", "users/{user}/chats/allMessages/**"],
    except: [],
    appTenant: 200,
    app: 1_000
  },
  {
    slug: "otherGet",
    text: "Other GET API calls for Microsoft Teams | 30 rps | 1500 rps | 1rps",
    methods: ["GET"],
    paths: teamsPaths,
    fallback: true,
    appTenant: 30,
    app: 1_500,
    perResource: oneSecond({ channel: [`${channel}/**`], chat: ["chats/{chat}/**", "users/{user}/chats/{chat}/**"] }),
    note: "Applies only when no other row of the table matched."
  },
  {
    slug: "other",
    text: "Other API calls for Microsoft Teams | 30 rps | 300 rps | 1rps",
    methods: ["POST", "PUT", "PATCH", "DELETE"],
    paths: teamsPaths,
    fallback: true,
    appTenant: 30,
    app: 300,
    perResource: oneSecond({ channel: [`${channel}/**`], chat: ["chats/{chat}/**", "users/{user}/chats/{chat}/**"] }),
    note: "Applies only when no other row of the table matched."
  }
]

const statements: ReadonlyArray<EntryData> = [
  entry({
    id: "teams.team.perApp",
    service: "teams",
    group: "teams.team",
    row: "Requests on a given team",
    paths: ["teams/{team}/**", "groups/{team}/team/**"],
    limit: rate("team", 4, per(1, "second"), { key: ["app", "team"] }),
    source: `${section}: "A maximum of four requests per second per app can be issued on a given team."`,
    note: "Every request under `teams/{id}` counts, including its channels."
  }),
  entry({
    id: "teams.channel.perApp",
    service: "teams",
    group: "teams.conversation",
    row: "Requests on a given channel",
    paths: [`${channel}/**`],
    except: notAnId,
    limit: rate("channel", 1, per(1, "second")),
    source: `${section}: "A maximum of one request per second per app per tenant can be issued on a given channel or chat."`
  }),
  entry({
    id: "teams.chat.perApp",
    service: "teams",
    group: "teams.conversation",
    row: "Requests on a given chat",
    paths: ["chats/{chat}/**", "users/{user}/chats/{chat}/**"],
    except: notAnId,
    limit: rate("chat", 1, per(1, "second")),
    source: `${section}: "A maximum of one request per second per app per tenant can be issued on a given channel or chat."`
  }),
  entry({
    id: "teams.postMessage.perUser",
    service: "teams",
    group: "teams.user",
    row: "POST message in a given chat or channel, per user",
    methods: ["POST"],
    paths: [
      `teams/{team}/channels/{conversation}/messages`,
      `teams/{team}/channels/{conversation}/messages/{message}/replies`,
      "chats/{conversation}/messages",
      "users/{user}/chats/{conversation}/messages"
    ],
    except: notAnId,
    when: { auth: "delegated" },
    limit: rate("user", 1, per(1, "second"), { key: ["user", "conversation"] }),
    source:
      `${section}: "A maximum of one request per second per user can be issued when doing POST message in a given chat or channel (This throttling limit doesn't apply to migration)."`,
    note:
      "Delegated context only. App-only message posting is the migration import, which the page exempts."
  }),
  ...([
    ["teams.chats.perUser.read", "List chats, Get chat", ["GET"], ["chats", "users/{user}/chats", "chats/{chat}", "users/{user}/chats/{chat}"]],
    ["teams.chats.perUser.removeAccess", "chat:removeAllAccessForUser", ["POST"], ["chats/{chat}/removeAllAccessForUser"]]
  ] as const).map(([id, row, methods, paths]) =>
    entry({
      id,
      bucket: "teams.chats.perUser",
      service: "teams",
      group: "teams.user",
      row: `${row}, per user`,
      methods,
      paths,
      except: notAnId,
      limit: rate("user", 5, per(1, "second")),
      source:
        `${section}: "A maximum of five requests per second per user can be issued when doing List chats or Get chat or chat:removeAllAccessForUser"`,
      note:
        "The three operations share one bucket per user. The user is the one in the path, else the signed-in user; in app-only context without a user in the path, the app stands in."
    })
  )
]

/** @internal */
export const teamsEntries: ReadonlyArray<EntryData> = [...rows.flatMap(rowEntries), ...statements]
