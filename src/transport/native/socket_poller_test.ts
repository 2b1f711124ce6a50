import assert from "node:assert/strict";
import {
  AF_INET,
  EPOLLIN,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  type SocketCalls,
} from "../../../ffi/mod.ts";
import { loopTasks } from "../../metrics/loop_tasks.ts";
import { SocketPoller } from "./socket_poller.ts";

// This file's isolate has no poller running yet: the case below is the first `add`.
const poller = SocketPoller.start();

/** A nonblocking TCP listener on a free port of 127.0.0.1. */
function listener(calls: SocketCalls): number {
  const fd = calls.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0);
  const address = new Uint8Array(16);
  const view = new DataView(address.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint32(4, 0x7f00_0001);
  assert.equal(calls.bind(fd, address, address.length), 0);
  assert.equal(calls.listen(fd, 16), 0);
  return fd;
}

function portOf(calls: SocketCalls, fd: number): number {
  const address = new Uint8Array(16);
  const length = new Uint32Array([address.length]);
  assert.equal(calls.getsockname(fd, address, new Uint8Array(length.buffer)), 0);
  return new DataView(address.buffer).getUint16(2);
}

Deno.test({
  name: "the poller's loop starts after its first add() returns: a listener whose connection " +
    "is already queued is not handed it before its owner is set up",
  ignore: poller === null,
  async fn() {
    const calls = poller!.calls;
    const fd = listener(calls);
    // The kernel completes the handshake itself: the connection waits in the queue.
    const client = await Deno.connect({ hostname: "127.0.0.1", port: portOf(calls, fd) });
    let handled = 0;
    try {
      poller!.add(fd, EPOLLIN, {
        onEvents() {
          handled++;
          poller!.modify(fd, 0); // Level-triggered, and nothing accepts here.
        },
      });
      assert.equal(handled, 0, "handed the connection inside add()");
      for (let i = 0; i < 200 && handled === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(handled, 1, "not handed the connection once add() had returned");
    } finally {
      poller!.remove(fd);
      calls.close(fd);
      client.close();
    }
  },
});

Deno.test({
  name:
    "the poller notes the waits in which it slept, for the stall probe to tell sleep from steal",
  ignore: poller === null,
  async fn() {
    const calls = poller!.calls;
    const fd = listener(calls);
    const before = { ms: loopTasks.sleptMs, sleeps: loopTasks.sleeps };
    const started = performance.now();
    try {
      // A listener nobody connects to: the loop runs, blocking up to 1 ms a wait.
      poller!.add(fd, EPOLLIN, { onEvents() {} });
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      poller!.remove(fd);
      calls.close(fd);
    }
    const elapsed = performance.now() - started;
    const sleeps = loopTasks.sleeps - before.sleeps;
    const slept = loopTasks.sleptMs - before.ms;
    const text = `${sleeps} waits slept ${slept.toFixed(1)} ms of ${elapsed.toFixed(1)}`;
    assert.ok(sleeps >= 20, text);
    assert.ok(slept >= elapsed / 4 && slept <= elapsed, text);
  },
});
