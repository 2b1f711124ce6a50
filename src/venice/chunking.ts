/**
 * Large-value chunking, in Venice's on-disk form.
 *
 * Schemas (copied verbatim into ./schemas/):
 * - ChunkedKeySuffix: internal/venice-common/src/main/resources/avro/ChunkedKeySuffix.avsc
 *     { chunkId: [ChunkId, "null"], isChunk: boolean }   (union order: ChunkId first!)
 *   ChunkId { producerGUID: fixed(16) GUID, segmentNumber: int, messageSequenceNumber: int,
 *             chunkIndex: int }
 *   Not versioned and written with no header (AvroProtocolDefinition.CHUNKED_KEY_SUFFIX has
 *   neither magic byte nor protocol version; InternalAvroSpecificSerializer then writes the
 *   bare record).
 * - ChunkedValueManifest (v-20):
 *   internal/venice-common/src/main/resources/avro/ChunkedValueManifest/v-20/ChunkedValueManifest.avsc
 *     { keysWithChunkIdSuffix: array<bytes>, schemaId: int, size: int }
 *
 * Schema ids (internal/venice-common/.../serialization/avro/AvroProtocolDefinition.java):
 * CHUNK(-10), CHUNKED_VALUE_MANIFEST(-20).
 *
 * Keys (internal/venice-common/.../serialization/KeyWithChunkingSuffixSerializer.java): in a
 * chunked version every key is `keyBytes ++ ChunkedKeySuffix`. A full value or a manifest
 * uses NON_CHUNK_KEY_SUFFIX {chunkId: null, isChunk: false} = union branch 1 (zigzag 0x02)
 * then boolean false (0x00): bytes 02 00. A chunk uses {chunkId: ChunkId, isChunk: true} =
 * 00, 16 GUID bytes, three zigzag ints, 01.
 *
 * Splitting (internal/venice-common/.../writer/WriterChunkingHelper.java chunkPayloadAndSend,
 * VeniceWriter.java): a record is chunked when key.length + value.length (+ RMD) exceeds
 * maxSizeForUserPayloadPerMessageInBytes (default DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES
 * = 950 * 1024). Each chunk carries at most `max - key.length` bytes (and the key must not
 * take more than half of `max`); chunk count = ceil(value.length / that). All chunks of one
 * value share the producerGUID, segmentNumber and messageSequenceNumber of the first chunk's
 * Kafka message; chunkIndex counts 0..n-1. The manifest lists the chunk keys in order, with
 * the value's schemaId and total size, and is written last under the top-level key.
 *
 * Values in RocksDB: 4-byte big-endian schema id, then payload. Chunk: [-10][chunk bytes];
 * manifest: [-20][manifest Avro] (ChunkedValueManifestSerializer leaves 4 bytes of header
 * room that the server fills with the id). Readers concatenate chunks in manifest order,
 * check the total against `size`, and reject any other negative schema id
 * (clients/da-vinci-client/.../storage/chunking/ChunkingUtils.java).
 */

import { AvroDecodeError, AvroReader, AvroWriter } from "./avro_binary.ts";

export const CHUNK_SCHEMA_ID = -10;
export const CHUNKED_VALUE_MANIFEST_SCHEMA_ID = -20;
/** VeniceWriter.DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES. */
export const DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES = 950 * 1024;
/** Length of the big-endian schema id that prefixes every stored value (ValueRecord). */
export const SCHEMA_HEADER_LENGTH = 4;
/** The serialized ChunkedKeySuffix of a non-chunk (full value or manifest). */
export const NON_CHUNK_KEY_SUFFIX: Uint8Array = Uint8Array.of(0x02, 0x00);
const GUID_SIZE = 16;

export interface ChunkId {
  /** 16 bytes: the producer's GUID. */
  producerGUID: Uint8Array;
  segmentNumber: number;
  messageSequenceNumber: number;
  chunkIndex: number;
}

export interface ChunkedKeySuffix {
  chunkId: ChunkId | null;
  isChunk: boolean;
}

export interface ChunkedValueManifest {
  keysWithChunkIdSuffix: Uint8Array[];
  schemaId: number;
  size: number;
}

/** Serializes a ChunkedKeySuffix (no header). */
export function encodeChunkedKeySuffix(suffix: ChunkedKeySuffix): Uint8Array {
  const w = new AvroWriter(32);
  writeSuffix(w, suffix);
  return w.toBytes();
}

function writeSuffix(w: AvroWriter, suffix: ChunkedKeySuffix): void {
  if (suffix.chunkId === null) {
    w.writeLong(1); // union branch 1: "null"
  } else {
    const c = suffix.chunkId;
    w.writeLong(0) // union branch 0: ChunkId
      .writeFixed(c.producerGUID, GUID_SIZE)
      .writeInt(c.segmentNumber)
      .writeInt(c.messageSequenceNumber)
      .writeInt(c.chunkIndex);
  }
  w.writeBoolean(suffix.isChunk);
}

/**
 * Reads a ChunkedKeySuffix starting at `offset` and requires it to end exactly at the end
 * of `bytes` (a suffix is always the tail of a key).
 */
export function decodeChunkedKeySuffix(bytes: Uint8Array, offset = 0): ChunkedKeySuffix {
  const r = new AvroReader(bytes, offset);
  const branch = r.readLong();
  let chunkId: ChunkId | null = null;
  if (branch === 0) {
    chunkId = {
      producerGUID: r.readFixed(GUID_SIZE).slice(),
      segmentNumber: r.readInt(),
      messageSequenceNumber: r.readInt(),
      chunkIndex: r.readInt(),
    };
  } else if (branch !== 1) {
    throw new AvroDecodeError(`Invalid ChunkedKeySuffix union branch ${branch}`);
  }
  const isChunk = r.readBoolean();
  if (!r.atEnd) throw new AvroDecodeError("Trailing bytes after ChunkedKeySuffix");
  return { chunkId, isChunk };
}

/** `key ++ 02 00`: how a chunked version stores a top-level key. */
export function keyWithNonChunkSuffix(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 2);
  out.set(key);
  out[key.length] = 0x02;
  return out;
}

/** `key ++ ChunkedKeySuffix{chunkId, isChunk: true}`: a chunk's key. */
export function keyWithChunkSuffix(key: Uint8Array, chunkId: ChunkId): Uint8Array {
  const w = new AvroWriter(key.length + 40);
  w.writeRaw(key);
  writeSuffix(w, { chunkId, isChunk: true });
  return w.toBytes();
}

export function encodeChunkedValueManifest(m: ChunkedValueManifest): Uint8Array {
  const w = new AvroWriter(16 + m.keysWithChunkIdSuffix.reduce((n, k) => n + k.length + 5, 0));
  // Avro arrays: one block (count, items) then a zero count, as Java's encoder writes them;
  // an empty array is just the zero.
  if (m.keysWithChunkIdSuffix.length > 0) {
    w.writeLong(m.keysWithChunkIdSuffix.length);
    for (const k of m.keysWithChunkIdSuffix) w.writeBytes(k);
  }
  w.writeLong(0);
  w.writeInt(m.schemaId).writeInt(m.size);
  return w.toBytes();
}

/** Decodes a manifest payload (without the 4-byte schema id). Key bytes are copies. */
export function decodeChunkedValueManifest(bytes: Uint8Array): ChunkedValueManifest {
  const r = new AvroReader(bytes);
  const keys: Uint8Array[] = [];
  for (;;) {
    let count = r.readLong();
    if (count === 0) break;
    if (count < 0) {
      // A negative count is followed by the block's size in bytes (Avro spec).
      count = -count;
      r.readLong();
    }
    for (let i = 0; i < count; i++) keys.push(r.readBytes().slice());
  }
  const schemaId = r.readInt();
  const size = r.readInt();
  if (!r.atEnd) throw new AvroDecodeError("Trailing bytes after ChunkedValueManifest");
  return { keysWithChunkIdSuffix: keys, schemaId, size };
}

/** Prefixes `payload` with the 4-byte big-endian schema id, as values are stored. */
export function withSchemaHeader(schemaId: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(SCHEMA_HEADER_LENGTH + payload.length);
  new DataView(out.buffer).setInt32(0, schemaId, false);
  out.set(payload, SCHEMA_HEADER_LENGTH);
  return out;
}

/** The schema id in a stored value's first 4 bytes. */
export function readSchemaHeader(value: Uint8Array): number {
  if (value.length < SCHEMA_HEADER_LENGTH) {
    throw new RangeError(`Stored value of ${value.length} bytes has no schema header`);
  }
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getInt32(0, false);
}

/** A RocksDB key/value pair as a Venice server stores it. */
export interface StoredEntry {
  key: Uint8Array;
  value: Uint8Array;
}

export interface ChunkingOptions {
  /** VeniceWriter's max.size.for.user.payload.per.message.in.bytes; default 950 KiB. */
  maxSizeForUserPayloadPerMessageInBytes?: number;
  /** The producer GUID Venice takes from the first chunk's Kafka message (16 bytes). */
  producerGUID?: Uint8Array;
  segmentNumber?: number;
  /** Sequence number of the first chunk's message; later chunks reuse it in their ChunkId. */
  messageSequenceNumber?: number;
}

/**
 * The RocksDB entries a Venice server holds for one record of a chunking-enabled version:
 * either one entry (`key ++ 02 00` -> [schemaId][value]) or, when key + value exceed the
 * limit, the chunks (`key ++ ChunkedKeySuffix` -> [-10][chunk]) followed by the manifest
 * (`key ++ 02 00` -> [-20][manifest]). `value` is the payload as the writer sends it
 * (already compressed with the version's strategy).
 */
export function chunkedStoreEntries(
  key: Uint8Array,
  value: Uint8Array,
  schemaId: number,
  options: ChunkingOptions = {},
): { entries: StoredEntry[]; manifest: ChunkedValueManifest | null } {
  const max = options.maxSizeForUserPayloadPerMessageInBytes ??
    DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES;
  const topLevelKey = keyWithNonChunkSuffix(key);
  if (key.length + value.length <= max) {
    return {
      entries: [{ key: topLevelKey, value: withSchemaHeader(schemaId, value) }],
      manifest: null,
    };
  }
  const perChunk = max - key.length;
  if (perChunk < Math.floor(max / 2)) {
    throw new RangeError(
      `Chunking cannot support this use case. The key is too large: ${key.length} bytes for a ${max}-byte message limit`,
    );
  }
  const guid = options.producerGUID ?? new Uint8Array(GUID_SIZE);
  if (guid.length !== GUID_SIZE) throw new RangeError("producerGUID must be 16 bytes");
  const numberOfChunks = Math.ceil(value.length / perChunk);
  const entries: StoredEntry[] = [];
  const manifest: ChunkedValueManifest = {
    keysWithChunkIdSuffix: [],
    schemaId,
    size: value.length,
  };
  for (let i = 0; i < numberOfChunks; i++) {
    const chunkKey = keyWithChunkSuffix(key, {
      producerGUID: guid,
      segmentNumber: options.segmentNumber ?? 0,
      messageSequenceNumber: options.messageSequenceNumber ?? 0,
      chunkIndex: i,
    });
    manifest.keysWithChunkIdSuffix.push(chunkKey);
    const chunk = value.subarray(i * perChunk, Math.min((i + 1) * perChunk, value.length));
    entries.push({ key: chunkKey, value: withSchemaHeader(CHUNK_SCHEMA_ID, chunk) });
  }
  entries.push({
    key: topLevelKey,
    value: withSchemaHeader(CHUNKED_VALUE_MANIFEST_SCHEMA_ID, encodeChunkedValueManifest(manifest)),
  });
  return { entries, manifest };
}

/** Raised when stored chunks do not reassemble into the manifest's value. */
export class ChunkAssemblyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChunkAssemblyError";
  }
}

/**
 * Reassembles a chunked value from its manifest payload, fetching each chunk's stored value
 * (with its 4-byte header) through `getChunk`. Returns the payload and the user schema id.
 */
export function assembleChunkedValue(
  manifestPayload: Uint8Array,
  getChunk: (chunkKey: Uint8Array) => Uint8Array | null | undefined,
): { schemaId: number; value: Uint8Array } {
  const m = decodeChunkedValueManifest(manifestPayload);
  if (m.size < 0) throw new ChunkAssemblyError(`Manifest has a negative size ${m.size}`);
  const out = new Uint8Array(m.size);
  let pos = 0;
  for (let i = 0; i < m.keysWithChunkIdSuffix.length; i++) {
    const stored = getChunk(m.keysWithChunkIdSuffix[i]);
    if (!stored) {
      throw new ChunkAssemblyError(`Chunk ${i} of ${m.keysWithChunkIdSuffix.length} is missing`);
    }
    const id = readSchemaHeader(stored);
    if (id !== CHUNK_SCHEMA_ID) {
      throw new ChunkAssemblyError(`Chunk ${i} has schema id ${id}, expected -10`);
    }
    const chunkLength = stored.length - SCHEMA_HEADER_LENGTH;
    if (pos + chunkLength > m.size) {
      throw new ChunkAssemblyError(`Chunks exceed the manifest size ${m.size}`);
    }
    out.set(stored.subarray(SCHEMA_HEADER_LENGTH), pos);
    pos += chunkLength;
  }
  if (pos !== m.size) {
    throw new ChunkAssemblyError(`Assembled ${pos} bytes, the manifest says ${m.size}`);
  }
  return { schemaId: m.schemaId, value: out };
}
