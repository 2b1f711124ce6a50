/**
 * `rialto store current-version STORE N`: the version swap of a standalone tier. One
 * write to the discovery backend (a persistent znode with ZooKeeper), which every node
 * reads for its metadata answers, so the whole tier moves to the new version together,
 * as a Venice version swap moves the store's current version in the store repository.
 *
 * Like Venice, which swaps only to a version whose push completed, it refuses a version
 * some partition of which no live, ready node serves.
 */
import type { RialtoConfig } from "../config/schema.ts";
import { type Announcement, createBackend } from "../discovery/mod.ts";
import { ZooKeeperBackend } from "../discovery/zookeeper.ts";
import { resourceNameOf } from "../storage/layout.ts";
import { holdersOfStore, resourcesOfStore } from "./holders.ts";
import { readStoreDescriptor } from "./store_descriptor.ts";

const CONNECT_TIMEOUT_MS = 5000;

/** The swap could not be done; the message says why and nothing was written. */
export class CurrentVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CurrentVersionError";
  }
}

export interface CurrentVersionResult {
  readonly store: string;
  readonly version: number;
  /** The tier's current version before, when one was set. */
  readonly previous: number | null;
  /** How many live nodes serve some partition of the new version. */
  readonly nodes: number;
}

/** Sets `store`'s current version for the tier the config's discovery section names. */
export async function setTierCurrentVersion(
  config: RialtoConfig,
  store: string,
  version: number,
): Promise<CurrentVersionResult> {
  const descriptor = await readStoreDescriptor(config.dataDir, store).catch((error) => {
    throw new CurrentVersionError(`Store "${store}" has no usable descriptor: ${error.message}`);
  });
  const backend = createBackend(config);
  try {
    if (backend instanceof ZooKeeperBackend && !await backend.waitConnected(CONNECT_TIMEOUT_MS)) {
      throw new CurrentVersionError(
        `Cannot reach ZooKeeper at ${backend.target} within ${CONNECT_TIMEOUT_MS} ms`,
      );
    }
    const resource = resourceNameOf(store, version);
    const listed = new Map<string, Announcement[]>();
    for (const name of resourcesOfStore(config.discovery.clusterName, store)) {
      listed.set(name, (await backend.list(name)).filter((a) => a.ready));
    }
    const holders = holdersOfStore(
      (name) => listed.get(name) ?? [],
      config.discovery.clusterName,
      store,
    )
      .filter((a) => typeof a.httpPort === "number" && a.versions[resource]);
    const served = new Set(holders.flatMap((a) => a.versions[resource]));
    const missing = Array.from({ length: descriptor.partitionCount }, (_, p) => p)
      .filter((p) => !served.has(p));
    if (missing.length > 0) {
      throw new CurrentVersionError(
        `Version ${resource} is not served whole by the tier at ${backend.target}: ` +
          `no live node serves partition${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
          `of ${descriptor.partitionCount}`,
      );
    }
    const previous = (await backend.currentVersions()).get(store) ?? null;
    await backend.setCurrentVersion(store, version);
    return { store, version, previous, nodes: holders.length };
  } finally {
    await backend.close();
  }
}
