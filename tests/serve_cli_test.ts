/**
 * `rialto serve` and the client commands as real subprocesses, the way an operator runs
 * them: embedded defaults with --data-dir, a config file with flags over it, the exit
 * codes of a bad config (1) and a bad flag (2), /health, a graceful drain on SIGTERM
 * with calls in flight, and `rialto get`, `batch-get` and `store inspect` printing JSON.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { Buffer } from "node:buffer";
import { ReadClient } from "../src/client/read_client.ts";
import { decodeServerResponse, encodeClientRequest } from "../src/codec/messages.ts";
import { encodeKeyString } from "../src/venice/key_string.ts";
import {
  buildReadFixture,
  expectPerson,
  keyBytes,
  partitionOf,
  PEOPLE,
  personBytes,
} from "./support/read_fixture.ts";
import { READ_SERVICE_PATHS } from "../src/read/router.ts";
import { runRialto, type ServeProcess, startServe } from "./support/serve_process.ts";
import { people as peopleRecords } from "./support/stores.ts";
import { threadPolicies } from "./support/thread_policy.ts";
import { SCHED_IDLE, V8_HELPER_THREAD_NAME } from "../ffi/mod.ts";

const people = `${PEOPLE.store}_v${PEOPLE.version}`;
const GET_PATH = READ_SERVICE_PATHS.get;
const UNAVAILABLE = 14;

const PORTS_0 = ["--grpc-port", "0", "--admin-port", "0"];

async function health(server: ServeProcess): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${server.adminPort}/health`);
  return { status: response.status, body: await response.json() };
}

/** `rialto serve` exits; returns its result (a server that starts anyway is stopped). */
async function serveExits(args: string[]) {
  const result = await runRialto(["serve", ...args], { timeoutMs: 30_000 });
  assert.ok(!result.stdout.includes('"listening"'), `it served:\n${result.stdout}`);
  return result;
}

/**
 * One gRPC get over a raw HTTP/2 stream whose headers go out now and whose message goes
 * out only when `send()` is called: a call the server holds open, in flight, meanwhile.
 */
function heldOpenGet(port: number, request: Uint8Array) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {}); // Reported through the stream below.
  const stream = session.request({
    ":method": "POST",
    ":path": GET_PATH,
    "content-type": "application/grpc",
    te: "trailers",
  }, { endStream: false });
  const chunks: Buffer[] = [];
  let status = 0;
  let grpcStatus: string | undefined;
  const done = new Promise<{ status: number; grpcStatus?: string; body: Uint8Array }>(
    (resolve, reject) => {
      stream.on("response", (headers) => {
        status = Number(headers[":status"]);
        // A trailers-only response carries grpc-status in the headers.
        if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
      });
      stream.on("trailers", (trailers) => grpcStatus = String(trailers["grpc-status"]));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("close", () => resolve({ status, grpcStatus, body: Buffer.concat(chunks) }));
    },
  ).finally(() => session.close());
  const opened = new Promise<void>((resolve) => stream.on("ready", () => resolve()));
  return {
    opened,
    done,
    send() {
      const frame = new Uint8Array(5 + request.length);
      new DataView(frame.buffer).setUint32(1, request.length);
      frame.set(request, 5);
      stream.end(Buffer.from(frame));
    },
    destroy() {
      stream.destroy();
      session.destroy();
    },
  };
}

Deno.test("rialto serve and the client commands as subprocesses", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-serve-cli-" });
  try {
    await buildReadFixture(dataDir);

    await t.step("embedded defaults with --data-dir serve what is there", async (t) => {
      await using server = await startServe(["--data-dir", dataDir, ...PORTS_0]);
      assert.notEqual(server.grpcPort, 7070);
      assert.notEqual(server.adminPort, 7071);

      await t.step("V8's helper threads are governed, the others run as started", () => {
        assert.match(
          server.stderr(),
          new RegExp(`Threads named "${V8_HELPER_THREAD_NAME}" \\(\\d+\\): normal priority while`),
        );
        const threads = threadPolicies(server.child.pid);
        const main = threads.find((thread) => thread.tid === server.child.pid)!;
        assert.notEqual(main.policy, SCHED_IDLE, "started under SCHED_IDLE: nothing to tell");
        const helpers = threads.filter((thread) => thread.name === V8_HELPER_THREAD_NAME);
        assert.ok(helpers.length > 0, JSON.stringify(threads));
        for (const thread of threads) {
          // A helper is under either policy, as its last period had it (helper_threads.ts).
          if (thread.name === V8_HELPER_THREAD_NAME) {
            assert.ok([SCHED_IDLE, main.policy].includes(thread.policy), JSON.stringify(thread));
          } else assert.equal(thread.policy, main.policy, JSON.stringify(thread));
          assert.equal(thread.nice, main.nice, JSON.stringify(thread));
        }
      });

      await t.step("plaintext gRPC is served on the serving threads' own epoll", () => {
        // What a Deno upgrade must keep (socket_poller.ts finds the runtime's epoll itself).
        assert.match(server.stderr(), /gRPC on port \d+: plaintext, on this thread's own epoll/);
        assert.doesNotMatch(server.stderr(), /through Deno\.listen/);
      });

      await t.step("/health answers 200 once listening", async () => {
        const { status, body } = await health(server);
        assert.equal(status, 200);
        assert.deepEqual(body, { ready: true, versions: 4 });
      });

      await t.step("gets and batch gets over gRPC", async () => {
        await expectPerson(server.address, 7);
        using client = new ReadClient(server.address);
        const keys = ["person-1", "person-2", "person-3"].map((k) => ({
          keyBytes: keyBytes(k),
          partition: partitionOf(k, PEOPLE.partitions),
        }));
        const r = await client.batchGet(people, keys);
        assert.equal(r.errorCode, 200, r.errorMessage);
        assert.equal(r.responseRCU, 3);
      });

      const common = [
        "--server",
        server.address,
        "--data-dir",
        dataDir,
        "--store",
        PEOPLE.store,
        "--version",
        String(PEOPLE.version),
      ];
      const expected = peopleRecords(PEOPLE.count);

      await t.step("rialto get prints the value as JSON", async () => {
        const r = await runRialto(["get", ...common, "--key", '"person-7"']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), expected[7].value);
      });

      await t.step("rialto get prints null for a missing key and exits 0", async () => {
        const r = await runRialto(["get", ...common, "--key", '"nobody"']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout), null);
      });

      await t.step("rialto batch-get prints keys and values in request order", async () => {
        const r = await runRialto([
          "batch-get",
          ...common,
          "--key",
          '"person-3"',
          "--key",
          '"nobody"',
          "--key",
          '"person-0"',
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), [
          { key: "person-3", value: expected[3].value },
          { key: "nobody", value: null },
          { key: "person-0", value: expected[0].value },
        ]);
      });

      await t.step("rialto get fails with exit 1 when the server is not there", async () => {
        const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = closed.addr.port;
        closed.close();
        const r = await runRialto([
          "get",
          ...common.map((arg) => arg === server.address ? `127.0.0.1:${port}` : arg),
          "--key",
          '"person-7"',
        ]);
        assert.equal(r.code, 1, r.stdout);
        assert.notEqual(r.stderr.trim(), "");
      });
    });

    await t.step("rialto store inspect prints JSON", async () => {
      const list = await runRialto(["store", "inspect", "--data-dir", dataDir, "--json"]);
      assert.equal(list.code, 0, list.stderr);
      const summaries = JSON.parse(list.stdout) as { resource: string; keys: number }[];
      assert.deepEqual(
        summaries.map((s) => s.resource).sort(),
        ["chunky_v2", "people_gz_v1", "people_v1", "people_zstd_v1"],
      );
      assert.equal(summaries.find((s) => s.resource === people)?.keys, PEOPLE.count);

      const inspectKey = ["store", "inspect", "--data-dir", dataDir, "--store", "people"];
      const found = await runRialto([...inspectKey, "--version", "1", "--key", '"person-7"']);
      assert.equal(found.code, 0, found.stderr);
      assert.deepEqual(JSON.parse(found.stdout), {
        partition: partitionOf("person-7", PEOPLE.partitions),
        key: "person-7",
        schemaId: 1,
        value: peopleRecords(8)[7].value,
      });
      const absent = await runRialto([...inspectKey, "--version", "1", "--key", '"nobody"']);
      assert.equal(absent.code, 1);
      assert.equal(absent.stdout, "");
      assert.match(absent.stderr, /not found/);
    });

    await t.step("--config FILE is read and flags override it", async () => {
      // The file's ports are taken, so the server starts only if the flags win.
      const taken = [0, 1].map(() => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
      const configFile = `${dataDir}/rialto.yaml`;
      try {
        await Deno.writeTextFile(
          configFile,
          [
            `dataDir: ${dataDir}/does-not-exist`,
            "grpc:",
            "  host: 127.0.0.1",
            `  port: ${taken[0].addr.port}`,
            "  maxKeysPerBatch: 2",
            "admin:",
            `  port: ${taken[1].addr.port}`,
            "stores:",
            "  people:",
            "    enabled: true",
            "",
          ].join("\n"),
        );
        await using server = await startServe([
          "--config",
          configFile,
          "--data-dir",
          dataDir,
          ...PORTS_0,
        ]);
        assert.ok(!taken.some((l) => l.addr.port === server.grpcPort));
        assert.equal((await health(server)).status, 200);
        // dataDir from the flag: the store is there.
        await expectPerson(server.address, 11);
        // maxKeysPerBatch from the file: 3 keys are over its limit of 2.
        using client = new ReadClient(server.address);
        const keys = ["person-1", "person-2", "person-3"].map((k) => ({
          keyBytes: keyBytes(k),
          partition: partitionOf(k, PEOPLE.partitions),
        }));
        const r = await client.batchGet(people, keys);
        assert.equal(r.errorCode, 400);
        assert.match(r.errorMessage, /limit of 2 keys/);
        client.close();

        // SIGINT (Ctrl-C) stops it as cleanly as SIGTERM.
        const stopped = await server.stop("SIGINT");
        assert.equal(stopped.signal, null, stopped.stderr);
        assert.equal(stopped.code, 0, stopped.stderr);
        assert.match(stopped.stderr, /Received "?SIGINT"?: draining/);
      } finally {
        for (const listener of taken) listener.close();
      }
    });

    await t.step("a bad config file exits 1 naming the field", async () => {
      const cases = [
        ["grpc:\n  maxKeysPerBatch: lots\n", /grpc\.maxKeysPerBatch/],
        ["grpc:\n  prot: 7070\n", /grpc\.prot: Unknown field/],
        ["stores:\n  ghosts:\n    enabeld: true\n", /stores\.ghosts\.enabeld: Unknown field/],
      ] as const;
      await Promise.all(cases.map(async ([yaml, field], i) => {
        const configFile = `${dataDir}/bad-${i}.yaml`;
        await Deno.writeTextFile(configFile, yaml);
        const r = await serveExits(["--config", configFile, "--data-dir", dataDir, ...PORTS_0]);
        assert.equal(r.code, 1, `${yaml}\n${r.stderr}`);
        assert.match(r.stderr, field);
      }));
    });

    await t.step("a bad flag exits 2 with usage", async () => {
      const cases = [
        [["--grpc-port", "http"], /--grpc-port must be a port number/],
        [["--admin-port", "70000"], /--admin-port must be a port number/],
        [["--bogus"], /bogus/],
      ] as const;
      await Promise.all(cases.map(async ([args, message]) => {
        const r = await serveExits(["--data-dir", dataDir, ...args]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /Usage: rialto serve/);
      }));
    });

    await t.step("SIGTERM drains in-flight calls, then exits 0", async () => {
      const server = await startServe(["--data-dir", dataDir, ...PORTS_0]);
      let held: ReturnType<typeof heldOpenGet> | undefined;
      let streaming = true;
      try {
        // A call whose headers are in but whose message is not: in flight until we send.
        const request = encodeClientRequest({
          resourceName: people,
          partition: partitionOf("person-9", PEOPLE.partitions),
          keyString: encodeKeyString(keyBytes("person-9")),
          method: "GET",
        });
        held = heldOpenGet(server.grpcPort, request);
        await held.opened;

        // A steady stream of gets from several clients, running across the SIGTERM.
        const outcomes: { ok: number; unavailable: number; other: string[] } = {
          ok: 0,
          unavailable: 0,
          other: [],
        };
        const loops = Array.from({ length: 4 }, async (_, loop) => {
          using client = new ReadClient(server.address);
          for (let n = 0; streaming; n++) {
            const i = (loop * 13 + n) % PEOPLE.count;
            const key = `person-${i}`;
            try {
              const r = await client.get(
                people,
                partitionOf(key, PEOPLE.partitions),
                keyBytes(key),
              );
              if (r.errorCode === 200 && r.data.length === personBytes(i).length) outcomes.ok++;
              else outcomes.other.push(`Venice ${r.errorCode} ${r.errorMessage}`);
            } catch (error) {
              const code = (error as { code?: number }).code;
              // Refused after the server stopped accepting: expected, and the loop ends.
              if (code === UNAVAILABLE) {
                outcomes.unavailable++;
                return;
              }
              outcomes.other.push(String(error));
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const okBeforeTerm = outcomes.ok;
        assert.ok(okBeforeTerm > 0, "no get succeeded before SIGTERM");

        server.child.kill("SIGTERM");
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.ok(server.running(), "the server exited with a call in flight");
        held.send();
        const reply = await held.done;
        assert.equal(reply.status, 200);
        assert.equal(reply.grpcStatus, "0");
        const response = decodeServerResponse(reply.body.subarray(5));
        assert.equal(response.errorCode, 200, response.errorMessage);
        assert.deepEqual(new Uint8Array(response.data), personBytes(9));

        const result = await server.exited;
        streaming = false;
        await Promise.all(loops);
        assert.equal(result.signal, null);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /Received "?SIGTERM"?: draining/);
        assert.deepEqual(outcomes.other, [], "a get failed with something other than UNAVAILABLE");
      } finally {
        streaming = false;
        held?.destroy();
        await server.stop("SIGKILL");
      }
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
