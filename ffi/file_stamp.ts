/**
 * A file's identity and last change (inode, size, modification time), for the periodic
 * checks that run on the event loop serving reads (the config file's poll, the data-dir
 * listing stamp). stat(2) straight through glibc into one buffer: after other work a
 * `Deno.statSync` held the loop ~80 µs (its FileInfo and Dates built each time) where
 * this call took ~40 µs (medians of 40, each after 200 ms of allocating work on one
 * core). Where there is no glibc or the struct's layout is not known here, and for the
 * error of a failed call, `Deno.statSync` answers instead.
 */
import { glibc } from "./glibc.ts";

/** What a periodic check compares: equal stamps, an unchanged file (or folder). */
export interface FileStamp {
  readonly ino: number;
  readonly size: number;
  /**
   * Modification time, ms since the epoch (fractional: the file system's precision); NaN
   * where the platform does not give one.
   */
  readonly mtimeMs: number;
}

// struct stat on x86_64 and on aarch64 (the generic layout) places these alike: st_ino
// at byte 8, st_size at 48, st_mtim (seconds, nanoseconds) at 88; 144 bytes in all.
const STAT_LONGS = 18;
const INO = 1;
const SIZE = 6;
const MTIME_SEC = 11;
const MTIME_NSEC = 12;
const KNOWN_LAYOUT = Deno.build.os === "linux" &&
  (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64");

const fields = new BigInt64Array(STAT_LONGS);
const encoder = new TextEncoder();

/** `path`'s stamp, following links; null when nothing is there (NotFound). */
export function fileStamp(path: string): FileStamp | null {
  const stat = KNOWN_LAYOUT ? glibc()?.stat : null;
  if (stat && stat(encoder.encode(`${path}\0`), fields) === 0) {
    return {
      ino: Number(fields[INO]),
      size: Number(fields[SIZE]),
      mtimeMs: Number(fields[MTIME_SEC]) * 1000 + Number(fields[MTIME_NSEC]) / 1e6,
    };
  }
  // No glibc, or the call failed: Deno's stat, for its answer or its typed error.
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return { ino: info.ino ?? 0, size: info.size, mtimeMs: info.mtime?.getTime() ?? NaN };
}
