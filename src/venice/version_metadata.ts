/**
 * Per-version metadata a Venice server keeps next to the data partitions.
 *
 * Where (clients/da-vinci-client/.../store/AbstractStorageEngine.java, RocksDBStorageEngine.java,
 * internal/venice-common/.../store/rocksdb/RocksDBUtils.java):
 * - Partition id METADATA_PARTITION_ID = 1000_000_000 is an ordinary RocksDB like the data
 *   partitions, at `<data.base.path>/rocksdb/<store>_v<N>/<store>_v<N>_1000000000`
 *   (composePartitionDbDir: dbDir/topic/topic_partition). The same directory also holds the
 *   file `rocksdbConfig` (RocksDBStorageEngine.SERVER_CONFIG_FILE_NAME), the persisted
 *   storage-engine config.
 * - Key "VERSION_METADATA" (ASCII) -> the StoreVersionState (chunked, compressionStrategy,
 *   compressionDictionary, sorted, ...), via AbstractStorageEngine.putStoreVersionState.
 * - Keys "P_<partitionId>" (e.g. "P_3") -> that partition's OffsetRecord, a PartitionState
 *   serialized with the same framing (magic byte 24, protocol version 24).
 * - Global RT DIV entries for hybrid stores, under keys chosen by the ingestion code.
 *
 * Framing (internal/venice-common/.../serialization/avro/InternalAvroSpecificSerializer.java,
 * AvroProtocolDefinition.STORE_VERSION_STATE(25, 7, ...)): byte 0 is the magic byte 25
 * (0x19), byte 1 the writer's protocol version (7 today), then the Avro record encoded with
 * that version's schema. Readers pick the writer schema by the version byte and resolve it to
 * their own; every field added after v1 has a default, so older versions resolve to v7.
 */

import avro from "avsc";
import { Buffer } from "node:buffer";
import v1 from "./schemas/StoreVersionState/v1.avsc.json" with { type: "json" };
import v2 from "./schemas/StoreVersionState/v2.avsc.json" with { type: "json" };
import v3 from "./schemas/StoreVersionState/v3.avsc.json" with { type: "json" };
import v4 from "./schemas/StoreVersionState/v4.avsc.json" with { type: "json" };
import v5 from "./schemas/StoreVersionState/v5.avsc.json" with { type: "json" };
import v6 from "./schemas/StoreVersionState/v6.avsc.json" with { type: "json" };
import v7 from "./schemas/StoreVersionState/v7.avsc.json" with { type: "json" };
import { type CompressionStrategyId, isCompressionStrategy } from "./compression.ts";

export const METADATA_PARTITION_ID = 1_000_000_000;
/** `"VERSION_METADATA".getBytes()`. */
export const VERSION_METADATA_KEY: Uint8Array = new TextEncoder().encode("VERSION_METADATA");
/** AbstractStorageEngine.PARTITION_METADATA_PREFIX. */
export const PARTITION_METADATA_KEY_PREFIX = "P_";
export const STORE_VERSION_STATE_MAGIC_BYTE = 25;
export const STORE_VERSION_STATE_PROTOCOL_VERSION = 7;
export const PARTITION_STATE_MAGIC_BYTE = 24;
export const PARTITION_STATE_PROTOCOL_VERSION = 24;

/** The metadata key holding partition `p`'s offset record. */
export function partitionMetadataKey(partitionId: number): Uint8Array {
  return new TextEncoder().encode(PARTITION_METADATA_KEY_PREFIX + partitionId);
}

/** `<rocksDbRoot>/<resource>/<resource>_<partition>`, e.g. rocksdb/people_v3/people_v3_0. */
export function partitionDbPath(
  rocksDbRoot: string,
  resourceName: string,
  partitionId: number,
): string {
  return `${rocksDbRoot}/${resourceName}/${resourceName}_${partitionId}`;
}

export interface StartOfBufferReplay {
  sourceOffsets: bigint[] | number[];
  sourceKafkaCluster: string;
  sourceTopicName: string;
}

export interface TopicSwitch {
  sourceKafkaServers: string[];
  sourceTopicName: string;
  rewindStartTimestamp: number;
}

/** StoreVersionState v7, with fields the reader uses typed; the rest carried through. */
export interface StoreVersionState {
  sorted: boolean;
  startOfBufferReplay: StartOfBufferReplay | null;
  chunked: boolean;
  compressionStrategy: number;
  topicSwitch: TopicSwitch | null;
  compressionDictionary: Uint8Array | null;
  batchConflictResolutionPolicy: number;
  startOfPushTimestamp: number;
  endOfPushTimestamp: number;
}

/** Raised when stored version metadata cannot be read. */
export class VersionMetadataError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VersionMetadataError";
  }
}

// deno-lint-ignore no-explicit-any
const schemaTexts: Record<number, any> = { 1: v1, 2: v2, 3: v3, 4: v4, 5: v5, 6: v6, 7: v7 };
const typeOf = (version: number) => avro.Type.forSchema(schemaTexts[version]);
const currentType = typeOf(STORE_VERSION_STATE_PROTOCOL_VERSION);
const resolvers = new Map<number, avro.Resolver>();

function resolverFor(version: number): avro.Resolver | null {
  if (version === STORE_VERSION_STATE_PROTOCOL_VERSION) return null;
  let r = resolvers.get(version);
  if (!r) {
    r = currentType.createResolver(typeOf(version));
    resolvers.set(version, r);
  }
  return r;
}

/** Serializes a StoreVersionState exactly as a Venice server writes VERSION_METADATA. */
export function encodeStoreVersionState(state: Partial<StoreVersionState>): Uint8Array {
  const full: StoreVersionState = {
    sorted: false,
    startOfBufferReplay: null,
    chunked: false,
    compressionStrategy: 0,
    topicSwitch: null,
    compressionDictionary: null,
    batchConflictResolutionPolicy: 0,
    startOfPushTimestamp: 0,
    endOfPushTimestamp: 0,
    ...state,
  };
  const body = currentType.toBuffer({
    ...full,
    compressionDictionary: full.compressionDictionary
      ? Buffer.from(full.compressionDictionary)
      : null,
  });
  const out = new Uint8Array(2 + body.length);
  out[0] = STORE_VERSION_STATE_MAGIC_BYTE;
  out[1] = STORE_VERSION_STATE_PROTOCOL_VERSION;
  out.set(body, 2);
  return out;
}

/** Reads a VERSION_METADATA value written with any StoreVersionState version 1..7. */
export function decodeStoreVersionState(bytes: Uint8Array): StoreVersionState {
  if (bytes.length < 2) {
    throw new VersionMetadataError("Store version state is shorter than its header");
  }
  if (bytes[0] !== STORE_VERSION_STATE_MAGIC_BYTE) {
    throw new VersionMetadataError(
      `Store version state has magic byte ${bytes[0]}, expected ${STORE_VERSION_STATE_MAGIC_BYTE}`,
    );
  }
  const version = bytes[1];
  if (!(version in schemaTexts)) {
    throw new VersionMetadataError(
      `Store version state protocol version ${version} is not supported (known: 1-${STORE_VERSION_STATE_PROTOCOL_VERSION})`,
    );
  }
  let decoded: Record<string, unknown>;
  try {
    const body = Buffer.from(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2);
    const resolver = resolverFor(version);
    decoded = resolver ? currentType.fromBuffer(body, resolver) : currentType.fromBuffer(body);
  } catch (error) {
    throw new VersionMetadataError(
      `Cannot decode store version state v${version}: ${
        error instanceof Error ? error.message : error
      }`,
      { cause: error },
    );
  }
  return toPlain(decoded) as StoreVersionState;
}

/** avsc yields record-class instances and Buffers; callers get plain objects and Uint8Arrays. */
function toPlain(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(toPlain);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = toPlain(x);
  return out;
}

/** What the read path needs from the version state. */
export interface VersionReadSettings {
  chunked: boolean;
  compressionStrategy: CompressionStrategyId;
  compressionDictionary: Uint8Array | null;
}

export function readSettings(state: StoreVersionState): VersionReadSettings {
  if (!isCompressionStrategy(state.compressionStrategy)) {
    throw new VersionMetadataError(`Unknown compression strategy ${state.compressionStrategy}`);
  }
  return {
    chunked: state.chunked,
    compressionStrategy: state.compressionStrategy,
    compressionDictionary: state.compressionDictionary,
  };
}
