import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { notSentCode } from "../src/internal/client/transport.js"

const sysError = (code: string, syscall?: string) => Object.assign(new Error(code), { code, ...(syscall ? { syscall } : {}) })
const wrap = (cause: unknown) => new Error("Transport error", { cause })

describe("transport.notSentCode: did any byte of the request leave the process?", () => {
  it("a refused or unreachable connect, a failed lookup and undici's connect timeout were never sent", () => {
    expect(notSentCode(wrap(sysError("ECONNREFUSED", "connect")))).toBe("ECONNREFUSED")
    expect(notSentCode(wrap(sysError("EHOSTUNREACH", "connect")))).toBe("EHOSTUNREACH")
    expect(notSentCode(wrap(sysError("ENOTFOUND", "getaddrinfo")))).toBe("ENOTFOUND")
    expect(notSentCode(wrap(sysError("EAI_AGAIN", "getaddrinfo")))).toBe("EAI_AGAIN")
    expect(notSentCode(wrap(sysError("UND_ERR_CONNECT_TIMEOUT")))).toBe("UND_ERR_CONNECT_TIMEOUT")
  })

  it("a rejected server certificate was never sent; other TLS errors may come after the request", () => {
    expect(notSentCode(wrap(sysError("DEPTH_ZERO_SELF_SIGNED_CERT")))).toBe("DEPTH_ZERO_SELF_SIGNED_CERT")
    expect(notSentCode(wrap(sysError("ERR_TLS_CERT_ALTNAME_INVALID")))).toBe("ERR_TLS_CERT_ALTNAME_INVALID")
    expect(notSentCode(wrap(sysError("UNABLE_TO_VERIFY_LEAF_SIGNATURE")))).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE")
    expect(notSentCode(wrap(sysError("EPROTO", "write")))).toBeUndefined()
    expect(notSentCode(wrap(sysError("ERR_SSL_WRONG_VERSION_NUMBER")))).toBeUndefined()
  })

  it("a reset, a closed socket, an abort or an unknown error may have been sent", () => {
    expect(notSentCode(wrap(sysError("ECONNRESET", "read")))).toBeUndefined()
    expect(notSentCode(wrap(sysError("UND_ERR_SOCKET")))).toBeUndefined()
    expect(notSentCode(wrap(sysError("ETIMEDOUT", "read")))).toBeUndefined()
    expect(notSentCode(new Error("boom"))).toBeUndefined()
    expect(notSentCode(undefined)).toBeUndefined()
    expect(notSentCode("ECONNREFUSED")).toBeUndefined()
  })

  it("fetch's TypeError and Node's AggregateError: not sent only when every address failed to connect", () => {
    expect(notSentCode(new TypeError("fetch failed", { cause: sysError("ECONNREFUSED", "connect") }))).toBe("ECONNREFUSED")
    const all = new AggregateError([sysError("ECONNREFUSED", "connect"), sysError("ENETUNREACH", "connect")])
    expect(notSentCode(wrap(all))).toBe("ECONNREFUSED")
    const mixed = new AggregateError([sysError("ECONNREFUSED", "connect"), sysError("ECONNRESET", "read")])
    expect(notSentCode(wrap(mixed))).toBeUndefined()
  })

  it("a cyclic cause chain ends, as sent", () => {
    const a: Error & { cause?: unknown } = new Error("a")
    const b = new Error("b", { cause: a })
    a.cause = b
    expect(notSentCode(a)).toBeUndefined()
  })

  it.prop("an error that may have been sent stays sent, however deeply it is wrapped", [
    fc.constantFrom("ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_ABORTED", "EPROTO"),
    fc.constantFrom(undefined, "read", "write"),
    fc.integer({ min: 0, max: 10 })
  ], ([code, syscall, depth]) => {
    let error: unknown = sysError(code, syscall)
    for (let i = 0; i < depth; i++) error = wrap(error)
    expect(notSentCode(error)).toBeUndefined()
  })

  it.prop("a connect failure is found however deeply it is wrapped", [
    fc.constantFrom("ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EADDRNOTAVAIL"),
    fc.integer({ min: 0, max: 10 })
  ], ([code, depth]) => {
    let error: unknown = sysError(code, "connect")
    for (let i = 0; i < depth; i++) error = wrap(error)
    expect(notSentCode(error)).toBe(code)
  })
})
