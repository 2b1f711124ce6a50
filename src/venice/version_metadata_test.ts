import assert from "node:assert/strict";
import {
  decodeStoreVersionState,
  encodeStoreVersionState,
  METADATA_PARTITION_ID,
  partitionDbPath,
  partitionMetadataKey,
  readSettings,
  VERSION_METADATA_KEY,
  VersionMetadataError,
} from "./version_metadata.ts";

const abc = new TextEncoder().encode("abc");

// Hand-assembled from the v7 schema: magic 25, version 7, then the fields in order.
const V7_BYTES = Uint8Array.of(
  0x19,
  0x07, // magic byte 25, protocol version 7
  0x01, // sorted: true
  0x00, // startOfBufferReplay: union branch 0 (null)
  0x01, // chunked: true
  0x06, // compressionStrategy: 3 (ZSTD_WITH_DICT)
  0x00, // topicSwitch: null
  0x02,
  0x06,
  0x61,
  0x62,
  0x63, // compressionDictionary: branch 1 (bytes), "abc"
  0x00, // batchConflictResolutionPolicy: 0
  0x80,
  0x01, // startOfPushTimestamp: 64
  0x0a, // endOfPushTimestamp: 5
);

Deno.test("the metadata partition's id, key and paths are Venice's", () => {
  assert.equal(METADATA_PARTITION_ID, 1000000000);
  assert.equal(new TextDecoder().decode(VERSION_METADATA_KEY), "VERSION_METADATA");
  assert.equal(new TextDecoder().decode(partitionMetadataKey(7)), "P_7");
  assert.equal(
    partitionDbPath("/data/rocksdb", "people_v3", METADATA_PARTITION_ID),
    "/data/rocksdb/people_v3/people_v3_1000000000",
  );
});

Deno.test("encoding writes magic byte 25, version 7 and the v7 record", () => {
  const bytes = encodeStoreVersionState({
    sorted: true,
    chunked: true,
    compressionStrategy: 3,
    compressionDictionary: abc,
    startOfPushTimestamp: 64,
    endOfPushTimestamp: 5,
  });
  assert.deepEqual(bytes, V7_BYTES);
});

Deno.test("decoding the hand-assembled v7 bytes", () => {
  const s = decodeStoreVersionState(V7_BYTES);
  assert.equal(s.sorted, true);
  assert.equal(s.chunked, true);
  assert.equal(s.compressionStrategy, 3);
  assert.deepEqual(s.compressionDictionary, abc);
  assert.equal(s.endOfPushTimestamp, 5);
  assert.deepEqual(readSettings(s), {
    chunked: true,
    compressionStrategy: 3,
    compressionDictionary: abc,
  });
});

Deno.test("older protocol versions resolve with defaults", () => {
  // v1: sorted, startOfBufferReplay (branch 1: record with offsets [5], cluster "k", topic "t").
  const v1 = Uint8Array.of(0x19, 0x01, 0x00, 0x02, 0x02, 0x0a, 0x00, 0x02, 0x6b, 0x02, 0x74);
  const s1 = decodeStoreVersionState(v1);
  assert.equal(s1.chunked, false);
  assert.equal(s1.compressionStrategy, 0);
  assert.equal(s1.compressionDictionary, null);
  assert.equal(s1.startOfBufferReplay?.sourceTopicName, "t");
  // v3: sorted false, no replay, chunked true, GZIP.
  const s3 = decodeStoreVersionState(Uint8Array.of(0x19, 0x03, 0x00, 0x00, 0x01, 0x02));
  assert.deepEqual(readSettings(s3), {
    chunked: true,
    compressionStrategy: 1,
    compressionDictionary: null,
  });
  // v5 with a dictionary.
  const s5 = decodeStoreVersionState(
    Uint8Array.of(0x19, 0x05, 0x00, 0x00, 0x00, 0x06, 0x00, 0x02, 0x06, 0x61, 0x62, 0x63),
  );
  assert.deepEqual(s5.compressionDictionary, abc);
  assert.equal(s5.endOfPushTimestamp, 0);
});

Deno.test("round trip keeps every field", () => {
  const state = {
    sorted: false,
    startOfBufferReplay: null,
    chunked: false,
    compressionStrategy: 1,
    topicSwitch: {
      sourceKafkaServers: ["k1:9092"],
      sourceTopicName: "s_rt",
      rewindStartTimestamp: -2,
    },
    compressionDictionary: null,
    batchConflictResolutionPolicy: 2,
    startOfPushTimestamp: 1_700_000_000_000,
    endOfPushTimestamp: 1_700_000_000_123,
  };
  assert.deepEqual(decodeStoreVersionState(encodeStoreVersionState(state)), state);
});

Deno.test("bad framing and truncated records throw VersionMetadataError", () => {
  for (
    const bad of [
      Uint8Array.of(),
      Uint8Array.of(0x19),
      Uint8Array.of(0x18, 0x07, 0x00), // PartitionState's magic byte
      Uint8Array.of(0x19, 0x08, 0x00), // unknown future version
      Uint8Array.of(0x19, 0x00, 0x00),
      V7_BYTES.subarray(0, V7_BYTES.length - 3),
    ]
  ) {
    assert.throws(
      () => decodeStoreVersionState(bad),
      VersionMetadataError,
      Array.from(bad).join(","),
    );
  }
  const unknownStrategy = encodeStoreVersionState({ compressionStrategy: 9 });
  assert.throws(() => readSettings(decodeStoreVersionState(unknownStrategy)), VersionMetadataError);
});
