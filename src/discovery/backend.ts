/** The contract between `Discovery` and a place announcements are kept. */
import type { Announcement } from "./announcement.ts";

export interface DiscoveryBackend {
  readonly kind: "embedded" | "zookeeper";
  /** Where announcements go, for status pages: a directory or a connect string + root. */
  readonly target: string;
  /**
   * Makes the backend hold exactly `desired` for this server: writes what is new or
   * changed, withdraws what is no longer desired. Throws when it could not finish; the
   * caller retries. Never called concurrently.
   */
  sync(desired: readonly Announcement[]): Promise<void>;
  /** Whether the backend can take writes now (always true for files). */
  connected(): boolean;
  /**
   * Registers a callback for when published announcements may have vanished outside
   * `sync` (a ZooKeeper session expired); the caller then syncs again.
   */
  onLost(callback: () => void): void;
  /** Every live server's announcement of `resource`, sorted by server id. */
  list(resource: string): Promise<Announcement[]>;
  /** The current version of every store that has one set for the tier. */
  currentVersions(): Promise<Map<string, number>>;
  /** Sets `store`'s current version for the whole tier (one write every node reads). */
  setCurrentVersion(store: string, version: number): Promise<void>;
  /** Withdraws every announcement of this server and releases the backend. */
  close(): Promise<void>;
}
