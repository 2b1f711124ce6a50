/**
 * A thread's scheduler statistics from Linux's /proc schedstat file: "<on-cpu ns>
 * <run_delay ns> <timeslices>", the time the thread ran and the time it spent runnable but
 * waiting for a CPU. The file is opened once and read again from its start at each
 * `read()`: one seek and one read, no allocation. A kernel without scheduler statistics
 * has no such file (`open` gives null).
 */

const SPACE = 0x20;
const ZERO = 0x30;

export class SchedStat {
  #file: Deno.FsFile | null;
  readonly #bytes = new Uint8Array(96);
  /** Where the last `#number` stopped. */
  #at = 0;
  /** CPU time of the thread at the last `read()`, ms. */
  cpuMs = 0;
  /** Time the thread spent runnable but waiting for a CPU (run_delay) at the last `read()`, ms. */
  waitMs = 0;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /**
   * The statistics at `path` (/proc/thread-self/schedstat for the calling thread,
   * /proc/self/task/<tid>/schedstat for another), read once; null where there is no such
   * file or it does not parse.
   */
  static open(path: string): SchedStat | null {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path);
    } catch {
      return null;
    }
    const stat = new SchedStat(file);
    if (stat.read()) return stat;
    stat.close();
    return null;
  }

  /** Refreshes `cpuMs` and `waitMs`; false (and closed) once the file can not be read. */
  read(): boolean {
    const file = this.#file;
    if (file === null) return false;
    const bytes = this.#bytes;
    let n: number | null;
    try {
      file.seekSync(0, Deno.SeekMode.Start);
      n = file.readSync(bytes);
    } catch {
      n = null; // The thread has exited.
    }
    if (n === null) {
      this.close();
      return false;
    }
    const cpuNs = this.#number(bytes, n, 0);
    const waitNs = this.#at < n && bytes[this.#at] === SPACE
      ? this.#number(bytes, n, this.#at + 1)
      : -1;
    if (cpuNs < 0 || waitNs < 0) {
      this.close();
      return false;
    }
    this.cpuMs = cpuNs / 1e6;
    this.waitMs = waitNs / 1e6;
    return true;
  }

  /** The decimal number at `from` in the first `n` bytes, or -1; `#at` is left after it. */
  #number(bytes: Uint8Array, n: number, from: number): number {
    let value = 0;
    let i = from;
    for (; i < n; i++) {
      const d = bytes[i] - ZERO;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
    }
    this.#at = i;
    return i === from ? -1 : value;
  }

  /** Safe to call twice. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}
