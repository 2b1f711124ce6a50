/**
 * Mutual TLS for the grpc-js transport on Deno 2.8.3.
 *
 * Credentials come from grpc-js's certificate-provider API
 * (`experimental.createCertificateProviderServerCredentials`): on every update the
 * server calls `setSecureContext` on its HTTP/2 server, so a replaced certificate, key or
 * CA file is used by new connections without a restart, and open connections carry on.
 * The provider here polls the files (a rename-into-place defeats file watches) and
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
import { Buffer } from "node:buffer";
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { logger } from "../log.ts";
import type { PrincipalRule } from "./principal.ts";

/** The `grpc.tls` section of the config. */
export interface GrpcTlsSettings {
  readonly enabled: boolean;
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly caFile: string | null;
  readonly principal: PrincipalRule;
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface CertificateReloadOptions {
  /** How often the files are checked for changes (default 5000 ms). */
  readonly pollIntervalMs?: number;
}

interface Loaded {
  readonly certificate: Buffer;
  readonly privateKey: Buffer;
  readonly caCertificate: Buffer;
}

type FileStamp = string;

async function stampOf(files: TlsFiles): Promise<FileStamp> {
  const parts: string[] = [];
  for (const path of [files.certFile, files.keyFile, files.caFile]) {
    const info = await Deno.stat(path);
    parts.push(`${info.mtime?.getTime()}:${info.size}:${info.ino}`);
  }
  return parts.join("|");
}

/** Reads and checks one set of files; throws an Error saying what is wrong. */
export async function loadTlsFiles(files: TlsFiles, nowMs = Date.now()): Promise<Loaded> {
  const [certificate, privateKey, caCertificate] = await Promise.all([
    Deno.readFile(files.certFile),
    Deno.readFile(files.keyFile),
    Deno.readFile(files.caFile),
  ]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificate);
  } catch (e) {
    throw new Error(`Cannot read certificate "${files.certFile}": ${(e as Error).message}`);
  }
  try {
    new X509Certificate(caCertificate);
  } catch (e) {
    throw new Error(`Cannot read CA certificate "${files.caFile}": ${(e as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(Buffer.from(privateKey)));
  } catch (e) {
    throw new Error(`Cannot read private key "${files.keyFile}": ${(e as Error).message}`);
  }
  if (!matches) {
    throw new Error(
      `Private key "${files.keyFile}" does not match certificate "${files.certFile}"`,
    );
  }
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  if (!(nowMs >= from && nowMs <= to)) {
    throw new Error(
      `Certificate "${files.certFile}" is valid from ${leaf.validFrom} to ${leaf.validTo}, not now`,
    );
  }
  return {
    certificate: Buffer.from(certificate),
    privateKey: Buffer.from(privateKey),
    caCertificate: Buffer.from(caCertificate),
  };
}

/**
 * A grpc-js CertificateProvider for our server identity and client CA, reloaded from
 * disk when the files change. Polling runs only while a server listens.
 */
export class ReloadingCertificateProvider implements grpc.experimental.CertificateProvider {
  readonly files: TlsFiles;
  readonly #pollMs: number;
  readonly #identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  readonly #caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  readonly #log = logger("tls");
  #current: Loaded;
  #stamp: FileStamp;
  #timer: ReturnType<typeof setInterval> | null = null;
  #polling = false;
  /** Counts published sets; the first load is 1. */
  generation = 1;
  /** Why the latest change on disk was not used, or null. */
  lastError: Error | null = null;

  private constructor(files: TlsFiles, loaded: Loaded, stamp: FileStamp, pollMs: number) {
    this.files = files;
    this.#current = loaded;
    this.#stamp = stamp;
    this.#pollMs = pollMs;
  }

  /** Loads the files once; throws when they are unusable, so a server never starts without TLS. */
  static async create(
    files: TlsFiles,
    options: CertificateReloadOptions = {},
  ): Promise<ReloadingCertificateProvider> {
    const stamp = await stampOf(files);
    const loaded = await loadTlsFiles(files);
    return new ReloadingCertificateProvider(files, loaded, stamp, options.pollIntervalMs ?? 5000);
  }

  /**
   * Checks the files now; publishes them if they changed and are usable. Returns true
   * when a new set was published.
   */
  async reloadNow(): Promise<boolean> {
    let stamp: FileStamp;
    let loaded: Loaded;
    try {
      stamp = await stampOf(this.files);
      if (stamp === this.#stamp) return false;
      loaded = await loadTlsFiles(this.files);
    } catch (e) {
      // Keep serving with the last good set; report each failure once per change.
      const error = e as Error;
      if (this.lastError?.message !== error.message) {
        this.#log.error("Keeping the current TLS certificates: {error}", { error: error.message });
      }
      this.lastError = error;
      return false;
    }
    this.#stamp = stamp;
    this.lastError = null;
    const old = this.#current;
    if (
      old.certificate.equals(loaded.certificate) && old.privateKey.equals(loaded.privateKey) &&
      old.caCertificate.equals(loaded.caCertificate)
    ) {
      return false;
    }
    this.#current = loaded;
    this.generation++;
    this.#log.info("Loaded new TLS certificates from {certFile}", {
      certFile: this.files.certFile,
    });
    for (const listener of this.#identityListeners) listener(this.#identityUpdate());
    for (const listener of this.#caListeners) listener({ caCertificate: loaded.caCertificate });
    return true;
  }

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => listener({ caCertificate: this.#current.caCertificate }));
    this.#startPolling();
  }

  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.#caListeners.delete(listener);
    this.#maybeStopPolling();
  }

  addIdentityCertificateListener(
    listener: grpc.experimental.IdentityCertificateUpdateListener,
  ): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => listener(this.#identityUpdate()));
    this.#startPolling();
  }

  removeIdentityCertificateListener(
    listener: grpc.experimental.IdentityCertificateUpdateListener,
  ): void {
    this.#identityListeners.delete(listener);
    this.#maybeStopPolling();
  }

  /** Stops polling even if a server still holds the credentials. */
  close(): void {
    this.#identityListeners.clear();
    this.#caListeners.clear();
    this.#maybeStopPolling();
  }

  #identityUpdate(): grpc.experimental.IdentityCertificateUpdate {
    return { certificate: this.#current.certificate, privateKey: this.#current.privateKey };
  }

  #startPolling(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(async () => {
      if (this.#polling) return;
      this.#polling = true;
      try {
        await this.reloadNow();
      } finally {
        this.#polling = false;
      }
    }, this.#pollMs);
  }

  #maybeStopPolling(): void {
    if (this.#identityListeners.size + this.#caListeners.size > 0 || this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }
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
