import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { loopTasks } from "./loop_tasks.ts";
import { ReadMetrics } from "./read_metrics.ts";
import { runInSlices } from "./sliced.ts";

/** How many times the task `name` has run (its histogram's count). */
function runs(name: string): number {
  const data = loopTasks.durations().get(name)?.data ?? [];
  return Array.from(data).slice(0, -1).reduce((sum, n) => sum + n, 0);
}

Deno.test("the metrics rendered in slices are the same text, and the loop turns between slices", async () => {
  // No runtime metrics: their loop-task series would count this render's own slices.
  const metrics = new ReadMetrics();
  for (const store of ["people", "orders", 'we"ird']) {
    metrics.forStore(store).recordGet(0.0002, 40, 10, 100, 120, true);
  }
  const whole = metrics.render();

  // Slices of no length: a piece each, with the runtime's turn between, in which other
  // work (here an immediate that queues itself again) runs.
  let turns = 0;
  let rendering = true;
  const other = () => {
    turns++;
    if (rendering) setImmediate(other);
  };
  setImmediate(other);
  const before = runs("test-render");
  const lines: string[] = [];
  try {
    await runInSlices(metrics.pieces(lines), "test-render", 0);
  } finally {
    rendering = false;
  }
  lines.push("");
  assert.equal(lines.join("\n"), whole);
  const slices = runs("test-render") - before;
  // A piece is a histogram or a counter family: dozens here.
  assert.ok(slices > 20, `${slices} slices`);
  assert.ok(turns >= slices - 1, `${turns} turns of other work in ${slices} slices`);

  // A slice long enough for all of it: one.
  const again = runs("test-render");
  await runInSlices(metrics.pieces([]), "test-render", 60_000);
  assert.equal(runs("test-render") - again, 1);
});
