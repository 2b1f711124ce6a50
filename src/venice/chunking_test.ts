import assert from "node:assert/strict";
import avro from "avsc";
import suffixSchema from "./schemas/ChunkedKeySuffix.avsc.json" with { type: "json" };
import manifestSchema from "./schemas/ChunkedValueManifest.avsc.json" with { type: "json" };
import { AvroDecodeError } from "./avro_binary.ts";
import {
  assembleChunkedValue,
  CHUNK_SCHEMA_ID,
  ChunkAssemblyError,
  CHUNKED_VALUE_MANIFEST_SCHEMA_ID,
  chunkedStoreEntries,
  decodeChunkedKeySuffix,
  decodeChunkedValueManifest,
  encodeChunkedKeySuffix,
  encodeChunkedValueManifest,
  keyWithChunkSuffix,
  keyWithNonChunkSuffix,
  NON_CHUNK_KEY_SUFFIX,
  readSchemaHeader,
} from "./chunking.ts";

// deno-lint-ignore no-explicit-any
const suffixType = avro.Type.forSchema(suffixSchema as any);
// deno-lint-ignore no-explicit-any
const manifestType = avro.Type.forSchema(manifestSchema as any);
const u8 = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.length);
const guid = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

Deno.test("the non-chunk key suffix is 02 00, as avsc encodes {chunkId: null, isChunk: false}", () => {
  assert.deepEqual(Array.from(NON_CHUNK_KEY_SUFFIX), [0x02, 0x00]);
  assert.deepEqual(
    u8(suffixType.toBuffer({ chunkId: null, isChunk: false })),
    NON_CHUNK_KEY_SUFFIX,
  );
  assert.deepEqual(encodeChunkedKeySuffix({ chunkId: null, isChunk: false }), NON_CHUNK_KEY_SUFFIX);
  assert.deepEqual(keyWithNonChunkSuffix(Uint8Array.of(6, 0x61)), Uint8Array.of(6, 0x61, 2, 0));
});

Deno.test("chunk suffixes match avsc and decode back", () => {
  const chunkId = {
    producerGUID: guid,
    segmentNumber: 3,
    messageSequenceNumber: 70000,
    chunkIndex: -1,
  };
  const ref = u8(suffixType.toBuffer({
    chunkId: { ...chunkId, producerGUID: Buffer.from(guid) },
    isChunk: true,
  }));
  const ours = encodeChunkedKeySuffix({ chunkId, isChunk: true });
  assert.deepEqual(ours, ref);
  assert.equal(ours[0], 0x00, "union branch 0 is ChunkId");
  assert.equal(ours[ours.length - 1], 0x01, "isChunk true");
  assert.deepEqual(decodeChunkedKeySuffix(ours), { chunkId, isChunk: true });
  const key = Uint8Array.of(4, 0x68, 0x69);
  assert.deepEqual(keyWithChunkSuffix(key, chunkId), Uint8Array.from([...key, ...ref]));
  assert.deepEqual(
    decodeChunkedKeySuffix(keyWithChunkSuffix(key, chunkId), key.length).chunkId,
    chunkId,
  );
});

Deno.test("malformed suffixes throw AvroDecodeError", () => {
  assert.throws(() => decodeChunkedKeySuffix(Uint8Array.of(0x04, 0x00)), AvroDecodeError);
  assert.throws(() => decodeChunkedKeySuffix(Uint8Array.of(0x02)), AvroDecodeError);
  assert.throws(() => decodeChunkedKeySuffix(Uint8Array.of(0x02, 0x00, 0x00)), AvroDecodeError);
  assert.throws(() => decodeChunkedKeySuffix(Uint8Array.of(0x00, 1, 2)), AvroDecodeError);
});

Deno.test("manifests match avsc, including an empty key list", () => {
  for (const keys of [[], [Uint8Array.of(1, 2, 3), new Uint8Array(200).fill(9)]]) {
    const m = { keysWithChunkIdSuffix: keys, schemaId: 17, size: 1_000_000 };
    const ref = u8(
      manifestType.toBuffer({ ...m, keysWithChunkIdSuffix: keys.map((k) => Buffer.from(k)) }),
    );
    assert.deepEqual(encodeChunkedValueManifest(m), ref);
    assert.deepEqual(decodeChunkedValueManifest(ref), m);
  }
});

Deno.test("manifests written in several array blocks, with byte sizes, decode", () => {
  // Block of 1 item, then a block of -1 items with its byte size, then the end.
  const bytes = Uint8Array.of(0x02, 0x02, 0xaa, 0x01, 0x04, 0x02, 0xbb, 0x00, 0x22, 0x04);
  assert.deepEqual(decodeChunkedValueManifest(bytes), {
    keysWithChunkIdSuffix: [Uint8Array.of(0xaa), Uint8Array.of(0xbb)],
    schemaId: 17,
    size: 2,
  });
});

Deno.test("small records are stored whole under key ++ 02 00", () => {
  const key = Uint8Array.of(2, 0x6b);
  const { entries, manifest } = chunkedStoreEntries(key, Uint8Array.of(1, 2, 3), 5, {
    maxSizeForUserPayloadPerMessageInBytes: 100,
  });
  assert.equal(manifest, null);
  assert.deepEqual(entries, [{
    key: Uint8Array.of(2, 0x6b, 2, 0),
    value: Uint8Array.of(0, 0, 0, 5, 1, 2, 3),
  }]);
});

Deno.test("large records split the way WriterChunkingHelper splits them", () => {
  const key = new Uint8Array(10).fill(7);
  const value = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  const max = 100; // 90 bytes of value per chunk -> ceil(1000 / 90) = 12 chunks
  const { entries, manifest } = chunkedStoreEntries(key, value, 42, {
    maxSizeForUserPayloadPerMessageInBytes: max,
    producerGUID: guid,
    segmentNumber: 2,
    messageSequenceNumber: 9,
  });
  assert.ok(manifest);
  assert.equal(entries.length, 13);
  assert.equal(manifest.size, 1000);
  assert.equal(manifest.schemaId, 42);
  entries.slice(0, 12).forEach((e, i) => {
    assert.equal(readSchemaHeader(e.value), CHUNK_SCHEMA_ID);
    assert.equal(e.value.length - 4, i < 11 ? 90 : 1000 - 11 * 90);
    const suffix = decodeChunkedKeySuffix(e.key, key.length);
    assert.deepEqual(suffix.chunkId, {
      producerGUID: guid,
      segmentNumber: 2,
      messageSequenceNumber: 9,
      chunkIndex: i,
    });
    assert.deepEqual(manifest.keysWithChunkIdSuffix[i], e.key);
  });
  const top = entries[12];
  assert.deepEqual(top.key, keyWithNonChunkSuffix(key));
  assert.equal(readSchemaHeader(top.value), CHUNKED_VALUE_MANIFEST_SCHEMA_ID);
  const store = new Map(entries.map((e) => [e.key.join(","), e.value]));
  const assembled = assembleChunkedValue(top.value.subarray(4), (k) => store.get(k.join(",")));
  assert.deepEqual(assembled, { schemaId: 42, value });
});

Deno.test("chunking is triggered by key + value size, not value size alone", () => {
  const opts = { maxSizeForUserPayloadPerMessageInBytes: 100 };
  assert.equal(chunkedStoreEntries(new Uint8Array(10), new Uint8Array(90), 1, opts).manifest, null);
  assert.notEqual(
    chunkedStoreEntries(new Uint8Array(10), new Uint8Array(91), 1, opts).manifest,
    null,
  );
  assert.throws(
    () => chunkedStoreEntries(new Uint8Array(51), new Uint8Array(200), 1, opts),
    RangeError,
  );
});

Deno.test("reassembly rejects missing, foreign and mis-sized chunks", () => {
  const key = Uint8Array.of(2, 0x6b);
  const { entries } = chunkedStoreEntries(key, new Uint8Array(300).fill(1), 1, {
    maxSizeForUserPayloadPerMessageInBytes: 100,
  });
  const manifestPayload = entries[entries.length - 1].value.subarray(4);
  const byKey = new Map(entries.map((e) => [e.key.join(","), e.value]));
  assert.throws(() => assembleChunkedValue(manifestPayload, () => undefined), ChunkAssemblyError);
  assert.throws(
    () =>
      assembleChunkedValue(
        manifestPayload,
        (k) => Uint8Array.from([0, 0, 0, 1, ...byKey.get(k.join(","))!.subarray(4)]),
      ),
    ChunkAssemblyError,
  );
  assert.throws(
    () => assembleChunkedValue(manifestPayload, (k) => byKey.get(k.join(","))!.subarray(0, 10)),
    ChunkAssemblyError,
  );
});
