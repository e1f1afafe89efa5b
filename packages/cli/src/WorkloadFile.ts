/**
 * Workload files: JSON (an array of requests, or `{ "requests": [...] }`) or NDJSON (one request per
 * line). Each request is checked with core's `Workload.WorkloadRequest` schema (unknown fields are
 * refused, so a misspelt `dependson` is an error rather than a silently ignored field), then the
 * whole workload with the resolver's own checks (`DependencyResolver.plan`: ids, methods, URLs,
 * headers, bodies, dependencies, cycles, references). Every problem names the file, the line
 * (NDJSON) or index (JSON), the request id when known, and the field.
 *
 * @since 0.1.0
 */
import { DependencyResolver, type ValidationError, Workload } from "@effect-msgraph/core"
import { FileSystem } from "@effect/platform"
import { Either, Effect, ParseResult, Schema } from "effect"
import { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { escape } from "./Output.js"

/**
 * One thing wrong with a workload file.
 *
 * @since 0.1.0
 * @category models
 */
export class Problem extends Schema.Class<Problem>("@effect-msgraph/cli/WorkloadFile/Problem")({
  /** 1-based line, for NDJSON files and JSON syntax errors. */
  line: Schema.optionalWith(Schema.Number, { exact: true }),
  /** 0-based position in the JSON array. */
  index: Schema.optionalWith(Schema.Number, { exact: true }),
  id: Schema.optionalWith(Schema.String, { exact: true }),
  /** The field at fault, as a path (`body`, `dependsOn[1]`, `headers.Content-Type`). */
  field: Schema.optionalWith(Schema.String, { exact: true }),
  reason: Schema.String
}) {}

/**
 * The file cannot be used: nothing from it is sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidWorkload extends Schema.TaggedError<InvalidWorkload>()("InvalidWorkload", {
  file: Schema.String,
  problems: Schema.Array(Problem)
}) {
  override get message(): string {
    return this.problems.map((p) => describe(this.file, p)).join("\n")
  }
}

/**
 * `file:line`, `file[index]`, then the id, the field and the reason.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (file: string, problem: Problem): string => {
  const where = problem.line !== undefined ? `${file}:${problem.line}` : problem.index !== undefined ? `${file}[${problem.index}]` : file
  const id = problem.id === undefined ? "" : ` (id ${JSON.stringify(problem.id)})`
  const field = problem.field === undefined ? "" : ` field ${problem.field}:`
  return `${where}${id}:${field} ${problem.reason}`
}

/**
 * How the file was read.
 *
 * @since 0.1.0
 * @category models
 */
export type Format = "json" | "ndjson"

/**
 * A parsed, validated workload.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded {
  readonly file: string
  readonly format: Format
  readonly workload: Workload.Workload
  readonly plan: DependencyResolver.Plan
  /** Set by {@link shard}: which part of the file this is, and how many requests the file holds. */
  readonly shard?: { readonly index: number; readonly count: number; readonly total: number }
}

/** At most this many problems are reported; the first ones are the useful ones. */
const maxProblems = 20

const decodeRequest = Schema.decodeUnknownEither(WorkloadRequest, { errors: "all", onExcessProperty: "error" })

const pathText = (path: ReadonlyArray<PropertyKey>): string | undefined => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? String(key) : `.${String(key)}`
  }
  return out === "" ? undefined : out
}

interface Located {
  readonly value: unknown
  readonly line?: number
  readonly index?: number
}

const located = (at: Located, rest: { id?: string; field?: string; reason: string }): Problem =>
  new Problem({
    ...(at.line === undefined ? {} : { line: at.line }),
    ...(at.index === undefined ? {} : { index: at.index }),
    ...(rest.id === undefined ? {} : { id: rest.id }),
    ...(rest.field === undefined ? {} : { field: rest.field }),
    reason: rest.reason
  })

const lineOfPosition = (text: string, position: number): number => {
  let line = 1
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

/** The parser's message quotes the input: at most this many characters of it are kept. */
const maxSyntaxMessage = 120

/**
 * `not valid JSON: ` and the parser's message, escaped (`Output.escape`: the quoted input may hold
 * control characters) and cut to a short excerpt.
 */
const syntaxReason = (error: unknown): string => {
  const message = escape(error instanceof Error ? error.message : String(error))
  return `not valid JSON: ${message.length <= maxSyntaxMessage ? message : `${message.slice(0, maxSyntaxMessage)}...`}`
}

const jsonSyntax = (text: string, error: unknown): Problem => {
  const message = error instanceof Error ? error.message : String(error)
  const position = /position (\d+)/.exec(message)
  return new Problem({
    ...(position === null ? {} : { line: lineOfPosition(text, Number(position[1])) }),
    reason: syntaxReason(error)
  })
}

const splitJson = (text: string): Either.Either<ReadonlyArray<Located>, ReadonlyArray<Problem>> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return Either.left([jsonSyntax(text, error)])
  }
  const list = Array.isArray(parsed)
    ? parsed
    : typeof parsed === "object" && parsed !== null && Array.isArray((parsed as { requests?: unknown }).requests)
    ? (parsed as { requests: Array<unknown> }).requests
    : undefined
  if (list === undefined) {
    return Either.left([new Problem({ reason: "expected an array of requests or an object with a \"requests\" array" })])
  }
  return Either.right(list.map((value, index) => ({ value, index })))
}

const splitNdjson = (text: string): Either.Either<ReadonlyArray<Located>, ReadonlyArray<Problem>> => {
  const out: Array<Located> = []
  const problems: Array<Problem> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim()
    if (raw === "") continue
    try {
      out.push({ value: JSON.parse(raw), line: i + 1 })
    } catch (error) {
      problems.push(new Problem({ line: i + 1, reason: syntaxReason(error) }))
      if (problems.length >= maxProblems) break
    }
  }
  return problems.length > 0 ? Either.left(problems) : Either.right(out)
}

/**
 * NDJSON when the name ends in `.ndjson` or `.jsonl`; otherwise JSON, falling back to NDJSON when the
 * text is not one JSON document but its first line is.
 *
 * @since 0.1.0
 * @category parsing
 */
export const detectFormat = (file: string, text: string): Format => {
  if (/\.(ndjson|jsonl)$/i.test(file)) return "ndjson"
  try {
    JSON.parse(text)
    return "json"
  } catch {
    const first = text.split("\n").find((line) => line.trim() !== "")
    if (first === undefined) return "json"
    try {
      const value = JSON.parse(first)
      return typeof value === "object" && value !== null && !Array.isArray(value) ? "ndjson" : "json"
    } catch {
      return "json"
    }
  }
}

const resolverField = (error: ValidationError.WorkloadError): string => {
  switch (error._tag) {
    case "EmptyRequestId":
    case "DuplicateRequestIds":
      return "id"
    case "UnsupportedMethod":
      return "method"
    case "InvalidHeader":
    case "MissingContentType":
      return "headers"
    case "InvalidBody":
    case "BodyTooDeep":
    case "RequestTooLarge":
      return "body"
    case "UnknownDependency":
    case "DependencyCycle":
      return "dependsOn"
    case "InvalidUrl":
    case "ForeignHost":
    case "VersionMismatch":
    case "NestedBatch":
    case "InvalidReference":
      return "url"
  }
}

const resolverProblems = (error: ValidationError.WorkloadError, items: ReadonlyArray<Located>, workload: Workload.Workload): Array<Problem> => {
  const field = resolverField(error)
  const reason = error.message
  if (error._tag === "EmptyRequestId") {
    return error.indices.slice(0, maxProblems).map((i) => located(items[i] ?? { value: undefined }, { field, reason: "the id is empty" }))
  }
  const byId = new Map<string, number>()
  workload.forEach((request, i) => {
    const key = request.id.toLowerCase()
    if (!byId.has(key)) byId.set(key, i)
  })
  const ids = error._tag === "DuplicateRequestIds" ? error.groups.flatMap((g) => g.slice(1)) : error.ids
  const seen = new Set<string>()
  const out: Array<Problem> = []
  for (const id of ids) {
    if (seen.has(id) || out.length >= maxProblems) continue
    seen.add(id)
    const i = error._tag === "DuplicateRequestIds"
      ? workload.findIndex((r, j) => r.id === id && j !== byId.get(id.toLowerCase()))
      : byId.get(id.toLowerCase())
    out.push(located(i === undefined || i < 0 ? { value: undefined } : items[i]!, { id, field, reason }))
  }
  return out.length > 0 ? out : [new Problem({ field, reason })]
}

/**
 * Parses and validates a workload from text. `file` is used for the format and in messages only;
 * the plan is made with `planning` (the resolver's defaults without it).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  file: string,
  text: string,
  planning?: DependencyResolver.DependencyResolver.Options
): Either.Either<Loaded, InvalidWorkload> => {
  const format = detectFormat(file, text)
  const invalid = (problems: ReadonlyArray<Problem>) => Either.left(new InvalidWorkload({ file, problems }))
  const split = format === "ndjson" ? splitNdjson(text) : splitJson(text)
  if (Either.isLeft(split)) return invalid(split.left)
  const items = split.right
  if (items.length === 0) return invalid([new Problem({ reason: "the workload has no requests" })])
  const workload: Array<WorkloadRequest> = []
  const problems: Array<Problem> = []
  for (const item of items) {
    const decoded = decodeRequest(item.value)
    if (Either.isRight(decoded)) {
      workload.push(decoded.right)
      continue
    }
    const value = item.value as { id?: unknown } | null
    const id = typeof value === "object" && value !== null && typeof value.id === "string" ? value.id : undefined
    for (const issue of ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) {
      if (problems.length >= maxProblems) break
      const field = pathText(issue.path)
      problems.push(located(item, {
        ...(id === undefined ? {} : { id }),
        ...(field === undefined ? {} : { field }),
        reason: issue._tag === "Unexpected" && field !== undefined ? "unknown field" : issue.message
      }))
    }
    if (problems.length >= maxProblems) break
  }
  if (problems.length > 0) return invalid(problems)
  const planned = DependencyResolver.plan(workload, planning)
  if (Either.isLeft(planned)) return invalid(resolverProblems(planned.left, items, workload))
  return Either.right({ file, format, workload, plan: planned.right })
}

/**
 * Reads a file and {@link parse}s it (planned with `planning`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const load = (
  file: string,
  planning?: DependencyResolver.DependencyResolver.Options
): Effect.Effect<Loaded, InvalidWorkload, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((error) => new InvalidWorkload({ file, problems: [new Problem({ reason: `cannot read the file: ${error.message}` })] }))
    )
    return yield* parse(file, text, planning)
  }).pipe(Effect.withSpan("WorkloadFile.load", { attributes: { file } }))

/**
 * `--shard i/n`: two whole numbers separated by a slash. The range (`1 <= i <= n`) is checked by
 * {@link shard}.
 *
 * @since 0.1.0
 * @category sharding
 */
export const parseShard = (text: string): Either.Either<{ readonly index: number; readonly count: number }, string> => {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text)
  return match === null
    ? Either.left(`--shard must be i/n, such as 2/4 (the 2nd of 4 parts), got ${text}`)
    : Either.right({ index: Number(match[1]), count: Number(match[2]) })
}

/**
 * Part `index` of `count` of a loaded file (`Workload.shard`), planned on its own (with `planning`).
 * The whole file was validated, and a part holds every request its requests depend on, so the part
 * plans too.
 *
 * @since 0.1.0
 * @category sharding
 */
export const shard = (
  loaded: Loaded,
  index: number,
  count: number,
  planning?: DependencyResolver.DependencyResolver.Options
): Either.Either<Loaded, Workload.InvalidShard> =>
  Either.map(Workload.shard(loaded.workload, index, count), (workload) => ({
    file: loaded.file,
    format: loaded.format,
    workload,
    plan: Either.getOrThrowWith(DependencyResolver.plan(workload, planning), (e) => new Error(`a shard of a valid workload did not plan: ${e.message}`)),
    shard: { index, count, total: loaded.workload.length }
  }))
