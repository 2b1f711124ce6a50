import assert from "node:assert/strict";
import { SchedStat } from "./sched_stat.ts";
import { ThreadUsage } from "./thread_usage.ts";

Deno.test({
  name: "SchedStat reads the calling thread's CPU time as getrusage counts it",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const stat = SchedStat.open("/proc/thread-self/schedstat");
    const usage = ThreadUsage.open();
    assert.ok(stat !== null, "no /proc/thread-self/schedstat");
    assert.ok(usage !== null, "no getrusage");
    try {
      assert.ok(usage.read() && stat.read());
      const [statMs, usageMs] = [stat.cpuMs, usage.cpuMs];
      // 30 ms of this thread's CPU, however long other processes keep it waiting.
      while (usage.read() && usage.cpuMs - usageMs < 30) { /* spin */ }
      assert.ok(stat.read());
      const grew = stat.cpuMs - statMs;
      assert.ok(Math.abs(grew - (usage.cpuMs - usageMs)) < 2, `${grew} ms against getrusage's`);
      assert.ok(stat.waitMs >= 0);
    } finally {
      stat.close();
      usage.close();
    }
    assert.equal(stat.read(), false, "read after close");
  },
});

Deno.test("SchedStat.open of a thread that is not there is null", () => {
  assert.equal(SchedStat.open("/proc/self/task/0/schedstat"), null);
});
