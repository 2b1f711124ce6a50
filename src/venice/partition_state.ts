/**
 * A partition's ingestion state, as a Venice server checkpoints it in the metadata
 * partition under `P_<partition>` (AbstractStorageEngine.putPartitionOffset, an
 * OffsetRecord's PartitionState).
 *
 * Framing (InternalAvroSpecificSerializer, AvroProtocolDefinition.PARTITION_STATE(24, 24)):
 * byte 0 the magic byte 24, byte 1 the writer's protocol version, then the Avro record.
 * Venice only appends fields, so a reader that needs the first fields decodes just those:
 * - v1-v9:   offset, endOfPush, lastUpdate, ...
 * - v10-v21: offset, offsetLag, endOfPush, lastUpdate, ... (field 6 on changes by version)
 * - v22-v24: the same 27 first fields, through lastCheckpointTimestamp (v24 has 33);
 *   a later version is read the same way, as Venice appends.
 *
 * When Venice checkpoints (StoreIngestionTask.syncOffset) it first flushes the data
 * partition, then writes this record with `lastCheckpointTimestamp` set to the wall
 * clock: everything ingested before that moment is on disk, where a RocksDB secondary
 * sees it. `lastUpdate` is the producer timestamp of the last record processed then.
 */
import avro from "avsc";
import { Buffer } from "node:buffer";
import { exactLongs } from "./avro_long.ts";
import {
  PARTITION_STATE_MAGIC_BYTE,
  PARTITION_STATE_PROTOCOL_VERSION,
} from "./version_metadata.ts";

/** What a reader needs of a PartitionState. */
export interface PartitionState {
  /** The writer's protocol version. */
  readonly protocolVersion: number;
  readonly offset: bigint;
  /** -1 when unknown (and before v10). */
  readonly offsetLag: bigint;
  readonly endOfPush: boolean;
  /** Producer timestamp (ms) of the last record processed at the checkpoint. */
  readonly lastUpdate: number;
  /** Wall clock (ms) of the checkpoint; -1 when unknown (and before v22). */
  readonly lastCheckpointTimestamp: number;
  /** Latest hybrid heartbeat timestamp (ms); -1 when unknown (and before v22). */
  readonly heartbeatTimestamp: number;
  /** The topic the leader consumes (a real-time topic `<store>_rt` once hybrid); v22+. */
  readonly leaderTopic: string | null;
}

export class PartitionStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PartitionStateError";
  }
}

const LONG = "long";
const nullable = (type: unknown) => ["null", type];
const map = (values: unknown) => ({ type: "map", values });

const producerPartitionState = {
  type: "record",
  name: "ProducerPartitionState",
  fields: [
    { name: "segmentNumber", type: "int" },
    { name: "segmentStatus", type: "int" },
    { name: "isRegistered", type: "boolean" },
    { name: "messageSequenceNumber", type: "int" },
    { name: "messageTimestamp", type: LONG },
    { name: "checksumType", type: "int" },
    { name: "checksumState", type: "bytes" },
    { name: "aggregates", type: map(LONG) },
    { name: "debugInfo", type: map("string") },
  ],
};

/** The fields every version from 1 to 9 begins with. */
const FIRST_FIELDS_V1 = [
  { name: "offset", type: LONG },
  { name: "endOfPush", type: "boolean" },
  { name: "lastUpdate", type: LONG },
];

/** The fields every version from 10 on begins with. */
const FIRST_FIELDS_V10 = [
  { name: "offset", type: LONG },
  { name: "offsetLag", type: LONG },
  { name: "endOfPush", type: "boolean" },
  { name: "lastUpdate", type: LONG },
];

/** The first 27 fields of every version from 22 on (v24's order and types). */
const FIRST_FIELDS_V22 = [
  ...FIRST_FIELDS_V10,
  { name: "startOfBufferReplayDestinationOffset", type: nullable(LONG) },
  { name: "databaseInfo", type: map("string") },
  {
    name: "incrementalPushInfo",
    type: nullable({
      type: "record",
      name: "IncrementalPush",
      fields: [
        { name: "version", type: "string" },
        { name: "error", type: nullable("string") },
      ],
    }),
  },
  { name: "leaderTopic", type: nullable("string") },
  { name: "leaderOffset", type: LONG },
  { name: "upstreamOffsetMap", type: map(LONG) },
  { name: "upstreamRealTimeTopicPubSubPositionMap", type: map("bytes") },
  { name: "upstreamVersionTopicOffset", type: LONG },
  { name: "upstreamVersionTopicPubSubPosition", type: "bytes" },
  { name: "leaderGUID", type: nullable({ type: "fixed", name: "GUID", size: 16 }) },
  { name: "leaderHostId", type: nullable("string") },
  { name: "producerStates", type: map(producerPartitionState) },
  { name: "previousStatuses", type: map("string") },
  { name: "pendingReportIncrementalPushVersions", type: { type: "array", items: "string" } },
  { name: "realtimeTopicProducerStates", type: map(map("ProducerPartitionState")) },
  { name: "recordTransformerClassHash", type: nullable("int") },
  { name: "lastProcessedVersionTopicPubSubPosition", type: "bytes" },
  { name: "lastConsumedVersionTopicPubSubPosition", type: "bytes" },
  { name: "latestObservedTermId", type: LONG },
  { name: "currentTermStartPubSubPosition", type: "bytes" },
  { name: "lastConsumedVersionTopicOffset", type: LONG },
  { name: "heartbeatTimestamp", type: LONG },
  { name: "lastCheckpointTimestamp", type: LONG },
];

/** The fields v24 has after lastCheckpointTimestamp. */
const LAST_FIELDS_V24 = [
  {
    name: "keyUrnCompressionDict",
    type: nullable({
      type: "record",
      name: "KeyUrnCompressionDict",
      fields: [
        { name: "keyUrnFields", type: { type: "array", items: "string" } },
        { name: "keyUrnCompressionDictionaryVersion", type: "int" },
        { name: "keyUrnCompressionDictionary", type: "bytes" },
      ],
    }),
  },
  {
    name: "trackingIncrementalPushStatus",
    type: map({
      type: "record",
      name: "IncrementalPushReplicaStatus",
      fields: [{ name: "status", type: "int" }, { name: "timestamp", type: LONG }],
    }),
  },
  { name: "uniqueIngestedKeyCountHllSketch", type: nullable("bytes") },
  { name: "activeKeyCount", type: LONG },
  { name: "batchPushRecordCount", type: LONG },
  { name: "upstreamLastConsumedVersionTopicPubSubPosition", type: "bytes" },
];

function prefixType(fields: unknown[]): avro.Type {
  return avro.Type.forSchema(
    {
      type: "record",
      name: "PartitionState",
      namespace: "com.linkedin.venice.kafka.protocol.state",
      fields,
    } as avro.Schema,
    exactLongs(),
  );
}

const V1 = prefixType(FIRST_FIELDS_V1);
const V10 = prefixType(FIRST_FIELDS_V10);
const V22 = prefixType(FIRST_FIELDS_V22);
const V24 = prefixType([...FIRST_FIELDS_V22, ...LAST_FIELDS_V24]);

interface Prefix {
  offset: bigint;
  offsetLag?: bigint;
  endOfPush: boolean;
  lastUpdate: bigint;
  heartbeatTimestamp?: bigint;
  lastCheckpointTimestamp?: bigint;
  leaderTopic?: string | null;
}

/** Decodes a `P_<partition>` value of any protocol version a Venice server writes. */
export function decodePartitionState(bytes: Uint8Array): PartitionState {
  if (bytes.length < 2 || bytes[0] !== PARTITION_STATE_MAGIC_BYTE) {
    throw new PartitionStateError(
      `Not a PartitionState: expected magic byte ${PARTITION_STATE_MAGIC_BYTE}, found ${
        bytes.length ? bytes[0] : "nothing"
      }`,
    );
  }
  const version = bytes[1];
  if (version < 1) throw new PartitionStateError(`PartitionState protocol version ${version}`);
  const type = version >= 22 ? V22 : version >= 10 ? V10 : V1;
  let prefix: Prefix;
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2);
    prefix = type.decode(buf, 0).value as Prefix;
  } catch (error) {
    throw new PartitionStateError(
      `Cannot decode PartitionState v${version}: ${error instanceof Error ? error.message : error}`,
    );
  }
  if (prefix === undefined) {
    throw new PartitionStateError(`PartitionState v${version} is truncated`);
  }
  return {
    protocolVersion: version,
    offset: prefix.offset,
    offsetLag: prefix.offsetLag ?? -1n,
    endOfPush: prefix.endOfPush,
    lastUpdate: Number(prefix.lastUpdate),
    heartbeatTimestamp: Number(prefix.heartbeatTimestamp ?? -1n),
    lastCheckpointTimestamp: Number(prefix.lastCheckpointTimestamp ?? -1n),
    leaderTopic: prefix.leaderTopic ?? null,
  };
}

/** What `encodePartitionState` lets a caller set; the rest takes v24's defaults. */
export interface PartitionStateFields {
  readonly offset: bigint;
  readonly offsetLag?: bigint;
  readonly endOfPush: boolean;
  readonly lastUpdate: number;
  readonly heartbeatTimestamp?: number;
  readonly lastCheckpointTimestamp?: number;
  readonly upstreamOffsetMap?: Readonly<Record<string, bigint>>;
  readonly leaderTopic?: string | null;
}

/** A `P_<partition>` value as a Venice server of protocol version 24 writes it. */
export function encodePartitionState(fields: PartitionStateFields): Uint8Array {
  const empty = Buffer.alloc(0);
  const body = V24.toBuffer({
    offset: fields.offset,
    offsetLag: fields.offsetLag ?? -1n,
    endOfPush: fields.endOfPush,
    lastUpdate: BigInt(fields.lastUpdate),
    startOfBufferReplayDestinationOffset: null,
    databaseInfo: {},
    incrementalPushInfo: null,
    leaderTopic: fields.leaderTopic ?? null,
    leaderOffset: -1n,
    upstreamOffsetMap: { ...fields.upstreamOffsetMap },
    upstreamRealTimeTopicPubSubPositionMap: {},
    upstreamVersionTopicOffset: -1n,
    upstreamVersionTopicPubSubPosition: empty,
    leaderGUID: null,
    leaderHostId: null,
    producerStates: {},
    previousStatuses: {},
    pendingReportIncrementalPushVersions: [],
    realtimeTopicProducerStates: {},
    recordTransformerClassHash: null,
    lastProcessedVersionTopicPubSubPosition: empty,
    lastConsumedVersionTopicPubSubPosition: empty,
    latestObservedTermId: -1n,
    currentTermStartPubSubPosition: empty,
    lastConsumedVersionTopicOffset: -1n,
    heartbeatTimestamp: BigInt(fields.heartbeatTimestamp ?? -1),
    lastCheckpointTimestamp: BigInt(fields.lastCheckpointTimestamp ?? -1),
    keyUrnCompressionDict: null,
    trackingIncrementalPushStatus: {},
    uniqueIngestedKeyCountHllSketch: null,
    activeKeyCount: -1n,
    batchPushRecordCount: 0n,
    upstreamLastConsumedVersionTopicPubSubPosition: empty,
  });
  const out = new Uint8Array(2 + body.length);
  out[0] = PARTITION_STATE_MAGIC_BYTE;
  out[1] = PARTITION_STATE_PROTOCOL_VERSION;
  out.set(body, 2);
  return out;
}
