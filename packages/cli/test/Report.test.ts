import { assert, describe, it } from "@effect/vitest"
import type { GraphClient } from "@effect-msgraph/core"
import * as GCE from "@effect-msgraph/core/GraphClientError"
import { FastCheck as fc } from "effect"
import * as Report from "../src/Report.js"

const failure = (id: string, error: GraphClient.OutcomeError, attempts = 1): GraphClient.Failure => ({ _tag: "Failure", id, error, attempts })

const base: Omit<Report.FailureReport, "id" | "error" | "status" | "code" | "message"> = {
  attempts: 1,
  dependency: null,
  retryAfterMillis: null,
  requestId: null
}

describe("Report.failureOf", () => {
  it("a request-level error carries Graph's code, message and request-id", () => {
    const error = new GCE.GraphRequestError({
      id: "license-36",
      status: 400,
      code: "Request_BadRequest",
      message: "User does not have any available licenses.",
      requestId: "7c1e-42"
    })
    assert.deepStrictEqual(Report.failureOf(failure("license-36", error)), {
      ...base,
      id: "license-36",
      error: "GraphRequestError",
      status: 400,
      code: "Request_BadRequest",
      message: "User does not have any available licenses.",
      requestId: "7c1e-42"
    })
  })

  it("Throttled says how often it was tried and the Retry-After Graph last asked for", () => {
    const error = new GCE.Throttled({ id: "p", status: 429, attempts: 5, retryAfterMillis: 30_000 })
    assert.deepStrictEqual(Report.failureOf(failure("p", error, 5)), {
      ...base,
      id: "p",
      error: "Throttled",
      status: 429,
      code: null,
      message: "still answered 429 after 5 attempts, last Retry-After 30.0 s",
      attempts: 5,
      retryAfterMillis: 30_000
    })
  })

  it("Throttled at the deadline says so: never sent, or answered and not sent again before it", () => {
    const unsent = new GCE.Throttled({ id: "r1", status: 0, attempts: 0, reason: "Deadline" })
    assert.strictEqual(Report.failureOf(failure("r1", unsent, 0)).message, "not sent before the deadline")
    const answered = new GCE.Throttled({ id: "r2", status: 429, attempts: 2, retryAfterMillis: 30_000, reason: "Deadline" })
    assert.strictEqual(
      Report.failureOf(failure("r2", answered, 2)).message,
      "answered 429 after 2 attempts; the deadline came before it could be sent again, last Retry-After 30.0 s"
    )
  })

  it("DependencyFailed names the dependency that failed, with its status", () => {
    const error = new GCE.DependencyFailed({ id: "member-3", dependency: "license-3", status: 400 })
    assert.deepStrictEqual(Report.failureOf(failure("member-3", error, 0)), {
      ...base,
      id: "member-3",
      error: "DependencyFailed",
      status: 400,
      code: null,
      message: "not run: its dependency license-3 failed with 400",
      attempts: 0,
      dependency: "license-3"
    })
    const further = new GCE.DependencyFailed({ id: "welcome-3", dependency: "member-3", status: 424 })
    assert.strictEqual(Report.failureOf(failure("welcome-3", further, 0)).message, "not run: its dependency member-3 was not run either (424)")
  })

  it("UnknownOutcome says why: the batch failure", () => {
    const error = new GCE.UnknownOutcome({ id: "c", method: "POST", cause: "BatchServerError", detail: "batch r1b2 failed with 502" })
    const report = Report.failureOf(failure("c", error))
    assert.strictEqual(report.error, "UnknownOutcome")
    assert.strictEqual(report.message, "POST sent, may or may not have run: batch r1b2 failed with 502")
  })

  it("batch-level failures give their reason: Graph's error, the status and Retry-After, the transport or decoding failure", () => {
    const rejected = Report.failureOf(failure("a", new GCE.BatchRejected({ batchId: "b1", status: 400, error: { code: "BadRequest", message: "Invalid batch payload." } })))
    assert.deepStrictEqual([rejected.status, rejected.code, rejected.message], [400, "BadRequest", "batch b1 rejected with 400: Invalid batch payload."])
    const server = Report.failureOf(failure("a", new GCE.BatchServerError({ batchId: "b2", status: 503, retryAfterMillis: 2_000 })))
    assert.deepStrictEqual([server.status, server.retryAfterMillis, server.message], [503, 2_000, "batch b2 failed with 503, last Retry-After 2.0 s"])
    const transport = Report.failureOf(failure("a", new GCE.BatchTransportError({ batchId: "b3", sent: true, description: "connection reset" })))
    assert.deepStrictEqual([transport.status, transport.message], [null, "batch b3: transport failure (connection reset)"])
    const decode = Report.failureOf(failure("a", new GCE.BatchDecodeError({ batchId: "b4", description: "malformed JSON", missing: ["a"] })))
    assert.strictEqual(decode.message, "batch b4: malformed JSON")
  })
})

const graphError = (id: string, code: string, status = 400): Report.FailureReport =>
  Report.failureOf(failure(id, new GCE.GraphRequestError({ id, status, code, message: `${code} for ${id}` })))

describe("Report.renderFailures", () => {
  it("groups by error and code with counts, largest first, and shows at most 5 examples per group", () => {
    const failures = [
      graphError("x-0", "Request_ResourceNotFound", 404),
      ...Array.from({ length: 12 }, (_, i) => graphError(`license-${i}`, "Request_BadRequest")),
      Report.failureOf(failure("member-0", new GCE.DependencyFailed({ id: "member-0", dependency: "license-0", status: 400 }), 0))
    ]
    assert.strictEqual(
      Report.renderFailures(failures),
      [
        "Failures (14, by error and code; --json lists them all):",
        "  GraphRequestError 400 Request_BadRequest: 12",
        "    license-0: Request_BadRequest for license-0",
        "    license-1: Request_BadRequest for license-1",
        "    license-2: Request_BadRequest for license-2",
        "    license-3: Request_BadRequest for license-3",
        "    license-4: Request_BadRequest for license-4",
        "    ... and 7 more",
        "  GraphRequestError 404 Request_ResourceNotFound: 1",
        "    x-0: Request_ResourceNotFound for x-0",
        "  DependencyFailed 400: 1",
        "    member-0: not run: its dependency license-0 failed with 400",
        ""
      ].join("\n")
    )
    assert.strictEqual(Report.renderFailures([]), "")
  })

  it.prop(
    "stays short however many failures: at most 10 groups of at most 5 examples",
    { codes: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 2_000 }) },
    ({ codes }) => {
      const text = Report.renderFailures(codes.map((c, i) => graphError(`r${i}`, `Code_${c}`)))
      const lines = text.trimEnd().split("\n")
      const groups = new Set(codes).size
      assert.strictEqual(lines.filter((l) => /^ {2}GraphRequestError/.test(l)).length, Math.min(groups, 10))
      assert.isAtMost(lines.length, 1 + 10 * 7 + 1)
      assert.strictEqual(lines.at(-1)!.startsWith("  ... "), groups > 10)
    }
  )

  it("escapes ids, codes and messages: an id cannot clear the screen or start a line of its own", () => {
    const text = Report.renderFailures([graphError("x\u001b[2J\nsucceeded 999", "Code\u009b31m")])
    // the table's own line breaks only: a header, the group and its one example
    assert.notMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
    assert.strictEqual(text.split("\n").length, 4)
    assert.isFalse(text.split("\n").some((line) => line.startsWith("succeeded")))
    assert.include(text, "x\\u001b[2J\\nsucceeded 999: ")
    assert.include(text, "Code\\u009b31m")
  })
})

describe("Report.efficiency", () => {
  it("is the bound over the duration, 1 when both are 0, and null when the ratio says nothing", () => {
    assert.strictEqual(Report.efficiency({ failed: 0, durationMs: 2_000 }, 1_500), 0.75)
    assert.strictEqual(Report.efficiency({ failed: 0, durationMs: 0 }, 0), 1)
    assert.isNull(Report.efficiency({ failed: 0, durationMs: 0 }, 10))
    assert.isNull(Report.efficiency({ failed: 0, durationMs: 850 }, 0), "a bound of 0 measures nothing: not an efficiency of 0")
    assert.isNull(Report.efficiency({ failed: 1, durationMs: 2_000 }, 1_500))
  })
})

describe("Report.timeRows", () => {
  const base = { durationMs: 2_000, durationLowerBoundMs: 500, efficiency: 0.25 }

  it("shows the duration against the bound, and names what bounds it by kind", () => {
    const limit = Report.timeRows({
      ...base,
      boundBy: { kind: "limit", name: "teams.channel.perApp", key: "teams/app/channel-1", detail: "teams/app/channel-1: 2 units at 1 per 1 s", ms: 500 }
    })
    assert.deepStrictEqual(limit, [
      ["Duration", "2.0 s", "lower bound 500 ms, efficiency 25.0%"],
      ["Bound by", "limit", "teams.channel.perApp, teams/app/channel-1: 2 units at 1 per 1 s"]
    ])
    const path = Report.timeRows({ ...base, boundBy: { kind: "criticalPath", name: "dependencies", key: null, detail: "the chain", ms: 500 } }, "Predicted duration")
    assert.deepStrictEqual(path.map((row) => row.slice(0, 2)), [["Predicted duration", "2.0 s"], ["Bound by", "critical path"]])
    const permits = Report.timeRows({ ...base, boundBy: { kind: "concurrency", name: "outlook.mailbox.concurrent", key: "m", detail: "m: 8 requests", ms: 500 } })
    assert.strictEqual(permits[1]![1], "concurrency")
    const nothing = Report.timeRows({ durationMs: 0, durationLowerBoundMs: 0, efficiency: 1, boundBy: null })
    assert.deepStrictEqual(nothing[1], ["Bound by", "nothing", "no limit, latency or concurrency forces a wait"])
  })

  it("escapes the bucket it names: a key cannot clear the screen or start a line", () => {
    const [, row] = Report.timeRows({
      ...base,
      boundBy: { kind: "concurrency", name: "outlook\u001b[2J", key: "x\nsucceeded 999", detail: "x\nsucceeded 999: 8 requests", ms: 500 }
    })
    assert.notMatch(row![2], /[\u0000-\u001f]/)
    assert.include(row![2], "outlook\\u001b[2J, x\\nsucceeded 999: 8 requests")
  })
})

describe("Report.duration", () => {
  it("picks the unit after rounding, so no unit shows a value that belongs to the next", () => {
    assert.strictEqual(Report.duration(850), "850 ms")
    assert.strictEqual(Report.duration(999.6), "1.0 s")
    assert.strictEqual(Report.duration(12_400), "12.4 s")
    assert.strictEqual(Report.duration(59_960), "1 min")
    assert.strictEqual(Report.duration(179_600), "3 min")
    assert.strictEqual(Report.duration(603_400), "10 min 3 s")
  })

  it.prop("never shows 1000 ms, 60.0 s or 60 s within minutes, and reads back within rounding", [fc.double({ min: 0, max: 1e8, noNaN: true })], ([ms]) => {
    const text = Report.duration(ms)
    const msMatch = /^(\d+) ms$/.exec(text)
    const sMatch = /^(\d+\.\d) s$/.exec(text)
    const minMatch = /^(\d+) min(?: (\d+) s)?$/.exec(text)
    if (msMatch !== null) {
      assert.isBelow(Number(msMatch[1]), 1_000)
      assert.isAtMost(Math.abs(Number(msMatch[1]) - ms), 0.5)
    } else if (sMatch !== null) {
      assert.isBelow(Number(sMatch[1]), 60)
      assert.isAtMost(Math.abs(Number(sMatch[1]) * 1_000 - ms), 50.001)
    } else {
      assert.isNotNull(minMatch, text)
      const seconds = Number(minMatch![2] ?? 0)
      assert.isBelow(seconds, 60)
      assert.isAtMost(Math.abs((Number(minMatch![1]) * 60 + seconds) * 1_000 - ms), 500.001)
    }
  })
})
