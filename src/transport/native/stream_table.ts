/**
 * A connection's open streams by id, without allocating per call. A Map allocates on the
 * read path: V8's OrderedHashMap builds a new table when it empties below a quarter full
 * (every call on a connection with one stream open) and again when deleted entries fill
 * it; `deno task bench:alloc` put Map.delete at 139 of a single get's 2,403 bytes. Here
 * the slots are arrays that only grow (to twice the most streams open at once, which the
 * connection's limits bound): open addressing with linear probing, and a delete shifts
 * the rest of its probe run back, so there are no tombstones to clear.
 *
 * Client stream ids are odd and rise by 2, so `id >>> 1` spreads them over the slots
 * one by one; 0 marks a free slot.
 */
export class StreamTable<T> {
  #ids: Int32Array;
  #values: (T | undefined)[];
  #mask: number;
  #size = 0;

  /** `capacity`: slots to start with, a power of two. */
  constructor(capacity = 16) {
    this.#ids = new Int32Array(capacity);
    this.#values = new Array(capacity).fill(undefined);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const ids = this.#ids;
    for (let i = (id >>> 1) & this.#mask;; i = (i + 1) & this.#mask) {
      const at = ids[i];
      if (at === id) return this.#values[i];
      if (at === 0) return undefined;
    }
  }

  /** Adds or replaces the stream under `id` (a positive int32). */
  set(id: number, value: T): void {
    if ((this.#size + 1) * 2 > this.#ids.length) this.#grow();
    const ids = this.#ids;
    let i = (id >>> 1) & this.#mask;
    while (ids[i] !== 0 && ids[i] !== id) i = (i + 1) & this.#mask;
    if (ids[i] === 0) this.#size++;
    ids[i] = id;
    this.#values[i] = value;
  }

  delete(id: number): boolean {
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    let hole = (id >>> 1) & mask;
    while (ids[hole] !== id) {
      if (ids[hole] === 0) return false;
      hole = (hole + 1) & mask;
    }
    this.#size--;
    // Close the hole: an entry further along the run moves into it unless its home slot
    // lies after the hole (cyclically, in (hole, j]), where a lookup would still find it.
    for (let j = (hole + 1) & mask; ids[j] !== 0; j = (j + 1) & mask) {
      const home = (ids[j] >>> 1) & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      ids[hole] = ids[j];
      values[hole] = values[j];
      hole = j;
    }
    ids[hole] = 0;
    values[hole] = undefined;
    return true;
  }

  clear(): void {
    this.#ids.fill(0);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  /** The streams now, as a new array (for sweeps, settings and shutdown; not per call). */
  values(): T[] {
    const out: T[] = [];
    if (this.#size === 0) return out;
    for (let i = 0; i < this.#ids.length; i++) {
      if (this.#ids[i] !== 0) out.push(this.#values[i]!);
    }
    return out;
  }

  #grow(): void {
    const ids = this.#ids;
    const values = this.#values;
    this.#ids = new Int32Array(ids.length * 2);
    this.#values = new Array(ids.length * 2).fill(undefined);
    this.#mask = this.#ids.length - 1;
    this.#size = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) this.set(ids[i], values[i]!);
  }
}
