/**
 * VeniceReadService through an independent client: gRPC C-core (python3-grpcio) with
 * VeniceClientRequest bytes built by hand in tests/support/grpc_c_client.py, and batch
 * keys and records in Venice's Avro schemas through avsc. Nothing of Rialto's protobuf or
 * multi-get codec or of grpc-js is on the client side, so a bug shared by our encoder and
 * decoder, or a grpc-js quirk that only grpc-js tolerates, shows up here.
 * It walks sections 2 and 3 of the Venice read contract, bad input included, and ends
 * with a good get to show the server still serves.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import avro from "avsc";
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
import { REPO_ROOT, toolMissing } from "./support/serve_process.ts";
import { startTestServer } from "./support/server.ts";
import { makeStore } from "./support/stores.ts";

const PYTHON = "/usr/bin/python3";
const CLIENT = `${REPO_ROOT}tests/support/grpc_c_client.py`;
/** gRPC status codes, written out here rather than imported from the server's code. */
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;

const people = `${PEOPLE.store}_v${PEOPLE.version}`;
const chunky = `${CHUNKY.store}_v${CHUNKY.version}`;

/**
 * A store whose keys' URL-safe base64 has '-' and '_' (Avro "~~~" is 06 7e 7e 7e,
 * "Bn5-fg=="; "~?~" is "Bn4_fg=="), so the keyString decoder must use the URL-safe
 * alphabet and accept padding. None of the people keys has either character.
 */
const ODD = { store: "odd_keys", version: 1, keys: { "~~~": "-", "~?~": "_" } } as const;
const odd = `${ODD.store}_v${ODD.version}`;

interface PyRequest {
  partition?: number;
  keyString?: string;
  keyBytesHex?: string;
  resourceName?: string;
  isStreamingRequest?: boolean;
  isRetryRequest?: boolean;
  isBatchRequest?: boolean;
  method?: string;
}
type PyCall = { method: string; request: PyRequest } | { method: string; rawHex: string };

interface PyResponse {
  schemaId: number;
  dataHex: string;
  compressionStrategy: number;
  responseRCU: number;
  isStreamingResponse: boolean;
  errorCode: number;
  errorMessage: string;
}
interface PyResult {
  code: number;
  details: string;
  response: PyResponse | null;
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text: string): Uint8Array =>
  new Uint8Array((text.match(/../g) ?? []).map((h) => parseInt(h, 16)));

/** URL-safe base64 with padding, written here, not with Rialto's encoder. */
function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** A single get as the Fast Client sends it: keyString `<b64>?f=b64`, method GET. */
function getCall(resourceName: string, key: string, partitions: number): PyCall {
  return {
    method: "get",
    request: {
      resourceName,
      partition: partitionOf(key, partitions),
      keyString: `${base64Url(keyBytes(key))}?f=b64`,
      method: "GET",
    },
  };
}

// Venice's multi-get schemas (MultiGetRouterRequestKeyV1, MultiGetResponseRecordV1); a
// payload is records back to back.
const requestKeyType = avro.Type.forSchema({
  type: "record",
  name: "MultiGetRouterRequestKeyV1",
  namespace: "com.linkedin.venice.read.protocol.request.router",
  fields: [
    { name: "keyIndex", type: "int" },
    { name: "keyBytes", type: "bytes" },
    { name: "partitionId", type: "int" },
  ],
});
const responseRecordType = avro.Type.forSchema({
  type: "record",
  name: "MultiGetResponseRecordV1",
  namespace: "com.linkedin.venice.read.protocol.response",
  fields: [
    { name: "keyIndex", type: "int" },
    { name: "value", type: "bytes" },
    { name: "schemaId", type: "int" },
  ],
});

interface ResponseRecord {
  keyIndex: number;
  value: Uint8Array;
  schemaId: number;
}

function batchCall(
  resourceName: string,
  keys: readonly string[],
  partitions: number,
  streaming = false,
): PyCall {
  const keyPayload = Buffer.concat(keys.map((key, keyIndex) =>
    requestKeyType.toBuffer({
      keyIndex,
      keyBytes: Buffer.from(keyBytes(key)),
      partitionId: partitionOf(key, partitions),
    })
  ));
  return {
    method: "batchGet",
    request: {
      resourceName,
      keyBytesHex: hex(keyPayload),
      isBatchRequest: true,
      isStreamingRequest: streaming,
      method: "POST",
    },
  };
}

/** Runs the Python client once over every call; one result per call, in order. */
async function runPython(target: string, calls: readonly PyCall[]): Promise<PyResult[]> {
  const child = new Deno.Command(PYTHON, {
    args: [CLIENT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ target, tls: null, calls })));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `grpc_c_client.py exited with ${out.code}:\n${stderr}`);
  const results = JSON.parse(new TextDecoder().decode(out.stdout)) as PyResult[];
  assert.equal(results.length, calls.length);
  return results;
}

/** The Venice response of a call that must have ended with gRPC status OK. */
function okResponse(result: PyResult): PyResponse {
  assert.equal(result.code, 0, `gRPC status ${result.code}: ${result.details}`);
  assert.ok(result.response);
  return result.response;
}

function records(response: PyResponse): ResponseRecord[] {
  const data = Buffer.from(unhex(response.dataHex));
  const out: ResponseRecord[] = [];
  for (let pos = 0; pos < data.length;) {
    const { value, offset } = responseRecordType.decode(data, pos);
    assert.ok(offset > pos, `a whole MultiGetResponseRecordV1 at ${pos} of ${data.length}`);
    out.push(value as ResponseRecord);
    pos = offset;
  }
  return out;
}

const missing = toolMissing([PYTHON, "-c", "import grpc"], "python3-grpcio (gRPC C-core)");
if (missing) console.log(`Skipping the gRPC C-core interop test: ${missing}`);

for (const transport of ["grpc-js", "native"]) {
  Deno.test({
    name:
      `VeniceReadService over ${transport} answers an independent gRPC C-core client per the Venice contract`,
    ignore: missing !== null,
    async fn(t) {
      const dataDir = await Deno.makeTempDir({ prefix: "rialto-interop-" });
      try {
        await buildReadFixture(dataDir);
        await makeStore(dataDir, {
          store: ODD.store,
          version: ODD.version,
          partitions: 1,
          keySchema: "string",
          valueSchema: "string",
          records: Object.keys(ODD.keys).map((key) => ({ key, value: `value of ${key}` })),
        });
        await using s = await startTestServer(dataDir, { grpc: { transport } });

        // Every check below, as one list of calls: one Python process, one channel.
        const cases: { name: string; call: PyCall; check: (r: PyResult) => void }[] = [];
        const check = (name: string, call: PyCall, fn: (r: PyResult) => void) =>
          cases.push({ name, call, check: fn });

        check("get of a stored key", getCall(people, "person-7", PEOPLE.partitions), (r) => {
          const res = okResponse(r);
          assert.equal(res.errorCode, 200);
          assert.equal(res.errorMessage, "");
          assert.equal(res.schemaId, 1);
          assert.equal(res.compressionStrategy, 0);
          assert.equal(res.responseRCU, 1);
          assert.equal(res.isStreamingResponse, false);
          assert.deepEqual(unhex(res.dataHex), personBytes(7));
        });

        check("get of a missing key", getCall(people, "nobody", PEOPLE.partitions), (r) => {
          const res = okResponse(r);
          assert.equal(res.errorCode, -420);
          assert.equal(res.errorMessage, "Key not found");
          assert.equal(res.dataHex, "");
          assert.equal(res.responseRCU, 1);
        });

        for (const [key, char] of Object.entries(ODD.keys)) {
          const call = getCall(odd, key, 1);
          const keyString = (call as { request: PyRequest }).request.keyString!;
          assert.ok(keyString.includes(char) && keyString.includes("="), keyString);
          check(`get with keyString "${keyString}" (URL-safe base64, padded)`, call, (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200, res.errorMessage);
            // Avro string: zigzag length, then UTF-8.
            const value = new TextEncoder().encode(`value of ${key}`);
            assert.deepEqual(unhex(res.dataHex), new Uint8Array([value.length * 2, ...value]));
          });
        }

        check(
          "batch get: records for found keys only, keyIndex mapping, RCU = key count",
          batchCall(people, ["person-1", "nobody", "person-42", "person-0"], PEOPLE.partitions),
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200);
            assert.equal(res.schemaId, 1);
            assert.equal(res.responseRCU, 4);
            assert.equal(res.isStreamingResponse, false);
            const found = records(res).sort((a, b) => a.keyIndex - b.keyIndex);
            assert.deepEqual(found.map((x) => x.keyIndex), [0, 2, 3]);
            for (const record of found) {
              assert.equal(record.schemaId, 1);
              assert.deepEqual(
                new Uint8Array(record.value),
                personBytes([1, -1, 42, 0][record.keyIndex]),
              );
            }
          },
        );

        check(
          "streaming batch get marks missing keys with -keyIndex and schemaId -1000",
          batchCall(people, ["person-5", "ghost-a", "ghost-b"], PEOPLE.partitions, true),
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200);
            assert.equal(res.isStreamingResponse, true);
            assert.equal(res.responseRCU, 3);
            const all = records(res);
            assert.equal(all.length, 3);
            const absent = all.filter((x) => x.schemaId === -1000);
            assert.deepEqual(absent.map((x) => x.keyIndex).sort((a, b) => a - b), [-2, -1]);
            assert.ok(absent.every((x) => x.value.length === 0));
            const found = all.find((x) => x.keyIndex === 0);
            assert.ok(found);
            assert.deepEqual(new Uint8Array(found.value), personBytes(5));
          },
        );

        check(
          "GZIP get: still compressed, compressionStrategy 1",
          getCall("people_gz_v1", "person-11", PEOPLE.partitions),
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200);
            assert.equal(res.compressionStrategy, 1);
            assert.deepEqual(new Uint8Array(gunzipSync(unhex(res.dataHex))), personBytes(11));
          },
        );

        check(
          "GZIP batch get",
          batchCall("people_gz_v1", ["person-12", "nobody"], PEOPLE.partitions),
          (r) => {
            const res = okResponse(r);
            assert.equal(res.compressionStrategy, 1);
            const [record, ...rest] = records(res);
            assert.equal(rest.length, 0);
            assert.equal(record.keyIndex, 0);
            assert.deepEqual(new Uint8Array(gunzipSync(record.value)), personBytes(12));
          },
        );

        check(
          "ZSTD_WITH_DICT get names compressionStrategy 3",
          getCall("people_zstd_v1", "person-21", PEOPLE.partitions),
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200);
            assert.equal(res.compressionStrategy, 3);
            assert.ok(res.dataHex.length > 0);
          },
        );

        for (const [i, size] of BIG_SIZES.entries()) {
          check(
            `chunked get reassembles a ${size}-byte value`,
            getCall(chunky, `big-${i}`, CHUNKY.partitions),
            (r) => {
              const res = okResponse(r);
              assert.equal(res.errorCode, 200, res.errorMessage);
              assert.equal(res.schemaId, 1);
              assert.deepEqual(unhex(res.dataHex), avroBytes(bigValue(size, i)));
            },
          );
        }

        check(
          "chunked batch get",
          batchCall(chunky, [...BIG_SIZES.map((_, i) => `big-${i}`), "big-x"], CHUNKY.partitions),
          (r) => {
            const all = records(okResponse(r));
            assert.equal(all.length, BIG_SIZES.length);
            for (const record of all) {
              const size = BIG_SIZES[record.keyIndex];
              assert.deepEqual(
                new Uint8Array(record.value),
                avroBytes(bigValue(size, record.keyIndex)),
              );
            }
          },
        );

        for (
          const [name, call] of [
            ["get", getCall("nope_v1", "person-1", PEOPLE.partitions)],
            ["batch get", batchCall("people_v9", ["person-1"], PEOPLE.partitions)],
          ] as const
        ) {
          const resource = (call as { request: PyRequest }).request.resourceName;
          check(`${name} of an unknown resource answers 500 VeniceNoStoreException`, call, (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 500);
            assert.equal(
              res.errorMessage,
              `Internal Error: com.linkedin.venice.exceptions.VeniceNoStoreException: Store: ${resource} does not exist.`,
            );
          });
        }

        check(
          "get on a partition the server does not hold answers 500",
          {
            method: "get",
            request: {
              resourceName: people,
              partition: 17,
              keyString: `${base64Url(keyBytes("person-1"))}?f=b64`,
              method: "GET",
            },
          },
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 500);
            assert.equal(
              res.errorMessage,
              "Internal Error: com.linkedin.venice.exceptions.VeniceException: Failed to get read-write lock for partition: 17, store: people_v1",
            );
          },
        );

        check(
          "malformed protobuf answers 400",
          { method: "get", rawHex: "0affffffff0f" },
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 400);
            assert.match(res.errorMessage, /^Malformed VeniceClientRequest/);
          },
        );

        check(
          "garbage Avro in batch keyBytes answers 400",
          {
            method: "batchGet",
            request: {
              resourceName: people,
              keyBytesHex: "ffffffffffff",
              isBatchRequest: true,
              method: "POST",
            },
          },
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 400);
            assert.match(res.errorMessage, /^Malformed batch get keys/);
          },
        );

        check(
          "invalid base64 in keyString answers 400",
          {
            method: "get",
            request: { resourceName: people, keyString: "not*base64!?f=b64", method: "GET" },
          },
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 400);
            assert.match(res.errorMessage, /^Malformed keyString/);
          },
        );

        check(
          "an empty batch answers 200 with no records and RCU 0",
          {
            method: "batchGet",
            request: { resourceName: people, isBatchRequest: true, method: "POST" },
          },
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200);
            assert.equal(res.responseRCU, 0);
            assert.equal(res.dataHex, "");
          },
        );

        const beyondClientLimit = Array.from({ length: 501 }, (_, i) => `person-${i}`);
        check(
          "a batch of 501 keys is served (the server has no key limit, as Venice's)",
          batchCall(people, beyondClientLimit, PEOPLE.partitions),
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200);
            assert.equal(res.responseRCU, 501);
            assert.equal(records(res).length, PEOPLE.count);
          },
        );

        check(
          "a message over 4 MiB fails with RESOURCE_EXHAUSTED",
          {
            method: "batchGet",
            request: {
              resourceName: people,
              keyBytesHex: "00".repeat(4 * 1024 * 1024 + 10),
              isBatchRequest: true,
              method: "POST",
            },
          },
          (r) => {
            assert.equal(r.code, RESOURCE_EXHAUSTED, r.details);
            assert.equal(r.response, null);
          },
        );

        check("countByValue answers UNIMPLEMENTED", { method: "countByValue", rawHex: "" }, (r) => {
          assert.equal(r.code, UNIMPLEMENTED);
          assert.match(r.details, /countByValue/);
        });

        check(
          "after all the bad input the server still serves",
          getCall(people, "person-59", PEOPLE.partitions),
          (r) => {
            const res = okResponse(r);
            assert.equal(res.errorCode, 200);
            assert.deepEqual(unhex(res.dataHex), personBytes(59));
          },
        );

        const results = await runPython(s.address, cases.map((c) => c.call));
        for (const [i, c] of cases.entries()) {
          await t.step(c.name, () => c.check(results[i]));
        }
      } finally {
        await Deno.remove(dataDir, { recursive: true });
      }
    },
  });
}
