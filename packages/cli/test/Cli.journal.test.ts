/**
 * `run --journal` and `--resume`: in process against `serve` for the rules, and as a real process
 * killed with SIGKILL at random points for the guarantee: no non-idempotent request runs twice, and
 * every request ends with exactly one outcome.
 */
import { Emulator } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Cli from "../src/Cli.js"
import * as Examples from "../src/Examples.js"
import * as Journal from "../src/Journal.js"
import { exec } from "./utils/exec.js"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const bin = path.join(repo, "packages", "cli", "build", "src", "bin.js")

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-journal-"))
let files = 0
const fresh = (name: string) => path.join(dir, `${files++}-${name}`)
const writeWorkload = (requests: ReadonlyArray<object>) => {
  const file = fresh("workload.json")
  fs.writeFileSync(file, JSON.stringify(requests))
  return file
}

const create = {
  id: "create",
  method: "POST",
  url: "/users",
  body: { accountEnabled: true, displayName: "Ada", mailNickname: "ada", userPrincipalName: "ada@contoso.onmicrosoft.com" }
}
const read = { id: "read", method: "GET", url: "/users/{{create#/body/id}}" }
const rename = { id: "rename", method: "PATCH", url: "/users/{{create#/body/id}}", body: { displayName: "Ada L." }, dependsOn: ["read"] }
const small = [create, read, rename]

interface Line {
  readonly id?: string
  readonly sent?: ReadonlyArray<string>
  readonly journal?: string
  readonly error?: { readonly tag: string }
}
const linesOf = (file: string): Array<Line> =>
  fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Line)
const outcomeIds = (file: string) => linesOf(file).filter((l) => l.id !== undefined).map((l) => l.id!)

const executedBy = (method: string) =>
  Effect.map(Emulator.audit, (entries) => entries.filter((e) => e.executed && e.method === method).map((e) => e.itemId))

const runIn = (url: string, file: string, extra: Partial<Cli.RunOptions> = {}) =>
  exec(Cli.run({ file, endpoint: url, json: true, ...extra }))

describe("msgraph-batch run --journal", () => {
  it.live("writes a header with the workload's hash, a sent line before each call, and one outcome record per request", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        const file = writeWorkload(small)
        const journal = fresh("run.journal")
        const result = yield* runIn(url, file, { journal })
        assert.strictEqual(result.code, 0, result.stderr)
        const lines = linesOf(journal)
        assert.strictEqual(lines[0]!.journal, "msgraph-batch")
        assert.match((lines[0] as { workload: string }).workload, /^sha256:[0-9a-f]{64}$/)
        assert.deepStrictEqual(outcomeIds(journal), ["create", "read", "rename"])
        // every request was recorded as sent before its outcome
        for (const id of ["create", "read", "rename"]) {
          const sentAt = lines.findIndex((l) => l.sent?.includes(id))
          assert.isTrue(sentAt > 0 && sentAt < lines.findIndex((l) => l.id === id), id)
        }
        assert.strictEqual(JSON.parse(result.stdout).journal.file, journal)
      })))

  it.live("--out FILE journals to FILE.journal by default; a journal already there without --resume is exit 2, nothing sent", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        const file = writeWorkload(small)
        const out = fresh("out.ndjson")
        assert.strictEqual((yield* runIn(url, file, { out })).code, 0)
        assert.deepStrictEqual(outcomeIds(`${out}.journal`), ["create", "read", "rename"])
        const again = yield* runIn(url, file, { out })
        assert.strictEqual(again.code, 2)
        assert.include(again.stderr, "already exists: --resume goes on with it")
        assert.deepStrictEqual(yield* executedBy("POST"), ["create"])
      })))

  it.live("--out or --journal naming the workload file, or --out and --journal one file: exit 2, every file as it was, nothing sent", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        const file = writeWorkload(small)
        const bytes = fs.readFileSync(file, "utf8")
        const linked = fresh("link.json")
        fs.symlinkSync(file, linked)
        const out = fresh("out.ndjson")
        for (
          const [extra, message] of [
            [{ out: file }, `--out ${file} is the workload file`],
            [{ out: linked }, `--out ${linked} is the workload file`],
            [{ journal: file }, `--journal ${file} is the workload file`],
            [{ out, journal: out }, `--out and --journal name one file, ${out}`]
          ] as const
        ) {
          const refused = yield* runIn(url, file, extra)
          assert.strictEqual(refused.code, 2, JSON.stringify(extra))
          assert.include(refused.stderr, message)
          assert.include(refused.stderr, "Nothing was sent.")
          assert.strictEqual(fs.readFileSync(file, "utf8"), bytes)
          assert.isFalse(fs.existsSync(out))
        }
        const simulated = yield* exec(Cli.simulate({ file, out: linked }))
        assert.strictEqual(simulated.code, 2)
        assert.include(simulated.stderr, `--out ${linked} is the workload file`)
        assert.strictEqual(fs.readFileSync(file, "utf8"), bytes)
        assert.deepStrictEqual(yield* executedBy("GET"), [])
        assert.deepStrictEqual(yield* executedBy("POST"), [])
      })))

  it.live("--resume refuses a journal of another workload (exit 2, nothing sent), and needs a journal", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        const journal = fresh("run.journal")
        assert.strictEqual((yield* runIn(url, writeWorkload([create]), { journal })).code, 0)
        const other = writeWorkload([{ ...create, body: { ...create.body, displayName: "Bo" } }])
        const refused = yield* runIn(url, other, { journal, resume: true })
        assert.strictEqual(refused.code, 2)
        assert.include(refused.stderr, "belongs to another workload")
        assert.include(refused.stderr, "Nothing was sent.")
        const missing = yield* runIn(url, other, { journal: fresh("none.journal"), resume: true })
        assert.strictEqual(missing.code, 2)
        assert.include(missing.stderr, "there is nothing to resume")
        const nowhere = yield* runIn(url, other, { resume: true })
        assert.strictEqual(nowhere.code, 2)
        assert.include(nowhere.stderr, "--resume needs the journal")
        assert.deepStrictEqual(yield* executedBy("POST"), ["create"])
      })))

  it.live("--resume after a crash: what has an outcome is not sent again, its dependents read its recorded response, a torn last line is cut off", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        const file = writeWorkload(small)
        const journal = fresh("run.journal")
        const out = fresh("out.ndjson")
        assert.strictEqual((yield* runIn(url, file, { journal })).code, 0)
        // as if killed once create had ended: its lines kept, then half a line
        const lines = fs.readFileSync(journal, "utf8").split("\n")
        const createEnded = lines.findIndex((l) => l.startsWith(`{"id":"create"`))
        fs.writeFileSync(journal, `${lines.slice(0, createEnded + 1).filter((l) => !l.includes(`"read"`)).join("\n")}\n{"sent":["re`)
        const resumed = yield* runIn(url, file, { journal, out, resume: true })
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        const report = JSON.parse(resumed.stdout)
        assert.deepInclude(report, { requests: 2, succeeded: 2, failed: 0 })
        assert.deepInclude(report.journal, { resumed: true, earlier: 1, sentWithoutOutcome: 0, unknown: 0 })
        assert.deepStrictEqual(yield* executedBy("POST"), ["create"])
        // the cut journal no longer says rename was sent: it runs again (it had run before the cut)
        assert.deepStrictEqual(yield* executedBy("PATCH"), ["rename", "rename"])
        // the journal reads whole again, and --out has the whole job, the earlier outcome first
        assert.deepStrictEqual(outcomeIds(journal), ["create", "read", "rename"])
        assert.deepStrictEqual(outcomeIds(out), ["create", "read", "rename"])
      })))

  it.live("a paged request: --resume keeps every page in --out, and one stopped between pages is fetched again from its first page", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        const creates = Array.from({ length: 5 }, (_, i) => ({ ...create, id: `c${i}`, body: { ...create.body, mailNickname: `p${i}`, userPrincipalName: `p${i}@contoso.onmicrosoft.com` } }))
        // the acting user and the 5 created, 2 a page: 3 pages
        const dir = { id: "dir", method: "GET", url: "/users?$select=id&$top=2", pages: "all", dependsOn: creates.map((c) => c.id) }
        const file = writeWorkload([...creates, dir])
        const out = fresh("out.ndjson")
        const journal = `${out}.journal`
        const pages = (lines: ReadonlyArray<Line>) => lines.filter((l) => l.id === "dir").map((l) => (l as { page?: number }).page)
        assert.strictEqual((yield* runIn(url, file, { out })).code, 0)
        assert.deepStrictEqual(pages(linesOf(out)), [1, 2, 3])
        // resumed with nothing left to do: --out is written anew from the journal, every page kept
        const done = yield* runIn(url, file, { out, resume: true })
        assert.strictEqual(done.code, 0, done.stderr)
        assert.deepStrictEqual(pages(linesOf(out)), [1, 2, 3])
        assert.strictEqual(linesOf(out).length, 8)
        // as if killed once the first page had ended: the request has not ended, and is sent again
        const lines = fs.readFileSync(journal, "utf8").split("\n")
        const second = lines.findIndex((l) => l.startsWith(`{"id":"dir","page":2`))
        fs.writeFileSync(journal, `${lines.slice(0, second).join("\n")}\n`)
        const resumed = yield* runIn(url, file, { out, resume: true })
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        assert.deepInclude(JSON.parse(resumed.stdout), { requests: 1, succeeded: 1, failed: 0 })
        assert.deepStrictEqual(pages(linesOf(out)), [1, 2, 3])
        assert.strictEqual(linesOf(out).length, 8)
        // the journal now holds the stopped first page and the three of the resend: read again, the
        // job is done, with the resend's pages
        const again = yield* runIn(url, file, { out, resume: true })
        assert.deepInclude(JSON.parse(again.stdout), { requests: 0 })
        assert.deepStrictEqual(pages(linesOf(out)), [1, 2, 3])
        assert.strictEqual(linesOf(out).length, 8)
      })))

  it.live("a resumed run's report bounds and predicts only what it ran, not the outcomes taken from the journal", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        // ten posts to one channel, at most one a second: the whole job cannot take less than 9 s
        const posts = Examples.teamsPosting({ teams: 1, channelsPerTeam: 1, postsPerChannel: 10 })
        const file = writeWorkload(posts)
        const journal = fresh("run.journal")
        // as if an earlier run had ended nine of them
        const header = Journal.makeHeader(Journal.hashWorkload(fs.readFileSync(file)), null)
        const ended = posts.slice(0, 9).map((p) => JSON.stringify({ id: p.id, status: 201, attempts: 1 }))
        fs.writeFileSync(journal, [JSON.stringify(header), JSON.stringify({ sent: posts.slice(0, 9).map((p) => p.id) }), ...ended, ""].join("\n"))
        const resumed = yield* runIn(url, file, { journal, resume: true, latency: "none" })
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        const report = JSON.parse(resumed.stdout)
        assert.deepInclude(report, { requests: 1, succeeded: 1, batches: 1, batchLowerBound: 1, predictedMs: null })
        assert.isAtMost(report.durationLowerBoundMs, report.durationMs)
        assert.deepStrictEqual(yield* executedBy("POST"), [posts[9]!.id])
      })))

  it.live("sent without an outcome: a POST is reported UnknownOutcome and not sent, unless --resend-unknown", () =>
    Cli.serveWith({ port: 0, latency: "none" }, (url) =>
      Effect.gen(function*() {
        const file = writeWorkload(small)
        const journal = fresh("run.journal")
        assert.strictEqual((yield* runIn(url, file, { journal })).code, 0)
        // as if killed once create was sent: the header and its sent line only
        const [header, sent] = fs.readFileSync(journal, "utf8").split("\n")
        const crashed = `${header}\n${sent}\n`
        fs.writeFileSync(journal, crashed)
        const resumed = yield* exec(Cli.run({ file, endpoint: url, journal, resume: true }))
        assert.strictEqual(resumed.code, 1)
        assert.match(resumed.stdout, /^Sent, no outcome\s+1\s+resendable ones sent again; 1 that may not be resent reported UnknownOutcome/m)
        assert.match(resumed.stdout, /UnknownOutcome: 1\n\s+create: POST sent, may or may not have run: sent by an earlier run/)
        assert.deepStrictEqual(yield* executedBy("POST"), ["create"])
        fs.writeFileSync(journal, crashed)
        const resent = yield* runIn(url, file, { journal, resume: true, resendUnknown: true })
        assert.deepInclude(JSON.parse(resent.stdout).journal, { sentWithoutOutcome: 1, unknown: 0, resendUnknown: true })
        assert.deepStrictEqual(yield* executedBy("POST"), ["create", "create"])
      })))
})

/**
 * The built CLI as a child process. With `killAfter`, it is killed with SIGKILL that many
 * milliseconds after its journal (`journal`) first records a send, so kills land while it sends
 * rather than while Node starts.
 */
const runProcess = (args: ReadonlyArray<string>, journal: string, killAfter: number | undefined) =>
  Effect.async<{ readonly code: number | null; readonly stderr: string }>((resume) => {
    const before = fs.existsSync(journal) ? fs.readFileSync(journal, "utf8").split("\n").length : 0
    const child = spawn(process.execPath, [bin, ...args], { cwd: repo, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    let timer: ReturnType<typeof setTimeout> | undefined
    const watch = () => {
      const sent = fs.existsSync(journal) && fs.readFileSync(journal, "utf8").split("\n").length > Math.max(before, 2)
      timer = sent ? setTimeout(() => child.kill("SIGKILL"), killAfter) : setTimeout(watch, 10)
    }
    if (killAfter !== undefined) watch()
    child.on("exit", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, stderr }))
    })
    return Effect.sync(() => {
      clearTimeout(timer)
      child.kill("SIGKILL")
    })
  })

const nonIdempotent = new Set(["POST", "PATCH"])

describe("msgraph-batch run killed and resumed", () => {
  // a small onboarding (2 + 4 x 5 requests, POSTs chained by references), and a read of each new user
  const workload = [
    ...Examples.onboarding(5),
    ...Array.from({ length: 5 }, (_, i) => ({ id: `read-${i}`, method: "GET", url: `/users/{{create-${i}#/body/id}}` }))
  ]
  const file = writeWorkload(workload)

  it.live("SIGKILL at random points, then --resume until done: no non-idempotent request runs twice, each request has one outcome", () =>
    Effect.gen(function*() {
      assert.isTrue(fs.existsSync(bin), `${bin} is missing: run \`npx tsc -b\` first`)
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 2_500 }), { minLength: 1, maxLength: 2 }), (kills) =>
            Effect.runPromise(Cli.serveWith({ port: 0, latency: "realistic" }, (url) =>
              Effect.gen(function*() {
                const out = fresh("out.ndjson")
                const journal = `${out}.journal`
                const args = ["run", file, "--endpoint", url, "--out", out]
                let exit: number | null = null
                for (let attempt = 0; exit !== 0 && exit !== 1; attempt++) {
                  assert.isBelow(attempt, 10, "the job never finished")
                  // killed before its journal existed: nothing was sent, it starts afresh
                  const resume = fs.existsSync(journal) ? ["--resume"] : []
                  const result = yield* runProcess([...args, ...resume], journal, kills[attempt])
                  assert.notStrictEqual(result.code, 2, result.stderr)
                  exit = result.code
                }
                const audit = yield* Emulator.audit
                const runs = new Map<string, number>()
                for (const entry of audit) {
                  if (!entry.executed || !nonIdempotent.has(entry.method)) continue
                  runs.set(entry.clientRequestId, (runs.get(entry.clientRequestId) ?? 0) + 1)
                }
                assert.deepStrictEqual([...runs.values()].filter((n) => n > 1), [], "a non-idempotent request ran twice")
                const ids = workload.map((r) => r.id).sort()
                assert.deepStrictEqual(outcomeIds(out).sort(), ids, "--out: one outcome per request")
                assert.deepStrictEqual(outcomeIds(journal).sort(), ids, "journal: one outcome per request")
              }))).then(() => true)
          ),
          { numRuns: 3 }
        )
      )
    }), 120_000)
})
