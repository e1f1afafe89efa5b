#!/usr/bin/env node
/**
 * The `msgraph-batch` executable: see `Cli.ts` and docs/cli.md.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Cli from "./Cli.js"
import * as Output from "./Output.js"

NodeRuntime.runMain(
  Cli.main(process.argv).pipe(
    Effect.flatMap((code) => Effect.sync(() => void (process.exitCode = code))),
    Effect.provide(Layer.merge(NodeContext.layer, Output.layerNode))
  ),
  { disableErrorReporting: false }
)
