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

const startOnce = (port: number): Promise<RedisServer> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
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
export const startRedis = async (): Promise<RedisServer> => {
  let last: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await startOnce(await freePort())
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
