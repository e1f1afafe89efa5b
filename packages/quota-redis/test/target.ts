/**
 * The Redis store as a target of the core suites: one redis-server and one connection per test
 * file, a fresh namespace (so fresh keys) per store, and the caller's clock so that virtual time
 * drives the buckets. Calls in flight are counted so that the suites can wait for their answers.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "ioredis"
import type { StoreTarget, TestStore } from "../../core/test/suites/quotaStore.js"
import * as RedisQuotaStore from "../src/RedisQuotaStore.js"
import { type RedisServer, startRedis } from "./redisServer.js"

/** Starts a server before the file's tests and stops it after them. */
export const useRedis = () => {
  const state: { server: RedisServer | undefined; client: Redis | undefined } = { server: undefined, client: undefined }
  beforeAll(async () => {
    state.server = await startRedis()
    state.client = new Redis(state.server.url)
  })
  afterAll(async () => {
    await state.client?.quit()
    await state.server?.stop()
  })
  return state
}

let namespaces = 0

/** A namespace no other store in this process has used. */
export const freshNamespace = (label = "t") => `${label}${process.pid}-${++namespaces}`

/** The suites' view of Redis stores built on `state`'s connection. */
export const redisTarget = (state: ReturnType<typeof useRedis>): StoreTarget => {
  let inflight = 0
  const count = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      inflight++
      return Effect.ensuring(effect, Effect.sync(() => inflight--))
    })
  const counted = (store: RedisQuotaStore.RedisQuotaStore): TestStore => ({
    ...store,
    take: (entries, now) => count(store.take(entries, now)),
    release: (entries, now) => count(store.release(entries, now)),
    pause: (entries, until, now) => count(store.pause(entries, until, now)),
    adjust: (entries, adjustment, now) => count(store.adjust(entries, adjustment, now))
  })
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
  const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1))
  return {
    name: "RedisQuotaStore on a real redis-server",
    make: (options) =>
      RedisQuotaStore.make({ ...options, client: state.client!, namespace: freshNamespace("suite"), clock: "caller" }).pipe(
        Effect.orDie,
        Effect.map(counted)
      ),
    // quiet for a timer tick and a check turn in a row: answers and the fibers they resume have run
    settle: Effect.promise(async () => {
      for (let quiet = 0; quiet < 2;) {
        if (inflight > 0) {
          quiet = 0
          await turn()
        } else {
          quiet++
          await (quiet === 1 ? tick() : turn())
        }
      }
    }),
    local: false
  }
}
