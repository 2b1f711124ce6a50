/**
 * The scheduling of V8's helper threads (`rialto serve`). They compile the read path as it
 * gets hot and help with collections, on the serving core when the server has one.
 *
 * - At the serving thread's priority, a compile held that core for milliseconds at a time.
 * - Under SCHED_IDLE, a compile waited for the serving thread's gaps. A saturated server has
 *   none, so its read path stayed unoptimized. At 40k gets/s TurboFan's jobs took 0.4-2.1 s
 *   from queued to done (25 ms at normal priority), and compiles went on for 30 s after the
 *   load came (10 s at normal priority). A slower read path meant still fewer gaps, and the
 *   late compiles still preempted the serving thread for a scheduler tick at a time.
 *
 * So they get each in turn, checked every `periodMs`:
 * - A helper that waited runnable for half the period (schedstat's run_delay) has work it
 *   can not get to: it is moved to SCHED_OTHER, to do that work at normal priority. The
 *   kernel counts a wait when the thread gets the core, so a starved helper's shows in
 *   lumps (276 ms in one 100 ms period, in the test), at the ticks it is let run.
 * - One that used under a tenth of each period's CPU for a second, while the rest of the
 *   process was busy (a quarter of a core), has done what the load made hot: back to
 *   SCHED_IDLE. Its small tasks (a collection's share) then wait for the serving thread's
 *   gaps. Not after one quiet period: a warm-up's compiles come in bursts, and each burst
 *   after a return to SCHED_IDLE waited for a period and a tick (compiles took up to 0.6 s
 *   from queued to done at 40k/s, with a return after each quiet 250 ms).
 *
 * They start at normal priority, so that a server's first load is compiled at once. Leaving
 * SCHED_IDLE needs CAP_SYS_NICE (or RLIMIT_NICE of 20): without it the first refusal is
 * logged and the helpers, once idle, stay idle.
 */
import {
  processCpuMs,
  SCHED_IDLE,
  SCHED_OTHER,
  SchedStat,
  setThreadPolicy,
  threadsNamed,
  V8_HELPER_THREAD_NAME,
} from "../ffi/mod.ts";
import { logger } from "./log.ts";
import { loopTasks } from "./metrics/loop_tasks.ts";

const log = logger("runtime");

/** How often the helpers' share is looked at (ms). */
export const HELPER_CHECK_MS = 100;
/** A helper that waited runnable this share of a period is starved. */
const STARVED_SHARE = 0.5;
/** A helper that ran under this share of a period was quiet in it... */
const QUIET_SHARE = 0.1;
/** ...when the rest of the process ran at least this share of a core meanwhile. */
const BUSY_SHARE = 0.25;
/** How long a helper is quiet before it goes back to SCHED_IDLE (ms). */
const QUIET_FOR_MS = 1000;

/** A helper's policy, and for how long (ms) it has been quiet under SCHED_OTHER. */
export interface HelperState {
  readonly policy: number;
  readonly quietMs: number;
}

/** What a helper's last period says of its policy (pure; see the module comment). */
export function nextState(
  state: HelperState,
  period: { ms: number; helperCpuMs: number; helperWaitMs: number; othersCpuMs: number },
): HelperState {
  if (state.policy === SCHED_IDLE) {
    const starved = period.helperWaitMs >= STARVED_SHARE * period.ms;
    return starved ? { policy: SCHED_OTHER, quietMs: 0 } : state;
  }
  const quiet = period.helperCpuMs < QUIET_SHARE * period.ms &&
    period.othersCpuMs >= BUSY_SHARE * period.ms;
  const quietMs = quiet ? state.quietMs + period.ms : 0;
  return { policy: quietMs >= QUIET_FOR_MS ? SCHED_IDLE : SCHED_OTHER, quietMs };
}

interface Helper {
  readonly tid: number;
  readonly stat: SchedStat;
  state: HelperState;
  /** Whether its statistics could not be read at the last check. */
  exited: boolean;
  cpuMs: number;
  waitMs: number;
}

export interface HelperThreadsOptions {
  /** The threads governed, by name (default V8's helpers). */
  readonly name?: string;
  /** ms between checks (default HELPER_CHECK_MS). */
  readonly periodMs?: number;
  /** Told of each move made (tests). */
  readonly onChange?: (tid: number, policy: number) => void;
}

export class HelperThreads {
  #helpers: Helper[];
  readonly #periodMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastAt: number;
  #lastProcessCpuMs: number;
  /** Policies sched_setscheduler refused here once. */
  readonly #refused = new Set<number>();
  readonly #onChange: HelperThreadsOptions["onChange"];

  private constructor(helpers: Helper[], processCpuMs: number, options: HelperThreadsOptions) {
    this.#helpers = helpers;
    this.#periodMs = options.periodMs ?? HELPER_CHECK_MS;
    this.#onChange = options.onChange;
    this.#lastAt = performance.now();
    this.#lastProcessCpuMs = processCpuMs;
  }

  /**
   * Starts governing this process's threads named `name`; null where that can not be done
   * here (no glibc, no /proc, no scheduler statistics, no such thread), with the reason
   * logged.
   */
  static start(options: HelperThreadsOptions = {}): HelperThreads | null {
    const name = options.name ?? V8_HELPER_THREAD_NAME;
    const cpuMs = processCpuMs();
    let tids: number[] = [];
    try {
      tids = threadsNamed(name);
    } catch (error) {
      log.warn("Threads named {name} keep their priority: {error}", { name, error });
      return null;
    }
    const helpers: Helper[] = [];
    for (const tid of tids) {
      const stat = SchedStat.open(`/proc/self/task/${tid}/schedstat`);
      if (stat === null) continue;
      helpers.push({
        tid,
        stat,
        state: { policy: SCHED_OTHER, quietMs: 0 },
        exited: false,
        cpuMs: stat.cpuMs,
        waitMs: stat.waitMs,
      });
    }
    if (cpuMs === null || helpers.length === 0) {
      log.warn("Threads named {name} keep their priority: {reason}", {
        name,
        reason: cpuMs === null ? "no glibc" : "none with scheduler statistics",
      });
      for (const helper of helpers) helper.stat.close();
      return null;
    }
    const governor = new HelperThreads(helpers, cpuMs, options);
    governor.#timer = setInterval(
      loopTasks.timed("helper-priority", () => governor.check()),
      governor.#periodMs,
    );
    Deno.unrefTimer(governor.#timer as unknown as number);
    log.info(
      "Threads named {name} ({count}): normal priority while they have work, SCHED_IDLE after",
      { name, count: helpers.length },
    );
    return governor;
  }

  /** The governed threads and their policies now. */
  get policies(): { tid: number; policy: number }[] {
    return this.#helpers.map(({ tid, state }) => ({ tid, policy: state.policy }));
  }

  /** Looks at the last period and moves each helper as `nextState` says. */
  check(): void {
    const now = performance.now();
    const cpuMs = processCpuMs();
    if (cpuMs === null) return;
    const ms = now - this.#lastAt;
    let helpersCpuMs = 0;
    let exited = false;
    for (const helper of this.#helpers) {
      helper.exited = !helper.stat.read();
      if (helper.exited) exited = true;
      else helpersCpuMs += helper.stat.cpuMs - helper.cpuMs;
    }
    // A helper whose statistics can not be read has exited (its file is closed): dropped.
    if (exited) this.#helpers = this.#helpers.filter((helper) => !helper.exited);
    const othersCpuMs = cpuMs - this.#lastProcessCpuMs - helpersCpuMs;
    this.#lastAt = now;
    this.#lastProcessCpuMs = cpuMs;
    for (const helper of this.#helpers) {
      const period = {
        ms,
        helperCpuMs: helper.stat.cpuMs - helper.cpuMs,
        helperWaitMs: helper.stat.waitMs - helper.waitMs,
        othersCpuMs,
      };
      helper.cpuMs = helper.stat.cpuMs;
      helper.waitMs = helper.stat.waitMs;
      const was = helper.state.policy;
      const next = nextState(helper.state, period);
      const policy = next.policy;
      if (policy === was || this.#refused.has(policy)) {
        if (policy === was) helper.state = next;
        continue;
      }
      if (setThreadPolicy(helper.tid, policy)) {
        helper.state = next;
        this.#onChange?.(helper.tid, policy);
        log.debug("Helper thread {tid} now under {policy}", {
          tid: helper.tid,
          policy: policy === SCHED_IDLE ? "SCHED_IDLE" : "SCHED_OTHER",
        });
        continue;
      }
      // Not tried again: the log would fill with one refusal each period.
      this.#refused.add(policy);
      if (policy === SCHED_OTHER) {
        log.info(
          "V8's helper threads can not leave SCHED_IDLE (needs CAP_SYS_NICE or RLIMIT_NICE " +
            "of 20): from now on a compile waits for the serving thread's gaps",
        );
      } else {
        log.warn("V8's helper threads can not be put under SCHED_IDLE: they keep their priority");
      }
    }
  }

  /** Stops governing; the helpers keep the policy they have. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const helper of this.#helpers) helper.stat.close();
  }
}
