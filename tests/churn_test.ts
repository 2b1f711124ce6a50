/**
 * Connection churn against `rialto serve` as a real process: many HTTP/2 clients
 * connect, send gets and go away (h2load sends GOAWAY on every connection when it
 * exits), then many grpc-js clients connect, call and close at once. The server must
 * stay up, keep answering correctly, report healthy, and still drain and exit 0 on
 * SIGTERM. Deno 2.9.6 aborted the whole process inside nghttp2 on a client's GOAWAY
 * (Deno issue 36788); this is the test any Deno upgrade must pass first.
 */
import assert from "node:assert/strict";
import { ReadClient } from "../src/client/read_client.ts";
import { decodeServerResponse, encodeClientRequest } from "../src/codec/messages.ts";
import { READ_SERVICE_PATHS } from "../src/read/router.ts";
import { encodeKeyString } from "../src/venice/key_string.ts";
import { grpcFrame } from "../scripts/bench/pool.ts";
import {
  buildReadFixture,
  expectPerson,
  keyBytes,
  partitionOf,
  PEOPLE,
  personBytes,
} from "./support/read_fixture.ts";
import { runH2load } from "./support/h2load.ts";
import { startServe, toolMissing } from "./support/serve_process.ts";
import { startTestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const people = `${PEOPLE.store}_v${PEOPLE.version}`;
const GET_PATH = READ_SERVICE_PATHS.get;

/** Per h2load run; three runs make 9000 requests over 180 connections. */
const H2LOAD = { runs: 3, requests: 3000, clients: 60, streamsPerClient: 4 } as const;
const GRPC_JS_CLIENTS = 30;

const missing = toolMissing(["h2load", "--version"], "h2load (nghttp2-client)");
if (missing) console.log(`Skipping the connection-churn test: ${missing}`);

for (const transport of ["grpc-js", "native"]) {
  Deno.test({
    name:
      `rialto serve over ${transport} survives connection churn and GOAWAY, then drains and exits 0`,
    ignore: missing !== null,
    async fn(t) {
      const dataDir = await Deno.makeTempDir({ prefix: "rialto-churn-" });
      try {
        await buildReadFixture(dataDir);
        const request = encodeClientRequest({
          resourceName: people,
          partition: partitionOf("person-7", PEOPLE.partitions),
          keyString: encodeKeyString(keyBytes("person-7")),
          method: "GET",
        });
        const frameFile = `${dataDir}/get.grpc`;
        await Deno.writeFile(frameFile, grpcFrame(request));
        await using server = await startServe([
          "--data-dir",
          dataDir,
          "--grpc-port",
          "0",
          "--admin-port",
          "0",
          "--transport",
          transport,
        ]);

        await t.step("the request h2load sends is a get that finds its value", async () => {
          // h2load counts HTTP 200s; Venice statuses ride inside them, so check the bytes once.
          using client = new ReadClient(server.address);
          const r = decodeServerResponse(await client.call(GET_PATH, request));
          assert.equal(r.errorCode, 200, r.errorMessage);
          assert.deepEqual(new Uint8Array(r.data), personBytes(7));
        });

        await t.step("h2load clients connect, send gets and GOAWAY, repeatedly", async () => {
          for (let run = 0; run < H2LOAD.runs; run++) {
            const { code, output: text, counts } = await runH2load({
              requests: H2LOAD.requests,
              clients: H2LOAD.clients,
              streams: H2LOAD.streamsPerClient,
              bodyFile: frameFile,
              url: `http://${server.address}${GET_PATH}`,
            });
            assert.equal(code, 0, `h2load run ${run} exited with ${code}:\n${text}`);
            assert.equal(counts.succeeded, H2LOAD.requests, text);
            assert.equal(counts.failed, 0, text);
            assert.equal(counts.errored, 0, text);
            assert.ok(server.running(), `the server exited during h2load run ${run}`);
          }
        });

        await t.step(
          `${GRPC_JS_CLIENTS} grpc-js clients connect, call and close at once`,
          async () => {
            for (let round = 0; round < 2; round++) {
              await Promise.all(
                Array.from({ length: GRPC_JS_CLIENTS }, (_, i) => expectPerson(server.address, i)),
              );
            }
          },
        );

        await t.step("the server is still up, answers correctly and is healthy", async () => {
          assert.ok(server.running(), `the server exited:\n${server.stderr()}`);
          await expectPerson(server.address, 42);
          const health = await fetch(`http://127.0.0.1:${server.adminPort}/health`);
          assert.equal(health.status, 200);
          assert.equal((await health.json()).ready, true);
        });

        await t.step("SIGTERM drains and exits 0", async () => {
          const result = await server.stop("SIGTERM");
          assert.equal(result.signal, null, `killed by ${result.signal}:\n${result.stderr}`);
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stderr, /Stopped/);
        });
      } finally {
        await Deno.remove(dataDir, { recursive: true });
      }
    },
  });
}

Deno.test("connections reset before accept are counted in /metrics and serving goes on", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await buildReadFixture(dataDir);
    await using s = await startTestServer(dataDir);
    const script = new URL("./support/reset_before_accept.py", import.meta.url).pathname;
    const burst = await new Deno.Command("python3", {
      args: [script, String(s.server.grpcPort), "300"],
      stderr: "piped",
    }).output();
    assert.equal(burst.code, 0, new TextDecoder().decode(burst.stderr));
    await waitFor("the failed accepts to be counted", async () => {
      const text = await (await fetch(`http://127.0.0.1:${s.server.adminPort}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("rialto_accept_failures_total "));
      return line !== undefined && Number(line.split(" ")[1]) > 0;
    });
    await expectPerson(s.address, 3);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
