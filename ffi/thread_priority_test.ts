import assert from "node:assert/strict";
import { deprioritizeThreads, V8_HELPER_THREAD_NAME } from "./thread_priority.ts";

const MODULE = new URL("./thread_priority.ts", import.meta.url).href;
const NICES = new URL("../tests/support/thread_nice.ts", import.meta.url).href;

interface ThreadNice {
  tid: number;
  name: string;
  nice: number;
}

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
  const { before, result, after }: {
    before: ThreadNice[];
    result: { threads: number[]; failures: string[] };
    after: ThreadNice[];
  } = JSON.parse(new TextDecoder().decode(out.stdout));
  const helpers = after.filter((t) => t.name === V8_HELPER_THREAD_NAME);
  assert.ok(helpers.length > 0, `no ${V8_HELPER_THREAD_NAME} thread: ${JSON.stringify(after)}`);
  const niceBefore = new Map(before.map((t) => [t.tid, t.nice]));
  assert.ok(
    helpers.every((t) => niceBefore.get(t.tid) !== 19),
    `already at 19, nothing to tell: ${JSON.stringify(before)}`,
  );
  assert.deepEqual(result.failures, []);
  const byNumber = (a: number, b: number) => a - b;
  assert.deepEqual(result.threads.toSorted(byNumber), helpers.map((t) => t.tid).toSorted(byNumber));
  for (const t of after) {
    const expected = t.name === V8_HELPER_THREAD_NAME ? 19 : niceBefore.get(t.tid) ?? t.nice;
    assert.equal(t.nice, expected, JSON.stringify(t));
  }
});

Deno.test("deprioritizeThreads refuses a nice value outside 0-19 and finds no stranger", () => {
  assert.throws(() => deprioritizeThreads(V8_HELPER_THREAD_NAME, 20), RangeError);
  assert.throws(() => deprioritizeThreads(V8_HELPER_THREAD_NAME, -1), RangeError);
  assert.deepEqual(deprioritizeThreads("no such thread", 19), { threads: [], failures: [] });
});
