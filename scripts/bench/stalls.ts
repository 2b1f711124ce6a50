/**
 * A Rialto server's event-loop stall account (rialto_event_loop_stalls_total and the
 * workers' rialto_worker_event_loop_stalls_total, summed by cause), read from /metrics
 * before and after a run, so that the bench prints what stalled during it.
 */

/** Stalls over 1 ms by cause ("task:<name>", "gc:<type>", "other"), all isolates summed. */
export async function stallCounts(adminPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^rialto_(?:worker_)?event_loop_stalls_total\{.*cause="([^"]+)"\} (\d+)$/.exec(
      line,
    );
    if (match) counts.set(match[1], (counts.get(match[1]) ?? 0) + Number(match[2]));
  }
  return counts;
}

/** V8 collections by type (rialto_gc_pause_seconds_count), e.g. MarkSweepCompact. */
export async function gcCounts(adminPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^rialto_gc_pause_seconds_count\{type="([^"]+)"\} (\d+)$/.exec(line);
    if (match) counts.set(`gc:${match[1]}`, Number(match[2]));
  }
  return counts;
}

/** `after - before`, added into `total`. */
export function addStalls(
  total: Map<string, number>,
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): void {
  for (const [cause, n] of after) {
    const d = n - (before.get(cause) ?? 0);
    if (d > 0) total.set(cause, (total.get(cause) ?? 0) + d);
  }
}

/** "other 12, gc:Scavenge 3, task:transport-sweep 1", most first; "none" when empty. */
export function formatStalls(stalls: ReadonlyMap<string, number>): string {
  const entries = [...stalls].sort(([, a], [, b]) => b - a);
  return entries.length === 0
    ? "none"
    : entries.map(([cause, n]) => `${cause} ${n.toLocaleString("en-US")}`).join(", ");
}

/** A server's stall and collection counters at one moment. */
export interface RuntimeAccount {
  readonly stalls: Map<string, number>;
  readonly collections: Map<string, number>;
}

export async function runtimeAccount(adminPort: number): Promise<RuntimeAccount> {
  return { stalls: await stallCounts(adminPort), collections: await gcCounts(adminPort) };
}

/**
 * Stall causes of Rialto's own (src/metrics/runtime.ts); "preempted" (another process had
 * the core) and "other" are not.
 */
const OWN_STALL_CAUSES = /^(?:(?:task|gc|ffi|message):|preempted:own-threads$)/;

/**
 * Stalls of Rialto's own cause: its periodic tasks, V8's collections of its garbage, its
 * storage reads' FFI calls, messages between its isolates, its own threads taking the
 * serving thread's core.
 */
export function ownStalls(account: ReadonlyMap<string, number> | undefined): number {
  let own = 0;
  for (const [cause, n] of account ?? []) {
    if (OWN_STALL_CAUSES.test(cause)) own += n;
  }
  return own;
}

/** How many of `collections` were full ones (mark-compacts). */
export function fullCollections(collections: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [type, count] of collections) if (/MarkSweep|MarkCompact/.test(type)) n += count;
  return n;
}
