/**
 * Venice's on-disk layout, as a Venice server writes it (RocksDBStorageEngine):
 *   <dataDir>/rocksdb/<store>_v<N>/<store>_v<N>_<partition>
 * one RocksDB per partition, plus the metadata partition 1000000000
 * (AbstractStorageEngine.METADATA_PARTITION_ID) holding the version's state.
 */

import { METADATA_PARTITION_ID } from "../venice/version_metadata.ts";

export { METADATA_PARTITION_ID };

const RESOURCE_NAME = /^([A-Za-z0-9_-]+)_v([0-9]+)$/;

/** A store-version resource name, `<store>_v<version>`, taken apart. */
export interface ResourceName {
  readonly resource: string;
  readonly store: string;
  readonly version: number;
}

/** Parses `people_v3`; null when the name is not a Venice version topic name. */
export function parseResourceName(resource: string): ResourceName | null {
  const match = RESOURCE_NAME.exec(resource);
  if (!match) return null;
  const version = Number(match[2]);
  if (!Number.isSafeInteger(version) || version < 1) return null;
  return { resource, store: match[1], version };
}

/** `<store>_v<version>` */
export function resourceNameOf(store: string, version: number): string {
  return `${store}_v${version}`;
}

/** The folder that holds every partition of one version. */
export function versionDir(dataDir: string, resource: string): string {
  return `${dataDir}/rocksdb/${resource}`;
}

/** The RocksDB folder of one partition. */
export function partitionDir(dataDir: string, resource: string, partition: number): string {
  return `${versionDir(dataDir, resource)}/${resource}_${partition}`;
}

/** One store version found on disk. */
export interface VersionOnDisk extends ResourceName {
  readonly dir: string;
  /** Data partitions present, ascending; the metadata partition is not among them. */
  readonly partitions: readonly number[];
  readonly hasMetadataPartition: boolean;
  /**
   * Which directories these are (inode and creation time of each partition folder): it
   * changes when Venice replaces a partition in place (a blob transfer renames a copy
   * over it, a restore drops and re-bootstraps it), not when files inside change.
   */
  readonly fingerprint: string;
}

/** Inode and creation time of a folder; null when it is gone. */
async function folderIdentity(path: string): Promise<string | null> {
  try {
    const info = await Deno.stat(path);
    return `${info.ino ?? ""}@${info.birthtime?.getTime() ?? ""}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Lists the store versions under `<dataDir>/rocksdb`. Folders that do not follow the
 * layout are skipped; a version folder with no partition is skipped too (a push that
 * has not written anything yet). A missing `rocksdb` folder means no versions.
 */
export async function discoverVersions(dataDir: string): Promise<VersionOnDisk[]> {
  const root = `${dataDir}/rocksdb`;
  const found: VersionOnDisk[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(root));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return found;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isDirectory) continue;
    const name = parseResourceName(entry.name);
    if (!name) continue;
    const dir = `${root}/${entry.name}`;
    const partitions: number[] = [];
    let hasMetadataPartition = false;
    const prefix = `${entry.name}_`;
    try {
      for await (const child of Deno.readDir(dir)) {
        if (!child.isDirectory || !child.name.startsWith(prefix)) continue;
        const suffix = child.name.slice(prefix.length);
        if (!/^[0-9]+$/.test(suffix)) continue;
        const partition = Number(suffix);
        if (partition === METADATA_PARTITION_ID) hasMetadataPartition = true;
        else if (Number.isSafeInteger(partition)) partitions.push(partition);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    partitions.sort((a, b) => a - b);
    // A folder renamed away between the listing and its stat (a partition being
    // replaced) counts as absent: the next scan sees what took its place.
    const held: number[] = [];
    const identities: string[] = [];
    for (const partition of partitions) {
      const identity = await folderIdentity(`${dir}/${prefix}${partition}`);
      if (identity === null) continue;
      held.push(partition);
      identities.push(`${partition}:${identity}`);
    }
    if (held.length === 0) continue;
    if (hasMetadataPartition) {
      identities.push(`m:${await folderIdentity(`${dir}/${prefix}${METADATA_PARTITION_ID}`)}`);
    }
    found.push({
      ...name,
      dir,
      partitions: held,
      hasMetadataPartition,
      fingerprint: identities.join(","),
    });
  }
  found.sort((a, b) => a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0);
  return found;
}
