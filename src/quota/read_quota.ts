/**
 * Venice's server read quota (`ReadQuotaEnforcementHandler.enforceQuota`) for Rialto:
 *
 * 1. A request costs read capacity units: 1 for a single get, the key count for a
 *    batch get (`ReadQuotaEnforcementHandler.getRcu`).
 * 2. Each store-version has its own bucket built from the store's quota; a request that
 *    is not a retry must find tokens there, else STORE_OVER_QUOTA (429, empty message).
 *    Retries skip this check.
 * 3. Every request that passed, retries included, then draws from one node-wide bucket
 *    built from `nodeCapacityRcuPerSecond`, else NODE_OVER_CAPACITY (503 "Server over
 *    capacity"). Tokens a store bucket gave are not handed back when the node refuses.
 *
 * Rialto serves every partition it has, so its share of a store's quota (Venice's node
 * responsibility) is 1. A store with no quota (`readQuotaRcuPerSecond: null`) skips
 * step 2 but still counts against the node, like a Venice store-version that has no
 * bucket yet.
 *
 * The buckets live in a `SharedArrayBuffer` (see `token_bucket.ts`); handles are small
 * objects holding a bucket id, so the per-request call allocates nothing.
 */
import { bucketShapeFromRate, TokenBucketSlab } from "./token_bucket.ts";

/** The `quota` section of the config. */
export interface QuotaSettings {
  readonly enabled: boolean;
  readonly nodeCapacityRcuPerSecond: number;
  readonly enforcementIntervalMs: number;
  readonly bucketMultiplier: number;
}

/** The part of a `stores.<name>` config entry the quota reads. */
export interface StoreQuotaSettings {
  readonly readQuotaRcuPerSecond?: number | null;
}

/** The result of `ReadQuota.tryAcquire`. */
export const QuotaVerdict = {
  ALLOWED: 0,
  /** The store-version's quota is used up: answer errorCode 429 with an empty message. */
  STORE_OVER_QUOTA: 1,
  /** The node's capacity is used up: answer errorCode 503 "Server over capacity". */
  NODE_OVER_CAPACITY: 2,
} as const;
export type QuotaVerdict = typeof QuotaVerdict[keyof typeof QuotaVerdict];

/** Venice's message for NODE_OVER_CAPACITY (`ReadQuotaEnforcementHandler.SERVER_OVER_CAPACITY_MSG`). */
export const SERVER_OVER_CAPACITY_MESSAGE = "Server over capacity";

/** A store-version's place in the quota; get it once per resource and keep it. */
export interface QuotaHandle {
  readonly resource: string;
  readonly storeName: string;
  /** Bucket id in the shared slab. */
  readonly bucket: number;
}

/** Bucket 0 is the node's; store-versions get 1.. */
const NODE_BUCKET = 0;

export interface ReadQuotaOptions {
  /** Most store-versions at once (default 4096). */
  readonly maxStoreVersions?: number;
  /** Clock in ms on the shared timeline; tests pass a fake. */
  readonly nowMs?: () => number;
}

export class ReadQuota {
  readonly #slab: TokenBucketSlab;
  readonly #handles = new Map<string, QuotaHandle>();
  readonly #free: number[] = [];
  #nextBucket = 1;
  #enabled = true;
  #quota: QuotaSettings;
  #stores: Readonly<Record<string, StoreQuotaSettings>>;

  constructor(
    quota: QuotaSettings,
    stores: Readonly<Record<string, StoreQuotaSettings>> = {},
    options: ReadQuotaOptions = {},
  ) {
    const max = options.maxStoreVersions ?? 4096;
    this.#slab = new TokenBucketSlab(max + 1, { nowMs: options.nowMs });
    this.#quota = quota;
    this.#stores = stores;
    this.update(quota, stores);
  }

  /** The shared bucket state, for another isolate's `ReadQuotaView`. */
  get sharedBuffer(): SharedArrayBuffer {
    return this.#slab.buffer;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Applies new settings live. Only buckets whose capacity or refill changes are rebuilt
   * (full, at the new size, as Venice does); every other bucket keeps its tokens. Throws
   * RangeError, changing nothing, when a setting is out of range.
   */
  update(
    quota: QuotaSettings,
    stores: Readonly<Record<string, StoreQuotaSettings>> = this.#stores,
  ): void {
    const { enforcementIntervalMs: interval, bucketMultiplier: multiple } = quota;
    const nodeShape = bucketShapeFromRate(quota.nodeCapacityRcuPerSecond, interval, multiple);
    const shapes = new Map<string, ReturnType<typeof bucketShapeFromRate> | null>();
    for (const [name, store] of Object.entries(stores)) {
      const rate = store.readQuotaRcuPerSecond;
      shapes.set(name, rate == null ? null : bucketShapeFromRate(rate, interval, multiple));
    }
    this.#quota = quota;
    this.#stores = stores;
    this.#enabled = quota.enabled;
    this.#slab.configure(NODE_BUCKET, nodeShape);
    for (const handle of this.#handles.values()) {
      const shape = shapes.get(handle.storeName) ?? null;
      if (shape === null) this.#slab.open(handle.bucket);
      else this.#slab.configure(handle.bucket, shape);
    }
  }

  /**
   * The handle for a store-version resource such as "people_v3", made on first use.
   * Not for the per-request path: resolve it when the resource is opened.
   */
  forStoreVersion(resource: string, storeName: string): QuotaHandle {
    const existing = this.#handles.get(resource);
    if (existing !== undefined) return existing;
    const bucket = this.#free.pop() ?? this.#nextBucket++;
    if (bucket >= this.#slab.size) {
      this.#nextBucket--;
      throw new RangeError(
        `Cannot track quota for "${resource}": all ${
          this.#slab.size - 1
        } store-version buckets are in use`,
      );
    }
    const handle: QuotaHandle = Object.freeze({ resource, storeName, bucket });
    const rate = this.#stores[storeName]?.readQuotaRcuPerSecond;
    if (rate == null) {
      this.#slab.open(bucket);
    } else {
      const q = this.#quota;
      this.#slab.configure(
        bucket,
        bucketShapeFromRate(rate, q.enforcementIntervalMs, q.bucketMultiplier),
      );
    }
    this.#handles.set(resource, handle);
    return handle;
  }

  /** Forgets a store-version (e.g. an old version was dropped); its handle must not be used again. */
  release(handle: QuotaHandle): void {
    if (this.#handles.get(handle.resource) !== handle) return;
    this.#handles.delete(handle.resource);
    this.#slab.open(handle.bucket);
    this.#free.push(handle.bucket);
  }

  /**
   * The per-request check. `rcu` is 1 for a get and the key count for a batch get;
   * `isRetry` is the request's isRetryRequest flag.
   */
  tryAcquire(handle: QuotaHandle, rcu: number, isRetry: boolean): QuotaVerdict {
    if (!this.#enabled) return QuotaVerdict.ALLOWED;
    if (!isRetry && !this.#slab.tryConsume(handle.bucket, rcu)) {
      return QuotaVerdict.STORE_OVER_QUOTA;
    }
    if (!this.#slab.tryConsume(NODE_BUCKET, rcu)) return QuotaVerdict.NODE_OVER_CAPACITY;
    return QuotaVerdict.ALLOWED;
  }

  /** Tokens left in a store-version's bucket as of its last use (for status pages). */
  staleTokens(handle: QuotaHandle): number {
    return this.#slab.staleTokens(handle.bucket);
  }

  /** Tokens left in the node bucket as of its last use. */
  staleNodeTokens(): number {
    return this.#slab.staleTokens(NODE_BUCKET);
  }
}

/**
 * The quota as another isolate sees it: same buckets, same verdicts, no configuration.
 * The owning `ReadQuota` hands over `sharedBuffer`, its slab size and each handle's
 * bucket id (plain numbers, fine for postMessage). The enabled switch is not shared:
 * the owner tells workers when it flips.
 */
export class ReadQuotaView {
  readonly #slab: TokenBucketSlab;
  enabled = true;

  constructor(buffer: SharedArrayBuffer, maxStoreVersions = 4096, nowMs?: () => number) {
    this.#slab = new TokenBucketSlab(maxStoreVersions + 1, { buffer, nowMs });
  }

  tryAcquire(bucket: number, rcu: number, isRetry: boolean): QuotaVerdict {
    if (!this.enabled) return QuotaVerdict.ALLOWED;
    if (!isRetry && !this.#slab.tryConsume(bucket, rcu)) return QuotaVerdict.STORE_OVER_QUOTA;
    if (!this.#slab.tryConsume(NODE_BUCKET, rcu)) return QuotaVerdict.NODE_OVER_CAPACITY;
    return QuotaVerdict.ALLOWED;
  }
}
