/**
 * Small byte arrays carved from shared 64 KiB slabs, for values read from RocksDB and for
 * encoded response messages: on Deno 2.8.3 a `new Uint8Array(n)` costs ~270 ns (each gets
 * its own backing store) where a view on a slab costs ~25 ns. Regions are never reused: an
 * array keeps its slab alive until it is garbage, so large arrays get a buffer of their own
 * and slabs stay small. Users must not rely on `.buffer` being theirs alone.
 */

const SLAB_BYTES = 64 * 1024;
const SLAB_MAX_ARRAY = 4 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

/** A zero-filled array of `length` bytes that may share its ArrayBuffer with others. */
export function allocateBytes(length: number): Uint8Array {
  if (length > SLAB_MAX_ARRAY) return new Uint8Array(length);
  if (slabOffset + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const view = new Uint8Array(slab, slabOffset, length);
  // 8-byte aligned starts keep memcpy (ffi's copy out of RocksDB) on its fast path.
  slabOffset += (length + 7) & ~7;
  return view;
}
