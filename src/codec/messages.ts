/**
 * Hand-written codecs for Venice's `VeniceClientRequest` and `VeniceServerResponse`
 * (proto/VeniceReadService.proto, mirroring linkedin/venice
 * internal/venice-common/src/main/proto/VeniceReadService.proto).
 *
 * Server direction: `ClientRequestView.decode` parses a request into a reusable object that
 * holds offsets into the caller's bytes, and `encodeServerResponse` writes a response into
 * one right-sized buffer. Client direction: `encodeClientRequest` and
 * `decodeServerResponse` work on plain objects.
 *
 * Decoding follows Java protobuf's proto3 rules: fields may come in any order and the last
 * occurrence wins; unknown fields (any wire type) are skipped; a known field number that
 * arrives with an unexpected wire type is treated as unknown, as Java's generated parser
 * does (it switches on the whole tag); strings must be valid UTF-8.
 */

import { copyBytes } from "../bytes.ts";
import { allocateBytes } from "../slab.ts";
import {
  isValidUtf8,
  lengthDelimitedFieldSize,
  MalformedMessageError,
  type ProtoCursor,
  readLengthDelimited,
  readTag,
  readVarint32,
  skipField,
  tagOf,
  varint32Size,
  WireType,
  writeLengthDelimited,
  writeVarint32,
  zigzagDecode32,
  zigzagEncode32,
} from "./protobuf.ts";

export { MalformedMessageError } from "./protobuf.ts";

// Tags (field number << 3 | wire type) of VeniceClientRequest.
const REQ_PARTITION = tagOf(1, WireType.VARINT);
const REQ_KEY_STRING = tagOf(2, WireType.LEN);
const REQ_KEY_BYTES = tagOf(3, WireType.LEN);
const REQ_RESOURCE_NAME = tagOf(5, WireType.LEN);
const REQ_IS_STREAMING = tagOf(7, WireType.VARINT);
const REQ_IS_RETRY = tagOf(8, WireType.VARINT);
const REQ_IS_BATCH = tagOf(9, WireType.VARINT);
const REQ_METHOD = tagOf(10, WireType.LEN);

// Tags of VeniceServerResponse.
const RES_SCHEMA_ID = tagOf(1, WireType.VARINT); // sint32
const RES_DATA = tagOf(2, WireType.LEN);
const RES_COMPRESSION = tagOf(3, WireType.VARINT);
const RES_RCU = tagOf(4, WireType.VARINT);
const RES_IS_STREAMING = tagOf(5, WireType.VARINT);
const RES_ERROR_CODE = tagOf(6, WireType.VARINT); // uint32 carrying negative codes
const RES_ERROR_MESSAGE = tagOf(7, WireType.LEN);

/** A `VeniceClientRequest` as plain values (client side, tests). */
export interface VeniceClientRequest {
  partition: number;
  keyString: string;
  keyBytes: Uint8Array;
  resourceName: string;
  isStreamingRequest: boolean;
  isRetryRequest: boolean;
  isBatchRequest: boolean;
  method: string;
}

/** A `VeniceServerResponse` as plain values. `errorCode` is signed (e.g. -420). */
export interface VeniceServerResponse {
  schemaId: number;
  data: Uint8Array;
  compressionStrategy: number;
  responseRCU: number;
  isStreamingResponse: boolean;
  errorCode: number;
  errorMessage: string;
}

const EMPTY = new Uint8Array(0);
const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * A decoded request that points into the bytes it was decoded from. One instance is meant
 * to be reused per connection or worker: `decode` resets every field. The view is valid only
 * while those bytes are; `keyBytes()` returns a subarray (no copy), so a caller that keeps
 * key bytes past the call copies them.
 */
export class ClientRequestView {
  buf: Uint8Array = EMPTY;
  /** uint32 field read as an unsigned number. */
  partition = 0;
  keyStringStart = 0;
  keyStringEnd = 0;
  keyBytesStart = 0;
  keyBytesEnd = 0;
  resourceNameStart = 0;
  resourceNameEnd = 0;
  methodStart = 0;
  methodEnd = 0;
  isStreamingRequest = false;
  isRetryRequest = false;
  isBatchRequest = false;

  readonly #cursor: ProtoCursor = { buf: EMPTY, pos: 0, end: 0 };
  // One-entry cache: most traffic repeats the same resource name.
  #lastResourceBytes: Uint8Array = EMPTY;
  #lastResourceName = "";

  /** Parses `buf` into this view; throws `MalformedMessageError` on bad input. */
  decode(buf: Uint8Array): this {
    this.buf = buf;
    this.partition = 0;
    this.keyStringStart = this.keyStringEnd = 0;
    this.keyBytesStart = this.keyBytesEnd = 0;
    this.resourceNameStart = this.resourceNameEnd = 0;
    this.methodStart = this.methodEnd = 0;
    this.isStreamingRequest = this.isRetryRequest = this.isBatchRequest = false;
    const c = this.#cursor;
    c.buf = buf;
    c.pos = 0;
    c.end = buf.length;
    while (c.pos < c.end) {
      const tag = readTag(c);
      switch (tag) {
        case REQ_PARTITION:
          this.partition = readVarint32(c);
          break;
        case REQ_KEY_STRING:
          this.keyStringStart = readLengthDelimited(c);
          this.keyStringEnd = c.pos;
          checkUtf8(buf, this.keyStringStart, c.pos, "keyString");
          break;
        case REQ_KEY_BYTES:
          this.keyBytesStart = readLengthDelimited(c);
          this.keyBytesEnd = c.pos;
          break;
        case REQ_RESOURCE_NAME:
          this.resourceNameStart = readLengthDelimited(c);
          this.resourceNameEnd = c.pos;
          checkUtf8(buf, this.resourceNameStart, c.pos, "resourceName");
          break;
        case REQ_IS_STREAMING:
          this.isStreamingRequest = readVarint32(c) !== 0;
          break;
        case REQ_IS_RETRY:
          this.isRetryRequest = readVarint32(c) !== 0;
          break;
        case REQ_IS_BATCH:
          this.isBatchRequest = readVarint32(c) !== 0;
          break;
        case REQ_METHOD:
          this.methodStart = readLengthDelimited(c);
          this.methodEnd = c.pos;
          checkUtf8(buf, this.methodStart, c.pos, "method");
          break;
        default:
          skipField(c, tag);
      }
    }
    return this;
  }

  /** The batch-get key payload, as a subarray of the request bytes. */
  keyBytes(): Uint8Array {
    return this.buf.subarray(this.keyBytesStart, this.keyBytesEnd);
  }

  keyString(): string {
    return textDecoder.decode(this.buf.subarray(this.keyStringStart, this.keyStringEnd));
  }

  /** The resource name; repeated names come from a one-entry cache without decoding. */
  resourceName(): string {
    const start = this.resourceNameStart;
    const end = this.resourceNameEnd;
    if (!rangeEquals(this.buf, start, end, this.#lastResourceBytes)) {
      this.#lastResourceBytes = this.buf.slice(start, end);
      this.#lastResourceName = textDecoder.decode(this.#lastResourceBytes);
    }
    return this.#lastResourceName;
  }

  method(): string {
    if (this.methodIs(METHOD_GET)) return "GET";
    if (this.methodIs(METHOD_POST)) return "POST";
    return textDecoder.decode(this.buf.subarray(this.methodStart, this.methodEnd));
  }

  /** Compares the method field with ASCII bytes without decoding it. */
  methodIs(ascii: Uint8Array): boolean {
    return rangeEquals(this.buf, this.methodStart, this.methodEnd, ascii);
  }

  /** Copies the view into a plain object (tests, logging). */
  toObject(): VeniceClientRequest {
    return {
      partition: this.partition,
      keyString: this.keyString(),
      keyBytes: this.keyBytes().slice(),
      resourceName: this.resourceName(),
      isStreamingRequest: this.isStreamingRequest,
      isRetryRequest: this.isRetryRequest,
      isBatchRequest: this.isBatchRequest,
      method: this.method(),
    };
  }
}

/** ASCII bytes of the two methods the Fast Client sends (GrpcTransportClient). */
export const METHOD_GET: Uint8Array = textEncoder.encode("GET");
export const METHOD_POST: Uint8Array = textEncoder.encode("POST");

/** Writes a single-byte tag followed by varint 1 (a true bool). */
function writeTrue(out: Uint8Array, p: number, tag: number): number {
  out[p] = tag;
  out[p + 1] = 1;
  return p + 2;
}

function checkUtf8(buf: Uint8Array, start: number, end: number, field: string): void {
  if (!isValidUtf8(buf, start, end)) {
    throw new MalformedMessageError(`Field "${field}" is not valid UTF-8`);
  }
}

/** Whether `buf[start, end)` holds the bytes of `other` (no view made: the hot path's). */
function rangeEquals(buf: Uint8Array, start: number, end: number, other: Uint8Array): boolean {
  if (end - start !== other.length) return false;
  for (let i = 0; i < other.length; i++) if (buf[start + i] !== other[i]) return false;
  return true;
}

/** Decodes a request into a fresh plain object (allocating; not for the hot path). */
export function decodeClientRequest(buf: Uint8Array): VeniceClientRequest {
  return new ClientRequestView().decode(buf).toObject();
}

/** Encodes a request the way the Fast Client's protobuf-java would (fields in number order). */
export function encodeClientRequest(req: Partial<VeniceClientRequest>): Uint8Array {
  const keyString = req.keyString ? textEncoder.encode(req.keyString) : EMPTY;
  const keyBytes = req.keyBytes ?? EMPTY;
  const resourceName = req.resourceName ? textEncoder.encode(req.resourceName) : EMPTY;
  const method = req.method ? textEncoder.encode(req.method) : EMPTY;
  const partition = (req.partition ?? 0) >>> 0;
  let size = 0;
  if (partition !== 0) size += 1 + varint32Size(partition);
  if (keyString.length) size += lengthDelimitedFieldSize(2, keyString.length);
  if (keyBytes.length) size += lengthDelimitedFieldSize(3, keyBytes.length);
  if (resourceName.length) size += lengthDelimitedFieldSize(5, resourceName.length);
  if (req.isStreamingRequest) size += 2;
  if (req.isRetryRequest) size += 2;
  if (req.isBatchRequest) size += 2;
  if (method.length) size += lengthDelimitedFieldSize(10, method.length);
  const out = new Uint8Array(size);
  let p = 0;
  if (partition !== 0) {
    out[p++] = REQ_PARTITION;
    p = writeVarint32(out, p, partition);
  }
  if (keyString.length) {
    out[p++] = REQ_KEY_STRING;
    p = writeLengthDelimited(out, p, keyString);
  }
  if (keyBytes.length) {
    out[p++] = REQ_KEY_BYTES;
    p = writeLengthDelimited(out, p, keyBytes);
  }
  if (resourceName.length) {
    out[p++] = REQ_RESOURCE_NAME;
    p = writeLengthDelimited(out, p, resourceName);
  }
  if (req.isStreamingRequest) p = writeTrue(out, p, REQ_IS_STREAMING);
  if (req.isRetryRequest) p = writeTrue(out, p, REQ_IS_RETRY);
  if (req.isBatchRequest) p = writeTrue(out, p, REQ_IS_BATCH);
  if (method.length) {
    out[p++] = REQ_METHOD;
    p = writeLengthDelimited(out, p, method);
  }
  return out;
}

/** The fields of a response other than its data payload. */
export interface ServerResponseHeader {
  schemaId?: number;
  compressionStrategy?: number;
  responseRCU?: number;
  isStreamingResponse?: boolean;
  /** Signed; written as its 32-bit two's complement (-420 becomes 4294966876). */
  errorCode?: number;
  /** UTF-8 bytes of the message; pass pre-encoded constants on hot paths. */
  errorMessage?: Uint8Array;
}

/**
 * The encoded size of a response with `dataLength` bytes of data, and (through
 * `responseDataOffset`) where those bytes go. Proto3 defaults (0, false, empty) are omitted.
 */
export function serverResponseSize(h: ServerResponseHeader, dataLength: number): number {
  let size = 0;
  const schemaId = h.schemaId ?? 0;
  if (schemaId !== 0) size += 1 + varint32Size(zigzagEncode32(schemaId));
  if (dataLength > 0) size += lengthDelimitedFieldSize(2, dataLength);
  const compression = (h.compressionStrategy ?? 0) >>> 0;
  if (compression !== 0) size += 1 + varint32Size(compression);
  const rcu = (h.responseRCU ?? 0) >>> 0;
  if (rcu !== 0) size += 1 + varint32Size(rcu);
  if (h.isStreamingResponse) size += 2;
  const errorCode = (h.errorCode ?? 0) >>> 0;
  if (errorCode !== 0) size += 1 + varint32Size(errorCode);
  const msgLen = h.errorMessage?.length ?? 0;
  if (msgLen) size += lengthDelimitedFieldSize(7, msgLen);
  return size;
}

/** Offset of the data payload inside the buffer `writeServerResponse` fills. */
export function responseDataOffset(h: ServerResponseHeader, dataLength: number): number {
  const schemaId = h.schemaId ?? 0;
  let p = 0;
  if (schemaId !== 0) p += 1 + varint32Size(zigzagEncode32(schemaId));
  if (dataLength > 0) p += 1 + varint32Size(dataLength);
  return p;
}

/**
 * Writes every field of a response into a buffer of exactly `serverResponseSize(h,
 * dataLength)` bytes, leaving `dataLength` bytes at `responseDataOffset(h, dataLength)`
 * for the caller to fill (e.g. multiget records written in place). Fields are in field
 * number order, as protobuf-java writes them.
 */
export function writeServerResponse(
  h: ServerResponseHeader,
  dataLength: number,
): Uint8Array {
  const out = allocateBytes(serverResponseSize(h, dataLength));
  let p = 0;
  const schemaId = h.schemaId ?? 0;
  if (schemaId !== 0) {
    out[p++] = RES_SCHEMA_ID;
    p = writeVarint32(out, p, zigzagEncode32(schemaId));
  }
  if (dataLength > 0) {
    out[p++] = RES_DATA;
    p = writeVarint32(out, p, dataLength);
    p += dataLength;
  }
  const compression = (h.compressionStrategy ?? 0) >>> 0;
  if (compression !== 0) {
    out[p++] = RES_COMPRESSION;
    p = writeVarint32(out, p, compression);
  }
  const rcu = (h.responseRCU ?? 0) >>> 0;
  if (rcu !== 0) {
    out[p++] = RES_RCU;
    p = writeVarint32(out, p, rcu);
  }
  if (h.isStreamingResponse) p = writeTrue(out, p, RES_IS_STREAMING);
  const errorCode = (h.errorCode ?? 0) >>> 0;
  if (errorCode !== 0) {
    out[p++] = RES_ERROR_CODE;
    p = writeVarint32(out, p, errorCode);
  }
  const msg = h.errorMessage;
  if (msg && msg.length) {
    out[p++] = RES_ERROR_MESSAGE;
    p = writeLengthDelimited(out, p, msg);
  }
  return out;
}

/**
 * Encodes a whole response with its data, `data` from `from` on (a stored value after its
 * schema id, without a view of it), sizing the output once.
 */
export function encodeServerResponse(
  h: ServerResponseHeader,
  data?: Uint8Array,
  from = 0,
): Uint8Array {
  const len = data === undefined ? 0 : data.length - from;
  const out = writeServerResponse(h, len);
  if (len > 0) copyBytes(out, responseDataOffset(h, len), data!, from, data!.length);
  return out;
}

/**
 * Decodes a response (client side). `data` is a subarray of `buf`; `errorCode` is returned
 * signed, so -420 reads back as -420.
 */
export function decodeServerResponse(buf: Uint8Array): VeniceServerResponse {
  const res: VeniceServerResponse = {
    schemaId: 0,
    data: EMPTY,
    compressionStrategy: 0,
    responseRCU: 0,
    isStreamingResponse: false,
    errorCode: 0,
    errorMessage: "",
  };
  const c: ProtoCursor = { buf, pos: 0, end: buf.length };
  while (c.pos < c.end) {
    const tag = readTag(c);
    switch (tag) {
      case RES_SCHEMA_ID:
        res.schemaId = zigzagDecode32(readVarint32(c));
        break;
      case RES_DATA: {
        const start = readLengthDelimited(c);
        res.data = buf.subarray(start, c.pos);
        break;
      }
      case RES_COMPRESSION:
        res.compressionStrategy = readVarint32(c);
        break;
      case RES_RCU:
        res.responseRCU = readVarint32(c);
        break;
      case RES_IS_STREAMING:
        res.isStreamingResponse = readVarint32(c) !== 0;
        break;
      case RES_ERROR_CODE:
        res.errorCode = readVarint32(c) | 0;
        break;
      case RES_ERROR_MESSAGE: {
        const start = readLengthDelimited(c);
        checkUtf8(buf, start, c.pos, "errorMessage");
        res.errorMessage = textDecoder.decode(buf.subarray(start, c.pos));
        break;
      }
      default:
        skipField(c, tag);
    }
  }
  return res;
}
