/**
 * The `Retry-After` response header, as Graph sends it on `429 Too Many Requests` (and may send it on
 * `503 Service Unavailable`).
 *
 * Three spellings are accepted:
 *
 * - an integer number of seconds (`Retry-After: 10`, the form in the current throttling guidance);
 * - a decimal number of seconds (`Retry-After: 2.128`, the form in an older version of that guidance);
 * - an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, the obsolete RFC 850 form and asctime), which HTTP
 *   allows and which other Microsoft clients accept.
 *
 * A date in the past, or `0`, means "retry now". Anything else is an {@link InvalidRetryAfter}; a
 * caller that meets one should treat the response as if it carried no `Retry-After` and back off on
 * its own.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Either, Option, Schema } from "effect"
import { headerValue } from "./Body.js"

/**
 * The header's name as Graph spells it. Lookups are case-insensitive.
 *
 * @since 0.1.0
 * @category constants
 */
export const headerName = "Retry-After"

/**
 * A parsed `Retry-After`: a delay relative to when the response arrived, or an absolute instant.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryAfter = Delay | At

/**
 * `Retry-After: <seconds>`, kept in milliseconds (decimal seconds keep their fraction).
 *
 * @since 0.1.0
 * @category models
 */
export interface Delay {
  readonly _tag: "Delay"
  readonly millis: number
}

/**
 * `Retry-After: <HTTP-date>`, as milliseconds since the epoch.
 *
 * @since 0.1.0
 * @category models
 */
export interface At {
  readonly _tag: "At"
  readonly epochMillis: number
}

/**
 * A `Retry-After` value that is neither a non-negative number of seconds nor an HTTP-date.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRetryAfter extends Schema.TaggedError<InvalidRetryAfter>()("InvalidRetryAfter", {
  value: Schema.String
}) {
  override get message() {
    return `Retry-After is neither a number of seconds nor an HTTP-date: ${JSON.stringify(this.value)}`
  }
}

const seconds = /^\d+(?:\.\d+)?$/

const months: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11
}

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const imfFixdate = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/
// obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
const rfc850 =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/
// asctime: Sun Nov  6 08:49:37 1994
const asctime = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/

const utc = (
  year: number,
  month: string,
  day: number,
  hour: number,
  minute: number,
  second: number
): number | undefined => {
  const m = months[month]
  if (m === undefined || hour > 23 || minute > 59 || second > 60) return undefined
  const millis = Date.UTC(year, m, day, hour, minute, Math.min(second, 59))
  // Reject impossible days (Feb 30) that Date.UTC would roll over into the next month.
  const check = new Date(millis)
  if (check.getUTCDate() !== day || check.getUTCMonth() !== m) return undefined
  return millis
}

/**
 * Parses an HTTP-date in any of the three forms RFC 9110 requires recipients to accept, returning
 * milliseconds since the epoch. A two-digit RFC 850 year is read as the most recent year with those
 * digits that is not more than 50 years in the future (relative to `nowMillis`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseHttpDate = (value: string, nowMillis: number): Option.Option<number> => {
  let match = imfFixdate.exec(value)
  if (match !== null) {
    return Option.fromNullable(utc(+match[3]!, match[2]!, +match[1]!, +match[4]!, +match[5]!, +match[6]!))
  }
  match = rfc850.exec(value)
  if (match !== null) {
    const nowYear = new Date(nowMillis).getUTCFullYear()
    let year = Math.floor(nowYear / 100) * 100 + +match[3]!
    if (year > nowYear + 50) year -= 100
    return Option.fromNullable(utc(year, match[2]!, +match[1]!, +match[4]!, +match[5]!, +match[6]!))
  }
  match = asctime.exec(value)
  if (match !== null) {
    return Option.fromNullable(utc(+match[6]!, match[1]!, +match[2]!.trim(), +match[3]!, +match[4]!, +match[5]!))
  }
  return Option.none()
}

/**
 * Parses one `Retry-After` value. `nowMillis` is only used to place a two-digit RFC 850 year.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (value: string, nowMillis: number = Date.now()): Either.Either<RetryAfter, InvalidRetryAfter> => {
  const trimmed = value.trim()
  if (seconds.test(trimmed)) {
    const millis = Number(trimmed) * 1000
    if (Number.isFinite(millis)) return Either.right({ _tag: "Delay", millis })
    return Either.left(new InvalidRetryAfter({ value }))
  }
  return Option.match(parseHttpDate(trimmed, nowMillis), {
    onNone: () => Either.left(new InvalidRetryAfter({ value })),
    onSome: (epochMillis) => Either.right({ _tag: "At", epochMillis })
  })
}

/**
 * How long to wait, in milliseconds, when the response arrived at `nowMillis`. Never negative: a
 * date in the past means "now".
 *
 * @since 0.1.0
 * @category combinators
 */
export const delayMillis = (self: RetryAfter, nowMillis: number): number =>
  self._tag === "Delay" ? self.millis : Math.max(0, self.epochMillis - nowMillis)

/**
 * The instant, in milliseconds since the epoch, until which to wait, when the response arrived at
 * `nowMillis`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const untilMillis = (self: RetryAfter, nowMillis: number): number => nowMillis + delayMillis(self, nowMillis)

/**
 * The `Retry-After` of a header record (names compared case-insensitively, as batch items spell it
 * `Retry-After` or `retry-after`). Absent and unparseable values are both `None`: a caller then
 * falls back to its own backoff.
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromHeaders = (
  headers: Readonly<Record<string, string>> | undefined,
  nowMillis: number = Date.now()
): Option.Option<RetryAfter> => {
  const raw = headerValue(headers, headerName)
  return raw === undefined ? Option.none() : Either.getRight(parse(raw, nowMillis))
}

/**
 * The delay a header record asks for, measured against the `Clock` (so `TestClock` controls dates).
 *
 * @since 0.1.0
 * @category parsing
 */
export const delayFromHeaders = (
  headers: Readonly<Record<string, string>> | undefined
): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    Option.map(fromHeaders(headers, now), (parsed) => Duration.millis(delayMillis(parsed, now))))
