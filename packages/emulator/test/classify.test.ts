import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import { describe, expect, it } from "@effect/vitest"
import { fromCatalog } from "../src/internal/classify.js"
import type { ClassifyContext } from "../src/internal/engine.js"

const context = (userId: string, delegated: boolean): ClassifyContext => ({
  tenantId: "00000000-0000-0000-0000-0000000000aa",
  appId: "00000000-0000-0000-0000-0000000000bb",
  userId,
  delegated,
  tenantSize: "M",
  b2c: false
})

const requests = [
  { method: "GET", url: "/users/u1?$select=id,displayName" },
  { method: "GET", url: "/me/messages?$top=5" },
  { method: "GET", url: "/users/u2/mailFolders/inbox/messages/delta" },
  { method: "DELETE", url: "/groups/g1" },
  { method: "GET", url: "/sites/root/drive/root/children" },
  { method: "GET", url: "/teams/t1/channels" }
]

describe("the emulator's classifier", () => {
  it("answers a request without a body as the catalogue does, whether its answer was cached or not", () => {
    const classify = fromCatalog()
    const contexts = [context("u1", true), context("u2", true), context("u1", false)]
    // three passes: the first classifies, the next two read the cache
    for (let pass = 0; pass < 3; pass++) {
      for (const ctx of contexts) {
        for (const { method, url } of requests) {
          const got = classify({ method, url, bodyBytes: undefined, body: undefined, headers: {} }, ctx)
          const expected = LimitCatalog.classify(
            LimitCatalog.defaultCatalog,
            { method, url, bodyBytes: undefined },
            new LimitCatalog.ClassifyContext({ ...ctx })
          ).demands
          expect(got).toEqual(expected)
        }
      }
    }
  })

  it("classifies a request with a body by its body, never from a body-less answer to the same URL", () => {
    const classify = fromCatalog()
    const ctx = context("u1", true)
    const url = "/users/u1/sendMail"
    const bodiless = classify({ method: "POST", url, bodyBytes: undefined, body: undefined, headers: {} }, ctx)
    const body = { message: { subject: "hi" } }
    const bodyBytes = JSON.stringify(body).length
    const withBody = classify({ method: "POST", url, bodyBytes, body, headers: {} }, ctx)
    const expected = LimitCatalog.classify(
      LimitCatalog.defaultCatalog,
      { method: "POST", url, bodyBytes, body },
      new LimitCatalog.ClassifyContext({ ...ctx })
    ).demands
    expect(withBody).toEqual(expected)
    expect(bodiless).toEqual(LimitCatalog.classify(LimitCatalog.defaultCatalog, { method: "POST", url, bodyBytes: undefined }, new LimitCatalog.ClassifyContext({ ...ctx })).demands)
  })
})
