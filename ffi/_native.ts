/**
 * The loaded RocksDB library and the native scratch state every handle shares: the
 * out-param slots of synchronous calls, the default read and write options, and the
 * helpers that move bytes and strings across the boundary. Private to `ffi/`.
 *
 * All synchronous FFI calls run on the one JS thread, so one set of out-param slots
 * serves every database; nonblocking calls allocate their own.
 */

import { openLibrary } from "./library.ts";
import { RocksDBError } from "./rocksdb_error.ts";
import { ROCKSDB_LIBRARY_NAMES, ROCKSDB_SYMBOLS, type RocksDBSymbols } from "./rocksdb_symbols.ts";

export type Native = Deno.DynamicLibrary<RocksDBSymbols>["symbols"];
export type Pointer = NonNullable<Deno.PointerValue>;

export interface LoadRocksDBOptions {
  /**
   * A library path from config, tried after `ROCKSDB_LIB` and before the platform's
   * usual names.
   */
  readonly libraryPath?: string;
}

let loaded: Native | null = null;
let readOptions: Pointer | null = null;
const writeOptionsByFlags: (Pointer | null)[] = [null, null, null, null];

/**
 * Loads librocksdb now instead of on first use. The first successful load wins; later
 * calls return without looking again. Throws `LibraryNotFoundError` listing every path
 * tried.
 */
export function loadRocksDB(options: LoadRocksDBOptions = {}): void {
  if (loaded === null) load(options.libraryPath);
}

/** The library's symbols, loading it on first use. */
export function rocks(): Native {
  return loaded ?? load(undefined);
}

function load(libraryPath: string | undefined): Native {
  // Result arrays are written and read as little-endian 64-bit words.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("The RocksDB binding needs a little-endian platform");
  }
  const lib = openLibrary(ROCKSDB_LIBRARY_NAMES, ROCKSDB_SYMBOLS, libraryPath).symbols;
  loaded = lib;
  return lib;
}

/**
 * The process-wide default ReadOptions: checksums verified (RocksDB's default), blocks
 * kept in the block cache. Never destroyed: it lives as long as the library.
 */
export function sharedReadOptions(): Pointer {
  if (readOptions !== null) return readOptions;
  const lib = rocks();
  const options = lib.rocksdb_readoptions_create()!;
  lib.rocksdb_readoptions_set_verify_checksums(options, 1);
  lib.rocksdb_readoptions_set_fill_cache(options, 1);
  return readOptions = options;
}

/** WriteOptions for one combination of flags, created once and kept. */
export function sharedWriteOptions(sync: boolean, disableWAL: boolean): Pointer {
  const index = (sync ? 1 : 0) | (disableWAL ? 2 : 0);
  const cached = writeOptionsByFlags[index];
  if (cached) return cached;
  const lib = rocks();
  const options = lib.rocksdb_writeoptions_create()!;
  lib.rocksdb_writeoptions_set_sync(options, sync ? 1 : 0);
  lib.rocksdb_writeoptions_disable_WAL(options, disableWAL ? 1 : 0);
  writeOptionsByFlags[index] = options;
  return options;
}

// ---- Out-param slots of synchronous calls --------------------------------------------

/** `char** errptr` for synchronous calls. Zero between calls: RocksDB frees a non-NULL one. */
export const errorSlot = new BigUint64Array(new ArrayBuffer(8));
/** `size_t*` out-param (value, key or list length) for synchronous calls. */
export const lengthSlot = new BigUint64Array(new ArrayBuffer(8));

/**
 * Reads, frees and clears the error string at `slots[index]`, or returns null when the
 * slot is empty.
 */
export function takeError(slots: BigUint64Array, index = 0): string | null {
  const address = slots[index];
  if (address === 0n) return null;
  slots[index] = 0n;
  const pointer = Deno.UnsafePointer.create(address)!;
  try {
    return Deno.UnsafePointerView.getCString(pointer);
  } finally {
    rocks().rocksdb_free(pointer);
  }
}

/** Throws the pending error in `errorSlot`, if any, as a RocksDBError. */
export function throwPendingError(what: string, path: string | undefined): void {
  const status = takeError(errorSlot);
  if (status !== null) throw RocksDBError.fromStatus(what, path, status);
}

// ---- Sizes -------------------------------------------------------------------------

// BigInts for small sizes, so the hot path passes a size_t without allocating one.
const SMALL_SIZES: readonly bigint[] = Array.from({ length: 4096 }, (_, i) => BigInt(i));

/** `n` as the BigInt a `usize` parameter wants; allocation-free below 4096. */
export function sizeT(n: number): bigint {
  return n < 4096 ? SMALL_SIZES[n] : BigInt(n);
}

// ---- Copying bytes out of native memory ----------------------------------------------

// Results come from the shared slabs of `src/slab.ts` (one allocator for the read path).
export { allocateBytes as allocateResult } from "../src/slab.ts";
import { allocateBytes as allocateResult } from "../src/slab.ts";

/** Copies `length` bytes at `source` into `target` (which must be at least that long). */
export function copyFromNative(
  lib: Native,
  source: Deno.PointerValue,
  length: bigint,
  target: Uint8Array,
): void {
  if (length === 0n || source === null) return;
  if (lib.memcpy !== null) lib.memcpy(target, source, length);
  else Deno.UnsafePointerView.copyInto(source, target);
}

/** Copies `length` bytes at `source` into a new JS array. */
export function copyOut(lib: Native, source: Deno.PointerValue, length: bigint): Uint8Array {
  const result = allocateResult(Number(length));
  copyFromNative(lib, source, length, result);
  return result;
}

// ---- Strings and pointer arrays ------------------------------------------------------

const encoder = new TextEncoder();

/** `s` as a NUL-terminated UTF-8 C string. */
export function cString(s: string, what: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) throw new TypeError(`${what} must not contain a NUL character: "${s}"`);
  const bytes = encoder.encode(s);
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}

/**
 * A `const char* const*` array for `strings`. Keep the returned `bytes` referenced
 * while native code may read `pointers`.
 */
export function cStringArray(
  strings: readonly string[],
  what: string,
): { bytes: Uint8Array<ArrayBuffer>; pointers: BigUint64Array<ArrayBuffer> } {
  const encoded = strings.map((s) => cString(s, what));
  const total = encoded.reduce((sum, b) => sum + b.length, 0);
  const bytes = new Uint8Array(new ArrayBuffer(Math.max(total, 8)));
  const base = addressOf(bytes);
  const pointers = new BigUint64Array(new ArrayBuffer(Math.max(strings.length, 1) * 8));
  let offset = 0;
  encoded.forEach((b, i) => {
    bytes.set(b, offset);
    pointers[i] = base + BigInt(offset);
    offset += b.length;
  });
  return { bytes, pointers };
}

/** A `T* const*` array holding `pointers`. */
export function pointerArray(pointers: readonly Deno.PointerValue[]): BigUint64Array<ArrayBuffer> {
  const out = new BigUint64Array(new ArrayBuffer(Math.max(pointers.length, 1) * 8));
  pointers.forEach((p, i) => out[i] = BigInt(Deno.UnsafePointer.value(p)));
  return out;
}

/** The address of a buffer's first byte. The buffer must be backed by an ArrayBuffer. */
export function addressOf(buffer: Uint8Array<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/** Reads the `count` C strings of a `char**` array. */
export function readCStringArray(list: Pointer, count: number): string[] {
  const view = new Deno.UnsafePointerView(list);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const entry = Deno.UnsafePointer.create(view.getBigUint64(i * 8))!;
    out.push(Deno.UnsafePointerView.getCString(entry));
  }
  return out;
}
