/**
 * Looking into store versions on disk (`rialto store inspect`): a summary per version
 * (partitions, keys, sizes, schema ids, settings from the metadata partition), every record
 * decoded to JSON, or one key. Works on any version in Venice's layout; decoding records
 * needs the schemas, which come from the version descriptor (./version_descriptor.ts).
 *
 * Opens databases read-only, so it is safe next to a running server.
 */
import { BlockCache, RocksDB } from "../../ffi/mod.ts";
import { discoverVersions, partitionDir, type VersionOnDisk } from "../storage/layout.ts";
import { StoreVersion } from "../storage/store_version.ts";
import { payloadOf, schemaIdOf } from "../storage/value.ts";
import {
  assembleChunkedValue,
  CHUNK_SCHEMA_ID,
  CHUNKED_VALUE_MANIFEST_SCHEMA_ID,
  decodeChunkedValueManifest,
  NON_CHUNK_KEY_SUFFIX,
} from "../venice/chunking.ts";
import {
  type CompressionStrategyId,
  type Compressor,
  createCompressor,
  isCompressionStrategy,
} from "../venice/compression.ts";
import {
  decodeStoreVersionState,
  METADATA_PARTITION_ID,
  type StoreVersionState,
  VERSION_METADATA_KEY,
} from "../venice/version_metadata.ts";
import { defaultVenicePartition } from "../venice/partitioner.ts";
import { type AvroType, decodeToJson, encodeJson, schemaType } from "./avro_json.ts";
import {
  COMPRESSION_NAMES,
  type CompressionName,
  descriptorPath,
  readVersionDescriptor,
} from "./version_descriptor.ts";
import { messageOf, StoreToolError } from "./errors.ts";

export interface PartitionSummary {
  readonly partition: number;
  /** Top-level keys (records); chunk entries are not keys. */
  readonly keys: number;
  /** Chunk entries (schema id -10). */
  readonly chunks: number;
  /** Bytes of the partition's files on disk. */
  readonly diskBytes: number;
}

export interface VersionSummary {
  readonly resource: string;
  readonly store: string;
  readonly version: number;
  readonly partitions: readonly PartitionSummary[];
  readonly keys: number;
  /** Every partition plus the metadata partition. */
  readonly diskBytes: number;
  /** Writer schema ids of the values (a manifest counts with the id it names), ascending. */
  readonly schemaIds: readonly number[];
  /** From the metadata partition; null when there is none. */
  readonly compressionStrategy: CompressionName | null;
  readonly chunked: boolean | null;
  readonly dictionaryBytes: number | null;
  /** Whether `<dataDir>/schemas/<resource>.json` exists. */
  readonly hasDescriptor: boolean;
}

/** One record, decoded. `key` and `value` are in Avro's JSON mapping. */
export interface DecodedRecord {
  readonly partition: number;
  readonly key: unknown;
  readonly schemaId: number;
  readonly value: unknown;
}

async function directoryBytes(path: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile) total += (await Deno.stat(`${path}/${entry.name}`)).size;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return total;
}

function openReadOnly(path: string): RocksDB {
  return RocksDB.open(path, { mode: "read-only" });
}

/** The StoreVersionState in the metadata partition, or null when there is none. */
export function readVersionState(dataDir: string, onDisk: VersionOnDisk): StoreVersionState | null {
  if (!onDisk.hasMetadataPartition) return null;
  const path = partitionDir(dataDir, onDisk.resource, METADATA_PARTITION_ID);
  const db = openReadOnly(path);
  try {
    const bytes = db.get(VERSION_METADATA_KEY);
    return bytes === null ? null : decodeStoreVersionState(bytes);
  } finally {
    db.close();
  }
}

function compressionName(id: number): CompressionName {
  if (!isCompressionStrategy(id)) {
    throw new StoreToolError(`Unknown compression strategy ${id} in the version metadata`);
  }
  return COMPRESSION_NAMES[id];
}

/** A chunked version's top-level key without its `02 00` suffix; null for a chunk key. */
function stripNonChunkSuffix(key: Uint8Array): Uint8Array | null {
  const n = key.length;
  if (n < 2 || key[n - 2] !== NON_CHUNK_KEY_SUFFIX[0] || key[n - 1] !== NON_CHUNK_KEY_SUFFIX[1]) {
    return null;
  }
  return key.subarray(0, n - 2);
}

async function summarize(dataDir: string, onDisk: VersionOnDisk): Promise<VersionSummary> {
  const state = readVersionState(dataDir, onDisk);
  const schemaIds = new Set<number>();
  const partitions: PartitionSummary[] = [];
  for (const partition of onDisk.partitions) {
    const path = partitionDir(dataDir, onDisk.resource, partition);
    let keys = 0;
    let chunks = 0;
    const db = openReadOnly(path);
    try {
      for (const [, value] of db.iterate()) {
        const id = schemaIdOf(value);
        if (id === CHUNK_SCHEMA_ID) {
          chunks++;
          continue;
        }
        keys++;
        schemaIds.add(
          id === CHUNKED_VALUE_MANIFEST_SCHEMA_ID
            ? decodeChunkedValueManifest(payloadOf(value)).schemaId
            : id,
        );
      }
    } finally {
      db.close();
    }
    partitions.push({ partition, keys, chunks, diskBytes: await directoryBytes(path) });
  }
  const metadataBytes = onDisk.hasMetadataPartition
    ? await directoryBytes(partitionDir(dataDir, onDisk.resource, METADATA_PARTITION_ID))
    : 0;
  let hasDescriptor = true;
  try {
    await Deno.stat(descriptorPath(dataDir, onDisk.resource));
  } catch {
    hasDescriptor = false;
  }
  return {
    resource: onDisk.resource,
    store: onDisk.store,
    version: onDisk.version,
    partitions,
    keys: partitions.reduce((n, p) => n + p.keys, 0),
    diskBytes: partitions.reduce((n, p) => n + p.diskBytes, metadataBytes),
    schemaIds: [...schemaIds].sort((a, b) => a - b),
    compressionStrategy: state === null ? null : compressionName(state.compressionStrategy),
    chunked: state?.chunked ?? null,
    dictionaryBytes: state?.compressionDictionary?.length ?? null,
    hasDescriptor,
  };
}

async function findVersion(dataDir: string, resource: string): Promise<VersionOnDisk> {
  const found = (await discoverVersions(dataDir)).find((v) => v.resource === resource);
  if (!found) {
    throw new StoreToolError(`Store version "${resource}" not found under "${dataDir}/rocksdb"`);
  }
  return found;
}

/** Summaries of the versions under `dataDir`, optionally of one store or one resource. */
export async function listStoreVersions(
  dataDir: string,
  filter: { store?: string; resource?: string } = {},
): Promise<VersionSummary[]> {
  const versions = (await discoverVersions(dataDir)).filter((v) =>
    (filter.store === undefined || v.store === filter.store) &&
    (filter.resource === undefined || v.resource === filter.resource)
  );
  const out: VersionSummary[] = [];
  for (const v of versions) out.push(await summarize(dataDir, v));
  return out;
}

/** Everything needed to decode one version's records. */
class VersionCodec {
  readonly keyType: AvroType;
  readonly #valueTypes = new Map<number, AvroType>();
  readonly compressor: Compressor;
  readonly chunked: boolean;
  readonly resource: string;

  private constructor(
    resource: string,
    keyType: AvroType,
    valueTypes: Map<number, AvroType>,
    compressor: Compressor,
    chunked: boolean,
  ) {
    this.resource = resource;
    this.keyType = keyType;
    this.#valueTypes = valueTypes;
    this.compressor = compressor;
    this.chunked = chunked;
  }

  static async open(dataDir: string, onDisk: VersionOnDisk): Promise<VersionCodec> {
    const descriptor = await readVersionDescriptor(dataDir, onDisk.resource);
    const state = readVersionState(dataDir, onDisk);
    const strategy = (state?.compressionStrategy ?? 0) as CompressionStrategyId;
    const valueTypes = new Map<number, AvroType>();
    for (const [id, schema] of Object.entries(descriptor.valueSchemas)) {
      valueTypes.set(Number(id), schemaType(schema, `Value schema ${id}`));
    }
    const compressor = createCompressor(strategy, {
      dictionary: state?.compressionDictionary ?? null,
    });
    return new VersionCodec(
      onDisk.resource,
      schemaType(descriptor.keySchema, "Key schema"),
      valueTypes,
      compressor,
      state?.chunked ?? false,
    );
  }

  /** Decodes a value in stored shape (schema id + compressed payload). */
  decodeValue(stored: Uint8Array): { schemaId: number; value: unknown } {
    const schemaId = schemaIdOf(stored);
    const type = this.#valueTypes.get(schemaId);
    if (type === undefined) {
      throw new StoreToolError(
        `Value schema id ${schemaId} of ${this.resource} is not in its descriptor`,
      );
    }
    return { schemaId, value: decodeToJson(type, this.compressor.decompress(payloadOf(stored))) };
  }

  close(): void {
    this.compressor.close();
  }
}

/**
 * Every record of `resource`, partition by partition in key order, decoded with the
 * descriptor's schemas; chunked values reassembled, chunk entries skipped.
 */
export async function* dumpStoreVersion(
  dataDir: string,
  resource: string,
  options: { limit?: number } = {},
): AsyncGenerator<DecodedRecord> {
  const onDisk = await findVersion(dataDir, resource);
  const codec = await VersionCodec.open(dataDir, onDisk);
  const limit = options.limit ?? Infinity;
  let count = 0;
  try {
    for (const partition of onDisk.partitions) {
      if (count >= limit) return;
      const db = openReadOnly(partitionDir(dataDir, resource, partition));
      try {
        for (const [storedKey, stored] of db.iterate()) {
          const id = schemaIdOf(stored);
          if (id === CHUNK_SCHEMA_ID) continue;
          const key = codec.chunked ? stripNonChunkSuffix(storedKey) : storedKey;
          if (key === null) {
            throw new StoreToolError(
              `Key without the non-chunk suffix in partition ${partition} of ${resource}`,
            );
          }
          let whole = stored;
          if (id === CHUNKED_VALUE_MANIFEST_SCHEMA_ID) {
            const assembled = assembleChunkedValue(payloadOf(stored), (k) => db.get(k));
            whole = new Uint8Array(4 + assembled.value.length);
            new DataView(whole.buffer).setInt32(0, assembled.schemaId);
            whole.set(assembled.value, 4);
          }
          const { schemaId, value } = codec.decodeValue(whole);
          yield { partition, key: decodeToJson(codec.keyType, key), schemaId, value };
          if (++count >= limit) return;
        }
      } finally {
        db.close();
      }
    }
  } finally {
    codec.close();
  }
}

/**
 * Looks one key up through the server's reader (StoreVersion): `keyJson` is the key in
 * Avro's JSON mapping. Null when the key is absent.
 */
export async function lookupKey(
  dataDir: string,
  resource: string,
  keyJson: unknown,
): Promise<DecodedRecord | null> {
  const onDisk = await findVersion(dataDir, resource);
  const codec = await VersionCodec.open(dataDir, onDisk);
  const cache = new BlockCache(8 * 1024 * 1024);
  try {
    let key: Uint8Array;
    try {
      key = encodeJson(codec.keyType, keyJson);
    } catch (error) {
      throw new StoreToolError(`Key does not match the key schema: ${messageOf(error)}`);
    }
    const descriptor = await readVersionDescriptor(dataDir, resource);
    const partition = defaultVenicePartition(key, descriptor.partitionCount);
    const version = StoreVersion.open(onDisk, {
      dataDir,
      mode: "read-only",
      secondaryDir: null,
      blockCache: cache,
    });
    try {
      const stored = version.get(partition, key);
      if (stored === null) return null;
      const { schemaId, value } = codec.decodeValue(stored);
      return { partition, key: decodeToJson(codec.keyType, key), schemaId, value };
    } finally {
      await version.retire();
    }
  } finally {
    cache.close();
    codec.close();
  }
}
