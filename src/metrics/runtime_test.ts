import assert from "node:assert/strict";
import { loopTasks } from "./loop_tasks.ts";
import { RuntimeMetrics } from "./runtime.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* hold the event loop */ }
}

Deno.test("event-loop stalls are counted by cause: one of Rialto's tasks, or other work", async () => {
  const runtime = new RuntimeMetrics({ resolutionMs: 5 });
  runtime.start();
  try {
    await pause(20);
    loopTasks.run("test-busy-task", () => busy(40));
    await pause(20);
    busy(40); // Work that is no task of Rialto's: a long read, say.
    await pause(20);
    assert.ok(
      (runtime.stalls.get("task:test-busy-task") ?? 0) >= 1,
      JSON.stringify([...runtime.stalls]),
    );
    assert.ok((runtime.stalls.get("other") ?? 0) >= 1, JSON.stringify([...runtime.stalls]));
    const out: string[] = [];
    runtime.renderInto(out);
    const text = out.join("\n");
    assert.match(text, /rialto_event_loop_stalls_total\{cause="task:test-busy-task"\} [1-9]/);
    assert.match(text, /rialto_loop_task_seconds_count\{task="test-busy-task"\} 1/);
  } finally {
    runtime.stop();
  }
});
