/**
 * Several event loops for the native transport: worker isolates that all accept on the
 * gRPC port and read the databases the main isolate owns. See `pool.ts` for who owns
 * what, `worker.ts` for a worker's side.
 */
export { WorkerPool, type WorkerPoolOptions } from "./pool.ts";
export type { WorkerSnapshot } from "./protocol.ts";
export { renderWorkerMetrics } from "./metrics.ts";

/** The event loops `grpc.workers` asks for: null means one per CPU. */
export function workerCount(configured: number | null): number {
  return configured ?? Math.max(1, navigator.hardwareConcurrency || 1);
}
