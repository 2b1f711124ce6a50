/**
 * Work too long to hold the event loop that serves reads in one go, run a slice at a
 * time: the /metrics page. A Prometheus scrape rendered in one call held the loop 0.5-2 ms
 * (781 lines; 11 ms the first time, while V8 compiled it), every scrape, on the isolate
 * that serves reads when there are no worker isolates. As pieces (a generator's steps,
 * each a histogram or a counter family), the work runs until a slice has taken
 * `SLICE_MS`, then the runtime takes a turn (the poller reads meanwhile), and so on. Each
 * slice is timed as a loop task (loop_tasks.ts), so a stall still comes out with its cause.
 */
import { setImmediate } from "node:timers";
import { loopTasks } from "./loop_tasks.ts";

/** How long a slice runs before the runtime's turn, ms: the issue's ~100 µs, less a piece. */
export const SLICE_MS = 0.05;

/** Runs every piece now, in one go (`ReadMetrics.render`: the whole page at once). */
export function runAll(pieces: Iterator<unknown>): void {
  while (!pieces.next().done);
}

/**
 * Runs the pieces a slice of about `sliceMs` at a time, each slice timed as task `name`,
 * with a runtime turn between slices.
 */
export async function runInSlices(
  pieces: Iterator<unknown>,
  name: string,
  sliceMs = SLICE_MS,
): Promise<void> {
  const slice = (): boolean => {
    const started = performance.now();
    for (;;) {
      if (pieces.next().done) return true;
      if (performance.now() - started >= sliceMs) return false;
    }
  };
  while (!loopTasks.run(name, slice)) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
