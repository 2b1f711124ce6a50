/**
 * Which announcements may hold a store, whatever discovery mode each node is in: a node
 * in `cluster` mode announces the store under the cluster's name, one in `store` mode
 * under the store's own. While an operator switches a tier's mode node by node (a config
 * reload each), both kinds are live at once, and a reader that looked under one name only
 * would drop the other nodes from the routing. So the tier reads both and keeps, from
 * each, the nodes that announce a version of the store: in either mode a store's metadata
 * lists only the nodes that hold it.
 */
import { type Announcement, storeOfVersion } from "../discovery/mod.ts";

/** The resource names a store's holders may be announced under. */
export function resourcesOfStore(clusterName: string, store: string): string[] {
  return clusterName === store ? [store] : [store, clusterName];
}

/** Whether `a` announces some version of `store` (`<store>_v<N>`). */
function holdsStore(a: Announcement, store: string): boolean {
  return Object.keys(a.versions).some((name) => storeOfVersion(name) === store);
}

/**
 * The announcements that hold `store`, one per server: `listed(resource)` gives the live,
 * ready ones under a name; a server under both names counts once (its store-named one).
 */
export function holdersOfStore(
  listed: (resource: string) => readonly Announcement[],
  clusterName: string,
  store: string,
): Announcement[] {
  const byServer = new Map<string, Announcement>();
  for (const resource of resourcesOfStore(clusterName, store)) {
    for (const a of listed(resource)) {
      if (!byServer.has(a.serverId) && holdsStore(a, store)) byServer.set(a.serverId, a);
    }
  }
  return [...byServer.values()];
}
