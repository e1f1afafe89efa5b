import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// Microsoft's documented examples live with the spec package's tests
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "spec", "test", "fixtures")

export const fixtureJson = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"))
