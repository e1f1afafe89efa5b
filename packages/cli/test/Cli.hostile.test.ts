import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import { exec } from "./utils/exec.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-hostile-"))

describe("msgraph-batch and hostile workload files", () => {
  it.live("a body nested 5,000 deep: exit 2, the request is named, and nothing is sent", () =>
    Effect.gen(function*() {
      // written as text: JSON.stringify cannot write it from inside a test fiber
      const deep = `${"{\"a\":".repeat(5_000)}1${"}".repeat(5_000)}`
      const file = path.join(dir, "deep.ndjson")
      fs.writeFileSync(file, `{"id":"fine","method":"GET","url":"/me"}\n{"id":"deep","method":"POST","url":"/users","body":${deep}}\n`)
      const { code, stderr, stdout } = yield* exec(Cli.simulate({ file, json: true }))
      assert.strictEqual(code, 2)
      assert.include(stderr, "deep.ndjson:2 (id \"deep\"): field body:")
      assert.include(stderr, "nested more than 64 levels deep")
      assert.include(stderr, "Nothing was sent")
      assert.strictEqual(stdout, "")
    }))
})
