/**
 * Case-insensitive header lookup for the plain header records that Graph batch items carry.
 *
 * @internal
 */

/** @internal */
export type HeaderRecord = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * The value of header `name` (compared case-insensitively), or `undefined`. A repeated header given
 * as an array yields its first value.
 *
 * @internal
 */
export const get = (headers: HeaderRecord | undefined, name: string): string | undefined => {
  if (headers === undefined) return undefined
  const direct = headers[name]
  if (direct !== undefined) return first(direct)
  const lower = name.toLowerCase()
  for (const key in headers) {
    if (key.toLowerCase() === lower) {
      const value = headers[key]
      if (value !== undefined) return first(value)
    }
  }
  return undefined
}

const first = (value: string | ReadonlyArray<string>): string | undefined =>
  typeof value === "string" ? value : value[0]
