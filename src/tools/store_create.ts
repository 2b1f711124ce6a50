/**
 * `createStoreVersion`: builds one store version from a JSONL file, in the exact layout a
 * Venice server writes after a batch push (see ../storage/layout.ts and
 * ../venice/version_metadata.ts):
 *
 * - `<dataDir>/rocksdb/<store>_v<N>/<store>_v<N>_<p>` for every partition p in 0..P-1
 *   (empty ones too): key = Avro key bytes (plus the `02 00` ChunkedKeySuffix in chunked
 *   versions), value = 4-byte big-endian schema id + payload compressed with the version's
 *   strategy; in chunked versions, values over the message limit are split into chunks and
 *   a manifest as VeniceWriter splits them (../venice/chunking.ts).
 * - `<store>_v<N>_1000000000`: `VERSION_METADATA` -> StoreVersionState (chunked,
 *   compressionStrategy, compressionDictionary, push timestamps), plus the `rocksdbConfig`
 *   file a Venice server persists there (RocksDBStorageEngine.persistStoreEngineConfig).
 * - `<dataDir>/schemas/<store>_v<N>.json`: the descriptor for clients (./version_descriptor.ts).
 * - `<dataDir>/stores/<store>/`: the store's descriptor for a standalone tier, written or
 *   extended (../tier/store_descriptor.ts); checked before anything is built.
 *
 * All of it is built in `<dataDir>/rocksdb/.<resource>.partial-<random>` and renamed into
 * place only when complete; any failure removes the temp dir, so a reader never sees a
 * half-written version. Each partition's PartitionState (`P_<p>`) says its push has
 * ended, as a Venice server's does once it has ingested the whole push.
 */
import { Buffer } from "node:buffer";
import { RocksDB, WriteBatch } from "../../ffi/mod.ts";
import {
  chunkedStoreEntries,
  DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES,
  keyWithNonChunkSuffix,
  type StoredEntry,
  withSchemaHeader,
} from "../venice/chunking.ts";
import { CompressionStrategy, type Compressor, createCompressor } from "../venice/compression.ts";
import { defaultVenicePartition } from "../venice/partitioner.ts";
import {
  encodeStoreVersionState,
  METADATA_PARTITION_ID,
  partitionMetadataKey,
  VERSION_METADATA_KEY,
} from "../venice/version_metadata.ts";
import { encodePartitionState } from "../venice/partition_state.ts";
import { parseResourceName, resourceNameOf, versionDir } from "../storage/layout.ts";
import { PLAIN_TABLE_FORMAT_ENABLED, ROCKSDB_CONFIG_FILE } from "../storage/metadata_partition.ts";
import { type AvroType, encodeJson, parseJsonExact, parseSchema } from "./avro_json.ts";
import {
  COMPRESSION_NAMES,
  type CompressionName,
  descriptorPath,
  formatVersionDescriptor,
  schemasDir,
} from "./version_descriptor.ts";
import { prepareStoreDescriptor, StoreDescriptorError } from "../tier/store_descriptor.ts";
import { DictionarySampler, trainDictionary } from "./dictionary.ts";
import { DuplicateKeyError, InputLineError, messageOf, StoreToolError } from "./errors.ts";
import { type InputLine, readLines } from "./jsonl.ts";
import { pathExists } from "../path_exists.ts";

/** Entries buffered per partition before a batch write. */
const BATCH_ENTRIES = 4096;
/** Bytes buffered per partition before a batch write (large values fill it first). */
const BATCH_BYTES = 8 * 1024 * 1024;
/** How often (in lines) `onProgress` is called, besides once at the end. */
const PROGRESS_EVERY_LINES = 1024;
/**
 * The data block size a Venice server writes with: `rocksdb.sst.file.block.size.in.bytes`,
 * default 16 KiB (RocksDBServerConfig; RocksDBStoragePartition sets it on its
 * BlockBasedTableConfig). RocksDB's own default is 4 KiB.
 */
const VENICE_BLOCK_SIZE_BYTES = 16 * 1024;
/**
 * The `rocksdbConfig` file in the metadata partition's directory: the table format the
 * version was built with. We build block-based tables; a Venice server reads a missing
 * key as `true` (plain table), so the key is written.
 */
const ROCKSDB_CONFIG = `${PLAIN_TABLE_FORMAT_ENABLED}=false\n`;

export interface CreateStoreVersionOptions {
  /** Venice's `data.base.path`: versions go under `<dataDir>/rocksdb`. */
  readonly dataDir: string;
  readonly store: string;
  /** >= 1 */
  readonly version: number;
  /** Partition count, >= 1. */
  readonly partitions: number;
  /** Avro schema JSON text. */
  readonly keySchema: string;
  /** Avro schema JSON text. */
  readonly valueSchema: string;
  /** The writer schema id stored with every value. Default 1. */
  readonly valueSchemaId?: number;
  /** JSONL path: one `{"key": ..., "value": ...}` a line, in Avro's JSON mapping. */
  readonly input: string;
  /** Default `"NO_OP"`. Plain `"ZSTD"` only with `allowPlainZstd`. */
  readonly compression?: CompressionName;
  /**
   * Allows plain ZSTD (strategy 2), which Venice's clients cannot read: their
   * CompressorFactory refuses it (only NO_OP, GZIP and ZSTD_WITH_DICT decompress).
   */
  readonly allowPlainZstd?: boolean;
  /** Chunking-enabled version (key suffixes, large values split). Default false. */
  readonly chunked?: boolean;
  /**
   * VeniceWriter's max.size.for.user.payload.per.message.in.bytes (default 950 KiB): a
   * record whose key + compressed value exceed it is chunked, or refused when not chunked.
   */
  readonly maxChunkBytes?: number;
  /** Called every so many lines and once at the end. */
  readonly onProgress?: (linesDone: number, bytesDone: number, totalBytes: number) => void;
  /** The producer GUID written in chunk keys (16 bytes). Default: random, as a writer's. */
  readonly producerGUID?: Uint8Array;
}

export interface CreatedStoreVersion {
  readonly resource: string;
  /** `<dataDir>/rocksdb/<resource>` */
  readonly versionDir: string;
  readonly descriptorPath: string;
  /** Records (input lines with a record) written. */
  readonly records: number;
  /** Records per partition, indexed by partition. */
  readonly recordsPerPartition: readonly number[];
  /** Records stored as chunks plus a manifest. */
  readonly chunkedRecords: number;
  /** Size of the ZSTD_WITH_DICT dictionary, or null. */
  readonly dictionaryBytes: number | null;
}

interface Settings {
  readonly resource: string;
  readonly partitions: number;
  readonly valueSchemaId: number;
  readonly compression: CompressionName;
  readonly chunked: boolean;
  readonly maxChunkBytes: number;
  readonly keyType: AvroType;
  readonly valueType: AvroType;
}

function checkOptions(options: CreateStoreVersionOptions): Settings {
  const { store, version, partitions } = options;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new StoreToolError(`Version must be a whole number >= 1, got ${version}`);
  }
  const resource = resourceNameOf(store, version);
  if (typeof store !== "string" || parseResourceName(resource) === null) {
    throw new StoreToolError(
      `Store name "${store}" is not valid: use letters, digits, "_" and "-"`,
    );
  }
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions >= METADATA_PARTITION_ID) {
    throw new StoreToolError(`Partition count must be a whole number >= 1, got ${partitions}`);
  }
  const valueSchemaId = options.valueSchemaId ?? 1;
  if (!Number.isInteger(valueSchemaId) || valueSchemaId < 1 || valueSchemaId > 0x7fffffff) {
    throw new StoreToolError(`Value schema id must be a whole number >= 1, got ${valueSchemaId}`);
  }
  const compression = options.compression ?? "NO_OP";
  if (!COMPRESSION_NAMES.includes(compression)) {
    throw new StoreToolError(
      `Unknown compression "${compression}": use one of ${COMPRESSION_NAMES.join(", ")}`,
    );
  }
  if (compression === "ZSTD" && !options.allowPlainZstd) {
    throw new StoreToolError(
      "Plain ZSTD (strategy 2) makes a store Venice's clients cannot read: their CompressorFactory " +
        "decompresses only NO_OP, GZIP and ZSTD_WITH_DICT. Use ZSTD_WITH_DICT, or allow it " +
        "explicitly (--allow-plain-zstd) for a reader that is not a Venice client",
    );
  }
  const maxChunkBytes = options.maxChunkBytes ??
    DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES;
  if (!Number.isSafeInteger(maxChunkBytes) || maxChunkBytes < 2) {
    throw new StoreToolError(`Max chunk bytes must be a whole number >= 2, got ${maxChunkBytes}`);
  }
  if (options.producerGUID !== undefined && options.producerGUID.length !== 16) {
    throw new StoreToolError(`Producer GUID must be 16 bytes, got ${options.producerGUID.length}`);
  }
  return {
    resource,
    partitions,
    valueSchemaId,
    compression,
    chunked: options.chunked ?? false,
    maxChunkBytes,
    keyType: parseSchema(options.keySchema, "Key schema"),
    valueType: parseSchema(options.valueSchema, "Value schema"),
  };
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One input record, Avro-encoded. */
interface EncodedRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Parses and encodes one line; null for a blank line. Errors name the line. */
function encodeLine(line: InputLine, settings: Settings): EncodedRecord | null {
  if (line.text.trim() === "") return null;
  let json: unknown;
  try {
    json = parseJsonExact(line.text);
  } catch (error) {
    throw new InputLineError(line.number, `not valid JSON: ${messageOf(error)}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputLineError(line.number, `expected an object {"key": ..., "value": ...}`);
  }
  const record = json as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (field !== "key" && field !== "value") {
      throw new InputLineError(line.number, `unexpected field "${field}" (only "key" and "value")`);
    }
  }
  if (!("key" in record)) throw new InputLineError(line.number, `missing "key"`);
  if (!("value" in record)) throw new InputLineError(line.number, `missing "value"`);
  let key: Uint8Array;
  try {
    key = encodeJson(settings.keyType, record.key);
  } catch (error) {
    throw new InputLineError(
      line.number,
      `key does not match the key schema: ${messageOf(error)}`,
    );
  }
  let value: Uint8Array;
  try {
    value = encodeJson(settings.valueType, record.value);
  } catch (error) {
    throw new InputLineError(
      line.number,
      `value does not match the value schema: ${messageOf(error)}`,
    );
  }
  return { key, value };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The first line before `beforeLine` whose key encodes to `key` (error path only). */
async function firstLineWithKey(
  input: string,
  settings: Settings,
  key: Uint8Array,
  beforeLine: number,
): Promise<number> {
  for await (const line of readLines(input)) {
    if (line.number >= beforeLine) break;
    const record = encodeLine(line, settings);
    if (record !== null && sameBytes(record.key, key)) return line.number;
  }
  return beforeLine; // not reached: the key was written from an earlier line
}

/** First pass for ZSTD_WITH_DICT: validate lines and sample values until the budget is full. */
async function sampleDictionary(input: string, settings: Settings): Promise<Uint8Array> {
  const sampler = new DictionarySampler();
  for await (const line of readLines(input)) {
    const record = encodeLine(line, settings);
    if (record !== null && !sampler.add(record.value)) break;
  }
  return trainDictionary(sampler.samples);
}

/** One partition being written: its database, pending batch and duplicate check. */
class PartitionWriter {
  readonly db: RocksDB;
  readonly #batch = new WriteBatch();
  /** Pending top-level keys (latin1) -> line, for duplicates not yet in the database. */
  readonly #pending = new Map<string, number>();
  #pendingBytes = 0;
  records = 0;
  /** Kafka message sequence number of the next message (0 is the segment's start). */
  nextSequence = 1;

  constructor(path: string) {
    this.db = RocksDB.open(path, {
      mode: "read-write",
      createIfMissing: true,
      blockSizeBytes: VENICE_BLOCK_SIZE_BYTES,
    });
  }

  /**
   * The line that already holds `topLevelKey`: a pending line number, 0 when only the
   * database has it, or -1 when it is new.
   */
  duplicateOf(topLevelKey: Uint8Array): number {
    const pending = this.#pending.get(latin1(topLevelKey));
    if (pending !== undefined) return pending;
    return this.db.get(topLevelKey) === null ? -1 : 0;
  }

  add(topLevelKey: Uint8Array, line: number, entries: readonly StoredEntry[]): void {
    this.#pending.set(latin1(topLevelKey), line);
    for (const entry of entries) {
      this.#batch.put(entry.key, entry.value);
      this.#pendingBytes += entry.key.length + entry.value.length;
    }
    this.records++;
    if (this.#batch.count >= BATCH_ENTRIES || this.#pendingBytes >= BATCH_BYTES) this.flushBatch();
  }

  flushBatch(): void {
    if (this.#batch.count === 0) return;
    this.db.write(this.#batch, { disableWAL: true });
    this.#batch.clear();
    this.#pending.clear();
    this.#pendingBytes = 0;
  }

  /** Writes what is pending, flushes memtables (the WAL was off) and compacts. */
  finish(): void {
    this.flushBatch();
    this.db.flush();
    this.db.compactRange();
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

/** Builds the store version; see the module doc. Throws StoreToolError on bad input. */
export async function createStoreVersion(
  options: CreateStoreVersionOptions,
): Promise<CreatedStoreVersion> {
  const settings = checkOptions(options);
  const { resource } = settings;
  const { dataDir, input } = options;
  const target = versionDir(dataDir, resource);
  if (await pathExists(target)) {
    throw new StoreToolError(`Store version "${resource}" already exists at "${target}"`);
  }
  let totalBytes: number;
  try {
    const info = await Deno.stat(input);
    if (!info.isFile) throw new Error("not a file");
    totalBytes = info.size;
    (await Deno.open(input, { read: true })).close();
  } catch (error) {
    throw new StoreToolError(`Cannot read input "${input}": ${messageOf(error)}`);
  }

  const writeStore = await prepareStoreDescriptor(dataDir, {
    store: options.store,
    version: options.version,
    partitionCount: settings.partitions,
    keySchema: options.keySchema,
    valueSchemaId: settings.valueSchemaId,
    valueSchema: options.valueSchema,
  }).catch((error) => {
    throw error instanceof StoreDescriptorError ? new StoreToolError(error.message) : error;
  });

  const startOfPush = Date.now();
  const dictionary = settings.compression === "ZSTD_WITH_DICT"
    ? await sampleDictionary(input, settings)
    : null;
  const compressor = createCompressor(CompressionStrategy[settings.compression], { dictionary });

  const root = `${dataDir}/rocksdb`;
  await Deno.mkdir(root, { recursive: true });
  const temp = `${root}/.${resource}.partial-${randomSuffix()}`;
  await Deno.mkdir(temp);
  const tempDescriptor = `${schemasDir(dataDir)}/.${resource}.json.partial-${randomSuffix()}`;
  const writers: PartitionWriter[] = [];
  let renamed = false;
  try {
    for (let p = 0; p < settings.partitions; p++) {
      writers.push(new PartitionWriter(`${temp}/${resource}_${p}`));
    }
    const stats = await writeRecords(options, settings, compressor, writers, totalBytes);
    for (const writer of writers) {
      writer.finish();
      writer.db.close();
    }
    const endOfPush = Date.now();
    writeMetadataPartition(`${temp}/${resource}_${METADATA_PARTITION_ID}`, settings.partitions, {
      chunked: settings.chunked,
      compressionStrategy: CompressionStrategy[settings.compression],
      compressionDictionary: dictionary,
      startOfPushTimestamp: startOfPush,
      endOfPushTimestamp: endOfPush,
    });
    await Deno.writeTextFile(
      `${temp}/${resource}_${METADATA_PARTITION_ID}/${ROCKSDB_CONFIG_FILE}`,
      ROCKSDB_CONFIG,
    );

    await Deno.mkdir(schemasDir(dataDir), { recursive: true });
    await Deno.writeTextFile(
      tempDescriptor,
      formatVersionDescriptor({
        store: options.store,
        version: options.version,
        partitionCount: settings.partitions,
        keySchema: JSON.parse(options.keySchema),
        valueSchemas: { [String(settings.valueSchemaId)]: JSON.parse(options.valueSchema) },
        compressionStrategy: settings.compression,
        chunked: settings.chunked,
      }),
    );
    if (await pathExists(target)) {
      throw new StoreToolError(`Store version "${resource}" already exists at "${target}"`);
    }
    await Deno.rename(temp, target);
    renamed = true;
    await Deno.rename(tempDescriptor, descriptorPath(dataDir, resource));
    await writeStore();
    return {
      resource,
      versionDir: target,
      descriptorPath: descriptorPath(dataDir, resource),
      records: stats.records,
      recordsPerPartition: writers.map((w) => w.records),
      chunkedRecords: stats.chunkedRecords,
      dictionaryBytes: dictionary?.length ?? null,
    };
  } catch (error) {
    for (const writer of writers) writer.db.close();
    await removeQuietly(renamed ? target : temp);
    await removeQuietly(tempDescriptor);
    throw error;
  } finally {
    compressor.close();
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function writeRecords(
  options: CreateStoreVersionOptions,
  settings: Settings,
  compressor: Compressor,
  writers: PartitionWriter[],
  totalBytes: number,
): Promise<{ records: number; chunkedRecords: number }> {
  const guid = options.producerGUID ?? crypto.getRandomValues(new Uint8Array(16));
  const { onProgress } = options;
  let records = 0;
  let chunkedRecords = 0;
  let lines = 0;
  let bytesDone = 0;
  for await (const line of readLines(options.input)) {
    lines = line.number;
    bytesDone = line.bytesDone;
    if (onProgress && lines % PROGRESS_EVERY_LINES === 0) onProgress(lines, bytesDone, totalBytes);
    const record = encodeLine(line, settings);
    if (record === null) continue;
    const partition = defaultVenicePartition(record.key, settings.partitions);
    const writer = writers[partition];
    const topLevelKey = settings.chunked ? keyWithNonChunkSuffix(record.key) : record.key;
    const duplicate = writer.duplicateOf(topLevelKey);
    if (duplicate !== -1) {
      const first = duplicate > 0
        ? duplicate
        : await firstLineWithKey(options.input, settings, record.key, line.number);
      throw new DuplicateKeyError(first, line.number);
    }
    const payload = compressor.compress(record.value);
    const size = record.key.length + payload.length;
    let entries: StoredEntry[];
    if (settings.chunked) {
      try {
        const chunked = chunkedStoreEntries(record.key, payload, settings.valueSchemaId, {
          maxSizeForUserPayloadPerMessageInBytes: settings.maxChunkBytes,
          producerGUID: guid,
          segmentNumber: 0,
          messageSequenceNumber: writer.nextSequence,
        });
        entries = chunked.entries;
        if (chunked.manifest !== null) chunkedRecords++;
      } catch (error) {
        throw new InputLineError(line.number, messageOf(error), { cause: error });
      }
    } else {
      if (size > settings.maxChunkBytes) {
        // VeniceWriter refuses such a record when chunking is off (RecordTooLargeException).
        throw new InputLineError(
          line.number,
          `record is ${size} bytes (key + compressed value), over the ${settings.maxChunkBytes}-byte message limit; only a chunked version can hold it`,
        );
      }
      entries = [{ key: topLevelKey, value: withSchemaHeader(settings.valueSchemaId, payload) }];
    }
    writer.nextSequence += entries.length;
    writer.add(topLevelKey, line.number, entries);
    records++;
  }
  onProgress?.(lines, bytesDone, totalBytes);
  return { records, chunkedRecords };
}

function writeMetadataPartition(
  path: string,
  partitions: number,
  state: Parameters<typeof encodeStoreVersionState>[0] & { endOfPushTimestamp: number },
): void {
  const db = RocksDB.open(path, {
    mode: "read-write",
    createIfMissing: true,
    blockSizeBytes: VENICE_BLOCK_SIZE_BYTES,
  });
  try {
    const batch = new WriteBatch().put(VERSION_METADATA_KEY, encodeStoreVersionState(state));
    for (let p = 0; p < partitions; p++) {
      batch.put(
        partitionMetadataKey(p),
        encodePartitionState({
          offset: 0n,
          endOfPush: true,
          lastUpdate: state.endOfPushTimestamp,
          lastCheckpointTimestamp: state.endOfPushTimestamp,
        }),
      );
    }
    db.write(batch);
    db.flush();
  } finally {
    db.close();
  }
}
