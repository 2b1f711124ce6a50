/**
 * Giving freed native memory back to the system. glibc keeps what a process frees in its
 * arenas for reuse; after a burst of connections (their buffers, and Deno's and tokio's
 * per-socket allocations) that is most of the burst's peak, resident for good.
 * `malloc_trim(0)` returns the free pages of every arena (madvise), not only the top of
 * the main heap. It runs on Deno's blocking thread pool (the FFI call is nonblocking),
 * not on the event loop that serves reads.
 *
 * On a system without glibc there is nothing to call, and `trimNativeHeap` does nothing.
 */

import { glibc } from "./glibc.ts";

let trimming: Promise<boolean> | null = null;

/**
 * Asks glibc to return free memory to the system; resolves true when some was returned.
 * Calls made while one runs share it.
 */
export function trimNativeHeap(): Promise<boolean> {
  const libc = glibc();
  if (libc === null) return Promise.resolve(false);
  trimming ??= libc.malloc_trim(0n).then(
    (released) => released === 1,
    () => false,
  ).finally(() => trimming = null);
  return trimming;
}
