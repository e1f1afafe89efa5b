import { OutcomeRecord } from "@effect-msgraph/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { main } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-paging-"))
const write = (name: string, requests: ReadonlyArray<object>) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, requests.map((r) => JSON.stringify(r)).join("\n"))
  return file
}

interface Line {
  readonly id: string
  readonly page?: number
  readonly status: number
  readonly body?: { readonly value?: ReadonlyArray<{ readonly id: string }>; readonly "@odata.nextLink"?: string }
}

const creates = Array.from({ length: 120 }, (_, i) => ({
  id: `create-${i}`,
  method: "POST",
  url: "/users",
  body: { accountEnabled: true, displayName: `U${i}`, mailNickname: `u${i}`, userPrincipalName: `u${i}@contoso.onmicrosoft.com` }
}))

describe("msgraph-batch with paged requests", () => {
  it.live("simulate --out writes one line per page of a paged request, with its page number", () =>
    Effect.gen(function*() {
      const file = write("report.ndjson", [
        ...creates,
        { id: "report", method: "GET", url: "/users?$select=id&$top=50", pages: "all", dependsOn: creates.map((c) => c.id) }
      ])
      const out = path.join(dir, "report-results.ndjson")
      const result = yield* main("simulate", file, "--out", out)
      assert.strictEqual(result.code, 0)
      const lines: Array<Line> = fs.readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
      const report = lines.filter((l) => l.id === "report")
      assert.deepStrictEqual(report.map((l) => [l.page, l.status]), [[1, 200], [2, 200], [3, 200]])
      // the 120 created users and the acting user, each once
      const ids = report.flatMap((l) => l.body!.value!.map((u) => u.id))
      assert.strictEqual(ids.length, 121)
      assert.strictEqual(new Set(ids).size, 121)
      assert.isTrue(lines.filter((l) => l.id !== "report").every((l) => l.page === undefined))
      // the page number comes right after the id
      assert.match(fs.readFileSync(out, "utf8"), /\{"id":"report","page":2,"status":200,/)
    }), 60_000)

  it.live("a workload file asking pages of a POST, or zero pages, is refused and nothing is sent", () =>
    Effect.gen(function*() {
      const post = write("post-pages.ndjson", [{ id: "p", method: "POST", url: "/users", body: {}, pages: "all" }])
      const refusedPost = yield* main("simulate", post)
      assert.strictEqual(refusedPost.code, 2)
      assert.include(refusedPost.stderr, `${post}:1 (id "p"): field pages: only a GET request can fetch pages`)
      const zero = write("zero-pages.ndjson", [{ id: "z", method: "GET", url: "/users", pages: 0 }])
      const refusedZero = yield* main("simulate", zero)
      assert.strictEqual(refusedZero.code, 2)
      assert.include(refusedZero.stderr, `${zero}:1 (id "z"): field pages:`)
    }))

  it("docs/cli.md shows a paged request's lines: records the schema reads, one per page", () => {
    const page = fs.readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8")
    const section = page.slice(page.indexOf("## Results (`--out`)"), page.indexOf("## Shards (`--shard`)"))
    const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().split("\n"))
    const paged = blocks.find((lines) => lines.some((l) => JSON.parse(l).page !== undefined))!
    const records = paged.map((l) => Schema.decodeUnknownSync(OutcomeRecord.OutcomeRecord, { onExcessProperty: "error" })(JSON.parse(l)))
    assert.deepStrictEqual(records.map((r) => [r.id, r.page]), [["directory", 1], ["directory", 2]])
    assert.include((records[0]!.body as { "@odata.nextLink": string })["@odata.nextLink"], "$skiptoken=")
  })
})
