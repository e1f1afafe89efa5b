import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { asDecoded, normalisedHeaders } from "../src/internal/client.js"

// The in-process client skips two round trips a socket would make; these are what it must equal.
describe("in-process client", () => {
  it.prop(
    "reads a text body as the UTF-8 encoding of it decoded again, and counts its length as those bytes",
    [FastCheck.string({ unit: FastCheck.oneof(FastCheck.constantFrom("\ufeff", "\ud83d", "\ude00", "\ud83d\ude00", "é"), FastCheck.char()) })],
    ([text]) => {
      const bytes = new TextEncoder().encode(text)
      assert.strictEqual(asDecoded(text), new TextDecoder().decode(bytes))
      assert.strictEqual(Buffer.byteLength(text, "utf8"), bytes.length)
    }
  )

  it.prop(
    "hands the engine the headers a web Headers would: names lowercased and sorted, values trimmed, invalid ones refused",
    [
      FastCheck.dictionary(
        FastCheck.string({ unit: FastCheck.constantFrom("a", "B", "-", " ", "é", "z"), minLength: 1, maxLength: 3 }),
        FastCheck.string({ unit: FastCheck.constantFrom("v", " ", "\t", "\n", "\r", "\u000b", "\u0000", "é", "\u00ff", "€", ","), maxLength: 4 })
      )
    ],
    ([record]) => {
      const input = Headers.fromInput(record)
      const viaWeb = (() => {
        try {
          return { headers: { ...Headers.fromInput(new globalThis.Headers(input)) } }
        } catch (error) {
          return { error: String(error) }
        }
      })()
      const direct = (() => {
        try {
          return { headers: { ...normalisedHeaders(input) } }
        } catch (error) {
          return { error: String(error) }
        }
      })()
      assert.deepStrictEqual(direct, viaWeb)
      if (direct.headers !== undefined) assert.deepStrictEqual(Object.keys(direct.headers), Object.keys(viaWeb.headers!))
    },
    // short values, many of them: whitespace at either end, or a forbidden character, in most runs
    { fastCheck: { numRuns: 500 } }
  )
})
