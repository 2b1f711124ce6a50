/**
 * Mutual TLS for the grpc-js transport on Deno 2.8.3.
 *
 * Credentials come from grpc-js's certificate-provider API
 * (`experimental.createCertificateProviderServerCredentials`): on every update the
 * server calls `setSecureContext` on its HTTP/2 server, so a replaced certificate, key or
 * CA file is used by new connections without a restart, and open connections carry on.
 * The provider here publishes what `TlsFileReloader` (tls_files.ts, shared with the native
 * transport) reads: it polls the files (a rename-into-place defeats file watches) and
 * publishes a set only after checking it: certificate and key must match and the
 * certificate must be in its validity period. grpc-js's own FileWatcherCertificateProvider
 * publishes whatever it reads, and a half-written pair makes the server drop every new
 * connection until the next read; Deno's `tls.createSecureContext` does not notice a
 * mismatched pair either, so the check is ours.
 *
 * Client certificates are required and verified against `caFile` during the handshake
 * (`requireClientCertificate`): a client without one, with an expired one or one from
 * another CA never gets a call through (the client sees UNAVAILABLE).
 */
import * as grpc from "@grpc/grpc-js";
import type { PrincipalRule } from "./principal.ts";
import {
  type CertificateReloadOptions,
  type LoadedTlsFiles,
  TlsFileReloader,
  type TlsFiles,
} from "./tls_files.ts";

export { loadTlsFiles } from "./tls_files.ts";
export type { CertificateReloadOptions, TlsFiles } from "./tls_files.ts";

/** The `grpc.tls` section of the config. */
export interface GrpcTlsSettings {
  readonly enabled: boolean;
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly caFile: string | null;
  readonly principal: PrincipalRule;
}

/**
 * A grpc-js CertificateProvider for our server identity and client CA, reloaded from
 * disk when the files change (`TlsFileReloader`). Polling runs only while a server listens.
 */
export class ReloadingCertificateProvider implements grpc.experimental.CertificateProvider {
  readonly files: TlsFiles;
  readonly #reloader: TlsFileReloader;
  readonly #identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  readonly #caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();

  private constructor(reloader: TlsFileReloader) {
    this.#reloader = reloader;
    this.files = reloader.files;
  }

  /** Loads the files once; throws when they are unusable, so a server never starts without TLS. */
  static async create(
    files: TlsFiles,
    options: CertificateReloadOptions = {},
  ): Promise<ReloadingCertificateProvider> {
    return new ReloadingCertificateProvider(await TlsFileReloader.create(files, options));
  }

  /** Counts published sets; the first load is 1. */
  get generation(): number {
    return this.#reloader.generation;
  }

  /** Why the latest change on disk was not used, or null. */
  get lastError(): Error | null {
    return this.#reloader.lastError;
  }

  /**
   * Checks the files now; publishes them if they changed and are usable. Returns true
   * when a new set was published.
   */
  reloadNow(): Promise<boolean> {
    return this.#reloader.reloadNow();
  }

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => listener({ caCertificate: this.#reloader.current.caCertificate }));
    this.#reloader.subscribe(this.#publish);
  }

  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.#caListeners.delete(listener);
    this.#maybeUnsubscribe();
  }

  addIdentityCertificateListener(
    listener: grpc.experimental.IdentityCertificateUpdateListener,
  ): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => listener(identityUpdate(this.#reloader.current)));
    this.#reloader.subscribe(this.#publish);
  }

  removeIdentityCertificateListener(
    listener: grpc.experimental.IdentityCertificateUpdateListener,
  ): void {
    this.#identityListeners.delete(listener);
    this.#maybeUnsubscribe();
  }

  /** Stops polling even if a server still holds the credentials. */
  close(): void {
    this.#identityListeners.clear();
    this.#caListeners.clear();
    this.#reloader.close();
  }

  readonly #publish = (loaded: LoadedTlsFiles): void => {
    for (const listener of this.#identityListeners) listener(identityUpdate(loaded));
    for (const listener of this.#caListeners) listener({ caCertificate: loaded.caCertificate });
  };

  #maybeUnsubscribe(): void {
    if (this.#identityListeners.size + this.#caListeners.size > 0) return;
    this.#reloader.unsubscribe(this.#publish);
  }
}

function identityUpdate(loaded: LoadedTlsFiles): grpc.experimental.IdentityCertificateUpdate {
  return { certificate: loaded.certificate, privateKey: loaded.privateKey };
}

export interface MutualTls {
  readonly credentials: grpc.ServerCredentials;
  readonly provider: ReloadingCertificateProvider;
}

/**
 * Server credentials for mutual TLS from the `grpc.tls` settings: client certificates
 * required and verified against `caFile`, files reloaded when they change. Throws when a
 * file is missing or unusable.
 */
export async function createMutualTlsCredentials(
  tls: GrpcTlsSettings,
  options: CertificateReloadOptions = {},
): Promise<MutualTls> {
  if (!tls.certFile || !tls.keyFile || !tls.caFile) {
    throw new TypeError(
      "grpc.tls.certFile, keyFile and caFile are all required when grpc.tls.enabled is true",
    );
  }
  const provider = await ReloadingCertificateProvider.create(
    { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile },
    options,
  );
  // grpc-js 1.14.7 passes this function's first argument to the constructor's identity
  // parameter and the second to the CA one (the names are swapped); one provider serves
  // both, so the order cannot matter.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    provider,
    true,
  );
  return { credentials, provider };
}

interface SessionHolder {
  stream?: { session?: object };
  nextCall?: SessionHolder;
}

/** Client certificate DER per HTTP/2 session (= per TLS connection). */
const certificates = new WeakMap<object, Uint8Array | null>();

/**
 * The DER bytes of the verified client certificate of a grpc-js server call, or null
 * on plaintext. The same `Uint8Array` is returned for every call on a connection, so
 * `PrincipalCache` parses it once.
 *
 * grpc-js's public `call.getAuthContext()` builds a full peer-certificate object on each
 * call (about 26 µs on Deno 2.8.3); it is asked once per connection and the result is
 * kept against the connection's HTTP/2 session. Reaching the session uses grpc-js
 * 1.14.7 internals (`call.call[.nextCall...].stream.session`); if a later version moves
 * them, this falls back to the public call on every request (correct, slower) and the
 * test "client certificate is read once per connection" fails to say so.
 */
export function clientCertificateOf(
  call: Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext">,
): Uint8Array | null {
  let holder = (call as unknown as { call?: SessionHolder }).call;
  while (holder !== undefined && holder.stream === undefined) holder = holder.nextCall;
  const session = holder?.stream?.session;
  if (session !== undefined) {
    const known = certificates.get(session);
    if (known !== undefined) return known;
  }
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  const der = raw === undefined ? null : new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
  if (session !== undefined) certificates.set(session, der);
  return der;
}
