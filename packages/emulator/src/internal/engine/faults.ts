/**
 * The engine's fault injection: the current `Faults`, a seeded stream to roll them with, and the
 * answers a fault gives instead of Graph's.
 *
 * @internal
 */
import type { Faults, ItemFault, Phase } from "../../Faults.js"
import { errorBody, errorAnswer, type ItemAnswer, type Stamp } from "../responses.js"
import type { Draws } from "./draws.js"
import type { Prepared } from "./model.js"

/** @internal */
export class FaultDice {
  constructor(public faults: Faults, private readonly draws: Draws) {}

  /** Whether a fault of this rate strikes (a draw only when the rate is strictly between 0 and 1). */
  roll(rate: number | undefined): boolean {
    if (rate === undefined || rate <= 0) return false
    if (rate >= 1) return true
    return this.draws.next() < rate
  }

  /** An index in `[0, n)`, from the same stream. */
  index(n: number): number {
    return this.draws.below(n)
  }

  /** The first item fault of this phase that applies to the item and strikes, if any. */
  pickItemFault(p: Prepared, phase: Phase): ItemFault | undefined {
    const items = this.faults.items
    if (items === undefined) return undefined
    for (const fault of items) {
      if ((fault.phase ?? "before") !== phase) continue
      if (fault.service !== undefined && fault.service !== p.service && !p.demands.some((d) => d.service === fault.service)) continue
      if (this.roll(fault.rate)) return fault
    }
    return undefined
  }

  /** The first batch fault of this phase that strikes, if any. */
  pickBatchFault(phase: Phase): { status: number; retryAfterSeconds?: number } | undefined {
    const batches = this.faults.batches
    if (batches === undefined) return undefined
    for (const fault of batches) {
      if ((fault.phase ?? "before") !== phase) continue
      if (this.roll(fault.rate)) return fault
    }
    return undefined
  }
}

/** An item fault's answer: Graph's error body for 503 or 504, with Retry-After when configured. @internal */
export const itemFaultAnswer = (fault: ItemFault, stamp: Stamp): ItemAnswer => {
  const outcome = errorAnswer(
    fault.status,
    fault.status === 503 ? "serviceNotAvailable" : "gatewayTimeout",
    fault.status === 503 ? "The service is temporarily unavailable. Try again later." : "The upstream service did not answer in time.",
    stamp
  )
  if (fault.retryAfterSeconds !== undefined) outcome.headers["Retry-After"] = String(fault.retryAfterSeconds)
  return outcome
}

/** A batch fault's answer to the whole `$batch` request. @internal */
export const batchFaultAnswer = (fault: { status: number; retryAfterSeconds?: number }, stamp: Stamp): ItemAnswer => {
  const codes: Record<number, [string, string]> = {
    500: ["generalException", "An unspecified error has occurred."],
    502: ["badGateway", "The gateway received an invalid response from the upstream service."],
    503: ["serviceNotAvailable", "The service is temporarily unavailable. Try again later."],
    504: ["gatewayTimeout", "The upstream service did not answer in time."]
  }
  const [code, message] = codes[fault.status] ?? ["generalException", "An unspecified error has occurred."]
  const headers: Record<string, string> = { "Content-Type": "application/json", "request-id": stamp.requestId }
  if (fault.retryAfterSeconds !== undefined) headers["Retry-After"] = String(fault.retryAfterSeconds)
  return { status: fault.status, headers, body: errorBody(code, message, stamp) }
}
