// What the commands print about failures and outside text: every failure with its reason, and
// nothing a terminal would act on.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import { exec } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-batch-output-"))
const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

/** Control characters other than the line breaks the CLI writes itself, DEL, C1, separators, bidi controls. */
const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/** Text with no raw control character, where no line was started by outside text. */
const assertSafe = (text: string) => {
  assert.notMatch(text, raw)
  for (const line of text.split("\n")) assert.notMatch(line, /^\s*succeeded 999/)
}

const hostileIds = [
  "clear\u001b[2J",
  "title\u001b]0;pwned\u0007",
  "x\nsucceeded 999",
  "c1\u009b31m",
  "rtl\u202egnp.exe",
  "sep\u2028succeeded 999"
]
// every hostile id fails (a missing user), and one request depends on the first of them
const hostile = write(
  "hostile.json",
  JSON.stringify([
    ...hostileIds.map((id, i) => ({ id, method: "GET", url: `/users/nobody-${i}@contoso.onmicrosoft.com` })),
    { id: "after\r\nsucceeded 999", method: "GET", url: "/me", dependsOn: [hostileIds[0]] }
  ])
)

const missingUsers = (n: number) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: `ghost-${i}`, method: "GET", url: `/users/ghost-${i}@contoso.onmicrosoft.com` })))

describe("failures say why", () => {
  it.live("simulate --json lists every failure, with Graph's code and message, and the dependency that failed", () =>
    Effect.gen(function*() {
      const file = write("missing-30.json", JSON.stringify([
        ...JSON.parse(missingUsers(30)),
        { id: "after-ghost", method: "GET", url: "/me", dependsOn: ["ghost-3"] }
      ]))
      const { code, stdout } = yield* exec(Cli.simulate({ file, json: true }))
      assert.strictEqual(code, 1)
      const report = JSON.parse(stdout)
      assert.strictEqual(report.failures.length, 31)
      const ghost = report.failures.find((f: { id: string }) => f.id === "ghost-7")
      assert.deepInclude(ghost, { error: "GraphRequestError", status: 404, code: "Request_ResourceNotFound", attempts: 1, dependency: null })
      assert.include(ghost.message, "ghost-7@contoso.onmicrosoft.com")
      assert.isString(ghost.requestId)
      const after = report.failures.find((f: { id: string }) => f.id === "after-ghost")
      assert.deepInclude(after, { error: "DependencyFailed", status: 404, code: null, dependency: "ghost-3", attempts: 0 })
    }))

  it.live("the table groups failures by error and code with a count, and shows a few examples with their reason", () =>
    Effect.gen(function*() {
      const file = write("missing-30-text.json", missingUsers(30))
      const { stdout } = yield* exec(Cli.simulate({ file }))
      const failures = stdout.slice(stdout.indexOf("Failures (")).trimEnd().split("\n")
      assert.strictEqual(failures[0], "Failures (30, by error and code; --json lists them all):")
      assert.strictEqual(failures[1], "  GraphRequestError 404 Request_ResourceNotFound: 30")
      assert.strictEqual(failures.filter((line) => /^ {4}ghost-\d+: Resource 'ghost-\d+@contoso/.test(line)).length, 5)
      assert.strictEqual(failures.at(-1), "    ... and 25 more")
      assert.strictEqual(failures.length, 8)
    }))

  it.live("run --json against serve lists every failure too, not the first 20", () =>
    Effect.gen(function*() {
      const file = write("missing-25.json", missingUsers(25))
      const { code, stdout } = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) => exec(Cli.run({ file, endpoint: url, json: true })))
      assert.strictEqual(code, 1)
      const report = JSON.parse(stdout)
      assert.strictEqual(report.failures.length, 25)
      for (const f of report.failures) assert.deepInclude(f, { error: "GraphRequestError", status: 404, code: "Request_ResourceNotFound" })
    }))
})

describe("efficiency is null when the ratio says nothing", () => {
  it.live("simulate: a retry after Retry-After took 1 s against a bound of 0, which is no efficiency of 0", () =>
    Effect.gen(function*() {
      const file = write("reads.json", JSON.stringify(Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, method: "GET", url: `/users?$top=1&$skip=${i}` }))))
      // seed 2 of the light profile answers one item 503 with Retry-After: 1
      // no latency: the Retry-After is the only time that passes
      const report = JSON.parse((yield* exec(Cli.simulate({ file, json: true, faults: "light", seed: 2, latency: "none" }))).stdout)
      assert.deepInclude(report, { failed: 0, durationMs: 1_000, durationLowerBoundMs: 0 })
      assert.strictEqual(report.retries, 1)
      assert.isNull(report.efficiency)
    }))

  it.live("run: a real run takes time, and a bound of 0 gives no efficiency", () =>
    Effect.gen(function*() {
      const file = write("me.json", JSON.stringify([{ id: "me", method: "GET", url: "/me" }]))
      // an endpoint that answers at once, and a bound told so
      const { code, stdout } = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) => exec(Cli.run({ file, endpoint: url, json: true, latency: "none" })))
      assert.strictEqual(code, 0)
      const report = JSON.parse(stdout)
      assert.strictEqual(report.durationLowerBoundMs, 0)
      assert.isAbove(report.durationMs, 0) // real time over loopback
      assert.isNull(report.efficiency)
    }))
})

describe("outside text is escaped in everything printed", () => {
  it.live("plan lists hostile ids escaped: no screen clearing, no title, no line of their own", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* exec(Cli.plan({ file: hostile }))
      assert.strictEqual(code, 0)
      assertSafe(stdout + stderr)
      assert.include(stdout, "clear\\u001b[2J")
      assert.include(stdout, "after\\r\\nsucceeded 999")
      assert.include(stdout, "rtl\\u202egnp.exe")
    }))

  it.live("simulate's failure list escapes ids; its --json is valid JSON without raw control characters", () =>
    Effect.gen(function*() {
      const text = yield* exec(Cli.simulate({ file: hostile }))
      assert.strictEqual(text.code, 1)
      assertSafe(text.stdout + text.stderr)
      assert.include(text.stdout, "title\\u001b]0;pwned\\u0007: ")
      assert.include(text.stdout, "after\\r\\nsucceeded 999: not run: its dependency clear\\u001b[2J failed with 404")
      for (const json of [(yield* exec(Cli.simulate({ file: hostile, json: true }))).stdout, (yield* exec(Cli.plan({ file: hostile, json: true }))).stdout]) {
        assert.notMatch(json.trimEnd(), raw)
        const report = JSON.parse(json)
        const failures = (report.predicted ?? report).failures.map((f: { id: string }) => f.id).sort()
        assert.deepStrictEqual(failures, [...hostileIds, "after\r\nsucceeded 999"].sort())
      }
    }))

  it.live("validation reasons and file names are escaped", () =>
    Effect.gen(function*() {
      const file = write(
        "bad\u001b[31m.ndjson",
        `${JSON.stringify({ id: "a\u001b[2J\nsucceeded 999", method: "GET", url: "/me", dependsOn: ["z\u009b\u202e"] })}\n`
      )
      const { code, stderr, stdout } = yield* exec(Cli.simulate({ file }))
      assert.strictEqual(code, 2)
      assert.strictEqual(stdout, "")
      assertSafe(stderr)
      assert.include(stderr, "bad\\u001b[31m.ndjson:1")
      assert.include(stderr, "depend on unknown ids z\\u009b\\u202e")
    }))

  it.live("invalid JSON: the message quotes a short escaped excerpt, never the raw input", () =>
    Effect.gen(function*() {
      const file = write("garbage.json", `\u0000\u001b[2J\u001b]0;pwned\u0007${"A".repeat(100_000)}`)
      const { code, stderr } = yield* exec(Cli.plan({ file }))
      assert.strictEqual(code, 2)
      assertSafe(stderr)
      assert.include(stderr, "not valid JSON")
      assert.isBelow(stderr.length, 400)
    }))

  it.live("a cycle of 10,000 requests is reported in a few short lines", () =>
    Effect.gen(function*() {
      const n = 10_000
      const file = write("ring.json", JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: `r${i}`, method: "GET", url: "/me", dependsOn: [`r${(i + 1) % n}`] }))))
      const { code, stderr } = yield* exec(Cli.plan({ file }))
      assert.strictEqual(code, 2)
      const lines = stderr.trimEnd().split("\n")
      assert.isAtMost(lines.length, 21)
      for (const line of lines) assert.isBelow(line.length, 250)
      assert.include(stderr, "dependency cycle of 10,000 requests: ")
    }))

  it.live("an --endpoint with control characters is escaped in its error", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* exec(Cli.run({ file: hostile, endpoint: "not a url\u001b[2J\nsucceeded 999" }))
      assert.strictEqual(code, 2)
      assertSafe(stderr)
      assert.include(stderr, "not a url\\u001b[2J\\nsucceeded 999")
    }))
})
