/**
 * RTO history of every path for the detail pane: one Int32Array of rings, a slot per path, laid out
 * position-major so memory is touched only as history accumulates (no object per path: 20k paths at 10k
 * associations). Pure: no I/O, no clock.
 */

export const HISTORY = 60;

export class RtoHistory {
  private cap = 0;
  private data = new Int32Array(0);
  private head = new Uint8Array(0);
  private len = new Uint8Array(0);
  /** the mark (applySnapshot's generation) that last kept a slot alive; 0: free */
  private mark = new Uint32Array(0);
  private free: number[] = [];
  private next = 0;
  private used = 0;

  /** slots in use (paths with history) */
  get size(): number {
    return this.used;
  }

  /** A new, empty slot, alive as of `gen` (≥ 1). */
  alloc(gen: number): number {
    let s = this.free.pop();
    if (s === undefined) {
      if (this.next === this.cap) this.grow();
      s = this.next++;
    }
    this.head[s] = 0;
    this.len[s] = 0;
    this.mark[s] = gen;
    this.used++;
    return s;
  }

  /** The slot survives the sweep of `gen`. */
  keep(slot: number, gen: number): void {
    this.mark[slot] = gen;
  }

  /** Was the slot kept (or allocated) in generation `gen`? */
  isKept(slot: number, gen: number): boolean {
    return this.mark[slot] === gen;
  }

  /** Free every slot not kept (or allocated) in generation `gen`. */
  sweep(gen: number): void {
    for (let s = 0; s < this.next; s++) {
      const m = this.mark[s]!;
      if (m !== 0 && m !== gen) {
        this.mark[s] = 0;
        this.free.push(s);
        this.used--;
      }
    }
  }

  /** Append a sample (ms, rounded to an integer), dropping the oldest beyond HISTORY. */
  push(slot: number, v: number): void {
    const x = Math.max(-0x80000000, Math.min(0x7fffffff, Math.round(v)));
    const h = this.head[slot]!;
    const n = this.len[slot]!;
    // a full ring (n = HISTORY) overwrites its oldest sample, at the head
    this.data[((h + n) % HISTORY) * this.cap + slot] = x;
    if (n < HISTORY) this.len[slot] = n + 1;
    else this.head[slot] = (h + 1) % HISTORY;
  }

  /** The samples of a slot, oldest first. */
  values(slot: number): number[] {
    const h = this.head[slot]!;
    const n = this.len[slot]!;
    return Array.from({ length: n }, (_, i) => this.data[((h + i) % HISTORY) * this.cap + slot]!);
  }

  private grow(): void {
    const cap = Math.max(1024, this.cap * 2);
    const data = new Int32Array(cap * HISTORY);
    // only the positions some slot has reached hold data
    let reached = 0;
    for (let s = 0; s < this.next; s++) reached = Math.max(reached, this.len[s]!);
    for (let i = 0; i < reached; i++) data.set(this.data.subarray(i * this.cap, i * this.cap + this.next), i * cap);
    this.data = data;
    for (const k of ['head', 'len'] as const) {
      const a = new Uint8Array(cap);
      a.set(this[k]);
      this[k] = a;
    }
    const mark = new Uint32Array(cap);
    mark.set(this.mark);
    this.mark = mark;
    this.cap = cap;
  }
}
