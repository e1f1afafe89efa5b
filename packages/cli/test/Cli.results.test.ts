import { OutcomeRecord } from "@effect-msgraph/core"
import { Emulator } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import { main } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-results-"))
const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}
const ndjson = (requests: ReadonlyArray<object>) => requests.map((r) => JSON.stringify(r)).join("\n")

const mixed = write("mixed.ndjson", ndjson([
  { id: "me", method: "GET", url: "/me" },
  { id: "ghost", method: "GET", url: "/users/nobody@contoso.onmicrosoft.com" },
  { id: "after-ghost", method: "GET", url: "/users/{{ghost#/body/id}}" },
  {
    id: "create",
    method: "POST",
    url: "/users",
    body: { accountEnabled: true, displayName: "Ada", mailNickname: "ada", userPrincipalName: "ada@contoso.onmicrosoft.com" }
  }
]))
const reads = (n: number) => write(`reads-${n}.ndjson`, ndjson(Array.from({ length: n }, (_, i) => ({ id: `r${i}`, method: "GET", url: "/me" }))))


interface Line {
  readonly id: string
  readonly status: number
  readonly attempts: number
  readonly error?: { readonly tag: string; readonly code: string | null; readonly message: string; readonly dependency?: string }
  readonly headers?: Record<string, string>
  readonly body?: unknown
}
const linesOf = (text: string): Array<Line> => text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))

describe("msgraph-batch --out", () => {
  it.live("simulate --out FILE: one line per request with id, status, Graph's error, the headers and the body; the report stays on stdout", () =>
    Effect.gen(function*() {
      const out = path.join(dir, "mixed-results.ndjson")
      const result = yield* main("simulate", mixed, "--out", out)
      assert.strictEqual(result.code, 1)
      assert.include(result.stdout, "Requests")
      const byId = new Map(linesOf(fs.readFileSync(out, "utf8")).map((l) => [l.id, l]))
      assert.deepStrictEqual([...byId.keys()].sort(), ["after-ghost", "create", "ghost", "me"])
      const created = byId.get("create")!
      assert.strictEqual(created.status, 201)
      assert.include(created.headers!.location, (created.body as { id: string }).id)
      assert.match(created.headers!["request-id"]!, /\S/)
      assert.match(created.headers!["client-request-id"]!, /\S/)
      assert.deepInclude(byId.get("ghost"), { status: 404 })
      assert.deepInclude(byId.get("ghost")!.error, { tag: "GraphRequestError", code: "Request_ResourceNotFound" })
      assert.deepInclude(byId.get("after-ghost"), { status: 424, attempts: 0 })
      assert.deepInclude(byId.get("after-ghost")!.error, { tag: "DependencyFailed", dependency: "ghost" })
    }))

  it.live("simulate --out -: standard output holds only the lines, and the report goes to standard error", () =>
    Effect.gen(function*() {
      const result = yield* main("simulate", reads(50), "--out", "-", "--json")
      assert.strictEqual(result.code, 0)
      const lines = linesOf(result.stdout)
      assert.strictEqual(lines.length, 50)
      assert.strictEqual(new Set(lines.map((l) => l.id)).size, 50)
      assert.strictEqual(JSON.parse(result.stderr).succeeded, 50)
    }))

  it.live("run --out FILE against serve: every outcome once, and no token in the file", () =>
    Effect.gen(function*() {
      const out = path.join(dir, "run-results.ndjson")
      const result = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) => main("run", mixed, "--endpoint", url, "--out", out))
      assert.strictEqual(result.code, 1)
      const text = fs.readFileSync(out, "utf8")
      assert.deepStrictEqual(linesOf(text).map((l) => l.id).sort(), ["after-ghost", "create", "ghost", "me"])
      // `run` sends this static token to a loopback endpoint
      assert.notInclude(text, "loopback-emulator")
      assert.notMatch(text, /authorization|bearer/i)
    }))

  it.live("run --out into a directory that does not exist: exit 2, nothing sent", () =>
    Effect.gen(function*() {
      const result = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) =>
        Effect.zip(main("run", mixed, "--endpoint", url, "--out", path.join(dir, "missing", "out.ndjson")), Emulator.report))
      assert.strictEqual(result[0].code, 2)
      assert.include(result[0].stderr, "cannot write results")
      assert.include(result[0].stderr, "Nothing was sent.")
      assert.strictEqual(result[1].requests, 0)
    }))

  it.live.skipIf(!fs.existsSync("/dev/full"))("run stops sending once its results cannot be written (a full disk): exit 1, the rest not run", () =>
    Effect.gen(function*() {
      const result = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) =>
        Effect.zip(main("run", reads(2_000), "--endpoint", url, "--out", "/dev/full", "--json"), Emulator.report))
      const [run, audit] = result
      assert.strictEqual(run.code, 1)
      assert.include(run.stderr, "cannot write results to /dev/full")
      const report = JSON.parse(run.stdout)
      assert.isAbove(report.notRun, 0)
      assert.isBelow(audit.requests, 2_000)
    }))
})

describe("docs/cli.md results example", () => {
  it("every example line is a record the OutcomeRecord schema reads", () => {
    const page = fs.readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8")
    const section = page.slice(page.indexOf("## Results (`--out`)"), page.indexOf("## Shards (`--shard`)"))
    const block = /```json\n([\s\S]*?)```/.exec(section)![1]!
    const lines = block.trim().split("\n")
    assert.strictEqual(lines.length, 3)
    for (const text of lines) Schema.decodeUnknownSync(OutcomeRecord.OutcomeRecord, { onExcessProperty: "error" })(JSON.parse(text))
  })
})
