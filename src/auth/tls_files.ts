/**
 * The server's TLS files (certificate, key, client CA), read and checked before use and
 * re-read when they change on disk. Transport-neutral: grpc-js's certificate provider
 * (`grpc_js_tls.ts`) and the native transport's `node:tls` listener both publish what
 * `TlsFileReloader` hands them.
 *
 * The files are polled (a rename-into-place defeats file watches; `FileChanges` makes a
 * look one read(2) while nothing moved in their folders) and a changed set is published
 * only after checking it: certificate and key must match and the certificate must be in
 * its validity period. A half-written pair, or one whose key does not match, would
 * otherwise make every new handshake fail until the next read; `node:tls`'s
 * `createSecureContext` and `setSecureContext` on Deno 2.8.3 accept such a set silently.
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { logger } from "../log.ts";
import { loopTasks } from "../metrics/loop_tasks.ts";
import { FileChanges, stampOf } from "../file_changes.ts";

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface CertificateReloadOptions {
  /** How often the files are checked for changes (default 5000 ms). */
  readonly pollIntervalMs?: number;
}

/** One checked set of files, as PEM bytes. */
export interface LoadedTlsFiles {
  readonly certificate: Buffer;
  readonly privateKey: Buffer;
  readonly caCertificate: Buffer;
}

type FileStamp = string;

const pathsOf = (files: TlsFiles) => [files.certFile, files.keyFile, files.caFile];

/** Reads and checks one set of files; throws an Error saying what is wrong. */
export async function loadTlsFiles(files: TlsFiles, nowMs = Date.now()): Promise<LoadedTlsFiles> {
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

/** Told of each newly published set (not of the one loaded at creation). */
export type TlsFilesListener = (loaded: LoadedTlsFiles) => void;

/**
 * The current checked set of TLS files, reloaded when they change. Polling runs only
 * while someone listens.
 */
export class TlsFileReloader {
  readonly files: TlsFiles;
  readonly #pollMs: number;
  readonly #listeners = new Set<TlsFilesListener>();
  readonly #log = logger("tls");
  #current: LoadedTlsFiles;
  #stamp: FileStamp;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** While polling: whether the files may have changed, cheaply. */
  #changes: FileChanges | null = null;
  #polling = false;
  #generation = 1;
  #lastError: Error | null = null;

  private constructor(files: TlsFiles, loaded: LoadedTlsFiles, stamp: FileStamp, pollMs: number) {
    this.files = files;
    this.#current = loaded;
    this.#stamp = stamp;
    this.#pollMs = pollMs;
  }

  /** Loads the files once; throws when they are unusable, so a server never starts without TLS. */
  static async create(
    files: TlsFiles,
    options: CertificateReloadOptions = {},
  ): Promise<TlsFileReloader> {
    const stamp = stampOf(pathsOf(files));
    const loaded = await loadTlsFiles(files);
    return new TlsFileReloader(files, loaded, stamp, options.pollIntervalMs ?? 5000);
  }

  /** The set in use. */
  get current(): LoadedTlsFiles {
    return this.#current;
  }

  /** Counts published sets; the first load is 1. */
  get generation(): number {
    return this.#generation;
  }

  /** Why the latest change on disk was not used, or null. */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /**
   * Checks the files now; publishes them if they changed and are usable. Returns true
   * when a new set was published.
   */
  async reloadNow(): Promise<boolean> {
    let stamp: FileStamp;
    let loaded: LoadedTlsFiles;
    try {
      const changes = this.#changes;
      if (changes !== null && !changes.differs()) return false;
      stamp = changes?.looked ?? stampOf(pathsOf(this.files));
      if (stamp === this.#stamp) return false;
      loaded = await loadTlsFiles(this.files);
    } catch (e) {
      // Keep serving with the last good set; report each failure once per change.
      const error = e as Error;
      if (this.#lastError?.message !== error.message) {
        this.#log.error("Keeping the current TLS certificates: {error}", { error: error.message });
      }
      this.#lastError = error;
      return false;
    }
    this.#stamp = stamp;
    this.#changes?.accept(stamp);
    this.#lastError = null;
    const old = this.#current;
    if (
      old.certificate.equals(loaded.certificate) && old.privateKey.equals(loaded.privateKey) &&
      old.caCertificate.equals(loaded.caCertificate)
    ) {
      return false;
    }
    this.#current = loaded;
    this.#generation++;
    this.#log.info("Loaded new TLS certificates from {certFile}", {
      certFile: this.files.certFile,
    });
    for (const listener of this.#listeners) {
      try {
        listener(loaded);
      } catch (error) {
        this.#log.error("A TLS certificate listener failed: {error}", { error });
      }
    }
    return true;
  }

  /** Starts polling (if not yet) and tells `listener` of every later change. */
  subscribe(listener: TlsFilesListener): void {
    this.#listeners.add(listener);
    if (this.#timer !== null) return;
    this.#changes = new FileChanges(pathsOf(this.files), { accepted: this.#stamp });
    this.#timer = setInterval(
      loopTasks.timed("tls-files", async () => {
        if (this.#polling) return;
        this.#polling = true;
        try {
          await this.reloadNow();
        } finally {
          this.#polling = false;
        }
      }),
      this.#pollMs,
    );
  }

  /** Stops telling `listener`; polling stops with the last listener. */
  unsubscribe(listener: TlsFilesListener): void {
    this.#listeners.delete(listener);
    if (this.#listeners.size > 0 || this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#changes?.close();
    this.#changes = null;
  }

  /** Stops polling and forgets every listener; safe to call twice. */
  close(): void {
    for (const listener of [...this.#listeners]) this.unsubscribe(listener);
  }
}
