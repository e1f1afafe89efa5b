/**
 * The command line of `msgraph-emulator`: the flags of `msgraph-batch serve`, with the same meaning
 * and the same defaults (`EmulatorServer.serveDefaults`, applied by `EmulatorServer.layerServed`).
 *
 * @internal
 */
import { Either } from "effect"
import type { ServeOptions } from "../EmulatorServer.js"
import { serveDefaults } from "../EmulatorServer.js"
import * as Faults from "../Faults.js"

/** @internal */
export const usage = [
  "usage: msgraph-emulator [--port N] [--tenant-size S|M|L] [--stricter F] [--faults none|light|heavy]",
  "                        [--seed N] [--latency realistic|none] [--licenses N]",
  "                        [--load-knee N] [--load-ceiling N]",
  "",
  "Serves the Microsoft Graph emulator on 127.0.0.1 until SIGINT or SIGTERM; the same server as",
  "`msgraph-batch serve`. Defaults:",
  `  --port ${serveDefaults.port} (any free port)  --tenant-size ${serveDefaults.tenantSize}  --stricter ${serveDefaults.stricter}  --faults ${serveDefaults.faults}`,
  `  --seed ${serveDefaults.seed}  --latency ${serveDefaults.latency}  --licenses ${serveDefaults.licenses} (per subscribed SKU)`,
  `  --load-knee ${serveDefaults.loadKnee}  --load-ceiling ${serveDefaults.loadCeiling} (items in flight per app beyond which latency grows, at which items answer 503; 0: none)`
].join("\n")

/** What the command line asks for: help, or a server. @internal */
export type Parsed = { readonly _tag: "Help" } | { readonly _tag: "Serve"; readonly options: ServeOptions }

const isProfile = (value: string): value is Faults.Profile => Object.hasOwn(Faults.profiles, value)

/**
 * Parses the arguments after the script; `Left` is the reason it cannot, to print with the usage.
 *
 * @internal
 */
export const parse = (argv: ReadonlyArray<string>): Either.Either<Parsed, string> => {
  const options: { -readonly [K in keyof ServeOptions]: ServeOptions[K] } = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === "--help" || flag === "-h") return Either.right({ _tag: "Help" })
    const value = argv[i + 1]
    if (value === undefined) return Either.left(`${flag} needs a value`)
    i++
    const integer = Number(value)
    switch (flag) {
      case "--port":
        if (!(value.trim() !== "" && Number.isInteger(integer) && integer >= 0 && integer <= 65_535)) {
          return Either.left(`--port must be an integer from 0 to 65535, got '${value}'`)
        }
        options.port = integer
        break
      case "--tenant-size":
        if (value !== "S" && value !== "M" && value !== "L") return Either.left(`--tenant-size must be S, M or L, got '${value}'`)
        options.tenantSize = value
        break
      case "--stricter":
        if (!(value.trim() !== "" && Number.isFinite(integer) && integer > 0)) {
          return Either.left(`--stricter must be a positive number, got '${value}'`)
        }
        options.stricter = integer
        break
      case "--faults":
        if (!isProfile(value)) return Either.left(`--faults must be none, light or heavy, got '${value}'`)
        options.faults = value
        break
      case "--seed":
        if (!(value.trim() !== "" && Number.isSafeInteger(integer))) return Either.left(`--seed must be an integer, got '${value}'`)
        options.seed = integer
        break
      case "--latency":
        if (value !== "realistic" && value !== "none") return Either.left(`--latency must be realistic or none, got '${value}'`)
        options.latency = value
        break
      case "--licenses":
        if (!(value.trim() !== "" && Number.isSafeInteger(integer) && integer >= 0)) {
          return Either.left(`--licenses must be a whole number (0 or more), got '${value}'`)
        }
        options.licenses = integer
        break
      case "--load-knee":
      case "--load-ceiling":
        if (!(value.trim() !== "" && Number.isSafeInteger(integer) && integer >= 0)) {
          return Either.left(`${flag} must be a whole number (0 or more), got '${value}'`)
        }
        options[flag === "--load-knee" ? "loadKnee" : "loadCeiling"] = integer
        break
      default:
        return Either.left(`unknown option '${flag}'`)
    }
  }
  return Either.right({ _tag: "Serve", options })
}
