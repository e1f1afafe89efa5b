/**
 * The shapes of what the emulator answers: one item's answer, Graph's error body and its 429 body.
 *
 * @internal
 */

/** What one request (single or batch item) answers. `body` is JSON, or bytes for binary content. @internal */
export interface ItemAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body?: unknown
}

/** Per-response stamps Graph puts in `innerError`. @internal */
export interface Stamp {
  readonly requestId: string
  /** The caller's `client-request-id`; when it sent none, error bodies echo `requestId` instead. */
  readonly clientRequestId: string | undefined
  /** Milliseconds since the epoch, from the emulator's clock. */
  readonly now: number
}

/** Graph's error date format: `2020-08-18T12:51:51` (UTC, no fraction, no zone). @internal */
export const graphDate = (millis: number): string => new Date(millis).toISOString().slice(0, 19)

/** @internal */
export const jsonHeaders = (): Record<string, string> => ({
  "Cache-Control": "no-cache",
  "OData-Version": "4.0",
  "Content-Type": "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
})

/**
 * A Graph error body: `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`,
 * the keys of every error item in the documented batch response. When the caller sent no
 * `client-request-id`, the emulator puts the request id there (an emulator choice; Graph's pages
 * do not say what it echoes then).
 *
 * @internal
 */
export const errorBody = (code: string, message: string, stamp: Stamp): unknown => ({
  error: {
    code,
    message,
    innerError: {
      date: graphDate(stamp.now),
      "request-id": stamp.requestId,
      "client-request-id": stamp.clientRequestId ?? stamp.requestId
    }
  }
})

/** @internal */
export const errorAnswer = (status: number, code: string, message: string, stamp: Stamp): ItemAnswer => ({
  status,
  headers: { "Cache-Control": "no-cache", "Content-Type": "application/json" },
  body: errorBody(code, message, stamp)
})

/** Graph's documented 429 body (same keys as the throttling page's sample). @internal */
export const throttledBody = (stamp: Stamp): unknown => ({
  error: {
    code: "TooManyRequests",
    innerError: {
      code: "429",
      date: graphDate(stamp.now),
      message: "Please retry after",
      "request-id": stamp.requestId,
      status: "429"
    },
    message: "Please retry again later."
  }
})

/**
 * Retry-After in seconds as Graph prints it: an integer when whole, otherwise a decimal with up to
 * three places (the throttling page shows both `10` and `2.128`). Never below one millisecond.
 *
 * @internal
 */
export const formatRetryAfter = (millis: number): string => {
  const seconds = Math.max(1, Math.ceil(millis)) / 1000
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3).replace(/0+$/, "")
}
