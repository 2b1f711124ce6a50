/**
 * Opening one partition's RocksDB (data or metadata) the way the server is set up to:
 * read-only, or as a secondary instance following a live Venice server.
 */
import { type BlockCache, RocksDB } from "../../ffi/mod.ts";
import { StoreVersionError } from "./errors.ts";
import { partitionDir } from "./layout.ts";

/** How to open partition databases. */
export interface OpenSettings {
  readonly dataDir: string;
  readonly mode: "read-only" | "secondary";
  /** Root for secondary instances' own files (required in secondary mode). */
  readonly secondaryDir: string | null;
  readonly blockCache: BlockCache;
}

/**
 * Opens `<dataDir>/rocksdb/<resource>/<resource>_<partition>`, sharing the server's block
 * cache unless `blockCache` is null (a partition read too rarely to earn cache space).
 */
export function openPartitionDb(
  settings: OpenSettings,
  resource: string,
  partition: number,
  cache: BlockCache | null = settings.blockCache,
): RocksDB {
  const blockCache = cache ?? undefined;
  const path = partitionDir(settings.dataDir, resource, partition);
  if (settings.mode === "secondary") {
    if (!settings.secondaryDir) {
      throw new StoreVersionError(`Secondary mode needs storage.secondaryDir to open "${path}"`);
    }
    const secondaryPath = `${settings.secondaryDir}/${resource}/${resource}_${partition}`;
    makeSecondaryDir(secondaryPath, path);
    return RocksDB.open(path, { mode: "secondary", secondaryPath, blockCache });
  }
  return RocksDB.open(path, { mode: "read-only", blockCache });
}

/**
 * A secondary instance's own folder, with its parents: RocksDB creates only the last path
 * element, and an operator provides only `storage.secondaryDir` (or not even that).
 */
function makeSecondaryDir(secondaryPath: string, primaryPath: string): void {
  try {
    Deno.mkdirSync(secondaryPath, { recursive: true });
  } catch (error) {
    const reason = error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new StoreVersionError(
      `Cannot create the secondary directory "${secondaryPath}" to follow "${primaryPath}": ${reason}`,
      { cause: error },
    );
  }
}
