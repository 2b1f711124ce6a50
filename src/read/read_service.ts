/**
 * Venice's read path, independent of any transport: decode a VeniceClientRequest, ask
 * the gate, read storage, encode a VeniceServerResponse, record metrics. Like Venice's
 * VeniceReadServiceImpl, both RPCs go through one handler and `isBatchRequest` decides
 * between a single get and a batch get.
 *
 * The hot path reuses one decoded-request view, one batch-key table and one response
 * header and decodes a single get's key into one scratch buffer; values and responses
 * are views on shared slabs (src/slab.ts).
 */
import {
  ClientRequestView,
  encodeServerResponse,
  MalformedMessageError,
  responseDataOffset,
  type ServerResponseHeader,
  writeServerResponse,
} from "../codec/messages.ts";
import { logger } from "../log.ts";
import { loopTasks } from "../metrics/loop_tasks.ts";
import type { ReadMetrics, StoreReadMetrics } from "../metrics/mod.ts";
import {
  CorruptValueError,
  NoStoreError,
  PartitionNotServedError,
  VeniceStorageError,
} from "../storage/errors.ts";
import { parseResourceName } from "../storage/layout.ts";
import type { VersionLookup } from "../storage/registry.ts";
import type { StoreVersion } from "../storage/store_version.ts";
import { payloadOf, SCHEMA_ID_BYTES, schemaIdOf } from "../storage/value.ts";
import { GrpcStatusError, type Peer } from "../transport/types.ts";
import { decodeKeyStringBytes, KeyStringError } from "../venice/key_string.ts";
import {
  AvroDecodeError,
  MULTI_GET_PROTOCOL_VERSION,
  MultiGetRequestKeys,
  multiGetResponseRecordSize,
  NON_EXISTING_KEY_SCHEMA_ID,
  writeMultiGetResponseRecord,
} from "../venice/multiget.ts";
import { VeniceReadResponseStatus } from "../venice/status.ts";
import { GateVerdict, OPEN_GATE, type ReadGate } from "./gate.ts";
import {
  badRequest,
  internalError,
  keyNotFound,
  NODE_OVER_CAPACITY_RESPONSE,
  serviceUnavailable,
  STORE_OVER_QUOTA_RESPONSE,
  storeDisabled,
  veniceInternalError,
} from "./responses.ts";

const log = logger("read");

export interface ReadLimits {
  /** Infinity: no limit (a Venice server has none; its client enforces batchGetLimit). */
  readonly maxKeysPerBatch: number;
  /**
   * Batch gets of at least this many keys read RocksDB on Deno's blocking thread pool
   * (`getManyAsync`), so the event loop serves other calls meanwhile; 0: never.
   */
  readonly asyncBatchMinKeys?: number;
}

export interface ReadServiceOptions {
  readonly registry: VersionLookup;
  readonly limits: ReadLimits;
  readonly gate?: ReadGate;
  readonly metrics?: ReadMetrics;
}

const EMPTY = new Uint8Array(0);
/** Single-get keys up to this size decode without allocating. */
const KEY_SCRATCH_BYTES = 4096;

/** A request's decoded state; the hot path reuses one, a request that waits gets its own. */
class RequestState {
  readonly view = new ClientRequestView();
  readonly keys = new MultiGetRequestKeys(64);
}

export class ReadService {
  readonly #registry: VersionLookup;
  #limits: ReadLimits;
  #gate: ReadGate;
  readonly #metrics: ReadMetrics | null;
  readonly #shared = new RequestState();
  readonly #header: ServerResponseHeader = {};
  /** Where a single get's key is decoded (keys are used before the next request). */
  readonly #keyScratch = new Uint8Array(KEY_SCRATCH_BYTES);

  constructor(options: ReadServiceOptions) {
    this.#registry = options.registry;
    this.#limits = options.limits;
    this.#gate = options.gate ?? OPEN_GATE;
    this.#metrics = options.metrics ?? null;
  }

  /** Live changes (a config reload). */
  setLimits(limits: ReadLimits): void {
    this.#limits = limits;
  }

  setGate(gate: ReadGate): void {
    this.#gate = gate;
  }

  /** The handler for both `get` and `batchGet`. */
  readonly handle = (body: Uint8Array, peer: Peer): Uint8Array | Promise<Uint8Array> => {
    const start = performance.now();
    const state = this.#shared;
    const view = state.view;
    try {
      view.decode(body);
    } catch (error) {
      return this.#failure(error, null, false, start);
    }
    const resource = view.resourceName();
    let authorized: undefined | Promise<void>;
    try {
      authorized = this.#gate.authorize(
        resource,
        view.method(),
        view.isBatchRequest ? "batchGet" : "get",
        peer,
      );
    } catch (error) {
      this.#recordDenied(resource);
      throw error;
    }
    if (authorized === undefined) return this.#serve(state, resource, body, start);
    // The answer is not at hand: the shared state may be reused meanwhile, so the rest
    // runs on a fresh decode of the same bytes.
    return authorized.then(
      () => {
        const own = new RequestState();
        own.view.decode(body);
        return this.#serve(own, resource, body, start);
      },
      (error) => {
        this.#recordDenied(resource);
        throw error;
      },
    );
  };

  #serve(
    state: RequestState,
    resource: string,
    body: Uint8Array,
    start: number,
  ): Uint8Array | Promise<Uint8Array> {
    const view = state.view;
    const isBatch = view.isBatchRequest;
    const version = this.#registry.lookup(resource);
    if (version === undefined || !version.acquire()) {
      return veniceInternalError(new NoStoreError(resource));
    }
    const metrics = this.#metrics?.forStore(version.store) ?? null;
    let leaseMovedToPromise = false;
    try {
      let rcu = 1;
      if (isBatch) {
        rcu = state.keys.parse(view.keyBytes()).count;
        if (rcu > this.#limits.maxKeysPerBatch) {
          metrics?.recordError(true, (performance.now() - start) / 1000);
          return badRequest(
            `Batch get of ${rcu} keys exceeds this server's limit of ${this.#limits.maxKeysPerBatch} keys`,
          );
        }
      }
      // Every gRPC read pays the quota: Venice's gRPC path hard-codes isRetryRequest
      // false (GetRouterRequest, MultiGetRouterRequestWrapper), whatever the client sent.
      switch (this.#gate.admit(version, rcu, false)) {
        case GateVerdict.ADMITTED:
          break;
        case GateVerdict.STORE_DISABLED:
          return storeDisabled(version.store);
        case GateVerdict.STORE_OVER_QUOTA:
          metrics?.recordQuotaRejected(rcu);
          return STORE_OVER_QUOTA_RESPONSE;
        case GateVerdict.NODE_OVER_CAPACITY:
          metrics?.recordOverCapacity();
          return NODE_OVER_CAPACITY_RESPONSE;
      }
      if (!isBatch) return this.#singleGet(view, version, metrics, body.length, start);
      const response = this.#batchGet(view, state.keys, version, metrics, body.length, start);
      if (response instanceof Uint8Array) return response;
      // The read continues on the thread pool: the lease goes with it.
      leaseMovedToPromise = true;
      return response.then(
        (bytes) => bytes,
        (error) => this.#failure(error, metrics, true, start),
      ).finally(() => version.release());
    } catch (error) {
      return this.#failure(error, metrics, isBatch, start);
    } finally {
      if (!leaseMovedToPromise) version.release();
    }
  }

  #singleGet(
    view: ClientRequestView,
    version: StoreVersion,
    metrics: StoreReadMetrics | null,
    requestBytes: number,
    start: number,
  ): Uint8Array {
    const key = decodeKeyStringBytes(
      view.buf,
      view.keyStringStart,
      view.keyStringEnd,
      this.#keyScratch,
    );
    const queryStart = performance.now();
    const stored = version.get(view.partition, key);
    const end = performance.now();
    loopTasks.note("ffi:get", end - queryStart);
    let response: Uint8Array;
    if (stored === null) {
      response = keyNotFound(version.settings.compressionStrategy);
    } else {
      const header = this.#header;
      header.schemaId = schemaIdOf(stored);
      header.compressionStrategy = version.settings.compressionStrategy;
      header.responseRCU = 1;
      header.isStreamingResponse = false;
      header.errorCode = VeniceReadResponseStatus.OK;
      header.errorMessage = undefined;
      response = encodeServerResponse(header, stored, SCHEMA_ID_BYTES);
    }
    if (metrics !== null) {
      metrics.recordStorageQuery(false, (end - queryStart) / 1000);
      metrics.recordGet(
        (performance.now() - start) / 1000,
        requestBytes,
        key.length,
        stored === null ? 0 : stored.length - SCHEMA_ID_BYTES,
        response.length,
        stored !== null,
      );
    }
    return response;
  }

  #batchGet(
    view: ClientRequestView,
    keys: MultiGetRequestKeys,
    version: StoreVersion,
    metrics: StoreReadMetrics | null,
    requestBytes: number,
    start: number,
  ): Uint8Array | Promise<Uint8Array> {
    const count = keys.count;
    const keyList: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) keyList[i] = keys.keyBytes(i);
    const values: (Uint8Array | null)[] = new Array(count);
    const streaming = view.isStreamingRequest;
    const asyncFrom = this.#limits.asyncBatchMinKeys ?? 0;
    const queryStart = performance.now();
    if (asyncFrom > 0 && count >= asyncFrom) {
      // The shared key table may be reused while RocksDB works: keep copies.
      const keyIndex = keys.keyIndex.slice(0, count);
      return version.getManyAsync(keys.partitionId.slice(0, count), keyList, values).then(() =>
        this.#batchResponse(
          version,
          streaming,
          keyIndex,
          keyList,
          values,
          metrics,
          requestBytes,
          start,
          queryStart,
          performance.now(),
        )
      );
    }
    version.getMany(keys.partitionId, keyList, values);
    const queryEnd = performance.now();
    loopTasks.note("ffi:batch-get", queryEnd - queryStart);
    return this.#batchResponse(
      version,
      streaming,
      keys.keyIndex,
      keyList,
      values,
      metrics,
      requestBytes,
      start,
      queryStart,
      queryEnd,
    );
  }

  #batchResponse(
    version: StoreVersion,
    streaming: boolean,
    keyIndex: Int32Array,
    keyList: readonly Uint8Array[],
    values: readonly (Uint8Array | null)[],
    metrics: StoreReadMetrics | null,
    requestBytes: number,
    start: number,
    queryStart: number,
    queryEnd: number,
  ): Uint8Array {
    const count = keyList.length;
    let dataLength = 0;
    let notFound = 0;
    for (let i = 0; i < count; i++) {
      const stored = values[i];
      if (stored !== null) {
        dataLength += multiGetResponseRecordSize(
          keyIndex[i],
          stored.length - SCHEMA_ID_BYTES,
          schemaIdOf(stored),
        );
      } else {
        notFound++;
        if (streaming) {
          dataLength += multiGetResponseRecordSize(-keyIndex[i] | 0, 0, NON_EXISTING_KEY_SCHEMA_ID);
        }
      }
    }
    const header = this.#header;
    header.schemaId = MULTI_GET_PROTOCOL_VERSION;
    header.compressionStrategy = version.settings.compressionStrategy;
    header.responseRCU = count;
    header.isStreamingResponse = streaming;
    header.errorCode = VeniceReadResponseStatus.OK;
    header.errorMessage = undefined;
    const out = writeServerResponse(header, dataLength);
    let pos = responseDataOffset(header, dataLength);
    for (let i = 0; i < count; i++) {
      const stored = values[i];
      if (stored !== null) {
        pos = writeMultiGetResponseRecord(
          out,
          pos,
          keyIndex[i],
          payloadOf(stored),
          schemaIdOf(stored),
        );
        metrics?.recordBatchValueSize(stored.length - SCHEMA_ID_BYTES);
      } else if (streaming) {
        pos = writeMultiGetResponseRecord(
          out,
          pos,
          -keyIndex[i] | 0,
          EMPTY,
          NON_EXISTING_KEY_SCHEMA_ID,
        );
      }
      metrics?.recordBatchKeySize(keyList[i].length);
    }
    if (metrics !== null) {
      metrics.recordStorageQuery(true, (queryEnd - queryStart) / 1000);
      metrics.recordBatchGet(
        (performance.now() - start) / 1000,
        requestBytes,
        count,
        notFound,
        out.length,
      );
    }
    return out;
  }

  #recordDenied(resource: string): void {
    if (this.#metrics === null) return;
    const name = parseResourceName(resource);
    if (name !== null && this.#registry.lookup(resource) !== undefined) {
      this.#metrics.forStore(name.store).recordAuthDenied();
    }
  }

  /** Maps a failure to the Venice status it stands for; the server keeps serving. */
  #failure(
    error: unknown,
    metrics: StoreReadMetrics | null,
    isBatch: boolean,
    start: number,
  ): Uint8Array {
    if (error instanceof GrpcStatusError) throw error;
    metrics?.recordError(isBatch, (performance.now() - start) / 1000);
    if (error instanceof MalformedMessageError) {
      return badRequest(`Malformed VeniceClientRequest: ${error.message}`);
    }
    if (error instanceof AvroDecodeError) {
      return badRequest(`Malformed batch get keys: ${error.message}`);
    }
    if (error instanceof KeyStringError) return badRequest(`Malformed keyString: ${error.message}`);
    if (error instanceof CorruptValueError) log.error("Corrupt value: {error}", { error });
    if (error instanceof VeniceStorageError) return veniceInternalError(error);
    if (error instanceof PartitionNotServedError) return serviceUnavailable(error.message);
    log.error("Read failed: {error}", { error });
    return internalError("the read failed on this server");
  }
}
