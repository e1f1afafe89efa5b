/**
 * `run --journal FILE`: what a run sent and how each request ended, durably, so that `run --resume`
 * can go on after a crash without sending twice what may not be sent twice.
 *
 * The journal is NDJSON, appended to, never rewritten:
 *
 * ```
 * {"journal":"msgraph-batch","version":1,"workload":"sha256:9f2c...","shard":null,"nonce":"5d0e..."}
 * {"sent":["create-0","create-1"]}
 * {"id":"create-0","status":201,"attempts":1,"headers":{...},"body":{...}}
 * ```
 *
 * - the header names the workload by the SHA-256 of its file (and the `--shard` part), and holds the
 *   nonce from which every request's `client-request-id` is derived ({@link correlate}), so that a
 *   request keeps its id across resumes, as it does across retries;
 * - a `sent` line lists the requests of one `$batch` call. It is written before the call leaves the
 *   process; when the call holds a request that may not be resent (a POST, say), it is also synced
 *   to disk first, so no crash can hide such a send. Calls of resendable requests only are not
 *   waited for: resending them does no harm;
 * - an outcome line is the request's `OutcomeRecord`, the line `--out` writes. Outcome lines are
 *   written and synced every {@link Options.intervalMillis} (and whenever a sync happens anyway, or
 *   {@link Options.bufferBytes} are waiting). A page of a paged request that another page follows
 *   also has `"more":true`: the request ends with its last page, and one stopped between pages has
 *   not ended (it is fetched again from its first page, a GET being safe to resend).
 *
 * A crash can leave the last line torn: {@link read} ignores it, and {@link open} cuts it off before
 * appending.
 *
 * @since 0.1.0
 */
import { type GraphClient, OutcomeRecord, type Workload } from "@effect-msgraph/core"
import { FileSystem } from "@effect/platform"
import { Data, Deferred, Effect, Either, Option, Schema, type Scope, Stream } from "effect"
import { createHash, randomBytes } from "node:crypto"
import * as nodeFs from "node:fs"
import * as nodePath from "node:path"
import { json } from "./Output.js"

/**
 * The journal cannot be used: `path` is the file, `reason` what is wrong with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class JournalError extends Data.TaggedError("JournalError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `journal ${this.path}: ${this.reason}`
  }
}

/**
 * The first line of a journal.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Header = Schema.Struct({
  journal: Schema.Literal("msgraph-batch"),
  version: Schema.Literal(1),
  /** `sha256:` and the hex SHA-256 of the workload file's bytes. */
  workload: Schema.String,
  /** The `--shard` part (`i/n`), or `null` for the whole file. */
  shard: Schema.NullOr(Schema.String),
  /** Hex; every `client-request-id` of the job is derived from it. */
  nonce: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type Header = typeof Header.Type

const decodeHeader = Schema.decodeUnknownEither(Header)
const decodeRecord = Schema.decodeUnknownEither(OutcomeRecord.OutcomeRecord)

/**
 * `sha256:` and the hex SHA-256 of a workload file's bytes: what a journal's header names.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hashWorkload = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/**
 * A new header, with a random nonce.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHeader = (workload: string, shard: string | null): Header => ({
  journal: "msgraph-batch",
  version: 1,
  workload,
  shard,
  nonce: randomBytes(16).toString("hex")
})

/**
 * Every request given a `client-request-id` derived from the nonce and its id (a version 4 GUID
 * shape over SHA-256), unless it has one: the same request gets the same id in every run of the
 * journal, so Graph, and the emulator's audit, see a resend after a resume as a resend.
 *
 * @since 0.1.0
 * @category constructors
 */
export const correlate = (workload: Workload.Workload, nonce: string): Workload.Workload =>
  workload.map((request) => {
    if (request.headers !== undefined && Object.keys(request.headers).some((name) => name.toLowerCase() === "client-request-id")) {
      return request
    }
    const h = createHash("sha256").update(nonce).update("\0").update(request.id).digest("hex")
    const guid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
    return { ...request, headers: { ...request.headers, "client-request-id": guid } }
  })

/**
 * What a journal says, read back:
 * - `completed`: every request with an outcome, in the order they ended; a response is kept only
 *   for the requests `read` was told references read (the others keep their status). A paged
 *   request has ended with its last page, and its response is its first page's (what references
 *   read);
 * - `pagedFrom`: for each paged request that ended on a later page, the line of the first page of
 *   the pages it ended with (an earlier, stopped fetch of its pages comes before that line);
 * - `unsettled`: requests sent without an outcome;
 * - `failed`: how many of `completed` failed;
 * - `validBytes`: the length of its complete lines (a torn last line excluded).
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly header: Header | undefined
  readonly completed: ReadonlyArray<GraphClient.Completed>
  readonly pagedFrom: ReadonlyMap<string, number>
  readonly unsettled: ReadonlyArray<string>
  readonly failed: number
  readonly validBytes: number
  readonly torn: boolean
}

const NEWLINE = 10

/**
 * Calls `onLine` with each complete line (text and 1-based number) of the file, streamed; returns
 * the length of those lines in bytes and whether an incomplete (torn) line followed them.
 */
const scan = <E, R>(
  path: string,
  onLine: (text: string, line: number) => Effect.Effect<void, E, R>
): Effect.Effect<{ readonly validBytes: number; readonly torn: boolean }, JournalError | E, FileSystem.FileSystem | R> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const decoder = new TextDecoder()
    let pending: Array<Uint8Array> = []
    let offset = 0
    let line = 0
    // lines may span chunks: the part after a chunk's last newline waits in `pending`
    yield* Stream.runForEach(
      fs.stream(path).pipe(Stream.mapError((e) => new JournalError({ path, reason: e.message }))),
      (chunk) =>
        Effect.gen(function*() {
          let start = 0
          for (let i = 0; i < chunk.length; i++) {
            if (chunk[i] !== NEWLINE) continue
            const part = chunk.subarray(start, i)
            const bytes = pending.length === 0 ? part : Buffer.concat([...pending, part])
            pending = []
            start = i + 1
            yield* onLine(decoder.decode(bytes), ++line)
            offset += bytes.length + 1
          }
          if (start < chunk.length) pending.push(chunk.slice(start))
        })
    )
    return { validBytes: offset, torn: pending.length > 0 }
  })

const parseLine = (path: string, text: string, line: number): Either.Either<unknown, JournalError> =>
  Either.mapLeft(Either.try(() => JSON.parse(text) as unknown), () => new JournalError({ path, reason: `line ${line} is not JSON` }))

/** An outcome line of a page that another page follows (see {@link Writer.outcome}). */
const hasMore = (value: unknown): boolean => typeof value === "object" && value !== null && "more" in value && value.more === true

const isSent = (value: unknown): value is { readonly sent: ReadonlyArray<string> } =>
  typeof value === "object" && value !== null && "sent" in value && Array.isArray(value.sent) &&
  value.sent.every((id: unknown) => typeof id === "string")

/**
 * Reads a journal back (`None` when there is no such file). `keep` says which requests' responses
 * are kept (those that response references read); the others keep only their status. A file that is
 * empty, or holds only a torn header, has no `header`: nothing was sent under it. A line that is
 * neither a header, a `sent` line nor an outcome record fails, unless it is the torn last line.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (
  path: string,
  keep: (id: string) => boolean
): Effect.Effect<Option.Option<State>, JournalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(path).pipe(Effect.mapError((e) => new JournalError({ path, reason: e.message })))
    if (!exists) return Option.none()
    let header: Header | undefined
    const completed = new Map<string, GraphClient.Completed>()
    // paged requests whose pages are being read: the line and record of the first page of the last fetch
    const paging = new Map<string, { readonly line: number; readonly first: OutcomeRecord.OutcomeRecord }>()
    const pagedFrom = new Map<string, number>()
    const sent = new Set<string>()
    let failed = 0
    const { torn, validBytes } = yield* scan(path, (text, line) => {
      if (text.trim() === "") return Effect.void
      return Either.flatMap(parseLine(path, text, line), (value) => {
        if (header === undefined) {
          return Either.match(decodeHeader(value), {
            onLeft: () => Either.left(new JournalError({ path, reason: "not a msgraph-batch journal (its first line is no journal header)" })),
            onRight: (decoded) => {
              header = decoded
              return Either.void
            }
          })
        }
        if (isSent(value)) {
          for (const id of value.sent) sent.add(id)
          return Either.void
        }
        const record = decodeRecord(value)
        if (Either.isLeft(record)) return Either.left(new JournalError({ path, reason: `line ${line} is neither a sent line nor an outcome record` }))
        const key = record.right.id.toLowerCase()
        if (completed.has(key)) return Either.void
        const strip = (r: OutcomeRecord.OutcomeRecord): OutcomeRecord.OutcomeRecord =>
          keep(r.id) ? r : { id: r.id, status: r.status, attempts: 0, ...(r.error === undefined ? {} : { error: r.error }) }
        if (hasMore(value)) {
          // a page that another follows: the request has not ended; a first page starts a fetch
          if (record.right.page === 1) paging.set(key, { line, first: strip(record.right) })
          return Either.void
        }
        // the last page of a fetch that succeeded answers references with its first page
        const fetched = record.right.page !== undefined && record.right.page > 1 ? paging.get(key) : undefined
        paging.delete(key)
        if (fetched !== undefined) pagedFrom.set(key, fetched.line)
        const kept = fetched !== undefined && record.right.error === undefined ? fetched.first : strip(record.right)
        return Either.match(OutcomeRecord.toCompleted(kept), {
          onLeft: (reason) => Either.left(new JournalError({ path, reason: `line ${line}: ${reason}` })),
          onRight: (done) => {
            if (!done.succeeded) failed++
            completed.set(key, done)
            return Either.void
          }
        })
      })
    })
    const unsettled = [...sent].filter((id) => !completed.has(id.toLowerCase()))
    return Option.some({ header, completed: [...completed.values()], pagedFrom, unsettled, failed, validBytes, torn })
  })

/**
 * Every outcome record of a journal, once per request, in the order they were written (a torn last
 * line left out): what `--out` gets again when a run resumes. A paged request that ended has the
 * records of the pages it ended with (from `state.pagedFrom`, as {@link read} found it); one that has
 * not ended has none (the run sends it again).
 *
 * @since 0.1.0
 * @category reading
 */
export const records = <R>(
  path: string,
  onRecord: (record: OutcomeRecord.OutcomeRecord) => Effect.Effect<void, never, R>,
  state: Pick<State, "pagedFrom"> = { pagedFrom: new Map() }
): Effect.Effect<void, JournalError, FileSystem.FileSystem | R> =>
  Effect.gen(function*() {
    const seen = new Set<string>()
    let first = true
    yield* scan(path, (text, line) => {
      if (text.trim() === "") return Effect.void
      if (first) {
        first = false
        return Effect.void
      }
      return Effect.flatMap(parseLine(path, text, line), (value) => {
        const record = decodeRecord(value)
        if (Either.isLeft(record)) return Effect.void
        const key = record.right.id.toLowerCase()
        if (seen.has(key)) return Effect.void
        if (hasMore(value)) {
          const from = state.pagedFrom.get(key)
          return from !== undefined && line >= from ? onRecord(record.right) : Effect.void
        }
        seen.add(key)
        return onRecord(record.right)
      })
    })
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface Writer {
  /**
   * Records the requests of a `$batch` call about to be sent (`GraphClient.RunOptions.onSend`).
   * When one of them may not be resent, it completes only once the line is on disk; once the
   * journal is broken, it never completes, so nothing more is sent.
   */
  readonly sending: (requests: ReadonlyArray<GraphClient.Sending>) => Effect.Effect<void>
  /** Records an outcome (written out with the next sync); a page that another follows with `"more":true`. */
  readonly outcome: (outcome: GraphClient.Outcome) => Effect.Effect<void>
  /** Writes out and syncs what is waiting. */
  readonly flush: Effect.Effect<void>
  /** Completes with the first failed write. */
  readonly failure: Effect.Effect<JournalError>
  /** The first failed write, if any. */
  readonly failed: Effect.Effect<Option.Option<JournalError>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Outcome lines wait at most this long before they are written and synced. Default 200 ms. */
  readonly intervalMillis?: number
  /** Text waiting beyond this many UTF-16 code units is written and synced at once. Default 64 Ki. */
  readonly bufferBytes?: number
}

/**
 * Opens the journal for appending, closed (after a last sync) with the scope. A new journal (no
 * `resume`, or one without a header) is created or emptied and starts with `header`, synced, as is
 * its directory. A resumed one is cut to its complete lines first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (
  path: string,
  header: Header,
  resume: State | undefined,
  options: Options = {}
): Effect.Effect<Writer, JournalError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (e: { readonly message: string }) => new JournalError({ path, reason: e.message })
    const fresh = resume?.header === undefined
    if (!fresh && resume.torn) yield* fs.truncate(path, resume.validBytes).pipe(Effect.mapError(fail))
    const file = yield* fs.open(path, { flag: fresh ? "w" : "a" }).pipe(Effect.mapError(fail))
    const encoder = new TextEncoder()
    if (fresh) {
      yield* file.writeAll(encoder.encode(`${json(header)}
`)).pipe(Effect.zipRight(file.sync), Effect.mapError(fail))
      yield* syncDirectory(path)
    }
    const limit = options.bufferBytes ?? 64 * 1024
    const failure = yield* Deferred.make<JournalError>()
    const lock = yield* Effect.makeSemaphore(1)
    let buffer: Array<string> = []
    let size = 0
    let appended = 0
    let durable = 0
    let broken = false
    const append = (text: string) => {
      buffer.push(text)
      size += text.length
      appended++
    }
    /** Writes and syncs everything appended so far, unless a sync already covered `upTo`. */
    const syncTo = (upTo: number) =>
      lock.withPermits(1)(Effect.suspend(() => {
        if (broken || durable >= upTo) return Effect.void
        const text = buffer.join("")
        const count = appended
        buffer = []
        size = 0
        return file.writeAll(encoder.encode(text)).pipe(
          Effect.zipRight(file.sync),
          Effect.tap(() => void (durable = count)),
          Effect.catchAll((e) => {
            broken = true
            return Deferred.succeed(failure, fail(e))
          }),
          Effect.asVoid
        )
      }))
    const flush = Effect.suspend(() => syncTo(appended))
    yield* Effect.sleep(options.intervalMillis ?? 200).pipe(Effect.zipRight(flush), Effect.forever, Effect.forkScoped)
    yield* Effect.addFinalizer(() => flush)
    return {
      sending: (requests) =>
        Effect.suspend(() => {
          if (broken) return Effect.never
          append(`${json({ sent: requests.map((r) => r.id) })}
`)
          const waited = requests.every((r) => r.resendable) ? (size >= limit ? flush : Effect.void) : syncTo(appended)
          return Effect.zipRight(waited, Effect.suspend(() => (broken ? Effect.never : Effect.void)))
        }),
      outcome: (outcome) =>
        Effect.suspend(() => {
          if (broken) return Effect.void
          const record = OutcomeRecord.fromOutcome(outcome)
          append(`${json(outcome._tag === "Success" && outcome.more === true ? { ...record, more: true } : record)}
`)
          return size >= limit ? flush : Effect.void
        }),
      flush,
      failure: Deferred.await(failure),
      failed: Deferred.poll(failure).pipe(Effect.flatMap((polled) => Option.isNone(polled) ? Effect.succeedNone : Effect.asSome(polled.value)))
    } satisfies Writer
  })

/** A new file's name survives a power loss only once its directory is synced (where the system allows it). */
const syncDirectory = (path: string) =>
  Effect.sync(() => {
    try {
      const fd = nodeFs.openSync(nodePath.dirname(nodePath.resolve(path)), "r")
      try {
        nodeFs.fsyncSync(fd)
      } finally {
        nodeFs.closeSync(fd)
      }
    } catch {
      // some systems cannot sync a directory; the file itself is synced
    }
  })
