/**
 * A native gRPC-over-HTTP/2 server transport on `Deno.listen` / `Deno.listenTls`.
 *
 * Each accepted connection runs an `H2Connection`; the server owns the listener, the
 * set of connections and one timer that sweeps them for timeouts.
 */

import { getLogger } from "@logtape/logtape";
import type { TransportServer, UnaryRouter } from "../types.ts";
import { type ConnectionOwner, H2Connection } from "./connection.ts";
import { DEFAULT_LIMITS, type NativeLimits } from "./limits.ts";

export type { NativeLimits } from "./limits.ts";
export { DEFAULT_LIMITS } from "./limits.ts";

const log = getLogger(["rialto", "transport", "native"]);

export interface NativeTlsOptions {
  /** PEM certificate chain of the server. */
  cert: string;
  /** PEM private key of the server. */
  key: string;
  /** PEM CA bundle for client certificates. Deno 2.8.3 cannot use it: see `serveNative`. */
  ca?: string;
  /** Require and verify a client certificate. Deno 2.8.3 cannot: see `serveNative`. */
  requireClientCert?: boolean;
}

export interface NativeServerOptions {
  /** Interface to listen on; Deno's default ("0.0.0.0") when absent. */
  hostname?: string;
  /** TCP port; 0 picks a free one (read it back from `TransportServer.port`). */
  port: number;
  router: UnaryRouter;
  /** TLS with ALPN "h2"; plaintext HTTP/2 with prior knowledge when absent. */
  tls?: NativeTlsOptions;
  /** Largest request message accepted; default 4 MiB. */
  maxMessageBytes?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection; default 256. */
  maxConcurrentStreams?: number;
  /** SO_REUSEPORT, so that several processes can share the port. */
  reusePort?: boolean;
  /** Aborting it closes the server, as `close()` with its default grace period. */
  signal?: AbortSignal;
  /** Overrides of the protocol and abuse limits (see `NativeLimits`). */
  limits?: Partial<NativeLimits>;
}

const DEFAULT_GRACE_MS = 10_000;

/**
 * Starts serving. Resolves once the listener is bound.
 *
 * Mutual TLS: `Deno.listenTls` in Deno 2.8.3 takes only `cert`, `key`, `alpnProtocols`
 * and socket options; it cannot send a CertificateRequest, verify a client chain, or
 * expose the peer's certificate. Rather than silently accept unauthenticated clients,
 * `tls.requireClientCert` or `tls.ca` make this function throw, and `Peer.certificate`
 * is always null.
 */
export function serveNative(options: NativeServerOptions): Promise<TransportServer> {
  try {
    return Promise.resolve(startServer(options));
  } catch (error) {
    return Promise.reject(error);
  }
}

function startServer(options: NativeServerOptions): TransportServer {
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
  const tls = options.tls;
  if (tls !== undefined && (tls.requireClientCert || tls.ca !== undefined)) {
    throw new TypeError(
      "Cannot verify client certificates: Deno.listenTls in Deno " + Deno.version.deno +
        " has no option to request or verify them; remove tls.ca and tls.requireClientCert " +
        "or terminate mTLS in front of Rialto",
    );
  }
  const listener: Deno.Listener = tls === undefined
    ? Deno.listen({ hostname: options.hostname, port: options.port, reusePort: options.reusePort })
    : Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
      cert: tls.cert,
      key: tls.key,
      alpnProtocols: ["h2"],
    });
  return new NativeServer(
    listener,
    options.router,
    Object.freeze(limits),
    tls !== undefined,
    options.signal,
  );
}

class NativeServer implements TransportServer, ConnectionOwner {
  readonly port: number;
  readonly router: UnaryRouter;
  readonly limits: Readonly<NativeLimits>;
  readonly #listener: Deno.Listener;
  readonly #tls: boolean;
  readonly #connections = new Set<H2Connection>();
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  readonly #accepting: Promise<void>;
  readonly #signal: AbortSignal | undefined;
  #closing: Promise<void> | null = null;

  constructor(
    listener: Deno.Listener,
    router: UnaryRouter,
    limits: Readonly<NativeLimits>,
    tls: boolean,
    signal: AbortSignal | undefined,
  ) {
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.router = router;
    this.limits = limits;
    this.#tls = tls;
    const period = Math.max(
      10,
      Math.min(1000, limits.streamIdleTimeoutMs / 4, limits.handshakeTimeoutMs / 4),
    );
    this.#sweepTimer = setInterval(NativeServer.#sweep, period, this);
    this.#accepting = this.#acceptLoop();
    this.#signal = signal;
    if (signal?.aborted) this.close();
    else signal?.addEventListener("abort", this.#onAbort);
  }

  readonly #onAbort = () => {
    this.close();
  };

  connectionClosed(connection: H2Connection): void {
    this.#connections.delete(connection);
  }

  close(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    this.#closing ??= this.#shutdown(graceMs);
    return this.#closing;
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    try {
      this.#listener.close();
    } catch {
      // Already closed.
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

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing !== null || error instanceof Deno.errors.BadResource) return;
        log.warn("Accept failed: {error}", { error });
        continue;
      }
      if (this.#closing !== null) {
        conn.close();
        continue;
      }
      if (!this.#tls) (conn as Deno.TcpConn).setNoDelay(true);
      const connection = new H2Connection(conn, this, null);
      this.#connections.add(connection);
      connection.run(this.#tls);
    }
  }

  static #sweep(server: NativeServer): void {
    const now = performance.now();
    for (const connection of server.#connections) connection.sweep(now);
  }
}
