import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import * as VE from "@effect-msgraph/core/ValidationError"
import { IdIndex, remembered } from "../src/internal/batch/ids.js"
import * as rules from "../src/internal/batch/rules.js"

/** Short ids over letters of both cases, digits and a few characters beyond ASCII (dotted I, sigmas, sharp s). */
const id = FastCheck.string({
  unit: FastCheck.constantFrom("a", "A", "b", "B", "z", "Z", "0", "-", "İ", "ı", "Σ", "σ", "ς", "ß", "É", "é"),
  maxLength: 6
})

const ids = FastCheck.uniqueArray(FastCheck.string({ minLength: 1, maxLength: 8 }), {
  selector: rules.idKey,
  maxLength: 300
})

const built = (given: ReadonlyArray<string>) => Either.getOrThrow(IdIndex.build(given.map((id) => ({ id }))))

describe("IdIndex", () => {
  it.prop("finds every request by its id key, whatever the case, and nothing else", [ids, FastCheck.array(FastCheck.string(), { maxLength: 20 })], ([given, others]) => {
    const byKey = new Map(given.map((id, v) => [rules.idKey(id), v]))
    const index = built(given)
    given.forEach((id, v) => {
      expect(index.get(rules.idKey(id))).toBe(v)
      expect(index.get(rules.idKey(id.toUpperCase()))).toBe(byKey.get(rules.idKey(id.toUpperCase())))
    })
    for (const other of others) expect(index.get(rules.idKey(other))).toBe(byKey.get(rules.idKey(other)))
  })

  it.prop(
    "of(id) is get(idKey(id)) for any id, beyond ASCII too",
    [FastCheck.uniqueArray(id.filter((s) => s !== ""), { selector: rules.idKey, maxLength: 60 }), FastCheck.array(id, { maxLength: 60 })],
    ([given, asked]) => {
      const index = built(given)
      const byKey = new Map(given.map((id, v) => [rules.idKey(id), v]))
      for (const a of [...given, ...asked, ...asked.map((s) => s.toUpperCase())]) {
        expect(index.of(a)).toBe(byKey.get(rules.idKey(a)))
        expect(index.of(a)).toBe(index.get(rules.idKey(a)))
      }
    }
  )

  it.prop(
    "remembered(index)(id) is of(id) however often and in whatever order ids are asked (its cache never answers for another id)",
    [ids, FastCheck.array(FastCheck.string({ maxLength: 8 }), { maxLength: 20 }), FastCheck.array(FastCheck.nat(), { maxLength: 400 })],
    ([given, others, picks]) => {
      const index = built(given)
      const at = remembered(index)
      const asked = [...given, ...given.map((id) => id.toUpperCase()), ...others, ""]
      for (const pick of picks) {
        const id = asked[pick % asked.length]!
        expect(at(id)).toBe(index.of(id))
      }
    }
  )

  it.prop(
    "fails with every empty id, else with every group of case-insensitive duplicates in the order met",
    [FastCheck.array(id, { maxLength: 40 })],
    ([given]) => {
      // the rule, written plainly: positions of empty ids; groups keyed by the first id of a key
      const empty = given.flatMap((id, i) => (id === "" ? [i] : []))
      const first = new Map<string, string>()
      const groups = new Map<string, Array<string>>()
      for (const id of given) {
        if (id === "") continue
        const key = rules.idKey(id)
        const seen = first.get(key)
        if (seen === undefined) first.set(key, id)
        else groups.set(key, [...(groups.get(key) ?? [seen]), id])
      }
      const actual = IdIndex.build(given.map((id) => ({ id })))
      if (empty.length > 0) expect(actual).toStrictEqual(Either.left(new VE.EmptyRequestId({ indices: empty })))
      else if (groups.size > 0) expect(actual).toStrictEqual(Either.left(new VE.DuplicateRequestIds({ groups: [...groups.values()] })))
      else expect(Either.isRight(actual)).toBe(true)
    }
  )
})
