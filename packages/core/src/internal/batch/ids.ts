/**
 * Request ids: compared case-insensitively (Graph's rule), and indexed by position.
 *
 * @internal
 */
import { Either } from "effect"
import * as VE from "../../ValidationError.js"

/** @internal */
export const idKey = (id: string): string => id.toLowerCase()

/**
 * Positions by id key ({@link idKey}): an open-addressing hash table of positions, about
 * 8 bytes per request where a `Map` takes about 30. Keys are compared with the workload's own ids,
 * case-insensitively, and ids are hashed as their keys without making the key string: looking an
 * id up allocates nothing (unless it has a character beyond ASCII).
 *
 * @internal
 */
export class IdIndex {
  private constructor(
    private readonly workload: ReadonlyArray<{ readonly id: string }>,
    /** Position + 1 of the request in each slot; 0 is an empty slot. */
    private readonly slots: Int32Array,
    private readonly mask: number
  ) {}

  /**
   * The index of the items' ids, or the first rule they break: empty ids (all named), then
   * case-insensitive duplicates (every group, in the order they were met).
   */
  static build(
    workload: ReadonlyArray<{ readonly id: string }>
  ): Either.Either<IdIndex, VE.EmptyRequestId | VE.DuplicateRequestIds> {
    let size = 16
    while (size < workload.length * 2) size *= 2
    const slots = new Int32Array(size)
    const mask = size - 1
    const empty: Array<number> = []
    // by the position of the first of each duplicated key, in the order the duplicates were met
    const groups = new Map<number, Array<string>>()
    for (let v = 0; v < workload.length; v++) {
      const id = workload[v]!.id
      if (id === "") {
        empty.push(v)
        continue
      }
      let i = hashOfId(id) & mask
      let seen = -1
      for (;;) {
        const slot = slots[i]!
        if (slot === 0) break
        if (sameKey(workload[slot - 1]!.id, id)) {
          seen = slot - 1
          break
        }
        i = (i + 1) & mask
      }
      if (seen < 0) slots[i] = v + 1
      else {
        const group = groups.get(seen)
        if (group === undefined) groups.set(seen, [workload[seen]!.id, id])
        else group.push(id)
      }
    }
    if (empty.length > 0) return Either.left(new VE.EmptyRequestId({ indices: empty }))
    if (groups.size > 0) return Either.left(new VE.DuplicateRequestIds({ groups: [...groups.values()] }))
    return Either.right(new IdIndex(workload, slots, mask))
  }

  /** The position of the request with this id, in any case. */
  of(id: string): number | undefined {
    let i = hashOfId(id) & this.mask
    for (;;) {
      const slot = this.slots[i]!
      if (slot === 0) return undefined
      if (sameKey(this.workload[slot - 1]!.id, id)) return slot - 1
      i = (i + 1) & this.mask
    }
  }

  /** The position of the request with this id key ({@link idKey}). */
  get(key: string): number | undefined {
    return this.of(key)
  }
}

/** FNV-1a over UTF-16 code units. */
const hashOf = (key: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h
}

/**
 * `hashOf(idKey(id))`, without making the key when the id is ASCII: lowercasing changes only
 * its letters A to Z.
 */
const hashOfId = (id: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    let c = id.charCodeAt(i)
    if (c >= 128) return hashOf(idKey(id))
    if (c >= 65 && c <= 90) c += 32
    h = Math.imul(h ^ c, 0x01000193)
  }
  return h
}

/** `idKey(a) === idKey(b)`, without making the keys when both ids are ASCII. */
const sameKey = (a: string, b: string): boolean => {
  if (a === b) return true
  if (a.length !== b.length) return !isAscii(a) || !isAscii(b) ? idKey(a) === idKey(b) : false
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    // beyond ASCII, lowercasing can depend on the neighbours (a final sigma): the keys decide
    if (x >= 128 || y >= 128) return idKey(a) === idKey(b)
    if (x === y) continue
    if (x >= 65 && x <= 90) x += 32
    if (y >= 65 && y <= 90) y += 32
    if (x !== y) return isAscii(a) && isAscii(b) ? false : idKey(a) === idKey(b)
  }
  return true
}

const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 128) return false
  return true
}

/** Slots of {@link remembered}'s cache (a power of two). */
const RECENT = 64

/**
 * `index.of`, remembering the ids asked lately in a small direct-mapped cache: a run asks for the
 * same few ids again and again (each request of a batch several times while it is sent and
 * settled), mostly as the very string it asked with before, which compares at once.
 *
 * @internal
 */
export const remembered = (index: IdIndex): (id: string) => number | undefined => {
  const ids: Array<string | undefined> = new Array(RECENT).fill(undefined)
  const at = new Int32Array(RECENT)
  return (id) => {
    const n = id.length
    const slot = n === 0 ? 0 : (id.charCodeAt(n - 1) * 31 + (n > 1 ? id.charCodeAt(n - 2) * 7 : 0) + n) & (RECENT - 1)
    if (ids[slot] === id) {
      const v = at[slot]!
      return v < 0 ? undefined : v
    }
    const v = index.of(id)
    ids[slot] = id
    at[slot] = v ?? -1
    return v
  }
}
