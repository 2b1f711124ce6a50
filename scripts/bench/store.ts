/**
 * The bench's data: one store version built once with `createStoreVersion` and kept in a
 * cache dir, and pools of pre-encoded requests for random keys of it, encoded as the
 * Fast Client encodes them (Avro key bytes, partition from Venice's partitioner, keyString
 * for a get, MultiGetRouterRequestKeyV1 records for a batch get).
 *
 * Keys are the Avro strings "key-<i>" for i in [0, keys); each value is an Avro `bytes` of
 * `valueBytes - 2` bytes, so that its Avro encoding (the payload a get returns) is exactly
 * `valueBytes` long. Values differ per key; the version is NO_OP, not chunked.
 */
import { encodeClientRequest } from "../../src/codec/messages.ts";
import { createStoreVersion } from "../../src/tools/store_create.ts";
import { AvroWriter, bytesSize, intSize } from "../../src/venice/avro_binary.ts";
import { encodeKeyString } from "../../src/venice/key_string.ts";
import { encodeMultiGetRequestKeys } from "../../src/venice/multiget.ts";
import { defaultVenicePartition } from "../../src/venice/partitioner.ts";
import { encodePool, grpcFrame } from "./pool.ts";

export const STORE = "bench";
export const VERSION = 1;
export const RESOURCE = `${STORE}_v${VERSION}`;
/** Writer schema id of every value (and the batch-get records' schemaId). */
const VALUE_SCHEMA_ID = 1;

export interface StoreSpec {
  readonly keys: number;
  /** Encoded value size: what a get returns as data; 66..8193 (a 2-byte Avro length). */
  readonly valueBytes: number;
  readonly partitions: number;
}

/** The bench's store unless its flags say otherwise (bench:alloc uses it as is). */
export const DEFAULT_STORE_SPEC: StoreSpec = { keys: 1_000_000, valueBytes: 100, partitions: 8 };

/** Where the bench keeps its store, pools, binaries and logs by default. */
export const DEFAULT_CACHE_DIR = `${Deno.env.get("TMPDIR") ?? "/tmp"}/rialto-bench`;

/** The data dir of a store built to `spec` under the cache dir, shared by the benches. */
export function storeDataDir(cacheDir: string, spec: StoreSpec): string {
  return `${cacheDir}/store-${spec.keys}x${spec.valueBytes}b-${spec.partitions}p`;
}

/** What is cached next to the data, so that a dir built with other settings is rebuilt. */
const MARKER = "bench-store.json";
/** Bumped when `rialto store create` writes differently (2: Venice's 16 KiB blocks; 3: P_<p>). */
const BUILD = 3;

async function readMarker(dataDir: string): Promise<(StoreSpec & { build?: number }) | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dataDir}/${MARKER}`));
  } catch {
    return null;
  }
}

function sameSpec(a: (StoreSpec & { build?: number }) | null, b: StoreSpec): boolean {
  return a !== null && a.build === BUILD && a.keys === b.keys && a.valueBytes === b.valueBytes &&
    a.partitions === b.partitions;
}

export function keyName(i: number): string {
  return `key-${i}`;
}

/** Avro binary of the string key "key-<i>". */
export function keyBytes(i: number): Uint8Array {
  return new AvroWriter(24).writeString(keyName(i)).toBytes();
}

/** The value of key i in Avro's JSON mapping for `bytes`: ASCII, varying with i. */
function valueJson(i: number, rawBytes: number): string {
  const head = `value-${i}-`;
  let s = head;
  let x = (i * 2654435761) >>> 0;
  while (s.length < rawBytes) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += String.fromCharCode(97 + ((x >>> 16) % 26));
  }
  return s.slice(0, rawBytes);
}

/**
 * Builds the store under `dataDir` unless a build with the same spec is there; returns
 * whether it built. Progress goes to `log`.
 */
export async function ensureStore(
  dataDir: string,
  spec: StoreSpec,
  log: (line: string) => void,
): Promise<boolean> {
  if (sameSpec(await readMarker(dataDir), spec)) return false;
  // The raw value takes a 2-byte Avro length when 64 <= n <= 8191.
  if (spec.valueBytes - 2 < 64 || spec.valueBytes - 2 > 8191) {
    throw new RangeError("--value-bytes must be between 66 and 8193");
  }
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dataDir, { recursive: true });
  const input = `${dataDir}/input.jsonl`;
  const started = performance.now();
  log(`building ${spec.keys} keys of ${spec.valueBytes}-byte values in ${dataDir} (once)`);
  const file = await Deno.open(input, { write: true, create: true, truncate: true });
  try {
    const encoder = new TextEncoder();
    const rawBytes = spec.valueBytes - 2;
    for (let from = 0; from < spec.keys; from += 10_000) {
      const lines: string[] = [];
      for (let i = from; i < Math.min(from + 10_000, spec.keys); i++) {
        lines.push(`{"key":"${keyName(i)}","value":"${valueJson(i, rawBytes)}"}\n`);
      }
      const bytes = encoder.encode(lines.join(""));
      for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
    }
  } finally {
    file.close();
  }
  let lastTenth = 0;
  const created = await createStoreVersion({
    dataDir,
    store: STORE,
    version: VERSION,
    partitions: spec.partitions,
    keySchema: JSON.stringify("string"),
    valueSchema: JSON.stringify("bytes"),
    valueSchemaId: VALUE_SCHEMA_ID,
    input,
    compression: "NO_OP",
    onProgress: (lines) => {
      const tenth = Math.floor((lines / spec.keys) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        log(
          `  ${tenth * 10}% (${lines} records, ${
            ((performance.now() - started) / 1000).toFixed(0)
          } s)`,
        );
      }
    },
  });
  await Deno.remove(input);
  if (created.records !== spec.keys) {
    throw new Error(`Built ${created.records} records, expected ${spec.keys}`);
  }
  await Deno.writeTextFile(`${dataDir}/${MARKER}`, JSON.stringify({ ...spec, build: BUILD }));
  log(`built ${created.resource} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return true;
}

/** mulberry32: a small seeded PRNG, so pools are the same from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RequestPool {
  /** The pool file's bytes (see ./pool.ts). */
  readonly bytes: Uint8Array;
  readonly requests: number;
  readonly keysPerRequest: number;
  /** The exact data length of a response in which every key was found. */
  readonly dataBytes: number;
}

/** Single gets of `count` random keys, as the Fast Client sends them. */
export function singleGetPool(spec: StoreSpec, count: number, seed: number): RequestPool {
  const random = seededRandom(seed);
  const frames: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const key = keyBytes(Math.floor(random() * spec.keys));
    frames.push(grpcFrame(encodeClientRequest({
      partition: defaultVenicePartition(key, spec.partitions),
      keyString: encodeKeyString(key),
      resourceName: RESOURCE,
      method: "GET",
    })));
  }
  return {
    bytes: encodePool(frames),
    requests: count,
    keysPerRequest: 1,
    dataBytes: spec.valueBytes,
  };
}

/** Batch gets of `keysPerRequest` distinct random keys each. */
export function batchGetPool(
  spec: StoreSpec,
  count: number,
  keysPerRequest: number,
  seed: number,
): RequestPool {
  if (keysPerRequest > spec.keys) {
    throw new RangeError("A batch cannot hold more keys than the store");
  }
  const random = seededRandom(seed);
  const frames: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const picked = new Set<number>();
    while (picked.size < keysPerRequest) picked.add(Math.floor(random() * spec.keys));
    const keys = [...picked].map((i, keyIndex) => {
      const bytes = keyBytes(i);
      return {
        keyIndex,
        keyBytes: bytes,
        partitionId: defaultVenicePartition(bytes, spec.partitions),
      };
    });
    frames.push(grpcFrame(encodeClientRequest({
      keyBytes: encodeMultiGetRequestKeys(keys),
      resourceName: RESOURCE,
      isBatchRequest: true,
      method: "POST",
    })));
  }
  let dataBytes = 0;
  for (let keyIndex = 0; keyIndex < keysPerRequest; keyIndex++) {
    dataBytes += intSize(keyIndex) + bytesSize(spec.valueBytes) + intSize(VALUE_SCHEMA_ID);
  }
  return { bytes: encodePool(frames), requests: count, keysPerRequest, dataBytes };
}
