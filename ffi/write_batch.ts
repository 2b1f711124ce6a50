/** A set of puts and deletes applied atomically by `RocksDB.write`. */

/** One recorded operation; `value` is null for a delete. */
export interface WriteBatchOperation {
  readonly columnFamily: string | undefined;
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

let operationsOf: (batch: WriteBatch) => readonly WriteBatchOperation[];

/**
 * Puts and deletes, per column family, written all-or-nothing by `db.write(batch)`.
 *
 * The batch records copies of its keys and values in JS and builds the native
 * `rocksdb_writebatch_t` only inside `write`, so it owns no native memory, can be reused
 * across databases, and a batch naming an unknown column family fails before anything
 * is written.
 */
export class WriteBatch {
  #operations: WriteBatchOperation[] = [];

  static {
    operationsOf = (batch) => batch.#operations;
  }

  /** Records a put of `value` at `key` (copies both). */
  put(key: Uint8Array, value: Uint8Array, columnFamily?: string): this {
    this.#operations.push({ columnFamily, key: key.slice(), value: value.slice() });
    return this;
  }

  /** Records a delete of `key` (copies it). */
  delete(key: Uint8Array, columnFamily?: string): this {
    this.#operations.push({ columnFamily, key: key.slice(), value: null });
    return this;
  }

  /** How many operations are recorded. */
  get count(): number {
    return this.#operations.length;
  }

  /** Forgets every recorded operation. */
  clear(): void {
    this.#operations = [];
  }
}

/** The recorded operations, in order, for `RocksDB.write`. */
export function writeBatchOperations(batch: WriteBatch): readonly WriteBatchOperation[] {
  return operationsOf(batch);
}
