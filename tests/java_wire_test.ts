/**
 * Every answer's bytes on the wire against the Java server's: tests/java/
 * VeniceWireResponses.java builds each VeniceServerResponse with protobuf-java the way
 * Venice's gRPC handlers set its fields, from the values Venice would answer with (the
 * Java exception texts, statuses, compression, RCU); Rialto's answer to the same request,
 * taken raw off a real server, must be the very same bytes.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { decodeServerResponse, encodeClientRequest } from "../src/codec/messages.ts";
import { CompressionStrategy } from "../src/venice/compression.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import {
  buildReadFixture,
  keyBytes,
  partitionOf,
  PEOPLE,
  personBytes,
  personKey,
} from "./support/read_fixture.ts";
import { encodeKeyString } from "../src/venice/key_string.ts";
import { encodeMultiGetRequestKeys, MULTI_GET_PROTOCOL_VERSION } from "../src/venice/multiget.ts";
import { startTestServer } from "./support/server.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CLASSPATH_JARS = ["/usr/share/java/protobuf.jar"];

/** Compiles the proto's Java classes and the builder into `dir`; the classpath to run it. */
async function buildJava(dir: string): Promise<string> {
  for (const jar of CLASSPATH_JARS) {
    await Deno.stat(jar).catch(() => {
      throw new Error(`${jar} is missing (apt-get install libprotobuf-java)`);
    });
  }
  const run = async (command: string, args: string[]) => {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
      .output().catch((error) => {
        throw new Error(
          `Cannot run ${command} (scripts/bootstrap.sh --test installs it): ${error}`,
        );
      });
    const said = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${command} failed: ${said}`);
  };
  await Deno.mkdir(dir, { recursive: true });
  await run("protoc", [
    `--proto_path=${ROOT}proto`,
    `--java_out=${dir}`,
    "VeniceReadService.proto",
  ]);
  const sources: string[] = [`${ROOT}tests/java/VeniceWireResponses.java`];
  for await (const entry of Deno.readDir(`${dir}/com/linkedin/venice/protocols`)) {
    sources.push(`${dir}/com/linkedin/venice/protocols/${entry.name}`);
  }
  await run("javac", ["-nowarn", "-cp", CLASSPATH_JARS.join(":"), "-d", dir, ...sources]);
  return [dir, ...CLASSPATH_JARS].join(":");
}

interface JavaCase {
  readonly name: string;
  readonly kind: "found" | "notFound" | "error";
  readonly schemaId?: number;
  readonly compressionStrategy?: number;
  readonly responseRCU?: number;
  readonly errorCode?: number;
  readonly errorMessage?: string;
  readonly data?: Uint8Array;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** What the Java server's handlers put on the wire for each case, by name. */
async function javaBytes(
  classpath: string,
  cases: readonly JavaCase[],
): Promise<Map<string, string>> {
  const child = new Deno.Command("java", {
    args: ["-cp", classpath, "VeniceWireResponses"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = cases.map((c) =>
    [
      c.name,
      c.kind,
      c.schemaId ?? 0,
      c.compressionStrategy ?? 0,
      c.responseRCU ?? 0,
      0,
      c.errorCode ?? 0,
      hex(new TextEncoder().encode(c.errorMessage ?? "")),
      hex(c.data ?? new Uint8Array()),
    ].join("\t")
  );
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new Map(
    new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
      const [name, bytes] = line.split("\t");
      return [name, bytes] as [string, string];
    }),
  );
}

Deno.test("every answer is, byte for byte, the VeniceServerResponse the Java server's handlers build", async () => {
  const root = await Deno.makeTempDir();
  try {
    const [classpath] = await Promise.all([
      buildJava(`${root}/java`),
      buildReadFixture(`${root}/data`),
    ]);
    const quota = { enabled: true, enforcementIntervalMs: 1000, bucketMultiplier: 1 };
    await using rialto = await startTestServer(`${root}/data`, {
      quota,
      stores: { people_zstd: { readQuotaRcuPerSecond: 1 } },
    });
    const client = new grpc.Client(rialto.address, grpc.credentials.createInsecure());
    const raw = (method: "get" | "batchGet", request: Parameters<typeof encodeClientRequest>[0]) =>
      new Promise<Uint8Array>((resolve, reject) => {
        client.makeUnaryRequest(
          `/com.linkedin.venice.protocols.VeniceReadService/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(encodeClientRequest(request)),
          (error, value) => error ? reject(error) : resolve(new Uint8Array(value!)),
        );
      });
    const get = (resourceName: string, partition: number, key: Uint8Array) =>
      raw("get", { resourceName, partition, keyString: encodeKeyString(key), method: "GET" });
    const batchGet = (
      resourceName: string,
      keys: readonly { keyBytes: Uint8Array; partition: number }[],
    ) =>
      raw("batchGet", {
        resourceName,
        keyBytes: encodeMultiGetRequestKeys(
          keys.map((k, keyIndex) => ({ keyIndex, keyBytes: k.keyBytes, partitionId: k.partition })),
        ),
        isBatchRequest: true,
        method: "POST",
      });
    try {
      const person0 = personKey(0, PEOPLE.partitions);
      const missing = keyBytes("nobody");
      const missingPartition = partitionOf("nobody", PEOPLE.partitions);
      const gz = await get("people_gz_v1", person0.partition, person0.keyBytes);
      const gzData = decodeServerResponse(gz).data;
      assert.deepEqual(new Uint8Array(gunzipSync(gzData)), personBytes(0), "the gzip value");
      // The records inside a batch answer are checked in grpc_read_test.ts; here, the envelope.
      const threeKeys = [0, 1, 2].map((i) => personKey(i, PEOPLE.partitions));
      const batch = await batchGet("people_v1", threeKeys);

      const answers: [JavaCase, Uint8Array][] = [
        [{
          name: "found",
          kind: "found",
          schemaId: 1,
          responseRCU: 1,
          data: personBytes(0),
        }, await get("people_v1", person0.partition, person0.keyBytes)],
        [{
          name: "found, GZIP",
          kind: "found",
          schemaId: 1,
          compressionStrategy: CompressionStrategy.GZIP,
          responseRCU: 1,
          data: gzData,
        }, gz],
        [
          { name: "not found", kind: "notFound", responseRCU: 1 },
          await get("people_v1", missingPartition, missing),
        ],
        [{
          name: "not found, GZIP",
          kind: "notFound",
          compressionStrategy: CompressionStrategy.GZIP,
          responseRCU: 1,
        }, await get("people_gz_v1", missingPartition, missing)],
        [{
          name: "unknown resource",
          kind: "error",
          errorCode: Status.INTERNAL_ERROR,
          errorMessage:
            "Internal Error: com.linkedin.venice.exceptions.VeniceNoStoreException: Store: nope_v1 does not exist.",
        }, await get("nope_v1", 0, person0.keyBytes)],
        [{
          name: "partition never held",
          kind: "error",
          errorCode: Status.INTERNAL_ERROR,
          errorMessage:
            "Internal Error: com.linkedin.venice.exceptions.VeniceException: Failed to get read-write lock for partition: 7, store: people_v1",
        }, await get("people_v1", 7, person0.keyBytes)],
      ];
      answers.push(
        [{
          name: "batch",
          kind: "found",
          schemaId: MULTI_GET_PROTOCOL_VERSION,
          responseRCU: threeKeys.length,
          data: decodeServerResponse(batch).data,
        }, batch],
        [{
          name: "batch, unknown resource",
          kind: "error",
          errorCode: Status.INTERNAL_ERROR,
          errorMessage:
            "Internal Error: com.linkedin.venice.exceptions.VeniceNoStoreException: Store: nope_v1 does not exist.",
        }, await batchGet("nope_v1", threeKeys)],
      );
      // people_zstd: 1 RCU a second, a bucket of one: the first read passes, the next is over.
      await get("people_zstd_v1", person0.partition, person0.keyBytes);
      answers.push([
        {
          name: "over quota",
          kind: "error",
          errorCode: Status.TOO_MANY_REQUESTS,
          errorMessage: "",
        },
        await get("people_zstd_v1", person0.partition, person0.keyBytes),
      ]);

      const java = await javaBytes(classpath, answers.map(([c]) => c));
      for (const [c, ours] of answers) {
        assert.equal(
          hex(ours),
          java.get(c.name),
          `${c.name}: Rialto's bytes against the Java server's`,
        );
      }
    } finally {
      client.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
