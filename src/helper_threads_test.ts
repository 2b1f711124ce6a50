import assert from "node:assert/strict";
import { type HelperState, nextState } from "./helper_threads.ts";
import { SCHED_IDLE, SCHED_OTHER } from "../ffi/mod.ts";
import { evalJson } from "../tests/support/eval_json.ts";

const period = (helperCpuMs: number, helperWaitMs: number, othersCpuMs: number) => ({
  ms: 100,
  helperCpuMs,
  helperWaitMs,
  othersCpuMs,
});
const idle: HelperState = { policy: SCHED_IDLE, quietMs: 0 };
const normal: HelperState = { policy: SCHED_OTHER, quietMs: 0 };

Deno.test("nextState: an idle helper kept waiting half the period gets normal priority", () => {
  assert.deepEqual(nextState(idle, period(0, 50, 100)), normal);
  assert.deepEqual(nextState(idle, period(1, 90, 99)), normal);
  // Its wait is counted when it gets the core: a lump over the whole period.
  assert.deepEqual(nextState(idle, period(0, 276, 100)), normal);
  // A collection's task waiting for a tick now and then is not starved.
  assert.deepEqual(nextState(idle, period(1, 12, 99)), idle);
  assert.deepEqual(nextState(idle, period(0, 0, 0)), idle);
});

Deno.test("nextState: a helper quiet for a second while the rest is busy goes back to SCHED_IDLE", () => {
  let state = normal;
  for (let i = 0; i < 9; i++) {
    state = nextState(state, period(2, 0, 100));
    assert.equal(state.policy, SCHED_OTHER, `after ${i + 1} quiet periods`);
  }
  assert.deepEqual(nextState(state, period(9, 0, 25)), { policy: SCHED_IDLE, quietMs: 1000 });
  // A burst of compiling starts the second again.
  assert.deepEqual(nextState(state, period(40, 10, 60)), normal);
  // An idle server says nothing of what its first load will make hot.
  assert.deepEqual(nextState(state, period(0, 0, 5)), normal);
});

const HELPERS = new URL("./helper_threads.ts", import.meta.url).href;
const LOG = new URL("./log.ts", import.meta.url).href;

// The subprocess: on one CPU, its main thread spins (yielding to its timers through
// setImmediate, never sleeping) while a worker thread, governed, waits, then spins for a
// second and a half, then waits again.
const SCRIPT = `
  import { setImmediate } from "node:timers";
  import { HelperThreads } from "${HELPERS}";
  import { setupLogging } from "${LOG}";
  await setupLogging("warning");
  const worker = new Worker(
    "data:application/javascript," + encodeURIComponent(
      "postMessage('ready'); onmessage = () => {" +
        " const until = Date.now() + 1500; while (Date.now() < until) {} postMessage('spun'); };",
    ),
    { type: "module" },
  );
  const messages = [];
  worker.onmessage = (event) => messages.push(event.data);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  while (!messages.includes("ready")) await new Promise((resolve) => setTimeout(resolve, 5));
  const name = Deno.readTextFileSync("/proc/self/task/" + [...Deno.readDirSync("/proc/self/task")]
    .map((e) => e.name).find((tid) =>
      Deno.readTextFileSync("/proc/self/task/" + tid + "/comm").startsWith("worker-")) +
    "/comm").trimEnd();
  const changes = [];
  const governor = HelperThreads.start({
    name,
    periodMs: 100,
    onChange: (tid, policy) => changes.push(policy),
  });
  const spinUntil = async (done, ms) => {
    const deadline = performance.now() + ms;
    while (!done() && performance.now() < deadline) {
      const until = performance.now() + 2;
      while (performance.now() < until) {}
      await turn();
    }
  };
  const steps = [];
  const step = async (label, done) => {
    await spinUntil(done, 10_000);
    steps.push({ label, changes: [...changes] });
  };
  await step("idle while the worker waits", () => changes.length >= 1);
  worker.postMessage("spin");
  await step("normal while it spins", () => changes.length >= 2);
  await step("its spin done", () => messages.includes("spun"));
  await step("idle again", () => changes.length >= 3);
  governor.stop();
  worker.terminate();
  console.log(JSON.stringify({ steps, policies: governor.policies }));
`;

Deno.test({
  name: "HelperThreads moves a starved thread to normal priority and back once it is quiet",
  // Leaving SCHED_IDLE needs CAP_SYS_NICE (or RLIMIT_NICE of 20); taskset puts both
  // threads on one CPU.
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
  fn: async () => {
    const { value, stderr } = await evalJson<{
      steps: { label: string; changes: number[] }[];
      policies: { tid: number; policy: number }[];
    }>(SCRIPT, { under: ["taskset", "-c", "0"] });
    const { steps, policies } = value;
    assert.deepEqual(steps, [
      { label: "idle while the worker waits", changes: [SCHED_IDLE] },
      { label: "normal while it spins", changes: [SCHED_IDLE, SCHED_OTHER] },
      { label: "its spin done", changes: [SCHED_IDLE, SCHED_OTHER] },
      { label: "idle again", changes: [SCHED_IDLE, SCHED_OTHER, SCHED_IDLE] },
    ], stderr);
    assert.equal(policies.length, 1);
    assert.equal(policies[0].policy, SCHED_IDLE);
  },
});
