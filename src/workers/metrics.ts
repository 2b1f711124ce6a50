/** Per-worker series for /metrics: how calls spread over the event loops, and their delay. */
import { Buckets, LATENCY_BUCKETS_SECONDS, renderHistogram } from "../metrics/mod.ts";
import { renderStalls } from "../metrics/runtime.ts";
import type { IsolateMemory, WorkerSnapshot } from "./protocol.ts";

/** This isolate's heap and external memory (Deno.memoryUsage() is per isolate for these). */
export function isolateMemory(): IsolateMemory {
  const { heapUsed, heapTotal, external } = Deno.memoryUsage();
  return { heapUsed, heapTotal, external };
}

const ISOLATE_MEMORY: readonly [string, keyof IsolateMemory, string][] = [
  ["rialto_isolate_heap_used_bytes", "heapUsed", "V8 heap in use"],
  ["rialto_isolate_heap_total_bytes", "heapTotal", "V8 heap reserved"],
  ["rialto_isolate_external_memory_bytes", "external", "Memory outside the V8 heap (ArrayBuffers)"],
];

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
  renderStalls(
    out,
    "rialto_worker_event_loop_stalls_total",
    workers.map((w) => [`worker="${w.index}",`, new Map(w.stalls)] as const),
  );
  // The process's isolates one by one (rialto_heap_used_bytes is the main one's alone).
  const main = isolateMemory();
  for (const [name, field, help] of ISOLATE_MEMORY) {
    out.push(`# HELP ${name} ${help}, per isolate and in total.`, `# TYPE ${name} gauge`);
    out.push(`${name}{isolate="main"} ${main[field]}`);
    let total = main[field];
    for (const w of workers) {
      out.push(`${name}{isolate="worker-${w.index}"} ${w.memory[field]}`);
      total += w.memory[field];
    }
    out.push(`${name}{isolate="total"} ${total}`);
  }
  out.push("");
  return out.join("\n");
}
