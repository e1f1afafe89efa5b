#!/usr/bin/env node
/**
 * `msgraph-emulator --port N [--tenant-size S|M|L] [--seed N]`: serves the emulator on 127.0.0.1,
 * prints the URL it listens on, and stops cleanly on SIGINT or SIGTERM.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect, Layer } from "effect"
import * as Emulator from "./Emulator.js"
import * as EmulatorServer from "./EmulatorServer.js"

class UsageError extends Data.TaggedError("UsageError")<{ readonly reason: string }> {}

const usage = "usage: msgraph-emulator --port N [--tenant-size S|M|L] [--seed N]"

const parse = (argv: ReadonlyArray<string>): Effect.Effect<{ port: number; tenantSize: "S" | "M" | "L"; seed: number }, UsageError> =>
  Effect.suspend(() => {
    let port: number | undefined
    let tenantSize: "S" | "M" | "L" = "M"
    let seed = 0
    for (let i = 0; i < argv.length; i++) {
      const flag = argv[i]!
      const value = argv[i + 1]
      if (flag === "--help" || flag === "-h") return Effect.fail(new UsageError({ reason: usage }))
      if (value === undefined) return Effect.fail(new UsageError({ reason: `${flag} needs a value\n${usage}` }))
      i++
      if (flag === "--port") {
        const n = Number(value)
        if (!Number.isInteger(n) || n < 0 || n > 65_535) return Effect.fail(new UsageError({ reason: `invalid port '${value}'` }))
        port = n
      } else if (flag === "--tenant-size") {
        if (value !== "S" && value !== "M" && value !== "L") return Effect.fail(new UsageError({ reason: `invalid tenant size '${value}' (S, M or L)` }))
        tenantSize = value
      } else if (flag === "--seed") {
        const n = Number(value)
        if (!Number.isInteger(n)) return Effect.fail(new UsageError({ reason: `invalid seed '${value}'` }))
        seed = n
      } else {
        return Effect.fail(new UsageError({ reason: `unknown option '${flag}'\n${usage}` }))
      }
    }
    if (port === undefined) return Effect.fail(new UsageError({ reason: `--port is required\n${usage}` }))
    return Effect.succeed({ port, tenantSize, seed })
  })

const main = Effect.gen(function*() {
  const args = yield* parse(process.argv.slice(2))
  const server = EmulatorServer.layer({ port: args.port }).pipe(
    Layer.provide(Emulator.layer({ tenantSize: args.tenantSize, seed: args.seed }))
  )
  yield* Effect.gen(function*() {
    const url = yield* EmulatorServer.url
    yield* Console.log(`msgraph-emulator listening on ${url}`)
    return yield* Effect.never
  }).pipe(Effect.provide(server), Effect.scoped)
}).pipe(
  Effect.catchTag("UsageError", (e) => Effect.zipRight(Console.error(e.reason), Effect.sync(() => void (process.exitCode = 2))))
)

NodeRuntime.runMain(main, { disableErrorReporting: false })
