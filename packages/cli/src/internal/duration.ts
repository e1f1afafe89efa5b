/**
 * Durations as typed on the command line.
 *
 * @internal
 */
import { Duration, Option } from "effect"

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const short = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/**
 * A positive, finite duration: a number with a unit (`500ms`, `30s`, `15m`, `2h`, `1d`), or Effect's
 * spelling (`"30 seconds"`, `"2 hours"`). `None` for anything else, zero included.
 *
 * @internal
 */
export const parse = (text: string): Option.Option<Duration.Duration> => {
  const trimmed = text.trim()
  const match = short.exec(trimmed)
  const parsed = match !== null
    ? Option.some(Duration.millis(Number(match[1]) * units[match[2]!]!))
    : Duration.decodeUnknown(trimmed)
  return Option.filter(parsed, (d) => Duration.isFinite(d) && Duration.toMillis(d) > 0)
}
