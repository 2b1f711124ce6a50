import assert from "node:assert/strict";
import { isolateCpus } from "../scripts/bench/isolate.ts";
import { readUntil } from "./support/child_output.ts";

/** The CPUs a process may run on, as /proc lists them ("0-1"). */
function allowedCpus(pid: number): string {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)![1];
}

const cpus = navigator.hardwareConcurrency;

Deno.test({
  name: "bench --isolate moves other processes to the spare CPU and puts them back",
  // With one CPU there is nowhere to move them.
  ignore: Deno.build.os !== "linux" || cpus < 2,
  fn: async () => {
    // A shell that, when told, starts a child of its own: one started while it is moved.
    const shell = new Deno.Command("sh", {
      args: ["-c", "read line; sleep 30 & echo started $!; wait"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = shell.stdin.getWriter();
    const lines = shell.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const before = allowedCpus(shell.pid);
      const spareCpu = cpus - 1;
      assert.notEqual(before, String(spareCpu), "already on the spare CPU alone: nothing to tell");
      const only = [shell.pid];
      const isolation = isolateCpus({ spareCpu, keep: new Set(), only, system: false });
      try {
        assert.equal(isolation.movedThreads, 1);
        assert.equal(allowedCpus(shell.pid), String(spareCpu));
        await writer.write(new TextEncoder().encode("go\n"));
        const child = Number((await readUntil(lines, "started")).match(/started (\d+)/)![1]);
        assert.equal(allowedCpus(child), String(spareCpu), "a child inherits the spare CPU");
        only.push(child);
        isolation.restore();
        assert.equal(allowedCpus(shell.pid), before);
        assert.equal(allowedCpus(child), before, "a child started meanwhile is let go too");
        Deno.kill(child, "SIGTERM");
      } finally {
        isolation.restore();
      }
      // A kept process is left alone.
      const kept = isolateCpus({
        spareCpu,
        keep: new Set([shell.pid]),
        only: [shell.pid],
        system: false,
      });
      kept.restore();
      assert.equal(kept.movedThreads, 0);
    } finally {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      shell.kill();
      await shell.status;
    }
  },
});
