/**
 * Parsing of the relative URLs Graph items carry, and the emulator's own idea of which Graph service
 * a path belongs to (used for latency, faults, the Outlook batch rule and the SharePoint headers).
 *
 * @internal
 */
import type { ServiceName } from "../Latency.js"

/** A relative Graph URL split into path segments and query. @internal */
export interface ParsedUrl {
  /** The path without the leading slash and without the query, e.g. `users/abc/messages`. */
  readonly path: string
  readonly segments: ReadonlyArray<string>
  /** The segments in lower case, for case-insensitive routing. */
  readonly lower: ReadonlyArray<string>
  /** Read only: a parsed URL is shared by every request of the same URL (see {@link routeOf}). */
  readonly query: URLSearchParams
}

/** @internal */
export const parseRelative = (url: string): ParsedUrl => {
  const trimmed = url.startsWith("/") ? url.slice(1) : url
  const q = trimmed.indexOf("?")
  const rawPath = q === -1 ? trimmed : trimmed.slice(0, q)
  const rawQuery = q === -1 ? "" : trimmed.slice(q + 1)
  const path = rawPath.replace(/\/+$/, "")
  const segments = path === "" ? [] : path.split("/").map(safeDecode)
  // a '+' in the query is a space, as Graph reads it (form encoders send spaces so; a plus is %2B)
  return { path, segments, lower: segments.map((s) => s.toLowerCase()), query: new URLSearchParams(rawQuery) }
}

/** A request URL parsed, and the service its path belongs to. @internal */
export interface Route {
  /** The URL, one string for every request of it (audit entries keep it). */
  readonly url: string
  readonly parsed: ParsedUrl
  readonly service: Service
}

const routes = new Map<string, Route>()
const routeCacheSize = 4_096

/**
 * {@link parseRelative} and {@link serviceOf} of a URL, once per URL: both are pure, and a run
 * sends the same URL many times (a million reads of one user, say). The parsed URL is shared, so
 * nothing may change it.
 *
 * @internal
 */
export const routeOf = (url: string): Route => {
  let route = routes.get(url)
  if (route === undefined) {
    const parsed = parseRelative(url)
    route = { url, parsed, service: serviceOf(parsed.segments) }
    if (routes.size >= routeCacheSize) routes.clear()
    routes.set(url, route)
  }
  return route
}

const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Whether a batch item's URL is absolute (Graph requires relative URLs in a batch). @internal */
export const isAbsoluteUrl = (url: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith("//")

/** Whether a URL addresses the `$batch` endpoint (nested batches are refused). @internal */
export const isBatchUrl = (url: string): boolean => {
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  return /(^|\/)(\$|%24)batch(\/|$)/i.test(path)
}

/**
 * The services the emulator distinguishes (`Latency.ServiceName`). They name the latency and fault
 * models and decide the Outlook and SharePoint behaviours; limits themselves come from the
 * catalogue's demands.
 *
 * @internal
 */
export type Service = ServiceName

const outlookSegments = new Set([
  "messages",
  "mailfolders",
  "sendmail",
  "events",
  "calendar",
  "calendars",
  "calendarview",
  "calendargroups",
  "contacts",
  "contactfolders",
  "outlook",
  "photo",
  "photos",
  "people",
  "inferenceclassification",
  "mailboxsettings"
])

const identityRoots = new Set([
  "users",
  "groups",
  "applications",
  "serviceprincipals",
  "directoryobjects",
  "subscribedskus",
  "devices",
  "organization",
  "domains",
  "contracts",
  "oauth2permissiongrants",
  "directoryroles",
  "directoryroletemplates",
  "getobjectsbyid",
  "me",
  "grouplifecyclepolicies",
  "groupsettings",
  "groupsettingtemplates"
])

/** @internal */
export const serviceOf = (segments: ReadonlyArray<string>): Service => {
  if (segments.length === 0) return "graph"
  const lower = segments.map((s) => s.toLowerCase())
  const root = lower[0]!
  if (root === "teams" || root === "chats" || root === "teamwork" || root === "appcatalogs") return "teams"
  if (root === "drives" || root === "sites" || root === "shares") return "files"
  if (lower.includes("onenote")) return "onenote"
  if (lower.includes("insights")) return "insights"
  if (root === "users" || root === "me" || root === "groups") {
    const rest = root === "me" ? lower.slice(1) : lower.slice(2)
    const first = rest[0]
    if (first === undefined) return "identity"
    if (first === "drive" || first === "drives") return "files"
    if (first === "chats" || first === "teamwork" || first === "joinedteams" || first === "team") return "teams"
    if (outlookSegments.has(first) || (first.startsWith("mailfolders"))) return "outlook"
    return "identity"
  }
  if (identityRoots.has(root)) return "identity"
  return "graph"
}

/**
 * The mailbox an Outlook path addresses: the user or group id after `users/` or `groups/`, or the
 * acting user for `me/`.
 *
 * @internal
 */
export const mailboxOf = (segments: ReadonlyArray<string>, actingUser: string): string | undefined => {
  const root = segments[0]?.toLowerCase()
  if (root === "me") return actingUser
  if ((root === "users" || root === "groups") && segments[1] !== undefined) return segments[1].toLowerCase()
  return undefined
}
