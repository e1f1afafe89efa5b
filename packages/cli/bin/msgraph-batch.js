#!/usr/bin/env node
// The `msgraph-batch` command as npm links it: a committed file, so that `npm install` can link it
// before anything is built. It runs the compiled CLI, which the repository's `prepare` script
// (`tsc -b`, run by `npm install` and `npm ci`) writes to build/.
import { existsSync } from "node:fs"

const compiled = new URL("../build/src/bin.js", import.meta.url)
if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  process.stderr.write("msgraph-batch is not built: run `npm run build` at the repository root.\n")
  process.exitCode = 1
}
