import { HttpClient, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Clock, type Duration, Effect, Layer } from "effect"

const json = { "content-type": "application/json" }

/** The ids of the items of a `$batch` request, in order. */
export const batchIds = (request: HttpClientRequest.HttpClientRequest): ReadonlyArray<string> => {
  const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "{}"
  return (JSON.parse(text) as { requests: ReadonlyArray<{ id: string }> }).requests.map((r) => r.id)
}

/** A `$batch` answer: 200 carrying these item answers as JSON. */
export const batchAnswer = (
  request: HttpClientRequest.HttpClientRequest,
  responses: ReadonlyArray<{ readonly id: string; readonly status: number; readonly headers?: Record<string, string>; readonly body: unknown }>
): HttpClientResponse.HttpClientResponse =>
  HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ responses }), { status: 200, headers: json }))

/** One `$batch` call the fake received: when (virtual time) and the ids of its items. */
export interface Call {
  readonly at: number
  readonly ids: ReadonlyArray<string>
}

/** How the fake answers a call: the whole batch, or each item (200 with an empty body unless said). */
export type Answer =
  | { readonly _tag: "Batch"; readonly status: number; readonly headers?: Record<string, string> }
  | {
    readonly _tag: "Items"
    readonly item: (id: string) => { readonly status: number; readonly headers?: Record<string, string> } | undefined
  }

/**
 * A `$batch` endpoint as an `HttpClient`, answering each call with `answer(call, index)` at once
 * (or after `latency`), and recording the calls.
 */
export const fakeBatch = (answer: (call: Call, index: number) => Answer, latency?: Duration.DurationInput) => {
  const calls: Array<Call> = []
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.gen(function*() {
        const call: Call = { at: yield* Clock.currentTimeMillis, ids: batchIds(request) }
        calls.push(call)
        const decided = answer(call, calls.length - 1)
        if (latency !== undefined) yield* Effect.sleep(latency)
        if (decided._tag === "Batch") {
          const body = { error: { code: "TooManyRequests", message: "fake batch-level answer" } }
          return HttpClientResponse.fromWeb(
            request,
            new Response(JSON.stringify(body), { status: decided.status, headers: { ...json, ...decided.headers } })
          )
        }
        const responses = call.ids.map((id) => {
          const item = decided.item(id) ?? { status: 200 }
          return { id, status: item.status, headers: { ...json, ...item.headers }, body: item.status < 300 ? { id } : { error: { code: "x", message: "x" } } }
        })
        return batchAnswer(request, responses)
      })
    )
  )
  return { calls, layer }
}
