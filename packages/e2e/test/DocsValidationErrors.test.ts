import { expect, it } from "@effect/vitest"
import { BatchBuilder, ValidationError } from "@effect-msgraph/core"
import { docsPage } from "./utils/docs.js"

const errors = docsPage("errors.md")
const batching = docsPage("batching.md")

/** The tags of every error class `ValidationError` exports (it exports nothing else at run time). */
const tags = Object.values(ValidationError).map((error) => error._tag)

it("docs/errors.md lists every ValidationError in its overview and its table", () => {
  expect(tags.length).toBeGreaterThan(15)
  const overview = errors.split("\n").find((line) => line.startsWith("| [Validation]"))!
  for (const tag of tags) {
    expect(overview, tag).toContain(`\`${tag}\``)
    expect(errors, tag).toMatch(new RegExp(`^\\| \`${tag}\` \\|`, "m"))
  }
})

it("docs/batching.md and docs/errors.md state the bounds the code enforces", () => {
  const thousands = (n: number) => n.toLocaleString("en-US")
  expect(batching).toContain(`at most ${BatchBuilder.MAX_BODY_DEPTH} levels deep`)
  expect(batching).toContain(`at most ${thousands(BatchBuilder.MAX_REQUEST_BYTES)} bytes`)
  expect(batching).toContain(`at most ${thousands(BatchBuilder.MAX_BATCH_BYTES)} bytes`)
  expect(errors).toContain(`\`limit\` (${BatchBuilder.MAX_BODY_DEPTH})`)
  expect(errors).toContain(`\`limit\` (${thousands(BatchBuilder.MAX_REQUEST_BYTES)})`)
  expect(errors).toContain(`\`limit\` (${thousands(BatchBuilder.MAX_BATCH_BYTES)})`)
})
