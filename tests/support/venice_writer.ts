/**
 * Plays a Venice server writing one store version, step by step, on real RocksDB files:
 * partition directories at subscription, VERSION_METADATA at start of push, data with the
 * WAL off (seen by readers once flushed), per-partition state in the metadata partition
 * with the WAL on (RocksDBStoragePartition, AbstractStorageEngine).
 *
 * ```ts
 * using venice = VeniceWriter.subscribe(dataDir, "live_v1", 2);
 * venice.startOfPush({ chunked: true });
 * venice.put(0, key, value);
 * venice.checkpoint(0, { endOfPush: true });
 * ```
 */
import { RocksDB, WriteBatch } from "../../ffi/mod.ts";
import { partitionDir } from "../../src/storage/layout.ts";
import { chunkedStoreEntries, withSchemaHeader } from "../../src/venice/chunking.ts";
import { encodePartitionState } from "../../src/venice/partition_state.ts";
import {
  encodeStoreVersionState,
  METADATA_PARTITION_ID,
  partitionMetadataKey,
  type StoreVersionState,
  VERSION_METADATA_KEY,
} from "../../src/venice/version_metadata.ts";

export class VeniceWriter implements Disposable {
  readonly dataDir: string;
  readonly resource: string;
  readonly #partitions: RocksDB[];
  readonly #metadata: RocksDB;
  #chunked = false;
  readonly #offsets: bigint[] = [];

  private constructor(dataDir: string, resource: string, partitions: RocksDB[], metadata: RocksDB) {
    this.dataDir = dataDir;
    this.resource = resource;
    this.#partitions = partitions;
    this.#metadata = metadata;
  }

  /** What a Venice server does when it subscribes: every partition's database, empty. */
  static subscribe(dataDir: string, resource: string, partitions: number): VeniceWriter {
    const open = (partition: number) => {
      const path = partitionDir(dataDir, resource, partition);
      Deno.mkdirSync(path, { recursive: true });
      return RocksDB.open(path, { mode: "read-write", createIfMissing: true });
    };
    const dbs = Array.from({ length: partitions }, (_, p) => open(p));
    return new VeniceWriter(dataDir, resource, dbs, open(METADATA_PARTITION_ID));
  }

  /** START_OF_PUSH: VERSION_METADATA, through the WAL. */
  startOfPush(state: Partial<StoreVersionState> = {}): void {
    this.#chunked = state.chunked ?? false;
    this.putMetadata(VERSION_METADATA_KEY, encodeStoreVersionState(state));
  }

  /** A write to the metadata partition (WAL on, as Venice keeps it there). */
  putMetadata(key: Uint8Array, value: Uint8Array): void {
    this.#metadata.write(new WriteBatch().put(key, value), { sync: true });
  }

  /**
   * One record as Venice stores it (`payload` already compressed): chunked into
   * `maxChunkBytes` pieces when the version is chunked and the value is big. WAL off.
   */
  put(partition: number, key: Uint8Array, payload: Uint8Array, schemaId = 1, maxChunkBytes = 0) {
    const batch = new WriteBatch();
    if (this.#chunked) {
      const options = maxChunkBytes > 0
        ? { maxSizeForUserPayloadPerMessageInBytes: maxChunkBytes }
        : {};
      for (const entry of chunkedStoreEntries(key, payload, schemaId, options).entries) {
        batch.put(entry.key, entry.value);
      }
    } else {
      batch.put(key, withSchemaHeader(schemaId, payload));
    }
    this.#partitions[partition].write(batch, { disableWAL: true });
  }

  /** One RocksDB entry exactly as given (WAL off): for values Venice would not write. */
  putRaw(partition: number, key: Uint8Array, value: Uint8Array): void {
    this.#partitions[partition].write(new WriteBatch().put(key, value), { disableWAL: true });
  }

  /** A memtable flush (a checkpoint, or a full memtable). */
  flush(partition: number): void {
    this.#partitions[partition].flush();
  }

  /**
   * A checkpoint as StoreIngestionTask.syncOffset takes it: the data partition flushed,
   * then its PartitionState written to the metadata partition, stamped now.
   */
  checkpoint(
    partition: number,
    state: { endOfPush: boolean; leaderTopic?: string; lastCheckpointTimestamp?: number },
  ): void {
    this.flush(partition);
    const now = Date.now();
    this.#offsets[partition] = (this.#offsets[partition] ?? 0n) + 1n;
    this.putMetadata(
      partitionMetadataKey(partition),
      encodePartitionState({
        offset: this.#offsets[partition],
        endOfPush: state.endOfPush,
        lastUpdate: now,
        lastCheckpointTimestamp: state.lastCheckpointTimestamp ?? now,
        leaderTopic: state.leaderTopic ?? null,
      }),
    );
  }

  [Symbol.dispose](): void {
    for (const db of this.#partitions) db.close();
    this.#metadata.close();
  }
}
