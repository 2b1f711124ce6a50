/**
 * A RocksDB database opened through Deno FFI: read-write, read-only, or as a secondary
 * instance following a primary. The public surface speaks Uint8Array, strings and
 * numbers; native handles stay in `#private` fields.
 *
 * Measured on the dev machines (Deno 2.8.3, RocksDB 7.8), which shaped the hot path:
 * - `size_t` arguments go as BigInt (a JS number takes the slow path, ~+300 ns a call);
 *   small sizes come from a table so no BigInt is allocated per call.
 * - Out-params (`size_t*`, `char**`) are preallocated, shared slots.
 * - Values are copied once with libc `memcpy` through a fast FFI call, into views on a
 *   shared slab (`src/slab.ts`).
 * - `get` uses `rocksdb_get_pinned_cf`: no copy inside RocksDB, one copy into JS.
 */

import {
  allocateResult,
  copyFromNative,
  copyOut,
  cString,
  cStringArray,
  errorSlot,
  lengthSlot,
  type Native,
  type Pointer,
  pointerArray,
  readCStringArray,
  rocks,
  sharedReadOptions,
  sharedWriteOptions,
  sizeT,
  takeError,
  throwPendingError,
} from "./_native.ts";
import {
  collectResults,
  MultiGetBuffers,
  syncMultiGetBuffers,
  totalKeyBytes,
} from "./_multi_get.ts";
import { type BlockCache, blockCacheHandle } from "./block_cache.ts";
import { RocksDBError } from "./rocksdb_error.ts";
import { type WriteBatch, writeBatchOperations } from "./write_batch.ts";

/** How a database is opened. */
export type OpenMode = "read-write" | "read-only" | "secondary";

/** RocksDB's info log levels, most verbose first. */
export type InfoLogLevel = "debug" | "info" | "warn" | "error" | "fatal" | "header";
const INFO_LOG_LEVELS: readonly InfoLogLevel[] = [
  "debug",
  "info",
  "warn",
  "error",
  "fatal",
  "header",
];

export interface OpenOptions {
  /** Default `"read-only"`: a reader never changes data by accident. */
  readonly mode?: OpenMode;
  /** Read-write only: create the database when it does not exist. Default false. */
  readonly createIfMissing?: boolean;
  /**
   * Column families to open. Default: every one the database has (`default` is always
   * opened). Read-write mode must open them all; read-only and secondary may pick.
   */
  readonly columnFamilies?: readonly string[];
  /** Read-write only: column families to create when missing, e.g. `timestamp_metadata`. */
  readonly createColumnFamilies?: readonly string[];
  /** Secondary only (required): a directory of the secondary's own, for its info log. */
  readonly secondaryPath?: string;
  /**
   * The block cache, normally one shared by every database. Without one, RocksDB gives
   * each database a small cache of its own.
   */
  readonly blockCache?: BlockCache;
  /**
   * Data block size of the table files this database writes (RocksDB's default, 4 KiB,
   * when absent). Reading uses whatever size each file was written with.
   */
  readonly blockSizeBytes?: number;
  /** Bloom filter bits per key for full filters; 0 turns filters off. Default 10. */
  readonly bloomBitsPerKey?: number;
  /**
   * Keep index and filter blocks in the block cache, so the cache budget covers them.
   * Default false (RocksDB's default): with `maxOpenFiles` -1 they stay in the table
   * readers, which is the fastest read path.
   */
  readonly cacheIndexAndFilterBlocks?: boolean;
  /** With `cacheIndexAndFilterBlocks`, pin level-0 index and filter blocks. Default true. */
  readonly pinL0FilterAndIndexBlocksInCache?: boolean;
  /** Default -1 (keep every table open: no table-cache misses on the read path). */
  readonly maxOpenFiles?: number;
  /** Read-only only: fail when the WAL holds unflushed writes. Default false. */
  readonly errorIfWalFileExists?: boolean;
  /** RocksDB's LOG verbosity. Default `"warn"`. */
  readonly infoLogLevel?: InfoLogLevel;
}

export interface IterateOptions {
  /** Default `"default"`. */
  readonly columnFamily?: string;
  /** Only keys starting with these bytes. */
  readonly prefix?: Uint8Array;
  /** Start at the first key at or after this one. */
  readonly start?: Uint8Array;
}

export interface WriteOptions {
  /** fsync the WAL before returning. Default false. */
  readonly sync?: boolean;
  /** Skip the WAL (data lost on a crash until flushed). Default false. */
  readonly disableWAL?: boolean;
}

interface IteratorRecord {
  handle: Pointer | null;
}

// Everything native a database owns. Kept apart from the RocksDB object so the
// finalizer can close it without holding the object alive.
interface NativeState {
  db: Pointer | null;
  /** Null for an adopted database: its options belong to the isolate that opened it. */
  options: Pointer | null;
  /**
   * False for a database adopted from another isolate (`RocksDB.adopt`): closing it
   * forgets the handles and frees nothing of the database itself.
   */
  readonly owned: boolean;
  readonly columnFamilies: Map<string, Pointer>;
  readonly iterators: Set<IteratorRecord>;
  // Nonblocking calls still running on the thread pool; close waits for them.
  pending: number;
  closeRequested: boolean;
}

function closeNative(state: NativeState): void {
  const db = state.db;
  if (db === null) return;
  const lib = rocks();
  for (const iterator of state.iterators) {
    if (iterator.handle !== null) lib.rocksdb_iter_destroy(iterator.handle);
    iterator.handle = null;
  }
  state.iterators.clear();
  if (!state.owned) {
    state.columnFamilies.clear();
    state.db = null;
    return;
  }
  for (const handle of state.columnFamilies.values()) {
    lib.rocksdb_column_family_handle_destroy(handle);
  }
  state.columnFamilies.clear();
  lib.rocksdb_close(db);
  state.db = null;
  if (state.options !== null) lib.rocksdb_options_destroy(state.options);
  state.options = null;
}

const finalizer = new FinalizationRegistry<NativeState>((state) => {
  if (state.pending === 0) closeNative(state);
  else state.closeRequested = true;
});

/**
 * What another isolate (a Worker) of this process needs to read a database this one
 * opened: the native addresses as plain bigints, fine for `postMessage`. Valid only in
 * this process and only while the owner keeps the database open: the owner must not
 * close it while an adopter may still read (see `RocksDB.adopt`).
 */
export interface SharedRocksDB {
  readonly path: string;
  readonly mode: OpenMode;
  /** `rocksdb_t*` */
  readonly db: bigint;
  /** Open column families, `default` first: name and `rocksdb_column_family_handle_t*`. */
  readonly columnFamilies: readonly (readonly [string, bigint])[];
}

// Buffers handed to nonblocking calls, referenced here until their promise settles.
const inFlight = new Set<MultiGetBuffers>();

/** A RocksDB database. Open with `RocksDB.open`; close with `close()` or `using`. */
export class RocksDB {
  /** The database directory, as given to `open`. */
  readonly path: string;
  readonly mode: OpenMode;
  readonly #lib: Native;
  readonly #state: NativeState;
  readonly #readOptions: Pointer;
  // Hot-path copies of state.db and the default column family; null once closed.
  #db: Pointer | null;
  #defaultColumnFamily: Pointer | null;

  private constructor(path: string, mode: OpenMode, lib: Native, state: NativeState) {
    this.path = path;
    this.mode = mode;
    this.#lib = lib;
    this.#state = state;
    this.#readOptions = sharedReadOptions();
    this.#db = state.db;
    this.#defaultColumnFamily = state.columnFamilies.get("default")!;
    if (state.owned) finalizer.register(this, state, this);
  }

  /**
   * A database another isolate of this process opened, from its `share()`: reads go
   * straight to the owner's native handles, and `close()` frees nothing but this
   * object's own iterators. The caller guarantees the owner keeps the database open for
   * as long as this one reads (Rialto: the shared leases of `StoreVersion`). Loads the
   * library in this isolate if it is not yet (the same file, so the addresses agree).
   */
  static adopt(shared: SharedRocksDB): RocksDB {
    if (typeof shared.db !== "bigint" || shared.db === 0n) {
      throw new TypeError(`Cannot adopt RocksDB "${shared.path}": no database handle`);
    }
    const columnFamilies = new Map<string, Pointer>();
    for (const [name, address] of shared.columnFamilies) {
      if (typeof address !== "bigint" || address === 0n) {
        throw new TypeError(
          `Cannot adopt RocksDB "${shared.path}": no handle for column family "${name}"`,
        );
      }
      columnFamilies.set(name, Deno.UnsafePointer.create(address)!);
    }
    if (!columnFamilies.has("default")) {
      throw new TypeError(`Cannot adopt RocksDB "${shared.path}": no "default" column family`);
    }
    const state: NativeState = {
      db: Deno.UnsafePointer.create(shared.db)!,
      options: null,
      owned: false,
      columnFamilies,
      iterators: new Set(),
      pending: 0,
      closeRequested: false,
    };
    return new RocksDB(shared.path, shared.mode, rocks(), state);
  }

  /** This database's handles for `RocksDB.adopt` in another isolate of this process. */
  share(): SharedRocksDB {
    const db = this.#requireOpen();
    return {
      path: this.path,
      mode: this.mode,
      db: BigInt(Deno.UnsafePointer.value(db)),
      columnFamilies: [...this.#state.columnFamilies].map(
        ([name, handle]) => [name, BigInt(Deno.UnsafePointer.value(handle))] as const,
      ),
    };
  }

  /** False for a database adopted from another isolate. */
  get owned(): boolean {
    return this.#state.owned;
  }

  /** Lists the column families of the database at `path` without opening it. */
  static listColumnFamilies(path: string): string[] {
    const lib = rocks();
    const options = lib.rocksdb_options_create()!;
    try {
      return listColumnFamilies(lib, options, path);
    } finally {
      lib.rocksdb_options_destroy(options);
    }
  }

  /** Opens the database at `path`. Throws RocksDBError naming the path on failure. */
  static open(path: string, options: OpenOptions = {}): RocksDB {
    const mode = options.mode ?? "read-only";
    validateOpenOptions(path, mode, options);
    const lib = rocks();
    const dbOptions = buildOptions(lib, mode, options);
    try {
      const names = columnFamiliesToOpen(lib, dbOptions, path, mode, options);
      const state = openNative(lib, dbOptions, path, mode, names, options);
      return new RocksDB(path, mode, lib, state);
    } catch (error) {
      lib.rocksdb_options_destroy(dbOptions);
      throw error;
    }
  }

  /** The open column families, `default` first. */
  get columnFamilyNames(): string[] {
    return [...this.#state.columnFamilies.keys()];
  }

  get closed(): boolean {
    return this.#db === null;
  }

  /**
   * The value at `key`, or null when there is none. The result may be a view on a
   * buffer shared with other results: use it, copy it, but do not use its `.buffer`.
   */
  get(key: Uint8Array, columnFamily?: string): Uint8Array | null {
    const slice = this.#pinned(key, columnFamily);
    if (slice === null) return null;
    const lib = this.#lib;
    try {
      const data = lib.rocksdb_pinnableslice_value(slice, lengthSlot);
      const length = lengthSlot[0];
      const value = allocateResult(Number(length));
      copyFromNative(lib, data, length, value);
      return value;
    } finally {
      lib.rocksdb_pinnableslice_destroy(slice);
    }
  }

  /**
   * Copies the value at `key` into `target` and returns its length, or -1 when there is
   * none. When the value is longer than `target`, nothing is copied and the length is
   * returned, so the caller can retry with a big enough buffer.
   */
  getInto(key: Uint8Array, target: Uint8Array, columnFamily?: string): number {
    const slice = this.#pinned(key, columnFamily);
    if (slice === null) return -1;
    const lib = this.#lib;
    try {
      const data = lib.rocksdb_pinnableslice_value(slice, lengthSlot);
      const length = lengthSlot[0];
      const size = Number(length);
      if (size <= target.length) copyFromNative(lib, data, length, target);
      return size;
    } finally {
      lib.rocksdb_pinnableslice_destroy(slice);
    }
  }

  /** The pinned slice of `key`'s value (the caller destroys it), or null when absent. */
  #pinned(key: Uint8Array, columnFamily: string | undefined): Pointer | null {
    const db = this.#db;
    if (db === null) throw this.#closedError();
    const cf = this.#columnFamily(columnFamily);
    const slice = this.#lib.rocksdb_get_pinned_cf(
      db,
      this.#readOptions,
      cf,
      key,
      sizeT(key.length),
      errorSlot,
    );
    if (slice === null && errorSlot[0] !== 0n) {
      throwPendingError("Cannot read from RocksDB", this.path);
    }
    return slice;
  }

  /**
   * The values at `keys`, null where missing, in order (duplicates allowed), through
   * `rocksdb_batched_multi_get_cf`. Results may share buffers, as with `get`.
   */
  multiGet(keys: readonly Uint8Array[], columnFamily?: string): (Uint8Array | null)[] {
    const db = this.#db;
    if (db === null) throw this.#closedError();
    const cf = this.#columnFamily(columnFamily);
    const count = keys.length;
    if (count === 0) return [];
    const buffers = syncMultiGetBuffers(count, totalKeyBytes(keys));
    buffers.pack(keys);
    const lib = this.#lib;
    lib.rocksdb_batched_multi_get_cf(
      db,
      this.#readOptions,
      cf,
      sizeT(count),
      buffers.keyPointers,
      buffers.keySizes,
      buffers.values,
      buffers.errors,
      false,
    );
    const { values, error } = collectResults(lib, buffers, count);
    if (error !== null) throw RocksDBError.fromStatus("Cannot read from RocksDB", this.path, error);
    return values;
  }

  /**
   * `multiGet` run on Deno's blocking thread pool, so the JS thread is free while
   * RocksDB works. Costs a thread hand-off per call; worth it only for big batches
   * (see scripts/bench_storage.ts). Closing the database while calls are in flight
   * defers the native close until they settle.
   */
  async multiGetAsync(
    keys: readonly Uint8Array[],
    columnFamily?: string,
  ): Promise<(Uint8Array | null)[]> {
    const db = this.#db;
    if (db === null) throw this.#closedError();
    const cf = this.#columnFamily(columnFamily);
    const count = keys.length;
    if (count === 0) return [];
    const buffers = new MultiGetBuffers(count, totalKeyBytes(keys));
    buffers.pack(keys);
    const state = this.#state;
    const lib = this.#lib;
    inFlight.add(buffers);
    state.pending++;
    try {
      await lib.rocksdb_batched_multi_get_cf_nonblocking(
        db,
        this.#readOptions,
        cf,
        sizeT(count),
        buffers.keyPointers,
        buffers.keySizes,
        buffers.values,
        buffers.errors,
        false,
      );
      // Slices pin blocks of this database: read them before any deferred close.
      const { values, error } = collectResults(lib, buffers, count);
      if (error !== null) {
        throw RocksDBError.fromStatus("Cannot read from RocksDB", this.path, error);
      }
      return values;
    } finally {
      inFlight.delete(buffers);
      state.pending--;
      if (state.pending === 0 && state.closeRequested) closeNative(state);
    }
  }

  /** Writes `value` at `key`. */
  put(key: Uint8Array, value: Uint8Array, columnFamily?: string): void {
    const db = this.#requireOpen();
    const cf = this.#columnFamily(columnFamily);
    this.#lib.rocksdb_put_cf(
      db,
      sharedWriteOptions(false, false),
      cf,
      key,
      sizeT(key.length),
      value,
      sizeT(value.length),
      errorSlot,
    );
    throwPendingError("Cannot write to RocksDB", this.path);
  }

  /** Deletes `key` (no error when it is absent). */
  delete(key: Uint8Array, columnFamily?: string): void {
    const db = this.#requireOpen();
    const cf = this.#columnFamily(columnFamily);
    this.#lib.rocksdb_delete_cf(
      db,
      sharedWriteOptions(false, false),
      cf,
      key,
      sizeT(key.length),
      errorSlot,
    );
    throwPendingError("Cannot delete from RocksDB", this.path);
  }

  /** Applies every operation of `batch` atomically. */
  write(batch: WriteBatch, options: WriteOptions = {}): void {
    const db = this.#requireOpen();
    const operations = writeBatchOperations(batch);
    // Resolve every column family first, so an unknown one fails before any write.
    const handles = operations.map((op) => this.#columnFamily(op.columnFamily));
    const lib = this.#lib;
    const native = lib.rocksdb_writebatch_create()!;
    try {
      operations.forEach((op, i) => {
        if (op.value === null) {
          lib.rocksdb_writebatch_delete_cf(native, handles[i], op.key, sizeT(op.key.length));
        } else {
          lib.rocksdb_writebatch_put_cf(
            native,
            handles[i],
            op.key,
            sizeT(op.key.length),
            op.value,
            sizeT(op.value.length),
          );
        }
      });
      const writeOptions = sharedWriteOptions(options.sync ?? false, options.disableWAL ?? false);
      lib.rocksdb_write(db, writeOptions, native, errorSlot);
      throwPendingError("Cannot write a batch to RocksDB", this.path);
    } finally {
      lib.rocksdb_writebatch_destroy(native);
    }
  }

  /** Creates column family `name` (read-write mode); does nothing if it is open. */
  createColumnFamily(name: string): void {
    const db = this.#requireOpen();
    const state = this.#state;
    if (state.columnFamilies.has(name)) return;
    if (state.options === null) {
      throw new RocksDBError(
        `Cannot create column family "${name}" in RocksDB "${this.path}": it is adopted`,
        { code: "NotSupported", path: this.path },
      );
    }
    const handle = this.#lib.rocksdb_create_column_family(
      db,
      state.options,
      cString(name, "Column family name"),
      errorSlot,
    );
    throwPendingError(`Cannot create column family "${name}" in RocksDB`, this.path);
    state.columnFamilies.set(name, handle!);
  }

  /** Flushes memtables to SST files: one column family, or all when omitted. */
  flush(columnFamily?: string): void {
    const db = this.#requireOpen();
    const handles = columnFamily === undefined
      ? [...this.#state.columnFamilies.values()]
      : [this.#columnFamily(columnFamily)];
    const lib = this.#lib;
    const options = lib.rocksdb_flushoptions_create()!;
    try {
      lib.rocksdb_flushoptions_set_wait(options, 1);
      for (const handle of handles) {
        lib.rocksdb_flush_cf(db, options, handle, errorSlot);
        throwPendingError("Cannot flush RocksDB", this.path);
      }
    } finally {
      lib.rocksdb_flushoptions_destroy(options);
    }
  }

  /** Compacts the whole key range: one column family, or all when omitted. */
  compactRange(columnFamily?: string): void {
    const db = this.#requireOpen();
    if (this.mode !== "read-write") {
      throw new RocksDBError(`Cannot compact RocksDB "${this.path}": it is open ${this.mode}`, {
        code: "NotSupported",
        path: this.path,
      });
    }
    const handles = columnFamily === undefined
      ? [...this.#state.columnFamilies.values()]
      : [this.#columnFamily(columnFamily)];
    for (const handle of handles) {
      this.#lib.rocksdb_compact_range_cf(db, handle, null, 0n, null, 0n);
    }
  }

  /** Secondary mode: replays the primary's new MANIFEST and WAL entries. */
  tryCatchUpWithPrimary(): void {
    const db = this.#requireOpen();
    this.#lib.rocksdb_try_catch_up_with_primary(db, errorSlot);
    throwPendingError("Cannot catch up with the primary of RocksDB", this.path);
  }

  /**
   * Yields `[key, value]` copies in key order. Breaking out of the loop (or `return()`)
   * closes the native iterator; so does closing the database.
   */
  *iterate(options: IterateOptions = {}): Generator<[Uint8Array, Uint8Array], void, undefined> {
    const db = this.#requireOpen();
    const cf = this.#columnFamily(options.columnFamily);
    const lib = this.#lib;
    const state = this.#state;
    const record: IteratorRecord = {
      handle: lib.rocksdb_create_iterator_cf(db, this.#readOptions, cf),
    };
    state.iterators.add(record);
    try {
      const { prefix, start } = options;
      const seekKey =
        start !== undefined && (prefix === undefined || compareBytes(start, prefix) > 0)
          ? start
          : prefix;
      if (seekKey === undefined) lib.rocksdb_iter_seek_to_first(record.handle!);
      else lib.rocksdb_iter_seek(record.handle!, seekKey, sizeT(seekKey.length));
      while (true) {
        const handle = record.handle;
        if (handle === null) throw this.#closedError();
        if (lib.rocksdb_iter_valid(handle) === 0) {
          lib.rocksdb_iter_get_error(handle, errorSlot);
          throwPendingError("Cannot iterate over RocksDB", this.path);
          return;
        }
        const keyData = lib.rocksdb_iter_key(handle, lengthSlot);
        const key = copyOut(lib, keyData, lengthSlot[0]);
        if (prefix !== undefined && !hasPrefix(key, prefix)) return;
        const valueData = lib.rocksdb_iter_value(handle, lengthSlot);
        const value = copyOut(lib, valueData, lengthSlot[0]);
        yield [key, value];
        if (record.handle === null) throw this.#closedError();
        lib.rocksdb_iter_next(record.handle);
      }
    } finally {
      if (record.handle !== null) lib.rocksdb_iter_destroy(record.handle);
      record.handle = null;
      state.iterators.delete(record);
    }
  }

  /**
   * Closes iterators, column family handles, then the database. Safe to call twice.
   * With nonblocking reads in flight, the native close happens when they settle.
   */
  close(): void {
    if (this.#db === null) return;
    this.#db = null;
    this.#defaultColumnFamily = null;
    finalizer.unregister(this);
    const state = this.#state;
    if (state.pending > 0) state.closeRequested = true;
    else closeNative(state);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #requireOpen(): Pointer {
    const db = this.#db;
    if (db === null) throw this.#closedError();
    return db;
  }

  #closedError(): RocksDBError {
    return RocksDBError.closed("RocksDB", this.path);
  }

  /** The handle of column family `name`, `default` when absent; throws when not open. */
  #columnFamily(name: string | undefined): Pointer {
    const fallback = this.#defaultColumnFamily;
    if (name === undefined && fallback !== null) return fallback;
    name ??= "default";
    const handle = this.#state.columnFamilies.get(name);
    if (handle === undefined) {
      throw new RocksDBError(`Column family "${name}" is not open in RocksDB "${this.path}"`, {
        code: "InvalidArgument",
        path: this.path,
      });
    }
    return handle;
  }
}

// ---- Opening ---------------------------------------------------------------------------

function validateOpenOptions(path: string, mode: OpenMode, options: OpenOptions): void {
  if (typeof path !== "string" || path === "") {
    throw new TypeError("RocksDB path must be a non-empty string");
  }
  if (mode !== "read-write" && mode !== "read-only" && mode !== "secondary") {
    throw new TypeError(`Unknown RocksDB open mode "${mode}"`);
  }
  if (mode !== "read-write" && options.createIfMissing) {
    throw new TypeError(`createIfMissing needs mode "read-write", not "${mode}"`);
  }
  if (mode !== "read-write" && (options.createColumnFamilies?.length ?? 0) > 0) {
    throw new TypeError(`createColumnFamilies needs mode "read-write", not "${mode}"`);
  }
  if (mode === "secondary" && !options.secondaryPath) {
    throw new TypeError(`Opening RocksDB "${path}" as a secondary needs a secondaryPath`);
  }
  const blockSize = options.blockSizeBytes;
  if (blockSize !== undefined && !(Number.isSafeInteger(blockSize) && blockSize > 0)) {
    throw new RangeError(`blockSizeBytes must be a whole number > 0, got ${blockSize}`);
  }
  const bits = options.bloomBitsPerKey;
  if (bits !== undefined && !(Number.isFinite(bits) && bits >= 0)) {
    throw new RangeError(`bloomBitsPerKey must be a number >= 0, got ${bits}`);
  }
  if (options.infoLogLevel !== undefined && !INFO_LOG_LEVELS.includes(options.infoLogLevel)) {
    throw new TypeError(`Unknown RocksDB info log level "${options.infoLogLevel}"`);
  }
}

function buildOptions(lib: Native, mode: OpenMode, options: OpenOptions): Pointer {
  // Resolve the cache first: a closed one throws before anything native is made.
  const cache = options.blockCache === undefined ? null : blockCacheHandle(options.blockCache);
  const dbOptions = lib.rocksdb_options_create()!;
  lib.rocksdb_options_set_create_if_missing(dbOptions, options.createIfMissing ? 1 : 0);
  lib.rocksdb_options_set_create_missing_column_families(
    dbOptions,
    (options.createColumnFamilies?.length ?? 0) > 0 ? 1 : 0,
  );
  // Secondary instances require -1; for readers it removes table-cache lookups.
  lib.rocksdb_options_set_max_open_files(
    dbOptions,
    mode === "secondary" ? -1 : options.maxOpenFiles ?? -1,
  );
  lib.rocksdb_options_set_info_log_level(
    dbOptions,
    INFO_LOG_LEVELS.indexOf(options.infoLogLevel ?? "warn"),
  );
  lib.rocksdb_options_set_keep_log_file_num(dbOptions, 4n);
  if (mode !== "read-write") lib.rocksdb_options_set_skip_stats_update_on_db_open(dbOptions, 1);

  const table = lib.rocksdb_block_based_options_create()!;
  if (cache !== null) lib.rocksdb_block_based_options_set_block_cache(table, cache);
  if (options.blockSizeBytes !== undefined) {
    lib.rocksdb_block_based_options_set_block_size(table, BigInt(options.blockSizeBytes));
  }
  const bits = options.bloomBitsPerKey ?? 10;
  if (bits > 0) {
    // The table options take ownership of the policy.
    lib.rocksdb_block_based_options_set_filter_policy(
      table,
      lib.rocksdb_filterpolicy_create_bloom_full(bits),
    );
  }
  const cacheIndexAndFilter = options.cacheIndexAndFilterBlocks ?? false;
  lib.rocksdb_block_based_options_set_cache_index_and_filter_blocks(
    table,
    cacheIndexAndFilter ? 1 : 0,
  );
  lib.rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(
    table,
    cacheIndexAndFilter && (options.pinL0FilterAndIndexBlocksInCache ?? true) ? 1 : 0,
  );
  // The factory copies the table options (and shares the cache and policy).
  lib.rocksdb_options_set_block_based_table_factory(dbOptions, table);
  lib.rocksdb_block_based_options_destroy(table);
  return dbOptions;
}

function describeOpen(path: string, mode: OpenMode, options: OpenOptions): string {
  switch (mode) {
    case "read-write":
      return `Cannot open RocksDB "${path}"`;
    case "read-only":
      return `Cannot open RocksDB "${path}" read-only`;
    case "secondary":
      return `Cannot open RocksDB "${path}" as a secondary in "${options.secondaryPath}"`;
  }
}

function openFailure(
  path: string,
  mode: OpenMode,
  options: OpenOptions,
  status: string,
): RocksDBError {
  const error = RocksDBError.fromStatus(describeOpen(path, mode, options), undefined, status);
  return new RocksDBError(error.message, { code: error.code, path, status });
}

function listColumnFamilies(lib: Native, options: Pointer, path: string): string[] {
  lengthSlot[0] = 0n;
  const list = lib.rocksdb_list_column_families(
    options,
    cString(path, "RocksDB path"),
    lengthSlot,
    errorSlot,
  );
  throwPendingError("Cannot list the column families of RocksDB", path);
  if (list === null) return [];
  const count = Number(lengthSlot[0]);
  try {
    return readCStringArray(list, count);
  } finally {
    lib.rocksdb_list_column_families_destroy(list, sizeT(count));
  }
}

function columnFamiliesToOpen(
  lib: Native,
  dbOptions: Pointer,
  path: string,
  mode: OpenMode,
  options: OpenOptions,
): string[] {
  let names: string[];
  if (options.columnFamilies !== undefined) {
    names = [...options.columnFamilies];
  } else {
    try {
      names = listColumnFamilies(lib, dbOptions, path);
    } catch (error) {
      if (!(error instanceof RocksDBError)) throw error;
      // A database about to be created has none yet; any other failure is the open's.
      if (mode === "read-write" && options.createIfMissing) names = ["default"];
      else throw openFailure(path, mode, options, error.status ?? error.message);
    }
  }
  if (!names.includes("default")) names.unshift("default");
  for (const name of options.createColumnFamilies ?? []) {
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

function openNative(
  lib: Native,
  dbOptions: Pointer,
  path: string,
  mode: OpenMode,
  names: string[],
  options: OpenOptions,
): NativeState {
  const count = names.length;
  const cfNames = cStringArray(names, "Column family name");
  const cfOptions = pointerArray(names.map(() => dbOptions));
  const handles = new BigUint64Array(new ArrayBuffer(count * 8));
  const pathC = cString(path, "RocksDB path");
  let db: Deno.PointerValue;
  switch (mode) {
    case "read-write":
      db = lib.rocksdb_open_column_families(
        dbOptions,
        pathC,
        count,
        cfNames.pointers,
        cfOptions,
        handles,
        errorSlot,
      );
      break;
    case "read-only":
      db = lib.rocksdb_open_for_read_only_column_families(
        dbOptions,
        pathC,
        count,
        cfNames.pointers,
        cfOptions,
        handles,
        options.errorIfWalFileExists ? 1 : 0,
        errorSlot,
      );
      break;
    case "secondary":
      db = lib.rocksdb_open_as_secondary_column_families(
        dbOptions,
        pathC,
        cString(options.secondaryPath!, "Secondary path"),
        count,
        cfNames.pointers,
        cfOptions,
        handles,
        errorSlot,
      );
      break;
  }
  keepAlive(cfNames.bytes);
  const status = takeError(errorSlot);
  if (status !== null || db === null) {
    throw openFailure(path, mode, options, status ?? "RocksDB returned no handle");
  }
  const columnFamilies = new Map<string, Pointer>();
  names.forEach((name, i) => columnFamilies.set(name, Deno.UnsafePointer.create(handles[i])!));
  return {
    db,
    options: dbOptions,
    owned: true,
    columnFamilies,
    iterators: new Set(),
    pending: 0,
    closeRequested: false,
  };
}

// ---- Bytes -----------------------------------------------------------------------------

let _keptAlive: unknown = null;
/** Holds `value` reachable until this point of the caller (native code read its address). */
function keepAlive(value: unknown): void {
  _keptAlive = value;
  _keptAlive = null;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (key[i] !== prefix[i]) return false;
  }
  return true;
}
