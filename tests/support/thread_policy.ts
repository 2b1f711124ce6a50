import { procThreads } from "../../scripts/bench/stalls.ts";

/** A thread's scheduling: its policy (0 SCHED_OTHER, 5 SCHED_IDLE, ...) and nice value. */
export interface ThreadPolicy {
  tid: number;
  name: string;
  policy: number;
  nice: number;
}

/** The scheduling policy and nice value of each thread of a process, from /proc. */
export function threadPolicies(pid: number | "self"): ThreadPolicy[] {
  // nice and policy are the 19th and 41st fields of a thread's stat, the 17th and 39th
  // after the name.
  return procThreads(pid).map(({ tid, name, fields }) => ({
    tid,
    name,
    policy: Number(fields[38]),
    nice: Number(fields[16]),
  }));
}
