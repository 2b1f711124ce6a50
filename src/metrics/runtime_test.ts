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

Deno.test("a stall is counted by the work noted with its cause: a long FFI read, a message", async () => {
  const runtime = new RuntimeMetrics({ resolutionMs: 5 });
  runtime.start();
  try {
    await pause(20);
    const started = performance.now();
    busy(40); // As a storage read that took 40 ms would.
    loopTasks.note("ffi:get", performance.now() - started);
    await pause(20);
    loopTasks.note("message:snapshot", 0.01); // Too short to explain anything.
    busy(40);
    await pause(20);
    assert.ok((runtime.stalls.get("ffi:get") ?? 0) >= 1, JSON.stringify([...runtime.stalls]));
    assert.equal(runtime.stalls.get("message:snapshot"), undefined);
    assert.ok((runtime.stalls.get("other") ?? 0) >= 1, JSON.stringify([...runtime.stalls]));
  } finally {
    runtime.stop();
  }
});

Deno.test({
  name: "a stall while another process has the core is counted as preempted (Linux)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // The loop stays busy in short pieces (no piece near a stall) on CPU 0 while a shell
    // spins on CPU 0 too: the scheduler shares the core, and the probe's ticks come late
    // by the other's time slices.
    const script = `
      import { setImmediate } from "node:timers";
      import { RuntimeMetrics } from ${
      JSON.stringify(new URL("./runtime.ts", import.meta.url).href)
    };
      const runtime = new RuntimeMetrics({ resolutionMs: 5 });
      runtime.start();
      const until = performance.now() + 1500;
      await new Promise((done) => {
        const piece = () => {
          const end = performance.now() + 0.1;
          while (performance.now() < end) { /* work */ }
          if (performance.now() < until) setImmediate(piece); else done();
        };
        piece();
      });
      runtime.stop();
      console.log(JSON.stringify(Object.fromEntries(runtime.stalls)));
    `;
    const spinner = new Deno.Command("taskset", {
      args: ["-c", "0", "sh", "-c", "while :; do :; done"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const out = await new Deno.Command("taskset", {
        args: ["-c", "0", Deno.execPath(), "eval", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const stalls = JSON.parse(text) as Record<string, number>;
      assert.ok((stalls.preempted ?? 0) >= 5, text);
      assert.ok((stalls.preempted ?? 0) > (stalls.other ?? 0), text);
    } finally {
      spinner.kill();
      await spinner.status;
    }
  },
});
