/**
 * Venice's on-disk layout, as a Venice server writes it (RocksDBStorageEngine):
 *   <dataDir>/rocksdb/<store>_v<N>/<store>_v<N>_<partition>
 * one RocksDB per partition, plus the metadata partition 1000000000
 * (AbstractStorageEngine.METADATA_PARTITION_ID) holding the version's state.
 */

import { type FileStamp, fileStamp } from "../../ffi/mod.ts";
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
  return (await scanDataDir(dataDir)).versions;
}

/** A scan of the data dir: its versions, and every version folder it looked into. */
export interface DataDirScan {
  readonly versions: VersionOnDisk[];
  /** Version folders listed, those without a partition yet included (see listingStamp). */
  readonly folders: string[];
}

/** `discoverVersions`, with the folders it listed. */
export async function scanDataDir(dataDir: string): Promise<DataDirScan> {
  const root = `${dataDir}/rocksdb`;
  const found: VersionOnDisk[] = [];
  const folders: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(root));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { versions: found, folders };
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isDirectory) continue;
    const name = parseResourceName(entry.name);
    if (!name) continue;
    const dir = `${root}/${entry.name}`;
    folders.push(dir);
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
  return { versions: found, folders };
}

/**
 * How long a folder's modification time must lie in the past before a listing stamp
 * trusts it. File times are coarse (the kernel's clock tick, a few ms): an entry renamed
 * in the same tick as the stat would leave the time as it was.
 */
export const SETTLED_AFTER_MS = 2_000;

/**
 * What a scan of the data dir would list, in one string, for a few stats: inode and
 * modification time of `<dataDir>/rocksdb` and of each of `folders` (the version folders
 * the last scan listed). A folder's time changes whenever an entry in it is added,
 * removed or renamed, and that is all a scan reads (a partition replaced in place is a
 * rename over it; the files inside a partition are not looked at). Equal stamps mean an
 * equal scan. Null when a time is too recent to trust (SETTLED_AFTER_MS) or a stat
 * failed other than by absence: then only a scan can tell.
 */
export function listingStamp(dataDir: string, folders: readonly string[]): string | null {
  const settledBefore = Date.now() - SETTLED_AFTER_MS;
  const parts: string[] = [];
  for (const path of [`${dataDir}/rocksdb`, ...folders]) {
    // Synchronous, through `fileStamp`: this runs every second on the loop that serves
    // reads, where one async stat's dispatch alone held it 60-130 µs, a statSync 2 µs in a
    // loop and 30-60 µs after other work (measured; the scan's mean at 40k gets/s went from
    // 128 to 92 µs), and glibc's stat about half a statSync after other work. A local
    // folder's stat waits on no disk the way a RocksDB read beside it may. A stat that
    // fails other than by absence throws: then only a scan can tell.
    let stamp: FileStamp | null;
    try {
      stamp = fileStamp(path);
    } catch {
      return null;
    }
    if (stamp === null) {
      parts.push(`${path}:gone`);
      continue;
    }
    // Too recent to trust, or no time known (NaN): only a scan can tell.
    if (!(stamp.mtimeMs <= settledBefore)) return null;
    parts.push(`${path}:${stamp.ino}@${stamp.mtimeMs}`);
  }
  return parts.join("\n");
}
