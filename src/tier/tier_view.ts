/**
 * The tier as this node sees it: every live node's announcement and the tier's current
 * versions, read from the discovery backend every `http.tierRefreshIntervalMs`. The HTTP
 * port answers from the last complete read; a read that fails keeps the last one and is
 * shown in `status()`, so a ZooKeeper outage freezes the view instead of emptying it.
 *
 * A node leaves the view when its announcement goes: at once when it stops, within the
 * ZooKeeper session timeout when it dies.
 */
import type { Announcement, Discovery } from "../discovery/mod.ts";
import { loopTasks } from "../metrics/loop_tasks.ts";
import { logger } from "../log.ts";

const log = logger("tier");

export interface TierSnapshot {
  /** Resource name → the live, ready announcements under it, by server id. */
  readonly announcements: ReadonlyMap<string, readonly Announcement[]>;
  /** Store → the current version set for the tier (`rialto store current-version`). */
  readonly currentVersions: ReadonlyMap<string, number>;
  /** When this snapshot was read; null before the first read. */
  readonly readAt: string | null;
}

export interface TierViewStatus {
  readonly readAt: string | null;
  readonly nodes: number;
  readonly lastError: { readonly at: string; readonly message: string } | null;
}

const EMPTY: TierSnapshot = { announcements: new Map(), currentVersions: new Map(), readAt: null };

export class TierView {
  #discovery: Discovery;
  #resources: () => readonly string[];
  #snapshot: TierSnapshot = EMPTY;
  #lastError: { at: string; message: string } | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #reading: Promise<void> | null = null;

  /** `resources`: the resource names to read, asked anew at every read. */
  constructor(discovery: Discovery, resources: () => readonly string[]) {
    this.#discovery = discovery;
    this.#resources = resources;
  }

  /** Reads now, then every `intervalMs`. */
  start(intervalMs: number): Promise<void> {
    this.#timer = setInterval(loopTasks.timed("tier-read", () => void this.read()), intervalMs);
    return this.read();
  }

  snapshot(): TierSnapshot {
    return this.#snapshot;
  }

  status(): TierViewStatus {
    const nodes = new Set<string>();
    for (const list of this.#snapshot.announcements.values()) {
      for (const a of list) nodes.add(a.serverId);
    }
    return { readAt: this.#snapshot.readAt, nodes: nodes.size, lastError: this.#lastError };
  }

  /** One read of the backend; concurrent callers share it. */
  read(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = null;
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    try {
      const announcements = new Map<string, Announcement[]>();
      for (const resource of new Set(this.#resources())) {
        const live = (await this.#discovery.list(resource)).filter((a) => a.ready);
        announcements.set(resource, live);
      }
      const currentVersions = await this.#discovery.currentVersions();
      this.#snapshot = { announcements, currentVersions, readAt: new Date().toISOString() };
      if (this.#lastError !== null) {
        log.info("The tier's announcements can be read again");
        this.#lastError = null;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.#lastError === null) {
        log.warn("Cannot read the tier's announcements (answering from the last read): {message}", {
          message,
        });
      }
      this.#lastError = { at: new Date().toISOString(), message };
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#reading;
  }
}
