/**
 * A store-level client, the way the Fast Client reads: keys in Avro's JSON mapping are
 * Avro-encoded with the key schema, partitioned with Venice's partitioner, sent through
 * `ReadClient`, and values are decompressed and decoded with the writer schema the
 * server names. Missing keys read as null, as in the Fast Client.
 */
import { type AvroType, decodeToJson, encodeJson, schemaType } from "../tools/avro_json.ts";
import type { VersionDescriptor } from "../tools/version_descriptor.ts";
import { resourceNameOf } from "../storage/layout.ts";
import { CompressionStrategy, type Compressor, createCompressor } from "../venice/compression.ts";
import { decodeMultiGetResponseRecords, NON_EXISTING_KEY_SCHEMA_ID } from "../venice/multiget.ts";
import { defaultVenicePartition } from "../venice/partitioner.ts";
import { VeniceReadResponseStatus } from "../venice/status.ts";
import type { VeniceServerResponse } from "../codec/messages.ts";
import type { ReadClient } from "./read_client.ts";

/** A response the client can not read as a value: a Venice error status. */
export class ReadError extends Error {
  readonly errorCode: number;
  constructor(response: VeniceServerResponse) {
    super(
      `Read failed with status ${response.errorCode}: ${response.errorMessage || "(no message)"}`,
    );
    this.name = "ReadError";
    this.errorCode = response.errorCode;
  }
}

export class StoreClient {
  readonly resource: string;
  readonly #read: ReadClient;
  readonly #descriptor: VersionDescriptor;
  readonly #keyType: AvroType;
  readonly #valueTypes = new Map<number, AvroType>();
  readonly #dictionary: Uint8Array | null;
  readonly #compressors = new Map<number, Compressor>();

  constructor(
    read: ReadClient,
    descriptor: VersionDescriptor,
    dictionary: Uint8Array | null = null,
  ) {
    this.#read = read;
    this.#descriptor = descriptor;
    this.resource = resourceNameOf(descriptor.store, descriptor.version);
    this.#keyType = schemaType(descriptor.keySchema, "Key schema");
    for (const [id, schema] of Object.entries(descriptor.valueSchemas)) {
      this.#valueTypes.set(Number(id), schemaType(schema, `Value schema ${id}`));
    }
    this.#dictionary = dictionary;
  }

  /** Avro key bytes and partition of a key in Avro's JSON mapping. */
  locate(key: unknown): { keyBytes: Uint8Array; partition: number } {
    const keyBytes = encodeJson(this.#keyType, key);
    return {
      keyBytes,
      partition: defaultVenicePartition(keyBytes, this.#descriptor.partitionCount),
    };
  }

  async get(key: unknown): Promise<unknown | null> {
    const { keyBytes, partition } = this.locate(key);
    const response = await this.#read.get(this.resource, partition, keyBytes);
    if (response.errorCode === VeniceReadResponseStatus.KEY_NOT_FOUND) return null;
    if (response.errorCode !== VeniceReadResponseStatus.OK) throw new ReadError(response);
    return this.#decode(response.compressionStrategy, response.schemaId, response.data);
  }

  /** Values in the order of `keys`; null for a missing key. */
  async batchGet(
    keys: readonly unknown[],
    options: { streaming?: boolean } = {},
  ): Promise<(unknown | null)[]> {
    const located = keys.map((key) => this.locate(key));
    const response = await this.#read.batchGet(this.resource, located, options);
    if (response.errorCode !== VeniceReadResponseStatus.OK) throw new ReadError(response);
    const values: (unknown | null)[] = keys.map(() => null);
    for (const record of decodeMultiGetResponseRecords(response.data)) {
      if (record.schemaId === NON_EXISTING_KEY_SCHEMA_ID) continue;
      values[record.keyIndex] = this.#decode(
        response.compressionStrategy,
        record.schemaId,
        record.value,
      );
    }
    return values;
  }

  #decode(strategy: number, schemaId: number, data: Uint8Array): unknown {
    const type = this.#valueTypes.get(schemaId);
    if (!type) throw new RangeError(`No value schema ${schemaId} for ${this.resource}`);
    return decodeToJson(type, this.#compressor(strategy).decompress(data));
  }

  #compressor(strategy: number): Compressor {
    let compressor = this.#compressors.get(strategy);
    if (!compressor) {
      compressor = createCompressor(strategy, {
        dictionary: strategy === CompressionStrategy.ZSTD_WITH_DICT ? this.#dictionary : null,
      });
      this.#compressors.set(strategy, compressor);
    }
    return compressor;
  }

  close(): void {
    for (const compressor of this.#compressors.values()) compressor.close();
    this.#compressors.clear();
  }
}
