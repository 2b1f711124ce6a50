/**
 * RocksDB through Deno FFI, the Linux socket calls of the serving thread's poller
 * (sockets.ts), and the few other system calls Rialto makes: the only module outside
 * `ffi/` imports. Everything here speaks Uint8Array, strings and numbers; native pointers
 * never leave `ffi/`.
 *
 * ```ts
 * const cache = new BlockCache(512 * 1024 * 1024);
 * using db = RocksDB.open("/data/rocksdb/people_v3/people_v3_0", { blockCache: cache });
 * const value = db.get(key); // Uint8Array | null
 * ```
 */

export { loadRocksDB, type LoadRocksDBOptions } from "./_native.ts";
export { BlockCache } from "./block_cache.ts";
export { Change, type ChangeCode, DirectoryWatch, type WatchOutcome } from "./directory_watch.ts";
export { type FileStamp, fileStamp } from "./file_stamp.ts";
export { LibraryNotFoundError } from "./library.ts";
export { trimNativeHeap } from "./native_heap.ts";
export { SchedStat } from "./sched_stat.ts";
export { processCpuMs, ThreadUsage } from "./thread_usage.ts";
export {
  SCHED_IDLE,
  SCHED_OTHER,
  setThreadPolicy,
  threadsNamed,
  V8_HELPER_THREAD_NAME,
} from "./thread_priority.ts";
export {
  type InfoLogLevel,
  type IterateOptions,
  type OpenMode,
  type OpenOptions,
  RocksDB,
  type SharedRocksDB,
  type WriteOptions,
} from "./rocksdb.ts";
export { RocksDBError, type RocksDBErrorCode } from "./rocksdb_error.ts";
export * from "./sockets.ts";
export { WriteBatch } from "./write_batch.ts";
