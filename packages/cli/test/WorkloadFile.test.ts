import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Examples from "../src/Examples.js"
import * as WorkloadFile from "../src/WorkloadFile.js"

const problems = (file: string, text: string) => {
  const result = WorkloadFile.parse(file, text)
  assert.isTrue(Either.isLeft(result), "expected the file to be refused")
  return (result as Either.Left<WorkloadFile.InvalidWorkload, WorkloadFile.Loaded>).left.problems
}

const loaded = (file: string, text: string) => {
  const result = WorkloadFile.parse(file, text)
  if (Either.isLeft(result)) assert.fail(result.left.message)
  return (result as Either.Right<WorkloadFile.InvalidWorkload, WorkloadFile.Loaded>).right
}

describe("WorkloadFile", () => {
  it("reads a JSON array and plans it", () => {
    const w = loaded("w.json", JSON.stringify([
      { id: "a", method: "POST", url: "/users", body: { displayName: "A" } },
      { id: "b", method: "GET", url: "/users/{{a#/body/id}}", dependsOn: ["a"], priority: "high" }
    ]))
    assert.strictEqual(w.format, "json")
    assert.deepStrictEqual(w.workload.map((r) => r.id), ["a", "b"])
    assert.strictEqual(w.plan.roundTrips, 2)
  })

  it("reads { requests: [...] } and NDJSON, with blank lines ignored", () => {
    const requests = [{ id: "1", method: "GET", url: "/me" }, { id: "2", method: "GET", url: "/me/messages" }]
    assert.strictEqual(loaded("w.json", JSON.stringify({ requests })).workload.length, 2)
    const nd = loaded("w.ndjson", requests.map((r) => JSON.stringify(r)).join("\n\n") + "\n")
    assert.strictEqual(nd.format, "ndjson")
    assert.deepStrictEqual(nd.workload.map((r) => r.id), ["1", "2"])
  })

  it("detects NDJSON without the extension", () => {
    assert.strictEqual(WorkloadFile.detectFormat("w.txt", "{\"id\":\"1\"}\n{\"id\":\"2\"}\n"), "ndjson")
    assert.strictEqual(WorkloadFile.detectFormat("w.txt", "[{\"id\":\"1\"}]"), "json")
  })

  it("names the NDJSON line and the field of a schema error", () => {
    const text = [
      JSON.stringify({ id: "1", method: "GET", url: "/me" }),
      "",
      JSON.stringify({ id: "2", method: "GET", url: "/me", priority: "urgent" })
    ].join("\n")
    const [p] = problems("w.ndjson", text)
    assert.strictEqual(p!.line, 3)
    assert.strictEqual(p!.id, "2")
    assert.strictEqual(p!.field, "priority")
    assert.match(WorkloadFile.describe("w.ndjson", p!), /^w\.ndjson:3 \(id "2"\): field priority:/)
  })

  it("names the JSON index, missing and misspelt fields", () => {
    const ps = problems("w.json", JSON.stringify([
      { id: "1", method: "GET", url: "/me" },
      { id: "2", url: "/me" },
      { id: "3", method: "GET", url: "/me", dependson: ["1"] }
    ]))
    assert.deepStrictEqual(ps.map((p) => [p.index, p.field]), [[1, "method"], [2, "dependson"]])
    assert.strictEqual(ps[1]!.reason, "unknown field")
  })

  it("reports a bad status inside acceptStatuses by its path", () => {
    const [p] = problems("w.json", JSON.stringify([{ id: "1", method: "GET", url: "/me", acceptStatuses: [404, 1000] }]))
    assert.strictEqual(p!.field, "acceptStatuses[1]")
  })

  it("reads the idempotent marker, and refuses one that is not a boolean", () => {
    const w = loaded("w.ndjson", [
      JSON.stringify({ id: "1", method: "POST", url: "/users", body: { displayName: "A" }, idempotent: true }),
      JSON.stringify({ id: "2", method: "GET", url: "/me", idempotent: false })
    ].join("\n"))
    assert.deepStrictEqual(w.workload.map((r) => r.idempotent), [true, false])
    const [p] = problems("w.json", JSON.stringify([{ id: "1", method: "POST", url: "/users", idempotent: "yes" }]))
    assert.deepStrictEqual([p!.index, p!.id, p!.field], [0, "1", "idempotent"])
  })

  it("maps the resolver's errors to the request's index and field", () => {
    const unknown = problems("w.json", JSON.stringify([
      { id: "a", method: "GET", url: "/me" },
      { id: "b", method: "GET", url: "/me", dependsOn: ["zzz"] }
    ]))
    assert.deepStrictEqual(unknown.map((p) => [p.index, p.id, p.field]), [[1, "b", "dependsOn"]])
    const duplicate = problems("w.json", JSON.stringify([
      { id: "a", method: "GET", url: "/me" },
      { id: "A", method: "GET", url: "/me" }
    ]))
    assert.deepStrictEqual(duplicate.map((p) => [p.index, p.field]), [[1, "id"]])
    const method = problems("w.ndjson", JSON.stringify({ id: "x", method: "TRACE", url: "/me" }))
    assert.deepStrictEqual(method.map((p) => [p.line, p.field]), [[1, "method"]])
    const cycle = problems("w.json", JSON.stringify([
      { id: "a", method: "GET", url: "/me", dependsOn: ["b"] },
      { id: "b", method: "GET", url: "/me", dependsOn: ["a"] }
    ]))
    assert.isTrue(cycle.length > 0 && cycle.every((p) => p.field === "dependsOn"))
    const url = problems("w.json", JSON.stringify([{ id: "a", method: "GET", url: "https://evil.example.com/v1.0/me" }]))
    assert.deepStrictEqual(url.map((p) => [p.index, p.field]), [[0, "url"]])
  })

  it("refuses invalid JSON with its line, a non-list, and an empty workload", () => {
    const [syntax] = problems("w.json", "[\n{\"id\": \"1\",\n oops }\n]")
    assert.match(syntax!.reason, /not valid JSON/)
    assert.strictEqual(syntax!.line, 3)
    assert.match(problems("w.json", "{\"id\": \"1\"}")[0]!.reason, /array of requests/)
    assert.match(problems("w.json", "[]")[0]!.reason, /no requests/)
    const [bad] = problems("w.ndjson", "{\"id\":\"1\",\"method\":\"GET\",\"url\":\"/me\"}\n{nope}\n")
    assert.strictEqual(bad!.line, 2)
  })

  it("invalid JSON is quoted as a short excerpt with its control characters escaped, in JSON and NDJSON", () => {
    const garbage = `\u0000\u001b[2J\u001b]0;pwned\u0007\u009b${"A".repeat(50_000)}`
    for (const [file, text] of [["g.json", garbage], ["g.ndjson", `${garbage}\n`], ["h.json", `["${"B".repeat(300)}\u0000"]`]] as const) {
      const [syntax] = problems(file, text)
      assert.match(syntax!.reason, /^not valid JSON: /)
      assert.notMatch(syntax!.reason, /[\u0000-\u001f\u007f-\u009f]/)
      assert.isAtMost(syntax!.reason.length, 140)
    }
    assert.include(problems("g.json", garbage)[0]!.reason, "\\u0000\\u001b[2J")
  })

  it("the committed examples are what the generator writes, and they are valid", () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
    for (const [name, make] of Object.entries(Examples.all)) {
      const file = path.join(root, "examples", `${name}.json`)
      const text = fs.readFileSync(file, "utf8")
      assert.strictEqual(text, Examples.render(make()), `examples/${name}.json is stale: run npm run examples`)
      const w = loaded(file, text)
      assert.isTrue(w.plan.roundTrips >= w.plan.lowerBound.roundTrips)
    }
  })
})
