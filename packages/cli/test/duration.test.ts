import { assert, describe, it } from "@effect/vitest"
import { Duration, Option } from "effect"
import * as durationText from "../src/internal/duration.js"

const millis = (text: string) => Option.map(durationText.parse(text), Duration.toMillis)

describe("command-line durations", () => {
  it("reads a number with a unit, or Effect's spelling", () => {
    assert.deepStrictEqual(millis("500ms"), Option.some(500))
    assert.deepStrictEqual(millis("30s"), Option.some(30_000))
    assert.deepStrictEqual(millis("1.5m"), Option.some(90_000))
    assert.deepStrictEqual(millis("2h"), Option.some(7_200_000))
    assert.deepStrictEqual(millis("1d"), Option.some(86_400_000))
    assert.deepStrictEqual(millis(" 30 minutes "), Option.some(1_800_000))
  })

  it("refuses zero, negative, infinite and unreadable values", () => {
    for (const text of ["0s", "0 seconds", "-5s", "Infinity", "soon", "30", "30 s", "1e3s", ""]) {
      assert.isTrue(Option.isNone(durationText.parse(text)), text)
    }
  })
})
