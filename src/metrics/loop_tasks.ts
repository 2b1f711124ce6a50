/**
 * Rialto's own work on an event loop, timed by name: each periodic task (the data-dir
 * scan, catch-up, the config watch, the transport's sweep, ...) runs through `run`, which
 * records how long it held the loop. The runtime's stall probe asks which task, if any,
 * ran during a stall (runtime.ts). For an async task only its synchronous part is timed:
 * that is the part that holds the loop.
 *
 * One per isolate (`loopTasks`), so that any module can time its timers without plumbing.
 */
import { Buckets, Histogram, LATENCY_BUCKETS_SECONDS } from "./histogram.ts";

const buckets = new Buckets(LATENCY_BUCKETS_SECONDS);

export class LoopTasks {
  readonly #durations = new Map<string, Histogram>();
  // The longest task that ended since the probe last asked (performance.now() ms).
  #longestName: string | null = null;
  #longestMs = 0;

  run<T>(name: string, task: () => T): T {
    const started = performance.now();
    try {
      return task();
    } finally {
      const ms = performance.now() - started;
      let h = this.#durations.get(name);
      if (h === undefined) {
        h = new Histogram(buckets);
        this.#durations.set(name, h);
      }
      h.observe(ms / 1000);
      if (ms > this.#longestMs) {
        this.#longestMs = ms;
        this.#longestName = name;
      }
    }
  }

  /** `task` wrapped so that each call runs through `run(name, ...)`. */
  timed<A extends unknown[], R>(name: string, task: (...args: A) => R): (...args: A) => R {
    return (...args: A) => this.run(name, () => task(...args));
  }

  /** The longest task since the last call, and its ms; then forgets it. */
  takeLongest(): { name: string; ms: number } | null {
    const name = this.#longestName;
    const ms = this.#longestMs;
    this.#longestName = null;
    this.#longestMs = 0;
    return name === null ? null : { name, ms };
  }

  /** Each task's run-time histogram, by name. */
  durations(): ReadonlyMap<string, Histogram> {
    return this.#durations;
  }
}

/** This isolate's tasks. */
export const loopTasks = new LoopTasks();
