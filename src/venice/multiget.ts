/**
 * Batch-get payloads, as Venice frames them: a plain concatenation of Avro records with no
 * array framing, read until the bytes run out.
 *
 * Request (client -> server), `MultiGetRouterRequestKeyV1`
 * (linkedin/venice internal/venice-client-common/src/main/resources/avro/MultiGetRouterRequestKeyV1.avsc):
 *   { keyIndex: int, keyBytes: bytes, partitionId: int }
 * The Fast Client numbers keys 0..n-1 in request order
 * (clients/venice-client/.../fastclient/DispatchingAvroGenericStoreClient.java
 * serializeMultiGetRequest); the server parses with deserializeObjects until the decoder is
 * at its end (services/venice-server/.../listener/request/MultiGetRouterRequestWrapper.java).
 *
 * Response (server -> client), `MultiGetResponseRecordV1`
 * (internal/venice-client-common/src/main/resources/avro/MultiGetResponseRecordV1.avsc):
 *   { keyIndex: int, value: bytes, schemaId: int }
 * Found keys only; for a streaming request a missing key gets a record with
 * keyIndex = -keyIndex (Math.negateExact), schemaId = -1000 and an empty value
 * (services/venice-server/.../listener/StorageReadRequestHandler.java,
 * internal/venice-client-common/.../streaming/StreamingConstants.java NON_EXISTING_KEY_SCHEMA_ID).
 * The response's protobuf schemaId is this protocol's version, 1.
 */

import {
  AvroDecodeError,
  AvroReader,
  AvroWriter,
  bytesSize,
  intSize,
  writeBytesAt,
  writeIntAt,
} from "./avro_binary.ts";

/** Version of the multiget request and response protocols (ReadAvroProtocolDefinition). */
export const MULTI_GET_PROTOCOL_VERSION = 1;
/** schemaId of a streaming response record for a key that does not exist. */
export const NON_EXISTING_KEY_SCHEMA_ID = -1000;

export interface MultiGetRouterRequestKey {
  keyIndex: number;
  keyBytes: Uint8Array;
  partitionId: number;
}

export interface MultiGetResponseRecord {
  keyIndex: number;
  value: Uint8Array;
  schemaId: number;
}

/**
 * Parsed request keys as parallel arrays of offsets into the request bytes, so that a
 * batch of N keys costs no per-key objects. Reuse one instance; `parse` resets it.
 */
export class MultiGetRequestKeys {
  buf: Uint8Array = new Uint8Array(0);
  count = 0;
  keyIndex: Int32Array;
  partitionId: Int32Array;
  keyStart: Uint32Array;
  keyEnd: Uint32Array;
  readonly #reader = new AvroReader();

  constructor(initialCapacity = 16) {
    this.keyIndex = new Int32Array(initialCapacity);
    this.partitionId = new Int32Array(initialCapacity);
    this.keyStart = new Uint32Array(initialCapacity);
    this.keyEnd = new Uint32Array(initialCapacity);
  }

  /** Parses records until the bytes run out; throws `AvroDecodeError` on malformed input. */
  parse(bytes: Uint8Array): this {
    this.buf = bytes;
    this.count = 0;
    const r = this.#reader.reset(bytes);
    while (!r.atEnd) {
      if (this.count === this.keyIndex.length) this.#grow();
      const i = this.count;
      this.keyIndex[i] = r.readInt();
      this.keyStart[i] = r.readBytesStart();
      this.keyEnd[i] = r.pos;
      this.partitionId[i] = r.readInt();
      this.count = i + 1;
    }
    return this;
  }

  /** Key `i`'s bytes as a subarray of the request (no copy). */
  keyBytes(i: number): Uint8Array {
    return this.buf.subarray(this.keyStart[i], this.keyEnd[i]);
  }

  #grow(): void {
    const cap = this.keyIndex.length * 2 || 16;
    const grow = <T extends Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(a);
      return next;
    };
    this.keyIndex = grow(this.keyIndex, (n) => new Int32Array(n));
    this.partitionId = grow(this.partitionId, (n) => new Int32Array(n));
    this.keyStart = grow(this.keyStart, (n) => new Uint32Array(n));
    this.keyEnd = grow(this.keyEnd, (n) => new Uint32Array(n));
  }
}

/** Decodes request keys into plain objects (client tests, tools; allocates per key). */
export function decodeMultiGetRequestKeys(bytes: Uint8Array): MultiGetRouterRequestKey[] {
  const keys = new MultiGetRequestKeys().parse(bytes);
  const out: MultiGetRouterRequestKey[] = [];
  for (let i = 0; i < keys.count; i++) {
    out.push({
      keyIndex: keys.keyIndex[i],
      keyBytes: keys.keyBytes(i),
      partitionId: keys.partitionId[i],
    });
  }
  return out;
}

/** Encodes request keys as the Fast Client does. */
export function encodeMultiGetRequestKeys(keys: readonly MultiGetRouterRequestKey[]): Uint8Array {
  const w = new AvroWriter(keys.length * 16);
  for (const k of keys) w.writeInt(k.keyIndex).writeBytes(k.keyBytes).writeInt(k.partitionId);
  return w.toBytes();
}

/** Encoded size of one response record. */
export function multiGetResponseRecordSize(
  keyIndex: number,
  valueLength: number,
  schemaId: number,
): number {
  return intSize(keyIndex) + bytesSize(valueLength) + intSize(schemaId);
}

/** Writes one response record at `pos` of a buffer sized with `multiGetResponseRecordSize`. */
export function writeMultiGetResponseRecord(
  out: Uint8Array,
  pos: number,
  keyIndex: number,
  value: Uint8Array,
  schemaId: number,
): number {
  pos = writeIntAt(out, pos, keyIndex);
  pos = writeBytesAt(out, pos, value);
  return writeIntAt(out, pos, schemaId);
}

/** The record a streaming batch get sends for a missing key. */
export function missingKeyRecord(keyIndex: number): MultiGetResponseRecord {
  // Java's Math.negateExact(0) is 0; `| 0` keeps JS from producing -0.
  return {
    keyIndex: -keyIndex | 0,
    value: new Uint8Array(0),
    schemaId: NON_EXISTING_KEY_SCHEMA_ID,
  };
}

/** Encodes records into one buffer, sized once. */
export function encodeMultiGetResponseRecords(
  records: readonly MultiGetResponseRecord[],
): Uint8Array {
  let size = 0;
  for (const r of records) {
    size += multiGetResponseRecordSize(r.keyIndex, r.value.length, r.schemaId);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const r of records) {
    pos = writeMultiGetResponseRecord(out, pos, r.keyIndex, r.value, r.schemaId);
  }
  return out;
}

/** Decodes response records (client side); values are subarrays of `bytes`. */
export function decodeMultiGetResponseRecords(bytes: Uint8Array): MultiGetResponseRecord[] {
  const r = new AvroReader(bytes);
  const out: MultiGetResponseRecord[] = [];
  while (!r.atEnd) {
    const keyIndex = r.readInt();
    const value = r.readBytes();
    const schemaId = r.readInt();
    out.push({ keyIndex, value, schemaId });
  }
  return out;
}

export { AvroDecodeError };
