import assert from "node:assert/strict";
import { threadCpu } from "../scripts/bench/stalls.ts";
import { readUntil } from "../tests/support/child_output.ts";
import { SERVER_V8_FLAGS } from "./runtime_flags.ts";

Deno.test("deno.json's rialto task starts the server with the deployed V8 flags", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  const flags = /--v8-flags=(\S+)/.exec(config.tasks.rialto)?.[1];
  assert.equal(flags, SERVER_V8_FLAGS);
});

Deno.test("this Deno and its V8 accept every deployed V8 flag", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--v8-flags=${SERVER_V8_FLAGS}`, "console.log(1)"],
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  assert.equal(text, "");
});

/**
 * CPU seconds V8's helper threads used in a process with `flags` that fills and drops an
 * old generation (marking, sweeping) and makes hot functions (optimizing compiles).
 */
async function helperCpuUnderGcAndCompiles(flags: string): Promise<number> {
  const script = `
    let keep = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 100_000; i++) keep.push({ i, s: "v" + i });
      if (round % 4 === 3) keep = [];
      const f = new Function("a", "b", "return a * " + round + " + b;");
      let sum = 0;
      for (let i = 0; i < 200_000; i++) sum = f(sum & 0xffff, i);
    }
    console.log("done");
    await Deno.stdin.readable.pipeTo(new WritableStream());`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", `--v8-flags=${flags}`, script],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    await readUntil(lines, "done");
    lines.releaseLock();
    return threadCpu(child.pid).get("V8 DefaultWorke") ?? 0;
  } finally {
    await child.stdin.close();
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
}

Deno.test({
  name: "with the deployed V8 flags, V8's helper threads do no work while the isolate " +
    "collects and compiles",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    assert.equal(await helperCpuUnderGcAndCompiles(SERVER_V8_FLAGS), 0);
    // The same load without --single-threaded: the helpers mark, sweep and compile.
    const withHelpers = SERVER_V8_FLAGS.split(",").filter((f) => f !== "--single-threaded");
    assert.ok(await helperCpuUnderGcAndCompiles(withHelpers.join(",")) > 0);
  },
});
