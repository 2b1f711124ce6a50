/**
 * A Venice server's life on real RocksDB files, with Rialto following as a secondary:
 * partition directories first, then VERSION_METADATA, then data (chunked, compressed),
 * then end of push. Rialto must never answer for a version whose settings it does not
 * know, and must answer as the Java server does once it does.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { RocksDB } from "../ffi/mod.ts";
import { partitionDir } from "../src/storage/layout.ts";
import { CHUNK_SCHEMA_ID, chunkedStoreEntries, withSchemaHeader } from "../src/venice/chunking.ts";
import { CompressionStrategy } from "../src/venice/compression.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import { METADATA_PARTITION_ID } from "../src/venice/version_metadata.ts";
import { bigValue, personKey } from "./support/read_fixture.ts";
import { makeStore, peopleStore } from "./support/stores.ts";
import { resolve } from "../src/discovery/mod.ts";
import { startTestServer, testConfig, type TestServer } from "./support/server.ts";
import { VeniceWriter } from "./support/venice_writer.ts";
import { waitFor } from "./support/wait.ts";

const RESOURCE = "life_v1";
const encoder = new TextEncoder();

interface NotServed {
  resource: string;
  state: string;
  reason: string;
  attempts: number;
}

async function notServed(rialto: TestServer): Promise<NotServed | undefined> {
  const status = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/status`)).json();
  return status.storage.notServed.find((v: NotServed) => v.resource === RESOURCE);
}

interface PartitionStatus {
  partition: number;
  state: string;
  endOfPush: boolean | null;
  stalenessMs: number | null;
}

async function partitionStates(rialto: TestServer): Promise<PartitionStatus[]> {
  const status = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/status`)).json();
  const store = status.stores.find((s: { name: string }) => s.name === "life");
  return store?.versions[0]?.partitionStates ?? [];
}

/** The config patch these tests serve with: secondary mode, fast rechecks. */
function lifeConfig(root: string, storage: Record<string, unknown> = {}) {
  return {
    storage: {
      openMode: "secondary",
      secondaryDir: `${root}/secondary`,
      catchUpIntervalMs: 50,
      ...storage,
    },
    discovery: { mode: "store" },
  };
}

/** The partitions of life_v1 that discovery announces, or null when none. */
async function announced(root: string): Promise<readonly number[] | null> {
  const endpoints = await resolve(testConfig(`${root}/data`, lifeConfig(root)), "life");
  return endpoints[0]?.versions[RESOURCE] ?? null;
}

async function withLiveVersion(
  run: (venice: VeniceWriter, rialto: TestServer, root: string) => Promise<void>,
  storage: Record<string, unknown> = {},
): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    using venice = VeniceWriter.subscribe(`${root}/data`, RESOURCE, 2);
    await using rialto = await startTestServer(`${root}/data`, lifeConfig(root, storage), {
      scanIntervalMs: 50,
    });
    await run(venice, rialto, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a version is not served before VERSION_METADATA nor a partition before its end of push; then chunked, compressed values as written", async () => {
  await withLiveVersion(async (venice, rialto, root) => {
    const key = encoder.encode("big");
    const get = () => rialto.client.get(RESOURCE, 1, key);

    const before = await get();
    assert.notEqual(before.errorCode, Status.OK);
    const waiting = await notServed(rialto);
    assert.equal(waiting?.state, "waiting");
    assert.match(waiting!.reason, /Waiting for VERSION_METADATA/);

    venice.startOfPush({ chunked: true, compressionStrategy: CompressionStrategy.GZIP });
    const payload = new Uint8Array(gzipSync(bigValue(300_000, 7), { level: 0 }));
    venice.put(1, key, payload, 3, 64 * 1024);
    venice.checkpoint(1, { endOfPush: false });

    // Settings known, push not ended: open, not answered for, not announced.
    await waitFor("the version to open", async () => (await notServed(rialto)) === undefined);
    await waitFor(
      "partition 1's checkpoint",
      async () => (await partitionStates(rialto))[1]?.endOfPush === false,
    );
    const during = await get();
    assert.equal(during.errorCode, Status.SERVICE_UNAVAILABLE);
    assert.equal(
      during.errorMessage,
      `Partition: 1 of store: ${RESOURCE} is not served: its push has not ended on this server`,
    );
    assert.equal(await announced(root), null);
    assert.deepEqual((await partitionStates(rialto)).map((p) => p.state), [
      "bootstrapping",
      "bootstrapping",
    ]);

    venice.checkpoint(0, { endOfPush: true });
    venice.checkpoint(1, { endOfPush: true });
    await waitFor(
      "the secondary to see the end of push",
      async () => (await get()).errorCode === Status.OK,
    );
    await waitFor(
      "both partitions announced",
      async () => JSON.stringify(await announced(root)) === "[0,1]",
    );
    const r = await get();
    assert.equal(r.schemaId, 3);
    assert.equal(r.compressionStrategy, CompressionStrategy.GZIP);
    assert.deepEqual(new Uint8Array(r.data), payload);
  });
});

Deno.test("schema ids as ChunkingUtils reads them: a manifest is assembled in a version not chunked; 0 and -10 are invalid", async () => {
  await withLiveVersion(async (venice, rialto) => {
    venice.startOfPush({ chunked: false });
    const payload = bigValue(5000, 3);
    const { entries } = chunkedStoreEntries(encoder.encode("m"), payload, 4, {
      maxSizeForUserPayloadPerMessageInBytes: 1024,
    });
    const manifest = entries.pop()!;
    for (const chunk of entries) venice.putRaw(0, chunk.key, chunk.value);
    venice.putRaw(0, encoder.encode("m"), manifest.value);
    venice.putRaw(0, encoder.encode("zero"), withSchemaHeader(0, payload));
    venice.putRaw(0, encoder.encode("chunk"), withSchemaHeader(CHUNK_SCHEMA_ID, payload));
    venice.checkpoint(0, { endOfPush: true });
    const get = (key: string) => rialto.client.get(RESOURCE, 0, encoder.encode(key));
    await waitFor("the flushed values", async () => (await get("m")).errorCode === Status.OK);

    const m = await get("m");
    assert.equal(m.schemaId, 4);
    assert.deepEqual(new Uint8Array(m.data), payload);
    for (const [key, id] of [["zero", 0], ["chunk", CHUNK_SCHEMA_ID]] as const) {
      const r = await get(key);
      assert.equal(r.errorCode, Status.INTERNAL_ERROR);
      assert.equal(
        r.errorMessage,
        `Internal Error: com.linkedin.venice.exceptions.VeniceException: Found a record with invalid schema ID: ${id}`,
      );
      const batch = await rialto.client.batchGet(RESOURCE, [
        { keyBytes: encoder.encode("m"), partition: 0 },
        { keyBytes: encoder.encode(key), partition: 0 },
      ]);
      assert.equal(batch.errorCode, Status.INTERNAL_ERROR);
      assert.equal(batch.errorMessage, r.errorMessage);
    }
  });
});

Deno.test("a partition replaced in place is reopened without failing a read; a dropped one answers as Venice's", async () => {
  await withLiveVersion(async (venice, rialto, root) => {
    venice.startOfPush();
    venice.put(0, encoder.encode("k"), encoder.encode("before"));
    venice.put(1, encoder.encode("k"), encoder.encode("other"));
    venice.checkpoint(0, { endOfPush: true });
    venice.checkpoint(1, { endOfPush: true });
    const get = () => rialto.client.get(RESOURCE, 0, encoder.encode("k"));
    await waitFor("the first value", async () => (await get()).errorCode === Status.OK);

    // A blob transfer: a full copy is written aside, then renamed over the partition.
    const target = partitionDir(`${root}/data`, RESOURCE, 0);
    const temp = `${root}/data/rocksdb/${RESOURCE}/temp_transferred_${RESOURCE}_0`;
    {
      using copy = RocksDB.open(temp, { mode: "read-write", createIfMissing: true });
      copy.put(encoder.encode("k"), withSchemaHeader(1, encoder.encode("after")));
      copy.flush();
    }
    let reading = true;
    const seen = new Set<string>();
    const reads = (async () => {
      while (reading) {
        const r = await get();
        assert.equal(r.errorCode, Status.OK, r.errorMessage);
        seen.add(new TextDecoder().decode(r.data));
      }
    })();
    await Deno.rename(target, `${target}.old`);
    await Deno.rename(temp, target);
    await waitFor("the replaced partition to be served", () => seen.has("after"));
    reading = false;
    await reads;
    await Deno.remove(`${target}.old`, { recursive: true });

    // Partition 1 goes away (a rebalance drops it): Venice's wording for a dropped one.
    await Deno.remove(partitionDir(`${root}/data`, RESOURCE, 1), { recursive: true });
    // (Until the next scan drops it, its failing catch-ups may answer 503.)
    await waitFor("partition 1 to be dropped", async () => {
      const r = await rialto.client.get(RESOURCE, 1, encoder.encode("k"));
      return r.errorCode === Status.INTERNAL_ERROR;
    });
    const r = await rialto.client.get(RESOURCE, 1, encoder.encode("k"));
    assert.equal(r.errorCode, Status.INTERNAL_ERROR);
    assert.equal(
      r.errorMessage,
      `Internal Error: com.linkedin.venice.exceptions.PersistenceFailureException: Partition: 1 of store: ${RESOURCE} does not exist`,
    );
  });
});

Deno.test("a hybrid partition followed as a secondary: withheld without a bound, served within storage.maxStalenessMs, withdrawn past it, fresh after a checkpoint", async () => {
  await withLiveVersion(async (venice, rialto, root) => {
    const k = encoder.encode("k");
    const text = (data: Uint8Array) => new TextDecoder().decode(data);
    const get = () => rialto.client.get(RESOURCE, 0, k);
    const hybrid = { endOfPush: true, leaderTopic: "life_rt" };
    venice.startOfPush();
    venice.put(0, k, encoder.encode("v1"));
    venice.put(1, k, encoder.encode("p1"));
    venice.checkpoint(0, hybrid);
    venice.checkpoint(1, hybrid);

    // No bound set: a hybrid version is not served.
    await waitFor(
      "the hybrid version to be withheld",
      async () => (await partitionStates(rialto)).every((p) => p.state === "hybrid-without-bound"),
    );
    // (The workers adopt a version just after the main isolate opens it.)
    await waitFor("the workers to answer", async () => (await get()).errorCode !== 500);
    const unbounded = await get();
    assert.equal(unbounded.errorCode, Status.SERVICE_UNAVAILABLE);
    assert.match(unbounded.errorMessage, /it is hybrid and no storage\.maxStalenessMs is set/);
    assert.equal(await announced(root), null);

    const BOUND_MS = 1500;
    await rialto.server.applyConfig(
      testConfig(`${root}/data`, {
        ...lifeConfig(root, { maxStalenessMs: BOUND_MS }),
        admin: { host: "127.0.0.1" },
        grpc: { host: "127.0.0.1" },
      }),
    );
    await waitFor(
      "the bounded hybrid version to be served",
      async () => (await get()).errorCode === Status.OK,
    );
    assert.equal(text((await get()).data), "v1");

    // A write the primary has not flushed (WAL off) is not seen; staleness rises.
    venice.put(0, k, encoder.encode("v2"));
    const first = (await partitionStates(rialto))[0].stalenessMs!;
    await new Promise((r) => setTimeout(r, 300));
    const later = (await partitionStates(rialto))[0].stalenessMs!;
    assert.ok(later > first, `staleness ${first} ms, then ${later} ms`);
    assert.equal(text((await get()).data), "v1");
    const metrics = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/metrics`))
      .text();
    assert.match(
      metrics,
      /rialto_partition_staleness_seconds\{store="life",version="1",partition="0"\} [0-9.]+/,
    );

    // Past the bound: partition 0 is withdrawn; partition 1, checkpointed meanwhile, is not.
    const keepFresh = setInterval(() => venice.checkpoint(1, hybrid), 200);
    try {
      await waitFor(
        "partition 0 to go stale",
        async () => (await partitionStates(rialto))[0].state === "stale",
      );
      const stale = await get();
      assert.equal(stale.errorCode, Status.SERVICE_UNAVAILABLE);
      assert.equal(
        stale.errorMessage,
        `Partition: 0 of store: ${RESOURCE} is not served: its data is older than storage.maxStalenessMs`,
      );
      await waitFor(
        "only partition 1 announced",
        async () => JSON.stringify(await announced(root)) === "[1]",
      );
      const served = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/metrics`))
        .text();
      assert.match(
        served,
        /rialto_partition_served\{store="life",version="1",partition="0",state="stale"\} 0/,
      );
      assert.equal((await rialto.client.get(RESOURCE, 1, k)).errorCode, Status.OK);
    } finally {
      clearInterval(keepFresh);
    }

    // A checkpoint flushes the write and stamps the partition fresh: served again, new value.
    venice.checkpoint(0, hybrid);
    await waitFor("partition 0 fresh again", async () => {
      const r = await get();
      return r.errorCode === Status.OK && text(r.data) === "v2";
    });
    await waitFor(
      "both partitions announced again",
      async () => JSON.stringify(await announced(root)) === "[0,1]",
    );
  });
});

Deno.test("a PlainTable version is refused with its reason, logged once and retried with backoff, not at every scan", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dataDir = `${root}/data`;
    await makeStore(dataDir, peopleStore("plain", 1, 1, 3));
    await makeStore(dataDir, peopleStore("fine", 1, 1, 3));
    const config = `${partitionDir(dataDir, "plain_v1", METADATA_PARTITION_ID)}/rocksdbConfig`;
    await Deno.writeTextFile(
      config,
      "#Tue Dec 01 10:00:00 UTC 2026\nrocksdb.plain.table.format.enabled=true\n",
    );
    await using rialto = await startTestServer(dataDir, {}, { scanIntervalMs: 50 });
    const status = async () =>
      (await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/status`)).json()).storage
        .notServed.find((v: NotServed) => v.resource === "plain_v1");
    const first = await status();
    assert.equal(first.state, "failed");
    assert.match(
      first.reason,
      /says the version was written in RocksDB's PlainTable format \(rocksdb\.plain\.table\.format\.enabled=true\)/,
    );
    // About 30 scans in 1.5 s; the backoff (1 s, then 2 s) allows 2 attempts.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await status();
    assert.ok(later.attempts >= 2 && later.attempts <= 3, `${later.attempts} attempts`);
    assert.equal(later.reason, first.reason);
    const r = await rialto.client.get(
      "fine_v1",
      personKey(1, 1).partition,
      personKey(1, 1).keyBytes,
    );
    assert.equal(r.errorCode, Status.OK, "the other versions keep serving");

    // Fixed by the operator: served at the next attempt.
    await Deno.writeTextFile(config, "rocksdb.plain.table.format.enabled=false\n");
    await waitFor(
      "the fixed version to be served",
      async () => (await status()) === undefined,
      5000,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
