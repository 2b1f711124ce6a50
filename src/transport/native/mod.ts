/**
 * A native gRPC-over-HTTP/2 server transport: plaintext on the serving thread's own epoll
 * (socket_conn.ts, socket_poller.ts) or on `Deno.listen`, server-only TLS on
 * `Deno.listenTls`, mutual TLS on `node:tls` (node_tls_listener.ts: Deno.listenTls cannot
 * ask for client certificates).
 *
 * Each accepted connection runs an `H2Connection`; the server owns the listener, the
 * set of connections and one timer that sweeps them for timeouts.
 */

import { getLogger } from "@logtape/logtape";
import { trimNativeHeap } from "../../../ffi/mod.ts";
import {
  type CertificateReloadOptions,
  type LoadedTlsFiles,
  TlsFileReloader,
  type TlsFiles,
} from "../../auth/tls_files.ts";
import type { TransportServer, UnaryRouter } from "../types.ts";
import { type ByteConn, type ConnectionOwner, H2Connection } from "./connection.ts";
import { DEFAULT_LIMITS, maxUnreadInboundBytes, type NativeLimits } from "./limits.ts";
import { NodeTlsListener, pem, type TlsContextMaterial } from "./node_tls_listener.ts";
import { SocketListener } from "./socket_conn.ts";
import { loopTasks } from "../../metrics/loop_tasks.ts";

export type { NativeLimits } from "./limits.ts";
export { DEFAULT_LIMITS } from "./limits.ts";

const log = getLogger(["rialto", "transport", "native"]);

/** TLS from PEM values given once (tests, embedding); no reload. */
export interface NativeTlsOptions {
  /** PEM certificate chain of the server. */
  cert: string | Uint8Array;
  /** PEM private key of the server. */
  key: string | Uint8Array;
  /** PEM CA bundle that signs client certificates; required with `requireClientCert`. */
  ca?: string | Uint8Array;
  /** Require and verify a client certificate during the handshake (mutual TLS). */
  requireClientCert?: boolean;
}

/**
 * Mutual TLS from files, the config's `grpc.tls`: the files are checked before use
 * (certificate and key match, certificate in its validity period, CA readable) and
 * re-read when they change, so new connections get a rotated certificate or CA without
 * a restart while open ones carry on. A changed set that fails the checks is logged and
 * not used. Client certificates are always required and verified against `caFile`.
 */
export interface NativeTlsFileOptions extends TlsFiles, CertificateReloadOptions {}

/**
 * The native transport's TLS from the `grpc.tls` settings: mutual TLS from files, reloaded
 * when they change; undefined (plaintext) when TLS is off.
 */
export function nativeTlsFromSettings(
  tls: {
    readonly enabled: boolean;
    readonly certFile: string | null;
    readonly keyFile: string | null;
    readonly caFile: string | null;
  },
): NativeTlsFileOptions | undefined {
  if (!tls.enabled) return undefined;
  if (!tls.certFile || !tls.keyFile || !tls.caFile) {
    throw new TypeError(
      "grpc.tls.certFile, keyFile and caFile are all required when grpc.tls.enabled is true",
    );
  }
  return { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile };
}

export interface NativeServerOptions {
  /** Interface to listen on; Deno's default ("0.0.0.0") when absent. */
  hostname?: string;
  /** TCP port; 0 picks a free one (read it back from `TransportServer.port`). */
  port: number;
  router: UnaryRouter;
  /**
   * TLS with ALPN "h2" (`NativeTlsOptions` or, for mutual TLS with reload,
   * `NativeTlsFileOptions`); plaintext HTTP/2 with prior knowledge when absent.
   */
  tls?: NativeTlsOptions | NativeTlsFileOptions;
  /** Largest request message accepted; default 4 MiB. */
  maxMessageBytes?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection; default 256. */
  maxConcurrentStreams?: number;
  /** SO_REUSEPORT, so that several processes or worker isolates can share the port. */
  reusePort?: boolean;
  /** Aborting it closes the server, as `close()` with its default grace period. */
  signal?: AbortSignal;
  /**
   * Plaintext only: "poller" (the default) serves on the thread's own epoll loop
   * (socket_poller.ts), "deno" on Deno.listen. The poller falls back to Deno where it
   * cannot run (no glibc, a host name that is not an address literal).
   */
  io?: "poller" | "deno";
  /** Overrides of the protocol and abuse limits (see `NativeLimits`). */
  limits?: Partial<NativeLimits>;
}

/** A running native server. */
export interface NativeTransportServer extends TransportServer {
  /**
   * With `NativeTlsFileOptions`: the files in use, their generation, why the latest change
   * was refused, and `reloadNow()`; polling stops when the server closes. Null otherwise.
   */
  readonly tlsFiles: TlsFileReloader | null;
  /**
   * What waits for the sockets: "poller", the serving thread's own epoll (plaintext with
   * `io` "poller" where it can run), or "deno", the runtime (Deno.listen, TLS).
   */
  readonly io: "poller" | "deno";
}

const DEFAULT_GRACE_MS = 10_000;

/**
 * Starts serving. Resolves once the listener is bound; rejects on a bad option, a TLS
 * file that fails its checks, or a port that cannot be bound.
 *
 * With `tls.requireClientCert` (PEM values) or `NativeTlsFileOptions` (files) a client
 * must present a certificate that chains to the CA; its leaf DER is `Peer.certificate`,
 * the same Uint8Array for every call on the connection. Otherwise `Peer.certificate` is
 * null.
 */
export async function serveNative(options: NativeServerOptions): Promise<NativeTransportServer> {
  const limits = validLimits(options);
  const tls = options.tls;
  if (tls === undefined) {
    if ((options.io ?? "poller") === "poller") {
      let server: NativeServer | null = null;
      const socket = SocketListener.listen({
        hostname: options.hostname ?? "0.0.0.0",
        port: options.port,
        reusePort: options.reusePort,
        onConnection: (conn) => server!.adopt(conn, null, false),
      });
      if (socket !== null) {
        server = new NativeServer(options.router, limits, options.signal, { socket });
        log.info("gRPC on port {port}: plaintext, on this thread's own epoll", {
          port: server.port,
        });
        return server;
      }
    }
    const listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
    });
    const server = new NativeServer(options.router, limits, options.signal, {
      deno: listener,
      tls: false,
    });
    log.info("gRPC on port {port}: plaintext, through Deno.listen", { port: server.port });
    return server;
  }
  if ("certFile" in tls) return await serveMutualTlsFromFiles(options, tls, limits);
  if (tls.requireClientCert && tls.ca === undefined) {
    throw new TypeError(
      "tls.requireClientCert needs tls.ca, the CA that signs client certificates",
    );
  }
  if (!tls.requireClientCert && tls.ca !== undefined) {
    throw new TypeError(
      "tls.ca is only used to verify client certificates: set tls.requireClientCert too",
    );
  }
  if (!tls.requireClientCert) {
    // Server-only TLS stays on Deno.listenTls: measured on 2 cores with the same mTLS load
    // generator, it answered about 1.2x the calls per server CPU-second that node:tls did.
    const listener = Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
      cert: pem(tls.cert),
      key: pem(tls.key),
      alpnProtocols: ["h2"],
    });
    return new NativeServer(options.router, limits, options.signal, { deno: listener, tls: true });
  }
  return await serveOnNodeTls(options, limits, tls, null);
}

async function serveMutualTlsFromFiles(
  options: NativeServerOptions,
  files: NativeTlsFileOptions,
  limits: Readonly<NativeLimits>,
): Promise<NativeTransportServer> {
  const reloader = await TlsFileReloader.create(
    { certFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile },
    { pollIntervalMs: files.pollIntervalMs },
  );
  return await serveOnNodeTls(options, limits, materialOf(reloader.current), reloader);
}

async function serveOnNodeTls(
  options: NativeServerOptions,
  limits: Readonly<NativeLimits>,
  material: TlsContextMaterial,
  reloader: TlsFileReloader | null,
): Promise<NativeTransportServer> {
  let server: NativeServer | null = null;
  const listener = await NodeTlsListener.listen({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort ?? false,
    material,
    requireClientCert: true,
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    maxUnreadBytes: maxUnreadInboundBytes(limits),
    onConnection: (conn, certificate) => server!.adopt(conn, certificate, false),
  });
  server = new NativeServer(options.router, limits, options.signal, {
    node: listener,
    reloader,
  });
  return server;
}

function materialOf(loaded: LoadedTlsFiles): TlsContextMaterial {
  return { cert: loaded.certificate, key: loaded.privateKey, ca: loaded.caCertificate };
}

function validLimits(options: NativeServerOptions): Readonly<NativeLimits> {
  const limits: NativeLimits = { ...DEFAULT_LIMITS, ...options.limits };
  if (options.maxMessageBytes !== undefined) limits.maxMessageBytes = options.maxMessageBytes;
  if (options.maxConcurrentStreams !== undefined) {
    limits.maxConcurrentStreams = options.maxConcurrentStreams;
  }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Invalid native transport limit "${name}": ${value}`);
    }
  }
  if (limits.streamWindowBytes > 0x7fff_ffff || limits.connectionWindowBytes > 0x7fff_ffff) {
    throw new RangeError("Flow-control windows must not exceed 2^31-1 bytes");
  }
  return Object.freeze(limits);
}

/** The server's one timer: timeouts of every connection, and trims after a burst. */
const SWEEP = loopTasks.timed(
  "transport-sweep",
  (server: NativeServer) => NativeServer.sweep(server),
);

/** Connections closed since the peak that make the sweep trim native memory. */
const TRIM_AFTER_CLOSED_CONNECTIONS = 256;
/** When, after such a burst, to trim: at once, then as collections free more. */
const TRIM_DELAYS_MS = [0, 2_000, 10_000, 25_000];
/** With that many connections closed since, trims at most this often. */
const CHURN_TRIM_INTERVAL_MS = 30_000;

/** Where connections come from: a Deno listener or the poller's (socket_conn.ts), or node:tls. */
type Source =
  | { readonly deno: Deno.Listener; readonly tls: boolean }
  | { readonly socket: SocketListener }
  | { readonly node: NodeTlsListener; readonly reloader: TlsFileReloader | null };

class NativeServer implements NativeTransportServer, ConnectionOwner {
  readonly port: number;
  #acceptFailures = 0;
  readonly router: UnaryRouter;
  readonly limits: Readonly<NativeLimits>;
  readonly tlsFiles: TlsFileReloader | null;
  readonly io: "poller" | "deno";
  readonly #source: Source;
  readonly #connections = new Set<H2Connection>();
  /** The most connections open at once since native memory was last trimmed. */
  #peakConnections = 0;
  /** When to trim next (performance.now() ms), soonest first. */
  #trimsAt: number[] = [];
  /** Connections closed since the last trim, and when that was. */
  #closedSinceTrim = 0;
  #lastTrimAt = 0;
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  readonly #accepting: Promise<void>;
  readonly #signal: AbortSignal | undefined;
  #closing: Promise<void> | null = null;

  constructor(
    router: UnaryRouter,
    limits: Readonly<NativeLimits>,
    signal: AbortSignal | undefined,
    source: Source,
  ) {
    this.#source = source;
    this.router = router;
    this.limits = limits;
    this.io = "socket" in source ? "poller" : "deno";
    if ("deno" in source) {
      this.port = (source.deno.addr as Deno.NetAddr).port;
      this.tlsFiles = null;
      this.#accepting = this.#acceptLoop(source.deno, source.tls);
    } else if ("socket" in source) {
      this.port = source.socket.addr.port;
      this.tlsFiles = null;
      this.#accepting = Promise.resolve();
    } else {
      this.port = source.node.port;
      this.tlsFiles = source.reloader;
      this.#accepting = Promise.resolve();
      source.reloader?.subscribe(this.#onTlsFiles);
    }
    const period = Math.max(
      10,
      Math.min(1000, limits.streamIdleTimeoutMs / 4, limits.handshakeTimeoutMs / 4),
    );
    this.#sweepTimer = setInterval(SWEEP, period, this);
    this.#signal = signal;
    if (signal?.aborted) this.close();
    else signal?.addEventListener("abort", this.#onAbort);
  }

  readonly #onAbort = () => {
    this.close();
  };

  readonly #onTlsFiles = (loaded: LoadedTlsFiles): void => {
    if (!("node" in this.#source)) return;
    try {
      this.#source.node.setMaterial(materialOf(loaded));
    } catch (error) {
      // The files passed their checks; a context node:tls still refuses keeps the old one.
      log.error("Keeping the current TLS certificates: {error}", { error });
    }
  };

  get acceptFailures(): number {
    const source = this.#source;
    return this.#acceptFailures + ("socket" in source ? source.socket.acceptFailures : 0);
  }

  connectionClosed(connection: H2Connection): void {
    this.#connections.delete(connection);
    this.#closedSinceTrim++;
  }

  close(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    this.#closing ??= this.#shutdown(graceMs);
    return this.#closing;
  }

  /** Runs a connection; `handshake`: a Deno.TlsConn whose handshake is still to do. */
  adopt(conn: ByteConn, certificate: Uint8Array | null, handshake: boolean): void {
    if (this.#closing !== null) {
      conn.close();
      return;
    }
    const connection = new H2Connection(conn, this, certificate);
    this.#connections.add(connection);
    this.#peakConnections = Math.max(this.#peakConnections, this.#connections.size);
    connection.run(handshake);
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const source = this.#source;
    if ("deno" in source) {
      try {
        source.deno.close();
      } catch {
        // Already closed.
      }
    } else if ("socket" in source) {
      source.socket.close();
    } else {
      source.reloader?.unsubscribe(this.#onTlsFiles);
      source.reloader?.close();
      source.node.close();
    }
    await this.#accepting;
    const connections = [...this.#connections];
    for (const connection of connections) connection.startDrain();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
    const drained = Promise.all(connections.map((c) => c.closed));
    await Promise.race([drained, graceOver]);
    clearTimeout(timer);
    for (const connection of connections) connection.destroy();
    await drained;
    clearInterval(this.#sweepTimer);
  }

  async #acceptLoop(listener: Deno.Listener, tls: boolean): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#closing !== null || error instanceof Deno.errors.BadResource) return;
        this.#acceptFailures++;
        log.debug("Accept failed: {error}", { error });
        continue;
      }
      if (this.#closing !== null) {
        conn.close();
        continue;
      }
      if (!tls) (conn as Deno.TcpConn).setNoDelay(true);
      this.adopt(conn, null, tls);
    }
  }

  static sweep(server: NativeServer): void {
    const now = performance.now();
    for (const connection of server.#connections) connection.sweep(now);
    // A burst of connections has ended: give what they held back to the system, again
    // as the garbage collector frees their buffers and Deno's resources behind them.
    const open = server.#connections.size;
    if (server.#peakConnections - open >= TRIM_AFTER_CLOSED_CONNECTIONS) {
      server.#peakConnections = open;
      server.#trimsAt = TRIM_DELAYS_MS.map((delay) => now + delay);
    }
    // Steady churn (short connections all the time) frees as much, only more slowly.
    const churned = server.#closedSinceTrim >= TRIM_AFTER_CLOSED_CONNECTIONS &&
      now - server.#lastTrimAt >= CHURN_TRIM_INTERVAL_MS;
    if ((server.#trimsAt.length > 0 && now >= server.#trimsAt[0]) || churned) {
      if (!churned) server.#trimsAt.shift();
      server.#closedSinceTrim = 0;
      server.#lastTrimAt = now;
      trimNativeHeap();
    }
  }
}
