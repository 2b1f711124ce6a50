/**
 * Every store version this server serves, by resource name. `sync()` makes the open set
 * match the data dir: new versions (a finished push) are opened, versions gone from disk
 * are retired and closed once their last reader is done. It is the one place that opens
 * and closes databases.
 */
import { BlockCache, DirectoryWatch } from "../../ffi/mod.ts";
import { logger } from "../log.ts";
import { VersionNotReadyError } from "./errors.ts";
import { listingStamp, scanDataDir } from "./layout.ts";
import { type OpenSettings, StoreVersion, type VersionOverride } from "./store_version.ts";

const log = logger("storage");

export interface RegistrySettings {
  readonly dataDir: string;
  readonly mode: "read-only" | "secondary";
  readonly secondaryDir: string | null;
  readonly blockCacheBytes: number;
  /** Per resource name. */
  readonly overrides: Readonly<Record<string, VersionOverride>>;
  /** Bounds on hybrid partitions' staleness (ms): per store, else the default; null: none. */
  readonly maxStalenessMs: {
    readonly default: number | null;
    readonly stores: Readonly<Record<string, number | null>>;
  };
  /**
   * Whether `sync` learns of changes to the listed folders through inotify (where there is
   * one) rather than by their stamps. Default true; false only to test the stamps.
   */
  readonly watchFolders?: boolean;
}

/** What the read path needs of a registry: the version serving a resource name. */
export interface VersionLookup {
  /** The version serving `resource`, or undefined. Take a lease before reading. */
  lookup(resource: string): StoreVersion | undefined;
}

/**
 * Other isolates that read this registry's databases (worker isolates). The registry
 * tells them about every version it opens before anything can retire it, and closes a
 * retired version only once `retire` has resolved (and the adopters' leases are gone).
 */
export interface VersionPeers {
  /** A version was opened; resolves once every peer serves it. */
  install(version: StoreVersion): Promise<void>;
  /** A version is withdrawn; resolves once no peer will take a new lease on it. */
  retire(version: StoreVersion): Promise<void>;
  /** False once every peer isolate has ended (none can hold a lease any more). */
  readonly running: boolean;
}

/** What a sync changed. */
export interface SyncResult {
  readonly opened: string[];
  readonly retired: string[];
  readonly failed: { resource: string; error: string }[];
}

/** A version on disk that is not served, and why (for /status). */
export interface NotServedVersion {
  readonly resource: string;
  /** waiting: its settings are not written yet; failed: it cannot be opened. */
  readonly state: "waiting" | "failed";
  readonly reason: string;
  /** When it was first seen not servable. */
  readonly since: string;
  readonly attempts: number;
  /** Failed versions are retried with backoff; waiting ones at every scan. */
  readonly nextAttemptAt: string;
}

/** Backoff between attempts to open a version that failed: doubling, capped. */
export const OPEN_RETRY_FIRST_MS = 1_000;
export const OPEN_RETRY_MAX_MS = 60_000;

interface Attempts {
  state: "waiting" | "failed";
  reason: string;
  since: number;
  attempts: number;
  nextAttemptAt: number;
}

export class StoreRegistry implements VersionLookup {
  readonly #versions = new Map<string, StoreVersion>();
  /** Versions on disk that could not be opened yet (not served). */
  readonly #notServed = new Map<string, Attempts>();
  /**
   * Served versions the last scan found partitions (or all) of missing. A folder is
   * gone for a moment while Venice renames a replacement over it: only when the next
   * scan still misses it is it dropped.
   */
  readonly #missingOnce = new Set<string>();
  /** The last refresh failure logged per resource (logged again only when it changes). */
  readonly #refreshFailures = new Map<string, string>();
  readonly #blockCache: BlockCache;
  #settings: RegistrySettings;
  #peers: VersionPeers | null = null;
  #syncing: Promise<SyncResult> | null = null;
  /**
   * The listing stamp taken before the last scan, and the version folders that scan
   * listed: while the stamp of those folders stays the same, a scan would list the same.
   */
  #listing: { readonly stamp: string | null; readonly folders: readonly string[] } = {
    stamp: null,
    folders: [],
  };
  /**
   * inotify on `<dataDir>/rocksdb` and the version folders the last scan listed, or null
   * (the stamps then). One read that finds nothing, where the stamps' stats by path took
   * ~100 µs of the serving loop each second (ffi/directory_watch.ts).
   */
  readonly #watch: DirectoryWatch | null;
  /**
   * Whether the watch covers every folder the last scan listed and began before that
   * scan: else the next sync goes by the stamps (which, taken before this scan or not at
   * all, then scan once more).
   */
  #watchTrusted = false;
  #scans = 0;
  #closed = false;

  constructor(settings: RegistrySettings) {
    this.#settings = settings;
    this.#blockCache = new BlockCache(settings.blockCacheBytes);
    this.#watch = settings.watchFolders === false ? null : DirectoryWatch.open();
  }

  /** Full scans of the data dir so far (a sync with nothing changed makes none). */
  get scans(): number {
    return this.#scans;
  }

  /** The version serving `resource`, or undefined. Take a lease before reading. */
  lookup(resource: string): StoreVersion | undefined {
    return this.#versions.get(resource);
  }

  /** All open versions, by resource name. */
  versions(): StoreVersion[] {
    return [...this.#versions.values()];
  }

  /** Versions on disk that are not served, and why. */
  notServed(): NotServedVersion[] {
    return [...this.#notServed].map(([resource, a]) => ({
      resource,
      state: a.state,
      reason: a.reason,
      since: new Date(a.since).toISOString(),
      attempts: a.attempts,
      nextAttemptAt: new Date(a.nextAttemptAt).toISOString(),
    }));
  }

  /** Store names with at least one open version. */
  storeNames(): string[] {
    return [...new Set(this.versions().map((v) => v.store))].sort();
  }

  /**
   * Shares every version, open now and opened later, with `peers` (set once, before
   * serving). Versions open now are installed at once.
   */
  setPeers(peers: VersionPeers): void {
    if (this.#peers !== null) throw new Error("The registry's peers are already set");
    this.#peers = peers;
    // Before serving: the peers take these messages ahead of any read.
    for (const version of this.#versions.values()) void peers.install(version);
  }

  #retire(version: StoreVersion): Promise<void> {
    const peers = this.#peers;
    if (peers === null) return version.retire();
    return version.retire(peers.retire(version), () => peers.running);
  }

  /** Applies new overrides at once; data-dir changes take effect on the next sync. */
  updateSettings(settings: RegistrySettings): void {
    this.#settings = settings;
    for (const version of this.#versions.values()) {
      version.applyOverride(settings.overrides[version.resource]);
    }
  }

  /** Brings the open set in line with the data dir; concurrent calls share one run. */
  sync(): Promise<SyncResult> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  async #sync(): Promise<SyncResult> {
    const settings = this.#settings;
    const result: SyncResult = { opened: [], retired: [], failed: [] };
    if (this.#closed) return result;
    // One read of the watch, or a few stats, instead of a listing of every partition
    // folder (this runs every second on the event loop that serves reads), unless
    // something waits for a later scan.
    const watch = this.#watch;
    let stamp: string | null = null;
    let unchanged: boolean;
    if (watch !== null && this.#watchTrusted) {
      unchanged = !watch.changed();
    } else {
      stamp = listingStamp(settings.dataDir, this.#listing.folders);
      unchanged = stamp !== null && stamp === this.#listing.stamp;
      // What the watch queued so far, this scan sees.
      watch?.changed();
    }
    const waiting = this.#notServed.size > 0 || this.#missingOnce.size > 0;
    if (unchanged && !waiting) return result;
    this.#scans++;
    const scan = await scanDataDir(settings.dataDir);
    this.#listing = { stamp, folders: scan.folders };
    if (watch !== null && !this.#closed) {
      // A watch begun after this scan listed its folder may have missed a change made in
      // between: trusted only once a scan has run with every watch already in place.
      const outcome = watch.watch([`${settings.dataDir}/rocksdb`, ...scan.folders]);
      this.#watchTrusted = outcome.unwatched.length === 0 && !outcome.added;
    }
    const onDisk = scan.versions;
    const present = new Set(onDisk.map((v) => v.resource));
    const open: OpenSettings = {
      dataDir: settings.dataDir,
      mode: settings.mode,
      secondaryDir: settings.secondaryDir,
      blockCache: this.#blockCache,
    };
    const opened: { resource: string; version: StoreVersion; current?: StoreVersion }[] = [];
    for (const found of onDisk) {
      const current = this.#versions.get(found.resource);
      // A partition folder missing at one scan may be a rename in progress: wait one scan.
      if (current && this.#firstMiss(current.resource, lacks(found.partitions, current))) continue;
      // Same partition folders: nothing to do. A changed set, or a folder replaced in
      // place, is opened afresh and the old version drains.
      if (current && current.fingerprint === found.fingerprint) continue;
      const previous = this.#notServed.get(found.resource);
      if (previous && Date.now() < previous.nextAttemptAt) continue;
      try {
        const version = StoreVersion.open(
          found,
          open,
          settings.overrides[found.resource],
          current,
          this.#maxStalenessMs(found.store),
        );
        opened.push({ resource: found.resource, version, current });
      } catch (error) {
        this.#noteNotServed(found.resource, error, previous);
        if (!(error instanceof VersionNotReadyError)) {
          const message = error instanceof Error ? error.message : String(error);
          result.failed.push({ resource: found.resource, error: message });
        }
      }
    }
    // Every peer serves them before this isolate returns them, announces them or retires the
    // versions they replace (all at once, as one scan found them): a client told of one finds
    // it on whichever worker it reaches.
    const peers = this.#peers;
    if (peers !== null) await Promise.all(opened.map(({ version }) => peers.install(version)));
    for (const { resource, version, current } of opened) {
      this.#versions.set(resource, version);
      this.#notServed.delete(resource);
      result.opened.push(resource);
      if (current) void this.#retire(current);
    }
    for (const resource of this.#notServed.keys()) {
      if (!present.has(resource)) this.#notServed.delete(resource);
    }
    for (const [resource, version] of this.#versions) {
      if (present.has(resource) || this.#firstMiss(resource, true)) continue;
      this.#versions.delete(resource);
      result.retired.push(resource);
      void this.#retire(version);
    }
    if (result.opened.length || result.retired.length) {
      log.info("Store versions: opened {opened}, retired {retired}", {
        opened: result.opened,
        retired: result.retired,
      });
    }
    return result;
  }

  /** True when `missing` is first seen for `resource` (wait one scan before acting). */
  #firstMiss(resource: string, missing: boolean): boolean {
    if (!missing || this.#missingOnce.has(resource)) {
      this.#missingOnce.delete(resource);
      return false;
    }
    this.#missingOnce.add(resource);
    return true;
  }

  /**
   * Records why `resource` is not served. A reason is logged once, when it first
   * appears; failures are retried with backoff, versions waiting for their settings at
   * every scan. A served version that cannot be reopened stays served meanwhile.
   */
  #noteNotServed(resource: string, error: unknown, previous: Attempts | undefined): void {
    const waiting = error instanceof VersionNotReadyError;
    const reason = error instanceof Error ? describe(error) : String(error);
    const attempts = (previous?.attempts ?? 0) + 1;
    const now = Date.now();
    const delay = waiting
      ? 0
      : Math.min(OPEN_RETRY_FIRST_MS * 2 ** Math.min(attempts - 1, 30), OPEN_RETRY_MAX_MS);
    this.#notServed.set(resource, {
      state: waiting ? "waiting" : "failed",
      reason,
      since: previous?.since ?? now,
      attempts,
      nextAttemptAt: now + delay,
    });
    if (previous?.reason === reason) {
      log.debug("Still cannot open store version {resource} (attempt {attempts}): {reason}", {
        resource,
        attempts,
        reason,
      });
    } else if (waiting) {
      log.info("Not serving store version {resource} yet: {reason}", { resource, reason });
    } else {
      log.error("Cannot open store version {resource} (retrying with backoff): {error}", {
        resource,
        error,
      });
    }
  }

  #maxStalenessMs(store: string): number | null {
    const bounds = this.#settings.maxStalenessMs;
    return Object.hasOwn(bounds.stores, store) ? bounds.stores[store] : bounds.default;
  }

  /**
   * Every open version catches up with its primary (secondary mode) and decides its
   * partitions' serving states anew. True when any changed (announce again).
   */
  refresh(now = Date.now()): boolean {
    let changed = false;
    for (const version of this.#versions.values()) {
      let failure: string | null;
      try {
        changed = version.refresh(this.#maxStalenessMs(version.store), now) || changed;
        failure = version.catchUpFailure();
      } catch (error) {
        failure = error instanceof Error ? describe(error) : String(error);
      }
      this.#noteRefreshFailure(version.resource, failure);
    }
    return changed;
  }

  /** Logs a version's refresh failure once per distinct reason; null: it refreshed. */
  #noteRefreshFailure(resource: string, failure: string | null): void {
    if (failure === null) {
      this.#refreshFailures.delete(resource);
      return;
    }
    if (this.#refreshFailures.get(resource) === failure) return;
    this.#refreshFailures.set(resource, failure);
    log.warn("Refresh failed for {resource}: {failure}", { resource, failure });
  }

  /** Retires every version and waits for their readers; then frees the block cache. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#syncing;
    this.#watch?.close();
    const versions = [...this.#versions.values()];
    this.#versions.clear();
    await Promise.all(versions.map((v) => this.#retire(v)));
    this.#blockCache.close();
  }
}

/** Whether `partitions` lacks one that `version` holds. */
function lacks(partitions: readonly number[], version: StoreVersion): boolean {
  const now = new Set(partitions);
  return version.partitions.some((p) => !now.has(p));
}

/** An error's message with its causes' ("a: b: c"). */
function describe(error: Error): string {
  let text = error.message;
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
  }
  return text;
}
