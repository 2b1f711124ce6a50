/**
 * One store version: its partition databases, opened read-only or as secondaries of a
 * live Venice server, and its settings (compression, chunking) from the metadata
 * partition or config. Reads return values in Venice's stored shape (schema id prefix +
 * payload), with chunked values reassembled.
 *
 * Ownership: the StoreVersion owns its databases. A reader holds a lease (acquire /
 * release) for as long as it uses them; `retire()` withdraws the version and closes the
 * databases once the last lease is released, so no read ever touches a closed handle.
 *
 * Worker isolates read the same databases through an adopted copy (`share()` in the
 * owner, `StoreVersion.adopt` in the worker). Their leases are counted in a
 * SharedArrayBuffer next to a retired flag: an adopted copy takes a lease by
 * incrementing the count and then checking the flag (backing out when it is set); the
 * owner sets the flag first and closes only once the count is 0. With sequentially
 * consistent Atomics, a worker either sees the flag or the owner sees its lease.
 */
import { RocksDB, type SharedRocksDB } from "../../ffi/mod.ts";
import {
  CHUNK_SCHEMA_ID,
  CHUNKED_VALUE_MANIFEST_SCHEMA_ID,
  decodeChunkedValueManifest,
  NON_CHUNK_KEY_SUFFIX,
} from "../venice/chunking.ts";
import type { CompressionStrategyId } from "../venice/compression.ts";
import type { PartitionState } from "../venice/partition_state.ts";
import type { StoreVersionState } from "../venice/version_metadata.ts";
import {
  CorruptValueError,
  PartitionNotHeldError,
  PartitionNotServedError,
  StoreVersionError,
} from "./errors.ts";
import type { VersionOnDisk } from "./layout.ts";
import {
  DEFAULT_SETTINGS,
  MetadataPartition,
  type PartitionStateRead,
} from "./metadata_partition.ts";
import { catchUpWithPrimary, openPartitionDb, type OpenSettings } from "./partition_db.ts";
import { TableFormatWatch } from "./table_format.ts";
import {
  freshAsOf,
  isRealTimeTopic,
  NOT_SERVED_REASONS,
  Serving,
  SERVING_NAMES,
  type ServingCode,
  servingCode,
  stalenessMs,
} from "./partition_serving.ts";
import { payloadOf, SCHEMA_ID_BYTES, schemaIdOf } from "./value.ts";

export type { OpenSettings };

/** How a version's values were written. */
export interface VersionSettings {
  readonly compressionStrategy: CompressionStrategyId;
  readonly chunked: boolean;
  /** The ZSTD_WITH_DICT dictionary, when the metadata partition holds one. */
  readonly compressionDictionary: Uint8Array | null;
}

/** Config overrides of what the metadata partition says. */
export interface VersionOverride {
  readonly compressionStrategy?: CompressionStrategyId;
  readonly chunked?: boolean;
}

/** One partition as /status shows it. */
export interface PartitionReport {
  readonly partition: number;
  /** serving, bootstrapping, stale, hybrid-without-bound or behind-primary (SERVING_NAMES). */
  readonly state: string;
  /** Null where the version has no metadata partition or no checkpoint yet. */
  readonly endOfPush: boolean | null;
  readonly offset: string | null;
  /** When its data was last known complete (ms since the epoch), if known. */
  readonly freshAsOf: number | null;
  readonly stalenessMs: number | null;
  /** Why its PartitionState could not be read, or its last catch-up failed, if so. */
  readonly error?: string;
}

/** Int32 slots of a version's shared lease state. */
const SHARED_LEASES = 0;
const SHARED_RETIRED = 1;
const SHARED_SLOTS = 2;
/** How often a retiring owner looks at the shared lease count. */
const SHARED_DRAIN_POLL_MS = 2;

/** A store version as another isolate of this process adopts it (postMessage-able). */
export interface SharedStoreVersion {
  /** Unique among the versions one registry opened (a replaced version gets a new id). */
  readonly id: number;
  readonly onDisk: VersionOnDisk;
  readonly metadata: VersionSettings;
  /** Indexed by partition id; null where this server does not hold the partition. */
  readonly dbs: readonly (SharedRocksDB | null)[];
  /** Partitions an earlier version by this name held and this one does not. */
  readonly dropped: readonly number[];
  /** Int32 per partition id: its ServingCode, written by the owner. */
  readonly serving: SharedArrayBuffer;
  /** Int32 [leases held by adopters, retired flag]. */
  readonly leases: SharedArrayBuffer;
}

let nextVersionId = 1;

/**
 * A partition's failing catch-ups. It is taken as behind its primary when the failure says
 * so (tables it cannot read) or repeats: one failure may be a folder being replaced.
 */
interface CatchUpFailure {
  readonly text: string;
  readonly times: number;
  readonly behind: boolean;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The PartitionState of a read, or null (none yet, or unreadable). */
function checkpointOf(read: PartitionStateRead | undefined): PartitionState | null {
  return read === undefined || read === null || "error" in read ? null : read;
}

function withSuffix(key: Uint8Array, suffix: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + suffix.length);
  out.set(key, 0);
  out.set(suffix, key.length);
  return out;
}

export class StoreVersion {
  readonly resource: string;
  readonly store: string;
  readonly version: number;
  readonly partitions: readonly number[];
  #settings: VersionSettings;
  readonly #metadata: VersionSettings;
  /** Indexed by partition id; a hole where this server does not hold the partition. */
  readonly #dbs: (RocksDB | undefined)[];
  readonly #onDisk: VersionOnDisk;
  /** Partitions an earlier version by this name held and this one does not. */
  readonly #dropped: ReadonlySet<number>;
  /** Indexed by partition id: its ServingCode (shared: the owner writes, adopters read). */
  readonly #serving: Int32Array;
  /** The owner's: its metadata partition (null when the version has none, or adopted). */
  readonly #metadataPartition: MetadataPartition | null;
  /** The owner's: the last checkpoint read of each held partition. */
  readonly #partitionStates: PartitionStateRead[] = [];
  /** Per partition: why its last catch-ups with the primary failed (secondary mode). */
  readonly #catchUpErrors: (CatchUpFailure | undefined)[] = [];
  /** Per partition (secondary mode): the formats of its primary's table files. */
  readonly #tableFormats: TableFormatWatch[] = [];
  /** The owner's: whether the version takes real-time writes. */
  #hybrid = false;
  #metadataCatchUpError: string | null = null;
  /** The owner's: secondary instances that catch up with a primary. */
  readonly #following: boolean;
  /** This isolate's leases. */
  #leases = 0;
  #retired = false;
  #closed = false;
  #onDrained: (() => void) | null = null;
  #retiring: Promise<void> | null = null;
  /** The shared [leases, retired] slots, once shared (owner) or when adopted. */
  #shared: Int32Array | null;
  /** True for a copy adopted from another isolate: its databases are not its own. */
  readonly #adopted: boolean;
  /** Identifies this version across isolates (see SharedStoreVersion.id). */
  readonly id: number;

  private constructor(
    onDisk: VersionOnDisk,
    metadata: VersionSettings,
    dbs: (RocksDB | undefined)[],
    dropped: readonly number[],
    serving: SharedArrayBuffer,
    owned: { metadataPartition: MetadataPartition | null; following: boolean } | null,
    adopted: { id: number; leases: SharedArrayBuffer } | null = null,
  ) {
    this.#onDisk = onDisk;
    this.#dropped = new Set(dropped);
    this.#serving = new Int32Array(serving);
    this.#metadataPartition = owned?.metadataPartition ?? null;
    this.#following = owned?.following ?? false;
    this.id = adopted?.id ?? nextVersionId++;
    this.#adopted = adopted !== null;
    this.#shared = adopted === null ? null : new Int32Array(adopted.leases);
    this.resource = onDisk.resource;
    this.store = onDisk.store;
    this.version = onDisk.version;
    this.partitions = onDisk.partitions;
    this.#metadata = metadata;
    this.#settings = metadata;
    this.#dbs = dbs;
  }

  /**
   * Opens every partition found on disk; on any failure closes what it opened.
   * `previous` is the version by this name it replaces, if any: partitions it held and
   * this one does not answer as dropped ones. `maxStalenessMs` is the store's bound on
   * hybrid partitions (null: none), as `refresh` takes it.
   */
  static open(
    onDisk: VersionOnDisk,
    settings: OpenSettings,
    override?: VersionOverride,
    previous?: StoreVersion,
    maxStalenessMs: number | null = null,
  ): StoreVersion {
    const metadataPartition = onDisk.hasMetadataPartition
      ? MetadataPartition.open(settings, onDisk.resource)
      : null;
    const dbs: (RocksDB | undefined)[] = [];
    let metadata = DEFAULT_SETTINGS;
    let versionState: StoreVersionState | null = null;
    try {
      if (metadataPartition !== null) {
        versionState = metadataPartition.versionState();
        metadata = metadataPartition.settings(versionState);
      }
      for (const partition of onDisk.partitions) {
        dbs[partition] = openPartitionDb(settings, onDisk.resource, partition);
      }
    } catch (error) {
      for (const db of dbs) db?.close();
      metadataPartition?.close();
      throw error;
    }
    const held = new Set(onDisk.partitions);
    const dropped = previous === undefined
      ? []
      : [...previous.partitions, ...previous.#dropped].filter((p) => !held.has(p));
    // Not served until the first refresh says so.
    const serving = new SharedArrayBuffer(4 * (Math.max(...onDisk.partitions) + 1));
    new Int32Array(serving).fill(Serving.BOOTSTRAPPING);
    const version = new StoreVersion(onDisk, metadata, dbs, [...new Set(dropped)], serving, {
      metadataPartition,
      following: settings.mode === "secondary",
    });
    version.#hybrid = versionState?.topicSwitch != null;
    version.#readPartitionStates();
    version.#decideServing(maxStalenessMs, Date.now());
    if (override) version.applyOverride(override);
    return version;
  }

  /**
   * An adopted copy of a version another isolate of this process opened and shared.
   * It reads the owner's databases; `retire()` on it closes nothing native.
   */
  static adopt(shared: SharedStoreVersion, override?: VersionOverride): StoreVersion {
    const dbs: (RocksDB | undefined)[] = [];
    shared.dbs.forEach((db, partition) => {
      if (db !== null && db !== undefined) dbs[partition] = RocksDB.adopt(db);
    });
    const version = new StoreVersion(
      shared.onDisk,
      shared.metadata,
      dbs,
      shared.dropped,
      shared.serving,
      null,
      {
        id: shared.id,
        leases: shared.leases,
      },
    );
    if (override) version.applyOverride(override);
    return version;
  }

  /**
   * What a worker isolate needs to adopt this version. From now on, `retire()` also
   * waits for the adopters' leases. Throws once the version is retired.
   */
  share(): SharedStoreVersion {
    if (this.#retired || this.#adopted) {
      throw new StoreVersionError(`Cannot share store version ${this.resource}: it is retired`);
    }
    this.#shared ??= new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
    return {
      id: this.id,
      onDisk: this.#onDisk,
      metadata: this.#metadata,
      dbs: Array.from(this.#dbs, (db) => db?.share() ?? null),
      dropped: [...this.#dropped],
      serving: this.#serving.buffer as SharedArrayBuffer,
      leases: this.#shared.buffer as SharedArrayBuffer,
    };
  }

  /** Leases adopters hold now (0 when never shared). */
  get sharedLeases(): number {
    return this.#shared === null ? 0 : Atomics.load(this.#shared, SHARED_LEASES);
  }

  get settings(): VersionSettings {
    return this.#settings;
  }

  /** Replaces config overrides (a reload); the metadata partition stays the base. */
  applyOverride(override: VersionOverride | undefined): void {
    this.#settings = Object.freeze({
      ...this.#metadata,
      ...(override?.compressionStrategy !== undefined
        ? { compressionStrategy: override.compressionStrategy }
        : {}),
      ...(override?.chunked !== undefined ? { chunked: override.chunked } : {}),
    });
  }

  /** Which partition folders it opened (VersionOnDisk.fingerprint). */
  get fingerprint(): string {
    return this.#onDisk.fingerprint;
  }

  holds(partition: number): boolean {
    return this.#dbs[partition] !== undefined;
  }

  /** Takes a lease; false once the version is retired (treat it as gone). */
  acquire(): boolean {
    if (this.#retired) return false;
    if (this.#adopted) {
      const shared = this.#shared!;
      Atomics.add(shared, SHARED_LEASES, 1);
      if (Atomics.load(shared, SHARED_RETIRED) !== 0) {
        Atomics.sub(shared, SHARED_LEASES, 1);
        this.#retired = true;
        return false;
      }
    }
    this.#leases++;
    return true;
  }

  release(): void {
    if (this.#adopted) Atomics.sub(this.#shared!, SHARED_LEASES, 1);
    if (--this.#leases === 0 && this.#retired) this.#onDrained?.();
  }

  /**
   * Withdraws the version; resolves when its databases are closed: after this isolate's
   * last lease, after `peersDone` (the adopters have dropped the version), and, once
   * shared, after the adopters' last lease, unless `adoptersRunning` says no adopter is
   * left (an isolate that was terminated reads nothing). An adopted copy closes nothing
   * native. Calling it again returns the same promise.
   */
  retire(peersDone?: Promise<void>, adoptersRunning?: () => boolean): Promise<void> {
    if (this.#retiring !== null) return this.#retiring;
    this.#retired = true;
    const waitsForAdopters = this.#shared !== null && !this.#adopted;
    // Adopters take no lease once the shared flag is up. With peers to tell, it goes up
    // once they have dropped the version (`#drain`): a peer that has yet to install the
    // version replacing this one (its messages come in order) reads this one until then,
    // rather than finding none and answering that the store does not exist.
    if (waitsForAdopters && peersDone === undefined) {
      Atomics.store(this.#shared!, SHARED_RETIRED, 1);
    }
    if (this.#leases === 0 && peersDone === undefined && !waitsForAdopters) {
      this.#close();
      return this.#retiring = Promise.resolve();
    }
    return this.#retiring = this.#drain(peersDone, waitsForAdopters, adoptersRunning);
  }

  async #drain(
    peersDone: Promise<void> | undefined,
    waitsForAdopters: boolean,
    adoptersRunning: (() => boolean) | undefined,
  ): Promise<void> {
    if (this.#leases > 0) {
      await new Promise<void>((resolve) => {
        this.#onDrained = resolve;
      });
    }
    await peersDone;
    if (waitsForAdopters) Atomics.store(this.#shared!, SHARED_RETIRED, 1);
    while (
      waitsForAdopters && Atomics.load(this.#shared!, SHARED_LEASES) > 0 &&
      (adoptersRunning?.() ?? true)
    ) {
      await new Promise((resolve) => setTimeout(resolve, SHARED_DRAIN_POLL_MS));
    }
    this.#close();
  }

  get retired(): boolean {
    return this.#retired;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const db of this.#dbs) db?.close();
    this.#metadataPartition?.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The owner's periodic look at the primary: in secondary mode the metadata partition
   * catches up first, then the data partitions, so the data seen is at least as new as
   * the checkpoints read. Then each partition's serving state is decided anew against
   * `maxStalenessMs` (this store's bound; null: none). True when a state changed.
   */
  refresh(maxStalenessMs: number | null, now = Date.now()): boolean {
    if (this.#closed || this.#adopted) return false;
    if (this.#following) {
      // A metadata partition left behind only makes the checkpoints older (safe); a data
      // partition left behind its newer checkpoint is not served until it catches up.
      try {
        this.#metadataPartition?.catchUp();
        this.#metadataCatchUpError = null;
      } catch (error) {
        this.#metadataCatchUpError = errorText(error);
      }
      this.#readPartitionStates();
      for (const partition of this.partitions) {
        try {
          const db = this.#dbs[partition]!;
          this.#tableFormats[partition] ??= new TableFormatWatch(db.path);
          catchUpWithPrimary(db, this.#tableFormats[partition]);
          this.#catchUpErrors[partition] = undefined;
        } catch (error) {
          const times = (this.#catchUpErrors[partition]?.times ?? 0) + 1;
          this.#catchUpErrors[partition] = {
            text: errorText(error),
            times,
            behind: error instanceof StoreVersionError || times > 1,
          };
        }
      }
    }
    return this.#decideServing(maxStalenessMs, now);
  }

  /** Why the last catch-up failed, one line per failing partition, or null (owner only). */
  catchUpFailure(): string | null {
    const lines = this.partitions.flatMap((p) =>
      this.#catchUpErrors[p] === undefined ? [] : [`partition ${p}: ${this.#catchUpErrors[p].text}`]
    );
    if (this.#metadataCatchUpError !== null) {
      lines.unshift(`metadata partition: ${this.#metadataCatchUpError}`);
    }
    return lines.length ? lines.join("; ") : null;
  }

  /** Each held partition's serving state from its last checkpoint; true when one changed. */
  #decideServing(maxStalenessMs: number | null, now: number): boolean {
    let changed = false;
    for (const partition of this.partitions) {
      const state = checkpointOf(this.#partitionStates[partition]);
      const code = servingCode({
        hasMetadata: this.#metadataPartition !== null,
        state,
        hybrid: this.#hybrid,
        maxStalenessMs,
        now,
        catchUpFailed: this.#catchUpErrors[partition]?.behind ?? false,
      });
      if (this.#serving[partition] !== code) {
        this.#serving[partition] = code;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Rereads every held partition's checkpoint, and whether the version is hybrid: a
   * TopicSwitch in its StoreVersionState, or a leader on a real-time topic. Once hybrid,
   * always hybrid.
   */
  #readPartitionStates(): void {
    const metadata = this.#metadataPartition;
    if (metadata === null) return;
    try {
      this.#hybrid ||= metadata.versionState().topicSwitch != null;
    } catch {
      // Keep what was known: VERSION_METADATA was readable when the version opened.
    }
    for (const partition of this.partitions) {
      const read = metadata.partitionState(partition);
      this.#partitionStates[partition] = read;
      this.#hybrid ||= isRealTimeTopic(checkpointOf(read)?.leaderTopic ?? null);
    }
  }

  /** Whether the version takes real-time writes (owner only). */
  get hybrid(): boolean {
    return this.#hybrid;
  }

  /** Held partitions that reads are answered for now (and discovery announces). */
  servedPartitions(): number[] {
    return this.partitions.filter((p) => this.#serving[p] === Serving.SERVING);
  }

  /** Every held partition's state, checkpoint and staleness (owner only). */
  partitionReports(now = Date.now()): PartitionReport[] {
    return this.partitions.map((partition) => {
      const read = this.#partitionStates[partition];
      const state = checkpointOf(read);
      return {
        partition,
        state: SERVING_NAMES[this.#serving[partition] as ServingCode],
        endOfPush: state?.endOfPush ?? null,
        offset: state === null ? null : String(state.offset),
        freshAsOf: freshAsOf(state),
        stalenessMs: stalenessMs(state, now),
        ...(read && "error" in read ? { error: read.error } : {}),
        ...(this.#catchUpErrors[partition] === undefined
          ? {}
          : { error: this.#catchUpErrors[partition].text }),
      };
    });
  }

  #db(partition: number): RocksDB {
    const db = this.#dbs[partition];
    if (db === undefined) {
      throw new PartitionNotHeldError(this.resource, partition, this.#dropped.has(partition));
    }
    const code = this.#serving[partition];
    if (code !== Serving.SERVING) {
      throw new PartitionNotServedError(
        this.resource,
        partition,
        NOT_SERVED_REASONS[code as ServingCode],
      );
    }
    return db;
  }

  /** One value in stored shape, or null when the key is absent. Hold a lease. */
  get(partition: number, key: Uint8Array): Uint8Array | null {
    const db = this.#db(partition);
    const stored = db.get(this.#settings.chunked ? withSuffix(key, NON_CHUNK_KEY_SUFFIX) : key);
    return stored === null ? null : this.#resolve(db, partition, stored);
  }

  /**
   * Several values: `out[i]` is the value of `keys[i]` in partition `partitions[i]`.
   * Keys are grouped by partition, one batched multi-get each.
   */
  getMany(
    partitions: ArrayLike<number>,
    keys: readonly Uint8Array[],
    out: (Uint8Array | null)[],
  ): void {
    const chunked = this.#settings.chunked;
    for (const [partition, indices] of this.#groupByPartition(partitions, keys.length)) {
      const db = this.#db(partition);
      this.#place(
        db,
        partition,
        indices,
        db.multiGet(this.#lookupKeys(chunked, indices, keys)),
        out,
      );
    }
  }

  /**
   * `getMany` with RocksDB's work on Deno's blocking thread pool, so the event loop
   * serves other calls meanwhile. Hold the lease until the promise settles.
   */
  async getManyAsync(
    partitions: ArrayLike<number>,
    keys: readonly Uint8Array[],
    out: (Uint8Array | null)[],
  ): Promise<void> {
    // Settings read once: a reload during the await must not mix key shapes.
    const chunked = this.#settings.chunked;
    const groups = [...this.#groupByPartition(partitions, keys.length)];
    // Every read settles before this returns, failed or not: the caller's lease (all that
    // keeps an adopted database open) must outlive every read still on the thread pool.
    const settled = await Promise.allSettled(
      groups.map(([partition, indices]) =>
        this.#db(partition).multiGetAsync(this.#lookupKeys(chunked, indices, keys))
      ),
    );
    for (let g = 0; g < groups.length; g++) {
      const result = settled[g];
      if (result.status === "rejected") throw result.reason;
      const [partition, indices] = groups[g];
      this.#place(this.#db(partition), partition, indices, result.value, out);
    }
  }

  /** Key positions by partition; throws PartitionNotHeldError before any read. */
  #groupByPartition(partitions: ArrayLike<number>, count: number): Map<number, number[]> {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const partition = partitions[i];
      this.#db(partition);
      let group = groups.get(partition);
      if (!group) groups.set(partition, group = []);
      group.push(i);
    }
    return groups;
  }

  #lookupKeys(
    chunked: boolean,
    indices: readonly number[],
    keys: readonly Uint8Array[],
  ): Uint8Array[] {
    return chunked
      ? indices.map((i) => withSuffix(keys[i], NON_CHUNK_KEY_SUFFIX))
      : indices.map((i) => keys[i]);
  }

  #place(
    db: RocksDB,
    partition: number,
    indices: readonly number[],
    values: readonly (Uint8Array | null)[],
    out: (Uint8Array | null)[],
  ): void {
    for (let j = 0; j < indices.length; j++) {
      const stored = values[j];
      out[indices[j]] = stored === null ? null : this.#resolve(db, partition, stored);
    }
  }

  /**
   * A stored value as ChunkingUtils reads it, chunked version or not: a positive schema
   * id is the value itself, -20 a manifest whose chunks are assembled, anything else
   * (0, -10, other negatives) a record Venice calls invalid.
   */
  #resolve(db: RocksDB, partition: number, stored: Uint8Array): Uint8Array {
    const schemaId = schemaIdOf(stored);
    if (schemaId > 0) return stored;
    if (schemaId !== CHUNKED_VALUE_MANIFEST_SCHEMA_ID) {
      throw new CorruptValueError(`Found a record with invalid schema ID: ${schemaId}`);
    }
    const where = `store-version: ${this.resource}, partition: ${partition}`;
    const manifest = decodeChunkedValueManifest(payloadOf(stored));
    const chunks = db.multiGet(manifest.keysWithChunkIdSuffix);
    let total = 0;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i];
      if (chunk === null) {
        throw new CorruptValueError(`Chunk not found in ${where}, chunk index: ${i}.`);
      }
      const chunkSchemaId = schemaIdOf(chunk);
      if (chunkSchemaId !== CHUNK_SCHEMA_ID) {
        throw new CorruptValueError(
          "Did not get the chunk schema ID while attempting to retrieve a chunk! " +
            `Instead, got schema ID: ${chunkSchemaId} from ${where}, chunk index: ${i}.`,
        );
      }
      total += chunk.length - SCHEMA_ID_BYTES;
    }
    if (total !== manifest.size) {
      throw new CorruptValueError(
        "The fully assembled large value does not have the expected size! " +
          `actualSize: ${total}, chunkedValueManifest.size: ${manifest.size}, ${where}.`,
      );
    }
    // Assemble straight into the stored shape: one allocation, one copy per chunk.
    const value = new Uint8Array(SCHEMA_ID_BYTES + total);
    new DataView(value.buffer).setInt32(0, manifest.schemaId);
    let offset = SCHEMA_ID_BYTES;
    for (const chunk of chunks) {
      value.set(payloadOf(chunk!), offset);
      offset += chunk!.length - SCHEMA_ID_BYTES;
    }
    return value;
  }
}
