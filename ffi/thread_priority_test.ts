import assert from "node:assert/strict";
import { SCHED_IDLE, SCHED_OTHER, threadsNamed, V8_HELPER_THREAD_NAME } from "./thread_priority.ts";
import type { ThreadPolicy } from "../tests/support/thread_policy.ts";
import { evalJson } from "../tests/support/eval_json.ts";

const MODULE = new URL("./thread_priority.ts", import.meta.url).href;
const POLICIES = new URL("../tests/support/thread_policy.ts", import.meta.url).href;

Deno.test({
  name: "setThreadPolicy moves one named thread to SCHED_IDLE and back (as root)",
  // Leaving SCHED_IDLE needs CAP_SYS_NICE (or RLIMIT_NICE of 20).
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
  fn: async () => {
    // In a process of its own, so that the test runner's threads keep their policy.
    const script = `
      import { setThreadPolicy, threadsNamed, V8_HELPER_THREAD_NAME } from "${MODULE}";
      import { threadPolicies } from "${POLICIES}";
      const before = threadPolicies("self");
      const helpers = threadsNamed(V8_HELPER_THREAD_NAME);
      const idled = helpers.map((tid) => setThreadPolicy(tid, ${SCHED_IDLE}));
      const idle = threadPolicies("self");
      const restored = helpers.map((tid) => setThreadPolicy(tid, ${SCHED_OTHER}));
      const after = threadPolicies("self");
      console.log(JSON.stringify({ before, helpers, idled, idle, restored, after }));
    `;
    const { value } = await evalJson<{
      before: ThreadPolicy[];
      helpers: number[];
      idled: boolean[];
      idle: ThreadPolicy[];
      restored: boolean[];
      after: ThreadPolicy[];
    }>(script);
    const { before, helpers, idled, idle, restored, after } = value;
    const named = before.filter((t) => t.name === V8_HELPER_THREAD_NAME).map((t) => t.tid);
    assert.ok(named.length > 0, `no ${V8_HELPER_THREAD_NAME} thread: ${JSON.stringify(before)}`);
    const byNumber = (a: number, b: number) => a - b;
    assert.deepEqual(helpers.toSorted(byNumber), named.toSorted(byNumber));
    assert.ok(before.every((t) => t.policy === SCHED_OTHER), JSON.stringify(before));
    assert.deepEqual(idled, helpers.map(() => true));
    assert.deepEqual(restored, helpers.map(() => true));
    const beforeByTid = new Map(before.map((t) => [t.tid, t]));
    for (const t of idle) {
      const was = beforeByTid.get(t.tid) ?? t;
      assert.equal(t.policy, helpers.includes(t.tid) ? SCHED_IDLE : was.policy, JSON.stringify(t));
      assert.equal(t.nice, was.nice, JSON.stringify(t));
    }
    for (const t of after) {
      const was = beforeByTid.get(t.tid) ?? t;
      assert.equal(t.policy, was.policy, JSON.stringify(t));
      assert.equal(t.nice, was.nice, JSON.stringify(t));
    }
  },
});

Deno.test("threadsNamed finds no stranger", () => {
  assert.deepEqual(threadsNamed("no such thread"), []);
});
