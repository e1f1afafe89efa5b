import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck, Random } from "effect"
import { Draws } from "../src/internal/engine/draws.js"

// A seed must keep meaning what it meant: the engine's synchronous draws are Random.make's numbers.
describe("seeded draws", () => {
  it.prop(
    "give the numbers, integers and shuffles of Random.make(seed), in the same order",
    [
      FastCheck.string(),
      FastCheck.array(
        FastCheck.oneof(
          FastCheck.constant({ op: "next" as const, n: 0 }),
          FastCheck.record({ op: FastCheck.constant("below" as const), n: FastCheck.integer({ min: 1, max: 1_000 }) }),
          FastCheck.record({ op: FastCheck.constant("shuffle" as const), n: FastCheck.integer({ min: 0, max: 25 }) })
        ),
        { maxLength: 40 }
      )
    ],
    ([seed, ops]) => {
      const draws = new Draws(seed)
      const random = Random.make(seed)
      for (const { n, op } of ops) {
        const items = Array.from({ length: n }, (_, i) => i)
        const drawn: Effect.Effect<number | ReadonlyArray<number>> = op === "next"
          ? random.next
          : op === "below"
          ? random.nextIntBetween(0, n)
          : Effect.map(random.shuffle(items), Chunk.toReadonlyArray)
        const expected = Effect.runSync(drawn)
        const actual = op === "next" ? draws.next() : op === "below" ? draws.below(n) : draws.shuffle(items.slice())
        assert.deepStrictEqual(actual, expected)
      }
    }
  )
})
