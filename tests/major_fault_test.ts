import assert from "node:assert/strict";
import { RuntimeMetrics } from "../src/metrics/mod.ts";
import { loopTasks } from "../src/metrics/loop_tasks.ts";
import { majorFaults } from "../scripts/bench/stalls.ts";
import { DroppedPages } from "./support/dropped_pages.ts";

const linux = Deno.build.os === "linux";
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name: "a read that sleeps on pages the kernel had dropped is a major-fault stall, not the read's",
  ignore: !linux,
  fn: async () => {
    const pages = new DroppedPages();
    const runtime = new RuntimeMetrics({ resolutionMs: 5 });
    runtime.start();
    try {
      let faultedReads = 0;
      for (let i = 0; i < 3; i++) {
        await pause(20);
        const ms = pages.touch(); // As a storage read over a paged-out file would.
        loopTasks.note("ffi:get", ms);
        if (ms > 2) faultedReads++;
      }
      await pause(20);
      const text = JSON.stringify([...runtime.stalls]);
      // A read took 12-22 ms here; a read the disk answered within a stall's length is not
      // asked about.
      assert.ok(faultedReads >= 1, "no read faulted: were the pages still cached?");
      assert.ok((runtime.stalls.get("major-fault") ?? 0) >= faultedReads - 1, text);
      assert.ok((runtime.stalls.get("ffi:get") ?? 0) <= 3 - faultedReads + 1, text);
    } finally {
      runtime.stop();
      pages.close();
    }
  },
});

Deno.test({
  name: "the bench counts a server's major page faults",
  ignore: !linux,
  fn: () => {
    const pages = new DroppedPages();
    try {
      const before = majorFaults(Deno.pid);
      pages.touch();
      const faults = majorFaults(Deno.pid) - before;
      // The kernel counts the fault that starts a read as major; read-ahead then brings the
      // rest, and later touches wait on it without a fault of their own.
      assert.ok(faults >= 1, `${faults} major faults for ${pages.pages} pages`);
      assert.equal(majorFaults(0x7fffffff), 0, "no such process: 0");
    } finally {
      pages.close();
    }
  },
});
