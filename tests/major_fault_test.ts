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
    // Other tests on these 2 cores can keep the faulting thread waiting for a CPU too, and
    // a stall it mostly waited through is not the disk's: up to three tries for one whose
    // reads slept on the disk alone.
    const tries: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await faultingReads();
      if (outcome === null) return;
      tries.push(outcome);
    }
    assert.fail(`no try counted its faulted reads as major-fault stalls: ${tries.join("; ")}`);
  },
});

/** Three reads over dropped pages under the stall account: null if counted right, else why. */
async function faultingReads(): Promise<string | null> {
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
    const text = `${faultedReads} faulted reads, stalls ${JSON.stringify([...runtime.stalls])}`;
    // A read took 12-22 ms here; a read the disk answered within a stall's length is not
    // asked about.
    assert.ok(faultedReads >= 1, "no read faulted: were the pages still cached?");
    const counted = (runtime.stalls.get("major-fault") ?? 0) >= faultedReads - 1 &&
      (runtime.stalls.get("ffi:get") ?? 0) <= 3 - faultedReads + 1;
    return counted ? null : text;
  } finally {
    runtime.stop();
    pages.close();
  }
}

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
