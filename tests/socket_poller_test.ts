/**
 * Plaintext gRPC on the serving thread's own epoll (src/transport/native/socket_poller.ts)
 * against the same server on Deno's listener: the same answers over IPv4 and IPv6, large
 * messages both ways (partial sends, many reads); the isolate's timers and other sockets
 * keep working while the poller waits and while it is busy; and a process out of file
 * descriptors pauses accepting, counts the failures and serves again once they are back.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { serveNative } from "../src/transport/native/mod.ts";
import type { UnaryRouter } from "../src/transport/types.ts";
import { grpcFrame } from "../scripts/bench/pool.ts";
import { runH2load } from "./support/h2load.ts";
import { rawService } from "./support/raw_grpc.ts";
import { buildReadFixture, expectPerson } from "./support/read_fixture.ts";
import { RIALTO_FROM_SOURCE, startServe, toolMissing } from "./support/serve_process.ts";
import { waitFor } from "./support/wait.ts";

const BIG = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 13 + 5) & 0xff);
const text = (s: string) => new TextEncoder().encode(s);

const router: UnaryRouter = {
  route(path) {
    switch (path) {
      case "/test.Echo/echo":
        return (body) => body.slice();
      case "/test.Echo/big":
        return () => BIG;
      case "/test.Echo/peer":
        return (_body, peer) => text(peer.address);
      default:
        return undefined;
    }
  },
};

function client(address: string): grpc.Client {
  const Client = grpc.makeGenericClientConstructor(
    rawService("test.Echo", ["echo", "big", "peer"]),
    "Echo",
  );
  return new Client(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 16 << 20,
    "grpc.max_send_message_length": 16 << 20,
  });
}

function call(c: grpc.Client, method: string, body: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // deno-lint-ignore no-explicit-any
    (c as any)[method](Buffer.from(body), (error: grpc.ServiceError | null, res: Buffer) => {
      if (error) reject(error);
      else resolve(new Uint8Array(res));
    });
  });
}

const ipv6Loopback = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();
if (!ipv6Loopback) console.log("No IPv6 loopback here: the IPv6 cases are skipped");

/** Where the server listens, the address a client dials, and the peer address it sees. */
const PLACES = [
  { listen: "127.0.0.1", dial: "127.0.0.1", peer: /^127\.0\.0\.1:\d+$/, ipv6: false },
  { listen: "::1", dial: "[::1]", peer: /^\[::1\]:\d+$/, ipv6: true },
  // Dual-stack (net.ipv6.bindv6only 0, Linux's default): an IPv4 client, IPv4-mapped.
  { listen: "::", dial: "127.0.0.1", peer: /^\[::ffff:127\.0\.0\.1\]:\d+$/, ipv6: true },
];
const dualStack = (() => {
  try {
    return Deno.readTextFileSync("/proc/sys/net/ipv6/bindv6only").trim() === "0";
  } catch {
    return false;
  }
})();

for (const io of ["poller", "deno"] as const) {
  for (const place of PLACES) {
    Deno.test({
      name: `plaintext on ${io === "poller" ? "the poller" : "Deno's listener"}, listening on ` +
        `${place.listen}: small and large messages both ways, concurrent calls, the peer`,
      ignore: place.ipv6 && (!ipv6Loopback || (place.listen === "::" && !dualStack)),
      async fn() {
        const server = await serveNative({ hostname: place.listen, port: 0, router, io });
        const c = client(`${place.dial}:${server.port}`);
        try {
          assert.equal(server.io, io);
          assert.deepEqual(await call(c, "echo", text("hello")), text("hello"));
          assert.deepEqual(await call(c, "big", text("")), BIG);
          // More than the server's stream window: read in many pieces, acknowledged as it goes.
          assert.deepEqual(await call(c, "echo", BIG), BIG);
          const answers = await Promise.all(
            Array.from({ length: 200 }, (_, i) => call(c, "echo", text(`call ${i}`))),
          );
          answers.forEach((answer, i) => assert.deepEqual(answer, text(`call ${i}`)));
          assert.match(new TextDecoder().decode(await call(c, "peer", text(""))), place.peer);
        } finally {
          c.close();
          await server.close(1000);
        }
      },
    });
  }
}

/** An interval timer that keeps how much later than due it fired at worst. */
class LatenessProbe {
  lateness = 0;
  #last = performance.now();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(periodMs: number) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.lateness = Math.max(this.lateness, now - this.#last - periodMs);
      this.#last = now;
    }, periodMs);
  }

  reset(): void {
    this.lateness = 0;
    this.#last = performance.now();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

const h2loadMissing = toolMissing(["h2load", "--version"], "h2load (nghttp2-client)");

Deno.test({
  name: "while the poller waits and while it serves, the isolate's timers fire " +
    "and its other sockets are answered",
  ignore: h2loadMissing !== null,
  async fn() {
    const server = await serveNative({ hostname: "127.0.0.1", port: 0, router, io: "poller" });
    assert.equal(server.io, "poller");
    const other = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("other"),
    );
    const dir = await Deno.makeTempDir({ prefix: "rialto-poller-" });
    const tick = new LatenessProbe(5);
    try {
      // Waiting: the poller blocks in epoll_wait, yet a timer fires about when due.
      const started = performance.now();
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 2));
      const waited = performance.now() - started;
      assert.ok(waited < 1000, `20 timers of 2 ms took ${waited.toFixed(0)} ms`);

      // Serving: h2load keeps the poller busy while this isolate fetches from its other server.
      const bodyFile = `${dir}/echo.grpc`;
      await Deno.writeFile(bodyFile, grpcFrame(text("hello")));
      let loadDone = false;
      const load = runH2load({
        requests: 20_000,
        clients: 4,
        streams: 8,
        bodyFile,
        url: `http://127.0.0.1:${server.port}/test.Echo/echo`,
      }).finally(() => loadDone = true);
      let fetched = 0;
      while (!loadDone) {
        const response = await fetch(`http://127.0.0.1:${other.addr.port}/`);
        assert.equal(await response.text(), "other");
        fetched++;
      }
      const { code, counts, output } = await load;
      assert.equal(code, 0, output);
      assert.equal(counts.succeeded, 20_000, output);
      assert.ok(fetched >= 3, `only ${fetched} fetches answered during the load`);
      // A starved loop would not tick at all; the bound leaves room for a loaded CI machine.
      assert.ok(tick.lateness < 500, `a 5 ms interval came ${tick.lateness.toFixed(0)} ms late`);
    } finally {
      tick.stop();
      await other.shutdown();
      await server.close(1000);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a client that keeps its socket full holds neither the isolate's timers " +
    "nor another connection's calls",
  async fn() {
    const server = await serveNative({ hostname: "127.0.0.1", port: 0, router, io: "poller" });
    const c = client(`127.0.0.1:${server.port}`);
    const tick = new LatenessProbe(5);
    try {
      assert.deepEqual(await call(c, "echo", text("warm")), text("warm"));
      // Another process writes calls back to back for 4 s: this connection's socket always
      // has more to read, as far ahead as the server can take.
      const flood = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          new URL("./support/h2_flood.ts", import.meta.url).pathname,
          String(server.port),
          "/test.Echo/echo",
          "4",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      let flooding = true;
      flood.finally(() => flooding = false);
      // Wait until the flood's calls are being answered, then measure.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      tick.reset();
      let slowest = 0;
      let calls = 0;
      while (flooding) {
        const started = performance.now();
        assert.deepEqual(await call(c, "echo", text(`during ${calls}`)), text(`during ${calls}`));
        slowest = Math.max(slowest, performance.now() - started);
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const { code, stdout, stderr } = await flood;
      const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      assert.equal(code, 0, output);
      const { sent, answered } = JSON.parse(new TextDecoder().decode(stdout));
      assert.ok(sent > 10_000 && answered === sent, output);
      assert.ok(calls >= 3, `only ${calls} calls answered on the other connection`);
      // A connection drained to its end before anything else runs would hold both for
      // the flood's seconds; the bounds leave room for a loaded CI machine.
      assert.ok(tick.lateness < 500, `a 5 ms interval came ${tick.lateness.toFixed(0)} ms late`);
      // A call takes several turns, each after one of the flood's reads: more room.
      assert.ok(slowest < 1500, `a call on another connection took ${slowest.toFixed(0)} ms`);
    } finally {
      tick.stop();
      c.close();
      await server.close(1000);
    }
  },
});

const prlimitMissing = toolMissing(["prlimit", "--version"], "prlimit (util-linux)");

Deno.test({
  name: "out of file descriptors, the poller pauses accepting, counts the failures, " +
    "and serves again once descriptors are free",
  ignore: prlimitMissing !== null,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "rialto-nofile-" });
    const held: Deno.Conn[] = [];
    try {
      await buildReadFixture(dataDir);
      // Find how many descriptors the server holds once up, then start one with a few more.
      const args = [
        "--data-dir",
        dataDir,
        "--grpc-port",
        "0",
        "--admin-port",
        "0",
        "--workers",
        "1",
      ];
      let inUse: number;
      {
        await using probe = await startServe(args);
        await expectPerson(probe.address, 1);
        const pid = probe.child.pid;
        inUse = [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
      }
      const limit = inUse + 16;
      await using server = await startServe(args, {
        command: ["prlimit", `--nofile=${limit}:${limit}`, "--", ...RIALTO_FROM_SOURCE],
      });
      await expectPerson(server.address, 2);
      for (let i = 0; i < 60; i++) {
        held.push(await Deno.connect({ hostname: "127.0.0.1", port: server.grpcPort }));
      }
      await waitFor(
        "the server to log that accepts pause",
        () => Promise.resolve(/Accept failed \(errno 24\); pausing accepts/.test(server.stderr())),
      );
      for (const conn of held.splice(0)) conn.close();
      // Descriptors are back: the queued and new connections are served.
      await waitFor("a get to succeed again", async () => {
        try {
          await expectPerson(server.address, 3);
          return true;
        } catch {
          return false;
        }
      });
      const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      const failures = metrics.split("\n").find((l) =>
        l.startsWith("rialto_accept_failures_total ")
      );
      assert.ok(failures !== undefined && Number(failures.split(" ")[1]) > 0, String(failures));
      assert.ok(server.running(), server.stderr());
    } finally {
      for (const conn of held) conn.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
