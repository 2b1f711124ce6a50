/**
 * What a request gets before its handler runs: from its header block, a route and a
 * deadline, a Trailers-Only answer, or a reset as malformed; from its assembled body, a
 * reason it cannot be a unary call's one request message.
 */
import { GrpcStatus, type UnaryHandler, type UnaryRouter } from "../types.ts";
import { GRPC_PREFIX_BYTES, isGrpcContentType, parseGrpcTimeout } from "./grpc_wire.ts";
import type { RequestHeaders, Stream } from "./stream.ts";

/** A Trailers-Only answer: HTTP status, gRPC status and message, extra headers. */
export interface StatusAnswer {
  readonly http: number;
  readonly grpc: number;
  readonly message: string;
  readonly extra?: readonly [string, string][];
}

/**
 * A request to run: its handler, and its deadline (performance.now() ms; 0: none). One
 * per connection, refilled for each request: the hot path allocates nothing here.
 */
export class RoutedRequest {
  handler: UnaryHandler | null = null;
  deadlineAt = 0;
}

/** Malformed per RFC 9113 §8.1.1: the stream is reset with PROTOCOL_ERROR. */
export const MALFORMED = "malformed";

/** What decoding said about a header block beyond the fields (HpackDecoder flags). */
export interface BlockFlags {
  readonly malformed: boolean;
  readonly listTooLarge: boolean;
}

/**
 * Decides a request from its header block: null when it is to run (`into` then holds its
 * handler and deadline, which `now` starts), else its answer or MALFORMED.
 */
export function routeRequest(
  h: RequestHeaders,
  block: BlockFlags,
  endStream: boolean,
  router: UnaryRouter,
  now: number,
  into: RoutedRequest,
): StatusAnswer | typeof MALFORMED | null {
  if (
    h.bad || block.malformed || h.method === "" || h.scheme === "" || h.path === "" ||
    (h.te !== "" && h.te !== "trailers") || (endStream && h.contentLength > 0)
  ) {
    return MALFORMED;
  }
  if (block.listTooLarge) {
    return { http: 431, grpc: GrpcStatus.RESOURCE_EXHAUSTED, message: "Header list too large" };
  }
  if (h.method !== "POST") {
    return { http: 405, grpc: GrpcStatus.UNIMPLEMENTED, message: `Method ${h.method} not allowed` };
  }
  if (!isGrpcContentType(h.contentType)) {
    return {
      http: 415,
      grpc: GrpcStatus.INVALID_ARGUMENT,
      message: `Unsupported content-type "${h.contentType}"`,
    };
  }
  const handler = router.route(h.path);
  if (handler === undefined) {
    return { http: 200, grpc: GrpcStatus.UNIMPLEMENTED, message: `Method not found: ${h.path}` };
  }
  into.handler = handler;
  into.deadlineAt = 0;
  if (h.timeout === "") return null;
  const ms = parseGrpcTimeout(h.timeout);
  if (ms < 0) {
    return {
      http: 200,
      grpc: GrpcStatus.INTERNAL,
      message: `Malformed grpc-timeout "${h.timeout}"`,
    };
  }
  // From the read that brought the request (grpc-java and the Fast Client set one on
  // every call): a clock read fewer per call.
  into.deadlineAt = now + ms;
  return null;
}

const ACCEPT_IDENTITY: readonly [string, string][] = [["grpc-accept-encoding", "identity"]];

/** Why a complete request body is not one uncompressed request message, or null. */
export function messageProblem(s: Stream): StatusAnswer | null {
  if (s.extraBytes) {
    return {
      http: 200,
      grpc: GrpcStatus.INTERNAL,
      message: "More than one request message on a unary call",
    };
  }
  if (s.prefixGot === 0) {
    return { http: 200, grpc: GrpcStatus.INTERNAL, message: "Missing request message" };
  }
  if (s.prefixGot < GRPC_PREFIX_BYTES || s.bodyGot < s.messageLength) {
    return { http: 200, grpc: GrpcStatus.INTERNAL, message: "Incomplete request message" };
  }
  if (s.compressedFlag === 0) return null;
  if (s.compressedFlag === 1 && s.encoding !== "" && s.encoding !== "identity") {
    return {
      http: 200,
      grpc: GrpcStatus.UNIMPLEMENTED,
      message: `Unsupported grpc-encoding "${s.encoding}"`,
      extra: ACCEPT_IDENTITY,
    };
  }
  return {
    http: 200,
    grpc: GrpcStatus.INTERNAL,
    message: "Compressed flag set without a grpc-encoding",
  };
}
