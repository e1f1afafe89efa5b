/**
 * The built `msgraph-batch` executable as a real child process, for the tests that need signals,
 * exit codes and what it prints: started in a scope (killed with SIGKILL when the scope closes
 * before it exits), its output collected as it comes.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root. */
export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..")
/** The built executable. */
export const bin = path.join(repo, "packages", "cli", "build", "src", "bin.js")

/** A started process: what it has printed so far, and its exit code once it exits. */
export interface Child {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exit: Promise<number | null>
}

/** Starts `msgraph-batch` with these arguments, from the repository's root. */
export const start = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      assert.isTrue(fs.existsSync(bin), `${bin} is missing: run \`npx tsc -b\` first`)
      const child = spawn(process.execPath, [bin, ...args], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] })
      let out = ""
      let err = ""
      child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()))
      child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()))
      const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      return { child, stdout: () => out, stderr: () => err, exit }
    }),
    ({ child }) => Effect.sync(() => void (child.exitCode === null && child.kill("SIGKILL")))
  )

/** A real-time wait for something the process does; the test's timeout bounds it. */
export const until = (condition: () => boolean) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      const check = () => (condition() ? resolve() : setTimeout(check, 5))
      check()
    })
  )
