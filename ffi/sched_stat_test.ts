import assert from "node:assert/strict";
import { SchedStat } from "./sched_stat.ts";

Deno.test({
  name: "SchedStat reads the calling thread's CPU time as it grows",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const stat = SchedStat.open("/proc/thread-self/schedstat");
    assert.ok(stat !== null, "no /proc/thread-self/schedstat");
    try {
      const cpuMs = stat.cpuMs;
      const until = performance.now() + 30;
      while (performance.now() < until) { /* spin: CPU time of this thread */ }
      assert.ok(stat.read());
      assert.ok(stat.cpuMs - cpuMs >= 20, `${stat.cpuMs - cpuMs} ms of CPU in a 30 ms spin`);
      assert.ok(stat.waitMs >= 0);
    } finally {
      stat.close();
    }
    assert.equal(stat.read(), false, "read after close");
  },
});

Deno.test("SchedStat.open of a thread that is not there is null", () => {
  assert.equal(SchedStat.open("/proc/self/task/0/schedstat"), null);
});
