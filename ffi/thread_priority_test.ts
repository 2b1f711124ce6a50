import assert from "node:assert/strict";
import { deprioritizeThreads, V8_HELPER_THREAD_NAME } from "./thread_priority.ts";

const MODULE = new URL("./thread_priority.ts", import.meta.url).href;
const NICES = new URL("../tests/support/thread_nice.ts", import.meta.url).href;

Deno.test("deprioritizeThreads sets the nice value of the named threads only", async () => {
  // In a process of its own, so that the test runner's threads keep their priority.
  const script = `
    import { deprioritizeThreads, V8_HELPER_THREAD_NAME } from "${MODULE}";
    import { threadNices } from "${NICES}";
    const before = threadNices("self");
    const result = deprioritizeThreads(V8_HELPER_THREAD_NAME, 19);
    console.log(JSON.stringify({ before, result, after: threadNices("self") }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const { before, result, after } = JSON.parse(new TextDecoder().decode(out.stdout));
  const helpers = after.filter((t: { name: string }) => t.name === V8_HELPER_THREAD_NAME);
  assert.ok(helpers.length > 0, `no ${V8_HELPER_THREAD_NAME} thread: ${JSON.stringify(after)}`);
  assert.ok(
    before.every((t: { nice: number }) => t.nice === 0),
    `before: ${JSON.stringify(before)}`,
  );
  assert.deepEqual(result.failures, []);
  assert.deepEqual(
    [...result.threads].sort(),
    helpers.map((t: { tid: number }) => t.tid).sort(),
  );
  for (const t of after) {
    assert.equal(t.nice, t.name === V8_HELPER_THREAD_NAME ? 19 : 0, JSON.stringify(t));
  }
});

Deno.test("deprioritizeThreads refuses a nice value outside 0-19 and finds no stranger", () => {
  assert.throws(() => deprioritizeThreads(V8_HELPER_THREAD_NAME, 20), RangeError);
  assert.throws(() => deprioritizeThreads(V8_HELPER_THREAD_NAME, -1), RangeError);
  assert.deepEqual(deprioritizeThreads("no such thread", 19), { threads: [], failures: [] });
});
