/**
 * A Rialto server's event-loop stall account (rialto_event_loop_stalls_total and the
 * workers' rialto_worker_event_loop_stalls_total, summed by cause), read from /metrics
 * before and after a run, so that the bench prints what stalled during it.
 */

/** A server's /metrics text. */
async function metricsText(adminPort: number): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
}

/** Stalls over 1 ms by cause ("task:<name>", "gc:<type>", "other"), all isolates summed. */
function stallCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^rialto_(?:worker_)?event_loop_stalls_total\{.*cause="([^"]+)"\} (\d+)$/.exec(
      line,
    );
    if (match) counts.set(match[1], (counts.get(match[1]) ?? 0) + Number(match[2]));
  }
  return counts;
}

/** V8 collections by type (rialto_gc_pause_seconds_count), e.g. MarkSweepCompact. */
export async function gcCounts(adminPort: number): Promise<Map<string, number>> {
  return collectionCounts(await metricsText(adminPort));
}

function collectionCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^rialto_gc_pause_seconds_count\{type="([^"]+)"\} (\d+)$/.exec(line);
    if (match) counts.set(`gc:${match[1]}`, Number(match[2]));
  }
  return counts;
}

/** The hold the issue allows a periodic task on the serving loop (~100 µs), seconds. */
export const TASK_HOLD_TARGET_SECONDS = 0.0001;

/**
 * The main isolate's periodic tasks (rialto_loop_task_seconds): per task, keyed
 * "<task>:runs", "<task>:seconds" and "<task>:over" (runs longer than
 * TASK_HOLD_TARGET_SECONDS), so that `addStalls` takes their differences too.
 */
function taskTimes(text: string): Map<string, number> {
  const times = new Map<string, number>();
  const within = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match =
      /^rialto_loop_task_seconds_(bucket|sum|count)\{task="([^"]+)"(?:,le="([^"]+)")?\} (\S+)$/
        .exec(line);
    if (match === null) continue;
    const [, part, task, le, value] = match;
    if (part === "count") times.set(`${task}:runs`, Number(value));
    else if (part === "sum") times.set(`${task}:seconds`, Number(value));
    else if (Number(le) === TASK_HOLD_TARGET_SECONDS) within.set(task, Number(value));
  }
  for (const [task, n] of within) times.set(`${task}:over`, (times.get(`${task}:runs`) ?? 0) - n);
  return times;
}

/**
 * "catch-up 1,200 runs, mean 23 µs, 0 over 100 µs; ..." from `taskTimes` differences,
 * longest mean first; "none" when no task ran.
 */
export function formatTaskTimes(times: ReadonlyMap<string, number>): string {
  const tasks = [...times.keys()].filter((k) => k.endsWith(":runs")).map((k) => k.slice(0, -5));
  const rows = tasks.map((task) => {
    const runs = times.get(`${task}:runs`) ?? 0;
    const meanUs = runs === 0 ? 0 : (times.get(`${task}:seconds`) ?? 0) / runs * 1e6;
    return { task, runs, meanUs, over: times.get(`${task}:over`) };
  }).filter((r) => r.runs > 0).sort((a, b) => b.meanUs - a.meanUs);
  return rows.length === 0
    ? "none"
    : rows.map((r) =>
      `${r.task} ${r.runs.toLocaleString("en-US")} runs, mean ${r.meanUs.toFixed(0)} µs, ${
        // No bucket at the target's bound in the server's histogram: not known, not 0.
        r.over === undefined ? "runs" : r.over.toLocaleString("en-US")} over ${
        TASK_HOLD_TARGET_SECONDS * 1e6
      } µs${r.over === undefined ? " not known" : ""}`
    ).join("; ");
}

/** `after - before`, added into `total`. */
export function addStalls(
  total: Map<string, number>,
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): void {
  for (const [cause, n] of after) {
    const d = n - (before.get(cause) ?? 0);
    if (d > 0) total.set(cause, (total.get(cause) ?? 0) + d);
  }
}

/** "other 12, gc:Scavenge 3, task:transport-sweep 1", most first; "none" when empty. */
export function formatStalls(stalls: ReadonlyMap<string, number>): string {
  const entries = [...stalls].sort(([, a], [, b]) => b - a);
  return entries.length === 0
    ? "none"
    : entries.map(([cause, n]) => `${cause} ${n.toLocaleString("en-US")}`).join(", ");
}

/** A server's stall, collection and periodic-task counters at one moment. */
export interface RuntimeAccount {
  readonly stalls: Map<string, number>;
  readonly collections: Map<string, number>;
  readonly tasks: Map<string, number>;
  /** CPU seconds of the server's threads by name (`threadCpu`). */
  readonly threads: Map<string, number>;
  /** Seconds the hypervisor took from the server's CPUs so far (`stealSeconds`). */
  readonly steal: number;
  /** CPU seconds of every other thread on the machine by name (`machineThreadCpu`). */
  readonly others: Map<string, number>;
  /** The server's major page faults so far (`majorFaults`). */
  readonly majorFaults: number;
}

/** The account of the server `pid`, serving on CPUs `cpus` (a taskset list, "0" or "0-1"). */
export async function runtimeAccount(
  adminPort: number,
  pid: number,
  cpus: string,
): Promise<RuntimeAccount> {
  const text = await metricsText(adminPort);
  return {
    stalls: stallCounts(text),
    collections: collectionCounts(text),
    tasks: taskTimes(text),
    threads: threadCpu(pid),
    steal: stealSeconds(cpus),
    others: machineThreadCpu(pid),
    majorFaults: majorFaults(pid),
  };
}

/** An account in which nothing happened (a round that was not measured). */
export const NO_ACCOUNT: RuntimeAccount = {
  stalls: new Map(),
  collections: new Map(),
  tasks: new Map(),
  threads: new Map(),
  steal: 0,
  others: new Map(),
  majorFaults: 0,
};

/** What grew between two accounts of one server: each counter's difference. */
export function accountBetween(from: RuntimeAccount, to: RuntimeAccount): RuntimeAccount {
  const grown = (before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>) => {
    const difference = new Map<string, number>();
    addStalls(difference, before, after);
    return difference;
  };
  return {
    stalls: grown(from.stalls, to.stalls),
    collections: grown(from.collections, to.collections),
    tasks: grown(from.tasks, to.tasks),
    threads: grown(from.threads, to.threads),
    steal: to.steal - from.steal,
    others: grown(from.others, to.others),
    majorFaults: to.majorFaults - from.majorFaults,
  };
}

/** The kernel's clock ticks a second for /proc's CPU times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * Steal time of CPUs `cpus` ("0", "0-1", "0,2") since boot, seconds (/proc/stat, its
 * eighth figure): time the hypervisor ran something else while the guest wanted the CPU,
 * in 10 ms ticks. What the stall account's `stolen` is made of. 0 where there is no
 * /proc/stat.
 */
export function stealSeconds(cpus: string): number {
  const wanted = new Set<number>();
  for (const part of cpus.split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    for (let cpu = from; cpu <= to; cpu++) wanted.add(cpu);
  }
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/stat");
  } catch {
    return 0;
  }
  let ticks = 0;
  for (const line of text.split("\n")) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (match === null || !wanted.has(Number(match[1]))) continue;
    ticks += Number(match[2].trim().split(/\s+/)[7] ?? 0);
  }
  return ticks / USER_HZ;
}

/**
 * User + system CPU seconds of each thread of process `pid`, summed by thread name
 * (/proc/<pid>/task/<tid>/stat): "main" for the serving thread, else the name the thread
 * gave itself ("V8 DefaultWorke", V8's GC and compiler helpers; "tokio-runtime-w", Deno's
 * runtime; "worker-1", a worker isolate). What the process's other threads took of the
 * serving core when the server has one (`preempted:own-threads`). Empty where there is no
 * /proc; a thread that ended meanwhile is left out.
 */
export function threadCpu(pid: number, mainAsMain = true): Map<string, number> {
  const cpu = new Map<string, number>();
  for (const { tid, name, fields } of procThreads(pid)) {
    // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
    const seconds = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
    const key = mainAsMain && tid === pid ? "main" : name;
    cpu.set(key, (cpu.get(key) ?? 0) + seconds);
  }
  return cpu;
}

/**
 * Each thread of process `pid` (or this one, "self"): its id, its name and the fields of
 * /proc/<pid>/task/<tid>/stat after the name (the state first). Empty where there is no
 * /proc; a thread that ended meanwhile is left out.
 */
export function procThreads(
  pid: number | "self",
): { tid: number; name: string; fields: string[] }[] {
  const dir = `/proc/${pid}/task`;
  let tids: Deno.DirEntry[];
  try {
    tids = [...Deno.readDirSync(dir)];
  } catch {
    return [];
  }
  const threads = [];
  for (const { name: tid } of tids) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`${dir}/${tid}/stat`);
    } catch {
      continue;
    }
    // "<tid> (<name>) <state> ...": the name may hold spaces and parentheses.
    const close = stat.lastIndexOf(")");
    threads.push({
      tid: Number(tid),
      name: stat.slice(stat.indexOf("(") + 1, close),
      fields: stat.slice(close + 2).split(" "),
    });
  }
  return threads;
}

/**
 * Major page faults of process `pid` so far (/proc/<pid>/stat): pages read back from disk,
 * such as file pages the kernel dropped (the stall account's `major-fault`); 0 where not
 * known.
 */
export function majorFaults(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // majflt is the 12th field, the 10th after the name.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[9]) || 0;
  } catch {
    return 0;
  }
}

/**
 * User + system CPU seconds of every thread on the machine outside process `pid`, summed by
 * thread name ("ksoftirqd/0", "loadgen", "deno"): who else ran while a server was measured.
 * A kernel worker is named without the workqueue /proc appends to it ("kworker/0:1", not
 * "kworker/0:1-events"): that part changes with the work it last ran, and a thread whose
 * name changed between two readings would count its whole lifetime's CPU as new.
 */
export function machineThreadCpu(pid: number): Map<string, number> {
  const cpu = new Map<string, number>();
  let processes: Deno.DirEntry[];
  try {
    processes = [...Deno.readDirSync("/proc")];
  } catch {
    return cpu;
  }
  for (const entry of processes) {
    const other = Number(entry.name);
    if (!Number.isInteger(other) || other === pid) continue;
    for (const [name, seconds] of threadCpu(other, false)) {
      const stable = kernelWorkerName(name);
      cpu.set(stable, (cpu.get(stable) ?? 0) + seconds);
    }
  }
  return cpu;
}

/** "kworker/0:1-events" as "kworker/0:1"; any other name as it is. */
export function kernelWorkerName(name: string): string {
  if (!name.startsWith("kworker/")) return name;
  const dash = name.indexOf("-");
  return dash === -1 ? name : name.slice(0, dash);
}

/** "main 142.10 s, V8 DefaultWorke 1.30 s", most first, from `threadCpu` differences. */
export function formatThreadCpu(threads: ReadonlyMap<string, number>, top = Infinity): string {
  const entries = [...threads].filter(([, s]) => s > 0).sort(([, a], [, b]) => b - a)
    .slice(0, top);
  return entries.length === 0
    ? "none counted"
    : entries.map(([name, s]) => `${name} ${s.toFixed(2)} s`).join(", ");
}

/**
 * Stall causes of Rialto's own (src/metrics/runtime.ts); "preempted" (another process had
 * the core), "stolen" (the hypervisor had the virtual CPU), "major-fault" (the kernel had
 * dropped a page it needed), "asleep" and "other" are not.
 */
const OWN_STALL_CAUSES = /^(?:(?:task|gc|ffi|message):|preempted:own-threads$)/;

/**
 * Stalls of Rialto's own cause: its periodic tasks, V8's collections of its garbage, its
 * storage reads' FFI calls, messages between its isolates, its own threads taking the
 * serving thread's core.
 */
export function ownStalls(account: ReadonlyMap<string, number> | undefined): number {
  let own = 0;
  for (const [cause, n] of account ?? []) {
    if (OWN_STALL_CAUSES.test(cause)) own += n;
  }
  return own;
}

/** How many of `collections` were full ones (mark-compacts). */
export function fullCollections(collections: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [type, count] of collections) if (/MarkSweep|MarkCompact/.test(type)) n += count;
  return n;
}
