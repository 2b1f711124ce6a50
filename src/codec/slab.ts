/**
 * Byte arrays for encoded messages, carved from shared 64 KiB slabs: on Deno 2.8.3 a
 * `new Uint8Array(n)` costs ~300 ns (each gets its own backing store) where a view on a
 * slab costs ~25 ns. Regions are never reused: a message keeps its slab alive until it is
 * garbage, so large messages get a buffer of their own and slabs stay small.
 */

const SLAB_BYTES = 64 * 1024;
const SLAB_MAX_MESSAGE = 4 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

/** A zero-filled array of `length` bytes that may share its ArrayBuffer with others. */
export function allocateMessage(length: number): Uint8Array {
  if (length > SLAB_MAX_MESSAGE) return new Uint8Array(length);
  if (slabOffset + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const view = new Uint8Array(slab, slabOffset, length);
  slabOffset += (length + 7) & ~7;
  return view;
}
