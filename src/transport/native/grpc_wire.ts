/**
 * gRPC over HTTP/2 specifics (grpc/grpc doc/PROTOCOL-HTTP2.md): header blocks the server
 * sends, grpc-timeout parsing, grpc-message percent-encoding.
 */

import { encodeInteger, encodeLiteral, encodeString } from "./hpack.ts";

/** Static-table index of ":status: 200" and of the "content-type" and ":status" names. */
const INDEX_STATUS_200 = 8;
const INDEX_STATUS = 8;
const INDEX_CONTENT_TYPE = 31;

function block(build: (out: number[]) => void): Uint8Array {
  const out: number[] = [];
  build(out);
  return Uint8Array.from(out);
}

function responseHead(out: number[], httpStatus: number): void {
  if (httpStatus === 200) encodeInteger(out, INDEX_STATUS_200, 7, 0x80);
  else encodeLiteral(out, INDEX_STATUS, "", String(httpStatus));
  encodeLiteral(out, INDEX_CONTENT_TYPE, "", "application/grpc");
}

/** ":status: 200", "content-type: application/grpc": the start of every answer. */
export { GRPC_PREFIX_BYTES } from "./frames.ts";

export const RESPONSE_HEADERS_BLOCK = block((out) => responseHead(out, 200));

/** "grpc-status: 0": the trailers of every successful call. */
export const OK_TRAILERS_BLOCK = block((out) => encodeLiteral(out, 0, "grpc-status", "0"));

/**
 * A Trailers-Only response (headers and status in one block) for an error; also used for
 * non-200 HTTP answers such as 415, where gRPC clients still read grpc-status.
 */
export function statusBlock(
  httpStatus: number,
  grpcStatus: number,
  message: string,
  extra?: readonly [string, string][],
): Uint8Array {
  return block((out) => {
    responseHead(out, httpStatus);
    encodeLiteral(out, 0, "grpc-status", String(grpcStatus));
    if (message !== "") {
      out.push(0);
      encodeString(out, "grpc-message");
      encodeString(out, percentEncode(message));
    }
    if (extra) { for (const [name, value] of extra) encodeLiteral(out, 0, name, value); }
  });
}

const MAX_MESSAGE_CHARS = 1024;
const HEX = "0123456789ABCDEF";
const utf8 = new TextEncoder();

/**
 * grpc-message: UTF-8, then every byte outside 0x20..0x7E and '%' itself as %XX. Long
 * messages are cut so that a trailer block always fits one frame.
 */
export function percentEncode(message: string): string {
  const bytes = utf8.encode(
    message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS) : message,
  );
  let s = "";
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) s += String.fromCharCode(b);
    else s += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return s;
}

const TIMEOUT_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * grpc-timeout = 1..8 ASCII digits and a unit (H M S m u n). Returns milliseconds
 * (fractions rounded up, so 1n is 1 ms), or -1 when the value is malformed.
 */
export function parseGrpcTimeout(value: string): number {
  const n = value.length;
  if (n < 2 || n > 9) return -1;
  const unit = TIMEOUT_UNIT_MS[value[n - 1]];
  if (unit === undefined) return -1;
  let amount = 0;
  for (let i = 0; i < n - 1; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    amount = amount * 10 + c;
  }
  return Math.ceil(amount * unit);
}

/** application/grpc, optionally followed by "+format" or ";params" (not grpc-web). */
export function isGrpcContentType(value: string): boolean {
  if (!value.startsWith("application/grpc")) return false;
  if (value.length === 16) return true;
  const next = value.charCodeAt(16);
  return next === 0x2b /* + */ || next === 0x3b /* ; */;
}
