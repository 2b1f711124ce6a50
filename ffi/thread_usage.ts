/**
 * The calling thread's CPU time and involuntary context switches, from getrusage(2)
 * with RUSAGE_THREAD (Linux, glibc). The runtime's stall probe reads them at each tick:
 * a late tick across which the thread was switched out involuntarily and spent most of
 * the lateness off the CPU was the machine's doing (another thread or process ran on the
 * core), not the event loop's work. Without glibc `ThreadUsage.open()` is null.
 */
import { type Glibc, glibc } from "./glibc.ts";

const RUSAGE_THREAD = 1;
// struct rusage on 64-bit Linux: two timevals (utime, stime), then 14 longs, the last
// two nvcsw and nivcsw.
const RUSAGE_LONGS = 18;
const NIVCSW = 17;

export class ThreadUsage {
  readonly #libc: Glibc;
  readonly #fields = new BigInt64Array(RUSAGE_LONGS);
  /** User and system CPU time of this thread at the last `read()`, ms. */
  cpuMs = 0;
  /** Involuntary context switches of this thread at the last `read()`. */
  involuntarySwitches = 0;

  private constructor(libc: Glibc) {
    this.#libc = libc;
  }

  /** A reader for the calling thread, or null where getrusage(RUSAGE_THREAD) is not had. */
  static open(): ThreadUsage | null {
    const libc = glibc();
    if (libc === null) return null;
    const usage = new ThreadUsage(libc);
    return usage.read() ? usage : null;
  }

  /** Refreshes `cpuMs` and `involuntarySwitches`; false when the call failed. */
  read(): boolean {
    const f = this.#fields;
    if (this.#libc.getrusage(RUSAGE_THREAD, f) !== 0) return false;
    this.cpuMs = Number(f[0] + f[2]) * 1000 + Number(f[1] + f[3]) / 1000;
    this.involuntarySwitches = Number(f[NIVCSW]);
    return true;
  }
}
