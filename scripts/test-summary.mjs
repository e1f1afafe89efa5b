// Prints vitest's totals as one plain line ("tests: N passed, N failed, N skipped") for CI logs.
import { readFileSync } from "node:fs"

const results = JSON.parse(readFileSync(new URL("../build/vitest-results.json", import.meta.url), "utf8"))
const skipped = results.numPendingTests + results.numTodoTests
console.log(`tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`)
if (results.numTotalTests === 0) {
  console.error("no tests ran")
  process.exit(1)
}
