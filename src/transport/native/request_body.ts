/**
 * Assembling a unary call's request message from DATA payload: the 5-byte gRPC prefix
 * (compressed flag, big-endian length) as it arrives, then the message. A message that
 * arrives whole in the frame that ends the stream is kept as a view of the read buffer.
 */
import { GRPC_PREFIX_BYTES } from "./grpc_wire.ts";
import type { Stream } from "./stream.ts";

/** A request message split over frames starts in a buffer this big, then doubles. */
const INITIAL_BODY_BYTES = 16 * 1024;

/**
 * Adds `b[from, to)` to `s`'s request message. Returns -1, or the message length the
 * prefix declares when it exceeds `maxMessageBytes` (then nothing more is kept).
 */
export function appendRequestBytes(
  s: Stream,
  b: Uint8Array,
  from: number,
  to: number,
  endStream: boolean,
  maxMessageBytes: number,
): number {
  if (s.prefixGot === 0 && to - from >= GRPC_PREFIX_BYTES) {
    const length =
      ((b[from + 1] << 24) | (b[from + 2] << 16) | (b[from + 3] << 8) | b[from + 4]) >>>
      0;
    if (endStream && to - from - GRPC_PREFIX_BYTES === length) {
      // The common case: the whole message in the frame that ends the stream.
      if (length > maxMessageBytes) return length;
      s.compressedFlag = b[from];
      s.messageLength = length;
      s.prefixGot = GRPC_PREFIX_BYTES;
      s.body = b.subarray(from + GRPC_PREFIX_BYTES, to);
      s.bodyGot = length;
      s.bodyIsView = true;
      return -1;
    }
  }
  let i = from;
  while (s.prefixGot < GRPC_PREFIX_BYTES && i < to) {
    if (s.prefixGot === 0) s.compressedFlag = b[i];
    else s.messageLength = s.messageLength * 256 + b[i];
    s.prefixGot++;
    i++;
    if (s.prefixGot === GRPC_PREFIX_BYTES) {
      if (s.messageLength > maxMessageBytes) return s.messageLength;
      // Sized by what arrives, not by what the prefix claims: 5 bytes must not reserve
      // a 4 MiB buffer (the windows bound what a peer can make us hold).
      s.body = new Uint8Array(Math.min(s.messageLength, INITIAL_BODY_BYTES));
    }
  }
  if (i < to && s.body !== null) {
    const n = Math.min(to - i, s.messageLength - s.bodyGot);
    if (s.bodyGot + n > s.body.length) {
      const grown = new Uint8Array(
        Math.min(s.messageLength, Math.max(s.body.length * 2, s.bodyGot + n)),
      );
      grown.set(s.body.subarray(0, s.bodyGot));
      s.body = grown;
    }
    s.body.set(b.subarray(i, i + n), s.bodyGot);
    s.bodyGot += n;
    i += n;
  }
  if (i < to) s.extraBytes = true;
  return -1;
}
