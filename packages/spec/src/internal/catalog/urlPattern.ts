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
  if (!text.includes("%")) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

const plus = /\+/g

/** A query name or value: `+` is a space, then percent-decoding. */
const decodeQuery = (text: string): string => decode(text.includes("+") ? text.replace(plus, " ") : text)

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

const schemeAndHost = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i

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
  const withoutHost = pathText.includes("://") ? pathText.replace(schemeAndHost, "") : pathText
  const segments: Array<Segment> = []
  let first = true
  for (const part of withoutHost.split("/")) {
    if (part.length === 0) continue
    const raw = decode(part)
    // only the first segment can be a version prefix
    const version = first && versionPrefixes.has(raw.toLowerCase())
    first = false
    if (!version) segments.push(parseSegment(raw))
  }
  const query = new Map<string, string>()
  if (queryText.length > 0) {
    for (const pair of queryText.split("&")) {
      if (pair.length === 0) continue
      const eq = pair.indexOf("=")
      const key = decodeQuery(eq >= 0 ? pair.slice(0, eq) : pair).trim().toLowerCase()
      const value = decodeQuery(eq >= 0 ? pair.slice(eq + 1) : "").trim()
      if (key.length > 0 && !query.has(key)) query.set(key, value)
    }
  }
  return { segments, query }
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

/**
 * Where each capture of a match was read: the index of its segment, and whether it is a key
 * capture (the segment's raw text, lower case) or a name capture (the segment's name).
 *
 * @internal
 */
export interface CapturePositions {
  readonly at: Readonly<Record<string, number>>
  readonly key: Readonly<Record<string, boolean>>
}

const matchFrom = (
  tokens: ReadonlyArray<Token>,
  ti: number,
  segments: ReadonlyArray<Segment>,
  si: number,
  at: Record<string, number>,
  key: Record<string, boolean>
): boolean => {
  if (ti === tokens.length) return si === segments.length
  const token = tokens[ti]!
  if (token._tag === "Many") {
    for (let next = si; next <= segments.length; next++) {
      if (matchFrom(tokens, ti + 1, segments, next, at, key)) return true
    }
    return false
  }
  if (si === segments.length) return false
  const segment = segments[si]!
  switch (token._tag) {
    case "Literal": {
      const ok = token.prefix ? segment.name.startsWith(token.name) : segment.name === token.name
      return ok && matchFrom(tokens, ti + 1, segments, si + 1, at, key)
    }
    case "One":
      return matchFrom(tokens, ti + 1, segments, si + 1, at, key)
    case "Key":
    case "Any":
    case "OneOf": {
      if (token._tag === "Key" && (segment.call || segment.raw.length === 0)) return false
      if (token._tag === "OneOf" && !token.names.has(segment.name)) return false
      const previousAt = at[token.capture]
      const previousKey = key[token.capture]
      at[token.capture] = si
      key[token.capture] = token._tag === "Key"
      if (matchFrom(tokens, ti + 1, segments, si + 1, at, key)) return true
      if (previousAt === undefined) {
        delete at[token.capture]
        delete key[token.capture]
      } else {
        at[token.capture] = previousAt
        key[token.capture] = previousKey!
      }
      return false
    }
  }
}

/**
 * Matches a compiled pattern against path segments, returning where each capture was read on
 * success. The outcome depends only on each segment's name, whether it is a call and whether its
 * text is empty, which is what lets a classification plan be reused across requests.
 *
 * @internal
 */
export const matchPositions = (
  pattern: Pattern,
  segments: ReadonlyArray<Segment>
): CapturePositions | undefined => {
  const at: Record<string, number> = {}
  const key: Record<string, boolean> = {}
  return matchFrom(pattern.tokens, 0, segments, 0, at, key) ? { at, key } : undefined
}

/**
 * The captured values of a match, read from the segments at the recorded positions.
 *
 * @internal
 */
export const readCaptures = (positions: CapturePositions, segments: ReadonlyArray<Segment>): Captures => {
  const captures: Record<string, string> = {}
  for (const name in positions.at) {
    const segment = segments[positions.at[name]!]!
    captures[name] = positions.key[name] ? segment.raw.toLowerCase() : segment.name
  }
  return captures
}

/**
 * Matches a compiled pattern against path segments, returning the captures on success.
 *
 * @internal
 */
export const matchPattern = (pattern: Pattern, segments: ReadonlyArray<Segment>): Captures | undefined => {
  const positions = matchPositions(pattern, segments)
  return positions === undefined ? undefined : readCaptures(positions, segments)
}

/**
 * The literal vocabulary of some patterns: every segment name a literal or an alternative requires,
 * and every literal prefix. A segment whose name is neither in `names` nor starts with one of
 * `prefixes` matches exactly the tokens any other such segment matches.
 *
 * @internal
 */
export interface Vocabulary {
  readonly names: ReadonlySet<string>
  readonly prefixes: ReadonlyArray<string>
}

/** @internal */
export const vocabularyOf = (patterns: Iterable<Pattern>): Vocabulary => {
  const names = new Set<string>()
  const prefixes = new Set<string>()
  for (const compiled of patterns) {
    for (const token of compiled.tokens) {
      if (token._tag === "Literal") {
        if (token.prefix) prefixes.add(token.name)
        else names.add(token.name)
      } else if (token._tag === "OneOf") {
        for (const name of token.names) names.add(name)
      }
    }
  }
  return { names, prefixes: [...prefixes] }
}

/**
 * A string that is equal for two segment lists exactly when every pattern over the vocabulary
 * matches both the same way (same outcome, captures at the same positions), and when they have
 * the same casts. A segment keeps its name only when the vocabulary can tell it apart; key
 * segments (ids, user principal names) all collapse to the same shape.
 *
 * @internal
 */
export const shapeOf = (vocabulary: Vocabulary, segments: ReadonlyArray<Segment>): string => {
  let shape = ""
  for (const segment of segments) {
    const flags = (segment.call ? 1 : 0) | (segment.cast ? 2 : 0) | (segment.raw.length === 0 ? 4 : 0)
    const name = segment.name
    const named = vocabulary.names.has(name) || vocabulary.prefixes.some((prefix) => name.startsWith(prefix))
    shape += named ? `${flags}${name.length}:${name}` : `${flags}-`
  }
  return shape
}
