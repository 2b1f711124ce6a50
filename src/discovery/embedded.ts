/**
 * The embedded discovery backend: announcements as JSON files on this machine, so that
 * discovery works with nothing else running. Layout: `<dir>/<resource>/<serverId>.json`,
 * each written atomically (temp file + rename) so a reader never sees half of one.
 * Readers skip entries whose process is gone, so a crashed server does not linger.
 */
import { join, resolve as resolvePath } from "node:path";
import { writeFileAtomic } from "../config/edit.ts";
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

/** The directory the config puts announcement files in. */
export function embeddedDir(config: RialtoConfig): string {
  return resolvePath(config.discovery.embedded.dir ?? join(config.dataDir, "discovery"));
}

/**
 * Whether a process still runs. On Linux /proc answers without signalling anything;
 * elsewhere we cannot tell and assume it does.
 */
export function processAlive(pid: number): boolean {
  try {
    Deno.statSync("/proc/self");
  } catch {
    return true;
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function fileName(serverId: string): string {
  return `${serverId}.json`;
}

export class EmbeddedBackend implements DiscoveryBackend {
  readonly kind = "embedded" as const;
  readonly target: string;
  /** resource → serverId of every file this backend wrote and has not removed. */
  #written = new Map<string, { serverId: string; json: string }>();

  constructor(dir: string) {
    this.target = resolvePath(dir);
  }

  connected(): boolean {
    return true;
  }

  onLost(_callback: () => void): void {
    // Files do not vanish on their own.
  }

  async sync(desired: readonly Announcement[]): Promise<void> {
    const wanted = new Map(desired.map((a) => [a.resource, a]));
    for (const a of desired) {
      checkSegment("resource name", a.resource);
      checkSegment("server id", a.serverId);
      const json = JSON.stringify(a) + "\n";
      const prior = this.#written.get(a.resource);
      if (prior?.serverId === a.serverId && prior.json === json) continue;
      const dir = join(this.target, a.resource);
      await Deno.mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, fileName(a.serverId)), new TextEncoder().encode(json));
      if (prior && prior.serverId !== a.serverId) await this.#remove(a.resource, prior.serverId);
      this.#written.set(a.resource, { serverId: a.serverId, json });
    }
    for (const [resource, { serverId }] of [...this.#written]) {
      if (!wanted.has(resource)) {
        await this.#remove(resource, serverId);
        this.#written.delete(resource);
      }
    }
  }

  async #remove(resource: string, serverId: string): Promise<void> {
    try {
      await Deno.remove(join(this.target, resource, fileName(serverId)));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  list(resource: string): Promise<Announcement[]> {
    return readEmbedded(this.target, resource);
  }

  async currentVersions(): Promise<Map<string, number>> {
    const dir = join(this.target, CURRENT_VERSIONS);
    const versions = new Map<string, number>();
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isFile || !entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
        const version = parseCurrentVersion(
          await Deno.readTextFile(join(dir, entry.name)).catch(() => ""),
        );
        if (version !== null) versions.set(entry.name.slice(0, -".json".length), version);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return versions;
  }

  async setCurrentVersion(store: string, version: number): Promise<void> {
    checkSegment("store name", store);
    const dir = join(this.target, CURRENT_VERSIONS);
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(
      join(dir, `${store}.json`),
      new TextEncoder().encode(formatCurrentVersion(version) + "\n"),
    );
  }

  async close(): Promise<void> {
    await this.sync([]);
  }
}

/** Reads the live announcements of a resource from an announcement directory. */
export async function readEmbedded(dir: string, resource: string): Promise<Announcement[]> {
  checkSegment("resource name", resource);
  const found: Announcement[] = [];
  try {
    for await (const entry of Deno.readDir(join(dir, resource))) {
      if (!entry.isFile || !entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
      let text: string;
      try {
        text = await Deno.readTextFile(join(dir, resource, entry.name));
      } catch {
        continue; // withdrawn while we listed
      }
      const a = parseAnnouncement(text);
      if (a && a.resource === resource && processAlive(a.pid)) found.push(a);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return found.sort((a, b) => a.serverId < b.serverId ? -1 : a.serverId > b.serverId ? 1 : 0);
}

/** Resolves a resource from the embedded backend the config names. */
export async function resolveEmbedded(config: RialtoConfig, resource: string): Promise<Endpoint[]> {
  return (await readEmbedded(embeddedDir(config), resource)).map(toEndpoint);
}
