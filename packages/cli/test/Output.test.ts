import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Output from "../src/Output.js"

/** Every character a terminal may act on, or that reorders or breaks a line. */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

const unsafeChar = fc.constantFrom(
  ..."\u0000\u0007\b\t\n\u000b\f\r\u001b\u001f\u007f\u0080\u009b\u009d\u009f\u061c\u200e\u200f\u2028\u2029\u202a\u202e\u2066\u2069"
)
const mixed = fc.array(fc.oneof(fc.string(), unsafeChar), { maxLength: 20 }).map((parts) => parts.join(""))

describe("Output.escape", () => {
  it("makes ESC, CSI, OSC, newlines, NUL, C1 and bidi overrides visible", () => {
    assert.strictEqual(Output.escape("a\u001b[2J\nsucceeded 999"), "a\\u001b[2J\\nsucceeded 999")
    assert.strictEqual(Output.escape("\u001b]0;title\u0007"), "\\u001b]0;title\\u0007")
    assert.strictEqual(Output.escape("x\u0000y\ty\rz\u007f\u009b\u2028\u202egnp.exe"), "x\\u0000y\\ty\\rz\\u007f\\u009b\\u2028\\u202egnp.exe")
    assert.strictEqual(Output.escape("ordinary id-1 é 名前 🙂"), "ordinary id-1 é 名前 🙂")
  })

  it.prop("nothing unsafe survives; escaping twice is escaping once", { text: mixed }, ({ text }) => {
    const once = Output.escape(text)
    assert.isFalse(unsafe.test(once))
    assert.strictEqual(Output.escape(once), once)
  })

  it.prop("text without unsafe characters is unchanged", { text: fc.string({ unit: "grapheme" }) }, ({ text }) => {
    fc.pre(!unsafe.test(text))
    assert.strictEqual(Output.escape(text), text)
  })
})

describe("Output.json", () => {
  it.prop("is JSON for the same value, with no character a terminal acts on", { text: mixed }, ({ text }) => {
    const value = { id: text, nested: [text, { [text]: 1 }] }
    const printed = Output.json(value)
    assert.isFalse(unsafe.test(printed))
    assert.deepStrictEqual(JSON.parse(printed), value)
  })
})
