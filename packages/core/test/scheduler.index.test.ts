import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as rules from "../src/internal/batch/rules.js"
import { IdIndex } from "../src/internal/plan/scheduler.js"

const ids = FastCheck.uniqueArray(FastCheck.string({ minLength: 1, maxLength: 8 }), {
  selector: rules.idKey,
  maxLength: 300
})

describe("IdIndex", () => {
  it.prop("finds every request by its id key, whatever the case, and nothing else", [ids, FastCheck.array(FastCheck.string(), { maxLength: 20 })], ([given, others]) => {
    const workload = given.map((id) => ({ id, method: "GET", url: "/me" }))
    const byKey = new Map(given.map((id, v) => [rules.idKey(id), v]))
    const index = new IdIndex(workload, byKey)
    given.forEach((id, v) => {
      expect(index.get(rules.idKey(id))).toBe(v)
      expect(index.get(rules.idKey(id.toUpperCase()))).toBe(byKey.get(rules.idKey(id.toUpperCase())))
    })
    for (const other of others) expect(index.get(rules.idKey(other))).toBe(byKey.get(rules.idKey(other)))
  })

  it.prop(
    "of(id) is get(idKey(id)) however often and in whatever order ids are asked (its cache never answers for another id)",
    [ids, FastCheck.array(FastCheck.string({ maxLength: 8 }), { maxLength: 20 }), FastCheck.array(FastCheck.nat(), { maxLength: 400 })],
    ([given, others, picks]) => {
      const workload = given.map((id) => ({ id, method: "GET", url: "/me" }))
      const index = new IdIndex(workload, new Map(given.map((id, v) => [rules.idKey(id), v])))
      const asked = [...given, ...given.map((id) => id.toUpperCase()), ...others, ""]
      for (const pick of picks) {
        const id = asked[pick % asked.length]!
        expect(index.of(id)).toBe(index.get(rules.idKey(id)))
      }
    }
  )
})
