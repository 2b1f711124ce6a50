/** Venice's read metrics, event-loop delay and GC pauses in Prometheus text format. */
export {
  PROMETHEUS_CONTENT_TYPE,
  ReadMetrics,
  type ReadMetricsSnapshot,
  renderHistogram,
  type StoreMetricsSnapshot,
  StoreReadMetrics,
} from "./read_metrics.ts";
export {
  Buckets,
  Counter,
  Histogram,
  KEY_COUNT_BUCKETS,
  LATENCY_BUCKETS_SECONDS,
  SIZE_BUCKETS_BYTES,
} from "./histogram.ts";
export { RuntimeMetrics } from "./runtime.ts";
export type { RuntimeMetricsOptions } from "./runtime.ts";
