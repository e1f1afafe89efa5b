import * as EmulatorServer from "@effect-msgraph/emulator/EmulatorServer"
import * as Faults from "@effect-msgraph/emulator/Faults"
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { parse } from "../src/internal/args.js"

const options = FastCheck.record({
  port: FastCheck.integer({ min: 0, max: 65_535 }),
  tenantSize: FastCheck.constantFrom("S" as const, "M" as const, "L" as const),
  stricter: FastCheck.double({ min: 0.01, max: 100, noNaN: true }),
  faults: FastCheck.constantFrom("none" as const, "light" as const, "heavy" as const),
  seed: FastCheck.integer({ min: -1_000_000, max: 1_000_000 }),
  latency: FastCheck.constantFrom("realistic" as const, "none" as const),
  licenses: FastCheck.integer({ min: 0, max: 1_000_000 }),
  loadKnee: FastCheck.integer({ min: 0, max: 10_000 }),
  loadCeiling: FastCheck.integer({ min: 0, max: 10_000 })
}, { requiredKeys: [] })

const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

describe("msgraph-emulator's command line", () => {
  it.prop(
    "every option of a served emulator, given as flags in any order, parses back to itself",
    [options, FastCheck.boolean()],
    ([given, reversed]) => {
      const pairs = Object.entries(given).map(([key, value]) => [flag(key), String(value)])
      const argv = (reversed ? pairs.reverse() : pairs).flat()
      assert.deepStrictEqual(parse(argv), Either.right({ _tag: "Serve" as const, options: given }))
    }
  )

  it("without flags every option is absent, so the server takes serveDefaults as msgraph-batch serve does", () => {
    assert.deepStrictEqual(parse([]), Either.right({ _tag: "Serve" as const, options: {} }))
    assert.deepStrictEqual(EmulatorServer.emulatorOptions({}), {
      tenantSize: "M",
      seed: 0,
      multiplier: 1,
      faults: Faults.profiles.none,
      latency: "realistic",
      licenses: 100_000
    })
    assert.deepStrictEqual(EmulatorServer.serveDefaults, {
      port: 0,
      tenantSize: "M",
      stricter: 1,
      faults: "none",
      seed: 0,
      latency: "realistic",
      licenses: 100_000,
      loadKnee: 0,
      loadCeiling: 0
    })
  })

  it("the flags map onto the emulator's options: --stricter F is a multiplier of 1/F, --faults a named profile", () => {
    assert.deepStrictEqual(EmulatorServer.emulatorOptions({ stricter: 4, faults: "light", licenses: 3, latency: "none", tenantSize: "L", seed: 9 }), {
      tenantSize: "L",
      seed: 9,
      multiplier: 0.25,
      faults: Faults.profiles.light,
      latency: "none",
      licenses: 3
    })
  })

  it("--load-knee and --load-ceiling build the load model, 0 leaving either out; both 0 leave it off", () => {
    const load = (options: EmulatorServer.ServeOptions) => EmulatorServer.emulatorOptions(options).load
    assert.deepStrictEqual(load({ loadKnee: 40, loadCeiling: 200 }), { knee: 40, ceiling: 200 })
    assert.deepStrictEqual(load({ loadKnee: 40 }), { knee: 40 })
    assert.deepStrictEqual(load({ loadCeiling: 200 }), { ceiling: 200 })
    assert.notProperty(EmulatorServer.emulatorOptions({ loadKnee: 0, loadCeiling: 0 }), "load")
  })

  it("--help asks for the usage, wherever it stands", () => {
    assert.deepStrictEqual(parse(["--help"]), Either.right({ _tag: "Help" as const }))
    assert.deepStrictEqual(parse(["--port", "0", "-h"]), Either.right({ _tag: "Help" as const }))
  })

  it("a wrong flag or value is refused with a reason that names the flag", () => {
    const reason = (argv: ReadonlyArray<string>) => Either.match(parse(argv), { onLeft: (why) => why, onRight: () => "accepted" })
    assert.match(reason(["--licenses", "-1"]), /^--licenses must be a whole number/)
    assert.match(reason(["--licenses", "2.5"]), /^--licenses must be a whole number/)
    assert.match(reason(["--licenses", ""]), /^--licenses must be a whole number/)
    assert.match(reason(["--stricter", "0"]), /^--stricter must be a positive number/)
    assert.match(reason(["--port", "70000"]), /^--port must be an integer from 0 to 65535/)
    assert.match(reason(["--faults", "toString"]), /^--faults must be none, light or heavy/)
    assert.match(reason(["--latency", "slow"]), /^--latency must be realistic or none/)
    assert.match(reason(["--tenant-size", "XL"]), /^--tenant-size must be S, M or L/)
    assert.match(reason(["--seed"]), /^--seed needs a value/)
    assert.match(reason(["--load-knee", "-1"]), /^--load-knee must be a whole number/)
    assert.match(reason(["--load-ceiling", "1.5"]), /^--load-ceiling must be a whole number/)
    assert.match(reason(["--verbose", "1"]), /^unknown option '--verbose'/)
  })

  it("a seed or licence count beyond the exact integers (2^53) is refused, as msgraph-batch serve refuses it", () => {
    const reason = (argv: ReadonlyArray<string>) => Either.match(parse(argv), { onLeft: (why) => why, onRight: () => "accepted" })
    assert.match(reason(["--seed", "9007199254740993"]), /^--seed must be an integer/)
    assert.match(reason(["--seed", "99999999999999999999"]), /^--seed must be an integer/)
    assert.match(reason(["--licenses", "99999999999999999999"]), /^--licenses must be a whole number/)
    assert.deepStrictEqual(parse(["--seed", "-9007199254740991"]), Either.right({ _tag: "Serve" as const, options: { seed: -9007199254740991 } }))
  })
})
