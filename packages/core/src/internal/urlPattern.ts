/**
 * Parsing of relative Graph URLs (as they appear in a JSON batch item) and matching of the
 * catalogue's path patterns against them.
 *
 * Pattern grammar (segments separated by `/`, matched case-insensitively):
 *
 * - `messages`: a literal segment name; it also matches a call of that name (`getSmsLog(...)`);
 * - `userExperienceAnalytics*`: a literal prefix;
 * - `{mailbox}`: any key segment (one without parentheses), captured as `mailbox`;
 * - `{api:any}`: any segment, its name (without arguments) captured as `api`;
 * - `{collection|getSmsLog|getPstnCalls}`: one of the listed names, captured;
 * - `*`: any one segment; `**`: any number of segments, including none;
 * - a leading `me` stands for `users/{user}`, as the throttling page says `me/` is equivalent to
 *   `users/{id | userPrincipalName}/`.
 *
 * @internal
 */

/** @internal */
export interface Segment {
  /** The decoded segment text, e.g. `getTeamsUserActivityUserDetail(period='D7')`. */
  readonly raw: string
  /** The name without arguments or `microsoft.graph.` namespace, lower case. */
  readonly name: string
  /** Whether the segment carries an argument list: `name(...)`. */
  readonly call: boolean
  /** Whether the segment is a bare `microsoft.graph.<type>` cast. */
  readonly cast: boolean
}

/** @internal */
export interface ParsedUrl {
  readonly segments: ReadonlyArray<Segment>
  /** Query options with lower-case names; the first occurrence of a name wins. */
  readonly query: ReadonlyMap<string, string>
}

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

const namespacePrefix = "microsoft.graph."

/** @internal */
export const parseSegment = (raw: string): Segment => {
  const open = raw.indexOf("(")
  const call = open > 0 && raw.endsWith(")")
  let name = call ? raw.slice(0, open) : raw
  let cast = false
  if (name.toLowerCase().startsWith(namespacePrefix)) {
    cast = !call
    name = name.slice(name.lastIndexOf(".") + 1)
  }
  return { raw, name: name.toLowerCase(), call, cast }
}

const versionPrefixes = new Set(["v1.0", "beta"])

/**
 * Splits a relative (or absolute) Graph URL into path segments and query options. Tolerates a
 * leading slash, a scheme and host, a version prefix, empty segments and percent-encoding.
 *
 * @internal
 */
export const parseUrl = (url: string): ParsedUrl => {
  let text = url.trim()
  const hash = text.indexOf("#")
  if (hash >= 0) text = text.slice(0, hash)
  const question = text.indexOf("?")
  const pathText = question >= 0 ? text.slice(0, question) : text
  const queryText = question >= 0 ? text.slice(question + 1) : ""
  const withoutHost = pathText.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "")
  const parts = withoutHost.split("/").filter((part) => part.length > 0).map(decode)
  if (parts.length > 0 && versionPrefixes.has(parts[0]!.toLowerCase())) parts.shift()
  const query = new Map<string, string>()
  for (const pair of queryText.split("&")) {
    if (pair.length === 0) continue
    const eq = pair.indexOf("=")
    const key = decode((eq >= 0 ? pair.slice(0, eq) : pair).replace(/\+/g, " ")).trim().toLowerCase()
    const value = decode((eq >= 0 ? pair.slice(eq + 1) : "").replace(/\+/g, " ")).trim()
    if (key.length > 0 && !query.has(key)) query.set(key, value)
  }
  return { segments: parts.map(parseSegment), query }
}

/** @internal */
export const renderPath = (segments: ReadonlyArray<Segment>): string => segments.map((segment) => segment.raw).join("/")

type Token =
  | { readonly _tag: "Literal"; readonly name: string; readonly prefix: boolean }
  | { readonly _tag: "Key"; readonly capture: string }
  | { readonly _tag: "Any"; readonly capture: string }
  | { readonly _tag: "OneOf"; readonly capture: string; readonly names: ReadonlySet<string> }
  | { readonly _tag: "One" }
  | { readonly _tag: "Many" }

/** @internal */
export interface Pattern {
  readonly source: string
  readonly tokens: ReadonlyArray<Token>
}

/** @internal */
export class PatternSyntaxError extends Error {
  constructor(readonly pattern: string, readonly detail: string) {
    super(`Invalid path pattern ${JSON.stringify(pattern)}: ${detail}`)
  }
}

const captureName = /^[A-Za-z][A-Za-z0-9]*$/

const compileToken = (source: string, part: string): Token => {
  if (part === "**") return { _tag: "Many" }
  if (part === "*") return { _tag: "One" }
  if (part.startsWith("{") && part.endsWith("}")) {
    const inner = part.slice(1, -1)
    if (inner.includes("|")) {
      const [capture, ...names] = inner.split("|")
      if (!captureName.test(capture!) || names.length === 0 || names.some((n) => n.length === 0)) {
        throw new PatternSyntaxError(source, `bad alternative capture ${part}`)
      }
      return { _tag: "OneOf", capture: capture!, names: new Set(names.map((n) => n.toLowerCase())) }
    }
    const [capture, mode, ...rest] = inner.split(":")
    if (!captureName.test(capture!) || rest.length > 0 || (mode !== undefined && mode !== "any")) {
      throw new PatternSyntaxError(source, `bad capture ${part}`)
    }
    return mode === "any" ? { _tag: "Any", capture: capture! } : { _tag: "Key", capture: capture! }
  }
  if (part.includes("{") || part.includes("}") || part.length === 0) {
    throw new PatternSyntaxError(source, `bad segment ${JSON.stringify(part)}`)
  }
  const prefix = part.endsWith("*")
  const name = (prefix ? part.slice(0, -1) : part).toLowerCase()
  if (name.includes("*") || name.length === 0) throw new PatternSyntaxError(source, `bad literal ${part}`)
  return { _tag: "Literal", name, prefix }
}

/**
 * Compiles a path pattern. Throws {@link PatternSyntaxError} on malformed patterns: patterns are
 * catalogue data, validated once when the catalogue is built.
 *
 * @internal
 */
export const compilePattern = (source: string): Pattern => {
  const parts = source.split("/").filter((part) => part.length > 0)
  if (parts.length === 0) throw new PatternSyntaxError(source, "empty pattern")
  if (parts[0]!.toLowerCase() === "me") parts.splice(0, 1, "users", "{user}")
  return { source, tokens: parts.map((part) => compileToken(source, part)) }
}

const cacheLimit = 8192
const cache = new Map<string, Pattern>()

/**
 * {@link compilePattern} with a bounded cache: catalogues are matched on every request.
 *
 * @internal
 */
export const pattern = (source: string): Pattern => {
  let compiled = cache.get(source)
  if (compiled === undefined) {
    compiled = compilePattern(source)
    if (cache.size >= cacheLimit) cache.clear()
    cache.set(source, compiled)
  }
  return compiled
}

/** @internal */
export const matchAny = (
  sources: ReadonlyArray<string>,
  segments: ReadonlyArray<Segment>
): Captures | undefined => {
  for (const source of sources) {
    const captures = matchPattern(pattern(source), segments)
    if (captures !== undefined) return captures
  }
  return undefined
}

/** @internal */
export type Captures = Readonly<Record<string, string>>

const matchFrom = (
  tokens: ReadonlyArray<Token>,
  ti: number,
  segments: ReadonlyArray<Segment>,
  si: number,
  captures: Record<string, string>
): boolean => {
  if (ti === tokens.length) return si === segments.length
  const token = tokens[ti]!
  if (token._tag === "Many") {
    for (let next = si; next <= segments.length; next++) {
      if (matchFrom(tokens, ti + 1, segments, next, captures)) return true
    }
    return false
  }
  if (si === segments.length) return false
  const segment = segments[si]!
  switch (token._tag) {
    case "Literal": {
      const ok = token.prefix ? segment.name.startsWith(token.name) : segment.name === token.name
      return ok && matchFrom(tokens, ti + 1, segments, si + 1, captures)
    }
    case "One":
      return matchFrom(tokens, ti + 1, segments, si + 1, captures)
    case "Key":
    case "Any":
    case "OneOf": {
      if (token._tag === "Key" && (segment.call || segment.raw.length === 0)) return false
      if (token._tag === "OneOf" && !token.names.has(segment.name)) return false
      const value = token._tag === "Key" ? segment.raw.toLowerCase() : segment.name
      const previous = captures[token.capture]
      captures[token.capture] = value
      if (matchFrom(tokens, ti + 1, segments, si + 1, captures)) return true
      if (previous === undefined) delete captures[token.capture]
      else captures[token.capture] = previous
      return false
    }
  }
}

/**
 * Matches a compiled pattern against path segments, returning the captures on success.
 *
 * @internal
 */
export const matchPattern = (pattern: Pattern, segments: ReadonlyArray<Segment>): Captures | undefined => {
  const captures: Record<string, string> = {}
  return matchFrom(pattern.tokens, 0, segments, 0, captures) ? captures : undefined
}
