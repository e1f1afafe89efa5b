import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { Latency } from "../src/index.js"

const model = fc.record({ baseMillis: fc.nat(1_000), jitterMillis: fc.nat(1_000) })
const profile: fc.Arbitrary<Latency.Profile> = fc.record({
  roundTrip: model,
  services: fc.record(Object.fromEntries(Latency.serviceNames.map((name) => [name, model])) as Record<Latency.ServiceName, fc.Arbitrary<Latency.LatencyModel>>)
})

describe("Latency.atMean", () => {
  it.prop("every latency becomes its mean, with no jitter left", [profile], ([p]) => {
    const mean = Latency.atMean(p)
    expect(mean.roundTrip).toEqual({ baseMillis: Latency.expected(p.roundTrip), jitterMillis: 0 })
    for (const name of Latency.serviceNames) {
      expect(mean.services[name]).toEqual({ baseMillis: Latency.expected(p.services[name]), jitterMillis: 0 })
      // never below the least: a bound counted on it is at least the bound on least latencies
      expect(Latency.least(mean.services[name])).toBeGreaterThanOrEqual(Latency.least(p.services[name]))
    }
  })

  it("the realistic profile's Outlook item: 60 to 300 ms, mean 180 ms", () => {
    expect(Latency.atMean(Latency.realistic).services.outlook).toEqual({ baseMillis: 180, jitterMillis: 0 })
  })
})
