import { describe } from "@effect/vitest"
import { memoryTarget } from "./suites/quotaStore.js"
import { remoteLikeTarget, throttlerProperties } from "./suites/throttlerProperties.js"

// the Redis store runs the same properties (packages/quota-redis/test)
describe("Throttler properties (TestClock, random workloads)", () => {
  throttlerProperties(memoryTarget, 30)
  throttlerProperties(remoteLikeTarget, 20)
})
