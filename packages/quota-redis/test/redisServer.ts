/**
 * A real `redis-server` for the tests: started on a free loopback port, without persistence, and
 * stopped afterwards. When it is not on PATH the Redis tests are skipped, loudly, except under CI
 * (`CI` set), where their absence is a failure: `.ci/run` installs it.
 */
import { it } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as net from "node:net"

const onPath = (command: string): boolean => {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/** Whether `redis-server` can be started here. */
export const available: boolean = onPath("redis-server")

const ci = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"

if (!available && !ci) {
  console.warn("SKIPPED: the Redis tests need redis-server on PATH (apt-get install -y redis-server)")
}

/**
 * Registers `body` when redis-server is available. Otherwise one skipped test says so, or, under
 * CI, one failing test.
 */
export const whenRedis = (body: () => void): void => {
  if (available) return body()
  if (ci) {
    it("redis-server is on PATH (CI must run the Redis tests; .ci/run installs it)", () => {
      throw new Error("redis-server is not on PATH: the Redis tests cannot run")
    })
  } else {
    it.skip("SKIPPED: redis-server is not on PATH, so the Redis tests did not run", () => {})
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

/** A running redis-server. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly process: ChildProcess
  /** Stops answering without closing connections (SIGSTOP): a slow or hung Redis. */
  readonly freeze: () => void
  /** Answers again (SIGCONT). */
  readonly thaw: () => void
  readonly stop: () => Promise<void>
}

const startOnce = (port: number, extra: ReadonlyArray<string>): Promise<RedisServer> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) {
        child.stdout!.off("data", onData)
        child.stdout!.resume()
        resolve({
          port,
          url: `redis://127.0.0.1:${port}`,
          process: child,
          freeze: () => void child.kill("SIGSTOP"),
          thaw: () => void child.kill("SIGCONT"),
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done()
              child.once("exit", () => done())
              child.kill("SIGCONT")
              child.kill("SIGTERM")
            })
        })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.resume()
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-400)}`)))
  })

/** Starts a redis-server on a free loopback port (a few tries, in case the port is taken meanwhile). */
export const startRedis = (): Promise<RedisServer> => startRedisWith([])

/** {@link startRedis} with more arguments for the server (`--requirepass`, say). */
export const startRedisWith = async (extra: ReadonlyArray<string>): Promise<RedisServer> => {
  let last: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await startOnce(await freePort(), extra)
    } catch (error) {
      last = error
    }
  }
  throw last
}

/** How many keys match `pattern` (`KEYS`), over a bare socket: for tests without a client at hand. */
export const countKeys = (port: number, pattern: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1")
    let reply = ""
    socket.once("error", reject)
    socket.on("data", (chunk) => {
      reply += chunk.toString()
      const header = /^\*(-?\d+)\r\n/.exec(reply)
      if (header !== null) {
        socket.end()
        resolve(Math.max(0, Number(header[1])))
      }
    })
    socket.write(`*2\r\n$4\r\nKEYS\r\n$${Buffer.byteLength(pattern)}\r\n${pattern}\r\n`)
  })

/** A RESP reply: a string, an integer, `null`, or an array of replies. */
export type Reply = string | number | null | ReadonlyArray<Reply>

/** Parses one RESP reply from `text` at `at`; `undefined` while it is incomplete. */
const parseReply = (text: string, at: number): [Reply, number] | undefined => {
  const eol = text.indexOf("\r\n", at)
  if (eol < 0) return undefined
  const head = text[at]
  const rest = text.slice(at + 1, eol)
  const next = eol + 2
  switch (head) {
    case "+":
      return [rest, next]
    case "-":
      throw new Error(`redis: ${rest}`)
    case ":":
      return [Number(rest), next]
    case "$": {
      const n = Number(rest)
      if (n < 0) return [null, next]
      if (Buffer.byteLength(text.slice(next)) < n + 2) return undefined
      const value = Buffer.from(text.slice(next)).subarray(0, n).toString()
      return [value, next + value.length + 2]
    }
    case "*": {
      const n = Number(rest)
      if (n < 0) return [null, next]
      const items: Array<Reply> = []
      let pos = next
      for (let i = 0; i < n; i++) {
        const item = parseReply(text, pos)
        if (item === undefined) return undefined
        items.push(item[0])
        pos = item[1]
      }
      return [items, pos]
    }
    default:
      throw new Error(`redis: unexpected reply ${JSON.stringify(text.slice(at, at + 40))}`)
  }
}

/** Sends one command over a bare socket and resolves with its reply: for tests without a client at hand. */
export const command = (port: number, ...args: ReadonlyArray<string | number>): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1")
    let text = ""
    socket.once("error", reject)
    socket.on("data", (chunk) => {
      text += chunk.toString()
      try {
        const reply = parseReply(text, 0)
        if (reply === undefined) return
        socket.end()
        resolve(reply[0])
      } catch (error) {
        socket.end()
        reject(error)
      }
    })
    const parts = args.map(String)
    socket.write(`*${parts.length}\r\n` + parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join(""))
  })
