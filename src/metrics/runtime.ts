/**
 * Event-loop delay and garbage-collection pauses, measured with what Deno 2.8.3 really
 * provides (checked on this version):
 *
 * - `node:perf_hooks` `monitorEventLoopDelay` exists but does not measure: a 120 ms
 *   busy loop showed a 0.05 ms maximum. Not used. Instead a timer wakes every
 *   `resolutionMs` and records how late it woke: that lateness is the event-loop delay
 *   a request arriving then would have seen (GC pauses included).
 * - `PerformanceObserver` lists 'gc' among its entry types but delivers no entries.
 *   `node:v8` `GCProfiler` does work: each collection with its type and cost (in ns on
 *   Deno 2.8.3, matching `--trace-gc`'s pause times). Its pauses go into a histogram per GC
 *   type. `stop()` builds its report on the event loop: an object of some 130 properties per
 *   collection, each set through V8's API (ext/node/ops/v8.rs), ~0.14 ms a collection
 *   (medians on Deno 2.8.3 here: none 9 µs, one 137 µs, two 214 µs), and each stop and
 *   restart costs more on a loaded loop than in a loop of them (a 40k gets/s server: ~44 µs
 *   for an empty report, estimated from the means of the two ways below). No cheaper hook
 *   is had (the runtime exports no V8 symbol to FFI; its OpenTelemetry GC histogram's
 *   finest bucket is 10 ms). So the report is taken at a probe tick when V8 has collected
 *   since the last (the heap in use shrank: between collections it only grows; one
 *   `getHeapStatistics`, ~1 µs), at a stall since such a tick, and at least once a second:
 *   each report then holds about one collection, and no empty one is built. A saturated
 *   server sees a stall at most ticks (they wait for reads' work): a report at each would
 *   cost it ~2% of its core (100 ticks a second, 150-200 µs a report).
 *   Measured at 40k gets/s, a report every 50 ms held 1.7 (137-167 µs a run on average),
 *   one at every 10 ms tick cost twice the CPU (62 µs a run; the stall account found a
 *   one-second window's 6-27 ms: task:gc-stats).
 * - `performance.eventLoopUtilization()` returns zeros: not used.
 * - With the native transport's poller (socket_poller.ts) the serving thread waits in its own
 *   `epoll_wait`, up to a millisecond at a time when no read comes, before the runtime's
 *   next turn: an idle tick can come that much later, with no read kept waiting (the
 *   poller takes reads as they come). Such a stall's cause is `asleep`, as a timer's own
 *   lateness always was. Busy, the poller hands the runtime a turn every 0.5 ms.
 *
 * A probe tick later than STALL_MS is a stall, counted by its cause (`stallCause`), the
 * first of:
 * - `preempted`: the thread waited for a CPU, runnable but not running, for at least half
 *   the stall's length since the last tick (run_delay, ffi/thread_usage.ts): another
 *   process had the core, and whatever held the loop (a read, a collection, a task) was
 *   long because it was kept off the core, not because of its own work. First, because
 *   the time a read or a collection is measured to take includes the time it waited.
 *   `preempted:own-threads` when the process's other threads (another isolate, V8's GC
 *   or compiler helpers, Deno's runtime threads) ran at least half that wait on this
 *   core: CPU time of theirs that the process's other cores (its affinity) could not
 *   have held. That one is Rialto's own cause.
 * - `stolen`: the thread neither ran, nor waited for a CPU, nor slept for at least half the
 *   stall's length since the last tick: its virtual CPU was not running, the hypervisor had
 *   it (steal time; ffi/thread_usage.ts), or the kernel ran interrupts there that it
 *   accounts apart. Whatever held the loop then was long by that much. Not Rialto's own
 *   cause. What it slept is known when it slept only in the transport's own waits, which
 *   the poller times (`coreShareBetween`); where it slept otherwise (a lock, a disk read,
 *   or in the runtime's poll, which nothing times) the account can not split sleep from
 *   steal and goes on down this list.
 * - `major-fault`: the thread took a major page fault since the last tick and neither ran
 *   nor waited for a CPU for at least half the stall's length: it slept on a page the
 *   kernel had dropped and read back from disk (on these VMs the host's DAMON pageout
 *   drops file pages unused for a minute: the runtime's code, RocksDB's files). The
 *   system's doing, which locking the server's memory would prevent; not counted as
 *   Rialto's own cause.
 * - `gc:<type>`: a GC pause of at least half of it since the last collection of GC
 *   statistics (collected at once when a stall is seen). Before the work, because a
 *   pause inside a task or a read would otherwise count as theirs.
 * - Rialto's own work that held the loop for at least half of it since the last tick
 *   (loop_tasks.ts): `task:<name>` (a periodic task), `ffi:get` or `ffi:batch-get` (a
 *   storage read), `message:<type>` (a message from another isolate).
 * - `asleep`: the thread ran and waited for a CPU for less than half of it since the last
 *   tick, and none of the above held the loop: it slept through most of the lateness,
 *   outside Rialto's work. Mostly an idle loop's poll, where the timer itself fires late
 *   by its millisecond granularity and no read waits; else the system's doing (a stopped
 *   process, a page brought back from swap). Not Rialto's own cause.
 * - `other`: none of these (the serving work itself, in pieces each shorter than half).
 *
 * Where the kernel keeps no run_delay (no /proc/thread-self/schedstat, or one that never
 * grows), `preempted` comes after the work, from the CPU times alone: the thread was
 * switched out involuntarily since the last tick and was off the CPU for at least half the
 * stall's length. That off-CPU time includes any idle wait before the tick was due, so it
 * says the core was taken, not for how long, and a read or collection that was itself
 * preempted counts as theirs: the account errs against Rialto there.
 */
import * as v8 from "node:v8";
import { ThreadUsage } from "../../ffi/mod.ts";
import { Buckets, Histogram, LATENCY_BUCKETS_SECONDS } from "./histogram.ts";
import { loopTasks } from "./loop_tasks.ts";
import { renderHistogram } from "./read_metrics.ts";

/** A probe tick this much later than due is a stall worth a cause. */
export const STALL_MS = 1;

/** The GC report is taken at least this often, whatever the heap did (ms). */
const GC_REPORT_MAX_MS = 1000;

const latencyBuckets = new Buckets(LATENCY_BUCKETS_SECONDS);

interface GcStatistic {
  gcType: string;
  cost: number;
}

interface GcProfiler {
  start(): void;
  stop(): { statistics: GcStatistic[] } | undefined;
}

export interface RuntimeMetricsOptions {
  /** How often the event-loop probe wakes and looks whether a GC report is due (default 10 ms). */
  readonly resolutionMs?: number;
}

export class RuntimeMetrics {
  readonly eventLoopDelay = new Histogram(latencyBuckets);
  readonly #gcPauses = new Map<string, Histogram>();
  /** Stalls over STALL_MS by cause: "gc:<type>", "task:<name>", "preempted", ... (above). */
  readonly stalls = new Map<string, number>();
  readonly #resolutionMs: number;
  #probe: ReturnType<typeof setInterval> | null = null;
  #profiler: GcProfiler | null = null;
  #last = 0;
  #threadUsage: ThreadUsage | null = null;
  /** CPUs this process may run on (its affinity), for `preempted:own-threads`. */
  #cpus = 1;
  /** The thread's usage at the last tick. */
  readonly #lastUsage: UsageSample = { ...NO_USAGE };
  /** The heap in use at the last tick, bytes. */
  #heapUsed = 0;
  /** When the GC report was last taken. */
  #gcReportedAt = 0;
  /** Whether this runtime had a working GCProfiler. */
  gcSupported = false;

  constructor(options: RuntimeMetricsOptions = {}) {
    this.#resolutionMs = options.resolutionMs ?? 10;
  }

  start(): void {
    if (this.#probe !== null) return;
    this.#threadUsage = ThreadUsage.open();
    this.#cpus = Math.max(1, navigator.hardwareConcurrency || 1);
    this.#last = performance.now();
    this.#remember();
    const Profiler = (v8 as unknown as { GCProfiler?: new () => GcProfiler }).GCProfiler;
    if (Profiler !== undefined) {
      this.#profiler = new Profiler();
      this.#profiler.start();
      this.gcSupported = true;
    }
    this.#probe = setInterval(() => this.#tick(), this.#resolutionMs);
    Deno.unrefTimer(this.#probe as unknown as number);
  }

  /**
   * One probe tick: the stall check (with the GC report at a stall when V8 collected since
   * the last tick: its cause may be that collection), then the GC report when one is due.
   * Both are periodic work on the loop they watch: each is timed as a task of its own,
   * never the cause of the next tick's lateness (`LoopTasks.runProbe`).
   */
  #tick(): void {
    let reportDue = false;
    loopTasks.runProbe("stall-probe", () => {
      const now = performance.now();
      const late = now - this.#last - this.#resolutionMs;
      this.#last = now;
      this.eventLoopDelay.observe(late > 0 ? late / 1000 : 0);
      const work = loopTasks.takeLongest();
      reportDue = this.#gcReportDue(now);
      if (late > STALL_MS) {
        // A collection can be the cause only if V8 collected since the last tick: else the
        // report (~0.15 ms a collection, most of a stall's accounting) is left for later.
        const gc = reportDue ? this.collectGc() : null;
        const cause = stallCause(late, gc, work, this.#coreShare());
        this.stalls.set(cause, (this.stalls.get(cause) ?? 0) + 1);
        reportDue = false;
      } else {
        this.#threadUsage?.read();
      }
      this.#remember();
    });
    if (reportDue) loopTasks.runProbe("gc-stats", () => this.collectGc());
  }

  /**
   * Whether the GC report is due: V8 has collected since the last tick (the heap in use
   * shrank), or GC_REPORT_MAX_MS have passed since the last report.
   */
  #gcReportDue(now: number): boolean {
    if (this.#profiler === null) return false;
    const heapUsed = v8.getHeapStatistics().used_heap_size;
    const collected = heapUsed < this.#heapUsed;
    this.#heapUsed = heapUsed;
    return collected || now - this.#gcReportedAt >= GC_REPORT_MAX_MS;
  }

  /** Keeps the thread usage just read as the next tick's starting point. */
  #remember(): void {
    const usage = this.#threadUsage;
    if (usage !== null) sampleUsage(usage, this.#lastUsage);
  }

  /** How the thread shared its core since the last tick (reads its usage anew). */
  #coreShare(): CoreShare {
    const usage = this.#threadUsage;
    if (usage === null || !usage.read()) return NO_SHARE;
    return coreShareBetween(this.#lastUsage, sampleUsage(usage, { ...NO_USAGE }), this.#cpus);
  }

  /**
   * Moves the GC pauses seen so far into the histograms (the timer does this too);
   * returns the longest of them (ms), or null when there was none.
   */
  collectGc(): { type: string; ms: number } | null {
    const profiler = this.#profiler;
    if (profiler === null) return null;
    this.#gcReportedAt = performance.now();
    const profile = profiler.stop();
    profiler.start();
    let longest: { type: string; ms: number } | null = null;
    for (const gc of profile?.statistics ?? []) {
      const ms = gc.cost / 1e6;
      if (longest === null || ms > longest.ms) longest = { type: gc.gcType, ms };
      let h = this.#gcPauses.get(gc.gcType);
      if (h === undefined) {
        h = new Histogram(latencyBuckets);
        this.#gcPauses.set(gc.gcType, h);
      }
      h.observe(gc.cost / 1e9);
    }
    return longest;
  }

  /** GC pause histogram of one V8 GC type ("Scavenge", "MarkSweepCompact", ...). */
  gcPauses(gcType: string): Histogram | undefined {
    return this.#gcPauses.get(gcType);
  }

  stop(): void {
    if (this.#probe !== null) clearInterval(this.#probe);
    this.#probe = null;
    this.#profiler?.stop();
    this.#profiler = null;
    this.#threadUsage?.close();
    this.#threadUsage = null;
  }

  /** The runtime's series appended to `out`, a histogram at a time (sliced.ts). */
  *pieces(out: string[]): Generator<void> {
    const eld = "rialto_event_loop_delay_seconds";
    out.push(`# HELP ${eld} How late a ${this.#resolutionMs} ms timer fired: event-loop delay.`);
    out.push(`# TYPE ${eld} histogram`);
    renderHistogram(out, eld, "", latencyBuckets, this.eventLoopDelay.data);
    yield;

    const gc = "rialto_gc_pause_seconds";
    out.push(`# HELP ${gc} Garbage-collection pauses by V8 GC type (node:v8 GCProfiler).`);
    out.push(`# TYPE ${gc} histogram`);
    for (const [type, h] of [...this.#gcPauses].sort(([a], [b]) => a < b ? -1 : 1)) {
      renderHistogram(out, gc, `type="${type}"`, latencyBuckets, h.data);
      yield;
    }

    renderStalls(out, "rialto_event_loop_stalls_total", [["", this.stalls]]);
    yield;
    const task = "rialto_loop_task_seconds";
    out.push(`# HELP ${task} How long each of Rialto's periodic tasks held the event loop.`);
    out.push(`# TYPE ${task} histogram`);
    for (const [name, h] of [...loopTasks.durations()].sort(([a], [b]) => a < b ? -1 : 1)) {
      renderHistogram(out, task, `task="${name}"`, latencyBuckets, h.data);
      yield;
    }

    const memory = Deno.memoryUsage();
    const gauges: [string, string, number][] = [
      ["rialto_heap_used_bytes", "V8 heap in use.", memory.heapUsed],
      ["rialto_heap_total_bytes", "V8 heap reserved.", memory.heapTotal],
      [
        "rialto_external_memory_bytes",
        "Memory outside the V8 heap held by JS objects.",
        memory.external,
      ],
      ["rialto_resident_memory_bytes", "Resident set size of the process.", memory.rss],
    ];
    for (const [name, help, value] of gauges) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    }
  }
}

/** How a thread shared its core between two probe ticks (see `stallCause`). */
export interface CoreShare {
  /** Time it waited for a CPU, runnable (run_delay), ms; null where not known. */
  readonly waitMs: number | null;
  /**
   * Time it neither ran, nor waited for a CPU, nor slept: steal, ms; null where not known
   * (no run_delay, or it slept since the last tick other than in the transport's waits).
   */
  readonly stolenMs: number | null;
  /**
   * Time it neither ran nor waited for a CPU: slept, or steal, ms; null where not known (no
   * run_delay).
   */
  readonly offMs: number | null;
  /** Whether it took a major page fault (a page read back from disk). */
  readonly faulted: boolean;
  /** CPU time of the process's other threads that must have run on its core, ms. */
  readonly ownThreadsMs: number;
  /** Off-CPU time when it was switched out involuntarily, else 0, ms (no run_delay). */
  readonly offCpuMs: number;
  /** Its own CPU time, ms; null where not known. */
  readonly cpuMs: number | null;
  /** Whether it was switched out involuntarily. */
  readonly switchedOut: boolean;
}

/** What the probe reads of its thread at a tick: ThreadUsage's fields, and its sleeps. */
export interface UsageSample {
  /** When it was read (`performance.now()`), ms. */
  readAt: number;
  cpuMs: number;
  processCpuMs: number;
  involuntarySwitches: number;
  voluntarySwitches: number;
  majorFaults: number;
  blockReads: number;
  /** run_delay, ms; null where the kernel does not tell. */
  runQueueMs: number | null;
  /** Time it slept in the transport's own waits so far, ms, and how many such waits. */
  transportSleptMs: number;
  transportSleeps: number;
}

/** A sample of nothing yet: where the probe starts. */
export const NO_USAGE: Readonly<UsageSample> = {
  readAt: 0,
  cpuMs: 0,
  processCpuMs: 0,
  involuntarySwitches: 0,
  voluntarySwitches: 0,
  majorFaults: 0,
  blockReads: 0,
  runQueueMs: null,
  transportSleptMs: 0,
  transportSleeps: 0,
};

/** `usage` as just read, with the transport's sleeps so far (loop_tasks.ts), into `into`. */
function sampleUsage(usage: ThreadUsage, into: UsageSample): UsageSample {
  into.readAt = usage.readAt;
  into.cpuMs = usage.cpuMs;
  into.processCpuMs = usage.processCpuMs;
  into.involuntarySwitches = usage.involuntarySwitches;
  into.voluntarySwitches = usage.voluntarySwitches;
  into.majorFaults = usage.majorFaults;
  into.blockReads = usage.blockReads;
  into.runQueueMs = usage.runQueueMs;
  into.transportSleptMs = loopTasks.sleptMs;
  into.transportSleeps = loopTasks.sleeps;
  return into;
}

/**
 * How a thread shared its core between two samples, on a machine where its process may run
 * on `cpus` CPUs (its affinity).
 *
 * - Its wait for a CPU is run_delay's growth, where the kernel keeps run_delay: one whose
 *   run_delay has grown past 0 by then. A kernel without it (CONFIG_SCHED_INFO off) shows
 *   0 for good; a live one is past 0 long before this (the thread has waited for a CPU at
 *   least once since it started). An interval with an involuntary switch and no wait
 *   counted does happen on a live kernel (one in ~300 such stalls here, on 6.18): its wait
 *   is taken as measured, and later ones still count. (Until 2026-12-07 such an interval
 *   made the probe stop believing run_delay for good: in a 20k gets/s run it came during
 *   the first seconds, and each read preempted afterwards counted as the read's.)
 * - What it slept is known when each sleep may have been one of the transport's own waits
 *   (the poller times them: socket_poller.ts) and none was on a disk (no major fault, no
 *   block read): not as the sleep alone, as the wall time of those waits, which also holds
 *   any wait for the CPU on waking and the call's own CPU time. What neither ran, nor
 *   waited, nor slept, less the time the process's other threads ran beyond its wait
 *   (they may have run while it slept, in a collection's join say), is steal. That errs
 *   low, with one exception the counts can not rule out: a sleep elsewhere (a lock, say)
 *   in an interval where some of the poller's counted waits did not switch would pass
 *   for steal.
 */
export function coreShareBetween(
  last: UsageSample,
  now: UsageSample,
  cpus: number,
): CoreShare {
  const elapsedMs = now.readAt - last.readAt;
  const cpuMs = now.cpuMs - last.cpuMs;
  const switchedOut = now.involuntarySwitches > last.involuntarySwitches;
  const waitMs = now.runQueueMs !== null && now.runQueueMs > 0 && last.runQueueMs !== null
    ? now.runQueueMs - last.runQueueMs
    : null;
  const siblingsMs = now.processCpuMs - last.processCpuMs - cpuMs;
  const ownThreadsMs = Math.max(0, siblingsMs - (cpus - 1) * elapsedMs);
  const offMs = waitMs === null ? null : elapsedMs - cpuMs - waitMs;
  const sleeps = now.voluntarySwitches - last.voluntarySwitches;
  const sleepKnown = sleeps <= now.transportSleeps - last.transportSleeps &&
    now.majorFaults === last.majorFaults && now.blockReads === last.blockReads;
  let stolenMs: number | null = null;
  if (waitMs !== null && offMs !== null && sleepKnown) {
    const sleptMs = now.transportSleptMs - last.transportSleptMs;
    stolenMs = offMs - sleptMs - Math.max(0, ownThreadsMs - waitMs);
  }
  return {
    waitMs,
    stolenMs,
    offMs,
    faulted: now.majorFaults > last.majorFaults,
    cpuMs,
    ownThreadsMs,
    switchedOut,
    offCpuMs: switchedOut ? elapsedMs - cpuMs : 0,
  };
}

const NO_SHARE: CoreShare = {
  waitMs: null,
  stolenMs: null,
  offMs: null,
  faulted: false,
  ownThreadsMs: 0,
  offCpuMs: 0,
  cpuMs: null,
  switchedOut: false,
};

/**
 * The cause of a stall `lateMs` long (the module's doc says why in this order): `gc`,
 * the longest collection since the last tick; `work`, the longest of Rialto's own work.
 */
export function stallCause(
  lateMs: number,
  gc: { type: string; ms: number } | null,
  work: { cause: string; ms: number } | null,
  share: CoreShare,
): string {
  const half = lateMs / 2;
  if (share.waitMs !== null && share.waitMs >= half) {
    return share.ownThreadsMs >= share.waitMs / 2 ? "preempted:own-threads" : "preempted";
  }
  if (share.stolenMs !== null && share.stolenMs >= half) return "stolen";
  if (share.faulted && share.offMs !== null && share.offMs >= half) return "major-fault";
  if (gc !== null && gc.ms >= half) return `gc:${gc.type}`;
  if (work !== null && work.ms >= half) return work.cause;
  // Neither running nor waiting for a CPU for more than half of it, and in none of
  // Rialto's work: asleep (module doc).
  const known = share.waitMs !== null || !share.switchedOut;
  if (known && share.cpuMs !== null && share.cpuMs + (share.waitMs ?? 0) < half) return "asleep";
  if (share.waitMs === null && share.offCpuMs >= half) return "preempted";
  return "other";
}

/**
 * Stall counters by cause, one series per `[labels, stalls]`; `labels` (e.g.
 * `worker="0",`) go before the cause.
 */
export function renderStalls(
  out: string[],
  name: string,
  series: readonly (readonly [string, ReadonlyMap<string, number>])[],
): void {
  out.push(`# HELP ${name} Event-loop stalls over ${STALL_MS} ms, by cause.`);
  out.push(`# TYPE ${name} counter`);
  for (const [labels, stalls] of series) {
    for (const [cause, n] of [...stalls].sort(([a], [b]) => a < b ? -1 : 1)) {
      out.push(`${name}{${labels}cause="${cause}"} ${n}`);
    }
  }
}
