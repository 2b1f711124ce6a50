/**
 * The contract between a transport (grpc-js today, a native HTTP/2 server later) and
 * the read path. A transport turns a gRPC unary call into one `UnaryHandler` call and
 * its result or `GrpcStatusError` back into gRPC frames and trailers. Nothing in the
 * read path knows which transport carried the call.
 */

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = typeof GrpcStatus[keyof typeof GrpcStatus];

/** Thrown by a handler to end a call with a non-OK gRPC status. */
export class GrpcStatusError extends Error {
  readonly code: GrpcStatusCode;
  constructor(code: GrpcStatusCode, message: string) {
    super(message);
    this.name = "GrpcStatusError";
    this.code = code;
  }
}

/** Who is calling, as far as the transport could tell. */
export interface Peer {
  /** "host:port" of the remote end. */
  readonly address: string;
  /**
   * The DER bytes of the client's leaf certificate when the call came over mutual TLS
   * and the handshake verified it; null on plaintext or when none was presented.
   */
  readonly certificate: Uint8Array | null;
}

/**
 * One unary method. `body` is the request message (the gRPC frame's payload, already
 * decompressed); the result is the encoded response message. The transport owns
 * `body` only for the duration of the call: a handler that keeps bytes copies them.
 */
export type UnaryHandler = (body: Uint8Array, peer: Peer) => Uint8Array | Promise<Uint8Array>;

/** Maps a gRPC path such as "/com.linkedin.venice.protocols.VeniceReadService/get". */
export interface UnaryRouter {
  route(path: string): UnaryHandler | undefined;
}

/** A running transport: `close` stops accepting, drains in-flight calls, then resolves. */
export interface TransportServer {
  readonly port: number;
  /**
   * Connections that failed before they were accepted (a client that reset during the
   * handshake: NotConnected). Counted, not logged as warnings: they are routine under churn.
   */
  readonly acceptFailures?: number;
  close(graceMs?: number): Promise<void>;
}
