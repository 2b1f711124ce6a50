/**
 * Discovery: make the outside world know which resources this server serves.
 *
 * Declarative: the server says what should be announced (`publish`), and `Discovery`
 * brings the backend there in the background, withdrawing whatever is no longer desired
 * (mode switched, store disabled). It never blocks or throws into the caller: failures
 * are retried with backoff and shown by `status()`. Serving reads never waits on it.
 *
 * Lifecycle for the server (owned by src/main.ts):
 *   const discovery = Discovery.open(config);
 *   discovery.publish(buildAnnouncements(config, identity, held, ready));   // on every change
 *   discovery.reconfigure(config);   // after a reload whose `discovery` section changed
 *   await discovery.close();          // on shutdown: withdraws everything
 */
import { getLogger } from "@logtape/logtape";
import type { RialtoConfig } from "../config/schema.ts";
import type { Announcement, Endpoint } from "./announcement.ts";
import type { DiscoveryBackend } from "./backend.ts";
import { EmbeddedBackend, embeddedDir, resolveEmbedded } from "./embedded.ts";
import { resolveZooKeeper, ZooKeeperBackend } from "./zookeeper.ts";

export * from "./announcement.ts";
export type { DiscoveryBackend } from "./backend.ts";
export { EmbeddedBackend, embeddedDir, readEmbedded } from "./embedded.ts";
export { ZooKeeperBackend } from "./zookeeper.ts";

const logger = getLogger(["rialto", "discovery"]);

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

export interface DiscoveryStatus {
  readonly backend: "embedded" | "zookeeper";
  /** Directory, or zookeeper://connect/rootPath. */
  readonly target: string;
  readonly connected: boolean;
  /** True while the backend does not yet hold exactly what was last published. */
  readonly pending: boolean;
  /** Resources the backend holds for this server right now. */
  readonly announced: readonly string[];
  readonly lastError: { readonly at: string; readonly message: string } | null;
  readonly lastSyncAt: string | null;
  /** Failed attempts since the last success. */
  readonly failures: number;
  readonly nextRetryAt: string | null;
}

/** What GET /discovery on the admin port serves. */
export interface DiscoveryReport {
  readonly status: DiscoveryStatus;
  readonly announcements: readonly Announcement[];
}

export interface DiscoveryOptions {
  /** First retry delay after a failure; doubles up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

/** The backend settings of a config, to tell when `reconfigure` must swap backends. */
function backendKey(config: RialtoConfig): string {
  const d = config.discovery;
  return d.backend === "embedded"
    ? `embedded ${embeddedDir(config)}`
    : `zookeeper ${d.zookeeper.connect} ${d.zookeeper.rootPath} ${d.zookeeper.sessionTimeoutMs}`;
}

/** The backend a config names. Connecting (for ZooKeeper) starts in the background. */
export function createBackend(config: RialtoConfig): DiscoveryBackend {
  const d = config.discovery;
  return d.backend === "embedded"
    ? new EmbeddedBackend(embeddedDir(config))
    : new ZooKeeperBackend(d.zookeeper);
}

export class Discovery {
  #backend: DiscoveryBackend;
  #backendKey: string | null;
  #options: DiscoveryOptions;
  #desired: readonly Announcement[] = [];
  #announced: readonly string[] = [];
  #dirty = false;
  #running: Promise<void> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #nextRetryAt: number | null = null;
  #failures = 0;
  #lastError: { at: string; message: string } | null = null;
  #lastSyncAt: string | null = null;
  #closed = false;
  #settledWaiters = new Set<() => void>();

  /** Wraps a backend; prefer `Discovery.open(config)`. */
  constructor(
    backend: DiscoveryBackend,
    options: DiscoveryOptions = {},
    key: string | null = null,
  ) {
    this.#backend = backend;
    this.#backendKey = key;
    this.#options = options;
    this.#watch(backend);
  }

  /** A Discovery on the backend the config names. Never blocks, never throws on I/O. */
  static open(config: RialtoConfig, options: DiscoveryOptions = {}): Discovery {
    return new Discovery(createBackend(config), options, backendKey(config));
  }

  #watch(backend: DiscoveryBackend): void {
    backend.onLost(() => {
      if (backend !== this.#backend || this.#closed) return;
      this.#dirty = true;
      this.#kick(true);
    });
  }

  /** Declares what should be announced; the backend follows in the background. */
  publish(desired: readonly Announcement[]): void {
    if (this.#closed) return;
    this.#desired = [...desired];
    this.#dirty = true;
    this.#kick(true);
  }

  /** What was last published (the desired state). */
  announcements(): readonly Announcement[] {
    return this.#desired;
  }

  /**
   * Applies a new config's backend settings: when the backend or its target changed, the
   * old backend's announcements are withdrawn and the desired ones go to the new one.
   * Mode and cluster name changes come through `publish`.
   */
  async reconfigure(config: RialtoConfig): Promise<void> {
    const key = backendKey(config);
    if (this.#closed || key === this.#backendKey) return;
    const old = this.#backend;
    this.#backend = createBackend(config);
    this.#backendKey = key;
    this.#watch(this.#backend);
    this.#announced = [];
    this.#failures = 0;
    this.#lastError = null;
    await this.#running;
    this.#dirty = true;
    this.#kick(true);
    logger.info("Discovery moved from {old} to {target}", {
      old: old.target,
      target: this.#backend.target,
    });
    await old.close().catch((error) => {
      logger.warn("Could not withdraw announcements from {target}: {error}", {
        target: old.target,
        error,
      });
    });
  }

  /** Every live server's announcement of `resource`, read from the backend now. */
  list(resource: string): Promise<Announcement[]> {
    return this.#backend.list(resource);
  }

  /** The tier's current versions, read from the backend now. */
  currentVersions(): Promise<Map<string, number>> {
    return this.#backend.currentVersions();
  }

  status(): DiscoveryStatus {
    return {
      backend: this.#backend.kind,
      target: this.#backend.target,
      connected: this.#backend.connected(),
      pending: this.#dirty || this.#running !== null || this.#nextRetryAt !== null,
      announced: this.#announced,
      lastError: this.#lastError,
      lastSyncAt: this.#lastSyncAt,
      failures: this.#failures,
      nextRetryAt: this.#nextRetryAt === null ? null : new Date(this.#nextRetryAt).toISOString(),
    };
  }

  /** Status and desired announcements: the body of GET /discovery. */
  report(): DiscoveryReport {
    return { status: this.status(), announcements: this.#desired };
  }

  /** Resolves true once the backend holds what was published, false after `timeoutMs`. */
  settled(timeoutMs: number): Promise<boolean> {
    if (!this.status().pending) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#settledWaiters.delete(check);
        resolve(!this.status().pending);
      };
      const check = () => {
        if (!this.status().pending || this.#closed) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.#settledWaiters.add(check);
    });
  }

  /** Withdraws every announcement and releases the backend. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#nextRetryAt = null;
    await this.#running;
    try {
      await this.#backend.close();
    } catch (error) {
      logger.warn("Could not withdraw announcements from {target}: {error}", {
        target: this.#backend.target,
        error,
      });
    }
    this.#announced = [];
    this.#notifySettled();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #notifySettled(): void {
    for (const waiter of [...this.#settledWaiters]) waiter();
  }

  /** Starts a sync now (`immediate`) unless one runs; the running one picks up changes. */
  #kick(immediate: boolean): void {
    if (this.#closed || this.#running) return;
    if (immediate) {
      clearTimeout(this.#retryTimer);
      this.#nextRetryAt = null;
    } else if (this.#nextRetryAt !== null) {
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = null;
      this.#notifySettled();
    });
  }

  async #run(): Promise<void> {
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      const desired = this.#desired;
      const backend = this.#backend;
      try {
        await backend.sync(desired);
        if (backend !== this.#backend) continue;
        this.#announced = desired.map((a) => a.resource);
        this.#lastSyncAt = new Date().toISOString();
        if (this.#failures > 0) {
          logger.info("Discovery announcements on {target} are up to date again", {
            target: backend.target,
          });
        }
        this.#failures = 0;
      } catch (error) {
        this.#dirty = true;
        this.#failures += 1;
        const message = error instanceof Error ? error.message : String(error);
        this.#lastError = { at: new Date().toISOString(), message };
        const delay = Math.min(
          (this.#options.retryMinMs ?? RETRY_MIN_MS) * 2 ** (this.#failures - 1),
          this.#options.retryMaxMs ?? RETRY_MAX_MS,
        ) * (0.8 + Math.random() * 0.4);
        if (this.#failures === 1 || this.#failures % 10 === 0) {
          logger.warn("Discovery could not update {target} (attempt {failures}): {message}", {
            target: backend.target,
            failures: this.#failures,
            message,
          });
        }
        this.#nextRetryAt = Date.now() + delay;
        this.#retryTimer = setTimeout(() => {
          this.#nextRetryAt = null;
          this.#kick(false);
        }, delay);
        return;
      }
    }
  }
}

/** The body of GET /discovery on the admin port. */
export function discoveryReport(discovery: Discovery): DiscoveryReport {
  return discovery.report();
}

/** The endpoints of a resource, read from the backend the config names, as a client would. */
export function resolve(config: RialtoConfig, resource: string): Promise<Endpoint[]> {
  return config.discovery.backend === "embedded"
    ? resolveEmbedded(config, resource)
    : resolveZooKeeper(config, resource);
}
