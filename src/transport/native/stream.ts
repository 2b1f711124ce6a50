/** Per-stream state of one unary call on a native HTTP/2 connection. */

import type { UnaryHandler } from "../types.ts";

/** Request side still receiving (RFC 9113 "open"). */
export const OPEN = 0;
/** Request complete, the response is being produced or sent ("half-closed (remote)"). */
export const HALF_CLOSED_REMOTE = 1;
export const CLOSED = 2;

/**
 * One object per call, with every field set in the constructor so that all streams share
 * one hidden class. The request message is assembled here; the response message waits
 * here while the peer's flow-control windows are closed.
 */
export class Stream {
  readonly id: number;
  readonly handler: UnaryHandler;
  state = OPEN;
  /** Bytes the peer may still send on this stream before our next WINDOW_UPDATE. */
  recvWindow: number;
  /** Bytes we may still send (peer's SETTINGS_INITIAL_WINDOW_SIZE plus its updates). */
  sendWindow: number;
  /** grpc-encoding of the request, "" when absent. */
  readonly encoding: string;
  /** performance.now() deadline from grpc-timeout, 0 when none. */
  readonly deadlineAt: number;
  deadlineTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  lastActivity: number;

  // Request message: the 5-byte gRPC prefix as it arrives, then the payload.
  prefixGot = 0;
  compressedFlag = 0;
  messageLength = 0;
  body: Uint8Array | null = null;
  bodyGot = 0;
  /** Bytes beyond the first message: a second message on a unary call. */
  extraBytes = false;
  /** `body` is a view of the connection's read buffer, not a copy. */
  bodyIsView = false;
  /** The handler returned a promise that has not settled. */
  inFlight = false;
  /** Closed while its handler ran: the work still counts against the stream limit. */
  abandoned = false;
  /** The request's content-length, or -1 when it has none. */
  readonly contentLength: number;
  /** DATA payload bytes received (padding excluded), checked against `contentLength`. */
  dataBytes = 0;

  // Response: `response` is the message; `responseOffset` counts DATA payload bytes
  // already framed, the 5-byte gRPC prefix included.
  response: Uint8Array | null = null;
  responseOffset = 0;
  /** Queued on the connection's list of streams waiting for window. */
  blocked = false;

  constructor(
    id: number,
    handler: UnaryHandler,
    recvWindow: number,
    sendWindow: number,
    encoding: string,
    deadlineAt: number,
    now: number,
    contentLength: number,
  ) {
    this.id = id;
    this.contentLength = contentLength;
    this.handler = handler;
    this.recvWindow = recvWindow;
    this.sendWindow = sendWindow;
    this.encoding = encoding;
    this.deadlineAt = deadlineAt;
    this.lastActivity = now;
  }
}

const DIGITS = /^[0-9]{1,15}$/;

/** Collects the fields of one request header block that the transport acts on. */
export class RequestHeaders {
  method = "";
  scheme = "";
  path = "";
  authority = "";
  contentType = "";
  te = "";
  timeout = "";
  encoding = "";
  /** content-length, or -1 when absent. */
  contentLength = -1;
  /** Malformed per RFC 9113 §8.1.1: repeated or unknown pseudo-headers, pseudo after
   * regular fields, connection-specific fields. */
  bad = false;
  /** Any pseudo-header at all (trailers must carry none, RFC 9113 §8.1). */
  sawPseudo = false;
  #sawRegular = false;

  reset(): void {
    this.method = "";
    this.scheme = "";
    this.path = "";
    this.authority = "";
    this.contentType = "";
    this.te = "";
    this.timeout = "";
    this.encoding = "";
    this.contentLength = -1;
    this.bad = false;
    this.sawPseudo = false;
    this.#sawRegular = false;
  }

  onHeader(name: string, value: string): void {
    if (name.charCodeAt(0) === 0x3a) {
      this.sawPseudo = true;
      if (this.#sawRegular) this.bad = true;
      switch (name) {
        case ":method":
          if (this.method !== "") this.bad = true;
          this.method = value;
          break;
        case ":scheme":
          if (this.scheme !== "") this.bad = true;
          this.scheme = value;
          break;
        case ":path":
          if (this.path !== "") this.bad = true;
          this.path = value;
          break;
        case ":authority":
          if (this.authority !== "") this.bad = true;
          this.authority = value;
          break;
        default:
          this.bad = true;
      }
      return;
    }
    this.#sawRegular = true;
    switch (name) {
      case "content-type":
        this.contentType = value;
        break;
      case "te":
        this.te = value;
        break;
      case "grpc-timeout":
        this.timeout = value;
        break;
      case "grpc-encoding":
        this.encoding = value;
        break;
      case "content-length": {
        // Digits only; a second, different value is malformed too (RFC 9110 §8.6).
        const length = DIGITS.test(value) ? Number(value) : -1;
        if (length < 0 || (this.contentLength !== -1 && this.contentLength !== length)) {
          this.bad = true;
        }
        this.contentLength = length;
        break;
      }
      case "connection":
      case "keep-alive":
      case "proxy-connection":
      case "transfer-encoding":
      case "upgrade":
        this.bad = true;
        break;
    }
  }
}
