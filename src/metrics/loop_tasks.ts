/**
 * Rialto's own work on an event loop, by cause, for the runtime's stall probe
 * (runtime.ts), which asks what held the loop during a stall:
 *
 * - each periodic task (the data-dir scan, catch-up, the config watch, the transport's
 *   sweep, ...) runs through `run`, which records how long it held the loop in a
 *   histogram by name; its cause is `task:<name>`. For an async task only its synchronous
 *   part is timed: that is the part that holds the loop.
 * - other work that its caller times anyway is given with `note`: a storage read's FFI
 *   call (`ffi:get`, `ffi:batch-get`: the read path measures it for its metrics already, so
 *   this costs a comparison), a message from another isolate (`message:<type>`).
 * - the transport's poller notes the time it blocked waiting for sockets (`noteSleep`),
 *   so that the probe can tell sleep from steal under load.
 *
 * One per isolate (`loopTasks`), so that any module can time its work without plumbing.
 */
import { Buckets, Histogram, LATENCY_BUCKETS_SECONDS } from "./histogram.ts";

const buckets = new Buckets(LATENCY_BUCKETS_SECONDS);

export class LoopTasks {
  readonly #durations = new Map<string, Histogram>();
  // The longest work that ended since the probe last asked: its cause and ms.
  #longestCause: string | null = null;
  #longestMs = 0;
  /**
   * Wall time the thread spent in the transport's own waits that slept so far (ms), and
   * how many there were: for the probe to tell sleep from steal (runtime.ts).
   */
  sleptMs = 0;
  sleeps = 0;

  run<T>(name: string, task: () => T): T {
    return this.#time(name, task, true);
  }

  /**
   * Like `run`, for the stall probe's own work (its tick, the GC report after it): timed
   * with the tasks, but never a stall's cause. It runs just after a tick, and the next one
   * is due a whole period after this one fired (Deno schedules an interval from when it
   * fires, not from when its callback ends), so it cannot have made that one late.
   */
  runProbe<T>(name: string, task: () => T): T {
    return this.#time(name, task, false);
  }

  #time<T>(name: string, task: () => T, mayCause: boolean): T {
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
      if (mayCause && ms > this.#longestMs) {
        this.#longestMs = ms;
        this.#longestCause = `task:${name}`;
      }
    }
  }

  /** Work of `cause` (a constant string: this runs per read) held the loop for `ms`. */
  note(cause: string, ms: number): void {
    if (ms > this.#longestMs) {
      this.#longestMs = ms;
      this.#longestCause = cause;
    }
  }

  /** The thread slept in one of the transport's waits: `ms` from the call to its return. */
  noteSleep(ms: number): void {
    this.sleptMs += ms;
    this.sleeps++;
  }

  /** `task` wrapped so that each call runs through `run(name, ...)`. */
  timed<A extends unknown[], R>(name: string, task: (...args: A) => R): (...args: A) => R {
    return (...args: A) => this.run(name, () => task(...args));
  }

  /** The longest work since the last call, its cause and ms; then forgets it. */
  takeLongest(): { cause: string; ms: number } | null {
    const cause = this.#longestCause;
    const ms = this.#longestMs;
    this.#longestCause = null;
    this.#longestMs = 0;
    return cause === null ? null : { cause, ms };
  }

  /** Each task's run-time histogram, by name. */
  durations(): ReadonlyMap<string, Histogram> {
    return this.#durations;
  }
}

/** This isolate's tasks. */
export const loopTasks = new LoopTasks();
