/**
 * Faults the emulator injects on demand. Every fault has a rate (0 to 1) and is drawn from the
 * emulator's seeded fault generator, so a run with the same seed and the same traffic injects the
 * same faults.
 *
 * - Item faults: a batch item (or single request) answers 503 or 504, with or without Retry-After,
 *   optionally only for one service, either `before` it ran (the default: it is not executed) or
 *   `after` it ran (it is executed, its effect stays and the audit records the execution, but its
 *   answer is the 503 or 504: a gateway that stopped waiting, the case that tempts clients to run a
 *   write twice).
 * - Batch faults: the whole `$batch` answers 500, 502, 503 or 504 with a Graph error body, either
 *   `before` any item ran or `after` all of them ran (the case that tempts clients to run items twice).
 * - A dropped connection, `before` or `after` execution: the in-process client fails with a transport
 *   error; the loopback server destroys the socket.
 * - Malformed JSON: a 200 batch response whose body is cut short.
 * - A missing item: a 200 batch response without one of the items that ran.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * What the emulator's `HttpApp` fails with when a fault drops the connection: the in-process client
 * turns it into a transport `RequestError`, the loopback server into a destroyed socket.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionDropped extends Data.TaggedError("ConnectionDropped")<{}> {}

/**
 * When a fault strikes: before the item (or, for a whole-request fault, any item) runs, or after it
 * (all of them) ran.
 *
 * @since 0.1.0
 * @category models
 */
export type Phase = "before" | "after"

/**
 * @since 0.1.0
 * @category models
 */
export interface ItemFault {
  readonly status: 503 | 504
  readonly rate: number
  /** Seconds for `Retry-After`; omitted means the answer carries no Retry-After. */
  readonly retryAfterSeconds?: number
  /**
   * Only items of this service: the emulator's name for it (`identity`, `outlook`, `teams`, `files`,
   * `onenote`, `insights`, `graph`) or the service id of one of its catalogue demands (`identityAccess`, `outlook`, ...).
   */
  readonly service?: string
  /**
   * `before` (default): answered instead of running, so nothing happened. `after`: the item ran, and
   * only its answer is replaced; a fault of this phase strikes only items that were admitted and
   * executed.
   */
  readonly phase?: Phase
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchFault {
  readonly status: 500 | 502 | 503 | 504
  readonly rate: number
  readonly retryAfterSeconds?: number
  readonly phase?: Phase
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  readonly items?: ReadonlyArray<ItemFault>
  readonly batches?: ReadonlyArray<BatchFault>
  readonly dropConnection?: { readonly rate: number; readonly phase?: Phase }
  readonly malformedJson?: { readonly rate: number }
  readonly missingItem?: { readonly rate: number }
}

/**
 * No faults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Faults = {}

/**
 * The named fault profiles of `--faults` (`msgraph-emulator`, `msgraph-batch simulate` and `serve`).
 *
 * - `none`: no faults;
 * - `light`: 1% of items answer 503 with Retry-After 1 s, 0.5% answer 504;
 * - `heavy`: 5% item 503s (Retry-After 2 s), 2% item 504s, 1% item 504s after the item ran, 1% of
 *   batches fail with 503 before or 502 after running, 0.5% dropped connections after running, 0.5%
 *   malformed and 0.5% incomplete batch responses.
 *
 * @since 0.1.0
 * @category constructors
 */
export const profiles = {
  none,
  light: { items: [{ status: 503, rate: 0.01, retryAfterSeconds: 1 }, { status: 504, rate: 0.005 }] },
  heavy: {
    items: [{ status: 503, rate: 0.05, retryAfterSeconds: 2 }, { status: 504, rate: 0.02 }, { status: 504, rate: 0.01, phase: "after" }],
    batches: [{ status: 503, rate: 0.01, retryAfterSeconds: 1 }, { status: 502, rate: 0.01, phase: "after" }],
    dropConnection: { rate: 0.005, phase: "after" },
    malformedJson: { rate: 0.005 },
    missingItem: { rate: 0.005 }
  }
} as const satisfies Record<string, Faults>

/**
 * The name of one of the {@link profiles}.
 *
 * @since 0.1.0
 * @category models
 */
export type Profile = keyof typeof profiles
