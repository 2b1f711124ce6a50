/**
 * The messages between the main isolate (the owner of databases, config, quota and
 * discovery) and its worker isolates (each an event loop serving gRPC on the shared
 * port). Everything here is plain data for `postMessage`: database handles travel as
 * bigint addresses inside `SharedStoreVersion`, quota state as a SharedArrayBuffer.
 *
 * Requests that want an answer carry a `seq`; the worker answers `{ type: "reply", seq }`.
 * A worker handles messages one at a time, in the order they were posted.
 */
import type { RialtoConfig } from "../config/schema.ts";
import type { ReadMetricsSnapshot } from "../metrics/mod.ts";
import type { SharedStoreVersion } from "../storage/store_version.ts";

/** A version a worker may serve, with the quota bucket the main isolate gave it. */
export interface InstalledVersion {
  readonly version: SharedStoreVersion;
  readonly quotaBucket: number;
}

/** The shared read quota: the main isolate's `ReadQuota.sharedBuffer`. */
export interface SharedQuota {
  readonly buffer: SharedArrayBuffer;
  readonly maxStoreVersions: number;
}

/** What one worker reports for /metrics and /status. */
export interface WorkerSnapshot {
  readonly index: number;
  /** gRPC calls this worker's read handler was given. */
  readonly requests: number;
  readonly metrics: ReadMetricsSnapshot;
  /** The worker's event-loop delay histogram (LATENCY_BUCKETS_SECONDS). */
  readonly eventLoopDelay: Float64Array;
  /** Its event-loop stalls by cause (RuntimeMetrics.stalls). */
  readonly stalls: readonly (readonly [string, number])[];
  /** Its listener's connections that failed before accept (TransportServer). */
  readonly acceptFailures: number;
  /** This isolate's V8 heap and external (ArrayBuffer) memory, from Deno.memoryUsage(). */
  readonly memory: IsolateMemory;
}

/** One isolate's memory, as Deno.memoryUsage() reports it from inside the isolate. */
export interface IsolateMemory {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

export type ToWorker =
  /** First message: set up (no listening yet). */
  | {
    readonly type: "start";
    readonly seq: number;
    readonly index: number;
    readonly config: RialtoConfig;
    readonly quota: SharedQuota;
  }
  /** Serve this version from now on; replies once it does. */
  | { readonly type: "install"; readonly seq: number; readonly installed: InstalledVersion }
  /** Bind the gRPC port (with SO_REUSEPORT) and serve; replies with the port. */
  | {
    readonly type: "listen";
    readonly seq: number;
    readonly hostname: string;
    readonly port: number;
  }
  /** Stop taking leases on version `id` and drop it; replies once done. */
  | { readonly type: "retire"; readonly seq: number; readonly id: number }
  /** A reloaded config: limits, gate, overrides. */
  | { readonly type: "config"; readonly config: RialtoConfig }
  /** Replies with a WorkerSnapshot. */
  | { readonly type: "snapshot"; readonly seq: number }
  /** Drain: stop accepting, finish calls (at most graceMs), reply, exit. */
  | { readonly type: "close"; readonly seq: number; readonly graceMs: number };

export type FromWorker =
  | { readonly type: "reply"; readonly seq: number; readonly value?: unknown }
  | { readonly type: "failed"; readonly seq: number; readonly error: string };
