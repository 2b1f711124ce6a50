/**
 * `rialto store create|inspect`: versions built from JSONL read back through the server's
 * reader (StoreVersion), raw RocksDB, and RocksDB's own `ldb`, in Venice's layout.
 */
import assert from "node:assert/strict";
import avro from "avsc";
import { Buffer } from "node:buffer";
import { BlockCache, RocksDB } from "../ffi/mod.ts";
import { discoverVersions, partitionDir, versionDir } from "../src/storage/layout.ts";
import { StoreVersion } from "../src/storage/store_version.ts";
import { CorruptValueError } from "../src/storage/errors.ts";
import {
  CHUNK_SCHEMA_ID,
  CHUNKED_VALUE_MANIFEST_SCHEMA_ID,
  decodeChunkedKeySuffix,
  decodeChunkedValueManifest,
  encodeChunkedValueManifest,
  keyWithChunkSuffix,
  withSchemaHeader,
} from "../src/venice/chunking.ts";
import { createCompressor } from "../src/venice/compression.ts";
import { defaultVenicePartition } from "../src/venice/partitioner.ts";
import {
  decodeStoreVersionState,
  METADATA_PARTITION_ID,
  VERSION_METADATA_KEY,
} from "../src/venice/version_metadata.ts";
import { decodePartitionState } from "../src/venice/partition_state.ts";
import { readVersionDescriptor } from "../src/tools/version_descriptor.ts";
import { syntheticDictionary } from "../src/tools/dictionary.ts";
import { DuplicateKeyError, InputLineError, StoreToolError } from "../src/tools/errors.ts";
import { readLines } from "../src/tools/jsonl.ts";
import { createStoreVersion } from "../src/tools/store_create.ts";
import { dumpStoreVersion, listStoreVersions, lookupKey } from "../src/tools/store_inspect.ts";
import { main as storeMain } from "../src/cli/store.ts";
import {
  BYTES_VALUE_SCHEMA,
  bytesJson,
  makeStore,
  MEMBER_KEY_SCHEMA,
  people,
  PERSON_VALUE_SCHEMA,
  STRING_KEY_SCHEMA,
} from "./support/stores.ts";
import { runRialto } from "./support/serve_process.ts";

const TESTDATA = new URL("./testdata/", import.meta.url).pathname;
const keyType = avro.Type.forSchema(STRING_KEY_SCHEMA);
const personType = avro.Type.forSchema(PERSON_VALUE_SCHEMA as unknown as avro.Schema);

function avroBytes(type: avro.Type, json: unknown): Uint8Array {
  const b = type.toBuffer(type.fromString(JSON.stringify(json)));
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function fromAvro(type: avro.Type, bytes: Uint8Array): unknown {
  return JSON.parse(type.toString(type.fromBuffer(Buffer.from(bytes))));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

function schemaIdOf(stored: Uint8Array): number {
  return new DataView(stored.buffer, stored.byteOffset, 4).getInt32(0);
}

async function withDataDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-store-test-" });
  try {
    await fn(dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Opens `<store>_v<version>` with the server's reader; closes it after `fn`. */
async function withVersion(
  dataDir: string,
  resource: string,
  fn: (version: StoreVersion) => void | Promise<void>,
): Promise<void> {
  const onDisk = (await discoverVersions(dataDir)).find((v) => v.resource === resource);
  assert.ok(onDisk, `${resource} is discovered`);
  const cache = new BlockCache(4 * 1024 * 1024);
  const version = StoreVersion.open(onDisk, {
    dataDir,
    mode: "read-only",
    secondaryDir: null,
    blockCache: cache,
  });
  try {
    await fn(version);
  } finally {
    await version.retire();
    cache.close();
  }
}

async function listNames(path: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Nothing of `resource` left behind: no version dir, no temp dir, no descriptor. */
async function assertNothingWritten(dataDir: string, resource: string): Promise<void> {
  const rocksdb = await listNames(`${dataDir}/rocksdb`);
  assert.deepEqual(rocksdb.filter((n) => n.includes(resource)), [], `rocksdb/ has ${rocksdb}`);
  const schemas = await listNames(`${dataDir}/schemas`);
  assert.deepEqual(schemas.filter((n) => n.includes(resource)), [], `schemas/ has ${schemas}`);
}

async function writeInput(dataDir: string, lines: string[]): Promise<string> {
  const path = `${dataDir}/input.jsonl`;
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

const personLine = (key: string, age: number) =>
  JSON.stringify({ key, value: { name: key, age, email: null } });

async function createPeople(dataDir: string, input: string, extra: Record<string, unknown> = {}) {
  return await createStoreVersion({
    dataDir,
    store: "people",
    version: 1,
    partitions: 3,
    keySchema: JSON.stringify(STRING_KEY_SCHEMA),
    valueSchema: JSON.stringify(PERSON_VALUE_SCHEMA),
    input,
    ...extra,
  });
}

// ---- Layout and the server's reader ---------------------------------------------------------

Deno.test("a created version reads back through StoreVersion, partitioned as Venice does", async () => {
  await withDataDir(async (dataDir) => {
    const records = people(60);
    const created = await makeStore(dataDir, {
      store: "people",
      version: 3,
      partitions: 4,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      valueSchemaId: 7,
      records,
    });
    assert.equal(created.resource, "people_v3");
    assert.equal(created.records, 60);
    assert.equal(created.recordsPerPartition.reduce((a, b) => a + b, 0), 60);

    const [onDisk] = await discoverVersions(dataDir);
    assert.deepEqual(onDisk.partitions, [0, 1, 2, 3]);
    assert.equal(onDisk.hasMetadataPartition, true);

    const perPartition = [0, 0, 0, 0];
    await withVersion(dataDir, "people_v3", (version) => {
      assert.equal(version.settings.compressionStrategy, 0);
      assert.equal(version.settings.chunked, false);
      for (const record of records) {
        const key = avroBytes(keyType, record.key);
        const partition = defaultVenicePartition(key, 4);
        perPartition[partition]++;
        const stored = version.get(partition, key);
        assert.ok(stored, `${record.key} is in partition ${partition}`);
        assert.equal(schemaIdOf(stored), 7);
        assert.deepEqual(stored.subarray(4), avroBytes(personType, record.value));
        for (let other = 0; other < 4; other++) {
          if (other !== partition) assert.equal(version.get(other, key), null);
        }
      }
      assert.equal(version.get(0, avroBytes(keyType, "nobody")), null);
    });
    assert.deepEqual([...created.recordsPerPartition], perPartition);
    assert.ok(perPartition.every((n) => n > 0), `60 keys reach all 4 partitions: ${perPartition}`);
  });
});

Deno.test("every partition gets a database, even an empty one", async () => {
  await withDataDir(async (dataDir) => {
    await makeStore(dataDir, {
      store: "tiny",
      version: 1,
      partitions: 8,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      records: people(1),
    });
    const names = await listNames(versionDir(dataDir, "tiny_v1"));
    assert.deepEqual(
      names,
      [...Array.from({ length: 8 }, (_, p) => `tiny_v1_${p}`), "tiny_v1_1000000000"].sort(),
    );
    for (let p = 0; p < 8; p++) {
      const dir = partitionDir(dataDir, "tiny_v1", p);
      using db = RocksDB.open(dir);
      assert.equal(
        [...db.iterate()].length,
        p === defaultVenicePartition(avroBytes(keyType, "person-0"), 8) ? 1 : 0,
      );
      // Written with a Venice server's data block size (16 KiB), not RocksDB's 4 KiB.
      const options = (await listNames(dir)).find((name) => name.startsWith("OPTIONS-"));
      const text = await Deno.readTextFile(`${dir}/${options}`);
      assert.match(text, /^\s*block_size=16384$/m, dir);
    }
  });
});

Deno.test("record keys are Avro-encoded with the key schema", async () => {
  await withDataDir(async (dataDir) => {
    const memberKeyType = avro.Type.forSchema(MEMBER_KEY_SCHEMA as unknown as avro.Schema);
    const records = [
      { key: { memberId: 42, region: "emea" }, value: people(1)[0].value },
      { key: { memberId: -7, region: "amer" }, value: people(2)[1].value },
    ];
    await makeStore(dataDir, {
      store: "members",
      version: 1,
      partitions: 2,
      keySchema: MEMBER_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      records,
    });
    await withVersion(dataDir, "members_v1", (version) => {
      for (const record of records) {
        const key = avroBytes(memberKeyType, record.key);
        assert.deepEqual(key.subarray(0, 1), Uint8Array.of(record.key.memberId === 42 ? 84 : 13));
        const stored = version.get(defaultVenicePartition(key, 2), key);
        assert.ok(stored);
        assert.deepEqual(fromAvro(personType, stored.subarray(4)), record.value);
      }
    });
  });
});

Deno.test("the version metadata is a StoreVersionState under VERSION_METADATA and each partition's ended push under P_<p>", async () => {
  await withDataDir(async (dataDir) => {
    const before = Date.now();
    await makeStore(dataDir, {
      store: "meta",
      version: 2,
      partitions: 2,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      records: people(30),
      compression: "ZSTD_WITH_DICT",
      chunked: true,
    });
    const path = partitionDir(dataDir, "meta_v2", METADATA_PARTITION_ID);
    using db = RocksDB.open(path);
    const entries = [...db.iterate()];
    const keys = entries.map(([key]) => new TextDecoder().decode(key));
    assert.deepEqual(keys, ["P_0", "P_1", "VERSION_METADATA"]);
    for (const [, value] of entries.slice(0, 2)) {
      assert.deepEqual(value.subarray(0, 2), Uint8Array.of(24, 24), "magic byte, protocol v24");
      const partitionState = decodePartitionState(value);
      assert.equal(partitionState.endOfPush, true);
      assert.ok(partitionState.lastCheckpointTimestamp >= before);
    }
    const metadata = entries[2][1];
    assert.deepEqual(metadata.subarray(0, 2), Uint8Array.of(25, 7), "magic byte, protocol v7");
    const state = decodeStoreVersionState(metadata);
    assert.equal(state.chunked, true);
    assert.equal(state.compressionStrategy, 3);
    assert.ok(state.compressionDictionary && state.compressionDictionary.length > 0);
    assert.ok(state.startOfPushTimestamp >= before);
    assert.ok(state.endOfPushTimestamp >= state.startOfPushTimestamp);
    assert.equal(
      await Deno.readTextFile(`${path}/rocksdbConfig`),
      "rocksdb.plain.table.format.enabled=false\n",
    );
  });
});

// ---- Compression ----------------------------------------------------------------------------

for (const strategy of ["NO_OP", "GZIP", "ZSTD", "ZSTD_WITH_DICT"] as const) {
  Deno.test(`${strategy} values decompress and decode back to the input`, async () => {
    await withDataDir(async (dataDir) => {
      const records = people(40);
      await makeStore(dataDir, {
        store: "comp",
        version: 1,
        partitions: 2,
        keySchema: STRING_KEY_SCHEMA,
        valueSchema: PERSON_VALUE_SCHEMA,
        records,
        compression: strategy,
        allowPlainZstd: strategy === "ZSTD",
      });
      const id = { NO_OP: 0, GZIP: 1, ZSTD: 2, ZSTD_WITH_DICT: 3 }[strategy];
      await withVersion(dataDir, "comp_v1", (version) => {
        const settings = version.settings;
        assert.equal(settings.compressionStrategy, id);
        assert.equal(settings.compressionDictionary !== null, strategy === "ZSTD_WITH_DICT");
        const compressor = createCompressor(id, { dictionary: settings.compressionDictionary });
        try {
          for (const record of records) {
            const key = avroBytes(keyType, record.key);
            const stored = version.get(defaultVenicePartition(key, 2), key)!;
            assert.equal(schemaIdOf(stored), 1);
            const payload = stored.subarray(4);
            const plain = avroBytes(personType, record.value);
            if (strategy === "NO_OP") assert.deepEqual(payload, plain);
            if (strategy === "GZIP") {
              assert.deepEqual(payload.subarray(0, 3), Uint8Array.of(0x1f, 0x8b, 8));
            }
            if (strategy.startsWith("ZSTD")) {
              assert.deepEqual(payload.subarray(0, 4), Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd));
            }
            assert.deepEqual(fromAvro(personType, compressor.decompress(payload)), record.value);
          }
        } finally {
          compressor.close();
        }
        if (strategy === "ZSTD_WITH_DICT") {
          // The values need the dictionary: plain zstd can not read them.
          const plainZstd = createCompressor(2);
          const key = avroBytes(keyType, records[0].key);
          const stored = version.get(defaultVenicePartition(key, 2), key)!;
          assert.throws(() => plainZstd.decompress(stored.subarray(4)));
        }
      });
    });
  });
}

Deno.test("ZSTD_WITH_DICT with fewer than 20 values uses Venice's synthetic dictionary", async () => {
  await withDataDir(async (dataDir) => {
    const records = people(5);
    await makeStore(dataDir, {
      store: "few",
      version: 1,
      partitions: 1,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      records,
      compression: "ZSTD_WITH_DICT",
    });
    await withVersion(dataDir, "few_v1", (version) => {
      assert.deepEqual(version.settings.compressionDictionary, syntheticDictionary());
      const compressor = createCompressor(3, {
        dictionary: version.settings.compressionDictionary,
      });
      const key = avroBytes(keyType, records[4].key);
      assert.deepEqual(
        fromAvro(personType, compressor.decompress(version.get(0, key)!.subarray(4))),
        records[4].value,
      );
      compressor.close();
    });
  });
});

// ---- Chunking -------------------------------------------------------------------------------

const GUID = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

Deno.test("chunked versions split large values as VeniceWriter does and reassemble them", async () => {
  await withDataDir(async (dataDir) => {
    const big = randomBytes(3500);
    const small = randomBytes(100);
    const bytesType = avro.Type.forSchema(BYTES_VALUE_SCHEMA);
    await makeStore(dataDir, {
      store: "blobs",
      version: 1,
      partitions: 1,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: BYTES_VALUE_SCHEMA,
      records: [{ key: "big", value: bytesJson(big) }, { key: "small", value: bytesJson(small) }],
      chunked: true,
      maxChunkBytes: 1000,
      producerGUID: GUID,
    });
    const bigKey = avroBytes(keyType, "big");
    const bigPayload = avroBytes(bytesType, bytesJson(big));
    const smallKey = avroBytes(keyType, "small");
    const perChunk = 1000 - bigKey.length;
    const chunkCount = Math.ceil(bigPayload.length / perChunk);
    assert.equal(chunkCount, 4);

    {
      using db = RocksDB.open(partitionDir(dataDir, "blobs_v1", 0));
      // The small value: key ++ 02 00 -> [1][payload].
      assert.deepEqual(
        db.get(Uint8Array.of(...smallKey, 2, 0)),
        withSchemaHeader(1, avroBytes(bytesType, bytesJson(small))),
      );
      // The big one: a manifest under key ++ 02 00, chunks under key ++ ChunkedKeySuffix.
      const manifestValue = db.get(Uint8Array.of(...bigKey, 2, 0))!;
      assert.equal(schemaIdOf(manifestValue), CHUNKED_VALUE_MANIFEST_SCHEMA_ID);
      const manifest = decodeChunkedValueManifest(manifestValue.subarray(4));
      assert.equal(manifest.schemaId, 1);
      assert.equal(manifest.size, bigPayload.length);
      assert.equal(manifest.keysWithChunkIdSuffix.length, chunkCount);
      const suffix = decodeChunkedKeySuffix(manifest.keysWithChunkIdSuffix[0], bigKey.length);
      const sequence = suffix.chunkId!.messageSequenceNumber;
      const expectedKeys = Array.from({ length: chunkCount }, (_, i) =>
        keyWithChunkSuffix(bigKey, {
          producerGUID: GUID,
          segmentNumber: 0,
          messageSequenceNumber: sequence,
          chunkIndex: i,
        }));
      assert.deepEqual(
        manifestValue.subarray(4),
        encodeChunkedValueManifest({
          keysWithChunkIdSuffix: expectedKeys,
          schemaId: 1,
          size: bigPayload.length,
        }),
      );
      const assembled: Uint8Array[] = [];
      expectedKeys.forEach((key, i) => {
        const chunk = db.get(key)!;
        assert.equal(schemaIdOf(chunk), CHUNK_SCHEMA_ID);
        assert.equal(
          chunk.length - 4,
          i < chunkCount - 1 ? perChunk : bigPayload.length - perChunk * 3,
        );
        assembled.push(chunk.slice(4));
      });
      assert.deepEqual(new Uint8Array(Buffer.concat(assembled)), bigPayload);
      assert.equal([...db.iterate()].length, 2 + chunkCount);
    }

    await withVersion(dataDir, "blobs_v1", (version) => {
      assert.equal(version.settings.chunked, true);
      assert.deepEqual(version.get(0, bigKey), withSchemaHeader(1, bigPayload));
      assert.deepEqual(
        version.get(0, smallKey)!.subarray(4),
        avroBytes(bytesType, bytesJson(small)),
      );
    });
  });
});

Deno.test("chunking applies to the compressed value", async () => {
  await withDataDir(async (dataDir) => {
    // 5000 zero bytes gzip to a few dozen bytes: no chunks despite a 1000-byte limit.
    const created = await makeStore(dataDir, {
      store: "squeezed",
      version: 1,
      partitions: 1,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: BYTES_VALUE_SCHEMA,
      records: [{ key: "zeros", value: bytesJson(new Uint8Array(5000)) }],
      compression: "GZIP",
      chunked: true,
      maxChunkBytes: 1000,
    });
    assert.equal(created.chunkedRecords, 0);
    using db = RocksDB.open(partitionDir(dataDir, "squeezed_v1", 0));
    assert.equal([...db.iterate()].length, 1);
  });
});

async function corruptChunkedStore(
  dataDir: string,
  corrupt: (db: RocksDB, topLevelKey: Uint8Array, manifestValue: Uint8Array) => void,
): Promise<Uint8Array> {
  await makeStore(dataDir, {
    store: "broken",
    version: 1,
    partitions: 1,
    keySchema: STRING_KEY_SCHEMA,
    valueSchema: BYTES_VALUE_SCHEMA,
    records: [{ key: "big", value: bytesJson(randomBytes(3000)) }],
    chunked: true,
    maxChunkBytes: 1000,
  });
  const key = avroBytes(keyType, "big");
  const topLevelKey = Uint8Array.of(...key, 2, 0);
  const db = RocksDB.open(partitionDir(dataDir, "broken_v1", 0), { mode: "read-write" });
  try {
    corrupt(db, topLevelKey, db.get(topLevelKey)!.slice());
    db.flush();
  } finally {
    db.close();
  }
  return key;
}

Deno.test("a missing chunk is a CorruptValueError from the reader", async () => {
  await withDataDir(async (dataDir) => {
    const key = await corruptChunkedStore(dataDir, (db, _, manifestValue) => {
      const manifest = decodeChunkedValueManifest(manifestValue.subarray(4));
      db.delete(manifest.keysWithChunkIdSuffix[1]);
    });
    await withVersion(dataDir, "broken_v1", (version) => {
      assert.throws(() => version.get(0, key), CorruptValueError);
    });
  });
});

Deno.test("a manifest whose size does not match its chunks is a CorruptValueError", async () => {
  await withDataDir(async (dataDir) => {
    const key = await corruptChunkedStore(dataDir, (db, topLevelKey, manifestValue) => {
      const manifest = decodeChunkedValueManifest(manifestValue.subarray(4));
      db.put(
        topLevelKey,
        withSchemaHeader(
          CHUNKED_VALUE_MANIFEST_SCHEMA_ID,
          encodeChunkedValueManifest({ ...manifest, size: manifest.size + 1 }),
        ),
      );
    });
    await withVersion(dataDir, "broken_v1", (version) => {
      assert.throws(() => version.get(0, key), CorruptValueError);
    });
  });
});

// ---- Bad input leaves nothing behind --------------------------------------------------------

Deno.test("a line that is not JSON fails naming the line, leaving nothing behind", async () => {
  await withDataDir(async (dataDir) => {
    const input = await writeInput(dataDir, [personLine("a", 1), personLine("b", 2), "{oops"]);
    await assert.rejects(createPeople(dataDir, input), (error: unknown) => {
      assert.ok(error instanceof InputLineError);
      assert.equal(error.line, 3);
      assert.match(error.message, /^Line 3: not valid JSON/);
      return true;
    });
    await assertNothingWritten(dataDir, "people_v1");
  });
});

Deno.test("a value that does not match the schema fails naming the line and field", async () => {
  await withDataDir(async (dataDir) => {
    const input = await writeInput(dataDir, [
      personLine("a", 1),
      JSON.stringify({ key: "b", value: { name: "b", age: "old" } }),
    ]);
    await assert.rejects(
      createPeople(dataDir, input),
      /^.*Line 2: value does not match the value schema: .*int/,
    );
    await assertNothingWritten(dataDir, "people_v1");
  });
});

Deno.test("a key that does not match the key schema, or a bare union, fails naming the line", async () => {
  await withDataDir(async (dataDir) => {
    let input = await writeInput(dataDir, [
      JSON.stringify({ key: 5, value: { name: "b", age: 1 } }),
    ]);
    await assert.rejects(createPeople(dataDir, input), /Line 1: key does not match the key schema/);
    input = await writeInput(dataDir, [
      personLine("a", 1),
      JSON.stringify({ key: "b", value: { name: "b", age: 1, email: "b@x" } }),
    ]);
    await assert.rejects(createPeople(dataDir, input), /Line 2: value does not match/);
    await assertNothingWritten(dataDir, "people_v1");
  });
});

Deno.test("a duplicate key fails naming both lines", async () => {
  await withDataDir(async (dataDir) => {
    const input = await writeInput(dataDir, [
      personLine("a", 1),
      personLine("b", 2),
      "",
      personLine("c", 3),
      personLine("b", 4),
    ]);
    await assert.rejects(createPeople(dataDir, input), (error: unknown) => {
      assert.ok(error instanceof DuplicateKeyError);
      assert.equal(error.firstLine, 2);
      assert.equal(error.line, 5);
      assert.equal(error.message, "Line 5: duplicate key: the same key is on line 2");
      return true;
    });
    await assertNothingWritten(dataDir, "people_v1");
  });
});

for (const chunked of [false, true]) {
  Deno.test(`a duplicate of a key written in an earlier batch is found (${chunked ? "chunked" : "plain"})`, async () => {
    await withDataDir(async (dataDir) => {
      // One partition and more lines than a batch holds: the first "k0" is in RocksDB by then.
      const lines = Array.from({ length: 5000 }, (_, i) => personLine(`k${i}`, i));
      lines.push(personLine("k0", 1));
      const input = await writeInput(dataDir, lines);
      await assert.rejects(
        createPeople(dataDir, input, { partitions: 1, chunked }),
        /Line 5001: duplicate key: the same key is on line 1$/,
      );
      await assertNothingWritten(dataDir, "people_v1");
    });
  });
}

Deno.test("a missing input file fails clearly", async () => {
  await withDataDir(async (dataDir) => {
    await assert.rejects(
      createPeople(dataDir, `${dataDir}/nope.jsonl`),
      (error: unknown) => {
        assert.ok(error instanceof StoreToolError);
        assert.match(error.message, /^Cannot read input ".*nope\.jsonl": /);
        return true;
      },
    );
    await assertNothingWritten(dataDir, "people_v1");
  });
});

Deno.test("an existing version is never overwritten", async () => {
  await withDataDir(async (dataDir) => {
    const first = await writeInput(dataDir, [personLine("a", 1)]);
    await createPeople(dataDir, first);
    const second = await writeInput(dataDir, [personLine("z", 9)]);
    await assert.rejects(createPeople(dataDir, second), /Store version "people_v1" already exists/);
    await withVersion(dataDir, "people_v1", (version) => {
      const key = avroBytes(keyType, "a");
      assert.ok(version.get(defaultVenicePartition(key, 3), key), "the first build is intact");
    });
    assert.deepEqual(
      (await listNames(`${dataDir}/rocksdb`)).filter((n) => n.startsWith(".")),
      [],
      "no temp dir",
    );
  });
});

Deno.test("a record over the message limit needs a chunked version", async () => {
  await withDataDir(async (dataDir) => {
    const input = await writeInput(dataDir, [
      personLine("a", 1),
      JSON.stringify({ key: "b", value: { name: "x".repeat(2000), age: 1 } }),
    ]);
    await assert.rejects(
      createPeople(dataDir, input, { maxChunkBytes: 1000 }),
      /Line 2: record is \d+ bytes .* over the 1000-byte message limit/,
    );
    await assertNothingWritten(dataDir, "people_v1");
  });
});

// ---- Input reading, progress, descriptor ----------------------------------------------------

Deno.test("input lines are numbered across blank lines, CRLF and a missing final newline", async () => {
  await withDataDir(async (dataDir) => {
    const path = `${dataDir}/in.jsonl`;
    await Deno.writeTextFile(path, 'a\r\n\r\n"b"\nlast');
    const lines = await Array.fromAsync(readLines(path));
    assert.deepEqual(lines.map((l) => [l.number, l.text]), [[1, "a"], [2, ""], [3, '"b"'], [
      4,
      "last",
    ]]);
    assert.equal(lines[3].bytesDone, 13);
  });
});

Deno.test("progress reaches the input's size and line count", async () => {
  await withDataDir(async (dataDir) => {
    const lines = Array.from({ length: 3000 }, (_, i) => personLine(`k${i}`, i));
    const input = await writeInput(dataDir, lines);
    const size = (await Deno.stat(input)).size;
    const calls: [number, number, number][] = [];
    await createPeople(dataDir, input, {
      onProgress: (l: number, b: number, t: number) => calls.push([l, b, t]),
    });
    assert.ok(calls.length >= 3, `${calls.length} progress calls`);
    assert.deepEqual(calls.at(-1), [3000, size, size]);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i][1] >= calls[i - 1][1]);
  });
});

Deno.test("the descriptor holds the schemas, partition count and settings", async () => {
  await withDataDir(async (dataDir) => {
    await makeStore(dataDir, {
      store: "described",
      version: 4,
      partitions: 5,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      valueSchemaId: 3,
      records: people(3),
      compression: "GZIP",
      chunked: true,
    });
    const descriptor = await readVersionDescriptor(dataDir, "described_v4");
    assert.deepEqual(descriptor, {
      store: "described",
      version: 4,
      partitionCount: 5,
      keySchema: "string",
      valueSchemas: { "3": PERSON_VALUE_SCHEMA },
      compressionStrategy: "GZIP",
      chunked: true,
    });
    await assert.rejects(
      readVersionDescriptor(dataDir, "described_v5"),
      /No version descriptor for "described_v5"/,
    );
    await Deno.writeTextFile(
      `${dataDir}/schemas/described_v5.json`,
      JSON.stringify({ ...descriptor, partitionCount: 0 }),
    );
    await assert.rejects(
      readVersionDescriptor(dataDir, "described_v5"),
      /malformed: partitionCount/,
    );
  });
});

// ---- Inspect --------------------------------------------------------------------------------

Deno.test("inspect lists versions, dumps records and looks up keys", async () => {
  await withDataDir(async (dataDir) => {
    const records = people(25);
    const bigValue = { name: "B".repeat(3000), age: 99, email: null };
    await makeStore(dataDir, {
      store: "people",
      version: 1,
      partitions: 3,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      records: [...records, { key: "big", value: bigValue }],
      chunked: true,
      maxChunkBytes: 1000,
    });
    await makeStore(dataDir, {
      store: "other",
      version: 2,
      partitions: 1,
      keySchema: STRING_KEY_SCHEMA,
      valueSchema: PERSON_VALUE_SCHEMA,
      valueSchemaId: 5,
      records: people(2),
      compression: "GZIP",
    });

    const all = await listStoreVersions(dataDir);
    assert.deepEqual(all.map((s) => s.resource), ["other_v2", "people_v1"]);
    const [other, mine] = all;
    assert.equal(other.keys, 2);
    assert.deepEqual(other.schemaIds, [5]);
    assert.equal(other.compressionStrategy, "GZIP");
    assert.equal(other.chunked, false);
    assert.equal(mine.keys, 26);
    assert.equal(mine.partitions.length, 3);
    assert.equal(mine.partitions.reduce((n, p) => n + p.chunks, 0), 4);
    assert.deepEqual(mine.schemaIds, [1]);
    assert.equal(mine.chunked, true);
    assert.ok(mine.partitions.every((p) => p.diskBytes > 0));
    assert.ok(mine.hasDescriptor);
    assert.deepEqual((await listStoreVersions(dataDir, { store: "other" })).length, 1);

    const dumped = await Array.fromAsync(dumpStoreVersion(dataDir, "people_v1"));
    assert.equal(dumped.length, 26, "chunk entries are not records");
    const byKey = new Map(dumped.map((r) => [r.key as string, r]));
    for (const record of [...records, { key: "big", value: bigValue }]) {
      const got = byKey.get(record.key as string);
      assert.ok(got, `${record.key} dumped`);
      assert.deepEqual(got.value, record.value);
      assert.equal(got.schemaId, 1);
      assert.equal(got.partition, defaultVenicePartition(avroBytes(keyType, record.key), 3));
    }
    assert.equal(
      (await Array.fromAsync(dumpStoreVersion(dataDir, "people_v1", { limit: 4 }))).length,
      4,
    );

    const found = await lookupKey(dataDir, "people_v1", "big");
    assert.deepEqual(found?.value, bigValue);
    assert.equal(await lookupKey(dataDir, "people_v1", "nobody"), null);
    await assert.rejects(lookupKey(dataDir, "people_v1", 12), /Key does not match the key schema/);
    await assert.rejects(lookupKey(dataDir, "people_v9", "x"), /not found/);
  });
});

// ---- RocksDB's own tool sees Venice's format ------------------------------------------------

async function ldb(...args: string[]): Promise<string> {
  const out = await new Deno.Command("ldb", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `ldb ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

for (const chunked of [false, true]) {
  Deno.test(`ldb shows Venice's key and value format (${chunked ? "chunked" : "not chunked"})`, async () => {
    await withDataDir(async (dataDir) => {
      const records = people(12);
      await makeStore(dataDir, {
        store: "ldb",
        version: 1,
        partitions: 2,
        keySchema: STRING_KEY_SCHEMA,
        valueSchema: PERSON_VALUE_SCHEMA,
        valueSchemaId: 2,
        records,
        chunked,
      });
      // ldb prints `0x<HEX> : 0x<HEX>`; hex digits compared in upper case.
      const ldbHex = (text: string) => `0x${text.trim().slice(2).toUpperCase()}`;
      const expected = new Map<string, string>();
      for (const record of records) {
        const key = avroBytes(keyType, record.key);
        if (defaultVenicePartition(key, 2) !== 0) continue;
        const storedKey = chunked ? Uint8Array.of(...key, 2, 0) : key;
        expected.set(
          `0x${hex(storedKey)}`,
          `0x00000002${hex(avroBytes(personType, record.value))}`,
        );
      }
      assert.ok(expected.size > 0, "partition 0 holds some of the 12 keys");
      const db = partitionDir(dataDir, "ldb_v1", 0);
      const scanned = new Map(
        (await ldb(`--db=${db}`, "scan", "--hex")).trim().split("\n").map((line) => {
          const [k, v] = line.split(" : ");
          return [ldbHex(k), ldbHex(v)];
        }),
      );
      assert.deepEqual(scanned, expected);
      for (const [key, value] of expected) {
        assert.equal(ldbHex(await ldb(`--db=${db}`, "get", "--hex", key)), value);
      }

      const meta = partitionDir(dataDir, "ldb_v1", METADATA_PARTITION_ID);
      const metaLines = (await ldb(`--db=${meta}`, "scan", "--hex")).trim().split("\n");
      const [metaKey, metaValue] = metaLines.at(-1)!.split(" : ");
      assert.equal(ldbHex(metaKey), `0x${hex(VERSION_METADATA_KEY)}`);
      assert.match(ldbHex(metaValue), /^0x1907/, "magic byte 25, protocol version 7");
      const state = decodeStoreVersionState(
        Uint8Array.from(Buffer.from(metaValue.trim().slice(2), "hex")),
      );
      assert.equal(state.chunked, chunked);
      assert.equal(state.compressionStrategy, 0);
    });
  });
}

// ---- The CLI ----------------------------------------------------------------------------------

/** The `rialto` CLI from source, without colour in its output. */
const rialto = (...args: string[]) => runRialto(args, { env: { NO_COLOR: "1" } });

/** `rialto store create` of testdata's people as cli_v1 in `dataDir`, with `flags`. */
const createCliPeople = (dataDir: string, ...flags: string[]) =>
  rialto(
    "store",
    "create",
    ...["--data-dir", dataDir, "--store", "cli", "--version", "1"],
    ...["--key-schema", `${TESTDATA}person_key.avsc`],
    ...["--value-schema", `${TESTDATA}person_value.avsc`],
    ...["--input", `${TESTDATA}people.jsonl`, "--no-progress"],
    ...flags,
  );

Deno.test("rialto store create and inspect run as commands", async () => {
  await withDataDir(async (dataDir) => {
    const common = [
      "--data-dir",
      dataDir,
      "--store",
      "cli",
      "--version",
      "1",
    ];
    const create = await createCliPeople(dataDir, "--partitions", "2", "--compression", "GZIP");
    assert.equal(create.code, 0, create.stderr);
    assert.match(create.stdout, /^Created cli_v1: 3 records in 2 partitions \(GZIP\)/);

    const list = await rialto("store", "inspect", "--data-dir", dataDir, "--json");
    assert.equal(list.code, 0, list.stderr);
    const [summary] = JSON.parse(list.stdout);
    assert.equal(summary.resource, "cli_v1");
    assert.equal(summary.keys, 3);
    assert.equal(summary.compressionStrategy, "GZIP");

    const get = await rialto("store", "inspect", ...common, "--key", '"carol"');
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout).value, { name: "Carol", age: 41, email: null });

    const dump = await rialto("store", "inspect", ...common, "--dump");
    assert.equal(dump.stdout.trim().split("\n").length, 3);

    const again = await rialto(
      "store",
      "create",
      ...common,
      "--partitions",
      "2",
      "--key-schema",
      `${TESTDATA}person_key.avsc`,
      "--value-schema",
      `${TESTDATA}person_value.avsc`,
      "--input",
      `${TESTDATA}people.jsonl`,
    );
    assert.equal(again.code, 1);
    assert.equal(again.stderr.trim().split("\n").length, 1, again.stderr);
    assert.match(again.stderr, /already exists/);
  });
});

Deno.test("rialto store reports usage errors with exit code 2 and help with 0", async () => {
  const silence = { log: console.log, error: console.error };
  const printed: string[] = [];
  console.log = (...a: unknown[]) => printed.push(a.join(" "));
  console.error = (...a: unknown[]) => printed.push(a.join(" "));
  try {
    assert.equal(await storeMain(["create", "--data-dir", "/tmp/x"]), 2);
    assert.match(printed.join("\n"), /--store is required/);
    assert.equal(await storeMain(["create", "--bogus"]), 2);
    assert.equal(await storeMain(["inspect", "--data-dir", "/tmp/x", "--version", "1"]), 2);
    assert.equal(await storeMain(["frobnicate"]), 2);
    assert.equal(await storeMain(["create", "--help"]), 0);
    assert.equal(await storeMain(["inspect", "--help"]), 0);
    assert.equal(
      await storeMain([
        "create",
        "--data-dir",
        "/tmp/x",
        "--store",
        "s",
        "--version",
        "one",
        "--partitions",
        "1",
        "--key-schema",
        "k",
        "--value-schema",
        "v",
        "--input",
        "i",
      ]),
      2,
    );
  } finally {
    console.log = silence.log;
    console.error = silence.error;
  }
});

// ---- Values byte for byte -----------------------------------------------------------------

/** Avro's zigzag varint of a long, by hand. */
function avroLong(n: bigint): number[] {
  let z = n >= 0n ? n << 1n : ((-n) << 1n) - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

/** IEEE 754 little-endian bytes of a double (8) or float (4), by hand. */
function ieee(n: number, bytes: 4 | 8): number[] {
  const view = new DataView(new ArrayBuffer(bytes));
  if (bytes === 8) view.setFloat64(0, n, true);
  else view.setFloat32(0, n, true);
  return [...new Uint8Array(view.buffer)];
}

Deno.test("store create keeps -0.0 and longs beyond 2^53 exactly, as Avro's own JSON encoder writes them", async () => {
  await withDataDir(async (dataDir) => {
    const valueSchema = {
      type: "record",
      name: "Exact",
      fields: [
        { name: "d", type: "double" },
        { name: "f", type: "float" },
        { name: "l", type: "long" },
        { name: "u", type: ["null", "long"] },
      ],
    };
    const input = await writeInput(dataDir, [
      '{"key": "max", "value": {"d": -0.0, "f": -0.0, "l": 9223372036854775807, "u": {"long": -9007199254740993}}}',
      '{"key": "min", "value": {"d": 0.1, "f": 1.5, "l": -9223372036854775808, "u": null}}',
    ]);
    await createStoreVersion({
      dataDir,
      store: "exact",
      version: 1,
      partitions: 1,
      keySchema: JSON.stringify(STRING_KEY_SCHEMA),
      valueSchema: JSON.stringify(valueSchema),
      input,
    });
    const expected = {
      max: [
        ...ieee(-0, 8),
        ...ieee(-0, 4),
        ...avroLong(2n ** 63n - 1n),
        2,
        ...avroLong(-(2n ** 53n) - 1n),
      ],
      min: [...ieee(0.1, 8), ...ieee(1.5, 4), ...avroLong(-(2n ** 63n)), 0],
    };
    await withVersion(dataDir, "exact_v1", (version) => {
      for (const [key, bytes] of Object.entries(expected)) {
        const stored = version.get(0, new Uint8Array(avro.Type.forSchema("string").toBuffer(key)))!;
        assert.deepEqual([...stored.subarray(4)], bytes, key);
      }
    });
  });
});

Deno.test("store create refuses plain ZSTD, which Venice's clients cannot read, unless allowed explicitly", async () => {
  await withDataDir(async (dataDir) => {
    const input = await writeInput(dataDir, [personLine("a", 1)]);
    await assert.rejects(
      createPeople(dataDir, input, { compression: "ZSTD" }),
      /Plain ZSTD \(strategy 2\) makes a store Venice's clients cannot read.*--allow-plain-zstd/,
    );
    await assertNothingWritten(dataDir, "people_v1");
    const cli = await createCliPeople(dataDir, "--partitions", "1", "--compression", "ZSTD");
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /--allow-plain-zstd/);
    await createPeople(dataDir, input, { compression: "ZSTD", allowPlainZstd: true });
  });
});
