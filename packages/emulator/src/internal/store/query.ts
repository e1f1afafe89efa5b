/**
 * OData query options the store understands: `$select`, `$top` with `$skiptoken` pages, `$count`,
 * and a small `$filter` grammar over users.
 *
 * @internal
 */
import type { ItemAnswer } from "../responses.js"
import { badRequest, type Call, type Json, ok } from "./state.js"

/** Page tokens: opaque to clients (base64url of a small JSON array), checked when read back. @internal */
export const encodeToken = (parts: ReadonlyArray<string | number>): string =>
  btoa(JSON.stringify(parts)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

/** @internal */
export const decodeToken = (token: string, kind: string): ReadonlyArray<number> | undefined => {
  try {
    const parts: unknown = JSON.parse(atob(token.replace(/-/g, "+").replace(/_/g, "/")))
    if (!Array.isArray(parts) || parts[0] !== kind) return undefined
    const numbers = parts.slice(1)
    return numbers.every((n) => Number.isSafeInteger(n) && n >= 0) ? numbers as Array<number> : undefined
  } catch {
    return undefined
  }
}

const selections = new Map<string, ReadonlyArray<string>>()

/** The fields a `$select` names, split once per distinct text (a run repeats the same few). */
const selectedFields = (chosen: string): ReadonlyArray<string> => {
  let fields = selections.get(chosen)
  if (fields === undefined) {
    fields = chosen.split(",").map((f) => f.trim()).filter((f) => f !== "")
    if (selections.size >= 1_024) selections.clear()
    selections.set(chosen, fields)
  }
  return fields
}

/** `$select`, else `defaults` (with the id); `context` as `@odata.context` when given. @internal */
export const select = (object: Json, query: URLSearchParams, defaults: ReadonlyArray<string>, context?: string): Json => {
  const chosen = query.get("$select")
  const fields = chosen === null ? defaults : selectedFields(chosen)
  const out: Json = context === undefined ? {} : { "@odata.context": context }
  const keys = Object.keys(object)
  for (const field of fields) {
    const match = keyOf(keys, field) ?? field
    out[match] = object[match] ?? null
  }
  if (!("id" in out) && chosen === null) out["id"] = object["id"]
  return out
}

/** The first of `keys` equal to `field` but for case (a key of another length never is). */
const keyOf = (keys: ReadonlyArray<string>, field: string): string | undefined => {
  let lower: string | undefined
  for (const key of keys) {
    if (key.length !== field.length) continue
    if (key === field || key.toLowerCase() === (lower ??= field.toLowerCase())) return key
  }
  return undefined
}

/** `$top`: 100 by default, 1 to 999 (Graph's bounds for users); otherwise the 400 Graph gives. @internal */
export const pageSize = (call: Call): number | ItemAnswer => {
  const topText = call.url.query.get("$top")
  const top = topText === null ? 100 : Number(topText)
  return Number.isInteger(top) && top >= 1 && top <= 999
    ? top
    : badRequest(call, "Request_BadRequest", `Invalid page size specified: '${topText}'. Must be between 1 and 999 inclusive.`)
}

/** One page of a list: `$top` items from the `$skiptoken`'s offset, with a next link while more remain. @internal */
export const page = (call: Call, all: ReadonlyArray<Json>, shape: (j: Json) => Json, context: string, path: string): ItemAnswer => {
  const q = call.url.query
  const top = pageSize(call)
  if (typeof top !== "number") return top
  const skipText = q.get("$skiptoken")
  const skip = skipText === null ? 0 : decodeToken(skipText, "o")?.[0]
  if (skip === undefined) return badRequest(call, "Request_BadRequest", "Invalid $skiptoken.")
  const slice = all.slice(skip, skip + top)
  const body: Json = { "@odata.context": context }
  if (q.get("$count") === "true") body["@odata.count"] = all.length
  if (skip + top < all.length) {
    // Spaces as %20, never '+': the emulator reads a '+' in a query as a plus sign, as Graph does.
    const params: Array<string> = []
    for (const [k, v] of q) if (k !== "$skiptoken") params.push(`${k}=${encodeURIComponent(v)}`)
    params.push(`$skiptoken=${encodeToken(["o", skip + top])}`)
    body["@odata.nextLink"] = `${call.root}/${path}?${params.join("&")}`
  }
  body["value"] = slice.map(shape)
  return ok(body)
}

const filterable = new Set(["id", "userprincipalname", "displayname", "mail", "city", "jobtitle", "department", "accountenabled", "givenname", "surname", "usagelocation"])

type Predicate = (u: Record<string, unknown>) => boolean

/** `field eq|ne 'text'` or `field eq|ne true|false|null`; `undefined` when the clause is not one. */
const equality = (clause: string): Predicate | undefined | "unsupported" => {
  const eq = /^(\w+)\s+(eq|ne)\s+(?:'((?:[^']|'')*)'|(true|false|null))$/i.exec(clause)
  if (eq === null) return undefined
  const field = eq[1]!.toLowerCase()
  if (!filterable.has(field)) return "unsupported"
  const literal = eq[3] !== undefined ? eq[3].replace(/''/g, "'") : eq[4]!.toLowerCase() === "null" ? null : eq[4]!.toLowerCase() === "true"
  const negate = eq[2]!.toLowerCase() === "ne"
  return (u) => {
    const value = fieldOf(u, field)
    const same = typeof literal === "string" && typeof value === "string"
      ? value.toLowerCase() === literal.toLowerCase()
      : (value ?? null) === literal
    return negate ? !same : same
  }
}

/** `startswith(field,'text')`; `undefined` when the clause is not one. */
const startsWith = (clause: string): Predicate | undefined | "unsupported" => {
  const sw = /^startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)$/i.exec(clause)
  if (sw === null) return undefined
  const field = sw[1]!.toLowerCase()
  if (!filterable.has(field)) return "unsupported"
  const prefix = sw[2]!.replace(/''/g, "'").toLowerCase()
  return (u) => {
    const value = fieldOf(u, field)
    return typeof value === "string" && value.toLowerCase().startsWith(prefix)
  }
}

/**
 * A small `$filter` grammar: `field eq 'text'`, `field eq true|false|null`, `startswith(field,'text')`,
 * joined with `and` / `or` (no parentheses, `and` binds tighter). Anything else is unsupported.
 *
 * @internal
 */
export const parseFilter = (filter: string): ((user: Record<string, unknown>) => boolean) | undefined => {
  const disjuncts: Array<Array<Predicate>> = []
  for (const or of filter.split(/\s+or\s+/i)) {
    const conjuncts: Array<Predicate> = []
    for (const clause of or.split(/\s+and\s+/i)) {
      const c = clause.trim()
      const predicate = equality(c) ?? startsWith(c)
      if (predicate === undefined || predicate === "unsupported") return undefined
      conjuncts.push(predicate)
    }
    disjuncts.push(conjuncts)
  }
  return (u) => disjuncts.some((all) => all.every((p) => p(u)))
}

const fieldOf = (u: Record<string, unknown>, lowerField: string): unknown => {
  for (const key in u) if (key.toLowerCase() === lowerField) return u[key]
  return undefined
}
