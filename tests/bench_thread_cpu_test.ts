import assert from "node:assert/strict";
import { formatThreadCpu, threadCpu } from "../scripts/bench/stalls.ts";

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
      let out = "";
      while (!out.includes("spun")) {
        const { value, done } = await lines.read();
        if (done) break;
        out += value;
      }
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
