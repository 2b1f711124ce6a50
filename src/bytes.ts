/**
 * Copying part of one byte array into another without a view of the part. A `subarray`
 * is an object of ~100 bytes on the JS heap (`deno task bench:alloc`): a single get made
 * several, and each hastened the next scavenge (with its pause and its GC report on the
 * serving loop). Short ranges, such as a single get's value, go a byte at a time; longer
 * ones through `set`, where the view costs less than the loop.
 */

/** Ranges up to this long are copied by the loop. */
const LOOP_MAX_BYTES = 256;

/** Copies `source[from, to)` into `target` at `at`. */
export function copyBytes(
  target: Uint8Array,
  at: number,
  source: Uint8Array,
  from: number,
  to: number,
): void {
  const n = to - from;
  if (n > LOOP_MAX_BYTES) {
    target.set(source.subarray(from, to), at);
    return;
  }
  for (let i = 0; i < n; i++) target[at + i] = source[from + i];
}
