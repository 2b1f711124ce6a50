/**
 * The RocksDB C API symbols Rialto uses, typed for `Deno.dlopen`. One table, the C
 * signature beside every entry (from `rocksdb/c.h`, RocksDB 7.8). Only `ffi/` reads it.
 *
 * Conventions:
 * - Handles (`rocksdb_t*`, options, column family handles...) are `"pointer"`.
 * - Byte ranges we own (`const char* key`, a NUL-terminated path) and out-params
 *   (`size_t* vallen`, `char** errptr`) are `"buffer"`: a typed array passed without
 *   a copy, which keeps the call on V8's fast path.
 * - `size_t` is `"usize"`, passed as a BigInt: Deno 2.8's fast path for 64-bit
 *   parameters takes BigInts; a JS number falls back to the slow path (~+300 ns a call,
 *   measured). No hot symbol returns `usize`: a 64-bit result costs ~1.2 µs a call here,
 *   so lengths come back through `size_t*` out-params instead.
 * - Entries ending in `_address` alias a C function with its pointer parameter typed
 *   `usize`, for addresses read from result arrays without creating pointer objects.
 */

import type { LibraryNames } from "./library.ts";

/** The RocksDB library's file names and install hint, for `openLibrary`. */
export const ROCKSDB_LIBRARY_NAMES = {
  label: "RocksDB",
  envVar: "ROCKSDB_LIB",
  candidates: {
    linux: [
      "librocksdb.so",
      "librocksdb.so.7.8",
      "librocksdb.so.8",
      "/usr/lib/x86_64-linux-gnu/librocksdb.so.7.8",
      "/usr/lib/aarch64-linux-gnu/librocksdb.so.7.8",
      "/usr/local/lib/librocksdb.so",
    ],
    darwin: [
      "librocksdb.dylib",
      "/opt/homebrew/lib/librocksdb.dylib",
      "/usr/local/lib/librocksdb.dylib",
    ],
  },
  installHint: "Debian: apt-get install librocksdb7.8; macOS: brew install rocksdb",
} as const satisfies LibraryNames;

export const ROCKSDB_SYMBOLS = {
  // ---- Memory --------------------------------------------------------------------
  /** void rocksdb_free(void* ptr) */
  rocksdb_free: { parameters: ["pointer" /* ptr */], result: "void" },

  /**
   * void rocksdb_free(void* ptr), taking the address as a number. Used for pointers read
   * out of result arrays (BigUint64Array), which saves building a pointer object per entry.
   */
  rocksdb_free_address: { name: "rocksdb_free", parameters: ["usize" /* ptr */], result: "void" },
  /**
   * void* memcpy(void* dest, const void* src, size_t n), resolved through the RocksDB
   * library's dependencies (libc). Copying a value out with it is a fast FFI call
   * (~15 ns) where `Deno.UnsafePointerView.copyInto` costs ~110 ns. Optional: when the
   * platform does not resolve it this way, the binding falls back to `copyInto`.
   */
  memcpy: {
    parameters: ["buffer", /* dest */ "pointer", /* src */ "usize" /* n */],
    result: "void",
    optional: true,
  },

  // ---- Options -------------------------------------------------------------------
  /** rocksdb_options_t* rocksdb_options_create(void) */
  rocksdb_options_create: { parameters: [], result: "pointer" },
  /** void rocksdb_options_destroy(rocksdb_options_t*) */
  rocksdb_options_destroy: { parameters: ["pointer" /* options */], result: "void" },
  /** void rocksdb_options_set_create_if_missing(rocksdb_options_t*, unsigned char) */
  rocksdb_options_set_create_if_missing: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },
  /** void rocksdb_options_set_create_missing_column_families(rocksdb_options_t*, unsigned char) */
  rocksdb_options_set_create_missing_column_families: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },
  /** void rocksdb_options_set_max_open_files(rocksdb_options_t*, int) */
  rocksdb_options_set_max_open_files: {
    parameters: ["pointer", /* options */ "i32" /* n */],
    result: "void",
  },
  /** void rocksdb_options_set_info_log_level(rocksdb_options_t*, int) */
  rocksdb_options_set_info_log_level: {
    parameters: ["pointer", /* options */ "i32" /* level: 0 debug .. 5 header */],
    result: "void",
  },
  /** void rocksdb_options_set_keep_log_file_num(rocksdb_options_t*, size_t) */
  rocksdb_options_set_keep_log_file_num: {
    parameters: ["pointer", /* options */ "usize" /* n */],
    result: "void",
  },
  /** void rocksdb_options_set_skip_stats_update_on_db_open(rocksdb_options_t* opt, unsigned char val) */
  rocksdb_options_set_skip_stats_update_on_db_open: {
    parameters: ["pointer", /* opt */ "u8" /* val */],
    result: "void",
  },
  /** void rocksdb_options_set_block_based_table_factory(rocksdb_options_t* opt, rocksdb_block_based_table_options_t* table_options) */
  rocksdb_options_set_block_based_table_factory: {
    parameters: ["pointer", /* opt */ "pointer" /* table_options (copied) */],
    result: "void",
  },

  // ---- Block-based table options, cache, filter ---------------------------------
  /** rocksdb_block_based_table_options_t* rocksdb_block_based_options_create(void) */
  rocksdb_block_based_options_create: { parameters: [], result: "pointer" },
  /** void rocksdb_block_based_options_destroy(rocksdb_block_based_table_options_t* options) */
  rocksdb_block_based_options_destroy: {
    parameters: ["pointer" /* options */],
    result: "void",
  },
  /** void rocksdb_block_based_options_set_block_cache(rocksdb_block_based_table_options_t* options, rocksdb_cache_t* block_cache) */
  rocksdb_block_based_options_set_block_cache: {
    parameters: ["pointer", /* options */ "pointer" /* block_cache (shared_ptr copied) */],
    result: "void",
  },
  /** void rocksdb_block_based_options_set_filter_policy(rocksdb_block_based_table_options_t* options, rocksdb_filterpolicy_t* filter_policy) */
  rocksdb_block_based_options_set_filter_policy: {
    parameters: ["pointer", /* options */ "pointer" /* filter_policy (ownership taken) */],
    result: "void",
  },
  /** void rocksdb_block_based_options_set_block_size(rocksdb_block_based_table_options_t*, size_t) */
  rocksdb_block_based_options_set_block_size: {
    parameters: ["pointer", /* options */ "usize" /* block_size */],
    result: "void",
  },
  /** void rocksdb_block_based_options_set_cache_index_and_filter_blocks(rocksdb_block_based_table_options_t*, unsigned char) */
  rocksdb_block_based_options_set_cache_index_and_filter_blocks: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },
  /** void rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(rocksdb_block_based_table_options_t*, unsigned char) */
  rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },
  /** rocksdb_filterpolicy_t* rocksdb_filterpolicy_create_bloom_full(double bits_per_key) */
  rocksdb_filterpolicy_create_bloom_full: {
    parameters: ["f64" /* bits_per_key */],
    result: "pointer",
  },
  /** void rocksdb_filterpolicy_destroy(rocksdb_filterpolicy_t*) */
  rocksdb_filterpolicy_destroy: { parameters: ["pointer" /* policy */], result: "void" },
  /** rocksdb_cache_t* rocksdb_cache_create_lru(size_t capacity) */
  rocksdb_cache_create_lru: { parameters: ["usize" /* capacity */], result: "pointer" },
  /** void rocksdb_cache_destroy(rocksdb_cache_t* cache) */
  rocksdb_cache_destroy: { parameters: ["pointer" /* cache */], result: "void" },
  /** size_t rocksdb_cache_get_usage(rocksdb_cache_t* cache) */
  rocksdb_cache_get_usage: { parameters: ["pointer" /* cache */], result: "usize" },
  /** size_t rocksdb_cache_get_pinned_usage(rocksdb_cache_t* cache) */
  rocksdb_cache_get_pinned_usage: { parameters: ["pointer" /* cache */], result: "usize" },
  /** size_t rocksdb_cache_get_capacity(rocksdb_cache_t* cache) */
  rocksdb_cache_get_capacity: { parameters: ["pointer" /* cache */], result: "usize" },

  // ---- Read, write and flush options ----------------------------------------------
  /** rocksdb_readoptions_t* rocksdb_readoptions_create(void) */
  rocksdb_readoptions_create: { parameters: [], result: "pointer" },
  /** void rocksdb_readoptions_destroy(rocksdb_readoptions_t*) */
  rocksdb_readoptions_destroy: { parameters: ["pointer" /* options */], result: "void" },
  /** void rocksdb_readoptions_set_verify_checksums(rocksdb_readoptions_t*, unsigned char) */
  rocksdb_readoptions_set_verify_checksums: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },
  /** void rocksdb_readoptions_set_fill_cache(rocksdb_readoptions_t*, unsigned char) */
  rocksdb_readoptions_set_fill_cache: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },
  /** rocksdb_writeoptions_t* rocksdb_writeoptions_create(void) */
  rocksdb_writeoptions_create: { parameters: [], result: "pointer" },
  /** void rocksdb_writeoptions_destroy(rocksdb_writeoptions_t*) */
  rocksdb_writeoptions_destroy: { parameters: ["pointer" /* options */], result: "void" },
  /** void rocksdb_writeoptions_set_sync(rocksdb_writeoptions_t*, unsigned char) */
  rocksdb_writeoptions_set_sync: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },
  /** void rocksdb_writeoptions_disable_WAL(rocksdb_writeoptions_t* opt, int disable) */
  rocksdb_writeoptions_disable_WAL: {
    parameters: ["pointer", /* opt */ "i32" /* disable */],
    result: "void",
  },
  /** rocksdb_flushoptions_t* rocksdb_flushoptions_create(void) */
  rocksdb_flushoptions_create: { parameters: [], result: "pointer" },
  /** void rocksdb_flushoptions_destroy(rocksdb_flushoptions_t*) */
  rocksdb_flushoptions_destroy: { parameters: ["pointer" /* options */], result: "void" },
  /** void rocksdb_flushoptions_set_wait(rocksdb_flushoptions_t*, unsigned char) */
  rocksdb_flushoptions_set_wait: {
    parameters: ["pointer", /* options */ "u8" /* v */],
    result: "void",
  },

  // ---- Open, close, column families ----------------------------------------------
  /**
   * rocksdb_t* rocksdb_open_column_families(const rocksdb_options_t* options,
   *   const char* name, int num_column_families, const char* const* column_family_names,
   *   const rocksdb_options_t* const* column_family_options,
   *   rocksdb_column_family_handle_t** column_family_handles, char** errptr)
   */
  rocksdb_open_column_families: {
    parameters: [
      "pointer", /* options */
      "buffer", /* name (NUL-terminated) */
      "i32", /* num_column_families */
      "buffer", /* column_family_names: char*[n] */
      "buffer", /* column_family_options: rocksdb_options_t*[n] */
      "buffer", /* column_family_handles (out): handle*[n] */
      "buffer", /* errptr (out): char*[1] */
    ],
    result: "pointer",
  },
  /**
   * rocksdb_t* rocksdb_open_for_read_only_column_families(const rocksdb_options_t* options,
   *   const char* name, int num_column_families, const char* const* column_family_names,
   *   const rocksdb_options_t* const* column_family_options,
   *   rocksdb_column_family_handle_t** column_family_handles,
   *   unsigned char error_if_wal_file_exists, char** errptr)
   */
  rocksdb_open_for_read_only_column_families: {
    parameters: [
      "pointer", /* options */
      "buffer", /* name (NUL-terminated) */
      "i32", /* num_column_families */
      "buffer", /* column_family_names: char*[n] */
      "buffer", /* column_family_options: rocksdb_options_t*[n] */
      "buffer", /* column_family_handles (out): handle*[n] */
      "u8", /* error_if_wal_file_exists */
      "buffer", /* errptr (out): char*[1] */
    ],
    result: "pointer",
  },
  /**
   * rocksdb_t* rocksdb_open_as_secondary_column_families(const rocksdb_options_t* options,
   *   const char* name, const char* secondary_path, int num_column_families,
   *   const char* const* column_family_names,
   *   const rocksdb_options_t* const* column_family_options,
   *   rocksdb_column_family_handle_t** column_family_handles, char** errptr)
   */
  rocksdb_open_as_secondary_column_families: {
    parameters: [
      "pointer", /* options */
      "buffer", /* name (NUL-terminated) */
      "buffer", /* secondary_path (NUL-terminated) */
      "i32", /* num_column_families */
      "buffer", /* column_family_names: char*[n] */
      "buffer", /* column_family_options: rocksdb_options_t*[n] */
      "buffer", /* column_family_handles (out): handle*[n] */
      "buffer", /* errptr (out): char*[1] */
    ],
    result: "pointer",
  },
  /** void rocksdb_try_catch_up_with_primary(rocksdb_t* db, char** errptr) */
  rocksdb_try_catch_up_with_primary: {
    parameters: ["pointer", /* db */ "buffer" /* errptr */],
    result: "void",
  },
  /** void rocksdb_close(rocksdb_t* db) */
  rocksdb_close: { parameters: ["pointer" /* db */], result: "void" },
  /**
   * char** rocksdb_list_column_families(const rocksdb_options_t* options, const char* name,
   *   size_t* lencf, char** errptr)
   */
  rocksdb_list_column_families: {
    parameters: [
      "pointer", /* options */
      "buffer", /* name (NUL-terminated) */
      "buffer", /* lencf (out): size_t[1] */
      "buffer", /* errptr (out) */
    ],
    result: "pointer",
  },
  /** void rocksdb_list_column_families_destroy(char** list, size_t len) */
  rocksdb_list_column_families_destroy: {
    parameters: ["pointer", /* list */ "usize" /* len */],
    result: "void",
  },
  /**
   * rocksdb_column_family_handle_t* rocksdb_create_column_family(rocksdb_t* db,
   *   const rocksdb_options_t* column_family_options, const char* column_family_name,
   *   char** errptr)
   */
  rocksdb_create_column_family: {
    parameters: [
      "pointer", /* db */
      "pointer", /* column_family_options */
      "buffer", /* column_family_name (NUL-terminated) */
      "buffer", /* errptr (out) */
    ],
    result: "pointer",
  },
  /** void rocksdb_column_family_handle_destroy(rocksdb_column_family_handle_t*) */
  rocksdb_column_family_handle_destroy: {
    parameters: ["pointer" /* handle */],
    result: "void",
  },

  // ---- Reads -----------------------------------------------------------------------
  /**
   * char* rocksdb_get_cf(rocksdb_t* db, const rocksdb_readoptions_t* options,
   *   rocksdb_column_family_handle_t* column_family, const char* key, size_t keylen,
   *   size_t* vallen, char** errptr)
   * Returns a malloc()ed copy of the value, or NULL if not found.
   */
  rocksdb_get_cf: {
    parameters: [
      "pointer", /* db */
      "pointer", /* options */
      "pointer", /* column_family */
      "buffer", /* key */
      "usize", /* keylen */
      "buffer", /* vallen (out): size_t[1] */
      "buffer", /* errptr (out): char*[1] */
    ],
    result: "pointer",
  },
  /**
   * rocksdb_pinnableslice_t* rocksdb_get_pinned_cf(rocksdb_t* db,
   *   const rocksdb_readoptions_t* options, rocksdb_column_family_handle_t* column_family,
   *   const char* key, size_t keylen, char** errptr)
   * Returns NULL if not found; otherwise a slice pinning the block, to destroy.
   */
  rocksdb_get_pinned_cf: {
    parameters: [
      "pointer", /* db */
      "pointer", /* options */
      "pointer", /* column_family */
      "buffer", /* key */
      "usize", /* keylen */
      "buffer", /* errptr (out): char*[1] */
    ],
    result: "pointer",
  },
  /** const char* rocksdb_pinnableslice_value(const rocksdb_pinnableslice_t* t, size_t* vlen) */
  rocksdb_pinnableslice_value: {
    parameters: ["pointer", /* t */ "buffer" /* vlen (out): size_t[1] */],
    result: "pointer",
  },
  /** void rocksdb_pinnableslice_destroy(rocksdb_pinnableslice_t* v) */
  rocksdb_pinnableslice_destroy: { parameters: ["pointer" /* v */], result: "void" },
  /** rocksdb_pinnableslice_value, taking the slice's address as read from a result array. */
  rocksdb_pinnableslice_value_at_address: {
    name: "rocksdb_pinnableslice_value",
    parameters: ["usize", /* t */ "buffer" /* vlen (out): size_t[1] */],
    result: "pointer",
  },
  /** rocksdb_pinnableslice_destroy, taking the slice's address as read from a result array. */
  rocksdb_pinnableslice_destroy_at_address: {
    name: "rocksdb_pinnableslice_destroy",
    parameters: ["usize" /* v */],
    result: "void",
  },
  /**
   * void rocksdb_batched_multi_get_cf(rocksdb_t* db, const rocksdb_readoptions_t* options,
   *   rocksdb_column_family_handle_t* column_family, size_t num_keys,
   *   const char* const* keys_list, const size_t* keys_list_sizes,
   *   rocksdb_pinnableslice_t** values, char** errs, const bool sorted_input)
   * values[i] is a new slice when found, else NULL; errs[i] a strdup()ed message when the
   * lookup failed for another reason than not-found.
   */
  rocksdb_batched_multi_get_cf: {
    parameters: [
      "pointer", /* db */
      "pointer", /* options */
      "pointer", /* column_family */
      "usize", /* num_keys */
      "buffer", /* keys_list: char*[n] */
      "buffer", /* keys_list_sizes: size_t[n] */
      "buffer", /* values (out): rocksdb_pinnableslice_t*[n] */
      "buffer", /* errs (out): char*[n] */
      "bool", /* sorted_input */
    ],
    result: "void",
  },
  /** The same C function, run on Deno's blocking thread pool; the call returns a Promise. */
  rocksdb_batched_multi_get_cf_nonblocking: {
    name: "rocksdb_batched_multi_get_cf",
    parameters: [
      "pointer", /* db */
      "pointer", /* options */
      "pointer", /* column_family */
      "usize", /* num_keys */
      "buffer", /* keys_list: char*[n] */
      "buffer", /* keys_list_sizes: size_t[n] */
      "buffer", /* values (out): rocksdb_pinnableslice_t*[n] */
      "buffer", /* errs (out): char*[n] */
      "bool", /* sorted_input */
    ],
    result: "void",
    nonblocking: true,
  },

  // ---- Writes ----------------------------------------------------------------------
  /**
   * void rocksdb_put_cf(rocksdb_t* db, const rocksdb_writeoptions_t* options,
   *   rocksdb_column_family_handle_t* column_family, const char* key, size_t keylen,
   *   const char* val, size_t vallen, char** errptr)
   */
  rocksdb_put_cf: {
    parameters: [
      "pointer", /* db */
      "pointer", /* options */
      "pointer", /* column_family */
      "buffer", /* key */
      "usize", /* keylen */
      "buffer", /* val */
      "usize", /* vallen */
      "buffer", /* errptr (out) */
    ],
    result: "void",
  },
  /**
   * void rocksdb_delete_cf(rocksdb_t* db, const rocksdb_writeoptions_t* options,
   *   rocksdb_column_family_handle_t* column_family, const char* key, size_t keylen,
   *   char** errptr)
   */
  rocksdb_delete_cf: {
    parameters: [
      "pointer", /* db */
      "pointer", /* options */
      "pointer", /* column_family */
      "buffer", /* key */
      "usize", /* keylen */
      "buffer", /* errptr (out) */
    ],
    result: "void",
  },
  /** void rocksdb_write(rocksdb_t* db, const rocksdb_writeoptions_t* options, rocksdb_writebatch_t* batch, char** errptr) */
  rocksdb_write: {
    parameters: ["pointer", /* db */ "pointer", /* options */ "pointer", /* batch */ "buffer"],
    result: "void",
  },
  /** rocksdb_writebatch_t* rocksdb_writebatch_create(void) */
  rocksdb_writebatch_create: { parameters: [], result: "pointer" },
  /** void rocksdb_writebatch_destroy(rocksdb_writebatch_t*) */
  rocksdb_writebatch_destroy: { parameters: ["pointer" /* batch */], result: "void" },
  /** void rocksdb_writebatch_clear(rocksdb_writebatch_t*) */
  rocksdb_writebatch_clear: { parameters: ["pointer" /* batch */], result: "void" },
  /** int rocksdb_writebatch_count(rocksdb_writebatch_t*) */
  rocksdb_writebatch_count: { parameters: ["pointer" /* batch */], result: "i32" },
  /**
   * void rocksdb_writebatch_put_cf(rocksdb_writebatch_t*,
   *   rocksdb_column_family_handle_t* column_family, const char* key, size_t klen,
   *   const char* val, size_t vlen)
   */
  rocksdb_writebatch_put_cf: {
    parameters: [
      "pointer", /* batch */
      "pointer", /* column_family */
      "buffer", /* key */
      "usize", /* klen */
      "buffer", /* val */
      "usize", /* vlen */
    ],
    result: "void",
  },
  /**
   * void rocksdb_writebatch_delete_cf(rocksdb_writebatch_t*,
   *   rocksdb_column_family_handle_t* column_family, const char* key, size_t klen)
   */
  rocksdb_writebatch_delete_cf: {
    parameters: ["pointer", /* batch */ "pointer", /* column_family */ "buffer", "usize"],
    result: "void",
  },
  /** void rocksdb_flush_cf(rocksdb_t* db, const rocksdb_flushoptions_t* options, rocksdb_column_family_handle_t* column_family, char** errptr) */
  rocksdb_flush_cf: {
    parameters: [
      "pointer", /* db */
      "pointer", /* options */
      "pointer", /* column_family */
      "buffer", /* errptr (out) */
    ],
    result: "void",
  },
  /**
   * void rocksdb_compact_range_cf(rocksdb_t* db,
   *   rocksdb_column_family_handle_t* column_family, const char* start_key,
   *   size_t start_key_len, const char* limit_key, size_t limit_key_len)
   * NULL start/limit mean the whole key space.
   */
  rocksdb_compact_range_cf: {
    parameters: [
      "pointer", /* db */
      "pointer", /* column_family */
      "buffer", /* start_key or NULL */
      "usize", /* start_key_len */
      "buffer", /* limit_key or NULL */
      "usize", /* limit_key_len */
    ],
    result: "void",
  },

  // ---- Iterators -------------------------------------------------------------------
  /** rocksdb_iterator_t* rocksdb_create_iterator_cf(rocksdb_t* db, const rocksdb_readoptions_t* options, rocksdb_column_family_handle_t* column_family) */
  rocksdb_create_iterator_cf: {
    parameters: ["pointer", /* db */ "pointer", /* options */ "pointer" /* column_family */],
    result: "pointer",
  },
  /** void rocksdb_iter_destroy(rocksdb_iterator_t*) */
  rocksdb_iter_destroy: { parameters: ["pointer" /* iter */], result: "void" },
  /** unsigned char rocksdb_iter_valid(const rocksdb_iterator_t*) */
  rocksdb_iter_valid: { parameters: ["pointer" /* iter */], result: "u8" },
  /** void rocksdb_iter_seek_to_first(rocksdb_iterator_t*) */
  rocksdb_iter_seek_to_first: { parameters: ["pointer" /* iter */], result: "void" },
  /** void rocksdb_iter_seek(rocksdb_iterator_t*, const char* k, size_t klen) */
  rocksdb_iter_seek: {
    parameters: ["pointer", /* iter */ "buffer", /* k */ "usize" /* klen */],
    result: "void",
  },
  /** void rocksdb_iter_next(rocksdb_iterator_t*) */
  rocksdb_iter_next: { parameters: ["pointer" /* iter */], result: "void" },
  /** const char* rocksdb_iter_key(const rocksdb_iterator_t*, size_t* klen) */
  rocksdb_iter_key: {
    parameters: ["pointer", /* iter */ "buffer" /* klen (out) */],
    result: "pointer",
  },
  /** const char* rocksdb_iter_value(const rocksdb_iterator_t*, size_t* vlen) */
  rocksdb_iter_value: {
    parameters: ["pointer", /* iter */ "buffer" /* vlen (out) */],
    result: "pointer",
  },
  /** void rocksdb_iter_get_error(const rocksdb_iterator_t*, char** errptr) */
  rocksdb_iter_get_error: {
    parameters: ["pointer", /* iter */ "buffer" /* errptr (out) */],
    result: "void",
  },
} as const satisfies Deno.ForeignLibraryInterface;

export type RocksDBSymbols = typeof ROCKSDB_SYMBOLS;
