import { procThreads } from "../../scripts/bench/stalls.ts";

/** The nice value of each thread of a process, with its id and name, from /proc. */
export function threadNices(pid: number | "self"): { tid: number; name: string; nice: number }[] {
  // nice is the 19th field of a thread's stat, the 17th after the name.
  return procThreads(pid).map(({ tid, name, fields }) => ({ tid, name, nice: Number(fields[16]) }));
}
