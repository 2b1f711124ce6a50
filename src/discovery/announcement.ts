/**
 * What a Rialto server announces, and where.
 *
 * An announcement is one JSON object per (resource, server), stored by the embedded
 * backend as `<dir>/<resource>/<serverId>.json` and by the ZooKeeper backend as the data
 * of the ephemeral znode `<rootPath>/<resource>/<serverId>`:
 *
 * ```json
 * {
 *   "format": 1,
 *   "resource": "people",
 *   "mode": "store",
 *   "serverId": "host-a.example.com:7070",
 *   "host": "host-a.example.com",
 *   "grpcPort": 7070,
 *   "tls": false,
 *   "httpPort": 7072,
 *   "ready": true,
 *   "versions": { "people_v3": [0, 1, 2] },
 *   "compressionStrategies": { "people_v3": 0 },
 *   "startedAt": "2025-01-31T12:00:00.000Z",
 *   "pid": 4242
 * }
 * ```
 *
 * - `format`: always 1 for this layout; a reader skips entries with another value.
 * - `resource`: in `cluster` mode `discovery.clusterName`, in `store` mode a store name.
 * - `mode`: the discovery mode that produced the announcement (`cluster` | `store`).
 * - `serverId`: unique per server and stable across its restarts: `<host>:<grpcPort>`.
 * - `host`, `grpcPort`: where a Fast Client dials VeniceReadService (`discovery.advertiseHost`,
 *   else the machine's hostname).
 * - `tls`: true when the gRPC port requires mutual TLS.
 * - `httpPort`: the Venice-compatible HTTP port (`http.port`), null when not served; the
 *   tier's metadata lists a node only when it has one.
 * - `ready`: false while the server is starting or draining; clients skip such entries.
 * - `versions`: store version (`<store>_v<N>`) to the sorted partition ids this server
 *   holds. In `store` mode only that store's versions; in `cluster` mode every enabled one.
 * - `compressionStrategies`: store version to its Venice CompressionStrategy value (0 NO_OP,
 *   1 GZIP, 2 ZSTD, 3 ZSTD_WITH_DICT), so that any node of a tier can describe a version it
 *   does not hold.
 * - `startedAt`: ISO-8601 time the server process started.
 * - `pid`: the server's process id; the embedded backend's readers use it to skip entries
 *   of processes that are gone (on Linux, through /proc).
 */
import type { RialtoConfig } from "../config/schema.ts";

export const ANNOUNCEMENT_FORMAT = 1;

/**
 * Where each store's current version for the tier is kept, beside the resources:
 * `<dir or rootPath>/_current_versions/<store>`, holding `{"currentVersion": N}`. Store
 * and cluster names start with a letter or digit, so no resource can take this name.
 */
export const CURRENT_VERSIONS = "_current_versions";

/** The stored form of a store's current version. */
export function formatCurrentVersion(version: number): string {
  return JSON.stringify({ currentVersion: version, setAt: new Date().toISOString() });
}

/** The version in a stored current-version record; null when it is not one. */
export function parseCurrentVersion(text: string): number | null {
  try {
    const value = JSON.parse(text)?.currentVersion;
    return Number.isInteger(value) && value > 0 && value <= INT_MAX ? value : null;
  } catch {
    return null;
  }
}

/** Venice's version numbers and partition ids are Java ints. */
const INT_MAX = 0x7fffffff;

const isPartitionList = (v: unknown) =>
  Array.isArray(v) && v.every((p) => Number.isInteger(p) && p >= 0 && p <= INT_MAX);

/**
 * The fields added after format 1 was first written, checked like the others: every node
 * of a tier reads every announcement, so one malformed entry must not reach its answers.
 */
function validTierFields(a: Partial<Announcement>): boolean {
  const port = a.httpPort;
  const strategies = a.compressionStrategies;
  return Object.values(a.versions ?? {}).every(isPartitionList) &&
    (port === undefined || port === null ||
      (Number.isInteger(port) && port > 0 && port <= 65535)) &&
    (strategies === undefined ||
      (typeof strategies === "object" && strategies !== null &&
        Object.values(strategies).every((c) => Number.isInteger(c) && c >= 0 && c <= 3)));
}

/** Resource names and server ids become path segments; keep them to a safe alphabet. */
const SAFE_SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._:-]+$/;

/** Who this server is, fixed for the life of the process. */
export interface ServerIdentity {
  readonly serverId: string;
  readonly host: string;
  readonly grpcPort: number;
  readonly tls: boolean;
  readonly httpPort: number | null;
  readonly startedAt: string;
  readonly pid: number;
}

export interface Announcement extends ServerIdentity {
  readonly format: typeof ANNOUNCEMENT_FORMAT;
  readonly resource: string;
  readonly mode: "cluster" | "store";
  readonly ready: boolean;
  /** Store version name → partition ids held, e.g. `{ "people_v3": [0, 1, 2] }`. */
  readonly versions: Readonly<Record<string, readonly number[]>>;
  /** Store version name → its CompressionStrategy value (absent in older announcements). */
  readonly compressionStrategies?: Readonly<Record<string, number>>;
}

/** What a client gets back from `resolve`: one endpoint per live announcement. */
export type Endpoint = Omit<Announcement, "format" | "resource" | "mode" | "pid">;

/**
 * The identity of this server from the config. `grpcPort` is the port actually bound (it
 * differs from the config when that says 0).
 */
export function serverIdentity(
  config: RialtoConfig,
  options: { grpcPort?: number; httpPort?: number | null; startedAt?: Date } = {},
): ServerIdentity {
  const host = config.discovery.advertiseHost ?? Deno.hostname();
  const grpcPort = options.grpcPort ?? config.grpc.port;
  return {
    serverId: `${host}:${grpcPort}`,
    host,
    grpcPort,
    tls: config.grpc.tls.enabled,
    httpPort: options.httpPort ?? config.http.port,
    startedAt: (options.startedAt ?? new Date()).toISOString(),
    pid: Deno.pid,
  };
}

/** `people_v3` → `people`; null when the name is not a store version. */
export function storeOfVersion(version: string): string | null {
  return /^(.+)_v[0-9]+$/.exec(version)?.[1] ?? null;
}

/**
 * The announcements the config asks for, given the store versions and partitions this
 * server holds (e.g. `{ "people_v3": [0, 1, 2] }`). Disabled stores are left out; in store
 * mode a store with no version held is not announced.
 */
export function buildAnnouncements(
  config: RialtoConfig,
  server: ServerIdentity,
  held: Readonly<Record<string, readonly number[]>>,
  ready: boolean,
  compressionStrategies: Readonly<Record<string, number>> = {},
): Announcement[] {
  const byStore = new Map<string, Record<string, number[]>>();
  for (const [version, partitions] of Object.entries(held).sort(([a], [b]) => a < b ? -1 : 1)) {
    const store = storeOfVersion(version);
    if (store === null || config.stores[store]?.enabled === false) continue;
    const versions = byStore.get(store) ?? {};
    versions[version] = [...partitions].sort((a, b) => a - b);
    byStore.set(store, versions);
  }
  const announce = (resource: string, versions: Record<string, number[]>): Announcement => ({
    format: ANNOUNCEMENT_FORMAT,
    resource,
    mode: config.discovery.mode,
    serverId: server.serverId,
    host: server.host,
    grpcPort: server.grpcPort,
    tls: server.tls,
    httpPort: server.httpPort,
    ready,
    versions,
    compressionStrategies: Object.fromEntries(
      Object.keys(versions).flatMap((v) =>
        compressionStrategies[v] === undefined ? [] : [[v, compressionStrategies[v]]]
      ),
    ),
    startedAt: server.startedAt,
    pid: server.pid,
  });
  if (config.discovery.mode === "cluster") {
    return [announce(config.discovery.clusterName, Object.assign({}, ...byStore.values()))];
  }
  return [...byStore].map(([store, versions]) => announce(store, versions));
}

/** Throws RangeError unless `segment` is usable as a file name and a znode name. */
export function checkSegment(kind: string, segment: string): void {
  if (!SAFE_SEGMENT.test(segment)) {
    throw new RangeError(
      `Invalid ${kind} "${segment}": use letters, digits, '.', '_', ':' or '-'`,
    );
  }
}

/** Parses stored announcement JSON; null when it is not a format-1 announcement. */
export function parseAnnouncement(text: string): Announcement | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const a = value as Partial<Announcement> | null;
  if (
    a === null || typeof a !== "object" || a.format !== ANNOUNCEMENT_FORMAT ||
    typeof a.resource !== "string" || typeof a.serverId !== "string" ||
    typeof a.host !== "string" || typeof a.grpcPort !== "number" ||
    typeof a.ready !== "boolean" || typeof a.versions !== "object" || a.versions === null ||
    Array.isArray(a.versions) || !validTierFields(a)
  ) {
    return null;
  }
  return a as Announcement;
}

/** The client's view of an announcement. */
export function toEndpoint(a: Announcement): Endpoint {
  return {
    serverId: a.serverId,
    host: a.host,
    grpcPort: a.grpcPort,
    tls: a.tls === true,
    httpPort: typeof a.httpPort === "number" ? a.httpPort : null,
    ready: a.ready,
    versions: a.versions,
    startedAt: a.startedAt,
  };
}
