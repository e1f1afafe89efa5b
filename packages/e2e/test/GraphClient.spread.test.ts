// Live batches spread across mailboxes, in virtual time: a mailbox sync where one mailbox has far
// more requests than the others does not fill the client's window of live batches with that
// mailbox's backlog (waiting for its four Outlook permits) while the others wait to be handed out.
import { describe, expect, it } from "@effect/vitest"
import { Examples, Simulation } from "@effect-msgraph/cli"
import { Clock, Effect } from "effect"

describe("live batches across mailboxes", () => {
  it.effect("one mailbox of 6,000 requests and 11 of 200: the small mailboxes run alongside the big one, not after its backlog", () =>
    Effect.gen(function*() {
      // 6,000 requests are 300 batches, more than the 128 the client keeps alive: in workload order
      // every live batch would be the big mailbox's until its last 2,560 requests were handed out
      const workload = Examples.mailboxSync({ mailboxes: 12, busy: 1, busyRequests: 6_000, quietRequests: 200 })
      const settled = new Map<number, { first: number; last: number; count: number }>()
      const bigAt: Array<number> = []
      const result = yield* Simulation.simulate(workload, {
        onOutcome: (outcome) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            const m = /^sync-(\d+)-/.exec(outcome.id)
            if (m === null) return
            const mailbox = Number(m[1])
            if (mailbox === 0) bigAt.push(now)
            const seen = settled.get(mailbox)
            if (seen === undefined) settled.set(mailbox, { first: now, last: now, count: 1 })
            else settled.set(mailbox, { first: seen.first, last: now, count: seen.count + 1 })
          })
      })
      expect(result.summary.failed).toBe(0)
      expect(result.summary.throttled429).toBe(0)
      expect(result.report.limitViolations).toBe(0)
      expect(settled.size).toBe(12)
      expect(bigAt.length).toBe(6_000)
      // by the time a quarter of the big mailbox had settled, every small mailbox had finished
      const quarter = bigAt[1_500]!
      for (let m = 1; m < 12; m++) {
        expect(settled.get(m)!.count).toBe(200)
        expect(settled.get(m)!.last).toBeLessThan(quarter)
      }
      // from the start, the batches going out covered every mailbox: each had an answer before the
      // big one's first 200 requests (10 of its 300 batches) had settled
      for (let m = 1; m < 12; m++) expect(settled.get(m)!.first).toBeLessThan(bigAt[200]!)
    }).pipe(Effect.orDie), { timeout: 300_000 })
})
