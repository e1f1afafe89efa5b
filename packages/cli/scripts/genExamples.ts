/**
 * Writes `examples/*.json` at the repository root from `src/Examples.ts`. Run with `npm run examples`
 * after `tsc -b`; the files are committed, and the CLI tests check they are up to date.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Examples from "../src/Examples.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")
const dir = path.join(root, "examples")
fs.mkdirSync(dir, { recursive: true })
for (const [name, make] of Object.entries(Examples.all)) {
  const file = path.join(dir, `${name}.json`)
  fs.writeFileSync(file, Examples.render(make()))
  console.log(`wrote ${path.relative(root, file)}`)
}
