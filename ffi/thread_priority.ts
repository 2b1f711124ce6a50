/**
 * The scheduling policy of some of this process's threads, found by name under
 * /proc/self/task: V8's helper threads, which src/helper_threads.ts moves between Linux's
 * normal policy and SCHED_IDLE. A SCHED_IDLE thread is preempted as soon as a normal
 * thread on its core wakes (one at nice 19 keeps the core for its time slice), and by the
 * scheduler's weights its share of a contended core is 0.3% (nice 19: 1.4%). It still gets
 * the core now and then from a serving thread that never sleeps, until the next scheduler
 * tick (README, the tail section). Moving a thread to SCHED_IDLE needs no privilege; moving
 * it back needs CAP_SYS_NICE or an RLIMIT_NICE of 20 (sched(7)). On a system without /proc
 * or glibc nothing changes.
 */

import { glibc } from "./glibc.ts";

/** Linux's normal scheduling policy (include/uapi/linux/sched.h). */
export const SCHED_OTHER = 0;
/** Linux's SCHED_IDLE policy. */
export const SCHED_IDLE = 5;

/** V8's platform worker threads, as the kernel names them (comm keeps 15 bytes). */
export const V8_HELPER_THREAD_NAME = "V8 DefaultWorke";

/** The ids of this process's threads named `name` (throws where /proc can not be listed). */
export function threadsNamed(name: string): number[] {
  const tids: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/task")) {
    let comm: string;
    try {
      comm = Deno.readTextFileSync(`/proc/self/task/${entry.name}/comm`).trimEnd();
    } catch {
      continue; // The thread has exited.
    }
    if (comm === name) tids.push(Number(entry.name));
  }
  return tids;
}

// struct sched_param { int sched_priority; }: 0, the only priority SCHED_OTHER and
// SCHED_IDLE take.
const NO_PRIORITY = new Int32Array(1);

/**
 * Puts thread `tid` of this process under `policy` (SCHED_OTHER or SCHED_IDLE; its nice
 * value is kept); false where that failed or there is no glibc.
 */
export function setThreadPolicy(tid: number, policy: number): boolean {
  const libc = glibc();
  return libc !== null && libc.sched_setscheduler(tid, policy, NO_PRIORITY) === 0;
}
