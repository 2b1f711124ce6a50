/**
 * Proto3 wire-format primitives (https://protobuf.dev/programming-guides/encoding/), just
 * enough for Venice's two read messages. Readers work on a plain cursor object so that a
 * request decode allocates nothing; writers write into a caller-sized Uint8Array at an
 * offset and return the next offset.
 */

/** Raised when bytes are not a well-formed protobuf message; maps to INVALID_ARGUMENT. */
export class MalformedMessageError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "MalformedMessageError";
  }
}

/** The six wire types of the protobuf encoding; 6 and 7 are invalid. */
export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  SGROUP: 3,
  EGROUP: 4,
  I32: 5,
} as const;

/** Protobuf allows at most 10 bytes for a varint (a full 64-bit value). */
const MAX_VARINT_BYTES = 10;
/** Groups can nest; a malicious message must not recurse without bound. */
const MAX_GROUP_DEPTH = 64;

/** A read position over one message. Reused across calls by the lean decoders. */
export interface ProtoCursor {
  buf: Uint8Array;
  pos: number;
  end: number;
}

/**
 * Reads a varint and returns its low 32 bits as an unsigned number, the way proto3 reads
 * uint32/int32/bool fields: upper bits of a longer (up to 10-byte) varint are discarded.
 */
export function readVarint32(c: ProtoCursor): number {
  const buf = c.buf;
  let pos = c.pos;
  const end = c.end;
  // Fast path: one byte.
  if (pos < end) {
    const b = buf[pos];
    if (b < 0x80) {
      c.pos = pos + 1;
      return b;
    }
  }
  let result = 0;
  let shift = 0;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (pos >= end) throw new MalformedMessageError("Truncated varint");
    const b = buf[pos++];
    if (shift < 32) result |= (b & 0x7f) << shift;
    shift += 7;
    if (b < 0x80) {
      if (i === MAX_VARINT_BYTES - 1 && b > 1) {
        throw new MalformedMessageError("Varint exceeds 64 bits");
      }
      c.pos = pos;
      return result >>> 0;
    }
  }
  throw new MalformedMessageError("Varint longer than 10 bytes");
}

/** Skips one varint, checking it is well formed. */
function skipVarint(c: ProtoCursor): void {
  readVarint32(c);
}

/** Reads a field tag; returns `fieldNumber << 3 | wireType` as an unsigned number. */
export function readTag(c: ProtoCursor): number {
  const tag = readVarint32(c);
  if (tag >>> 3 === 0) throw new MalformedMessageError("Invalid field number 0");
  const wireType = tag & 7;
  if (wireType > 5) {
    throw new MalformedMessageError(`Invalid wire type ${wireType} for field ${tag >>> 3}`);
  }
  return tag;
}

/**
 * Reads the length prefix of a LEN field and checks the payload fits; returns the
 * payload's start offset and leaves the cursor after the payload.
 */
export function readLengthDelimited(c: ProtoCursor): number {
  const len = readVarint32(c);
  const start = c.pos;
  // A varint length above 2^31 arrives as a large unsigned number and fails this check.
  if (len > c.end - start) {
    throw new MalformedMessageError(
      `Length ${len} at offset ${start} runs past the end of the message (${c.end})`,
    );
  }
  c.pos = start + len;
  return start;
}

/**
 * Skips the value of a field whose tag was just read, for every wire type including
 * (deprecated) groups, which are skipped up to their matching end-group tag.
 */
export function skipField(c: ProtoCursor, tag: number, depth = 0): void {
  switch (tag & 7) {
    case WireType.VARINT:
      skipVarint(c);
      return;
    case WireType.I64:
      skipBytes(c, 8);
      return;
    case WireType.LEN:
      readLengthDelimited(c);
      return;
    case WireType.I32:
      skipBytes(c, 4);
      return;
    case WireType.SGROUP: {
      if (depth >= MAX_GROUP_DEPTH) throw new MalformedMessageError("Groups nested too deeply");
      const field = tag >>> 3;
      for (;;) {
        if (c.pos >= c.end) throw new MalformedMessageError(`Unterminated group ${field}`);
        const inner = readTag(c);
        if ((inner & 7) === WireType.EGROUP) {
          if (inner >>> 3 !== field) {
            throw new MalformedMessageError(
              `End-group tag ${inner >>> 3} does not match group ${field}`,
            );
          }
          return;
        }
        skipField(c, inner, depth + 1);
      }
    }
    case WireType.EGROUP:
      throw new MalformedMessageError(`Unexpected end-group tag for field ${tag >>> 3}`);
    default:
      throw new MalformedMessageError(`Invalid wire type ${tag & 7}`);
  }
}

function skipBytes(c: ProtoCursor, n: number): void {
  if (c.end - c.pos < n) throw new MalformedMessageError("Truncated fixed-width field");
  c.pos += n;
}

/**
 * Checks that `buf[start, end)` is valid UTF-8 (no overlongs, no surrogates, nothing past
 * U+10FFFF), as Java's proto3 `readStringRequireUtf8` demands. Allocation-free.
 */
export function isValidUtf8(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      if (i + 1 >= end || (buf[i + 1] & 0xc0) !== 0x80) return false;
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      if (i + 2 >= end) return false;
      const b1 = buf[i + 1];
      if ((b1 & 0xc0) !== 0x80 || (buf[i + 2] & 0xc0) !== 0x80) return false;
      if (b === 0xe0 && b1 < 0xa0) return false; // overlong
      if (b === 0xed && b1 > 0x9f) return false; // UTF-16 surrogate
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      if (i + 3 >= end) return false;
      const b1 = buf[i + 1];
      if (
        (b1 & 0xc0) !== 0x80 || (buf[i + 2] & 0xc0) !== 0x80 || (buf[i + 3] & 0xc0) !== 0x80
      ) return false;
      if (b === 0xf0 && b1 < 0x90) return false; // overlong
      if (b === 0xf4 && b1 > 0x8f) return false; // above U+10FFFF
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

/** Decodes a zigzag-encoded sint32 from the unsigned 32-bit varint value. */
export function zigzagDecode32(n: number): number {
  return (n >>> 1) ^ -(n & 1);
}

/** Zigzag-encodes a signed 32-bit integer into its unsigned 32-bit form. */
export function zigzagEncode32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

// ---- writing ----

/** Bytes needed for an unsigned 32-bit varint (negative int32 callers pass `n >>> 0`). */
export function varint32Size(n: number): number {
  n = n >>> 0;
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

/** Writes an unsigned 32-bit varint at `pos`; returns the next offset. */
export function writeVarint32(buf: Uint8Array, pos: number, n: number): number {
  n = n >>> 0;
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** Writes `bytes` as a LEN payload (length prefix then bytes); returns the next offset. */
export function writeLengthDelimited(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = writeVarint32(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** The encoded size of a LEN field (tag, length, payload) for a small field number. */
export function lengthDelimitedFieldSize(fieldNumber: number, payloadLength: number): number {
  return varint32Size(fieldNumber << 3) + varint32Size(payloadLength) + payloadLength;
}

/** Builds a tag value. */
export function tagOf(fieldNumber: number, wireType: number): number {
  return ((fieldNumber << 3) | wireType) >>> 0;
}
