/**
 * The few glibc calls Rialto makes, opened once: `malloc_trim` (native_heap.ts),
 * `getrusage` (thread_usage.ts), `stat` (file_stamp.ts), `sched_setscheduler`
 * (thread_priority.ts) and inotify's (directory_watch.ts). On a system without glibc (musl,
 * macOS) `glibc()` is null and each caller does without.
 */

const GLIBC = "libc.so.6";
const symbols = {
  // Nonblocking: it runs on Deno's blocking thread pool, not on the event loop.
  malloc_trim: { parameters: ["usize"], result: "i32", nonblocking: true },
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  // int stat(const char *path /* NUL-terminated */, struct stat *out): a symbol of its own
  // since glibc 2.33 (a macro over __xstat before), so optional.
  stat: { parameters: ["buffer", "buffer"], result: "i32", optional: true },
  // int sched_setscheduler(pid_t pid, int policy, const struct sched_param *param): with a
  // thread id, Linux sets that one thread's policy.
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  // inotify (directory_watch.ts); read's ssize_t as i32, as sockets.ts reads recv's.
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  inotify_rm_watch: { parameters: ["i32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

export type Glibc = Deno.DynamicLibrary<typeof symbols>["symbols"];

let lib: Deno.DynamicLibrary<typeof symbols> | null | undefined;

/** glibc's symbols, or null where there is no glibc. */
export function glibc(): Glibc | null {
  if (lib === undefined) {
    try {
      lib = Deno.build.os === "linux" ? Deno.dlopen(GLIBC, symbols) : null;
    } catch {
      lib = null; // musl, or no libc.so.6.
    }
  }
  return lib?.symbols ?? null;
}
