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
import { bigValue } from "./support/read_fixture.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
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

async function withLiveVersion(
  run: (venice: VeniceWriter, rialto: TestServer, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    using venice = VeniceWriter.subscribe(`${root}/data`, RESOURCE, 2);
    await using rialto = await startTestServer(`${root}/data`, {
      storage: { openMode: "secondary", secondaryDir: `${root}/secondary`, catchUpIntervalMs: 50 },
    }, { scanIntervalMs: 50 });
    await run(venice, rialto, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a version is not served before VERSION_METADATA, then serves chunked, compressed values as written", async () => {
  await withLiveVersion(async (venice, rialto) => {
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
    venice.flush(1);

    await waitFor("the version to be served", async () => (await notServed(rialto)) === undefined);
    await waitFor(
      "the secondary to see the flushed value",
      async () => (await get()).errorCode === Status.OK,
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
    venice.flush(0);
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
    venice.flush(0);
    venice.flush(1);
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
    await waitFor("partition 1 to be dropped", async () => {
      const r = await rialto.client.get(RESOURCE, 1, encoder.encode("k"));
      return r.errorCode !== Status.OK;
    });
    const r = await rialto.client.get(RESOURCE, 1, encoder.encode("k"));
    assert.equal(r.errorCode, Status.INTERNAL_ERROR);
    assert.equal(
      r.errorMessage,
      `Internal Error: com.linkedin.venice.exceptions.PersistenceFailureException: Partition: 1 of store: ${RESOURCE} does not exist`,
    );
  });
});
