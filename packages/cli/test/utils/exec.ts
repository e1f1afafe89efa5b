import { NodeContext } from "@effect/platform-node"
import { Effect, Ref } from "effect"
import * as Cli from "../../src/Cli.js"
import { makeMemory, Output } from "../../src/Output.js"

/** Runs a command with its output captured: the exit code, standard output and standard error. */
export const exec = (effect: Effect.Effect<Cli.ExitCode, never, Output | NodeContext.NodeContext>) =>
  Effect.gen(function*() {
    const memory = yield* makeMemory()
    const code = yield* Effect.provideService(effect, Output, memory.service)
    return { code, stdout: yield* Ref.get(memory.captured.stdout), stderr: yield* Ref.get(memory.captured.stderr) }
  }).pipe(Effect.provide(NodeContext.layer))

/** `msgraph-batch ARGS...`, captured as {@link exec} does. */
export const main = (...args: Array<string>) => exec(Cli.main(["node", "msgraph-batch", ...args]))
