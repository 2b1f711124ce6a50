/**
 * Every bound the native transport enforces, in one place. Defaults aim at gRPC unary
 * traffic from trusted-but-buggy and untrusted clients alike; tests shrink them.
 */
export interface NativeLimits {
  /** Largest request or response message; bigger requests get RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS; streams past it are refused (REFUSED_STREAM). */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE, enforced on the decoded list (HPACK bomb bound). */
  maxHeaderListBytes: number;
  /** Encoded header block bytes accepted across HEADERS + CONTINUATION frames. */
  maxHeaderBlockBytes: number;
  /** CONTINUATION frames accepted for one header block (empty ones cost nothing else). */
  maxContinuationFrames: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE the server grants each request stream. */
  streamWindowBytes: number;
  /** Connection-level receive window the server grants. */
  connectionWindowBytes: number;
  /**
   * Streams reset by the peer before the server finished them, plus streams refused,
   * tolerated per `resetWindowMs` (CVE-2023-44487). Resets of streams already answered
   * are not counted: a client cancelling at its deadlines is not an attacker.
   */
  maxResetsPerWindow: number;
  resetWindowMs: number;
  /** PING and SETTINGS frames tolerated per `controlWindowMs`. */
  maxControlFramesPerWindow: number;
  controlWindowMs: number;
  /** PING/SETTINGS acks queued and not yet written before the peer is cut off. */
  maxQueuedAcks: number;
  /** Response bytes waiting for the peer (unsent window-blocked data plus write buffer). */
  maxBufferedOutboundBytes: number;
  /** A stream waiting on the peer (request body or window) this long is reset. */
  streamIdleTimeoutMs: number;
  /** A socket write that does not complete in this time closes the connection. */
  writeStallTimeoutMs: number;
  /** A connection that has not completed TLS and sent the preface by then is closed. */
  handshakeTimeoutMs: number;
  /** close(): how long to wait for the PING that follows the first GOAWAY. */
  drainPingTimeoutMs: number;
  /**
   * A drain done (the final GOAWAY sent, no stream left): how long to wait for the client
   * to close first, so that it reads the GOAWAY before the end of the connection.
   */
  drainLingerMs: number;
}

export const DEFAULT_LIMITS: Readonly<NativeLimits> = Object.freeze({
  maxMessageBytes: 4 * 1024 * 1024,
  maxConcurrentStreams: 256,
  maxHeaderListBytes: 16 * 1024,
  maxHeaderBlockBytes: 32 * 1024,
  maxContinuationFrames: 64,
  streamWindowBytes: 1024 * 1024,
  connectionWindowBytes: 8 * 1024 * 1024,
  maxResetsPerWindow: 5000,
  resetWindowMs: 1000,
  maxControlFramesPerWindow: 1000,
  controlWindowMs: 1000,
  maxQueuedAcks: 1000,
  maxBufferedOutboundBytes: 32 * 1024 * 1024,
  streamIdleTimeoutMs: 30_000,
  writeStallTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  drainPingTimeoutMs: 1000,
  drainLingerMs: 1000,
});

/** Bytes read from the socket at once; a whole frame of the largest accepted size fits. */
export const READ_BUFFER_BYTES = 64 * 1024;
/** Above this many bytes waiting to be written, the connection stops reading. */
export const OUTBOUND_HIGH_WATER_BYTES = 256 * 1024;

/**
 * Inbound bytes a mutual-TLS connection may hold unread (node:tls cannot push back on
 * the peer, see node_tls_conn.ts): the connection window we grant, a full header block
 * for every allowed stream, and 1 MiB for control frames. A peer within the protocol's
 * rules stays below it.
 */
export function maxUnreadInboundBytes(limits: Readonly<NativeLimits>): number {
  return limits.connectionWindowBytes + limits.maxConcurrentStreams * limits.maxHeaderBlockBytes +
    1024 * 1024;
}
