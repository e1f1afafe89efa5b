import { describe, expect, it } from "@effect/vitest"
import type * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as GCE from "@effect-msgraph/core/GraphClientError"
import * as OutcomeRecord from "@effect-msgraph/core/OutcomeRecord"
import { Either, FastCheck as fc, Schema } from "effect"

const success = (extra: Partial<GraphClient.Success> = {}): GraphClient.Success => ({
  _tag: "Success",
  id: "create-ada",
  status: 201,
  headers: {},
  body: undefined,
  attempts: 1,
  ...extra
})

/** A record as it travels: through JSON text and back. */
const viaText = (record: OutcomeRecord.OutcomeRecord) => Schema.decodeUnknownSync(OutcomeRecord.OutcomeRecord)(JSON.parse(JSON.stringify(record)))

describe("OutcomeRecord.fromOutcome", () => {
  it("keeps the id, status, attempts, the headers a user needs (lower-cased) and a JSON body inline", () => {
    const record = OutcomeRecord.fromOutcome(success({
      headers: {
        Location: "https://graph.microsoft.com/v1.0/users/42",
        "request-id": "r-1",
        "client-request-id": "c-1",
        ETag: "W/\"1\"",
        "Content-Type": "application/json;odata.metadata=minimal",
        "x-ms-ags-diagnostic": "{\"ServerInfo\":{}}",
        "Cache-Control": "no-cache"
      },
      body: { id: "42", userPrincipalName: "ada@contoso.com" }
    }))
    expect(record).toStrictEqual({
      id: "create-ada",
      status: 201,
      attempts: 1,
      headers: {
        location: "https://graph.microsoft.com/v1.0/users/42",
        "request-id": "r-1",
        "client-request-id": "c-1",
        etag: "W/\"1\"",
        "content-type": "application/json;odata.metadata=minimal"
      },
      body: { id: "42", userPrincipalName: "ada@contoso.com" }
    })
  })

  it("never keeps a credential: Authorization, cookies and authentication challenges are dropped", () => {
    const record = OutcomeRecord.fromOutcome(success({
      headers: { Authorization: "Bearer secret-token", "Set-Cookie": "session=secret", "WWW-Authenticate": "Bearer realm=x", "request-id": "r" }
    }))
    expect(record.headers).toStrictEqual({ "request-id": "r" })
    expect(JSON.stringify(record)).not.toMatch(/secret/)
  })

  it("writes a body whose Content-Type is not JSON as base64, as the $batch wire does", () => {
    const bytes = new TextEncoder().encode("BEGIN:VCARD")
    const record = OutcomeRecord.fromOutcome(success({ status: 200, headers: { "Content-Type": "text/vcard" }, body: bytes }))
    expect(record.body).toBe(Buffer.from(bytes).toString("base64"))
    expect(record.headers).toStrictEqual({ "content-type": "text/vcard" })
  })

  it("leaves out headers and body when the response had none", () => {
    expect(OutcomeRecord.fromOutcome(success({ status: 204 }))).toStrictEqual({ id: "create-ada", status: 204, attempts: 1 })
  })

  it("a failure Graph answered: its status, the error's tag, Graph's code and message, and the answer's headers and body", () => {
    const body = { error: { code: "Request_ResourceNotFound", message: "Resource 'x' does not exist", innerError: { "request-id": "r-9" } } }
    const record = OutcomeRecord.fromOutcome({
      _tag: "Failure",
      id: "ghost",
      attempts: 1,
      error: new GCE.GraphRequestError({ id: "ghost", status: 404, code: "Request_ResourceNotFound", message: "Resource 'x' does not exist", requestId: "r-9" }),
      response: { id: "ghost", status: 404, headers: { "request-id": "r-9", "Content-Type": "application/json" }, body }
    })
    expect(record).toStrictEqual({
      id: "ghost",
      status: 404,
      attempts: 1,
      error: { tag: "GraphRequestError", code: "Request_ResourceNotFound", message: "Resource 'x' does not exist" },
      headers: { "request-id": "r-9", "content-type": "application/json" },
      body
    })
  })

  it("failures without an answer of their own: 424 for a failed dependency, the batch's status, else 0", () => {
    const failure = (error: GraphClient.Failure["error"]): GraphClient.Failure => ({ _tag: "Failure", id: "x", attempts: 0, error })
    const dependent = OutcomeRecord.fromOutcome(failure(new GCE.DependencyFailed({ id: "x", dependency: "ghost", status: 404 })))
    expect(dependent).toMatchObject({ status: 424, error: { tag: "DependencyFailed", code: null, dependency: "ghost" } })
    expect(dependent.error!.message).toMatch(/ghost failed with 404/)
    const unknown = OutcomeRecord.fromOutcome(failure(new GCE.UnknownOutcome({ id: "x", method: "POST", cause: "BatchTransportError" })))
    expect(unknown).toMatchObject({ status: 0, error: { tag: "UnknownOutcome", code: null } })
    const rejected = OutcomeRecord.fromOutcome(failure(new GCE.BatchRejected({ batchId: "b", status: 400, error: { code: "BadRequest", message: "no" } })))
    expect(rejected).toMatchObject({ status: 400, error: { tag: "BatchRejected", code: "BadRequest" } })
    expect(unknown.headers).toBeUndefined()
  })

  it.prop("a record read back from its JSON text gives the response it was made from", {
    status: fc.integer({ min: 200, max: 299 }),
    json: fc.boolean(),
    text: fc.jsonValue(),
    bytes: fc.uint8Array({ maxLength: 64 })
  }, ({ bytes, json, status, text }) => {
    const headers = json ? { "Content-Type": "application/json" } : { "Content-Type": "application/octet-stream" }
    // a JSON body as JSON.parse gives it back (no -0, which JSON writes as 0)
    const body = json ? JSON.parse(JSON.stringify(text) ?? "null") : bytes
    const record = viaText(OutcomeRecord.fromOutcome(success({ status, headers, body })))
    const response = Either.getOrThrow(OutcomeRecord.toResponse(record))
    expect(response.status).toBe(status)
    expect(response.headers).toStrictEqual({ "content-type": headers["Content-Type"] })
    if (json) expect(response.body).toStrictEqual(body)
    else expect(Array.from(response.body as Uint8Array)).toStrictEqual(Array.from(bytes))
  })
})
