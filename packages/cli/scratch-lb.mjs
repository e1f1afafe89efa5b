import { Effect } from "effect"
import * as WorkloadFile from "./build/src/WorkloadFile.js"
import * as LowerBound from "./build/src/LowerBound.js"
import * as Simulation from "./build/src/Simulation.js"
import { LimitCatalog } from "@effect-msgraph/core"
import { NodeContext } from "@effect/platform-node"
const mb = () => { global.gc(); return (process.memoryUsage().heapUsed / 1e6).toFixed(0) + "MB" }
const loaded = await Effect.runPromise(WorkloadFile.load("/tmp/soak/w.ndjson").pipe(Effect.provide(NodeContext.layer)))
const w = loaded.workload
console.log("loaded", w.length, mb())
let peak = 0; const iv = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed) }, 5)
const t = Date.now()
const ids = new Set(w.map(r => r.id))
const b = LowerBound.fromWorkload(w, new LimitCatalog.ClassifyContext({ tenantId: "tenant", appId: "app", delegated: true, tenantSize: "M" }), undefined, { latency: Simulation.latencyProfile("realistic"), failed: (id) => ids.has(id) })
clearInterval(iv)
console.log("bound", Date.now() - t, "ms", b.durationLowerBoundMs ?? "", "peak during", (peak/1e6).toFixed(0)+"MB", "after", mb())
