/**
 * A request as the catalogue sees it: upper-case method, parsed path with the acting user resolved,
 * parsed query.
 *
 * @internal
 */
import type { ClassifyContext, ClassifyRequest } from "../../LimitCatalog.js"
import { parseSegment, parseUrl, renderPath, type Segment } from "./urlPattern.js"

/** @internal */
export interface NormalisedRequest {
  readonly method: string
  readonly segments: ReadonlyArray<Segment>
  readonly path: string
  readonly query: ReadonlyMap<string, string>
  readonly bodyBytes: number | undefined
  readonly body: unknown
}

/**
 * The acting principal's bucket key: the user's object id, else their UPN, else `me` for an
 * unidentified delegated user, else `app:<appId>` in app-only context. Lower case.
 *
 * @internal
 */
export const actorKey = (context: ClassifyContext): string => {
  const user = context.userId ?? context.userPrincipalName
  if (user !== undefined && user.length > 0) return user.toLowerCase()
  return context.delegated ? "me" : `app:${context.appId.toLowerCase()}`
}

const isActingUser = (value: string, context: ClassifyContext): boolean => {
  const lower = value.toLowerCase()
  return (
    (context.userId !== undefined && context.userId.toLowerCase() === lower) ||
    (context.userPrincipalName !== undefined && context.userPrincipalName.toLowerCase() === lower)
  )
}

/**
 * Parses the URL and rewrites `me/...` and `users/{acting user's id or UPN}/...` to
 * `users/{actor}/...`, so that every way of naming the acting user lands in the same bucket.
 *
 * @internal
 */
export const normaliseRequest = (request: ClassifyRequest, context: ClassifyContext): NormalisedRequest => {
  const parsed = parseUrl(request.url)
  let segments = parsed.segments
  const first = segments[0]
  if (first !== undefined && first.name === "me" && !first.call) {
    segments = [parseSegment("users"), parseSegment(actorKey(context)), ...segments.slice(1)]
  } else if (first !== undefined && first.name === "users" && !first.call) {
    const second = segments[1]
    if (second !== undefined && !second.call && isActingUser(second.raw, context)) {
      segments = [first, parseSegment(actorKey(context)), ...segments.slice(2)]
    }
  }
  return {
    method: request.method.trim().toUpperCase(),
    segments,
    path: renderPath(segments),
    query: parsed.query,
    bodyBytes: request.bodyBytes,
    body: request.body
  }
}
