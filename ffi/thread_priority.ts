/**
 * Lowers the scheduling priority of some of this process's threads, found by name under
 * /proc/self/task: V8's helper threads, so that when they and the serving thread both want
 * the one core, their work (compiling the read path as it gets hot, helping with
 * collections) mostly waits for the serving thread's gaps. Raising a thread's nice value
 * needs no privilege. On a system without /proc or glibc nothing changes.
 */

import { glibc } from "./glibc.ts";

const PRIO_PROCESS = 0;

/** V8's platform worker threads, as the kernel names them (comm keeps 15 bytes). */
export const V8_HELPER_THREAD_NAME = "V8 DefaultWorke";

/** What `deprioritizeThreads` did. */
export interface Deprioritized {
  /** Thread ids now at the asked nice value. */
  readonly threads: readonly number[];
  /** Why some could not be changed (one line each), empty when all were. */
  readonly failures: readonly string[];
}

/**
 * Sets the nice value of every thread of this process named `name` to `nice` (0-19).
 * Threads that exit meanwhile are skipped.
 */
export function deprioritizeThreads(name: string, nice: number): Deprioritized {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
    throw new RangeError(`nice must be a whole number from 0 to 19, not ${nice}`);
  }
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
  for (const entry of entries) {
    const tid = Number(entry.name);
    let comm: string;
    try {
      comm = Deno.readTextFileSync(`/proc/self/task/${entry.name}/comm`).trimEnd();
    } catch {
      continue; // The thread has exited.
    }
    if (comm !== name) continue;
    if (libc.setpriority(PRIO_PROCESS, tid, nice) === 0) threads.push(tid);
    else failures.push(`setpriority(${tid}, ${nice}) failed`);
  }
  return { threads, failures };
}
