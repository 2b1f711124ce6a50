/**
 * One HTTP/2 server connection (RFC 9113) carrying gRPC unary calls.
 *
 * The data's way through: bytes read into an `InputBuffer` (input_buffer.ts); every
 * complete frame in it handled before the next read; a request's DATA assembled into its
 * message (request_body.ts); the call dispatched to its handler; the answer framed as
 * the peer's windows allow; every frame produced while handling one read, or one
 * handler's completion, sent in a single write by the `FrameWriter` (frame_writer.ts).
 * Stream endings are remembered for frames that come later (closed_streams.ts); the
 * abuse bounds are `RateBudget`s (rate_budget.ts).
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
  MAX_WINDOW,
  Setting,
} from "./frames.ts";
import {
  GRPC_PREFIX_BYTES,
  OK_TRAILERS_BLOCK,
  RESPONSE_HEADERS_BLOCK,
  statusBlock,
} from "./grpc_wire.ts";
import { HeaderBlockAssembler, TOO_MANY_FRAMES } from "./header_block.ts";
import { HpackDecoder, HpackError, TABLE_SIZE_UPDATE_ZERO } from "./hpack.ts";
import { FrameWriter } from "./frame_writer.ts";
import { InputBuffer } from "./input_buffer.ts";
import { type NativeLimits, OUTBOUND_HIGH_WATER_BYTES } from "./limits.ts";
import { PeerSettings } from "./peer_settings.ts";
import { RateBudget } from "./rate_budget.ts";
import { appendRequestBytes } from "./request_body.ts";
import {
  MALFORMED,
  messageProblem,
  RoutedRequest,
  routeRequest,
  type StatusAnswer,
} from "./request_check.ts";
import { CLOSED, HALF_CLOSED_REMOTE, OPEN, RequestHeaders, Stream } from "./stream.ts";
import { ClosedStreams, ENDED, RESET } from "./closed_streams.ts";
import { StreamTable } from "./stream_table.ts";

const log = getLogger(["rialto", "transport", "native"]);

const MAX_STREAM_ID = 0x7fff_ffff;
/** Opaque data of the PING that follows the first GOAWAY of a graceful close. */
const DRAIN_PING = new TextEncoder().encode("rialtogo");

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
  readonly #routed = new RoutedRequest();
  readonly #streams = new StreamTable<Stream>();
  readonly #closedStreams = new ClosedStreams(CLOSED_STREAMS_REMEMBERED);
  /** Streams closed while their handler still runs: their work still counts. */
  #abandonedInFlight = 0;
  readonly #startedAt: number;

  // Input.
  readonly #input = new InputBuffer();
  #prefaceReceived = false;
  #settingsReceived = false;
  #now: number;

  // Output.
  readonly #writer: FrameWriter;
  /** Response bytes not yet framed, waiting for window. */
  #pendingResponseBytes = 0;

  // Peer settings and flow control.
  readonly #peerSettings = new PeerSettings();
  #sendWindow = DEFAULT_WINDOW;
  #recvWindow: number;
  #recvConsumed = 0;
  #blocked: Stream[] = [];

  // Streams and header blocks.
  #lastClientStreamId = 0;
  readonly #block: HeaderBlockAssembler;

  // Abuse accounting.
  readonly #resets: RateBudget;
  readonly #controlFrames: RateBudget;

  // Shutdown.
  #drainState = DRAIN_NONE;
  #drainTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined = undefined;
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
    this.#block = new HeaderBlockAssembler(
      this.#limits.maxHeaderBlockBytes,
      this.#limits.maxContinuationFrames,
    );
    this.#resets = new RateBudget(this.#limits.maxResetsPerWindow, this.#limits.resetWindowMs);
    this.#controlFrames = new RateBudget(
      this.#limits.maxControlFramesPerWindow,
      this.#limits.controlWindowMs,
    );
    this.#writer = new FrameWriter(conn, {
      writeFailed: (error) => {
        if (this.#destroyed) return;
        log.debug("Connection {peer} write failed: {error}", { peer: this.#peer.address, error });
        this.destroy();
      },
      drained: () => {
        if (this.#closeAfterFlush) this.destroy();
      },
    });
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
        const writer = this.#writer;
        if (writer.writing && writer.out.len > OUTBOUND_HIGH_WATER_BYTES) {
          // The peer reads slower than it asks: stop reading until the socket drains.
          await writer.untilWritten();
          continue;
        }
        const n = await this.#conn.read(this.#input.space());
        if (n === null) break;
        this.#input.received(n);
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
    this.#writer.out.goaway(MAX_STREAM_ID, ErrorCode.NO_ERROR);
    this.#writer.out.ping(0, DRAIN_PING, 0);
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
    if (this.#lingerTimer !== undefined) clearTimeout(this.#lingerTimer);
    this.#writer.stop();
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
    if (
      this.#writer.writing && now - this.#writer.writeStartedAt > this.#limits.writeStallTimeoutMs
    ) {
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

  #processInput(): void {
    const input = this.#input;
    const b = input.bytes;
    const end = input.end;
    let p = input.start;
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
      input.start = p;
      this.#frame(type, flags, streamId, b, start, p);
      if (this.#closeAfterFlush || this.#destroyed) return;
    }
    input.start = p;
  }

  #frame(type: number, flags: number, id: number, b: Uint8Array, start: number, end: number) {
    if (!this.#settingsReceived && type !== FrameType.SETTINGS) {
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "First frame is not SETTINGS");
    }
    if (this.#block.streamId !== 0 && type !== FrameType.CONTINUATION) {
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
      this.#writer.out.windowUpdate(0, this.#recvConsumed);
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
      this.#writer.out.windowUpdate(id, this.#limits.streamWindowBytes - stream.recvWindow);
      stream.recvWindow = this.#limits.streamWindowBytes;
    }
  }

  /** Adds DATA payload to the request message; false when the stream was answered. */
  #appendBody(s: Stream, b: Uint8Array, from: number, to: number, endStream: boolean): boolean {
    const tooLarge = appendRequestBytes(s, b, from, to, endStream, this.#limits.maxMessageBytes);
    return tooLarge < 0 || this.#messageTooLarge(s, tooLarge);
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
    this.#fragmentTaken(this.#block.begin(id, flags, b, from, to));
  }

  #onContinuation(flags: number, id: number, b: Uint8Array, start: number, end: number): void {
    const block = this.#block;
    if (block.streamId === 0 || id !== block.streamId) {
      return this.#connectionError(ErrorCode.PROTOCOL_ERROR, "Unexpected CONTINUATION");
    }
    if (!this.#fragmentTaken(block.continueWith(b, start, end))) return;
    if (flags & Flag.END_HEADERS) {
      block.streamId = 0;
      this.#onHeaderBlock(id, block.flags, block.buf!, 0, block.length);
    }
  }

  /** False (and the connection ends) when the header block's bounds were passed. */
  #fragmentTaken(refusal: number): boolean {
    if (refusal === 0) return true;
    this.#connectionError(
      ErrorCode.ENHANCE_YOUR_CALM,
      refusal === TOO_MANY_FRAMES ? "Too many CONTINUATION frames" : "Header block too large",
    );
    return false;
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
    const routed = this.#routed;
    const refusal = routeRequest(h, this.#decoder, endStream, this.#router, this.#now, routed);
    if (refusal === MALFORMED) return this.#refuse(id, ErrorCode.PROTOCOL_ERROR);
    if (refusal !== null) return this.#answerEarly(id, endStream, refusal);
    const stream = new Stream(
      id,
      routed.handler!,
      this.#limits.streamWindowBytes,
      this.#peerSettings.initialWindow,
      h.encoding,
      routed.deadlineAt,
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
  #answerEarly(id: number, endStream: boolean, answer: StatusAnswer): void {
    this.#writeHeaderBlock(
      id,
      Flag.END_HEADERS | Flag.END_STREAM,
      statusBlock(answer.http, answer.grpc, answer.message),
    );
    // RFC 9113 §8.1: the response is complete; the rest of the request is not needed.
    // Frames the peer sent before it sees the reset are then ignored, as nghttp2 does.
    if (endStream) this.#closedStreams.record(id, ENDED);
    else this.#refuse(id, ErrorCode.NO_ERROR);
  }

  /** RST_STREAM for a stream that never got state of its own. */
  #refuse(id: number, code: number): void {
    this.#writer.out.rstStream(id, code);
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
    if (!this.#resets.spend(this.#now)) {
      this.#connectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many stream resets");
    }
  }

  /** PING and SETTINGS floods: rationed per time window, and unwritten acks are capped. */
  #countControlFrame(): boolean {
    const writer = this.#writer;
    writer.queuedAcks++;
    if (
      !this.#controlFrames.spend(this.#now) || writer.unwrittenAcks > this.#limits.maxQueuedAcks
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
    const applied = this.#peerSettings.apply(b, start, end);
    if (typeof applied !== "number") return this.#connectionError(applied.code, applied.reason);
    for (const stream of this.#streams.values()) {
      stream.sendWindow += applied;
      if (stream.sendWindow > MAX_WINDOW) {
        return this.#connectionError(ErrorCode.FLOW_CONTROL_ERROR, "Stream window overflow");
      }
    }
    this.#writer.out.settingsAck();
    if (applied > 0) this.#resumeBlocked();
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
    this.#writer.out.ping(Flag.ACK, b, start);
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
    const problem = messageProblem(s);
    if (problem !== null) {
      return this.#respondStatus(s, problem.http, problem.grpc, problem.message, problem.extra);
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
      if (s.bodyIsView && s.response !== null) this.#input.lent = true;
      return;
    }
    if (s.bodyIsView) this.#input.lent = true;
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
    const total = message.length + GRPC_PREFIX_BYTES;
    const out = this.#writer.out;
    while (s.responseOffset < total) {
      const n = Math.min(
        total - s.responseOffset,
        s.sendWindow,
        this.#sendWindow,
        this.#peerSettings.maxFrameSize,
      );
      if (n <= 0) {
        if (!s.blocked) {
          s.blocked = true;
          this.#blocked.push(s);
        }
        return;
      }
      out.messageData(s.id, message, s.responseOffset, n);
      s.responseOffset += n;
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
      this.#writer.out.rstStream(s.id, ErrorCode.NO_ERROR);
      this.#closeStream(s, RESET);
    } else {
      this.#closeStream(s, ENDED);
    }
  }

  #resetStream(s: Stream, code: number): void {
    this.#writer.out.rstStream(s.id, code);
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
    if (this.#streams.size > 0) return;
    if (this.#peerGoaway) this.#endAfterFlush();
    else if (this.#drainState === DRAIN_FINAL) this.#endWhenPeerCloses();
  }

  // ---- Output ------------------------------------------------------------------------

  #writeServerPreface(): void {
    const out = this.#writer.out;
    out.settings([
      [Setting.MAX_CONCURRENT_STREAMS, this.#limits.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, this.#limits.streamWindowBytes],
      [Setting.MAX_HEADER_LIST_SIZE, this.#limits.maxHeaderListBytes],
      [Setting.ENABLE_PUSH, 0],
    ]);
    const extra = this.#recvWindow - DEFAULT_WINDOW;
    if (extra > 0) out.windowUpdate(0, extra);
  }

  #writeHeaderBlock(id: number, flags: number, block: Uint8Array): void {
    const update = this.#peerSettings.tableSizeChanged;
    this.#peerSettings.tableSizeChanged = false;
    this.#writer.out.headers(id, flags, block, update ? TABLE_SIZE_UPDATE_ZERO : null);
  }

  /** A slow reader must not make the server hold unbounded response bytes. */
  #checkOutboundBudget(): void {
    const buffered = this.#pendingResponseBytes + this.#writer.bufferedBytes;
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
    this.#writer.out.goaway(Math.min(this.#lastClientStreamId, this.#goawayLastId), code);
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
    this.#writer.out.goaway(this.#goawayLastId, ErrorCode.NO_ERROR);
    if (this.#streams.size === 0) this.#endWhenPeerCloses();
    else this.#flush();
  }

  /**
   * A graceful end: sends what is buffered and keeps reading until the client closes, at
   * most `drainLingerMs`, then closes. Closing at once can end the connection under a
   * client that has not yet read the GOAWAY, and fails the calls it started meanwhile
   * (grpc-js: INTERNAL, "socket ended by the other party") where they should be refused.
   */
  #endWhenPeerCloses(): void {
    if (this.#destroyed || this.#lingerTimer !== undefined) return;
    this.#flush();
    this.#lingerTimer = setTimeout(H2Connection.#lingerOver, this.#limits.drainLingerMs, this);
  }

  static #lingerOver(connection: H2Connection): void {
    connection.#lingerTimer = undefined;
    connection.#endAfterFlush();
  }

  /** Sends what is buffered, then closes the socket. */
  #endAfterFlush(): void {
    if (this.#destroyed) return;
    this.#closeAfterFlush = true;
    if (this.#writer.out.len > 0 || this.#writer.writing) this.#flush();
    else this.destroy();
  }

  #flush(): void {
    if (!this.#destroyed) this.#writer.flush();
  }
}

const EMPTY = new Uint8Array(0);
/** How many closed streams' endings are remembered (see closed_streams.ts). */
const CLOSED_STREAMS_REMEMBERED = 256;

/** Whether the 5-byte priority fields at `at` name stream `id` as its own dependency. */
function dependsOnItself(id: number, b: Uint8Array, at: number): boolean {
  const dependency = ((b[at] & 0x7f) << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3]) >>> 0;
  return dependency === id;
}
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

function equals(b: Uint8Array, start: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (b[start + i] !== expected[i]) return false;
  return true;
}
