/**
 * The native transport over two worker isolates: every test starts a real server with
 * `grpc.workers: 2`, talks to it over many real connections (each its own TCP
 * connection, so the kernel spreads them over both workers), and checks what the main
 * isolate owns (versions, quota, metrics, shutdown) stays right across workers.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import {
  decodeServerResponse,
  encodeClientRequest,
  type VeniceServerResponse,
} from "../src/codec/messages.ts";
import { READ_SERVICE_PATHS } from "../src/read/router.ts";
import { encodeKeyString } from "../src/venice/key_string.ts";
import { encodeMultiGetRequestKeys } from "../src/venice/multiget.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import { personBytes, personKey } from "./support/read_fixture.ts";
import { startTestServer } from "./support/server.ts";
import { startServe } from "./support/serve_process.ts";
import { makeStore, peopleStore } from "./support/stores.ts";
import { waitFor } from "./support/wait.ts";

const PARTITIONS = 3;
const key = (i: number) => personKey(i, PARTITIONS);
const RECORDS = 40;
const CONNECTIONS = 16;
const TWO_WORKERS = { grpc: { transport: "native", workers: 2 } };

/** One client, one TCP connection of its own (grpc-js shares connections otherwise). */
class Connection implements Disposable {
  readonly #client: grpc.Client;
  constructor(address: string) {
    this.#client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
  }

  #call(path: string, request: Uint8Array): Promise<VeniceServerResponse> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        path,
        (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        (b: Buffer) => b,
        request,
        { deadline: Date.now() + 10_000 },
        (error, response) => error ? reject(error) : resolve(decodeServerResponse(response!)),
      );
    });
  }

  get(resource: string, i: number): Promise<VeniceServerResponse> {
    const k = key(i);
    return this.#call(
      READ_SERVICE_PATHS.get,
      encodeClientRequest({
        resourceName: resource,
        partition: k.partition,
        keyString: encodeKeyString(k.keyBytes),
        method: "GET",
      }),
    );
  }

  batchGet(resource: string, ids: readonly number[]): Promise<VeniceServerResponse> {
    return this.#call(
      READ_SERVICE_PATHS.batchGet,
      encodeClientRequest({
        resourceName: resource,
        keyBytes: encodeMultiGetRequestKeys(ids.map((i, keyIndex) => {
          const k = key(i);
          return { keyIndex, keyBytes: k.keyBytes, partitionId: k.partition };
        })),
        isBatchRequest: true,
        method: "POST",
      }),
    );
  }

  [Symbol.dispose](): void {
    this.#client.close();
  }
}

function connections(address: string, n = CONNECTIONS): Connection[] & Disposable {
  const list = Array.from({ length: n }, () => new Connection(address));
  return Object.assign(list, {
    [Symbol.dispose]: () => list.forEach((c) => c[Symbol.dispose]()),
  });
}

interface WorkerStatus {
  index: number;
  requests: number;
}

async function adminJson(port: number, path: string) {
  return await (await fetch(`http://127.0.0.1:${port}${path}`)).json();
}

async function workerStatus(adminPort: number): Promise<WorkerStatus[]> {
  return (await adminJson(adminPort, "/status")).grpc.workers;
}

/** The value of one series in a /metrics text. */
function seriesValue(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  assert.ok(line, `no series ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

async function metricValue(adminPort: number, series: string): Promise<number> {
  return seriesValue(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text(), series);
}

async function withDataDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-workers-" });
  try {
    await fn(dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("two workers answer gets and batch gets over many connections, spread over both, and /metrics adds them up", async () => {
  await withDataDir(async (dataDir) => {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, RECORDS));
    await using s = await startTestServer(dataDir, TWO_WORKERS);
    const adminPort = s.server.adminPort;
    using conns = connections(s.address);
    const GETS_EACH = 10;
    const ids = Array.from({ length: 25 }, (_, i) => i * 2); // 0..48: 20 found, 5 missing
    await Promise.all(conns.map(async (c, n) => {
      for (let j = 0; j < GETS_EACH; j++) {
        const i = (n * GETS_EACH + j) % RECORDS;
        const r = await c.get("people_v1", i);
        assert.equal(r.errorCode, Status.OK);
        assert.deepEqual(new Uint8Array(r.data), personBytes(i));
      }
      const b = await c.batchGet("people_v1", ids);
      assert.equal(b.errorCode, Status.OK);
      assert.equal(b.responseRCU, ids.length);
    }));

    const workers = await workerStatus(adminPort);
    assert.equal(workers.length, 2);
    const total = CONNECTIONS * (GETS_EACH + 1);
    assert.equal(workers.reduce((sum, w) => sum + w.requests, 0), total);
    for (const w of workers) assert.ok(w.requests > 0, `worker ${w.index} took no request`);

    const gets = CONNECTIONS * GETS_EACH;
    assert.equal(await metricValue(adminPort, 'rialto_success_request_total{store="total"}'), gets);
    assert.equal(
      await metricValue(adminPort, 'rialto_multiget_success_request_total{store="people"}'),
      CONNECTIONS,
    );
    assert.equal(
      await metricValue(adminPort, 'rialto_multiget_key_not_found_total{store="total"}'),
      CONNECTIONS * 5,
    );
    assert.equal(
      await metricValue(adminPort, 'rialto_success_request_latency_seconds_count{store="people"}'),
      gets,
    );
    const perWorker = await Promise.all(
      workers.map((w) =>
        metricValue(adminPort, `rialto_worker_requests_total{worker="${w.index}"}`)
      ),
    );
    assert.equal(perWorker.reduce((a, b) => a + b, 0), total);

    // Every isolate's heap and ArrayBuffer memory, and their sum, from one rendering.
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const value = (series: string) => seriesValue(text, series);
    for (
      const family of ["rialto_isolate_heap_used_bytes", "rialto_isolate_external_memory_bytes"]
    ) {
      const isolates = ["main", ...workers.map((w) => `worker-${w.index}`)].map((isolate) =>
        value(`${family}{isolate="${isolate}"}`)
      );
      for (const bytes of isolates) assert.ok(bytes > 0, `${family}: ${isolates}`);
      assert.equal(value(`${family}{isolate="total"}`), isolates.reduce((a, b) => a + b, 0));
    }
  });
});

Deno.test("two workers serve a new version, and a removed one retires under load with no failed read", async () => {
  await withDataDir(async (dataDir) => {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, RECORDS));
    await using s = await startTestServer(dataDir, TWO_WORKERS, { scanIntervalMs: 100 });
    using conns = connections(s.address);
    await makeStore(dataDir, peopleStore("people", 2, PARTITIONS, RECORDS));
    await waitFor(
      "people_v2 to be served",
      () => s.server.registry.lookup("people_v2") !== undefined,
    );
    // Installed in every worker before the registry returns it: every connection reads it.
    const firsts = await Promise.all(conns.map((c, n) => c.get("people_v2", n % RECORDS)));
    for (const r of firsts) assert.equal(r.errorCode, Status.OK);
    const workers = await workerStatus(s.server.adminPort);
    for (const w of workers) assert.ok(w.requests > 0, `worker ${w.index} took no request`);

    const v1 = s.server.registry.lookup("people_v1")!;
    let stop = false;
    let v1Ok = 0;
    let v1Gone = 0;
    let v2Ok = 0;
    const load = Promise.all(conns.map(async (c, n) => {
      for (let j = 0; !stop; j++) {
        const i = (n + j) % RECORDS;
        const [old, current, batch] = await Promise.all([
          c.get("people_v1", i),
          c.get("people_v2", i),
          c.batchGet("people_v1", [i, (i + 1) % RECORDS, (i + 2) % RECORDS]),
        ]);
        for (const r of [old, batch]) {
          if (r.errorCode === Status.OK) v1Ok++;
          else {
            // The only acceptable failure: the version is gone (500 VeniceNoStoreException).
            assert.equal(r.errorCode, Status.INTERNAL_ERROR, r.errorMessage);
            assert.match(
              r.errorMessage,
              /VeniceNoStoreException: Store: people_v1 does not exist\./,
            );
            v1Gone++;
          }
        }
        assert.equal(current.errorCode, Status.OK, current.errorMessage);
        assert.deepEqual(new Uint8Array(current.data), personBytes(i));
        v2Ok++;
      }
    }));
    await new Promise((r) => setTimeout(r, 300));
    await Deno.remove(`${dataDir}/rocksdb/people_v1`, { recursive: true });
    await waitFor("people_v1 to close", () => v1.closed);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    assert.ok(v1Ok > 0 && v1Gone > 0 && v2Ok > 0, `v1 ok ${v1Ok}, gone ${v1Gone}, v2 ok ${v2Ok}`);
    assert.equal(v1.sharedLeases, 0);
    assert.equal(s.server.registry.lookup("people_v1"), undefined);
    const after = await conns[0].get("people_v2", 3);
    assert.equal(after.errorCode, Status.OK);
  });
});

Deno.test("read quota is per server: N tokens admit exactly N reads across both workers", async () => {
  await withDataDir(async (dataDir) => {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, RECORDS));
    // 1 RCU/s over a 60 s interval: a full bucket of 60 tokens, no refill during the test.
    await using s = await startTestServer(dataDir, {
      ...TWO_WORKERS,
      quota: { enforcementIntervalMs: 60_000, bucketMultiplier: 1 },
      stores: { people: { readQuotaRcuPerSecond: 1 } },
    });
    using conns = connections(s.address);
    const PER_CONNECTION = 8; // 128 reads for 60 tokens
    const codes = (await Promise.all(conns.map(async (c, n) => {
      const out: number[] = [];
      for (let j = 0; j < PER_CONNECTION; j++) out.push((await c.get("people_v1", n)).errorCode);
      return out;
    }))).flat();
    assert.equal(codes.filter((c) => c === Status.OK).length, 60);
    assert.equal(codes.filter((c) => c === Status.TOO_MANY_REQUESTS).length, codes.length - 60);
    const workers = await workerStatus(s.server.adminPort);
    for (const w of workers) assert.ok(w.requests > 0, `worker ${w.index} took no request`);
    assert.equal(
      await metricValue(
        s.server.adminPort,
        'rialto_quota_rejected_request_total{store="people"}',
      ),
      codes.length - 60,
    );
  });
});

Deno.test("close() drains both workers and closes every database", async () => {
  await withDataDir(async (dataDir) => {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, RECORDS));
    const s = await startTestServer(dataDir, TWO_WORKERS);
    const version = s.server.registry.lookup("people_v1")!;
    using conns = connections(s.address, 4);
    const inFlight = Promise.all(conns.map((c, n) => c.get("people_v1", n)));
    const answers = await inFlight;
    for (const r of answers) assert.equal(r.errorCode, Status.OK);
    await s[Symbol.asyncDispose]();
    assert.ok(version.closed);
    await assert.rejects(() => conns[0].get("people_v1", 1));
  });
});

Deno.test("rialto serve --workers 2 serves and exits 0 on SIGTERM", async () => {
  await withDataDir(async (dataDir) => {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, RECORDS));
    await using serve = await startServe([
      "--data-dir",
      dataDir,
      "--grpc-port",
      "0",
      "--admin-port",
      "0",
      "--transport",
      "native",
      "--workers",
      "2",
    ]);
    using conns = connections(serve.address, 8);
    const answers = await Promise.all(conns.map((c, n) => c.get("people_v1", n)));
    for (const r of answers) assert.equal(r.errorCode, Status.OK);
    const workers = await workerStatus(serve.adminPort);
    assert.equal(workers.length, 2);
    const result = await serve.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Stopped/);
  });
});
