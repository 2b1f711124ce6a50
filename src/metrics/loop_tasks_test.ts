import assert from "node:assert/strict";
import { LoopTasks } from "./loop_tasks.ts";

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* hold the loop */ }
}

Deno.test("the stall probe's own work is timed with the tasks but never blamed for a stall", () => {
  const tasks = new LoopTasks();
  tasks.runProbe("stall-probe", () => busy(3));
  assert.equal(tasks.takeLongest(), null);
  tasks.run("data-dir-scan", () => busy(1));
  tasks.runProbe("gc-stats", () => busy(3));
  assert.equal(tasks.takeLongest()?.cause, "task:data-dir-scan");
  const runs = (name: string) => {
    const data = tasks.durations().get(name)?.data ?? [];
    return Array.from(data).slice(0, -1).reduce((sum, n) => sum + n, 0);
  };
  assert.equal(runs("stall-probe"), 1);
  assert.equal(runs("gc-stats"), 1);
});
