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
 *   Deno 2.8.3, matching `--trace-gc`'s pause times). The profiler is stopped and
 *   restarted every `gcWindowMs` and its pauses go into a histogram per GC type.
 * - `performance.eventLoopUtilization()` returns zeros: not used.
 */
import * as v8 from "node:v8";
import { Buckets, Histogram, LATENCY_BUCKETS_SECONDS } from "./histogram.ts";
import { renderHistogram } from "./read_metrics.ts";

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
  /** How often the event-loop probe wakes (default 10 ms). */
  readonly resolutionMs?: number;
  /** How often GC statistics are collected (default 1000 ms). */
  readonly gcWindowMs?: number;
}

export class RuntimeMetrics {
  readonly eventLoopDelay = new Histogram(latencyBuckets);
  readonly #gcPauses = new Map<string, Histogram>();
  readonly #resolutionMs: number;
  readonly #gcWindowMs: number;
  #probe: ReturnType<typeof setInterval> | null = null;
  #gcTimer: ReturnType<typeof setInterval> | null = null;
  #profiler: GcProfiler | null = null;
  #last = 0;
  /** Whether this runtime had a working GCProfiler. */
  gcSupported = false;

  constructor(options: RuntimeMetricsOptions = {}) {
    this.#resolutionMs = options.resolutionMs ?? 10;
    this.#gcWindowMs = options.gcWindowMs ?? 1000;
  }

  start(): void {
    if (this.#probe !== null) return;
    this.#last = performance.now();
    this.#probe = setInterval(() => {
      const now = performance.now();
      const late = now - this.#last - this.#resolutionMs;
      this.#last = now;
      this.eventLoopDelay.observe(late > 0 ? late / 1000 : 0);
    }, this.#resolutionMs);
    Deno.unrefTimer(this.#probe as unknown as number);

    const Profiler = (v8 as unknown as { GCProfiler?: new () => GcProfiler }).GCProfiler;
    if (Profiler !== undefined) {
      this.#profiler = new Profiler();
      this.#profiler.start();
      this.gcSupported = true;
      this.#gcTimer = setInterval(() => this.collectGc(), this.#gcWindowMs);
      Deno.unrefTimer(this.#gcTimer as unknown as number);
    }
  }

  /** Moves the GC pauses seen so far into the histograms (the timer does this too). */
  collectGc(): void {
    const profiler = this.#profiler;
    if (profiler === null) return;
    const profile = profiler.stop();
    profiler.start();
    for (const gc of profile?.statistics ?? []) {
      let h = this.#gcPauses.get(gc.gcType);
      if (h === undefined) {
        h = new Histogram(latencyBuckets);
        this.#gcPauses.set(gc.gcType, h);
      }
      h.observe(gc.cost / 1e9);
    }
  }

  /** GC pause histogram of one V8 GC type ("Scavenge", "MarkSweepCompact", ...). */
  gcPauses(gcType: string): Histogram | undefined {
    return this.#gcPauses.get(gcType);
  }

  stop(): void {
    if (this.#probe !== null) clearInterval(this.#probe);
    if (this.#gcTimer !== null) clearInterval(this.#gcTimer);
    this.#probe = null;
    this.#gcTimer = null;
    this.#profiler?.stop();
    this.#profiler = null;
  }

  renderInto(out: string[]): void {
    const eld = "rialto_event_loop_delay_seconds";
    out.push(`# HELP ${eld} How late a ${this.#resolutionMs} ms timer fired: event-loop delay.`);
    out.push(`# TYPE ${eld} histogram`);
    renderHistogram(out, eld, "", latencyBuckets, this.eventLoopDelay.data);

    const gc = "rialto_gc_pause_seconds";
    out.push(`# HELP ${gc} Garbage-collection pauses by V8 GC type (node:v8 GCProfiler).`);
    out.push(`# TYPE ${gc} histogram`);
    for (const [type, h] of [...this.#gcPauses].sort(([a], [b]) => a < b ? -1 : 1)) {
      renderHistogram(out, gc, `type="${type}"`, latencyBuckets, h.data);
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
