/** A block cache meant to be shared by every database the process opens. */

import { type Pointer, rocks } from "./_native.ts";
import { RocksDBError } from "./rocksdb_error.ts";

const finalizer = new FinalizationRegistry<Pointer>((handle) => {
  rocks().rocksdb_cache_destroy(handle);
});

let handleOf: (cache: BlockCache) => Pointer;

/**
 * An LRU block cache (`rocksdb_cache_create_lru`). Pass the same one to every
 * `RocksDB.open` so all stores share one memory budget.
 *
 * Databases opened with it hold their own reference to the native cache, so closing
 * the BlockCache while they are open is safe: the memory goes when the last user does.
 */
export class BlockCache {
  #handle: Pointer | null;
  readonly capacityBytes: number;

  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) {
      throw new RangeError(
        `Block cache capacity must be a positive whole number of bytes, got ${capacityBytes}`,
      );
    }
    this.#handle = rocks().rocksdb_cache_create_lru(BigInt(capacityBytes))!;
    this.capacityBytes = capacityBytes;
    finalizer.register(this, this.#handle, this);
  }

  static {
    handleOf = (cache) => {
      if (cache.#handle === null) {
        throw new RocksDBError("Block cache is closed", { code: "Closed" });
      }
      return cache.#handle;
    };
  }

  /** Bytes held in the cache now. */
  get usageBytes(): number {
    return Number(rocks().rocksdb_cache_get_usage(handleOf(this)));
  }

  /** Bytes held by entries pinned in the cache (in use by readers or pinned blocks). */
  get pinnedUsageBytes(): number {
    return Number(rocks().rocksdb_cache_get_pinned_usage(handleOf(this)));
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  /** Drops this handle's reference. Safe to call twice. */
  close(): void {
    if (this.#handle === null) return;
    finalizer.unregister(this);
    rocks().rocksdb_cache_destroy(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The native handle of an open cache, for `RocksDB.open`. Throws if it is closed. */
export function blockCacheHandle(cache: BlockCache): Pointer {
  return handleOf(cache);
}
