/** HTTP/2 framing constants (RFC 9113 §6, §7, §11) and the outbound frame buffer. */
import { copyBytes } from "../../bytes.ts";

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const FRAME_HEADER_BYTES = 9;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fff_ffff;
/** Each gRPC message's prefix: a compressed flag, then the length as a big-endian uint32. */
export const GRPC_PREFIX_BYTES = 5;

/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.4). */
export const CLIENT_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** An outbound buffer's first size: a few answers' worth; it doubles as needed. */
export const OUT_BUFFER_BYTES = 4 * 1024;

/**
 * Frames produced while handling one socket read accumulate here and leave in one write.
 * Growth doubles; the connection swaps two of these so that frames made while a write is
 * in flight go to the other one.
 */
export class OutBuffer {
  buf: Uint8Array;
  len = 0;

  constructor(initial = OUT_BUFFER_BYTES) {
    this.buf = new Uint8Array(initial);
  }

  ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  /** Writes a 9-byte frame header; the caller has ensured room for it and its payload. */
  header(length: number, type: number, flags: number, streamId: number): void {
    const b = this.buf;
    const p = this.len;
    b[p] = length >>> 16;
    b[p + 1] = (length >>> 8) & 0xff;
    b[p + 2] = length & 0xff;
    b[p + 3] = type;
    b[p + 4] = flags;
    b[p + 5] = (streamId >>> 24) & 0x7f;
    b[p + 6] = (streamId >>> 16) & 0xff;
    b[p + 7] = (streamId >>> 8) & 0xff;
    b[p + 8] = streamId & 0xff;
    this.len = p + 9;
  }

  u32(value: number): void {
    const b = this.buf;
    const p = this.len;
    b[p] = value >>> 24;
    b[p + 1] = (value >>> 16) & 0xff;
    b[p + 2] = (value >>> 8) & 0xff;
    b[p + 3] = value & 0xff;
    this.len = p + 4;
  }

  bytes(src: Uint8Array): void {
    this.buf.set(src, this.len);
    this.len += src.length;
  }

  windowUpdate(streamId: number, increment: number): void {
    this.ensure(13);
    this.header(4, FrameType.WINDOW_UPDATE, 0, streamId);
    this.u32(increment);
  }

  rstStream(streamId: number, code: number): void {
    this.ensure(13);
    this.header(4, FrameType.RST_STREAM, 0, streamId);
    this.u32(code);
  }

  goaway(lastStreamId: number, code: number): void {
    this.ensure(17);
    this.header(8, FrameType.GOAWAY, 0, 0);
    this.u32(lastStreamId);
    this.u32(code);
  }

  ping(flags: number, payload: Uint8Array, offset: number): void {
    this.ensure(17);
    this.header(8, FrameType.PING, flags, 0);
    this.buf.set(payload.subarray(offset, offset + 8), this.len);
    this.len += 8;
  }

  settingsAck(): void {
    this.ensure(9);
    this.header(0, FrameType.SETTINGS, Flag.ACK, 0);
  }

  settings(pairs: readonly (readonly [number, number])[]): void {
    this.ensure(FRAME_HEADER_BYTES + pairs.length * 6);
    this.header(pairs.length * 6, FrameType.SETTINGS, 0, 0);
    for (const [key, value] of pairs) {
      this.buf[this.len++] = key >> 8;
      this.buf[this.len++] = key & 0xff;
      this.u32(value);
    }
  }

  /** A HEADERS frame; `prefix`, when not null, is one byte put before the block. */
  headers(streamId: number, flags: number, block: Uint8Array, prefix: number | null): void {
    const extra = prefix === null ? 0 : 1;
    this.ensure(FRAME_HEADER_BYTES + extra + block.length);
    this.header(block.length + extra, FrameType.HEADERS, flags, streamId);
    if (prefix !== null) this.buf[this.len++] = prefix;
    this.bytes(block);
  }

  /**
   * One DATA frame of `n` bytes of a gRPC message framed as prefix + `message`, from
   * `offset` in that framing; the 5-byte prefix (flag 0, big-endian length) is made in
   * place, so the message is copied once, here.
   */
  messageData(streamId: number, message: Uint8Array, offset: number, n: number): void {
    this.ensure(FRAME_HEADER_BYTES + n);
    this.header(n, FrameType.DATA, 0, streamId);
    const length = message.length;
    const stop = offset + n;
    const buf = this.buf;
    while (offset < GRPC_PREFIX_BYTES && offset < stop) {
      buf[this.len++] = offset === 0 ? 0 : (length >>> (8 * (4 - offset))) & 0xff;
      offset++;
    }
    if (offset < stop) {
      copyBytes(buf, this.len, message, offset - GRPC_PREFIX_BYTES, stop - GRPC_PREFIX_BYTES);
      this.len += stop - offset;
    }
  }
}
