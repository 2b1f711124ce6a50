/**
 * A version's metadata partition (`<res>_1000000000`), as a Venice server keeps it
 * (AbstractStorageEngine, RocksDBStorageEngine): VERSION_METADATA (StoreVersionState:
 * chunking, compression, dictionary, TopicSwitch once hybrid), `P_<partition>` for each
 * partition's checkpointed PartitionState, and beside the database the file
 * `rocksdbConfig` naming the version's table format. Written with the WAL on, so a
 * read-only open or a secondary's catch-up sees every write.
 */
import type { RocksDB } from "../../ffi/mod.ts";
import { CompressionStrategy, isCompressionStrategy } from "../venice/compression.ts";
import { decodePartitionState, type PartitionState } from "../venice/partition_state.ts";
import {
  decodeStoreVersionState,
  partitionMetadataKey,
  type StoreVersionState,
  VERSION_METADATA_KEY,
} from "../venice/version_metadata.ts";
import { StoreVersionError, VersionNotReadyError } from "./errors.ts";
import { METADATA_PARTITION_ID, partitionDir } from "./layout.ts";
import { openPartitionDb, type OpenSettings } from "./partition_db.ts";
import type { VersionSettings } from "./store_version.ts";

/** RocksDBStorageEngine.SERVER_CONFIG_FILE_NAME, in the metadata partition's folder. */
export const ROCKSDB_CONFIG_FILE = "rocksdbConfig";
/** RocksDBServerConfig.ROCKSDB_PLAIN_TABLE_FORMAT_ENABLED. */
export const PLAIN_TABLE_FORMAT_ENABLED = "rocksdb.plain.table.format.enabled";

/** Venice's defaults for a null StoreVersionState. */
export const DEFAULT_SETTINGS: VersionSettings = Object.freeze({
  compressionStrategy: CompressionStrategy.NO_OP,
  chunked: false,
  compressionDictionary: null,
});

/** A checkpointed PartitionState, or why it could not be read. */
export type PartitionStateRead = PartitionState | { readonly error: string } | null;

/**
 * The key-value pairs of a java.util.Properties file (`key=value`, `key: value` or
 * `key value`; `#` and `!` comments). Enough for what Properties.store writes.
 */
export function parseJavaProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimStart();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const match = /^((?:\\.|[^=:\s\\])*)\s*[=:\s]\s*(.*)$/.exec(line);
    const key = (match ? match[1] : line).replace(/\\(.)/g, "$1");
    out.set(key, match ? match[2].trimEnd() : "");
  }
  return out;
}

/**
 * Refuses a version Venice wrote as PlainTable: its files are not block-based tables and
 * would be misread. Venice's own reader takes a config file without the key as PlainTable
 * (RocksDBStorageEngine.hasConflictPersistedStoreEngineConfig); so does this one.
 */
export function checkTableFormat(metadataDir: string): void {
  let text: string;
  const path = `${metadataDir}/${ROCKSDB_CONFIG_FILE}`;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new StoreVersionError(`Cannot read "${path}"`, { cause: error });
  }
  const value = parseJavaProperties(text).get(PLAIN_TABLE_FORMAT_ENABLED)?.toLowerCase();
  if (value === "false") return;
  throw new StoreVersionError(
    `"${path}" says the version was written in RocksDB's PlainTable format (${PLAIN_TABLE_FORMAT_ENABLED}=${
      value ?? "absent, which Venice reads as true"
    }); Rialto reads only BlockBasedTable versions: push it with ${PLAIN_TABLE_FORMAT_ENABLED}=false`,
  );
}

export class MetadataPartition {
  readonly path: string;
  readonly #db: RocksDB;
  readonly #following: boolean;

  private constructor(path: string, db: RocksDB, following: boolean) {
    this.path = path;
    this.#db = db;
    this.#following = following;
  }

  /** Opens it as the server opens partitions (no block cache: it is read rarely). */
  static open(settings: OpenSettings, resource: string): MetadataPartition {
    const path = partitionDir(settings.dataDir, resource, METADATA_PARTITION_ID);
    checkTableFormat(path);
    let db: RocksDB;
    try {
      db = openPartitionDb(settings, resource, METADATA_PARTITION_ID, null);
    } catch (error) {
      if (error instanceof StoreVersionError) throw error;
      throw new StoreVersionError(`Cannot open the metadata partition "${path}"`, {
        cause: error,
      });
    }
    return new MetadataPartition(path, db, settings.mode === "secondary");
  }

  /** Secondary mode: applies what the primary wrote since the last call. */
  catchUp(): void {
    if (this.#following) this.#db.tryCatchUpWithPrimary();
  }

  /** The StoreVersionState; VersionNotReadyError until Venice wrote it at start of push. */
  versionState(): StoreVersionState {
    let bytes: Uint8Array | null;
    try {
      bytes = this.#db.get(VERSION_METADATA_KEY);
    } catch (error) {
      throw new StoreVersionError(`Cannot read the version metadata in "${this.path}"`, {
        cause: error,
      });
    }
    if (bytes === null) {
      throw new VersionNotReadyError(
        `Waiting for VERSION_METADATA in "${this.path}" (Venice writes it at start of push)`,
      );
    }
    try {
      return decodeStoreVersionState(bytes);
    } catch (error) {
      throw new StoreVersionError(`Cannot decode the version metadata in "${this.path}"`, {
        cause: error,
      });
    }
  }

  /** How the version's values were written, from its StoreVersionState. */
  settings(state: StoreVersionState): VersionSettings {
    if (!isCompressionStrategy(state.compressionStrategy)) {
      throw new StoreVersionError(
        `Unknown compression strategy ${state.compressionStrategy} in the version metadata in "${this.path}"`,
      );
    }
    return Object.freeze({
      compressionStrategy: state.compressionStrategy,
      chunked: state.chunked,
      compressionDictionary: state.compressionDictionary,
    });
  }

  /** Partition `partition`'s last checkpoint; null before the first one. */
  partitionState(partition: number): PartitionStateRead {
    try {
      const bytes = this.#db.get(partitionMetadataKey(partition));
      return bytes === null ? null : decodePartitionState(bytes);
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  close(): void {
    this.#db.close();
  }
}
