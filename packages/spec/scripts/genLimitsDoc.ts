/**
 * Writes `docs/limits.md` from the built-in limit catalogue. Run with `npm run docs:limits`.
 * `test/LimitsDoc.test.ts` fails when the committed page differs from what this writes.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import * as LimitCatalog from "../src/LimitCatalog.js"

// Compiled to packages/spec/build/scripts/genLimitsDoc.js: the repository root is four levels up.
const target = fileURLToPath(new URL("../../../../docs/limits.md", import.meta.url))

const problems = LimitCatalog.validate(LimitCatalog.defaultCatalog)
if (problems.length > 0) {
  process.stderr.write(`The limit catalogue is inconsistent:\n${problems.map((p) => `- ${p}`).join("\n")}\n`)
  process.exit(1)
}
mkdirSync(dirname(target), { recursive: true })
writeFileSync(target, LimitCatalog.renderMarkdown(LimitCatalog.defaultCatalog))
process.stdout.write(`wrote ${target}\n`)
