/**
 * Venice's read-path metrics (services/venice-server/.../stats/ServerHttpRequestStats.java
 * and ServerReadQuotaUsageStats.java), per store and for the "total" store, in
 * Prometheus text format 0.0.4.
 *
 * Names keep Venice's, prefixed `rialto_`, with `multiget_` before batch-get metrics as
 * Venice's RequestType.MULTI_GET does, and Prometheus unit suffixes:
 * `rialto_multiget_success_request_latency_seconds{store="people"}`. Latencies are in
 * seconds (Venice's Tehuti sensors use ms). The quota counters are per store, not per
 * request type, as in Venice. The `store="total"` series are sums of the stores'
 * (Venice's `total` stats), computed when rendering: do not `sum()` across all `store`
 * values in a query, or totals count twice.
 *
 * Each store's metrics are preallocated once (`forStore`); recording is plain array
 * arithmetic. Not thread-safe across isolates: each worker isolate keeps its own, and
 * the main isolate adds up their `snapshot()`s with `merge()` before rendering.
 */
import { runAll } from "./sliced.ts";
import {
  Buckets,
  Counter,
  Histogram,
  KEY_COUNT_BUCKETS,
  LATENCY_BUCKETS_SECONDS,
  SIZE_BUCKETS_BYTES,
} from "./histogram.ts";
import type { RuntimeMetrics } from "./runtime.ts";

const latencyBuckets = new Buckets(LATENCY_BUCKETS_SECONDS);
const sizeBuckets = new Buckets(SIZE_BUCKETS_BYTES);
const keyCountBuckets = new Buckets(KEY_COUNT_BUCKETS);

const TOTAL = "total";

/** Metrics of one request type ("" for get, "multiget_" for batchGet). */
class RequestTypeMetrics {
  readonly successRequest = new Counter();
  readonly errorRequest = new Counter();
  readonly keyNotFound = new Counter();
  readonly successRequestLatency = new Histogram(latencyBuckets);
  readonly errorRequestLatency = new Histogram(latencyBuckets);
  readonly storageEngineQueryLatency = new Histogram(latencyBuckets);
  readonly requestKeyCount = new Histogram(keyCountBuckets);
  readonly requestSizeInBytes = new Histogram(sizeBuckets);
  readonly requestKeySize = new Histogram(sizeBuckets);
  readonly requestValueSize = new Histogram(sizeBuckets);
  readonly responseSize = new Histogram(sizeBuckets);
}

/** One store's metrics; get it once from `ReadMetrics.forStore` and keep it. */
export class StoreReadMetrics {
  readonly storeName: string;
  readonly get = new RequestTypeMetrics();
  readonly batchGet = new RequestTypeMetrics();
  readonly quotaRejectedRequest = new Counter();
  readonly quotaRejectedKeyCount = new Counter();
  readonly serverOverCapacityRequest = new Counter();
  readonly authDeniedRequest = new Counter();

  constructor(storeName: string) {
    this.storeName = storeName;
  }

  /**
   * A single get that was answered (found or not: Venice counts key-not-found as a
   * success). Sizes in bytes: the request message, the key, the value (ignored when not
   * found) and the response message.
   */
  recordGet(
    latencySeconds: number,
    requestBytes: number,
    keyBytes: number,
    valueBytes: number,
    responseBytes: number,
    found: boolean,
  ): void {
    const m = this.get;
    m.successRequest.inc();
    m.successRequestLatency.observe(latencySeconds);
    m.requestKeyCount.observe(1);
    m.requestSizeInBytes.observe(requestBytes);
    m.requestKeySize.observe(keyBytes);
    if (found) m.requestValueSize.observe(valueBytes);
    else m.keyNotFound.inc();
    m.responseSize.observe(responseBytes);
  }

  /**
   * A batch get that was answered. Per-key sizes go through `recordBatchKeySize` and
   * `recordBatchValueSize` from the loop that already walks the keys.
   */
  recordBatchGet(
    latencySeconds: number,
    requestBytes: number,
    keyCount: number,
    notFoundCount: number,
    responseBytes: number,
  ): void {
    const m = this.batchGet;
    m.successRequest.inc();
    m.successRequestLatency.observe(latencySeconds);
    m.requestKeyCount.observe(keyCount);
    m.requestSizeInBytes.observe(requestBytes);
    if (notFoundCount > 0) m.keyNotFound.inc(notFoundCount);
    m.responseSize.observe(responseBytes);
  }

  recordBatchKeySize(keyBytes: number): void {
    this.batchGet.requestKeySize.observe(keyBytes);
  }

  recordBatchValueSize(valueBytes: number): void {
    this.batchGet.requestValueSize.observe(valueBytes);
  }

  /** A request that ended in an error status (bad request, internal error...). */
  recordError(isBatch: boolean, latencySeconds: number): void {
    const m = isBatch ? this.batchGet : this.get;
    m.errorRequest.inc();
    m.errorRequestLatency.observe(latencySeconds);
  }

  /** Time spent in the storage engine for one request. */
  recordStorageQuery(isBatch: boolean, seconds: number): void {
    (isBatch ? this.batchGet : this.get).storageEngineQueryLatency.observe(seconds);
  }

  /** A request refused by the store's quota (429); `rcu` is its cost (key count). */
  recordQuotaRejected(rcu: number): void {
    this.quotaRejectedRequest.inc();
    this.quotaRejectedKeyCount.inc(rcu);
  }

  /** A request refused by the node-wide capacity (503 "Server over capacity"). */
  recordOverCapacity(): void {
    this.serverOverCapacityRequest.inc();
  }

  /** A request refused by authentication or authorization. */
  recordAuthDenied(): void {
    this.authDeniedRequest.inc();
  }
}

type CounterPick = (s: StoreReadMetrics) => Counter;
type HistogramPick = (s: StoreReadMetrics) => Histogram;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly counter?: CounterPick;
  readonly histogram?: HistogramPick;
}

function requestTypeFamilies(prefix: string, pick: (s: StoreReadMetrics) => RequestTypeMetrics) {
  const kind = prefix === "" ? "single get" : "batch get";
  return [
    {
      name: `rialto_${prefix}success_request_total`,
      help: `Answered ${kind} requests (key not found included).`,
      counter: (s) => pick(s).successRequest,
    },
    {
      name: `rialto_${prefix}error_request_total`,
      help: `${kind} requests that ended in an error.`,
      counter: (s) => pick(s).errorRequest,
    },
    {
      name: `rialto_${prefix}key_not_found_total`,
      help: `Keys of ${kind} requests that were not found.`,
      counter: (s) => pick(s).keyNotFound,
    },
    {
      name: `rialto_${prefix}success_request_latency_seconds`,
      help: `Server time of answered ${kind} requests.`,
      histogram: (s) => pick(s).successRequestLatency,
    },
    {
      name: `rialto_${prefix}error_request_latency_seconds`,
      help: `Server time of failed ${kind} requests.`,
      histogram: (s) => pick(s).errorRequestLatency,
    },
    {
      name: `rialto_${prefix}storage_engine_query_latency_seconds`,
      help: `Storage engine time of ${kind} requests.`,
      histogram: (s) => pick(s).storageEngineQueryLatency,
    },
    {
      name: `rialto_${prefix}request_key_count`,
      help: `Keys per ${kind} request.`,
      histogram: (s) => pick(s).requestKeyCount,
    },
    {
      name: `rialto_${prefix}request_size_in_bytes`,
      help: `Request message size of ${kind} requests.`,
      histogram: (s) => pick(s).requestSizeInBytes,
    },
    {
      name: `rialto_${prefix}request_key_size_bytes`,
      help: `Size of each key in ${kind} requests.`,
      histogram: (s) => pick(s).requestKeySize,
    },
    {
      name: `rialto_${prefix}request_value_size_bytes`,
      help: `Size of each value found by ${kind} requests.`,
      histogram: (s) => pick(s).requestValueSize,
    },
    {
      name: `rialto_${prefix}response_size_bytes`,
      help: `Response message size of ${kind} requests.`,
      histogram: (s) => pick(s).responseSize,
    },
  ] satisfies Family[];
}

const FAMILIES: readonly Family[] = [
  ...requestTypeFamilies("", (s) => s.get),
  ...requestTypeFamilies("multiget_", (s) => s.batchGet),
  {
    name: "rialto_quota_rejected_request_total",
    help: "Requests refused by the store-version read quota (429).",
    counter: (s) => s.quotaRejectedRequest,
  },
  {
    name: "rialto_quota_rejected_key_count_total",
    help: "Read capacity units (keys) of requests refused by the read quota.",
    counter: (s) => s.quotaRejectedKeyCount,
  },
  {
    name: "rialto_server_over_capacity_request_total",
    help: "Requests refused by the node-wide read capacity (503).",
    counter: (s) => s.serverOverCapacityRequest,
  },
  {
    name: "rialto_auth_denied_request_total",
    help: "Requests refused by authentication or the store ACL.",
    counter: (s) => s.authDeniedRequest,
  },
];

export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** Appends one histogram's series (cumulative buckets, sum, count) to `out`. */
export function renderHistogram(
  out: string[],
  name: string,
  labels: string,
  buckets: Buckets,
  data: Float64Array,
): void {
  const n = buckets.bounds.length;
  const sep = labels === "" ? "" : ",";
  let cumulative = 0;
  for (let i = 0; i <= n; i++) {
    cumulative += data[i];
    out.push(`${name}_bucket{${labels}${sep}le="${buckets.labels[i]}"} ${cumulative}`);
  }
  const braces = labels === "" ? "" : `{${labels}}`;
  out.push(`${name}_sum${braces} ${formatNumber(data[n + 1])}`);
  out.push(`${name}_count${braces} ${cumulative}`);
}

/** One store's metrics as plain data: counters and histograms in `FAMILIES` order. */
export interface StoreMetricsSnapshot {
  readonly storeName: string;
  readonly counters: readonly number[];
  readonly histograms: readonly Float64Array[];
}

/** A `ReadMetrics` as plain data that `postMessage` can carry between isolates. */
export interface ReadMetricsSnapshot {
  readonly stores: readonly StoreMetricsSnapshot[];
}

export class ReadMetrics {
  readonly #stores = new Map<string, StoreReadMetrics>();
  readonly #runtime: RuntimeMetrics | null;

  constructor(options: { runtime?: RuntimeMetrics } = {}) {
    this.#runtime = options.runtime ?? null;
  }

  /** The metrics of a store, made on first use. Resolve once per store, not per request. */
  forStore(storeName: string): StoreReadMetrics {
    let store = this.#stores.get(storeName);
    if (store === undefined) {
      store = new StoreReadMetrics(storeName);
      this.#stores.set(storeName, store);
    }
    return store;
  }

  /** Every store's counters and histograms, copied. */
  snapshot(): ReadMetricsSnapshot {
    const stores: StoreMetricsSnapshot[] = [];
    for (const store of this.#stores.values()) {
      const counters: number[] = [];
      const histograms: Float64Array[] = [];
      for (const family of FAMILIES) {
        if (family.counter) counters.push(family.counter(store).value);
        else if (family.histogram) histograms.push(family.histogram(store).data.slice());
      }
      stores.push({ storeName: store.storeName, counters, histograms });
    }
    return { stores };
  }

  /** Adds a snapshot (another isolate's) into these metrics: counters and buckets. */
  merge(snapshot: ReadMetricsSnapshot): void {
    for (const data of snapshot.stores) {
      const store = this.forStore(data.storeName);
      let c = 0;
      let h = 0;
      for (const family of FAMILIES) {
        if (family.counter) family.counter(store).inc(data.counters[c++]);
        else if (family.histogram) family.histogram(store).add(data.histograms[h++]);
      }
    }
  }

  /** Prometheus text exposition format 0.0.4 (content type `text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    runAll(this.pieces(out));
    out.push("");
    return out.join("\n");
  }

  /**
   * `render`'s lines appended to `out` a piece at a time (a counter family, a histogram):
   * the serving loop renders them a slice at a time (sliced.ts).
   */
  *pieces(out: string[]): Generator<void> {
    const stores = [...this.#stores.values()].sort((a, b) =>
      a.storeName < b.storeName ? -1 : a.storeName > b.storeName ? 1 : 0
    );
    for (const family of FAMILIES) {
      out.push(`# HELP ${family.name} ${family.help}`);
      if (family.counter) {
        out.push(`# TYPE ${family.name} counter`);
        let total = 0;
        for (const store of stores) {
          const value = family.counter(store).value;
          total += value;
          out.push(`${family.name}{store="${escapeLabel(store.storeName)}"} ${value}`);
        }
        out.push(`${family.name}{store="${TOTAL}"} ${total}`);
        yield;
      } else if (family.histogram) {
        out.push(`# TYPE ${family.name} histogram`);
        let buckets: Buckets | null = null;
        let total: Float64Array | null = null;
        for (const store of stores) {
          const h = family.histogram(store);
          buckets = h.buckets;
          total ??= new Float64Array(h.data.length);
          h.addInto(total);
          renderHistogram(
            out,
            family.name,
            `store="${escapeLabel(store.storeName)}"`,
            h.buckets,
            h.data,
          );
          yield;
        }
        if (buckets === null || total === null) {
          // No store yet: still show the family with zero totals.
          const empty = family.histogram(new StoreReadMetrics(TOTAL));
          buckets = empty.buckets;
          total = empty.data;
        }
        renderHistogram(out, family.name, `store="${TOTAL}"`, buckets, total);
        yield;
      }
    }
    if (this.#runtime !== null) yield* this.#runtime.pieces(out);
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
