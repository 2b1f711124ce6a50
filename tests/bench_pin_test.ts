import assert from "node:assert/strict";
import { evalJson } from "./support/eval_json.ts";

const PROCESSES = new URL("../scripts/bench/processes.ts", import.meta.url).href;

Deno.test({
  name: "the bench pins all its own threads, V8's helpers included, to the load CPU",
  ignore: Deno.build.os !== "linux" || navigator.hardwareConcurrency < 2,
  fn: async () => {
    // In a process of its own: the test runner's threads keep their CPUs.
    const script = `
      import { pinThisProcess } from "${PROCESSES}";
      const allowed = () => [...Deno.readDirSync("/proc/self/task")].map((task) =>
        Deno.readTextFileSync("/proc/self/task/" + task.name + "/status")
          .match(/^Cpus_allowed_list:\\s*(\\S+)$/m)[1]
      );
      const before = allowed();
      await pinThisProcess(1);
      console.log(JSON.stringify({ before, after: allowed() }));
    `;
    const { value: { before, after } } = await evalJson<{ before: string[]; after: string[] }>(
      script,
    );
    assert.ok(before.every((cpus) => cpus !== "1"), `already pinned: ${before}`);
    assert.ok(after.length >= 3, `${after.length} threads: V8's helpers missing?`);
    assert.deepEqual(after, after.map(() => "1"));
  },
});
