/**
 * How the calling thread shared its core, read at each tick of the runtime's stall probe
 * (src/metrics/runtime.ts), which asks of a late tick whether the thread was running
 * Rialto's work or waiting for the core:
 *
 * - getrusage(2) RUSAGE_THREAD (glibc): the thread's CPU time and its context switches,
 *   involuntary (the scheduler took the core) and voluntary (it slept: a poll, a lock, a
 *   disk read), its major page faults (a page the kernel had dropped, read back from
 *   disk) and the blocks it read from a disk; RUSAGE_SELF: the CPU time of the whole
 *   process, so that the probe can tell how much the process's other threads (worker
 *   isolates, V8's GC and compiler helpers, Deno's runtime threads) ran meanwhile.
 * - /proc/thread-self/schedstat (Linux): the time the thread spent runnable but waiting
 *   for a CPU (run_delay, ns), the only measure of how long it was kept off the core: the
 *   CPU times cannot tell a thread that waited for the core from one that slept in the
 *   event loop's poll with nothing to do. A kernel without scheduler statistics has no
 *   such file (`runQueueMs` stays null), or one whose run_delay never grows past 0: the
 *   probe believes it only once it has (metrics/runtime.ts, `coreShareBetween`).
 *
 * Between two reads a thread's wall time is its CPU time, its wait for a CPU, the time it
 * slept (of which only whether it slept is told: the voluntary switches), and the rest:
 * time its virtual CPU did not run at all, the hypervisor running something else (steal,
 * which a kernel with CONFIG_PARAVIRT_TIME_ACCOUNTING leaves out of a thread's CPU time).
 * Checked on this kernel (6.18, a Firecracker VM) with a thread that spins on one core and
 * reads every 10 ms: wall minus CPU time minus wait was at most 0.53 ms in 1,496 reads
 * without a sleep, and the CPU time getrusage gives matched CLOCK_THREAD_CPUTIME_ID's
 * within 2 µs (it is not a scheduler tick behind).
 *
 * The file is opened once, from the thread it describes (/proc/thread-self is resolved at
 * open), and read again from its start at each tick (sched_stat.ts).
 */
import { type Glibc, glibc } from "./glibc.ts";
import { SchedStat } from "./sched_stat.ts";

const RUSAGE_SELF = 0;
const RUSAGE_THREAD = 1;
// struct rusage on 64-bit Linux: two timevals (utime, stime), then 14 longs, the last
// two nvcsw and nivcsw.
const RUSAGE_LONGS = 18;
const MAJFLT = 9;
const INBLOCK = 11;
const NVCSW = 16;
const NIVCSW = 17;
const SCHEDSTAT = "/proc/thread-self/schedstat";

export class ThreadUsage {
  readonly #libc: Glibc;
  readonly #fields = new BigInt64Array(RUSAGE_LONGS);
  #schedstat: SchedStat | null;
  /** When the last `read()` was made (`performance.now()`), ms. */
  readAt = 0;
  /** User and system CPU time of this thread at the last `read()`, ms. */
  cpuMs = 0;
  /** User and system CPU time of the whole process at the last `read()`, ms. */
  processCpuMs = 0;
  /** Involuntary context switches of this thread at the last `read()`. */
  involuntarySwitches = 0;
  /** Voluntary context switches (sleeps) of this thread at the last `read()`. */
  voluntarySwitches = 0;
  /** Major page faults of this thread (a page read back from disk) at the last `read()`. */
  majorFaults = 0;
  /** Blocks this thread read from a disk (512 bytes each) at the last `read()`. */
  blockReads = 0;
  /**
   * Time this thread spent runnable but waiting for a CPU, ms, at the last `read()`; null
   * where the kernel does not tell.
   */
  runQueueMs: number | null = null;

  private constructor(libc: Glibc, schedstat: SchedStat | null) {
    this.#libc = libc;
    this.#schedstat = schedstat;
  }

  /** A reader for the calling thread, or null where getrusage(RUSAGE_THREAD) is not had. */
  static open(): ThreadUsage | null {
    const libc = glibc();
    if (libc === null) return null;
    // Without scheduler statistics (null), the CPU times alone.
    const usage = new ThreadUsage(libc, SchedStat.open(SCHEDSTAT));
    if (usage.read()) return usage;
    usage.close();
    return null;
  }

  /** Refreshes every field; false when getrusage failed. */
  read(): boolean {
    const f = this.#fields;
    this.readAt = performance.now();
    if (this.#libc.getrusage(RUSAGE_SELF, f) !== 0) return false;
    this.processCpuMs = cpuMsOf(f);
    if (this.#libc.getrusage(RUSAGE_THREAD, f) !== 0) return false;
    this.cpuMs = cpuMsOf(f);
    this.involuntarySwitches = Number(f[NIVCSW]);
    this.voluntarySwitches = Number(f[NVCSW]);
    this.majorFaults = Number(f[MAJFLT]);
    this.blockReads = Number(f[INBLOCK]);
    this.runQueueMs = this.#readRunQueueMs();
    return true;
  }

  /** Closes the schedstat file; `runQueueMs` is null from then on. Safe to call twice. */
  close(): void {
    this.#schedstat?.close();
    this.#schedstat = null;
    this.runQueueMs = null;
  }

  /** The thread's run_delay, ms; null (and closed) once schedstat can not be read. */
  #readRunQueueMs(): number | null {
    const stat = this.#schedstat;
    if (stat === null) return null;
    if (stat.read()) return stat.waitMs;
    this.close();
    return null;
  }
}

const processFields = new BigInt64Array(RUSAGE_LONGS);

/** User and system CPU time of the whole process so far, ms; null where there is no glibc. */
export function processCpuMs(): number | null {
  const libc = glibc();
  if (libc === null || libc.getrusage(RUSAGE_SELF, processFields) !== 0) return null;
  return cpuMsOf(processFields);
}

function cpuMsOf(f: BigInt64Array): number {
  return Number(f[0] + f[2]) * 1000 + Number(f[1] + f[3]) / 1000;
}
