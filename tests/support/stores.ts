/**
 * Builds store versions for tests, in Venice's layout, from in-memory records: writes them
 * as a temp JSONL file and runs `createStoreVersion` (src/tools/store_create.ts), the same
 * path as `rialto store create`.
 *
 * ```ts
 * const dataDir = await Deno.makeTempDir();
 * await makeStore(dataDir, {
 *   store: "people", version: 1, partitions: 4,
 *   keySchema: STRING_KEY_SCHEMA, valueSchema: PERSON_VALUE_SCHEMA,
 *   records: people(10),
 * });
 * // ... read <dataDir>/rocksdb/people_v1 ...
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
import type { CompressionName } from "../../src/tools/version_descriptor.ts";
import { type CreatedStoreVersion, createStoreVersion } from "../../src/tools/store_create.ts";

/** A record in Avro's JSON mapping (unions as `{"string": "x"}`, bytes as latin1 strings). */
export interface StoreRecord {
  readonly key: unknown;
  readonly value: unknown;
}

export interface MakeStoreOptions {
  readonly store: string;
  readonly version: number;
  readonly partitions: number;
  /** An Avro schema: JSON text or the parsed JSON value. */
  readonly keySchema: unknown;
  /** An Avro schema: JSON text or the parsed JSON value. */
  readonly valueSchema: unknown;
  readonly records: readonly StoreRecord[];
  /** Default 1. */
  readonly valueSchemaId?: number;
  /** Default "NO_OP". */
  readonly compression?: CompressionName;
  /** Needed for plain ZSTD, which Venice's clients cannot read. */
  readonly allowPlainZstd?: boolean;
  readonly chunked?: boolean;
  readonly maxChunkBytes?: number;
  /** Fixes the producer GUID in chunk keys (16 bytes), for exact expected bytes. */
  readonly producerGUID?: Uint8Array;
}

/** The key schema most tests use. */
export const STRING_KEY_SCHEMA = "string";

/** A record value with a few fields, one of them an optional union. */
export const PERSON_VALUE_SCHEMA = {
  type: "record",
  name: "Person",
  namespace: "rialto.test",
  fields: [
    { name: "name", type: "string" },
    { name: "age", type: "int" },
    { name: "email", type: ["null", "string"], default: null },
  ],
} as const;

/** A record key (compound keys exercise Avro key encoding beyond strings). */
export const MEMBER_KEY_SCHEMA = {
  type: "record",
  name: "MemberKey",
  namespace: "rialto.test",
  fields: [
    { name: "memberId", type: "long" },
    { name: "region", type: "string" },
  ],
} as const;

/** Raw bytes values (big chunked values are easiest as bytes). */
export const BYTES_VALUE_SCHEMA = "bytes";

/** `count` Person records keyed "person-0", "person-1", ... */
export function people(count: number): StoreRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `person-${i}`,
    value: {
      name: `Person ${i}`,
      age: 20 + (i % 60),
      email: i % 3 === 0 ? null : { string: `person${i}@example.com` },
    },
  }));
}

/** `people(count)` as a string-keyed store of person records. */
export function peopleStore(
  store: string,
  version: number,
  partitions: number,
  count: number,
): MakeStoreOptions {
  return {
    store,
    version,
    partitions,
    keySchema: STRING_KEY_SCHEMA,
    valueSchema: PERSON_VALUE_SCHEMA,
    records: people(count),
  };
}

/** A bytes value in Avro's JSON mapping: each byte as the code point 0-255. */
export function bytesJson(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function schemaText(schema: unknown): string {
  return typeof schema === "string" && /^\s*[[{"]/.test(schema) ? schema : JSON.stringify(schema);
}

/** Builds `<dataDir>/rocksdb/<store>_v<version>` and its descriptor from `options.records`. */
export async function makeStore(
  dataDir: string,
  options: MakeStoreOptions,
): Promise<CreatedStoreVersion> {
  const input = await Deno.makeTempFile({ prefix: "rialto-store-", suffix: ".jsonl" });
  try {
    const file = await Deno.open(input, { write: true, truncate: true });
    const encoder = new TextEncoder();
    try {
      for (const record of options.records) {
        await file.write(encoder.encode(JSON.stringify(record) + "\n"));
      }
    } finally {
      file.close();
    }
    return await createStoreVersion({
      dataDir,
      store: options.store,
      version: options.version,
      partitions: options.partitions,
      keySchema: schemaText(options.keySchema),
      valueSchema: schemaText(options.valueSchema),
      valueSchemaId: options.valueSchemaId,
      input,
      compression: options.compression,
      allowPlainZstd: options.allowPlainZstd,
      chunked: options.chunked,
      maxChunkBytes: options.maxChunkBytes,
      producerGUID: options.producerGUID,
    });
  } finally {
    await Deno.remove(input);
  }
}
