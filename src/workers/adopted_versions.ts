/**
 * A worker isolate's view of the main isolate's registry: the versions the main isolate
 * installed here, adopted (`StoreVersion.adopt`), by resource name. It opens and closes
 * nothing native: the main isolate's StoreRegistry owns every database and closes one
 * only after every worker has dropped it and released its leases.
 */
import type { VersionLookup } from "../storage/registry.ts";
import { StoreVersion, type VersionOverride } from "../storage/store_version.ts";
import type { InstalledVersion } from "./protocol.ts";

export class AdoptedVersions implements VersionLookup {
  readonly #byResource = new Map<string, StoreVersion>();
  readonly #byId = new Map<number, StoreVersion>();
  readonly #quotaBuckets = new Map<string, number>();
  #overrides: Readonly<Record<string, VersionOverride>> = {};

  lookup(resource: string): StoreVersion | undefined {
    return this.#byResource.get(resource);
  }

  /** The shared quota bucket of a resource, as the main isolate assigned it. */
  quotaBucket(resource: string): number | undefined {
    return this.#quotaBuckets.get(resource);
  }

  get size(): number {
    return this.#byResource.size;
  }

  /** Serves `installed` from now on; it replaces a version of the same resource name. */
  install(installed: InstalledVersion): void {
    const shared = installed.version;
    const version = StoreVersion.adopt(shared, this.#overrides[shared.onDisk.resource]);
    this.#byId.set(version.id, version);
    this.#byResource.set(version.resource, version);
    this.#quotaBuckets.set(version.resource, installed.quotaBucket);
  }

  /** Drops version `id`: no new lease on it succeeds here from now on. */
  retire(id: number): void {
    const version = this.#byId.get(id);
    if (version === undefined) return;
    this.#byId.delete(id);
    if (this.#byResource.get(version.resource) === version) {
      this.#byResource.delete(version.resource);
      this.#quotaBuckets.delete(version.resource);
    }
    void version.retire();
  }

  /** Config overrides of version settings, applied now and to versions installed later. */
  applyOverrides(overrides: Readonly<Record<string, VersionOverride>>): void {
    this.#overrides = overrides;
    for (const version of this.#byId.values()) {
      version.applyOverride(overrides[version.resource]);
    }
  }

  /** Drops everything (the worker is exiting). */
  clear(): void {
    for (const id of [...this.#byId.keys()]) this.retire(id);
  }
}
