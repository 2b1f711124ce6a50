/**
 * `deno task bench --isolate`: keeps the machine's other work off the servers' core for the
 * run, as an operator isolates a latency-critical core, so that the tail left is the
 * server's own and the core's unmovable kernel work. Every thread of every other process
 * that may move (sched_setaffinity) goes to the load generator's CPU; so do the unbound
 * kernel workqueues (/sys/devices/virtual/workqueue/cpumask) and the interrupts that may
 * move (/proc/irq/<n>/smp_affinity_list). Per-CPU kernel threads (ksoftirqd/0,
 * kworker/0:*, migration/0) stay: the kernel refuses to move them. Everything is put back
 * as it was by `restore()`. Root only; Linux only.
 */

const LIBC = "libc.so.6";
const symbols = {
  // int sched_getaffinity(pid_t tid, size_t size, cpu_set_t *mask)
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  // int sched_setaffinity(pid_t tid, size_t size, const cpu_set_t *mask)
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
} as const;

/** glibc's cpu_set_t: 1024 CPUs. */
const CPU_SET_BYTES = 128;

const WORKQUEUE_CPUMASK = "/sys/devices/virtual/workqueue/cpumask";

/** What `isolateCpus` moved, to be put back. */
export interface Isolation {
  /** Threads moved to the spare CPU. */
  readonly movedThreads: number;
  /** Threads the kernel would not move (per-CPU kernel threads). */
  readonly pinnedThreads: number;
  /** Interrupts moved to the spare CPU. */
  readonly movedIrqs: number;
  /** Whether the unbound workqueues were moved. */
  readonly movedWorkqueues: boolean;
  /** Puts every thread, interrupt and the workqueue mask back as found (idempotent). */
  restore(): void;
}

export interface IsolateOptions {
  /** The CPU the others go to. */
  readonly spareCpu: number;
  /** Processes left alone (the servers under test, with all their threads). */
  readonly keep: ReadonlySet<number>;
  /**
   * Only these processes are candidates (default: every process in /proc); read again by
   * `restore()`.
   */
  readonly only?: readonly number[];
  /** Also move the unbound workqueues and the interrupts (machine-wide; default true). */
  readonly system?: boolean;
}

/** The thread ids of the candidate processes (`only`, else all), the kept ones left out. */
function* threadsOf(options: IsolateOptions): Generator<number> {
  const pids = options.only ??
    [...Deno.readDirSync("/proc")].map((e) => Number(e.name)).filter(Number.isInteger);
  for (const pid of pids) {
    if (options.keep.has(pid)) continue;
    let tids: Deno.DirEntry[];
    try {
      tids = [...Deno.readDirSync(`/proc/${pid}/task`)];
    } catch {
      continue; // It has exited.
    }
    for (const tid of tids) yield Number(tid.name);
  }
}

/** The bits set in a byte. */
function popcount(byte: number): number {
  let n = 0;
  for (let b = byte; b !== 0; b &= b - 1) n++;
  return n;
}

/** A cpu_set_t with the one CPU `cpu`. */
function cpuSet(cpu: number): Uint8Array {
  const set = new Uint8Array(CPU_SET_BYTES);
  set[cpu >> 3] |= 1 << (cpu & 7);
  return set;
}

/** Moves the machine's other work to `spareCpu` (module doc); `restore()` undoes it. */
export function isolateCpus(options: IsolateOptions): Isolation {
  const lib = Deno.dlopen(LIBC, symbols);
  const spare = cpuSet(options.spareCpu);
  const undo: (() => void)[] = [];
  let movedThreads = 0;
  let pinnedThreads = 0;
  let movedIrqs = 0;
  let movedWorkqueues = false;
  const size = BigInt(CPU_SET_BYTES);
  // What a thread started meanwhile by a moved process gets back: the widest mask a moved
  // thread had (the machine's unpinned default), else all CPUs.
  let unpinned: Uint8Array | null = null;
  const width = (set: Uint8Array) => set.reduce((n, byte) => n + popcount(byte), 0);
  const moved = new Set<number>();
  for (const tid of threadsOf(options)) {
    const before = new Uint8Array(CPU_SET_BYTES);
    if (lib.symbols.sched_getaffinity(tid, size, before) !== 0) continue; // It has exited.
    if (lib.symbols.sched_setaffinity(tid, size, spare) !== 0) {
      pinnedThreads++;
      continue;
    }
    movedThreads++;
    moved.add(tid);
    if (unpinned === null || width(before) > width(unpinned)) unpinned = before;
    undo.push(() => lib.symbols.sched_setaffinity(tid, size, before));
  }
  // Threads and processes started by moved ones inherit the spare CPU alone: each that is
  // still there and was not moved here is given the unpinned mask back.
  undo.unshift(() => {
    const all = unpinned ?? new Uint8Array(CPU_SET_BYTES).fill(0xff);
    const now = new Uint8Array(CPU_SET_BYTES);
    for (const tid of threadsOf(options)) {
      if (moved.has(tid) || lib.symbols.sched_getaffinity(tid, size, now) !== 0) continue;
      if (now.every((byte, i) => byte === spare[i])) lib.symbols.sched_setaffinity(tid, size, all);
    }
  });
  if (options.system ?? true) {
    try {
      const mask = Deno.readTextFileSync(WORKQUEUE_CPUMASK).trim();
      Deno.writeTextFileSync(WORKQUEUE_CPUMASK, (1 << options.spareCpu).toString(16));
      movedWorkqueues = true;
      undo.push(() => Deno.writeTextFileSync(WORKQUEUE_CPUMASK, mask));
    } catch {
      // No such file (an older kernel) or not root: the workqueues stay.
    }
    let irqs: Deno.DirEntry[] = [];
    try {
      irqs = [...Deno.readDirSync("/proc/irq")].filter((e) => e.isDirectory);
    } catch {
      // No /proc/irq.
    }
    for (const irq of irqs) {
      const file = `/proc/irq/${irq.name}/smp_affinity_list`;
      try {
        const list = Deno.readTextFileSync(file).trim();
        if (list === String(options.spareCpu)) continue;
        Deno.writeTextFileSync(file, String(options.spareCpu));
        movedIrqs++;
        undo.push(() => Deno.writeTextFileSync(file, list));
      } catch {
        // A per-CPU interrupt, or one the kernel manages: it stays.
      }
    }
  }
  let restored = false;
  return {
    movedThreads,
    pinnedThreads,
    movedIrqs,
    movedWorkqueues,
    restore() {
      if (restored) return;
      restored = true;
      for (const step of undo.reverse()) {
        try {
          step();
        } catch {
          // The thread has exited, or the interrupt went away.
        }
      }
      lib.close();
    },
  };
}
