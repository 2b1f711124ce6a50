/**
 * A store's metadata as a standalone tier answers `GET /metadata/<store>`: Venice's
 * MetadataResponseRecord, built from the store's descriptor and every live node's
 * announcement, the way a Venice server builds it from Helix
 * (services/venice-server/.../listener/ServerReadMetadataRepository.java at 77ea837f47):
 *
 * - `versionMetadata`: the current version, its compression strategy, the partition count,
 *   partitioner class and params, amplificationFactor 1, storageMode 0 (INTERNAL).
 * - `versions`: every version a live node announces, and the current one.
 * - `keySchema` `{"1": schema}`, `valueSchemas` by decimal id, latestSuperSetValueSchemaId
 *   (-1 when the store has none, as Venice's store default).
 * - `routingInfo`: every partition 0..count-1 (the Fast Client dereferences each without
 *   a null check), each the URLs of the live, ready nodes that announce it for the
 *   current version, `<scheme>://<host>:<httpPort>` as Venice's Instance.getUrl.
 * - `helixGroupInfo`: each listed URL in group 0 (a tier has one fault zone).
 * - `batchGetLimit`, `externalStorageReadMode` 0 (VENICE_ONLY).
 *
 * The body is plain Avro binary of the v4 schema; the schema id travels in the
 * `X-VENICE-SCHEMA-ID` header (AvroProtocolDefinition.SERVER_METADATA_RESPONSE is 4).
 */
import avro from "avsc";
import { Buffer } from "node:buffer";
import type { Announcement } from "../discovery/mod.ts";
import v1 from "../venice/schemas/MetadataResponseRecord/v1.avsc.json" with { type: "json" };
import v2 from "../venice/schemas/MetadataResponseRecord/v2.avsc.json" with { type: "json" };
import v3 from "../venice/schemas/MetadataResponseRecord/v3.avsc.json" with { type: "json" };
import v4 from "../venice/schemas/MetadataResponseRecord/v4.avsc.json" with { type: "json" };
import { resourceNameOf } from "../storage/layout.ts";
import { KEY_SCHEMA_ID, type StoreDescriptor } from "./store_descriptor.ts";

/** `"venice_system_store_" + AvroProtocolDefinition.SERVER_METADATA_RESPONSE.name()`. */
export const METADATA_RESPONSE_SYSTEM_STORE = "venice_system_store_SERVER_METADATA_RESPONSE";
/** The protocol version Rialto writes, sent as X-VENICE-SCHEMA-ID. */
export const METADATA_RESPONSE_SCHEMA_ID = 4;
/** Every protocol version's schema: the system store's value schemas, by id. */
export const METADATA_RESPONSE_SCHEMAS: ReadonlyMap<number, string> = new Map(
  [v1, v2, v3, v4].map((schema, i) => [i + 1, JSON.stringify(schema)]),
);

const recordType = avro.Type.forSchema(v4 as avro.Schema);

/** Venice's Instance.getUrl: IPv6 hosts in brackets, no trailing slash. */
export function nodeUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** The answer for a store, or the Venice text of why there is none. */
export type StoreMetadataResult =
  | { readonly ok: true; readonly body: Uint8Array<ArrayBuffer>; readonly currentVersion: number }
  | { readonly ok: false; readonly reason: string };

export interface TierState {
  /** The live, ready announcements that hold the store, one per node (holders.ts). */
  readonly announcements: readonly Announcement[];
  /** The current version set for the tier, if any. */
  readonly tierCurrentVersion: number | undefined;
  /** The scheme of routing URLs (the HTTP port is plaintext: "http"). */
  readonly scheme: string;
}

/** Version number → the announcements holding some of it. */
function versionsOf(
  store: string,
  announcements: readonly Announcement[],
): Map<number, Announcement[]> {
  const prefix = `${store}_v`;
  const byVersion = new Map<number, Announcement[]>();
  for (const a of announcements) {
    for (const name of Object.keys(a.versions)) {
      if (!name.startsWith(prefix)) continue;
      const version = Number(name.slice(prefix.length));
      if (!Number.isInteger(version) || version <= 0) continue;
      byVersion.set(version, [...byVersion.get(version) ?? [], a]);
    }
  }
  return byVersion;
}

/** Partition → URLs of the nodes (with an HTTP port) that announce it for `resource`. */
function routing(
  resource: string,
  partitionCount: number,
  holders: readonly Announcement[],
  scheme: string,
): string[][] {
  const routes: string[][] = Array.from({ length: partitionCount }, () => []);
  for (const a of holders) {
    if (typeof a.httpPort !== "number") continue;
    const url = nodeUrl(scheme, a.host, a.httpPort);
    for (const p of a.versions[resource] ?? []) {
      if (p >= 0 && p < partitionCount) routes[p].push(url);
    }
  }
  return routes;
}

/**
 * The current version: the tier's, else the descriptor's, else the newest version whose
 * every partition some live node serves.
 */
function currentVersionOf(
  descriptor: StoreDescriptor,
  tier: TierState,
  byVersion: Map<number, Announcement[]>,
): number | null {
  if (tier.tierCurrentVersion !== undefined) return tier.tierCurrentVersion;
  if (descriptor.currentVersion !== null) return descriptor.currentVersion;
  const whole = [...byVersion].filter(([version, holders]) =>
    routing(
      resourceNameOf(descriptor.store, version),
      descriptor.partitionCount,
      holders,
      tier.scheme,
    )
      .every((urls) => urls.length > 0)
  );
  return whole.length === 0 ? null : Math.max(...whole.map(([version]) => version));
}

/** Builds the MetadataResponseRecord of `descriptor`'s store for the tier as it is now. */
export function storeMetadata(descriptor: StoreDescriptor, tier: TierState): StoreMetadataResult {
  const store = descriptor.store;
  const byVersion = versionsOf(store, tier.announcements);
  const current = currentVersionOf(descriptor, tier, byVersion);
  if (current === null) {
    return {
      ok: false,
      reason:
        `No valid store version available to read for store: ${store}. Please push data to the store before consuming`,
    };
  }
  const resource = resourceNameOf(store, current);
  const holders = byVersion.get(current) ?? [];
  const compressionStrategy = holders
    .map((a) => a.compressionStrategies?.[resource])
    .find((c) => c !== undefined);
  if (compressionStrategy === undefined) {
    return { ok: false, reason: `No live node holds version ${resource}, the current version` };
  }
  // A node holding a partition past the descriptor's count means the descriptor does not
  // describe this version (Venice lets a version's count differ): clients would send keys
  // to the wrong partitions, so no metadata rather than wrong metadata.
  const beyond = holders.flatMap((a) => a.versions[resource] ?? [])
    .filter((p) => p >= descriptor.partitionCount);
  if (beyond.length > 0) {
    return {
      ok: false,
      reason: `Version ${resource} has partition ${
        Math.max(...beyond)
      }, beyond the store descriptor's partitionCount ${descriptor.partitionCount}`,
    };
  }
  const routingInfo = routing(resource, descriptor.partitionCount, holders, tier.scheme);
  const helixGroupInfo: Record<string, number> = {};
  for (const urls of routingInfo) for (const url of urls) helixGroupInfo[url] = 0;
  const record = {
    versionMetadata: {
      currentVersion: current,
      compressionStrategy,
      partitionCount: descriptor.partitionCount,
      partitionerClass: descriptor.partitionerClass,
      partitionerParams: { ...descriptor.partitionerParams },
      amplificationFactor: 1,
      storageMode: 0,
    },
    versions: [...new Set([...byVersion.keys(), current])].sort((a, b) => a - b),
    keySchema: { [String(KEY_SCHEMA_ID)]: descriptor.keySchema },
    valueSchemas: Object.fromEntries(
      [...descriptor.valueSchemas].map(([id, schema]) => [String(id), schema]),
    ),
    latestSuperSetValueSchemaId: descriptor.latestSupersetValueSchemaId ?? -1,
    routingInfo: Object.fromEntries(routingInfo.map((urls, p) => [String(p), urls])),
    helixGroupInfo,
    batchGetLimit: descriptor.batchGetLimit,
    externalStorageReadMode: 0,
  };
  let body: Buffer;
  try {
    body = recordType.toBuffer(record);
  } catch (error) {
    return { ok: false, reason: `Cannot encode the metadata: ${(error as Error).message}` };
  }
  return {
    ok: true,
    body: new Uint8Array(body),
    currentVersion: current,
  };
}
