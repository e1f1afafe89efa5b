/**
 * `msgraph-emulator` and `msgraph-batch serve` are one server with one set of defaults
 * (`EmulatorServer.serveDefaults`): the standalone command, run as a user types it, must carry the
 * onboarding example, and both must read `--licenses` the same way.
 */
import { EmulatorServer } from "@effect-msgraph/emulator"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref, type Scope } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Cli from "../src/Cli.js"
import * as Examples from "../src/Examples.js"
import { makeMemory, Output } from "../src/Output.js"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-serve-"))
const users = 30 // more than the in-process emulator's 25 licences per SKU
const onboarding = path.join(dir, "onboarding.json")
fs.writeFileSync(onboarding, Examples.render(Examples.onboarding(users)))

/** `msgraph-emulator ARGS` in a child process (from source, as the emulator's own bin test runs it); killed when the scope closes. */
const emulatorBin = (args: ReadonlyArray<string>): Effect.Effect<string, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(
          process.execPath,
          [
            path.join(repo, "node_modules", "vite-node", "vite-node.mjs"),
            "--config",
            path.join(repo, "packages", "emulator", "vitest.config.ts"),
            path.join(repo, "packages", "emulator", "src", "bin.ts"),
            "--",
            ...args
          ],
          { cwd: repo, stdio: ["ignore", "pipe", "pipe"] }
        )
      ),
      (child) =>
        child.exitCode !== null ? Effect.void : Effect.async<void>((resume) => {
          child.on("exit", () => resume(Effect.void))
          child.kill("SIGTERM")
        })
    )
    return yield* Effect.async<string, Error>((resume) => {
      let out = ""
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
        if (match !== null) resume(Effect.succeed(match[1]!))
      })
      child.stderr.on("data", (chunk: Buffer) => void (out += chunk.toString()))
      child.on("exit", (code) => resume(Effect.fail(new Error(`msgraph-emulator exited with ${code}: ${out}`))))
    }).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("msgraph-emulator printed no URL") }))
  })

/** `msgraph-batch serve ARGS`, parsed by the CLI itself, in this process; stopped when the scope closes. */
const serveCommand = (args: ReadonlyArray<string>): Effect.Effect<string, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const memory = yield* makeMemory()
    const fiber = yield* Effect.forkScoped(
      Cli.main(["node", "msgraph-batch", "serve", ...args]).pipe(
        Effect.provideService(Output, memory.service),
        Effect.provide(NodeContext.layer)
      )
    )
    for (let i = 0; i < 3_000; i++) {
      const url = /listening on (\S+)/.exec(yield* Ref.get(memory.captured.stdout))?.[1]
      if (url !== undefined) return url
      if (fiber.unsafePoll() !== null) break
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.fail(new Error(`serve printed no URL: ${yield* Ref.get(memory.captured.stderr)}`))
  })

const licencesPerSku = (url: string) =>
  Effect.promise(async () => {
    const body = await (await fetch(`${url}/v1.0/subscribedSkus`)).json() as { value: ReadonlyArray<{ prepaidUnits: { enabled: number } }> }
    return body.value.map((sku) => sku.prepaidUnits.enabled)
  })

const runJson = (url: string) =>
  Effect.gen(function*() {
    const memory = yield* makeMemory()
    const code = yield* Cli.run({ file: onboarding, endpoint: url, json: true }).pipe(Effect.provideService(Output, memory.service))
    return { code, report: JSON.parse(yield* Ref.get(memory.captured.stdout)) as { succeeded: number; failed: number } }
  }).pipe(Effect.provide(NodeContext.layer))

describe("msgraph-emulator and msgraph-batch serve share their defaults", () => {
  it.live("msgraph-emulator with only --port carries an onboarding of 30 users (more than 25 licences of one SKU)", () =>
    Effect.gen(function*() {
      const url = yield* emulatorBin(["--port", "0"])
      const { code, report } = yield* runJson(url)
      assert.deepStrictEqual({ code, succeeded: report.succeeded, failed: report.failed }, { code: 0, succeeded: 2 + 4 * users, failed: 0 })
    }).pipe(Effect.scoped), 120_000)

  it.live("both offer the same licences per SKU, by default and with --licenses", () =>
    Effect.gen(function*() {
      for (const [flags, expected] of [[[], EmulatorServer.serveDefaults.licenses], [["--licenses", "7"], 7]] as const) {
        const args = ["--port", "0", "--latency", "none", ...flags]
        const [fromBin, fromServe] = yield* Effect.all([
          Effect.flatMap(emulatorBin(args), licencesPerSku),
          Effect.flatMap(serveCommand(args), licencesPerSku)
        ], { concurrency: 2 }).pipe(Effect.scoped)
        assert.isAbove(fromBin.length, 0)
        assert.deepStrictEqual(fromBin, fromBin.map(() => expected), `msgraph-emulator ${args.join(" ")}`)
        assert.deepStrictEqual(fromServe, fromBin, `msgraph-batch serve ${args.join(" ")}`)
      }
    }), 120_000)

  it.live("both read --load-ceiling: a batch of three reads with a ceiling of 2 has one answered 503 with Retry-After", () =>
    Effect.gen(function*() {
      const args = ["--port", "0", "--latency", "none", "--load-ceiling", "2"]
      const [fromBin, fromServe] = yield* Effect.all([
        Effect.flatMap(emulatorBin(args), refusedByLoad),
        Effect.flatMap(serveCommand(args), refusedByLoad)
      ], { concurrency: 2 }).pipe(Effect.scoped)
      assert.deepStrictEqual(fromBin, [{ status: 503, retryAfter: "1" }], "msgraph-emulator")
      assert.deepStrictEqual(fromServe, fromBin, "msgraph-batch serve")
    }), 120_000)
})

/** The 503s of one batch of three reads of `/me`, with their Retry-After. */
const refusedByLoad = (url: string) =>
  Effect.promise(async () => {
    const requests = ["1", "2", "3"].map((id) => ({ id, method: "GET", url: "/me" }))
    const answer = await fetch(`${url}/v1.0/$batch`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ requests }) })
    const body = await answer.json() as { responses: ReadonlyArray<{ status: number; headers: Record<string, string> }> }
    return body.responses.filter((r) => r.status === 503).map((r) => ({ status: r.status, retryAfter: r.headers["Retry-After"] }))
  })
