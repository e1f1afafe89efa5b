import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { select } from "../src/internal/store/query.js"

const name = FastCheck.string({ unit: FastCheck.constantFrom("i", "I", "d", "D", "x"), minLength: 1, maxLength: 3 })

describe("$select", () => {
  it.prop(
    "takes each field from the first key equal to it but for case, and null when there is none",
    [FastCheck.dictionary(name, FastCheck.integer()), FastCheck.array(name, { maxLength: 4 })],
    ([object, fields]) => {
      const selected = select(object, new URLSearchParams({ $select: fields.join(",") }), [])
      const expected: Record<string, unknown> = {}
      for (const field of fields) {
        const key = Object.keys(object).find((k) => k.toLowerCase() === field.toLowerCase()) ?? field
        expected[key] = object[key] ?? null
      }
      assert.deepStrictEqual(selected, expected)
      assert.deepStrictEqual(Object.keys(selected), Object.keys(expected))
    }
  )
})
