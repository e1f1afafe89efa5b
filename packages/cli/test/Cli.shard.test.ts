import { Emulator } from "@effect-msgraph/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import { main } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-shard-"))

// six chains (a user created, then read by the id its creation returned) and six lone reads
const requests = Array.from({ length: 6 }, (_, k) => [
  {
    id: `create-${k}`,
    method: "POST",
    url: "/users",
    body: { accountEnabled: true, displayName: `U${k}`, mailNickname: `u${k}`, userPrincipalName: `u${k}@contoso.onmicrosoft.com` }
  },
  { id: `read-${k}`, method: "GET", url: `/users/{{create-${k}#/body/id}}` },
  { id: `me-${k}`, method: "GET", url: "/me" }
]).flat()
const file = path.join(dir, "chains.ndjson")
fs.writeFileSync(file, requests.map((r) => JSON.stringify(r)).join("\n"))


const idsIn = (out: string) =>
  fs.readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { id: string }).id)

describe("msgraph-batch --shard", () => {
  it.live("simulate --shard i/3 for every i: each request in exactly one shard, chains whole, parts of equal size", () =>
    Effect.gen(function*() {
      const parts: Array<Array<string>> = []
      for (let i = 1; i <= 3; i++) {
        const out = path.join(dir, `part-${i}.ndjson`)
        const result = yield* main("simulate", file, "--shard", `${i}/3`, "--out", out, "--json")
        // a part missing a chain's first request would not even validate (exit 2), nor resolve its reference
        assert.strictEqual(result.code, 0)
        assert.include(result.stderr, `shard ${i}/3, 6 of 18 requests`)
        assert.strictEqual(JSON.parse(result.stdout).settings.shard, `${i}/3`)
        parts.push(idsIn(out))
      }
      const all = parts.flat()
      assert.strictEqual(all.length, 18)
      assert.deepStrictEqual(new Set(all), new Set(requests.map((r) => r.id)))
      for (let k = 0; k < 6; k++) {
        assert.strictEqual(parts.findIndex((p) => p.includes(`create-${k}`)), parts.findIndex((p) => p.includes(`read-${k}`)))
      }
      assert.deepStrictEqual(parts.map((p) => p.length), [6, 6, 6])
    }))

  it.live("plan --shard prints the part's plan and says which part it is", () =>
    Effect.gen(function*() {
      const result = yield* main("plan", file, "--shard", "2/3")
      assert.strictEqual(result.code, 0)
      assert.include(result.stdout, "6 requests (ndjson, shard 2/3 of 18)")
    }))

  it.live("run --shard against serve: the parts together send every request exactly once", () =>
    Effect.gen(function*() {
      const report = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) =>
        Effect.gen(function*() {
          for (const part of ["1/2", "2/2"]) assert.strictEqual((yield* main("run", file, "--endpoint", url, "--shard", part)).code, 0)
          return yield* Emulator.report
        }))
      assert.strictEqual(report.requests - report.throttled, 18)
      assert.strictEqual(report.duplicateExecutions, 0)
    }))

  it.live("a shard that does not exist, or a malformed --shard, is exit 2 and sends nothing", () =>
    Effect.gen(function*() {
      const result = yield* Cli.serveWith({ port: 0, latency: "none" }, (url) =>
        Effect.gen(function*() {
          const codes: Array<number> = []
          const messages: Array<string> = []
          for (const shard of ["0/3", "4/3", "1/0", "3", "a/b", "1.5/3"]) {
            const run = yield* main("run", file, "--endpoint", url, "--shard", shard)
            codes.push(run.code)
            messages.push(run.stderr)
          }
          return { codes, messages, report: yield* Emulator.report }
        }))
      assert.deepStrictEqual(result.codes, [2, 2, 2, 2, 2, 2])
      assert.include(result.messages[1], "shard 4/3 does not exist")
      assert.include(result.messages[3], "--shard must be i/n")
      assert.strictEqual(result.report.requests, 0)
      for (const command of ["simulate", "plan"]) assert.strictEqual((yield* main(command, file, "--shard", "4/3")).code, 2)
    }))
})
