import { describe } from "@effect/vitest"
import { quotaStoreSuite } from "../../core/test/suites/quotaStore.js"
import { throttlerProperties } from "../../core/test/suites/throttlerProperties.js"
import { whenRedis } from "./redisServer.js"
import { redisTarget, useRedis } from "./target.js"

// the contract and the Throttler properties the in-memory store passes, on a real redis-server
whenRedis(() => {
  const target = redisTarget(useRedis())
  quotaStoreSuite(target)
  describe("Throttler properties over Redis (TestClock, random workloads)", () => {
    throttlerProperties(target, 30)
  })
})
