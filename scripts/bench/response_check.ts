/**
 * The load generator's check of one unary gRPC answer to a Venice read: gRPC status,
 * the gRPC frame, and the `VeniceServerResponse` fields that say whether the read
 * succeeded (errorCode, field 6) and how much it returned (data, field 2). It reads
 * nothing else, so checking costs little next to the request itself.
 */

/** VeniceReadResponseStatus.OK */
export const VENICE_OK = 200;

/** A failed check, named for the error table (e.g. "grpc-14", "venice--420"). */
export type CheckFailure = string;

/**
 * Returns null when `frame` (the whole response body) holds one uncompressed gRPC message
 * whose errorCode is 200 and whose data is at least `minDataBytes` long; otherwise a
 * short name of what was wrong.
 */
export function checkVeniceResponse(frame: Uint8Array, minDataBytes: number): CheckFailure | null {
  if (frame.length < 5) return "short-frame";
  if (frame[0] !== 0) return "compressed-frame";
  const len = ((frame[1] << 24) | (frame[2] << 16) | (frame[3] << 8) | frame[4]) >>> 0;
  if (5 + len !== frame.length) return "frame-length";
  let pos = 5;
  const end = frame.length;
  let errorCode = 0;
  let dataBytes = 0;
  // Varint reader over the message; returns -1 past the end.
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) return -1;
      const b = frame[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    return -1;
  };
  while (pos < end) {
    const tag = varint();
    if (tag < 0) return "bad-protobuf";
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (v < 0) return "bad-protobuf";
      if (field === 6) errorCode = v | 0; // uint32 carrying a signed code
    } else if (wire === 2) {
      const n = varint();
      if (n < 0 || pos + n > end) return "bad-protobuf";
      if (field === 2) dataBytes = n;
      pos += n;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else {
      return "bad-protobuf";
    }
  }
  if (pos !== end) return "bad-protobuf";
  if (errorCode !== VENICE_OK) return `venice-${errorCode}`;
  if (dataBytes < minDataBytes) return "short-data";
  return null;
}
