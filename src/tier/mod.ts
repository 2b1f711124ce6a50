/**
 * A standalone tier: the Venice-compatible HTTP port of this node and what it answers
 * from (the stores' descriptors under `<dataDir>/stores`, the tier's announcements and
 * current versions). Started by the server when `http.port` is set; off otherwise.
 *
 *   const tier = await startTier(config, { discovery, dictionary });
 *   tier.httpPort;               // for this node's announcement
 *   await tier.rescan();         // on every data-dir scan: descriptors may have changed
 *   tier.status();               // for /status
 *   await tier.close();
 */
import type { RialtoConfig } from "../config/schema.ts";
import type { Discovery } from "../discovery/mod.ts";
import { logger } from "../log.ts";
import { serveTierHttp, type TierHttpServer, type TierSource } from "./http.ts";
import { readStoreDescriptors, type StoreDescriptors } from "./store_descriptor.ts";
import { TierView, type TierViewStatus } from "./tier_view.ts";
import { DictionaryFetcher } from "./dictionaries.ts";
import { holdersOfStore, resourcesOfStore } from "./holders.ts";
import { parseResourceName } from "../storage/layout.ts";

const log = logger("tier");

export interface TierStatus {
  readonly httpPort: number;
  readonly view: TierViewStatus;
  readonly stores: readonly string[];
  readonly refusedDescriptors: StoreDescriptors["refused"];
}

export interface Tier {
  readonly httpPort: number;
  /** Reads the store descriptors again (logs newly refused ones). */
  rescan(): Promise<void>;
  status(): TierStatus;
  close(): Promise<void>;
}

export interface TierDependencies {
  readonly discovery: Discovery;
  /**
   * Whether this node serves `resource` (some partition of it), and its ZSTD dictionary
   * when it has one.
   */
  localDictionary(
    resource: string,
  ): { readonly held: boolean; readonly dictionary: Uint8Array | null };
}

export async function startTier(
  config: () => RialtoConfig,
  deps: TierDependencies,
): Promise<Tier> {
  const initial = config();
  let descriptors: StoreDescriptors = { stores: new Map(), refused: [] };
  const scan = async () => {
    const before = new Map(descriptors.refused.map((r) => [r.store, r.reason]));
    descriptors = await readStoreDescriptors(initial.dataDir);
    for (const { store, reason } of descriptors.refused) {
      if (before.get(store) === reason) continue;
      log.warn("The descriptor of store {store} is refused, its metadata is not served: {reason}", {
        store,
        reason,
      });
    }
  };
  // One scan at a time, so that an older read never replaces a newer one.
  let scanning: Promise<void> = Promise.resolve();
  const rescan = () => scanning = scanning.catch(() => {}).then(scan);
  await rescan();
  const view = new TierView(
    deps.discovery,
    () =>
      [...descriptors.stores.keys()].flatMap((store) =>
        resourcesOfStore(config().discovery.clusterName, store)
      ),
  );
  const holders = (store: string) => {
    const snapshot = view.snapshot().announcements;
    return holdersOfStore(
      (resource) => snapshot.get(resource) ?? [],
      config().discovery.clusterName,
      store,
    );
  };
  const dictionaries = new DictionaryFetcher(deps.localDictionary, (resource) => {
    const store = parseResourceName(resource)?.store;
    return store === undefined ? [] : holders(store);
  });
  const source: TierSource = {
    get clusterName() {
      return config().discovery.clusterName;
    },
    get zkAddress() {
      const d = config().discovery;
      return d.backend === "zookeeper" ? d.zookeeper.connect : null;
    },
    descriptor: (store) => descriptors.stores.get(store),
    tierState: (store) => ({
      announcements: holders(store),
      tierCurrentVersion: view.snapshot().currentVersions.get(store),
      scheme: "http",
    }),
    dictionary: (resource, forwarded) => dictionaries.get(resource, forwarded),
  };
  let http: TierHttpServer | undefined;
  try {
    http = await serveTierHttp(
      initial.http.host ?? initial.grpc.host,
      initial.http.port ?? 0,
      source,
    );
    await view.start(initial.http.tierRefreshIntervalMs);
  } catch (error) {
    await http?.close();
    await view.close();
    throw error;
  }
  const server = http;
  return {
    httpPort: server.port,
    rescan,
    status: () => ({
      httpPort: server.port,
      view: view.status(),
      stores: [...descriptors.stores.keys()],
      refusedDescriptors: descriptors.refused,
    }),
    async close() {
      await view.close();
      await server.close();
    },
  };
}
