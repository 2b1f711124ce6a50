/**
 * The data every read-path test serves: several store versions in Venice's layout,
 * built by `rialto store create`'s code, covering plain, compressed and chunked values.
 */
import assert from "node:assert/strict";
import avro from "avsc";
import { Buffer } from "node:buffer";
import { ReadClient } from "../../src/client/read_client.ts";
import { defaultVenicePartition } from "../../src/venice/partitioner.ts";
import {
  BYTES_VALUE_SCHEMA,
  bytesJson,
  makeStore,
  people,
  PERSON_VALUE_SCHEMA,
  STRING_KEY_SCHEMA,
} from "./stores.ts";

export const PEOPLE = { store: "people", version: 1, partitions: 3, count: 60 } as const;
export const CHUNKY = { store: "chunky", version: 2, partitions: 2 } as const;

const keyType = avro.Type.forSchema(STRING_KEY_SCHEMA);
const personType = avro.Type.forSchema(PERSON_VALUE_SCHEMA as unknown as avro.Schema);

/** Avro key bytes of a string key, as the Fast Client sends them. */
export function keyBytes(key: string): Uint8Array {
  return new Uint8Array(keyType.toBuffer(key));
}

/** The partition the Fast Client would send a string key to. */
export function partitionOf(key: string, partitions: number): number {
  return defaultVenicePartition(keyBytes(key), partitions);
}

/** person-`i`'s key as a read names it: key bytes and partition. */
export function personKey(i: number, partitions: number) {
  const key = `person-${i}`;
  return { keyBytes: keyBytes(key), partition: partitionOf(key, partitions) };
}

/** A get of person-`i` from the fixture's PEOPLE version at `address` finds its value. */
export async function expectPerson(address: string, i: number): Promise<void> {
  const key = `person-${i}`;
  using client = new ReadClient(address);
  const resource = `${PEOPLE.store}_v${PEOPLE.version}`;
  const r = await client.get(resource, partitionOf(key, PEOPLE.partitions), keyBytes(key));
  assert.equal(r.errorCode, 200, r.errorMessage);
  assert.deepEqual(new Uint8Array(r.data), personBytes(i));
}

/** The Avro bytes of person `i` of `people(n)`, uncompressed. */
export function personBytes(i: number): Uint8Array {
  const record = people(i + 1)[i].value as { name: string; age: number; email: unknown };
  const value = personType.fromString(JSON.stringify(record));
  return new Uint8Array(personType.toBuffer(value));
}

/** A deterministic large value for chunking tests. */
export function bigValue(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export const BIG_SIZES = [10_000, 3_500, 100] as const;

/** Avro `bytes` encoding of a value. */
export function avroBytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(avro.Type.forSchema("bytes").toBuffer(Buffer.from(value)));
}

/**
 * Builds, in `dataDir`: people_v1 (plain), people_gz_v1 (GZIP), people_zstd_v1
 * (ZSTD_WITH_DICT) and chunky_v2 (chunked, 1 KiB chunks, values of BIG_SIZES).
 */
export async function buildReadFixture(dataDir: string): Promise<void> {
  const base = {
    version: PEOPLE.version,
    partitions: PEOPLE.partitions,
    keySchema: STRING_KEY_SCHEMA,
    valueSchema: PERSON_VALUE_SCHEMA,
    records: people(PEOPLE.count),
  };
  await makeStore(dataDir, { ...base, store: PEOPLE.store });
  await makeStore(dataDir, { ...base, store: "people_gz", compression: "GZIP" });
  await makeStore(dataDir, { ...base, store: "people_zstd", compression: "ZSTD_WITH_DICT" });
  await makeStore(dataDir, {
    store: CHUNKY.store,
    version: CHUNKY.version,
    partitions: CHUNKY.partitions,
    keySchema: STRING_KEY_SCHEMA,
    valueSchema: BYTES_VALUE_SCHEMA,
    chunked: true,
    maxChunkBytes: 1024,
    records: BIG_SIZES.map((size, i) => ({ key: `big-${i}`, value: bytesJson(bigValue(size, i)) })),
  });
}
