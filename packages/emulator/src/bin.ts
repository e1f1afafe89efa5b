#!/usr/bin/env node
/**
 * `msgraph-emulator [--port N] [--tenant-size S|M|L] [--stricter F] [--faults PROFILE] [--seed N]
 * [--latency realistic|none] [--licenses N]`: serves the emulator on 127.0.0.1, prints the URL it
 * listens on, and stops cleanly on SIGINT or SIGTERM. It runs `EmulatorServer.layerServed`, as
 * `msgraph-batch serve` does, so the same flags give the same emulator. `--help` prints the usage.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Either } from "effect"
import * as EmulatorServer from "./EmulatorServer.js"
import { parse, usage } from "./internal/args.js"

const fail = (message: string) => Effect.zipRight(Console.error(message), Effect.sync(() => void (process.exitCode = 2)))

const main = Effect.suspend(() => {
  const parsed = parse(process.argv.slice(2))
  if (Either.isLeft(parsed)) return fail(`${parsed.left}\n${usage}`)
  if (parsed.right._tag === "Help") return Console.log(usage)
  return Effect.gen(function*() {
    const url = yield* EmulatorServer.url
    yield* Console.log(`msgraph-emulator listening on ${url}`)
    return yield* Effect.never
  }).pipe(
    Effect.provide(EmulatorServer.layerServed(parsed.right.options)),
    Effect.scoped,
    Effect.catchTags({
      InvalidOptions: (e) => fail(`invalid emulator option ${e.option}: ${e.detail}`),
      ServeError: (e) => fail(`cannot listen: ${String(e.cause)}`)
    })
  )
})

NodeRuntime.runMain(main, { disableErrorReporting: false })
