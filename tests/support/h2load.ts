/**
 * h2load (nghttp2-client) driving one gRPC unary method: it sends one pre-encoded body (a
 * file holding a gRPC frame) with gRPC's headers, and counts HTTP answers, not
 * grpc-status. Shared by the churn, native-transport and native-TLS tests and the bench.
 */

export interface H2loadRun {
  /** Total calls (-n). */
  readonly requests: number;
  /** Connections (-c). */
  readonly clients: number;
  /** Streams in flight per connection (-m); h2load's default (1) when absent. */
  readonly streams?: number;
  /** A file holding one gRPC frame: flag byte, 4-byte big-endian length, message. */
  readonly bodyFile: string;
  /** `http://host:port/<package>.<Service>/<method>` (or https://). */
  readonly url: string;
  /** Further options, placed before the URL (e.g. --cert/--key). */
  readonly extra?: readonly string[];
}

/** The argument list of such a run. */
export function h2loadArgs(run: H2loadRun): string[] {
  return [
    "-n",
    String(run.requests),
    "-c",
    String(run.clients),
    ...(run.streams === undefined ? [] : ["-m", String(run.streams)]),
    "-d",
    run.bodyFile,
    "-H",
    "content-type: application/grpc",
    "-H",
    "te: trailers",
    ...(run.extra ?? []),
    run.url,
  ];
}

/** h2load's "requests: N total, N started, N done, N succeeded, ..." line, by word. */
export function h2loadCounts(output: string): Record<string, number> {
  const line = output.split("\n").find((l) => l.startsWith("requests:"));
  if (line === undefined) throw new Error(`No requests line in h2load output:\n${output}`);
  const counts: Record<string, number> = {};
  for (const [, n, what] of line.matchAll(/(\d+) (\w+)/g)) counts[what] = Number(n);
  return counts;
}

/** Runs h2load (killed after `timeoutMs`); its exit code, stdout + stderr and counts. */
export async function runH2load(
  run: H2loadRun,
  timeoutMs = 60_000,
): Promise<{ code: number; output: string; counts: Record<string, number> }> {
  const out = await new Deno.Command("h2load", {
    args: h2loadArgs(run),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, output, counts: h2loadCounts(output) };
}
