import assert from "node:assert/strict";
import {
  formatThreadCpu,
  kernelWorkerName,
  machineThreadCpu,
  stealSeconds,
  threadCpu,
} from "../scripts/bench/stalls.ts";
import { readUntil } from "./support/child_output.ts";

Deno.test({
  name: "the bench reads a server's CPU by thread from /proc: the serving thread is main",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // A process that, as `rialto serve`, runs its JS on its main thread: it spins 0.3 s.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "const end = performance.now() + 300; while (performance.now() < end);" +
        "console.log('spun'); await Deno.stdin.readable.pipeTo(new WritableStream());",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      await readUntil(lines, "spun");
      lines.releaseLock();
      const cpu = threadCpu(child.pid);
      const main = cpu.get("main") ?? 0;
      // Its start-up (compiling the script) runs on the main thread as well.
      assert.ok(main >= 0.25 && main <= 2, `main thread: ${main} s for a 0.3 s spin`);
      // Deno's runtime threads are there under their own names.
      assert.ok([...cpu.keys()].some((name) => name !== "main"), JSON.stringify([...cpu]));
    } finally {
      await child.stdin.close();
      await child.stdout.cancel().catch(() => {});
      await child.status;
    }
    assert.equal(threadCpu(child.pid).size, 0, "a process that ended: nothing counted");
    assert.equal(
      formatThreadCpu(new Map([["V8 DefaultWorke", 0.25], ["main", 12], ["idle", 0]])),
      "main 12.00 s, V8 DefaultWorke 0.25 s",
    );
  },
});

Deno.test({
  name: "the bench reads the host's steal of the server's CPUs from /proc/stat",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const perCpu = () =>
      Deno.readTextFileSync("/proc/stat").split("\n")
        .filter((line) => /^cpu\d+ /.test(line))
        .map((line) => Number(line.split(/\s+/)[8]) / 100);
    // Steal may grow between two reads: the bench's figure lies between the two around it.
    const within = (cpus: string, pick: (steal: number[]) => number) => {
      const before = pick(perCpu());
      const read = stealSeconds(cpus);
      const after = pick(perCpu());
      assert.ok(before - 1e-9 <= read && read <= after + 1e-9, `${cpus}: ${read}`);
    };
    const last = perCpu().length - 1;
    within("0", (steal) => steal[0]);
    within(`0-${last}`, (steal) => steal.reduce((a, b) => a + b, 0));
    within(`0,${last}`, (steal) => steal[0] + (last > 0 ? steal[last] : 0));
    assert.equal(stealSeconds("4096"), 0, "no such CPU: nothing");
  },
});

Deno.test({
  name: "the bench sees the machine's other threads by name, the server left out",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const before = machineThreadCpu(Deno.pid);
    // Bounded, should this test's runner be killed before it kills the shell.
    const spinner = new Deno.Command("timeout", {
      args: ["20s", "sh", "-c", "while :; do :; done"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const after = machineThreadCpu(Deno.pid);
      const sh = (after.get("sh") ?? 0) - (before.get("sh") ?? 0);
      assert.ok(sh >= 0.2, `the spinning shell: ${sh} s in 0.4 s`);
      assert.equal(after.has("main"), false, "no thread is named main: the server is left out");
      assert.equal(
        formatThreadCpu(new Map([["a", 1], ["b", 3], ["c", 2]]), 2),
        "b 3.00 s, c 2.00 s",
      );
    } finally {
      spinner.kill();
      await spinner.status;
    }
  },
});

Deno.test({
  name: "the bench names a kernel worker without the workqueue it last ran",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    assert.equal(kernelWorkerName("kworker/0:1-events"), "kworker/0:1");
    assert.equal(kernelWorkerName("kworker/u8:3-events_unbound"), "kworker/u8:3");
    assert.equal(kernelWorkerName("kworker/0:1H-kblockd"), "kworker/0:1H");
    assert.equal(kernelWorkerName("kworker/1:2"), "kworker/1:2");
    assert.equal(kernelWorkerName("tokio-rt-worker"), "tokio-rt-worker");
    // /proc shows a worker's name with its last workqueue; the bench's keys leave it out.
    const workers = [...machineThreadCpu(Deno.pid).keys()].filter((name) =>
      name.startsWith("kworker/")
    );
    assert.ok(workers.every((name) => !name.includes("-")), JSON.stringify(workers));
  },
});
