import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))
const pkg = (name: string) => path.join(root, "packages", name, "src")

/**
 * Shared vitest settings: workspace packages resolve to their TypeScript sources,
 * so tests never depend on a stale build.
 */
export const shared: ViteUserConfig = {
  resolve: {
    alias: [
      { find: /^@effect-msgraph\/spec$/, replacement: path.join(pkg("spec"), "index.ts") },
      { find: /^@effect-msgraph\/spec\/(.*)$/, replacement: path.join(pkg("spec"), "$1.ts") },
      { find: /^@effect-msgraph\/core$/, replacement: path.join(pkg("core"), "index.ts") },
      { find: /^@effect-msgraph\/core\/(.*)$/, replacement: path.join(pkg("core"), "$1.ts") },
      { find: /^@effect-msgraph\/emulator$/, replacement: path.join(pkg("emulator"), "index.ts") },
      { find: /^@effect-msgraph\/emulator\/(.*)$/, replacement: path.join(pkg("emulator"), "$1.ts") },
      { find: /^@effect-msgraph\/quota-redis$/, replacement: path.join(pkg("quota-redis"), "index.ts") },
      { find: /^@effect-msgraph\/quota-redis\/(.*)$/, replacement: path.join(pkg("quota-redis"), "$1.ts") },
      { find: /^@effect-msgraph\/cli$/, replacement: path.join(pkg("cli"), "index.ts") },
      { find: /^@effect-msgraph\/cli\/(.*)$/, replacement: path.join(pkg("cli"), "$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    fakeTimers: { toFake: undefined }
  }
}
