/**
 * A progress bar on standard error, drawn only when standard error is a terminal: redirected or
 * piped output never receives control characters. Redraws are rate-limited on the wall clock, so a
 * simulation in virtual time does not flood the terminal.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Output } from "./Output.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  /** One more request settled. */
  readonly advance: (succeeded: boolean) => Effect.Effect<void>
  /** Erases the bar (nothing when it was never drawn). */
  readonly done: Effect.Effect<void>
}

const width = 30
const redrawEveryMillis = 100

/**
 * The bar text for `settled` of `total`, e.g. `[#####.........] 120/500 requests, 3 failed`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const render = (settled: number, failed: number, total: number): string => {
  const filled = total === 0 ? width : Math.min(width, Math.floor((settled / total) * width))
  const failures = failed === 0 ? "" : `, ${failed} failed`
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${settled}/${total} requests${failures}`
}

/**
 * A bar for `total` requests; it does nothing when standard error is not a TTY or `enabled` is false.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (total: number, options: { readonly enabled?: boolean } = {}): Effect.Effect<Progress, never, Output> =>
  Effect.map(Output, (output) => {
    if (!output.stderrIsTTY || options.enabled === false) return { advance: () => Effect.void, done: Effect.void }
    let settled = 0
    let failed = 0
    let drawnAt = 0
    let drawn = false
    const draw = Effect.suspend(() => {
      drawnAt = Date.now()
      drawn = true
      return output.stderr(`\r${render(settled, failed, total)}`)
    })
    return {
      advance: (ok) =>
        Effect.suspend(() => {
          settled++
          if (!ok) failed++
          return settled === total || Date.now() - drawnAt >= redrawEveryMillis ? draw : Effect.void
        }),
      done: Effect.suspend(() => (drawn ? output.stderr(`\r${" ".repeat(render(total, failed, total).length)}\r`) : Effect.void))
    }
  })
