/**
 * The TLS listener for mutual TLS. `Deno.listenTls` in Deno 2.8.3 cannot send a
 * CertificateRequest, verify a client chain or expose the peer's certificate;
 * `node:tls`'s server can (`requestCert` + `rejectUnauthorized`), negotiates ALPN "h2",
 * and swaps its certificates for new handshakes with `setSecureContext`.
 *
 * A connection reaches `onConnection` only after its handshake succeeded, so a client
 * without a certificate, with an expired one or one from another CA never gets an HTTP/2
 * preface read, let alone a call routed; its handshake fails and gRPC clients report
 * UNAVAILABLE.
 */
import { createServer, type Server, type TLSSocket } from "node:tls";
import { getLogger } from "@logtape/logtape";
import { NodeTlsConn } from "./node_tls_conn.ts";

const log = getLogger(["rialto", "transport", "native"]);

/** PEM certificate chain and key of the server, and the CA bundle for client certificates. */
export interface TlsContextMaterial {
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
  readonly ca?: string | Uint8Array;
}

export interface NodeTlsListenerOptions {
  readonly hostname?: string;
  readonly port: number;
  /** SO_REUSEPORT (Deno 2.8.3's node:net honours it, as Node 23.1+ does). */
  readonly reusePort?: boolean;
  readonly material: TlsContextMaterial;
  /** Request a client certificate and refuse the handshake without a valid one. */
  readonly requireClientCert: boolean;
  /** A handshake not done by then is abandoned. */
  readonly handshakeTimeoutMs: number;
  /** Inbound bytes a connection may leave unread before it is cut off (see NodeTlsConn). */
  readonly maxUnreadBytes: number;
  /**
   * Called once per verified connection with its client leaf DER (null when the server
   * asks for none); the same object is meant to serve as `Peer.certificate` on every call.
   */
  readonly onConnection: (conn: NodeTlsConn, certificate: Uint8Array | null) => void;
}

export class NodeTlsListener {
  readonly port: number;
  readonly #server: Server;
  #closed = false;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /** Binds and listens; rejects when the port cannot be bound. */
  static listen(options: NodeTlsListenerOptions): Promise<NodeTlsListener> {
    const server = createServer({
      ...contextOptions(options.material),
      requestCert: options.requireClientCert,
      rejectUnauthorized: options.requireClientCert,
      ALPNProtocols: ["h2"],
      // Our side stays writable after the peer's FIN, as with a Deno.Conn: the HTTP/2
      // connection answers, sends GOAWAY and closes it itself.
      allowHalfOpen: true,
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    let listener: NodeTlsListener | null = null;
    server.on("secureConnection", (socket: TLSSocket) => {
      if (listener === null || listener.#closed) {
        socket.destroy();
        return;
      }
      // No ALPN at all is accepted as prior knowledge; another protocol is not h2.
      const alpn = socket.alpnProtocol;
      if (typeof alpn === "string" && alpn !== "h2") {
        log.debug("TLS connection from {peer} refused: ALPN {alpn}", {
          peer: socket.remoteAddress,
          alpn,
        });
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      options.onConnection(
        new NodeTlsConn(socket, options.maxUnreadBytes),
        leafCertificate(socket),
      );
    });
    server.on("tlsClientError", (error: Error, socket: TLSSocket) => {
      log.debug("TLS handshake with {peer} failed: {error}", {
        peer: socket.remoteAddress,
        error: error.message,
      });
      socket.destroy();
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const where = {
        host: options.hostname ?? "0.0.0.0",
        port: options.port,
        reusePort: options.reusePort ?? false,
      };
      server.listen(where, () => {
        server.off("error", reject);
        server.on("error", (error: Error) => log.warn("TLS listener: {error}", { error }));
        const address = server.address();
        const port = typeof address === "object" && address !== null ? address.port : 0;
        listener = new NodeTlsListener(server, port);
        resolve(listener);
      });
    });
  }

  /** New handshakes use `material`; open connections keep what they negotiated. */
  setMaterial(material: TlsContextMaterial): void {
    this.#server.setSecureContext(contextOptions(material));
  }

  /** Stops accepting; open connections are the caller's to drain. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
  }
}

function contextOptions(material: TlsContextMaterial) {
  return {
    cert: pem(material.cert),
    key: pem(material.key),
    ...material.ca === undefined ? {} : { ca: pem(material.ca) },
  };
}

/** PEM text from a string or its bytes. */
export function pem(value: string | Uint8Array): string {
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

/**
 * A copy of the client's leaf certificate DER as a plain Uint8Array (a Buffer would
 * compare unequal to one, and a view could pin a pooled slab), or null when it sent none.
 */
function leafCertificate(socket: TLSSocket): Uint8Array | null {
  const raw = socket.getPeerCertificate(false)?.raw as Uint8Array | undefined;
  if (raw === undefined || raw.length === 0) return null;
  return new Uint8Array(raw);
}
