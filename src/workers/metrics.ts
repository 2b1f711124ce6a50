/** Per-worker series for /metrics: how calls spread over the event loops, and their delay. */
import { Buckets, LATENCY_BUCKETS_SECONDS, renderHistogram } from "../metrics/mod.ts";
import type { WorkerSnapshot } from "./protocol.ts";

const latencyBuckets = new Buckets(LATENCY_BUCKETS_SECONDS);

/** Prometheus text for the workers' own series, one `worker` label each. */
export function renderWorkerMetrics(workers: readonly WorkerSnapshot[]): string {
  const out: string[] = [];
  const requests = "rialto_worker_requests_total";
  out.push(`# HELP ${requests} gRPC calls handled by each worker isolate.`);
  out.push(`# TYPE ${requests} counter`);
  for (const w of workers) out.push(`${requests}{worker="${w.index}"} ${w.requests}`);
  const eld = "rialto_worker_event_loop_delay_seconds";
  out.push(`# HELP ${eld} How late a 10 ms timer fired in each worker isolate.`);
  out.push(`# TYPE ${eld} histogram`);
  for (const w of workers) {
    renderHistogram(out, eld, `worker="${w.index}"`, latencyBuckets, w.eventLoopDelay);
  }
  out.push("");
  return out.join("\n");
}
