/**
 * Runs a workload with the official `@microsoft/microsoft-graph-client` (default middleware, so its
 * RetryHandler), packing requests 20 at a time with its `BatchRequestContent`.
 *
 * The SDK has no workload runner, so this does the least a user would: requests go out in waves;
 * a wave holds every request whose `dependsOn` and response references (`{{id#/pointer}}`) are
 * satisfied by earlier waves, with references substituted from the earlier responses. `dependsOn`
 * is honoured by the waves and not sent. Item-level 429s are not retried: the SDK's RetryHandler
 * only sees the `$batch` call's own status, and retrying items is not something the SDK does.
 *
 * @since 0.1.0
 */
import { type GraphClient, Workload } from "@effect-msgraph/core"
import * as Graph from "@microsoft/microsoft-graph-client"
import { performance } from "node:perf_hooks"

/**
 * @since 0.1.0
 * @category models
 */
export type OfficialResult = GraphClient.Summary

/** The requests this one must wait for: its dependsOn and the sources of its response references. */
const needsOf = (request: Workload.WorkloadRequest): Array<string> => [
  ...(request.dependsOn ?? []),
  ...Workload.references(request).map((r) => r.source)
]

/**
 * @since 0.1.0
 * @category running
 */
export const runOfficial = async (baseUrl: string, workload: Workload.Workload, concurrency: number): Promise<OfficialResult> => {
  const client = Graph.Client.init({
    authProvider: (done) => done(null, "bench-token"),
    baseUrl: `${baseUrl}/`,
    defaultVersion: "v1.0"
  })
  const started = performance.now()
  const responses = new Map<string, Workload.ReferencedResponse>()
  const ok = new Set<string>()
  const settled = new Set<string>()
  let failed = 0
  let throttled429 = 0
  let batches = 0
  let waves = 0
  let pending = [...workload]
  while (pending.length > 0) {
    const ready: Array<Workload.WorkloadRequest> = []
    const waiting: Array<Workload.WorkloadRequest> = []
    for (const request of pending) {
      const needs = needsOf(request)
      if (needs.some((id) => settled.has(id) && !ok.has(id))) {
        settled.add(request.id)
        failed++
      } else if (needs.every((id) => ok.has(id))) ready.push(request)
      else waiting.push(request)
    }
    if (ready.length === 0) {
      // whatever is left depends on something that failed in this pass; settle it next pass
      if (waiting.length === pending.length) {
        failed += waiting.length
        break
      }
      pending = waiting
      continue
    }
    waves++
    const chunks: Array<Array<Workload.WorkloadRequest>> = []
    for (let i = 0; i < ready.length; i += 20) chunks.push(ready.slice(i, i + 20))
    let next = 0
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!
        const steps = chunk.flatMap((request) => {
          // response references are substituted the way this library's client does
          const resolved = Workload.resolve(request, (id) => responses.get(id))
          if (resolved._tag === "Left") {
            settled.add(request.id)
            failed++
            return []
          }
          const url = resolved.right.url.replace(/^\//, "")
          const body = resolved.right.body === undefined ? undefined : JSON.stringify(resolved.right.body)
          const headers: Record<string, string> = { ...(request.headers ?? {}) }
          if (body !== undefined) headers["Content-Type"] = "application/json"
          return [{
            id: request.id,
            request: new Request(`https://graph.microsoft.com/${url}`, {
              method: request.method,
              headers,
              ...(body === undefined ? {} : { body })
            })
          }]
        })
        if (steps.length === 0) continue
        const content = new Graph.BatchRequestContent(steps)
        batches++
        let answer: Graph.BatchResponseContent | undefined
        try {
          answer = new Graph.BatchResponseContent(await client.api("/$batch").post(await content.getContent()))
        } catch {
          answer = undefined
        }
        for (const request of chunk) {
          if (settled.has(request.id)) continue
          settled.add(request.id)
          const response = answer?.getResponseById(request.id)
          if (response === undefined) {
            failed++
            continue
          }
          const status = response.status
          if (status === 429) throttled429++
          if (status < 400 || (request.acceptStatuses ?? []).includes(status)) {
            ok.add(request.id)
            let body: unknown = undefined
            try {
              body = await response.json()
            } catch {
              body = undefined
            }
            responses.set(request.id, { status, body })
          } else failed++
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    pending = waiting
  }
  return {
    _tag: "Summary",
    requests: workload.length,
    succeeded: ok.size,
    failed,
    throttled429,
    retries: 0,
    batches,
    roundTrips: waves,
    durationMs: Math.round(performance.now() - started)
  }
}
