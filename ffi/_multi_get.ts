/**
 * The native arrays `rocksdb_batched_multi_get_cf` reads and writes, and the one loop
 * that turns its results into JS values while freeing every slice and error string.
 * Private to `ffi/`.
 */

import { addressOf, allocateResult, copyFromNative, lengthSlot, type Native } from "./_native.ts";

const TWO_TO_32 = 4294967296;

/**
 * Keys packed into one buffer, with the `const char* const*` and `const size_t*` arrays
 * pointing into it, and the `values` / `errs` out-arrays. A synchronous multi-get reuses
 * one set (`syncBuffers`); a nonblocking one owns its set until its promise settles.
 */
export class MultiGetBuffers {
  readonly keyCapacity: number;
  readonly byteCapacity: number;
  readonly keyBytes: Uint8Array<ArrayBuffer>;
  readonly keyPointers: BigUint64Array<ArrayBuffer>;
  readonly keySizes: BigUint64Array<ArrayBuffer>;
  readonly values: BigUint64Array<ArrayBuffer>;
  readonly errors: BigUint64Array<ArrayBuffer>;
  // The same memory as keyPointers / keySizes, written as 32-bit halves so packing
  // needs no BigInt per key. Little-endian (checked when the library loads).
  readonly #pointerWords: Uint32Array<ArrayBuffer>;
  readonly #sizeWords: Uint32Array<ArrayBuffer>;
  // Below 2^53 on every 64-bit platform Deno runs on, so exact as a number.
  readonly #keyBase: number;

  constructor(keyCapacity: number, byteCapacity: number) {
    this.keyCapacity = keyCapacity;
    this.byteCapacity = byteCapacity;
    // An explicit ArrayBuffer is never stored on the V8 heap, so its address is stable.
    this.keyBytes = new Uint8Array(new ArrayBuffer(Math.max(byteCapacity, 8)));
    this.keyPointers = new BigUint64Array(new ArrayBuffer(keyCapacity * 8));
    this.keySizes = new BigUint64Array(new ArrayBuffer(keyCapacity * 8));
    this.values = new BigUint64Array(new ArrayBuffer(keyCapacity * 8));
    this.errors = new BigUint64Array(new ArrayBuffer(keyCapacity * 8));
    this.#pointerWords = new Uint32Array(this.keyPointers.buffer);
    this.#sizeWords = new Uint32Array(this.keySizes.buffer);
    this.#keyBase = Number(addressOf(this.keyBytes));
  }

  /** Copies `keys` in and fills the pointer and size arrays; clears the out-arrays. */
  pack(keys: readonly Uint8Array[]): void {
    const count = keys.length;
    const bytes = this.keyBytes;
    const pointerWords = this.#pointerWords;
    const sizeWords = this.#sizeWords;
    const base = this.#keyBase;
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const key = keys[i];
      const length = key.length;
      bytes.set(key, offset);
      const address = base + offset;
      pointerWords[2 * i] = address >>> 0;
      pointerWords[2 * i + 1] = (address / TWO_TO_32) >>> 0;
      sizeWords[2 * i] = length;
      sizeWords[2 * i + 1] = 0;
      offset += length;
    }
    this.values.fill(0n, 0, count);
    this.errors.fill(0n, 0, count);
  }
}

/** Total bytes of `keys`, checking each is a Uint8Array. */
export function totalKeyBytes(keys: readonly Uint8Array[]): number {
  let total = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!(key instanceof Uint8Array)) {
      throw new TypeError(`Key ${i} of a multi-get must be a Uint8Array`);
    }
    total += key.length;
  }
  return total;
}

let syncBuffers: MultiGetBuffers | null = null;

/** The shared buffers for a synchronous multi-get, grown to fit. */
export function syncMultiGetBuffers(keyCount: number, keyBytes: number): MultiGetBuffers {
  const current = syncBuffers;
  if (current !== null && current.keyCapacity >= keyCount && current.byteCapacity >= keyBytes) {
    return current;
  }
  const keyCapacity = Math.max(nextPowerOfTwo(keyCount), current?.keyCapacity ?? 128);
  const byteCapacity = Math.max(nextPowerOfTwo(keyBytes), current?.byteCapacity ?? 16384);
  return syncBuffers = new MultiGetBuffers(keyCapacity, byteCapacity);
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Reads the `count` results: copies each found value into a JS array, destroys every
 * slice and frees every error string, whatever fails along the way. Returns the values
 * and the first error RocksDB reported (the caller throws it).
 */
export function collectResults(
  lib: Native,
  buffers: MultiGetBuffers,
  count: number,
): { values: (Uint8Array | null)[]; error: string | null } {
  const slices = buffers.values;
  const errors = buffers.errors;
  const values: (Uint8Array | null)[] = new Array(count);
  let error: string | null = null;
  let thrown: unknown = undefined;
  for (let i = 0; i < count; i++) {
    const errorAddress = errors[i];
    if (errorAddress !== 0n) {
      errors[i] = 0n;
      const message = Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(errorAddress)!);
      lib.rocksdb_free_address(errorAddress);
      error ??= message;
    }
    const slice = slices[i];
    if (slice === 0n) {
      values[i] = null;
      continue;
    }
    slices[i] = 0n;
    try {
      const data = lib.rocksdb_pinnableslice_value_at_address(slice, lengthSlot);
      const length = lengthSlot[0];
      const value = allocateResult(Number(length));
      copyFromNative(lib, data, length, value);
      values[i] = value;
    } catch (e) {
      // Out of memory, most likely; keep freeing the rest, then rethrow.
      thrown ??= e;
      values[i] = null;
    } finally {
      lib.rocksdb_pinnableslice_destroy_at_address(slice);
    }
  }
  if (thrown !== undefined) throw thrown;
  return { values, error };
}
