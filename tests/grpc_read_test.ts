/**
 * VeniceReadService end to end: a real server on port 0 over real store directories,
 * called over a real socket the way the Fast Client calls it (sections 2 and 3 of the
 * Venice read contract), including bad input, after which the server must keep serving.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { decodeServerResponse, encodeClientRequest } from "../src/codec/messages.ts";
import { READ_SERVICE_PATHS } from "../src/read/router.ts";
import { RocksDB } from "../ffi/mod.ts";
import { partitionDir } from "../src/storage/layout.ts";
import { CompressionStrategy, createCompressor } from "../src/venice/compression.ts";
import {
  decodeMultiGetResponseRecords,
  encodeMultiGetRequestKeys,
} from "../src/venice/multiget.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import {
  decodeStoreVersionState,
  METADATA_PARTITION_ID,
  VERSION_METADATA_KEY,
} from "../src/venice/version_metadata.ts";
import { GrpcStatus } from "../src/transport/types.ts";
import {
  avroBytes,
  BIG_SIZES,
  bigValue,
  buildReadFixture,
  CHUNKY,
  keyBytes,
  partitionOf,
  PEOPLE,
  personBytes,
} from "./support/read_fixture.ts";
import { startTestServer } from "./support/server.ts";

/**
 * grpc-js, the native transport in one isolate (on its poller, and on Deno's listener), and
 * native over two worker isolates.
 */
const TRANSPORTS = [
  { name: "grpc-js", grpc: { transport: "grpc-js" } },
  { name: "native", grpc: { transport: "native", workers: 1 } },
  { name: "native on Deno's listener", grpc: { transport: "native", workers: 1, io: "deno" } },
  { name: "native, 2 workers", grpc: { transport: "native", workers: 2 } },
  {
    name: "native, batches on the thread pool",
    grpc: { transport: "native", workers: 1, asyncBatchMinKeys: 1 },
  },
] as const;

const people = "people_v1";

function get(key: string, partitions: number = PEOPLE.partitions) {
  return { keyBytes: keyBytes(key), partition: partitionOf(key, partitions) };
}

for (const transport of TRANSPORTS) {
  Deno.test(`VeniceReadService over ${transport.name}`, async (t) => {
    const dataDir = await Deno.makeTempDir({ prefix: "rialto-read-" });
    try {
      await buildReadFixture(dataDir);
      await using s = await startTestServer(dataDir, { grpc: transport.grpc });
      const client = s.client;

      await t.step("get answers a stored value without its schema prefix", async () => {
        const key = get("person-7");
        const r = await client.get(people, key.partition, key.keyBytes);
        assert.equal(r.errorCode, Status.OK);
        assert.equal(r.schemaId, 1);
        assert.equal(r.compressionStrategy, CompressionStrategy.NO_OP);
        assert.equal(r.responseRCU, 1);
        assert.equal(r.errorMessage, "");
        assert.deepEqual(new Uint8Array(r.data), personBytes(7));
      });

      await t.step(
        "get of a missing key answers -420 Key not found, no data, RCU 1, the version's compression",
        async () => {
          for (
            const [resource, compression] of [
              [people, CompressionStrategy.NO_OP],
              ["people_gz_v1", CompressionStrategy.GZIP],
              ["people_zstd_v1", CompressionStrategy.ZSTD_WITH_DICT],
            ] as const
          ) {
            const key = get("nobody");
            const r = await client.get(resource, key.partition, key.keyBytes);
            assert.equal(r.errorCode, Status.KEY_NOT_FOUND);
            assert.equal(r.errorMessage, "Key not found");
            assert.equal(r.data.length, 0);
            assert.equal(r.schemaId, 0);
            assert.equal(r.responseRCU, 1);
            assert.equal(r.compressionStrategy, compression);
          }
        },
      );

      await t.step("a keyString without f=b64 is the key's UTF-8 bytes", async () => {
        // Avro "person-3" is a length byte (zigzag 16 = 0x10) and the ASCII.
        const keyString = "\u0010person-3";
        const request = encodeClientRequest({
          resourceName: people,
          partition: partitionOf("person-3", PEOPLE.partitions),
          keyString,
          method: "GET",
        });
        const r = decodeServerResponse(await client.call(READ_SERVICE_PATHS.get, request));
        assert.equal(r.errorCode, Status.OK);
        assert.deepEqual(new Uint8Array(r.data), personBytes(3));
      });

      await t.step("batchGet returns records for found keys only, by keyIndex", async () => {
        const keys = ["person-1", "nobody", "person-42", "person-0"].map((k) => get(k));
        const r = await client.batchGet(people, keys);
        assert.equal(r.errorCode, Status.OK);
        assert.equal(r.schemaId, 1);
        assert.equal(r.responseRCU, 4);
        assert.equal(r.isStreamingResponse, false);
        const records = decodeMultiGetResponseRecords(r.data);
        assert.deepEqual(records.map((x) => x.keyIndex).sort((a, b) => a - b), [0, 2, 3]);
        for (const record of records) {
          const person = [1, -1, 42, 0][record.keyIndex];
          assert.equal(record.schemaId, 1);
          assert.deepEqual(new Uint8Array(record.value), personBytes(person));
        }
      });

      await t.step("streaming batchGet marks missing keys with -keyIndex and -1000", async () => {
        const keys = ["person-5", "ghost-a", "ghost-b"].map((k) => get(k));
        const r = await client.batchGet(people, keys, { streaming: true });
        assert.equal(r.errorCode, Status.OK);
        assert.equal(r.isStreamingResponse, true);
        const records = decodeMultiGetResponseRecords(r.data);
        const missing = records.filter((x) => x.schemaId === -1000);
        assert.deepEqual(missing.map((x) => x.keyIndex).sort((a, b) => a - b), [-2, -1]);
        assert.ok(missing.every((x) => x.value.length === 0));
        assert.deepEqual(
          new Uint8Array(records.find((x) => x.keyIndex === 0)!.value),
          personBytes(5),
        );
      });

      await t.step("GZIP values come back compressed with compressionStrategy 1", async () => {
        const key = get("person-11");
        const r = await client.get("people_gz_v1", key.partition, key.keyBytes);
        assert.equal(r.errorCode, Status.OK);
        assert.equal(r.compressionStrategy, CompressionStrategy.GZIP);
        assert.deepEqual(new Uint8Array(gunzipSync(r.data)), personBytes(11));
        const batch = await client.batchGet("people_gz_v1", [key]);
        assert.equal(batch.compressionStrategy, CompressionStrategy.GZIP);
        const [record] = decodeMultiGetResponseRecords(batch.data);
        assert.deepEqual(new Uint8Array(gunzipSync(record.value)), personBytes(11));
      });

      await t.step("ZSTD_WITH_DICT values decompress with the version's dictionary", async () => {
        const metadata = RocksDB.open(
          partitionDir(dataDir, "people_zstd_v1", METADATA_PARTITION_ID),
          { mode: "read-only" },
        );
        const state = decodeStoreVersionState(metadata.get(VERSION_METADATA_KEY)!);
        metadata.close();
        assert.ok(state.compressionDictionary && state.compressionDictionary.length > 0);
        const zstd = createCompressor(CompressionStrategy.ZSTD_WITH_DICT, {
          dictionary: state.compressionDictionary,
        });
        try {
          const key = get("person-21");
          const r = await client.get("people_zstd_v1", key.partition, key.keyBytes);
          assert.equal(r.compressionStrategy, CompressionStrategy.ZSTD_WITH_DICT);
          assert.deepEqual(zstd.decompress(r.data), personBytes(21));
        } finally {
          zstd.close();
        }
      });

      await t.step("chunked values are reassembled for get and batchGet", async () => {
        const resource = `${CHUNKY.store}_v${CHUNKY.version}`;
        for (const [i, size] of BIG_SIZES.entries()) {
          const key = get(`big-${i}`, CHUNKY.partitions);
          const r = await client.get(resource, key.partition, key.keyBytes);
          assert.equal(r.errorCode, Status.OK, r.errorMessage);
          assert.equal(r.schemaId, 1);
          assert.deepEqual(new Uint8Array(r.data), avroBytes(bigValue(size, i)));
        }
        const keys = BIG_SIZES.map((_, i) => get(`big-${i}`, CHUNKY.partitions));
        const r = await client.batchGet(resource, [...keys, get("big-x", CHUNKY.partitions)]);
        const records = decodeMultiGetResponseRecords(r.data);
        assert.equal(records.length, BIG_SIZES.length);
        for (const record of records) {
          const size = BIG_SIZES[record.keyIndex];
          assert.deepEqual(
            new Uint8Array(record.value),
            avroBytes(bigValue(size, record.keyIndex)),
          );
        }
      });

      await t.step(
        "an unknown resource answers 500 VeniceNoStoreException, as Venice does",
        async () => {
          const key = get("person-1");
          const r = await client.get("nope_v1", key.partition, key.keyBytes);
          assert.equal(r.errorCode, Status.INTERNAL_ERROR);
          assert.equal(
            r.errorMessage,
            `Internal Error: com.linkedin.venice.exceptions.VeniceNoStoreException: Store: nope_v1 does not exist.`,
          );
          const batch = await client.batchGet("people_v9", [key]);
          assert.equal(batch.errorCode, Status.INTERNAL_ERROR);
          assert.equal(
            batch.errorMessage,
            `Internal Error: com.linkedin.venice.exceptions.VeniceNoStoreException: Store: people_v9 does not exist.`,
          );
        },
      );

      await t.step("a partition the server never held answers 500 as Venice does", async () => {
        const never = "Internal Error: com.linkedin.venice.exceptions.VeniceException: " +
          "Failed to get read-write lock for partition: 17, store: people_v1";
        const r = await client.get(people, 17, keyBytes("person-1"));
        assert.equal(r.errorCode, Status.INTERNAL_ERROR);
        assert.equal(r.errorMessage, never);
        const batch = await client.batchGet(people, [{ keyBytes: keyBytes("x"), partition: 17 }]);
        assert.equal(batch.errorCode, Status.INTERNAL_ERROR);
        assert.equal(batch.errorMessage, never);
      });

      await t.step("malformed protobuf answers 400", async () => {
        const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        const r = decodeServerResponse(await client.call(READ_SERVICE_PATHS.get, garbage));
        assert.equal(r.errorCode, Status.BAD_REQUEST);
        assert.match(r.errorMessage, /^Malformed VeniceClientRequest/);
      });

      await t.step("truncated or garbage Avro in keyBytes answers 400", async () => {
        const good = encodeMultiGetRequestKeys([{
          keyIndex: 0,
          keyBytes: keyBytes("person-1"),
          partitionId: 0,
        }]);
        for (
          const keyPayload of [
            good.subarray(0, good.length - 3),
            new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
          ]
        ) {
          const request = encodeClientRequest({
            resourceName: people,
            keyBytes: keyPayload,
            isBatchRequest: true,
            method: "POST",
          });
          const r = decodeServerResponse(await client.call(READ_SERVICE_PATHS.batchGet, request));
          assert.equal(r.errorCode, Status.BAD_REQUEST);
          assert.match(r.errorMessage, /^Malformed batch get keys/);
        }
      });

      await t.step("invalid base64 in keyString answers 400", async () => {
        const request = encodeClientRequest({
          resourceName: people,
          partition: 0,
          keyString: "not*base64!?f=b64",
          method: "GET",
        });
        const r = decodeServerResponse(await client.call(READ_SERVICE_PATHS.get, request));
        assert.equal(r.errorCode, Status.BAD_REQUEST);
        assert.match(r.errorMessage, /^Malformed keyString/);
      });

      await t.step("an empty batch answers 200 with no records and no RCU", async () => {
        const r = await client.batchGet(people, []);
        assert.equal(r.errorCode, Status.OK);
        assert.equal(r.data.length, 0);
        assert.equal(r.responseRCU, 0);
      });

      await t.step(
        "a batch of 1000 keys is served: like Venice, no key limit unless configured",
        async () => {
          const keys = Array.from({ length: 1000 }, (_, i) => get(`person-${i}`));
          const ok = await client.batchGet(people, keys);
          assert.equal(ok.errorCode, Status.OK, ok.errorMessage);
          assert.equal(ok.responseRCU, 1000);
          assert.equal(decodeMultiGetResponseRecords(ok.data).length, PEOPLE.count);
        },
      );

      await t.step("a request over 4 MiB fails with RESOURCE_EXHAUSTED", async () => {
        const request = encodeClientRequest({
          resourceName: people,
          keyBytes: new Uint8Array(4 * 1024 * 1024 + 10),
          isBatchRequest: true,
          method: "POST",
        });
        await assert.rejects(
          client.call(READ_SERVICE_PATHS.batchGet, request),
          (error: { code?: number }) => error.code === GrpcStatus.RESOURCE_EXHAUSTED,
        );
      });

      await t.step("countByValue answers UNIMPLEMENTED", async () => {
        await assert.rejects(
          client.call(READ_SERVICE_PATHS.countByValue, new Uint8Array()),
          (error: { code?: number; details?: string }) =>
            error.code === GrpcStatus.UNIMPLEMENTED && /countByValue/.test(error.details ?? ""),
        );
      });

      await t.step("an unknown method answers UNIMPLEMENTED", async () => {
        await assert.rejects(
          client.call("/com.linkedin.venice.protocols.VeniceReadService/scan", new Uint8Array()),
          (error: { code?: number }) => error.code === GrpcStatus.UNIMPLEMENTED,
        );
      });

      await t.step("after all the bad input the server still serves", async () => {
        const key = get("person-59");
        const r = await client.get(people, key.partition, key.keyBytes);
        assert.equal(r.errorCode, Status.OK);
        assert.deepEqual(new Uint8Array(r.data), personBytes(59));
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}
