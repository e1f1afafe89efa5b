import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures")

export const fixtureText = (name: string): string => fs.readFileSync(path.join(dir, name), "utf8")
export const fixtureJson = (name: string): any => JSON.parse(fixtureText(name))

/** Splits a printed HTTP message into headers and JSON body. */
export const httpFixture = (name: string) => {
  const text = fixtureText(name).replace(/\r\n/g, "\n")
  const split = text.indexOf("\n\n")
  const headers: Record<string, string> = {}
  for (const line of text.slice(0, split).split("\n").slice(1)) {
    const colon = line.indexOf(":")
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
  }
  return { headers, body: JSON.parse(text.slice(split + 2)) as any }
}

export const root = "https://graph.microsoft.com/v1.0"

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly text: string
  readonly json: any
}

/** Sends a request and reads its answer. */
export const answerOf = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const text = yield* response.text
    let json: any = undefined
    try {
      json = text === "" ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers as Record<string, string>, text, json } as Answer
  })

/** POSTs a raw JSON value to `$batch`. */
export const postBatch = (payload: unknown, headers: Record<string, string> = {}) =>
  answerOf(
    HttpClientRequest.post(`${root}/$batch`).pipe(
      HttpClientRequest.setHeaders(headers),
      typeof payload === "string"
        ? HttpClientRequest.bodyText(payload, "application/json")
        : HttpClientRequest.bodyUnsafeJson(payload)
    )
  )

/** POSTs `{ requests }` and returns the responses keyed by id. */
export const batch = (requests: ReadonlyArray<unknown>, headers: Record<string, string> = {}) =>
  Effect.map(postBatch({ requests }, headers), (a) => {
    const byId: Record<string, any> = {}
    for (const r of (a.json?.responses ?? []) as Array<any>) byId[r.id] = r
    return { ...a, byId, order: ((a.json?.responses ?? []) as Array<any>).map((r) => r.id as string) }
  })

/** One request outside a batch. */
export const send = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
  let request = HttpClientRequest.make(method as "GET")(`${root}${url}`).pipe(HttpClientRequest.setHeaders(headers))
  if (body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, body)
  return answerOf(request)
}

export const get = (id: string, url: string, headers?: Record<string, string>) => ({
  id,
  method: "GET",
  url,
  ...(headers === undefined ? {} : { headers })
})

export const post = (id: string, url: string, body: unknown, extra: Record<string, unknown> = {}) => ({
  id,
  method: "POST",
  url,
  body,
  headers: { "Content-Type": "application/json" },
  ...extra
})
