import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures")

export const fixtureText = (name: string): string => fs.readFileSync(path.join(dir, name), "utf8")

export const fixtureJson = (name: string): unknown => JSON.parse(fixtureText(name))

/** Splits a printed HTTP message into its start line, headers and JSON body. */
export const httpFixture = (name: string) => {
  const text = fixtureText(name).replace(/\r\n/g, "\n")
  const split = text.indexOf("\n\n")
  const head = text.slice(0, split).split("\n")
  const headers: Record<string, string> = {}
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":")
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
  }
  return { startLine: head[0]!, headers, body: JSON.parse(text.slice(split + 2)) as unknown }
}
