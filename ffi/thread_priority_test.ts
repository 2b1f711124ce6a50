import assert from "node:assert/strict";
import { idleThreads, SCHED_IDLE, V8_HELPER_THREAD_NAME } from "./thread_priority.ts";
import type { ThreadPolicy } from "../tests/support/thread_policy.ts";

const MODULE = new URL("./thread_priority.ts", import.meta.url).href;
const POLICIES = new URL("../tests/support/thread_policy.ts", import.meta.url).href;

Deno.test("idleThreads moves the named threads only to SCHED_IDLE", async () => {
  // In a process of its own, so that the test runner's threads keep their policy.
  const script = `
    import { idleThreads, V8_HELPER_THREAD_NAME } from "${MODULE}";
    import { threadPolicies } from "${POLICIES}";
    const before = threadPolicies("self");
    const result = idleThreads(V8_HELPER_THREAD_NAME);
    console.log(JSON.stringify({ before, result, after: threadPolicies("self") }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const { before, result, after }: {
    before: ThreadPolicy[];
    result: { threads: number[]; failures: string[] };
    after: ThreadPolicy[];
  } = JSON.parse(new TextDecoder().decode(out.stdout));
  const helpers = after.filter((t) => t.name === V8_HELPER_THREAD_NAME);
  assert.ok(helpers.length > 0, `no ${V8_HELPER_THREAD_NAME} thread: ${JSON.stringify(after)}`);
  const beforeByTid = new Map(before.map((t) => [t.tid, t]));
  assert.ok(
    before.every((t) => t.policy !== SCHED_IDLE),
    `already under SCHED_IDLE, nothing to tell: ${JSON.stringify(before)}`,
  );
  assert.deepEqual(result.failures, []);
  const byNumber = (a: number, b: number) => a - b;
  assert.deepEqual(result.threads.toSorted(byNumber), helpers.map((t) => t.tid).toSorted(byNumber));
  for (const t of after) {
    const was = beforeByTid.get(t.tid) ?? t;
    const expected = t.name === V8_HELPER_THREAD_NAME ? SCHED_IDLE : was.policy;
    assert.equal(t.policy, expected, JSON.stringify(t));
    assert.equal(t.nice, was.nice, JSON.stringify(t));
  }
});

Deno.test("idleThreads finds no stranger", () => {
  assert.deepEqual(idleThreads("no such thread"), { threads: [], failures: [] });
});
