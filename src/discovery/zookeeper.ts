/**
 * The ZooKeeper discovery backend: each announcement is the data of the ephemeral znode
 * `<rootPath>/<resource>/<serverId>` (persistent parents created as needed), so it
 * disappears with this server's session. A new session (after expiry) re-announces.
 */
import type { RialtoConfig } from "../config/schema.ts";
import {
  type Announcement,
  checkSegment,
  CURRENT_VERSIONS,
  type Endpoint,
  formatCurrentVersion,
  parseAnnouncement,
  parseCurrentVersion,
  toEndpoint,
} from "./announcement.ts";
import type { DiscoveryBackend } from "./backend.ts";
import { ErrorCode, ZooKeeperClient, ZooKeeperError } from "./zk/client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isCode(error: unknown, code: number): boolean {
  return error instanceof ZooKeeperError && error.code === code;
}

export interface ZooKeeperBackendOptions {
  readonly connect: string;
  readonly rootPath: string;
  readonly sessionTimeoutMs: number;
}

export class ZooKeeperBackend implements DiscoveryBackend {
  readonly kind = "zookeeper" as const;
  readonly target: string;
  #root: string;
  #client: ZooKeeperClient;
  #lastConnectError: Error | null = null;
  #lostCallbacks: (() => void)[] = [];
  /** resource → what this session holds for it. */
  #published = new Map<string, { path: string; json: string; session: bigint }>();

  constructor(options: ZooKeeperBackendOptions) {
    this.#root = options.rootPath;
    this.target = `zookeeper://${options.connect}${options.rootPath}`;
    this.#client = new ZooKeeperClient({
      connect: options.connect,
      sessionTimeoutMs: options.sessionTimeoutMs,
      onState: (state, { newSession }) => {
        if (state !== "connected") return;
        this.#lastConnectError = null;
        // A new session owns none of our ephemeral nodes: everything must be re-created.
        if (newSession) this.#published.clear();
        for (const callback of this.#lostCallbacks) callback();
      },
      onError: (error) => {
        this.#lastConnectError = error;
      },
    });
  }

  connected(): boolean {
    return this.#client.state === "connected";
  }

  /** The current session id in hex, for status pages. */
  get session(): string | null {
    return this.#client.sessionId === 0n ? null : `0x${this.#client.sessionId.toString(16)}`;
  }

  onLost(callback: () => void): void {
    this.#lostCallbacks.push(callback);
  }

  async sync(desired: readonly Announcement[]): Promise<void> {
    if (!this.connected()) {
      throw new Error(
        `Not connected to ZooKeeper at ${this.target}` +
          (this.#lastConnectError ? `: ${this.#lastConnectError.message}` : ""),
      );
    }
    const session = this.#client.sessionId;
    const wanted = new Set(desired.map((a) => a.resource));
    for (const a of desired) {
      checkSegment("resource name", a.resource);
      checkSegment("server id", a.serverId);
      const path = `${this.#root}/${a.resource}/${a.serverId}`;
      const json = JSON.stringify(a);
      const prior = this.#published.get(a.resource);
      if (prior?.path === path && prior.json === json && prior.session === session) continue;
      await this.#put(path, json, session);
      if (prior && prior.path !== path) await this.#delete(prior.path);
      this.#published.set(a.resource, { path, json, session });
    }
    for (const [resource, { path }] of [...this.#published]) {
      if (wanted.has(resource)) continue;
      await this.#delete(path);
      this.#published.delete(resource);
    }
  }

  async #put(path: string, json: string, session: bigint): Promise<void> {
    const data = encoder.encode(json);
    try {
      await this.#client.create(path, data, "ephemeral");
      return;
    } catch (error) {
      if (isCode(error, ErrorCode.NO_NODE)) {
        await this.#client.mkdirp(path.slice(0, path.lastIndexOf("/")));
        await this.#client.create(path, data, "ephemeral");
        return;
      }
      if (!isCode(error, ErrorCode.NODE_EXISTS)) throw error;
    }
    const stat = await this.#client.exists(path);
    if (stat?.ephemeralOwner === session) {
      await this.#client.setData(path, data);
      return;
    }
    // Left by an earlier session of this same server (restarted within the session
    // timeout): it would vanish when that session expires, so replace it with ours.
    await this.#delete(path);
    await this.#client.create(path, data, "ephemeral");
  }

  async #delete(path: string): Promise<void> {
    try {
      await this.#client.delete(path);
    } catch (error) {
      if (!isCode(error, ErrorCode.NO_NODE)) throw error;
    }
  }

  list(resource: string): Promise<Announcement[]> {
    return listAnnouncements(this.#client, this.#root, resource);
  }

  async currentVersions(): Promise<Map<string, number>> {
    const parent = `${this.#root}/${CURRENT_VERSIONS}`;
    const versions = new Map<string, number>();
    for (const [store, data] of await readChildren(this.#client, parent)) {
      const version = parseCurrentVersion(decoder.decode(data));
      if (version !== null) versions.set(store, version);
    }
    return versions;
  }

  /** A persistent node: the tier's current versions outlive every server's session. */
  async setCurrentVersion(store: string, version: number): Promise<void> {
    checkSegment("store name", store);
    const path = `${this.#root}/${CURRENT_VERSIONS}/${store}`;
    const data = encoder.encode(formatCurrentVersion(version));
    try {
      await this.#client.setData(path, data);
      return;
    } catch (error) {
      if (!isCode(error, ErrorCode.NO_NODE)) throw error;
    }
    await this.#client.mkdirp(path.slice(0, path.lastIndexOf("/")));
    try {
      await this.#client.create(path, data, "persistent");
    } catch (error) {
      // Another writer created it between our two calls: ours is the later write.
      if (!isCode(error, ErrorCode.NODE_EXISTS)) throw error;
      await this.#client.setData(path, data);
    }
  }

  /** Resolves true once connected, false after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    return this.#client.waitConnected(timeoutMs);
  }

  async close(): Promise<void> {
    // Closing the session removes our ephemeral nodes; deleting first makes it explicit
    // and immediate for readers even if closeSession is lost.
    if (this.connected()) {
      try {
        await this.sync([]);
      } catch {
        // The session close below (or its expiry) removes them anyway.
      }
    }
    await this.#client.close();
  }
}

/** The data of every child of `parent` by name, sorted; none when it does not exist. */
async function readChildren(
  client: ZooKeeperClient,
  parent: string,
): Promise<[string, Uint8Array][]> {
  let children: string[];
  try {
    children = await client.getChildren(parent);
  } catch (error) {
    if (isCode(error, ErrorCode.NO_NODE)) return [];
    throw error;
  }
  const found: [string, Uint8Array][] = [];
  for (const child of children.sort()) {
    try {
      found.push([child, (await client.getData(`${parent}/${child}`)).data]);
    } catch (error) {
      if (!isCode(error, ErrorCode.NO_NODE)) throw error; // removed while we listed
    }
  }
  return found;
}

/** The announcements under `<rootPath>/<resource>`, sorted by server id. */
async function listAnnouncements(
  client: ZooKeeperClient,
  rootPath: string,
  resource: string,
): Promise<Announcement[]> {
  checkSegment("resource name", resource);
  const found: Announcement[] = [];
  for (const [, data] of await readChildren(client, `${rootPath}/${resource}`)) {
    const a = parseAnnouncement(decoder.decode(data));
    if (a && a.resource === resource) found.push(a);
  }
  return found;
}

/** Reads the live announcements of a resource, as a client would. */
export async function resolveZooKeeper(
  config: RialtoConfig,
  resource: string,
  options: { connectTimeoutMs?: number } = {},
): Promise<Endpoint[]> {
  checkSegment("resource name", resource);
  const { connect, rootPath, sessionTimeoutMs } = config.discovery.zookeeper;
  const timeout = options.connectTimeoutMs ?? 3000;
  const client = new ZooKeeperClient({ connect, sessionTimeoutMs, connectTimeoutMs: timeout });
  try {
    if (!await client.waitConnected(timeout)) {
      throw new Error(`Cannot reach ZooKeeper at ${connect} within ${timeout} ms`);
    }
    return (await listAnnouncements(client, rootPath, resource)).map(toEndpoint);
  } finally {
    await client.close();
  }
}
