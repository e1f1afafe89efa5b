/**
 * The scheduler's queue of ready requests.
 *
 * @internal
 */

/**
 * Ready requests, the smallest (priority, workload position) first: a binary heap of indices. A
 * request may be in it more than once; the scheduler skips copies that are no longer ready.
 *
 * @internal
 */
export class ReadyQueue {
  private heap = new Int32Array(16)
  private count = 0

  constructor(private readonly priority: Uint8Array) {}

  get size(): number {
    return this.count
  }

  private before(a: number, b: number): boolean {
    const pa = this.priority[a]!
    const pb = this.priority[b]!
    return pa < pb || (pa === pb && a < b)
  }

  push(v: number): void {
    if (this.count === this.heap.length) {
      const grown = new Int32Array(this.heap.length * 2)
      grown.set(this.heap)
      this.heap = grown
    }
    let i = this.count++
    while (i > 0) {
      const up = (i - 1) >> 1
      const parent = this.heap[up]!
      if (!this.before(v, parent)) break
      this.heap[i] = parent
      i = up
    }
    this.heap[i] = v
  }

  /** The first request; only when `size > 0`. */
  pop(): number {
    const top = this.heap[0]!
    const last = this.heap[--this.count]!
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= this.count) break
      if (child + 1 < this.count && this.before(this.heap[child + 1]!, this.heap[child]!)) child++
      if (!this.before(this.heap[child]!, last)) break
      this.heap[i] = this.heap[child]!
      i = child
    }
    this.heap[i] = last
    return top
  }
}
