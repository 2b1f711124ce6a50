import assert from "node:assert/strict";
import { AF_INET, EPOLLIN, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from "../../../ffi/mod.ts";
import { SocketPoller } from "./socket_poller.ts";

// This file's isolate has no poller running yet: the case below is the first `add`.
const poller = SocketPoller.start();

Deno.test({
  name: "the poller's loop starts after its first add() returns: a listener whose connection " +
    "is already queued is not handed it before its owner is set up",
  ignore: poller === null,
  async fn() {
    const calls = poller!.calls;
    const fd = calls.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert.ok(fd >= 0);
    const address = new Uint8Array(16);
    const view = new DataView(address.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint32(4, 0x7f00_0001);
    assert.equal(calls.bind(fd, address, address.length), 0);
    assert.equal(calls.listen(fd, 16), 0);
    const length = new Uint32Array([address.length]);
    assert.equal(calls.getsockname(fd, address, new Uint8Array(length.buffer)), 0);
    // The kernel completes the handshake itself: the connection waits in the queue.
    const client = await Deno.connect({ hostname: "127.0.0.1", port: view.getUint16(2) });
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
