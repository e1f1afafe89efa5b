// `--out` at scale, on the library path: 100,000 outcomes of a run streamed through the CLI's
// results writer to a real file. The endpoint is a fake `$batch` endpoint answering every item at
// once (the in-process emulator takes minutes for 100,000 requests on a shared machine; the writer
// sees the same outcomes either way).
import { describe, expect, it } from "@effect/vitest"
import * as GraphClient from "@effect-msgraph/core/GraphClient"
import * as TokenProvider from "@effect-msgraph/core/TokenProvider"
import type { WorkloadRequest } from "@effect-msgraph/core/Workload"
import { Results } from "@effect-msgraph/cli"
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fakeBatch } from "./utils/fakeBatch.js"

const N = 100_000

/** Every write to an opened file, and whether the run had ended (its summary arrived) when it came. */
interface Write {
  readonly bytes: number
  readonly lines: number
  readonly afterSummary: boolean
}

const recordingFileSystem = (writes: Array<Write>, ended: () => boolean) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (real) => ({
      ...real,
      open: (file: string, options?: FileSystem.OpenFileOptions) =>
        Effect.map(real.open(file, options), (handle) =>
          Object.assign(Object.create(handle) as FileSystem.File, {
            writeAll: (bytes: Uint8Array) => {
              let lines = 0
              for (const byte of bytes) if (byte === 10) lines++
              writes.push({ bytes: bytes.length, lines, afterSummary: ended() })
              return handle.writeAll(bytes)
            }
          }))
    }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

describe("Results: a 100,000-request run written as NDJSON", () => {
  it.live("writes 100,000 valid lines, every id once, in bounded writes made while the run goes on", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-results-")), "results.ndjson")
    const workload: Array<WorkloadRequest> = Array.from({ length: N }, (_, i) => ({ id: `r${i}`, method: "GET", url: "/me/insights/used" }))
    const writes: Array<Write> = []
    let ended = false
    const client = GraphClient.layer().pipe(
      Layer.provide(Layer.mergeAll(
        TokenProvider.layerStatic("fake-token"),
        GraphClient.layerUnthrottled,
        fakeBatch(() => ({ _tag: "Items", item: () => undefined })).layer
      ))
    )
    return Effect.gen(function*() {
      const graph = yield* GraphClient.GraphClient
      const summary = yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* Results.toFile(file)
        // nothing here sleeps (the fake answers at once, no admission), and the file is real I/O,
        // which a virtual clock's world cannot wait for: the run goes on the ordinary runtime
        const last = yield* graph.run(workload).pipe(
          Stream.runFoldEffect(undefined as GraphClient.Summary | undefined, (last, event) => {
            if (event._tag === "Summary") {
              ended = true
              return Effect.succeed(event)
            }
            return Effect.as(writer.write(event), last)
          })
        )
        yield* writer.flush
        return last
      }))
      expect(summary?.succeeded).toBe(N)

      const lines = fs.readFileSync(file, "utf8").split("\n")
      expect(lines.pop()).toBe("")
      expect(lines).toHaveLength(N)
      const ids = new Set<string>()
      let longest = 0
      for (const text of lines) {
        const record = JSON.parse(text) as { id: string; status: number; headers: Record<string, string> }
        expect(record.status).toBe(200)
        ids.add(record.id)
        longest = Math.max(longest, Buffer.byteLength(text) + 1)
      }
      expect(ids).toEqual(new Set(workload.map((r) => r.id)))

      // bounded: no write holds more than the buffer and one line (UTF-16 units count one byte or
      // more each, so the buffer's bytes are at least its units)...
      expect(writes.reduce((n, w) => n + w.lines, 0)).toBe(N)
      for (const w of writes) expect(w.bytes).toBeLessThanOrEqual(3 * Results.defaultBufferBytes + longest)
      expect(Math.max(...writes.map((w) => w.lines))).toBeLessThan(N / 10)
      // ...and the file grew while the run went on: only the last flush came after its end
      expect(writes.filter((w) => w.afterSummary).length).toBeLessThanOrEqual(1)
      expect(writes.length).toBeGreaterThan(10)
    }).pipe(Effect.provide(Layer.merge(client, recordingFileSystem(writes, () => ended))))
  }, 240_000)
})
