/**
 * Venice's read path, independent of any transport: decode a VeniceClientRequest, ask
 * the gate, read storage, encode a VeniceServerResponse. Like Venice's
 * VeniceReadServiceImpl, both RPCs go through one handler and `isBatchRequest` decides
 * between a single get and a batch get.
 *
 * The hot path reuses one decoded-request view, one batch-key table and one response
 * header; it allocates the key bytes, the value copy from RocksDB and the response.
 */
import {
  ClientRequestView,
  MalformedMessageError,
  type ServerResponseHeader,
} from "../codec/messages.ts";
import {
  encodeServerResponse,
  responseDataOffset,
  writeServerResponse,
} from "../codec/messages.ts";
import { logger } from "../log.ts";
import { CorruptValueError, PartitionNotHeldError } from "../storage/errors.ts";
import type { StoreRegistry } from "../storage/registry.ts";
import type { StoreVersion } from "../storage/store_version.ts";
import { payloadOf, SCHEMA_ID_BYTES, schemaIdOf } from "../storage/value.ts";
import { GrpcStatusError, type Peer } from "../transport/types.ts";
import { decodeKeyString, KeyStringError } from "../venice/key_string.ts";
import {
  AvroDecodeError,
  MULTI_GET_PROTOCOL_VERSION,
  MultiGetRequestKeys,
  multiGetResponseRecordSize,
  NON_EXISTING_KEY_SCHEMA_ID,
  writeMultiGetResponseRecord,
} from "../venice/multiget.ts";
import { VeniceReadResponseStatus } from "../venice/status.ts";
import {
  GateVerdict,
  type GateVerdictCode,
  OPEN_GATE,
  type ReadAttempt,
  type ReadGate,
} from "./gate.ts";
import {
  badRequest,
  internalError,
  KEY_NOT_FOUND_RESPONSE,
  NODE_OVER_CAPACITY_RESPONSE,
  STORE_OVER_QUOTA_RESPONSE,
  storeDisabled,
} from "./responses.ts";

const log = logger("read");

/** Venice's default batch-get key limit (server.max.request.key.count-ish; see README). */
export const DEFAULT_MAX_KEYS_PER_BATCH = 500;

export interface ReadLimits {
  readonly maxKeysPerBatch: number;
}

export interface ReadServiceOptions {
  readonly registry: StoreRegistry;
  readonly limits: ReadLimits;
  readonly gate?: ReadGate;
}

const EMPTY = new Uint8Array(0);

export class ReadService {
  readonly #registry: StoreRegistry;
  #limits: ReadLimits;
  #gate: ReadGate;
  readonly #view = new ClientRequestView();
  readonly #keys = new MultiGetRequestKeys(64);
  readonly #header: ServerResponseHeader = {};
  readonly #attempt: ReadAttempt = {
    version: undefined as unknown as StoreVersion,
    method: "get",
    rcu: 1,
    isRetry: false,
    peer: { address: "", certificate: null },
  };

  constructor(options: ReadServiceOptions) {
    this.#registry = options.registry;
    this.#limits = options.limits;
    this.#gate = options.gate ?? OPEN_GATE;
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
    const view = this.#view;
    try {
      view.decode(body);
    } catch (error) {
      return this.#failure(error);
    }
    const resource = view.resourceName();
    const version = this.#registry.lookup(resource);
    if (version === undefined || !version.acquire()) {
      return badRequest(`Invalid request resource: ${resource}`);
    }
    let released = false;
    try {
      let rcu = 1;
      if (view.isBatchRequest) {
        rcu = this.#keys.parse(view.keyBytes()).count;
        if (rcu > this.#limits.maxKeysPerBatch) {
          return badRequest(
            `Batch get of ${rcu} keys exceeds this server's limit of ${this.#limits.maxKeysPerBatch} keys`,
          );
        }
      }
      const attempt = this.#attempt;
      attempt.version = version;
      attempt.method = view.isBatchRequest ? "batchGet" : "get";
      attempt.rcu = rcu;
      attempt.isRetry = view.isRetryRequest;
      attempt.peer = peer;
      const verdict = this.#gate.admit(attempt);
      attempt.version = undefined as unknown as StoreVersion;
      if (typeof verdict !== "number") {
        // The gate has to wait (an authorization not cached yet). The shared view and
        // key table may be reused meanwhile, so the rest runs on fresh ones.
        released = true;
        return verdict.then(
          (v) => this.#afterAsyncGate(v, body, version),
          (error) => {
            version.release();
            return this.#failure(error);
          },
        );
      }
      return this.#read(verdict, view, this.#keys, version);
    } catch (error) {
      return this.#failure(error);
    } finally {
      if (!released) version.release();
    }
  };

  #afterAsyncGate(verdict: GateVerdictCode, body: Uint8Array, version: StoreVersion): Uint8Array {
    try {
      const view = new ClientRequestView().decode(body);
      const keys = new MultiGetRequestKeys();
      if (view.isBatchRequest) keys.parse(view.keyBytes());
      return this.#read(verdict, view, keys, version);
    } catch (error) {
      return this.#failure(error);
    } finally {
      version.release();
    }
  }

  #read(
    verdict: GateVerdictCode,
    view: ClientRequestView,
    keys: MultiGetRequestKeys,
    version: StoreVersion,
  ): Uint8Array {
    switch (verdict) {
      case GateVerdict.ADMITTED:
        return view.isBatchRequest
          ? this.#batchGet(view, keys, version)
          : this.#singleGet(view, version);
      case GateVerdict.STORE_DISABLED:
        return storeDisabled(version.store);
      case GateVerdict.STORE_OVER_QUOTA:
        return STORE_OVER_QUOTA_RESPONSE;
      case GateVerdict.NODE_OVER_CAPACITY:
        return NODE_OVER_CAPACITY_RESPONSE;
    }
  }

  #singleGet(view: ClientRequestView, version: StoreVersion): Uint8Array {
    const key = decodeKeyString(view.keyString());
    const stored = version.get(view.partition, key);
    if (stored === null) return KEY_NOT_FOUND_RESPONSE;
    const header = this.#header;
    header.schemaId = schemaIdOf(stored);
    header.compressionStrategy = version.settings.compressionStrategy;
    header.responseRCU = 1;
    header.isStreamingResponse = false;
    header.errorCode = VeniceReadResponseStatus.OK;
    header.errorMessage = undefined;
    return encodeServerResponse(header, payloadOf(stored));
  }

  #batchGet(view: ClientRequestView, keys: MultiGetRequestKeys, version: StoreVersion): Uint8Array {
    const count = keys.count;
    const keyList: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) keyList[i] = keys.keyBytes(i);
    const values: (Uint8Array | null)[] = new Array(count);
    version.getMany(keys.partitionId, keyList, values);

    const streaming = view.isStreamingRequest;
    let dataLength = 0;
    for (let i = 0; i < count; i++) {
      const stored = values[i];
      if (stored !== null) {
        dataLength += multiGetResponseRecordSize(
          keys.keyIndex[i],
          stored.length - SCHEMA_ID_BYTES,
          schemaIdOf(stored),
        );
      } else if (streaming) {
        dataLength += multiGetResponseRecordSize(
          -keys.keyIndex[i] | 0,
          0,
          NON_EXISTING_KEY_SCHEMA_ID,
        );
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
          keys.keyIndex[i],
          payloadOf(stored),
          schemaIdOf(stored),
        );
      } else if (streaming) {
        pos = writeMultiGetResponseRecord(
          out,
          pos,
          -keys.keyIndex[i] | 0,
          EMPTY,
          NON_EXISTING_KEY_SCHEMA_ID,
        );
      }
    }
    return out;
  }

  /** Maps a failure to the Venice status it stands for; the server keeps serving. */
  #failure(error: unknown): Uint8Array {
    if (error instanceof GrpcStatusError) throw error;
    if (error instanceof MalformedMessageError) {
      return badRequest(`Malformed VeniceClientRequest: ${error.message}`);
    }
    if (error instanceof AvroDecodeError) {
      return badRequest(`Malformed batch get keys: ${error.message}`);
    }
    if (error instanceof KeyStringError) return badRequest(`Malformed keyString: ${error.message}`);
    if (error instanceof PartitionNotHeldError) return internalError(error.message);
    if (error instanceof CorruptValueError) {
      log.error("Corrupt value: {error}", { error });
      return internalError(error.message);
    }
    log.error("Read failed: {error}", { error });
    return internalError("the read failed on this server");
  }
}
