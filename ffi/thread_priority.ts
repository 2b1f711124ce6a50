/**
 * Puts some of this process's threads, found by name under /proc/self/task, under Linux's
 * SCHED_IDLE policy: V8's helper threads, so that when they and the serving thread both
 * want the one core, their work (compiling the read path as it gets hot, helping with
 * collections) mostly waits for the serving thread's gaps. A SCHED_IDLE thread is
 * preempted as soon as a normal thread on its core wakes (one at nice 19 keeps the core for
 * its time slice), and by the scheduler's weights its share of a contended core is 0.3%
 * (nice 19: 1.4%). It still gets the core now and then from a serving thread that never
 * sleeps, until the next scheduler tick (README, the tail section). Moving a thread to
 * SCHED_IDLE needs no privilege. On a system without /proc or glibc nothing changes.
 */

import { glibc } from "./glibc.ts";

/** Linux's SCHED_IDLE policy (include/uapi/linux/sched.h). */
export const SCHED_IDLE = 5;

/** V8's platform worker threads, as the kernel names them (comm keeps 15 bytes). */
export const V8_HELPER_THREAD_NAME = "V8 DefaultWorke";

/** What `idleThreads` did. */
export interface IdledThreads {
  /** Thread ids now under SCHED_IDLE. */
  readonly threads: readonly number[];
  /** Why some could not be changed (one line each), empty when all were. */
  readonly failures: readonly string[];
}

/**
 * Moves every thread of this process named `name` to SCHED_IDLE; threads that exit
 * meanwhile are skipped.
 */
export function idleThreads(name: string): IdledThreads {
  const libc = glibc();
  if (libc === null) return { threads: [], failures: ["no glibc"] };
  const threads: number[] = [];
  const failures: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc/self/task")];
  } catch (error) {
    return { threads, failures: [`cannot list /proc/self/task: ${error}`] };
  }
  // struct sched_param { int sched_priority; }: 0, the only priority SCHED_IDLE takes.
  const param = new Int32Array(1);
  for (const entry of entries) {
    const tid = Number(entry.name);
    let comm: string;
    try {
      comm = Deno.readTextFileSync(`/proc/self/task/${entry.name}/comm`).trimEnd();
    } catch {
      continue; // The thread has exited.
    }
    if (comm !== name) continue;
    if (libc.sched_setscheduler(tid, SCHED_IDLE, param) === 0) threads.push(tid);
    else failures.push(`sched_setscheduler(${tid}, SCHED_IDLE) failed`);
  }
  return { threads, failures };
}
