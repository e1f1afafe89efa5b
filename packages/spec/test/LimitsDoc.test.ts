import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as LimitCatalog from "../src/LimitCatalog.js"

const committed = fileURLToPath(new URL("../../../docs/limits.md", import.meta.url))
const rendered = LimitCatalog.renderMarkdown(LimitCatalog.defaultCatalog)

describe("docs/limits.md", () => {
  it("matches the catalogue (run `npm run docs:limits` after changing the catalogue)", () => {
    const text = readFileSync(committed, "utf8")
    expect(text === rendered, "docs/limits.md is stale: run `npm run docs:limits` and commit the result").toBe(true)
  })

  it("lists every entry, and every entry or statement that is not modelled with its reason", () => {
    for (const entry of LimitCatalog.entries) expect(rendered).toContain(`\`${entry.id}\``)
    const notModelled = rendered.slice(rendered.indexOf("## Not modelled"), rendered.indexOf("## Identity and access resource-unit costs"))
    expect(notModelled).toContain("`filesAndLists.sharePoint`")
    expect(notModelled).toContain("`planner.unavailable`")
    for (const service of LimitCatalog.services) {
      for (const item of service.unenforced) expect(notModelled).toContain(item.reason.replace(/\|/g, "\\|"))
    }
  })

  it("renders the same text twice (no dates or other varying content)", () => {
    expect(LimitCatalog.renderMarkdown(LimitCatalog.defaultCatalog)).toBe(rendered)
  })
})
