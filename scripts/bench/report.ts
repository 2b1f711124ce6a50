/** Turns load runs into the bench's table: medians of rates, merged latency histograms. */
import { Histogram } from "./histogram.ts";
import type { LoadResult } from "./loadgen.ts";

/** One load run against one server. */
export interface Run {
  readonly scenario: string;
  readonly target: string;
  readonly round: number;
  readonly result: LoadResult;
  /** Server CPU seconds over the whole run (warm-up included). */
  readonly serverCpuSec: number;
}

export interface Row {
  readonly scenario: string;
  readonly target: string;
  readonly rounds: number;
  /** Median over rounds. */
  readonly requestsPerSec: number;
  readonly keysPerSec: number;
  /** All rounds' successful calls merged. */
  readonly latency: Histogram;
  readonly sendLag: Histogram | null;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  /** Median over rounds of server CPU per call, µs. */
  readonly serverCpuUsPerCall: number;
  /** Median over rounds, 1.0 = one core busy. */
  readonly clientCpu: number;
  /** Open loop: calls sent late over all rounds because the in-flight cap was reached. */
  readonly cappedCalls: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(runs: readonly Run[], scenario: string, target: string): Row | null {
  const mine = runs.filter((r) => r.scenario === scenario && r.target === target);
  if (mine.length === 0) return null;
  const latency = new Histogram();
  let sendLag: Histogram | null = null;
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  for (const { result } of mine) {
    latency.add(Histogram.fromJSON(result.latency));
    if (result.sendLag) (sendLag ??= new Histogram()).add(Histogram.fromJSON(result.sendLag));
    for (const [kind, n] of Object.entries(result.errors)) {
      errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
      errors += n;
    }
  }
  return {
    scenario,
    target,
    rounds: mine.length,
    requestsPerSec: median(mine.map((r) => r.result.requestsPerSec)),
    keysPerSec: median(mine.map((r) => r.result.requestsPerSec * r.result.keysPerRequest)),
    latency,
    sendLag,
    errors,
    errorKinds,
    serverCpuUsPerCall: median(mine.map((r) => (r.serverCpuSec * 1e6) / r.result.allCalls)),
    clientCpu: median(mine.map((r) => r.result.clientCpu)),
    cappedCalls: mine.reduce((sum, r) => sum + (r.result.cappedCalls ?? 0), 0),
  };
}

/** Median over rounds of A's rate over B's, each round's pair measured back to back. */
export function pairedRatio(runs: readonly Run[], scenario: string, a: string, b: string): number {
  const ratios: number[] = [];
  for (const ra of runs) {
    if (ra.scenario !== scenario || ra.target !== a) continue;
    const rb = runs.find((r) => r.scenario === scenario && r.target === b && r.round === ra.round);
    if (rb) ratios.push(ra.result.requestsPerSec / rb.result.requestsPerSec);
  }
  return median(ratios);
}

const thousands = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-";

/** µs with 3 significant digits below 100, whole µs above. */
export function micros(ns: number): string {
  if (!Number.isFinite(ns)) return "-";
  const us = ns / 1000;
  return us < 100 ? us.toPrecision(3) : thousands(us);
}

const COLUMNS: readonly [string, number][] = [
  ["scenario", -24],
  ["server", -10],
  ["req/s", 9],
  ["keys/s", 10],
  ["p50", 7],
  ["p99", 7],
  ["p99.9", 7],
  ["p99.99", 8],
  ["max", 8],
  ["errors", 7],
  ["samples", 11],
  ["srv CPU/call", 13],
  ["client CPU", 11],
];

function cells(values: readonly string[], serverWidth: number): string {
  return values.map((v, i) => {
    const width = i === 1 ? -serverWidth : COLUMNS[i][1];
    return width < 0 ? v.padEnd(-width) : v.padStart(width);
  }).join(" ").trimEnd();
}

export function formatTable(rows: readonly Row[]): string {
  const serverWidth = Math.max(-COLUMNS[1][1], ...rows.map((r) => r.target.length));
  const lines = [
    cells(COLUMNS.map(([name]) => name), serverWidth),
    cells([
      "",
      "",
      "(median)",
      "(median)",
      "(µs)",
      "(µs)",
      "(µs)",
      "(µs)",
      "(µs)",
      "",
      "",
      "(µs)",
      "",
    ], serverWidth),
  ];
  let previous = "";
  for (const r of rows) {
    const h = r.latency;
    lines.push(cells([
      r.scenario === previous ? "" : r.scenario,
      r.target,
      thousands(r.requestsPerSec),
      thousands(r.keysPerSec),
      micros(h.percentile(50)),
      micros(h.percentile(99)),
      micros(h.percentile(99.9)),
      micros(h.percentile(99.99)),
      micros(h.maxNs),
      thousands(r.errors),
      thousands(h.count),
      Number.isFinite(r.serverCpuUsPerCall) ? r.serverCpuUsPerCall.toFixed(0) : "-",
      r.sendLag ? "spins" : `${(r.clientCpu * 100).toFixed(0)}%`,
    ], serverWidth));
    previous = r.scenario;
  }
  return lines.join("\n");
}
