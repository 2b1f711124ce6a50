/**
 * One HTTP/2 server connection (RFC 9113) carrying gRPC unary calls.
 *
 * Reading: one reusable buffer; every complete frame in it is handled before the next
 * read. Writing: every frame produced while handling one read, or one handler's
 * completion, lands in an `OutBuffer` and leaves in a single `write`; two buffers swap
 * so that frames made during a write wait in the other one.
 *
 * A handler that answers synchronously is answered inside the read that completed its
 * request; a request message that arrived whole in one DATA frame is passed to it as a
 * view of the read buffer (no copy). When a handler keeps such a view past its return
 * (it returned a promise, or its answer is waiting for window), the connection gives the
 * buffer away and reads into a fresh one.
 */

import { getLogger } from "@logtape/logtape";
import { GrpcStatus, GrpcStatusError, type Peer, type UnaryRouter } from "../types.ts";
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW,
  OutBuffer,
  Setting,
} from "./frames.ts";
import {
  isGrpcContentType,
  OK_TRAILERS_BLOCK,
  parseGrpcTimeout,
  RESPONSE_HEADERS_BLOCK,
  statusBlock,
} from "./grpc_wire.ts";
import { HpackDecoder, HpackError, TABLE_SIZE_UPDATE_ZERO } from "./hpack.ts";
import { type NativeLimits, OUTBOUND_HIGH_WATER_BYTES, READ_BUFFER_BYTES } from "./limits.ts";
import { CLOSED, HALF_CLOSED_REMOTE, OPEN, RequestHeaders, Stream } from "./stream.ts";
import { ClosedStreams, ENDED, RESET } from "./closed_streams.ts";

const log = getLogger(["rialto", "transport", "native"]);

const MAX_STREAM_ID = 0x7fff_ffff;
/** Opaque data of the PING that follows the first GOAWAY of a graceful close. */
const DRAIN_PING = new TextEncoder().encode("rialtogo");
const GRPC_PREFIX_BYTES = 5;

const DRAIN_NONE = 0;
const DRAIN_AWAITING_PING = 1;
const DRAIN_FINAL = 2;

/** What the connection needs from the server that owns it. */
export interface ConnectionOwner {
  readonly router: UnaryRouter;
  readonly limits: Readonly<NativeLimits>;
  connectionClosed(connection: H2Connection): void;
}

/**
 * The byte stream a connection runs over: a `Deno.Conn` (plaintext or `Deno.listenTls`)
 * or a `NodeTlsConn` (mutual TLS on `node:tls`, see node_tls_conn.ts). Only these members
 * are used.
 */
export type ByteConn = Pick<Deno.Conn, "remoteAddr" | "read" | "write" | "closeWrite" | "close">;

export class H2Connection {
  readonly #conn: ByteConn;
  readonly #owner: ConnectionOwner;
  readonly #router: UnaryRouter;
  readonly #limits: Readonly<NativeLimits>;
  readonly #peer: Peer;
  readonly #decoder: HpackDecoder;
  readonly #headers = new RequestHeaders();
  readonly #streams = new Map<number, Stream>();
  readonly #closedStreams = new ClosedStreams(CLOSED_STREAMS_REMEMBERED);
  /** Streams closed while their handler still runs: their work still counts. */
  #abandonedInFlight = 0;
  readonly #startedAt: number;

  // Input.
  #rbuf = new Uint8Array(READ_BUFFER_BYTES);
  #rstart = 0;
  #rend = 0;
  #rbufLent = false;
  #prefaceReceived = false;
  #settingsReceived = false;
  #now: number;

  // Output.
  #out = new OutBuffer();
  #spare = new OutBuffer();
  #writing = false;
  #writeStartedAt = 0;
  #writeDrained: (() => void) | null = null;
  #queuedAcks = 0;
  #acksInFlight = 0;
  /** Response bytes not yet framed, waiting for window. */
  #pendingResponseBytes = 0;
  #encoderTableUpdate = false;

  // Peer settings and flow control.
  #peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerHeaderTableSize = 4096;
  #sendWindow = DEFAULT_WINDOW;
  #recvWindow: number;
  #recvConsumed = 0;
  #blocked: Stream[] = [];

  // Streams and header blocks.
  #lastClientStreamId = 0;
  #contStreamId = 0;
  #contFlags = 0;
  #contBuf: Uint8Array | null = null;
  #contLen = 0;
  #contFrames = 0;

  // Abuse accounting.
  #resetWindowStart = 0;
  #resetCount = 0;
  #controlWindowStart = 0;
  #controlCount = 0;

  // Shutdown.
  #drainState = DRAIN_NONE;
  #drainTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #goawayLastId = MAX_STREAM_ID;
  #peerGoaway = false;
  #closeAfterFlush = false;
  #destroyed = false;
  #closedResolve!: () => void;
  /** Resolves once the socket is closed and every stream released. */
  readonly closed: Promise<void>;

  /**
   * `certificate` is the verified client leaf DER, or null; every call on this connection
   * sees this very object as `Peer.certificate` (PrincipalCache keys on its identity).
   */
  constructor(conn: ByteConn, owner: ConnectionOwner, certificate: Uint8Array | null) {
    this.#conn = conn;
    this.#owner = owner;
    this.#router = owner.router;
    this.#limits = owner.limits;
    const addr = conn.remoteAddr as Deno.NetAddr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    this.#peer = Object.freeze({ address: `${host}:${addr.port}`, certificate });
    this.#decoder = new HpackDecoder(4096);
    this.#recvWindow = Math.max(DEFAULT_WINDOW, this.#limits.connectionWindowBytes);
    this.#now = performance.now();
    this.#startedAt = this.#now;
    this.closed = new Promise((resolve) => this.#closedResolve = resolve);
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  /**
   * Runs the connection until the socket closes; never rejects. `handshake`: the conn is
   * a `Deno.TlsConn` whose TLS handshake is still to do (a `NodeTlsConn` arrives after it).
   */
  async run(handshake: boolean): Promise<void> {
    if (handshake) {
      try {
        const { alpnProtocol } = await (this.#conn as Deno.TlsConn).handshake();
        // No ALPN at all is accepted as prior knowledge; another protocol is not h2.
        if (alpnProtocol !== null && alpnProtocol !== "h2") {
          throw new Error(`ALPN "${alpnProtocol}"`);
        }
      } catch (error) {
        if (!this.#destroyed) {
          log.debug("TLS handshake with {peer} failed: {error}", {
            peer: this.#peer.address,
            error,
          });
        }
        this.destroy();
        return;
      }
    }
    this.#writeServerPreface();
    this.#flush();
    try {
      while (!this.#closeAfterFlush && !this.#destroyed) {
        if (this.#writing && this.#out.len > OUTBOUND_HIGH_WATER_BYTES) {
          // The peer reads slower than it asks: stop reading until the socket drains.
          await new Promise<void>((resolve) => this.#writeDrained = resolve);
          continue;
        }
        this.#prepareReadBuffer();
        const n = await this.#conn.read(this.#rbuf.subarray(this.#rend));
        if (n === null) break;
        this.#rend += n;
        this.#now = performance.now();
        this.#processInput();
        this.#checkOutboundBudget();
        this.#flush();
      }
    } catch (error) {
      if (!this.#destroyed) {
        log.debug("Connection {peer} read failed: {error}", {
          peer: this.#peer.address,
          error,
        });
      }
    }
    this.#endAfterFlush();
    await this.closed;
  }

  /** Starts a graceful close: GOAWAY(max id) and PING, then GOAWAY(last id), then drain. */
  startDrain(): void {
    if (this.#destroyed || this.#drainState !== DRAIN_NONE) return;
    if (!this.#prefaceReceived) {
      this.#endAfterFlush();
      return;
    }
    this.#drainState = DRAIN_AWAITING_PING;
    this.#out.goaway(MAX_STREAM_ID, ErrorCode.NO_ERROR);
    this.#out.ping(0, DRAIN_PING, 0);
    this.#flush();
    this.#drainTimer = setTimeout(
      H2Connection.#finalGoaway,
      this.#limits.drainPingTimeoutMs,
      this,
    );
  }

  /** Closes the socket now, abandoning in-flight calls. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    // Deno 2.8.3: close() alone neither cancels a pending read nor releases the socket
    // (the peer sees no FIN); shutting down the write side first does send the FIN, and
    // the pending read then ends when the peer closes its side.
    closeConn(this.#conn);
    for (const stream of this.#streams.values()) {
      stream.state = CLOSED;
      if (stream.deadlineTimer !== undefined) clearTimeout(stream.deadlineTimer);
    }
    this.#streams.clear();
    this.#blocked = [];
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    if (this.#writeDrained !== null) this.#writeDrained();
    this.#owner.connectionClosed(this);
    this.#closedResolve();
  }

  /** Periodic checks driven by the server's single timer. */
  sweep(now: number): void {
    if (this.#destroyed) return;
    this.#now = now;
    if (!this.#prefaceReceived && now - this.#startedAt > this.#limits.handshakeTimeoutMs) {
      this.destroy();
      return;
    }
    if (this.#writing && now - this.#writeStartedAt > this.#limits.writeStallTimeoutMs) {
      log.debug("Connection {peer} closed: write stalled", { peer: this.#peer.address });
      this.destroy();
      return;
    }
    const idle = this.#limits.streamIdleTimeoutMs;
    for (const stream of this.#streams.values()) {
      if (stream.deadlineAt !== 0 && stream.state === OPEN && now >= stream.deadlineAt) {
        this.#respondStatus(stream, 200, GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded");
      } else if (
        (stream.state === OPEN || stream.blocked) && now - stream.lastActivity > idle
      ) {
        this.#resetStream(stream, ErrorCode.CANCEL);
      }
    }
    this.#flush();
  }

  // ---- Input -------------------------------------------------------------------------

  #prepareReadBuffer(): void {
    const remaining = this.#rend - this.#rstart;
    if (this.#rbufLent) {
      const fresh = new Uint8Array(READ_BUFFER_BYTES);
      fresh.set(this.#rbuf.subarray(this.#rstart, this.#rend));
      this.#rbuf = fresh;
      this.#rbufLent = false;
      this.#rstart = 0;
      this.#rend = remaining;
    } else if (remaining === 0) {
      this.#rstart = 0;
      this.#rend = 0;
    } else if (this.#rbuf.length - this.#rend < DEFAULT_MAX_FRAME_SIZE + FRAME_HEADER_BYTES) {
      this.#rbuf.copyWithin(0, this.#rstart, this.#rend);
      this.#rstart = 0;
      this.#rend = remaining;
    }
  }

  #processInput(): void {
    const b = this.#rbuf;
    const end = this.#rend;
    let p = this.#rstart;
    if (!this.#prefaceReceived) {
      const have = Math.min(end - p, CLIENT_PREFACE.length);
      for (let i = 0; i < have; i++) {
        if (b[p + i] !== CLIENT_PREFACE[i]) {
          this.#connectionError(ErrorCode.PROTOCOL_ERROR, "Invalid connection preface");
          return;
        }
      }
      if (have < CLIENT_PREFACE.length) return;
      p += CLIENT_PREFACE.length;
      this.#prefaceReceived = true;
    }
    while (end - p >= FRAME_HEADER_BYTES) {
      const length = (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
      if (length > DEFAULT_MAX_FRAME_SIZE) {
        this.#connectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          "Frame larger than SETTINGS_MAX_FRAME_SIZE",
        );
        return;
      }
      if (end - p - FRAME_HEADER_BYTES < length) break;
      const type = b[p + 3];
      const flags = b[p + 4];
      const streamId = ((b[p + 5] & 0x7f) << 24 | b[p + 6] << 16 | b[p + 7] << 8 | b[p + 8]) >>> 0;
      const start = p + FRAME_HEADER_BYTES;
      p = start + length;
      this.#rstart = p;
      this.#frame(type, flags, streamId, b, start, p);
      if (this.#closeAfterFlush || this.#destroyed) return;
    }
    this.#rstart = p;
  }

  #frame(type: number, flags: number, id: number, b: Uint8Array, start: number, end: number) {
    if (!this.#settingsReceived && type !== FrameType.SETTINGS) {
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "First frame is not SETTINGS");
    }
    if (this.#contStreamId !== 0 && type !== FrameType.CONTINUATION) {
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "Expected CONTINUATION");
    }
    switch (type) {
      case FrameType.DATA:
        return this.#onData(flags, id, b, start, end);
      case FrameType.HEADERS:
        return this.#onHeaders(flags, id, b, start, end);
      case FrameType.PRIORITY:
        if (id === 0) {
          return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        }
        if (end - start !== 5) {
          return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY length");
        }
        if (dependsOnItself(id, b, start)) {
          // A stream error in RFC 9113 §5.3.1; nghttp2 ends the connection, and so do we
          // (the stream may be idle, and RST_STREAM must not be sent for an idle stream).
          return this.#connectionError(
            ErrorCode.PROTOCOL_ERROR,
            "PRIORITY: a stream depends on itself",
          );
        }
        return;
      case FrameType.RST_STREAM:
        return this.#onRstStream(id, start, end);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, id, b, start, end);
      case FrameType.PUSH_PROMISE:
        return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from client");
      case FrameType.PING:
        return this.#onPing(flags, id, b, start, end);
      case FrameType.GOAWAY:
        return this.#onGoaway(id, b, start, end);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(id, b, start, end);
      case FrameType.CONTINUATION:
        return this.#onContinuation(flags, id, b, start, end);
      default:
        return; // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  #onData(flags: number, id: number, b: Uint8Array, start: number, end: number): void {
    if (id === 0) return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    const frameLength = end - start;
    let from = start;
    let to = end;
    if (flags & Flag.PADDED) {
      if (frameLength === 0 || b[start] >= frameLength) {
        return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "Invalid DATA padding");
      }
      from = start + 1;
      to = end - b[start];
    }
    // Connection window: every DATA byte counts, whatever became of its stream.
    if (frameLength > this.#recvWindow) {
      return this.#connectionError(ErrorCode.FLOW_CONTROL_ERROR, "Connection window exceeded");
    }
    this.#recvWindow -= frameLength;
    this.#recvConsumed += frameLength;
    if (this.#recvConsumed >= this.#limits.connectionWindowBytes >>> 1) {
      this.#out.windowUpdate(0, this.#recvConsumed);
      this.#recvWindow += this.#recvConsumed;
      this.#recvConsumed = 0;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastClientStreamId) {
        return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "DATA on idle stream");
      }
      if (this.#closedStreams.how(id) === ENDED) {
        return this.#connectionError(ErrorCode.STREAM_CLOSED, "DATA on a closed stream");
      }
      return; // Sent before the peer saw our RST_STREAM (RFC 9113 §5.1, "closed").
    }
    // Half-closed (remote): a stream error (RFC 9113 §5.1).
    if (stream.state !== OPEN) return this.#resetStream(stream, ErrorCode.STREAM_CLOSED);
    if (frameLength > stream.recvWindow) {
      return this.#resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
    }
    stream.recvWindow -= frameLength;
    stream.lastActivity = this.#now;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    stream.dataBytes += to - from;
    if (
      stream.contentLength >= 0 &&
      (stream.dataBytes > stream.contentLength ||
        (endStream && stream.dataBytes !== stream.contentLength))
    ) {
      // RFC 9113 §8.1.1: DATA that disagrees with content-length is malformed.
      return this.#resetStream(stream, ErrorCode.PROTOCOL_ERROR);
    }
    if (from < to && !this.#appendBody(stream, b, from, to, endStream)) return;
    if (endStream) {
      stream.state = HALF_CLOSED_REMOTE;
      this.#dispatch(stream);
    } else if (stream.recvWindow < this.#limits.streamWindowBytes >>> 1) {
      this.#out.windowUpdate(id, this.#limits.streamWindowBytes - stream.recvWindow);
      stream.recvWindow = this.#limits.streamWindowBytes;
    }
  }

  /** Adds DATA payload to the request message; false when the stream was answered. */
  #appendBody(s: Stream, b: Uint8Array, from: number, to: number, endStream: boolean): boolean {
    if (s.prefixGot === 0 && to - from >= GRPC_PREFIX_BYTES) {
      const length =
        ((b[from + 1] << 24) | (b[from + 2] << 16) | (b[from + 3] << 8) | b[from + 4]) >>>
        0;
      if (endStream && to - from - GRPC_PREFIX_BYTES === length) {
        // The common case: the whole message in the frame that ends the stream.
        if (length > this.#limits.maxMessageBytes) return this.#messageTooLarge(s, length);
        s.compressedFlag = b[from];
        s.messageLength = length;
        s.prefixGot = GRPC_PREFIX_BYTES;
        s.body = b.subarray(from + GRPC_PREFIX_BYTES, to);
        s.bodyGot = length;
        s.bodyIsView = true;
        return true;
      }
    }
    let i = from;
    while (s.prefixGot < GRPC_PREFIX_BYTES && i < to) {
      if (s.prefixGot === 0) s.compressedFlag = b[i];
      else s.messageLength = s.messageLength * 256 + b[i];
      s.prefixGot++;
      i++;
      if (s.prefixGot === GRPC_PREFIX_BYTES) {
        if (s.messageLength > this.#limits.maxMessageBytes) {
          return this.#messageTooLarge(s, s.messageLength);
        }
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
    return true;
  }

  #messageTooLarge(s: Stream, length: number): false {
    this.#respondStatus(
      s,
      200,
      GrpcStatus.RESOURCE_EXHAUSTED,
      `Request message of ${length} bytes exceeds the limit of ${this.#limits.maxMessageBytes}`,
    );
    return false;
  }

  #onHeaders(flags: number, id: number, b: Uint8Array, start: number, end: number): void {
    if (id === 0 || (id & 1) === 0) {
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on an invalid stream id");
    }
    let from = start;
    let to = end;
    if (flags & Flag.PADDED) {
      if (to - from < 1 || b[from] >= to - from) {
        return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "Invalid HEADERS padding");
      }
      to -= b[from];
      from++;
    }
    if (flags & Flag.PRIORITY) {
      if (to - from < 5) {
        return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS priority");
      }
      if (dependsOnItself(id, b, from)) {
        return this.#connectionError(
          ErrorCode.PROTOCOL_ERROR,
          "HEADERS: a stream depends on itself",
        );
      }
      from += 5;
    }
    if (flags & Flag.END_HEADERS) return this.#onHeaderBlock(id, flags, b, from, to);
    this.#contStreamId = id;
    this.#contFlags = flags;
    this.#contLen = 0;
    this.#contFrames = 0;
    this.#appendFragment(b, from, to);
  }

  #onContinuation(flags: number, id: number, b: Uint8Array, start: number, end: number): void {
    if (this.#contStreamId === 0 || id !== this.#contStreamId) {
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "Unexpected CONTINUATION");
    }
    if (++this.#contFrames > this.#limits.maxContinuationFrames) {
      return this.#connectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many CONTINUATION frames");
    }
    if (!this.#appendFragment(b, start, end)) return;
    if (flags & Flag.END_HEADERS) {
      this.#contStreamId = 0;
      this.#onHeaderBlock(id, this.#contFlags, this.#contBuf!, 0, this.#contLen);
    }
  }

  #appendFragment(b: Uint8Array, from: number, to: number): boolean {
    const length = this.#contLen + (to - from);
    if (length > this.#limits.maxHeaderBlockBytes) {
      this.#connectionError(ErrorCode.ENHANCE_YOUR_CALM, "Header block too large");
      return false;
    }
    if (this.#contBuf === null || this.#contBuf.length < length) {
      const grown = new Uint8Array(
        Math.min(this.#limits.maxHeaderBlockBytes, Math.max(length, 4096) * 2),
      );
      if (this.#contBuf !== null) grown.set(this.#contBuf.subarray(0, this.#contLen));
      this.#contBuf = grown;
    }
    this.#contBuf.set(b.subarray(from, to), this.#contLen);
    this.#contLen = length;
    return true;
  }

  #onHeaderBlock(id: number, flags: number, b: Uint8Array, from: number, to: number): void {
    const h = this.#headers;
    h.reset();
    // Always decode: the HPACK state must follow the peer's even for refused streams.
    const error = this.#decoder.decode(b, from, to, h, this.#limits.maxHeaderListBytes);
    if (error !== HpackError.NONE) {
      return this.#connectionError(ErrorCode.COMPRESSION_ERROR, `HPACK error ${error}`);
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      // Request trailers: they must end the stream and carry no pseudo-headers.
      if (existing.state !== OPEN) return this.#resetStream(existing, ErrorCode.STREAM_CLOSED);
      if (
        !endStream || h.bad || h.sawPseudo || this.#decoder.malformed ||
        (existing.contentLength >= 0 && existing.dataBytes !== existing.contentLength)
      ) {
        return this.#resetStream(existing, ErrorCode.PROTOCOL_ERROR);
      }
      existing.state = HALF_CLOSED_REMOTE;
      return this.#dispatch(existing);
    }
    if (id <= this.#lastClientStreamId) {
      const how = this.#closedStreams.how(id);
      if (how === RESET) return; // Sent before the peer saw our RST_STREAM (§5.1).
      if (how === ENDED) {
        return this.#connectionError(ErrorCode.STREAM_CLOSED, "HEADERS on a closed stream");
      }
      // §5.1.1: a new stream's id must exceed every id the peer used before.
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on a lower stream id");
    }
    // Past the final GOAWAY's last id the stream is ignored, but it is no longer idle: its
    // DATA must be ignored too, not taken for a protocol error that ends the drain.
    this.#lastClientStreamId = id;
    if (this.#drainState === DRAIN_FINAL && id > this.#goawayLastId) {
      this.#closedStreams.record(id, RESET);
      return;
    }
    // Streams whose request is still arriving count (RFC 9113 §5.1.2), and so do handlers
    // still running for streams the peer reset: resets must not buy more work.
    if (this.#streams.size + this.#abandonedInFlight >= this.#limits.maxConcurrentStreams) {
      this.#refuse(id, ErrorCode.REFUSED_STREAM);
      this.#countReset();
      return;
    }
    if (
      h.bad || this.#decoder.malformed || h.method === "" || h.scheme === "" || h.path === "" ||
      (h.te !== "" && h.te !== "trailers") || (endStream && h.contentLength > 0)
    ) {
      this.#refuse(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (this.#decoder.listTooLarge) {
      return this.#answerEarly(
        id,
        endStream,
        431,
        GrpcStatus.RESOURCE_EXHAUSTED,
        "Header list too large",
      );
    }
    if (h.method !== "POST") {
      return this.#answerEarly(
        id,
        endStream,
        405,
        GrpcStatus.UNIMPLEMENTED,
        `Method ${h.method} not allowed`,
      );
    }
    if (!isGrpcContentType(h.contentType)) {
      return this.#answerEarly(
        id,
        endStream,
        415,
        GrpcStatus.INVALID_ARGUMENT,
        `Unsupported content-type "${h.contentType}"`,
      );
    }
    const handler = this.#router.route(h.path);
    if (handler === undefined) {
      return this.#answerEarly(
        id,
        endStream,
        200,
        GrpcStatus.UNIMPLEMENTED,
        `Method not found: ${h.path}`,
      );
    }
    let deadlineAt = 0;
    if (h.timeout !== "") {
      const ms = parseGrpcTimeout(h.timeout);
      if (ms < 0) {
        return this.#answerEarly(
          id,
          endStream,
          200,
          GrpcStatus.INTERNAL,
          `Malformed grpc-timeout "${h.timeout}"`,
        );
      }
      // From the read that brought the request (grpc-java and the Fast Client set one on
      // every call): a clock read fewer per call.
      deadlineAt = this.#now + ms;
    }
    const stream = new Stream(
      id,
      handler,
      this.#limits.streamWindowBytes,
      this.#peerInitialWindow,
      h.encoding,
      deadlineAt,
      this.#now,
      h.contentLength,
    );
    this.#streams.set(id, stream);
    if (endStream) {
      stream.state = HALF_CLOSED_REMOTE;
      this.#dispatch(stream);
    }
  }

  /** A Trailers-Only answer before any stream state exists (unknown method and such). */
  #answerEarly(id: number, endStream: boolean, http: number, grpc: number, message: string): void {
    this.#writeHeaderBlock(
      id,
      Flag.END_HEADERS | Flag.END_STREAM,
      statusBlock(http, grpc, message),
    );
    // RFC 9113 §8.1: the response is complete; the rest of the request is not needed.
    // Frames the peer sent before it sees the reset are then ignored, as nghttp2 does.
    if (endStream) this.#closedStreams.record(id, ENDED);
    else this.#refuse(id, ErrorCode.NO_ERROR);
  }

  /** RST_STREAM for a stream that never got state of its own. */
  #refuse(id: number, code: number): void {
    this.#out.rstStream(id, code);
    this.#closedStreams.record(id, RESET);
  }

  #onRstStream(id: number, start: number, end: number): void {
    if (id === 0) return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (end - start !== 4) {
      return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM length");
    }
    if (id > this.#lastClientStreamId) {
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on idle stream");
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) return; // Already finished: the reset costs nothing.
    this.#closeStream(stream, RESET);
    this.#countReset();
  }

  /**
   * CVE-2023-44487 (rapid reset): streams the peer resets before we finished them, and
   * streams we refuse, are rationed per time window. Resets of streams already answered
   * (a client cancelling at its deadline as the answer crossed) cost nothing and are not
   * counted; handlers still running for reset streams hold their stream slots.
   */
  #countReset(): void {
    if (this.#now - this.#resetWindowStart > this.#limits.resetWindowMs) {
      this.#resetWindowStart = this.#now;
      this.#resetCount = 0;
    }
    if (++this.#resetCount > this.#limits.maxResetsPerWindow) {
      this.#connectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many stream resets");
    }
  }

  /** PING and SETTINGS floods: rationed per time window, and unwritten acks are capped. */
  #countControlFrame(): boolean {
    if (this.#now - this.#controlWindowStart > this.#limits.controlWindowMs) {
      this.#controlWindowStart = this.#now;
      this.#controlCount = 0;
    }
    if (
      ++this.#controlCount > this.#limits.maxControlFramesPerWindow ||
      ++this.#queuedAcks + this.#acksInFlight > this.#limits.maxQueuedAcks
    ) {
      this.#connectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many control frames");
      return false;
    }
    return true;
  }

  #onSettings(flags: number, id: number, b: Uint8Array, start: number, end: number): void {
    if (id !== 0) return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flag.ACK) {
      if (end !== start) {
        return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with payload");
      }
      return;
    }
    if ((end - start) % 6 !== 0) {
      return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length");
    }
    if (!this.#countControlFrame()) return;
    this.#settingsReceived = true;
    let windowsGrew = false;
    for (let p = start; p < end; p += 6) {
      const key = (b[p] << 8) | b[p + 1];
      const value = ((b[p + 2] << 24) | (b[p + 3] << 16) | (b[p + 4] << 8) | b[p + 5]) >>> 0;
      switch (key) {
        case Setting.HEADER_TABLE_SIZE:
          // Our encoder never indexes; a changed limit is answered with a size update
          // to 0 at the start of the next block we send (RFC 7541 §4.2).
          if (value !== this.#peerHeaderTableSize) this.#encoderTableUpdate = true;
          this.#peerHeaderTableSize = value;
          break;
        case Setting.ENABLE_PUSH:
          if (value > 1) {
            return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH value");
          }
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) {
            return this.#connectionError(
              ErrorCode.FLOW_CONTROL_ERROR,
              "INITIAL_WINDOW_SIZE too large",
            );
          }
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const stream of this.#streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) {
              return this.#connectionError(ErrorCode.FLOW_CONTROL_ERROR, "Stream window overflow");
            }
          }
          if (delta > 0) windowsGrew = true;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) {
            return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range");
          }
          this.#peerMaxFrameSize = value;
          break;
        default:
          // MAX_CONCURRENT_STREAMS limits pushes, which this server never makes; the
          // peer's MAX_HEADER_LIST_SIZE is far above our few fixed response fields.
          break;
      }
    }
    this.#out.settingsAck();
    if (windowsGrew) this.#resumeBlocked();
  }

  #onPing(flags: number, id: number, b: Uint8Array, start: number, end: number): void {
    if (id !== 0) return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    if (end - start !== 8) return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "PING length");
    if (flags & Flag.ACK) {
      if (this.#drainState === DRAIN_AWAITING_PING && equals(b, start, DRAIN_PING)) {
        this.#sendFinalGoaway();
      }
      return;
    }
    if (!this.#countControlFrame()) return;
    this.#out.ping(Flag.ACK, b, start);
  }

  #onGoaway(id: number, b: Uint8Array, start: number, end: number): void {
    if (id !== 0) return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
    if (end - start < 8) return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY length");
    const code =
      ((b[start + 4] << 24) | (b[start + 5] << 16) | (b[start + 6] << 8) | b[start + 7]) >>> 0;
    this.#peerGoaway = true;
    // The peer opens no more streams; the ones open finish unless it reports an error.
    if (code !== ErrorCode.NO_ERROR || this.#streams.size === 0) this.#endAfterFlush();
  }

  #onWindowUpdate(id: number, b: Uint8Array, start: number, end: number): void {
    if (end - start !== 4) {
      return this.#connectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE length");
    }
    const increment =
      ((b[start] & 0x7f) << 24 | b[start + 1] << 16 | b[start + 2] << 8 | b[start + 3]) >>> 0;
    if (id === 0) {
      if (increment === 0) {
        return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      }
      this.#sendWindow += increment;
      if (this.#sendWindow > MAX_WINDOW) {
        return this.#connectionError(ErrorCode.FLOW_CONTROL_ERROR, "Connection window overflow");
      }
      return this.#resumeBlocked();
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastClientStreamId) {
        return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on idle stream");
      }
      return;
    }
    if (increment === 0) return this.#resetStream(stream, ErrorCode.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      return this.#resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
    }
    stream.lastActivity = this.#now;
    if (stream.blocked) this.#resumeBlocked();
  }

  // ---- Calls -------------------------------------------------------------------------

  #dispatch(s: Stream): void {
    if (s.extraBytes) {
      return this.#respondStatus(
        s,
        200,
        GrpcStatus.INTERNAL,
        "More than one request message on a unary call",
      );
    }
    if (s.prefixGot === 0) {
      return this.#respondStatus(s, 200, GrpcStatus.INTERNAL, "Missing request message");
    }
    if (s.prefixGot < GRPC_PREFIX_BYTES || s.bodyGot < s.messageLength) {
      return this.#respondStatus(s, 200, GrpcStatus.INTERNAL, "Incomplete request message");
    }
    if (s.compressedFlag !== 0) {
      if (s.compressedFlag === 1 && s.encoding !== "" && s.encoding !== "identity") {
        return this.#respondStatus(
          s,
          200,
          GrpcStatus.UNIMPLEMENTED,
          `Unsupported grpc-encoding "${s.encoding}"`,
          ACCEPT_IDENTITY,
        );
      }
      return this.#respondStatus(
        s,
        200,
        GrpcStatus.INTERNAL,
        "Compressed flag set without a grpc-encoding",
      );
    }
    if (s.deadlineAt !== 0 && this.#now >= s.deadlineAt) {
      return this.#respondStatus(s, 200, GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded");
    }
    const body = s.body ?? EMPTY;
    s.body = null;
    let result: Uint8Array | Promise<Uint8Array>;
    try {
      result = s.handler(body, this.#peer);
    } catch (error) {
      return this.#handlerFailed(s, error);
    }
    if (result instanceof Uint8Array) {
      this.#respond(s, result);
      // A pending answer may be a view of the request, hence of the read buffer.
      if (s.bodyIsView && s.response !== null) this.#rbufLent = true;
      return;
    }
    if (s.bodyIsView) this.#rbufLent = true;
    s.inFlight = true;
    // setTimeout fires at once past 2^31-1 ms; a deadline that far off needs no timer.
    if (s.deadlineAt !== 0 && s.deadlineAt - this.#now <= MAX_TIMER_MS) {
      s.deadlineTimer = setTimeout(
        H2Connection.#deadlineExpired,
        Math.max(0, s.deadlineAt - performance.now()),
        this,
        s,
      );
    }
    this.#awaitHandler(s, result);
  }

  async #awaitHandler(s: Stream, pending: Promise<Uint8Array>): Promise<void> {
    let result: Uint8Array;
    try {
      result = await pending;
    } catch (error) {
      this.#settled(s);
      if (s.state === CLOSED) return;
      this.#handlerFailed(s, error);
      this.#flush();
      return;
    }
    this.#settled(s);
    if (s.state === CLOSED) return;
    if (s.deadlineTimer !== undefined) {
      clearTimeout(s.deadlineTimer);
      s.deadlineTimer = undefined;
    }
    if (result instanceof Uint8Array) this.#respond(s, result);
    else {this.#handlerFailed(
        s,
        new TypeError("Handler resolved to something other than a Uint8Array"),
      );}
    this.#checkOutboundBudget();
    this.#flush();
  }

  /** A handler's promise settled: an abandoned stream's slot is free again. */
  #settled(s: Stream): void {
    s.inFlight = false;
    if (s.abandoned) {
      s.abandoned = false;
      this.#abandonedInFlight--;
    }
  }

  static #deadlineExpired(connection: H2Connection, stream: Stream): void {
    stream.deadlineTimer = undefined;
    if (stream.state === CLOSED || !stream.inFlight) return;
    connection.#respondStatus(stream, 200, GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded");
    connection.#flush();
  }

  static #finalGoaway(connection: H2Connection): void {
    connection.#drainTimer = undefined;
    connection.#sendFinalGoaway();
  }

  #handlerFailed(s: Stream, error: unknown): void {
    if (error instanceof GrpcStatusError) {
      return this.#respondStatus(s, 200, error.code, error.message);
    }
    log.error("Handler failed on stream {id}: {error}", { id: s.id, error });
    this.#respondStatus(s, 200, GrpcStatus.INTERNAL, "Internal server error");
  }

  #respond(s: Stream, message: Uint8Array): void {
    if (s.state === CLOSED) return;
    this.#writeHeaderBlock(s.id, Flag.END_HEADERS, RESPONSE_HEADERS_BLOCK);
    s.response = message;
    s.responseOffset = 0;
    this.#pendingResponseBytes += message.length + GRPC_PREFIX_BYTES;
    this.#sendResponseData(s);
  }

  /** Frames as much of the response as the windows allow; trailers once all is sent. */
  #sendResponseData(s: Stream): void {
    const message = s.response!;
    const length = message.length;
    const total = length + GRPC_PREFIX_BYTES;
    const out = this.#out;
    while (s.responseOffset < total) {
      const n = Math.min(
        total - s.responseOffset,
        s.sendWindow,
        this.#sendWindow,
        this.#peerMaxFrameSize,
      );
      if (n <= 0) {
        if (!s.blocked) {
          s.blocked = true;
          this.#blocked.push(s);
        }
        return;
      }
      out.ensure(FRAME_HEADER_BYTES + n);
      out.header(n, FrameType.DATA, 0, s.id);
      let offset = s.responseOffset;
      const stop = offset + n;
      const buf = out.buf;
      // The 5-byte gRPC prefix is generated in place: flag 0, big-endian length.
      while (offset < GRPC_PREFIX_BYTES && offset < stop) {
        buf[out.len++] = offset === 0 ? 0 : (length >>> (8 * (4 - offset))) & 0xff;
        offset++;
      }
      if (offset < stop) {
        buf.set(message.subarray(offset - GRPC_PREFIX_BYTES, stop - GRPC_PREFIX_BYTES), out.len);
        out.len += stop - offset;
      }
      s.responseOffset = stop;
      s.sendWindow -= n;
      this.#sendWindow -= n;
      this.#pendingResponseBytes -= n;
      s.lastActivity = this.#now;
    }
    s.response = null;
    this.#writeHeaderBlock(s.id, Flag.END_HEADERS | Flag.END_STREAM, OK_TRAILERS_BLOCK);
    this.#finishStream(s);
  }

  #resumeBlocked(): void {
    if (this.#blocked.length === 0) return;
    const waiting = this.#blocked;
    this.#blocked = [];
    for (const s of waiting) {
      s.blocked = false;
      if (s.state !== CLOSED && s.response !== null) this.#sendResponseData(s);
    }
  }

  /** Ends a call with a Trailers-Only status response. */
  #respondStatus(
    s: Stream,
    http: number,
    grpc: number,
    message: string,
    extra?: readonly [string, string][],
  ): void {
    if (s.state === CLOSED) return;
    this.#writeHeaderBlock(
      s.id,
      Flag.END_HEADERS | Flag.END_STREAM,
      statusBlock(http, grpc, message, extra),
    );
    this.#finishStream(s);
  }

  /** Our side sent END_STREAM: the stream closes, and an unfinished request is cut off. */
  #finishStream(s: Stream): void {
    if (s.state === OPEN) {
      this.#out.rstStream(s.id, ErrorCode.NO_ERROR);
      this.#closeStream(s, RESET);
    } else {
      this.#closeStream(s, ENDED);
    }
  }

  #resetStream(s: Stream, code: number): void {
    this.#out.rstStream(s.id, code);
    this.#closeStream(s, RESET);
  }

  #closeStream(s: Stream, how: typeof ENDED | typeof RESET): void {
    if (s.state === CLOSED) return;
    s.state = CLOSED;
    this.#streams.delete(s.id);
    this.#closedStreams.record(s.id, how);
    if (s.inFlight && !s.abandoned) {
      s.abandoned = true;
      this.#abandonedInFlight++;
    }
    if (s.deadlineTimer !== undefined) {
      clearTimeout(s.deadlineTimer);
      s.deadlineTimer = undefined;
    }
    if (s.response !== null) {
      this.#pendingResponseBytes -= s.response.length + GRPC_PREFIX_BYTES - s.responseOffset;
      s.response = null;
    }
    s.body = null;
    if (this.#streams.size === 0 && (this.#peerGoaway || this.#drainState === DRAIN_FINAL)) {
      this.#endAfterFlush();
    }
  }

  // ---- Output ------------------------------------------------------------------------

  #writeServerPreface(): void {
    const out = this.#out;
    const settings: [number, number][] = [
      [Setting.MAX_CONCURRENT_STREAMS, this.#limits.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, this.#limits.streamWindowBytes],
      [Setting.MAX_HEADER_LIST_SIZE, this.#limits.maxHeaderListBytes],
      [Setting.ENABLE_PUSH, 0],
    ];
    out.ensure(FRAME_HEADER_BYTES + settings.length * 6);
    out.header(settings.length * 6, FrameType.SETTINGS, 0, 0);
    for (const [key, value] of settings) {
      out.buf[out.len++] = key >> 8;
      out.buf[out.len++] = key & 0xff;
      out.u32(value);
    }
    const extra = this.#recvWindow - DEFAULT_WINDOW;
    if (extra > 0) out.windowUpdate(0, extra);
  }

  #writeHeaderBlock(id: number, flags: number, block: Uint8Array): void {
    const out = this.#out;
    const update = this.#encoderTableUpdate ? 1 : 0;
    out.ensure(FRAME_HEADER_BYTES + update + block.length);
    out.header(block.length + update, FrameType.HEADERS, flags, id);
    if (update === 1) {
      out.buf[out.len++] = TABLE_SIZE_UPDATE_ZERO;
      this.#encoderTableUpdate = false;
    }
    out.bytes(block);
  }

  /** A slow reader must not make the server hold unbounded response bytes. */
  #checkOutboundBudget(): void {
    const buffered = this.#pendingResponseBytes + this.#out.len +
      (this.#writing ? this.#spare.len : 0);
    if (buffered > this.#limits.maxBufferedOutboundBytes && !this.#closeAfterFlush) {
      log.debug("Connection {peer} closed: {bytes} outbound bytes buffered", {
        peer: this.#peer.address,
        bytes: buffered,
      });
      this.#connectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many buffered response bytes");
    }
  }

  #connectionError(code: number, reason: string): void {
    if (this.#closeAfterFlush || this.#destroyed) return;
    // A peer cut off by an abuse bound is worth an operator's attention; protocol errors
    // of a broken client are not.
    const properties = { peer: this.#peer.address, code, reason };
    if (code === ErrorCode.ENHANCE_YOUR_CALM) {
      log.warn("Connection {peer} closed with ENHANCE_YOUR_CALM: {reason}", properties);
    } else {
      log.debug("Connection {peer} error {code}: {reason}", properties);
    }
    // Never above a last id already announced (§6.8: it may only go down).
    this.#out.goaway(Math.min(this.#lastClientStreamId, this.#goawayLastId), code);
    this.#endAfterFlush();
  }

  #sendFinalGoaway(): void {
    if (this.#drainState !== DRAIN_AWAITING_PING || this.#destroyed) return;
    if (this.#drainTimer !== undefined) {
      clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
    }
    this.#drainState = DRAIN_FINAL;
    this.#goawayLastId = this.#lastClientStreamId;
    this.#out.goaway(this.#goawayLastId, ErrorCode.NO_ERROR);
    if (this.#streams.size === 0) this.#endAfterFlush();
    else this.#flush();
  }

  /** Sends what is buffered, then closes the socket. */
  #endAfterFlush(): void {
    if (this.#destroyed) return;
    this.#closeAfterFlush = true;
    if (this.#out.len > 0 || this.#writing) this.#flush();
    else this.destroy();
  }

  #flush(): void {
    if (this.#writing || this.#out.len === 0 || this.#destroyed) return;
    this.#writing = true;
    this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#out.len > 0 && !this.#destroyed) {
        const pending = this.#out;
        this.#out = this.#spare;
        this.#spare = pending;
        this.#acksInFlight = this.#queuedAcks;
        this.#queuedAcks = 0;
        this.#writeStartedAt = performance.now();
        const length = pending.len;
        let offset = 0;
        while (offset < length) {
          offset += await this.#conn.write(pending.buf.subarray(offset, length));
        }
        pending.len = 0;
        this.#acksInFlight = 0;
        // Do not keep a buffer that one large burst grew.
        if (pending.buf.length > 4 * READ_BUFFER_BYTES) {
          pending.buf = new Uint8Array(READ_BUFFER_BYTES);
        }
      }
    } catch (error) {
      if (!this.#destroyed) {
        log.debug("Connection {peer} write failed: {error}", { peer: this.#peer.address, error });
      }
      this.destroy();
    }
    this.#writing = false;
    if (this.#writeDrained !== null) {
      const wake = this.#writeDrained;
      this.#writeDrained = null;
      wake();
    }
    if (this.#closeAfterFlush) this.destroy();
  }
}

const EMPTY = new Uint8Array(0);
/** How many closed streams' endings are remembered (see closed_streams.ts). */
const CLOSED_STREAMS_REMEMBERED = 1024;

/** Whether the 5-byte priority fields at `at` name stream `id` as its own dependency. */
function dependsOnItself(id: number, b: Uint8Array, at: number): boolean {
  const dependency = ((b[at] & 0x7f) << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3]) >>> 0;
  return dependency === id;
}
/** A request message split over frames starts in a buffer this big, then doubles. */
const INITIAL_BODY_BYTES = 16 * 1024;
/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 0x7fffffff;

function closeConn(conn: ByteConn): void {
  const close = () => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  conn.closeWrite().then(close, close);
}
const ACCEPT_IDENTITY: readonly [string, string][] = [["grpc-accept-encoding", "identity"]];

function equals(b: Uint8Array, start: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (b[start + i] !== expected[i]) return false;
  return true;
}
