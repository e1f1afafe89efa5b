// Reading docs/ pages in tests, so that a page's examples, anchors and links cannot drift from the code.
import { expect } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** A page of docs/ (`"costs.md"`), as text. */
export const docsPage = (file: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../../docs/${file}`, import.meta.url)), "utf8")

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens. */
export const anchors = (markdown: string): ReadonlyArray<string> =>
  [...markdown.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-"))

/** Every `(page.md)`, `(page.md#anchor)` and `(#anchor)` link names a page of docs/ and one of its headings. */
export const checkLinks = (markdown: string) => {
  const links = [...markdown.matchAll(/\]\(([\w-]+\.md)?(?:#([^)]+))?\)/g)]
  expect(links.length).toBeGreaterThan(0)
  for (const [, file, anchor] of links) {
    const target = file === undefined ? markdown : docsPage(file)
    if (anchor !== undefined) expect(anchors(target), `${file ?? ""}#${anchor}`).toContain(anchor)
  }
}

/** The fenced blocks of a language (`"ts"`; `""` for untagged ones), without their fences. */
export const fenced = (markdown: string, language: string): ReadonlyArray<string> =>
  [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === language).map((m) => m[2]!.trimEnd())

/** The text between two markers, trimmed. */
export const between = (text: string, start: string, end: string): string =>
  text.slice(text.indexOf(start) + start.length, text.indexOf(end)).trim()
