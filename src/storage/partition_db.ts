/**
 * Opening one partition's RocksDB (data or metadata) the way the server is set up to:
 * read-only, or as a secondary instance following a live Venice server.
 */
import { type BlockCache, RocksDB, RocksDBError } from "../../ffi/mod.ts";
import { StoreVersionError } from "./errors.ts";
import { partitionDir } from "./layout.ts";
import { NEWEST_READABLE_FORMAT_VERSION, type TableFormatWatch } from "./table_format.ts";

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
    return explainingFormat(() =>
      RocksDB.open(path, { mode: "secondary", secondaryPath, blockCache })
    );
  }
  return explainingFormat(() => RocksDB.open(path, { mode: "read-only", blockCache }));
}

/**
 * A secondary's look at what its primary wrote since the last one. RocksDB stays silently
 * behind when the primary's new tables are in a format it cannot read; `tables` finds
 * those and this throws, so the partition is not served as if it were current.
 */
export function catchUpWithPrimary(db: RocksDB, tables: TableFormatWatch): void {
  db.tryCatchUpWithPrimary();
  const unreadable = tables.unreadable();
  if (unreadable !== null) {
    throw formatVersionError(
      `Cannot follow "${db.path}": "${unreadable.file}"`,
      unreadable.formatVersion,
    );
  }
}

/** RocksDB's words for a table file written in a format_version it does not know. */
const UNSUPPORTED_FORMAT_VERSION = /unsupported format_version: (\d+)/;

/** Runs a RocksDB open, and says what to do when it meets tables in a newer format. */
function explainingFormat<T>(open: () => T): T {
  try {
    return open();
  } catch (error) {
    const match = error instanceof RocksDBError
      ? UNSUPPORTED_FORMAT_VERSION.exec(error.message)
      : null;
    if (match === null) throw error;
    throw formatVersionError(
      (error as RocksDBError).message + ". Its SST files are",
      Number(match[1]),
      error,
    );
  }
}

/**
 * Tables in a block-based format_version newer than the loaded RocksDB reads (Debian's 7.8
 * reads up to 5; RocksDB 8.6 and later can write 6). Venice's server writes the version
 * its `rocksdb.block.base.format.version` sets (RocksDBServerConfig, default 2).
 */
function formatVersionError(
  what: string,
  formatVersion: number,
  cause?: unknown,
): StoreVersionError {
  return new StoreVersionError(
    `${what} in block-based format_version ${formatVersion}, which the RocksDB Rialto loaded ` +
      `cannot read (it reads up to ${NEWEST_READABLE_FORMAT_VERSION}): set ` +
      `rocksdb.block.base.format.version to ${NEWEST_READABLE_FORMAT_VERSION} or lower on the ` +
      `Venice server (its default is 2) for the versions Rialto reads`,
    { cause },
  );
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
