import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import * as Cli from "../../src/Cli.js"
import { capture, type Output } from "../../src/Output.js"

/** Runs a command with its output captured: the exit code, standard output and standard error. */
export const exec = (
  effect: Effect.Effect<Cli.ExitCode, never, Output | NodeContext.NodeContext>,
  options: { readonly tty?: boolean } = {}
) =>
  capture(effect, { stderrIsTTY: options.tty ?? false }).pipe(
    Effect.map(({ stderr, stdout, value }) => ({ code: value, stdout, stderr })),
    Effect.provide(NodeContext.layer)
  )

/** `msgraph-batch ARGS...`, captured as {@link exec} does. */
export const main = (...args: Array<string>) => exec(Cli.main(["node", "msgraph-batch", ...args]))
