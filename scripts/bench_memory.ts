/**
 * `deno task bench:memory`: does the memory a burst of connections takes come back?
 *
 * Starts `rialto serve` (native transport, the default config's workers) on a small bench
 * store, pinned to --server-cpus, and reads its RSS from /proc. Then:
 * 1. Bursts: --rounds times, --connections connections opened at once, each sending one
 *    single get and reading its answer, all held open until every one has answered,
 *    then all closed. RSS after each round; then after --idle-seconds of quiet.
 *    Target: final RSS within 25% of the figure before the first burst.
 * 2. With --soak-minutes M: M minutes of mixed load (a steady connection making single
 *    and batch gets, and 50 short connections every second), RSS each minute.
 *    Target: RSS grows less than 2% from minute 5 to the end.
 */
import { parseArgs } from "node:util";
import {
  concat,
  END_HEADERS,
  END_STREAM,
  frame,
  grpcRequestFields,
  headerBlock,
  RawH2Client,
  T,
  u32,
} from "../tests/support/native_h2_client.ts";
import { rialtoServeCommand, startPinnedServer } from "./bench/processes.ts";
import { decodePool } from "./bench/pool.ts";
import { batchGetPool, ensureStore, singleGetPool, type StoreSpec } from "./bench/store.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "1000" },
    "idle-seconds": { type: "string", default: "30" },
    "soak-minutes": { type: "string", default: "0" },
    "server-cpus": { type: "string", default: "0" },
    "cache-dir": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno task bench:memory [--rounds 5] [--connections 1000] [--idle-seconds 30]\n" +
      "  [--soak-minutes 0] [--server-cpus 0] [--cache-dir DIR]",
  );
  Deno.exit(0);
}
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const idleSeconds = Number(values["idle-seconds"]);
const soakMinutes = Number(values["soak-minutes"]);
const cacheDir = values["cache-dir"] ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/rialto-bench-memory`;
const SPEC: StoreSpec = { keys: 20_000, valueBytes: 100, partitions: 8 };
const GET_PATH = "/com.linkedin.venice.protocols.VeniceReadService/get";
const BATCH_PATH = "/com.linkedin.venice.protocols.VeniceReadService/batchGet";

const log = (line: string) => console.error(`[bench:memory] ${line}`);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (kib === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib[1]) * 1024;
}

/** The admin port the server announced on its first stdout line. */
async function adminPortOf(logPath: string): Promise<number> {
  const first = (await Deno.readTextFile(logPath)).split("\n")[0];
  return JSON.parse(first).adminPort;
}

/**
 * The V8 heaps and ArrayBuffer memory, from /metrics: summed over the isolates when the
 * server runs workers, else the one isolate's.
 */
async function jsMemory(adminPort: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const total = (name: string) =>
    text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
  const isolates = text.includes("rialto_isolate_heap_used_bytes");
  const name = (what: string) => isolates ? `rialto_isolate_${what}` : `rialto_${what}`;
  return `V8 heap used ${mib(total(name("heap_used_bytes")))} of ` +
    `${mib(total(name("heap_total_bytes")))}, ArrayBuffers ` +
    `${mib(total(name("external_memory_bytes")))}`;
}

/** HEADERS + DATA of one call on stream `id`, `message` being a gRPC-framed request. */
function callBytes(id: number, path: string, message: Uint8Array): Uint8Array {
  return concat(
    frame(T.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields(path))),
    frame(T.DATA, END_STREAM, id, message),
  );
}

/** One call on a client; throws unless it answers grpc-status 0. */
async function call(client: RawH2Client, id: number, path: string, message: Uint8Array) {
  await client.send(callBytes(id, path, message));
  const r = await client.response(id, 10_000);
  if (r.headers.get("grpc-status") !== "0") {
    throw new Error(`call on stream ${id} failed: ${JSON.stringify([...r.headers])}`);
  }
  // Give back the connection window the answer used, as a real client does.
  const received = r.frames.reduce((n, f) => n + (f.type === T.DATA ? f.payload.length : 0), 0);
  if (received > 0) await client.sendFrame(T.WINDOW_UPDATE, 0, 0, u32(received));
}

async function burst(port: number, gets: readonly Uint8Array[]): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: connections }, () => RawH2Client.connect(port)),
  );
  try {
    await Promise.all(clients.map((c, i) => call(c, 1, GET_PATH, gets[i % gets.length])));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function main(): Promise<void> {
  await Deno.mkdir(cacheDir, { recursive: true });
  const dataDir = `${cacheDir}/data`;
  if (await ensureStore(dataDir, SPEC, log)) log("store built");
  const gets = decodePool(singleGetPool(SPEC, 1000, 1).bytes);
  const batches = decodePool(batchGetPool(SPEC, 100, 100, 2).bytes);
  const config = `${cacheDir}/rialto.yaml`;
  await Deno.writeTextFile(
    config,
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      `quota:`,
      `  enabled: false`,
      `logging:`,
      `  level: warning`,
      ``,
    ]
      .join("\n"),
  );
  const server = await startPinnedServer(
    "rialto",
    values["server-cpus"]!,
    rialtoServeCommand(config),
    `${cacheDir}/rialto.log`,
  );
  try {
    // Warm: one connection's worth of each call, then quiet.
    const warm = await RawH2Client.connect(server.grpcPort);
    for (let i = 0; i < 200; i++) await call(warm, 2 * i + 1, GET_PATH, gets[i]);
    await call(warm, 401, BATCH_PATH, batches[0]);
    await warm.close();
    await pause(5000);
    const adminPort = await adminPortOf(server.logPath);
    const before = rssBytes(server.pid);
    console.log(`RSS before the bursts: ${mib(before)} (${await jsMemory(adminPort)})`);
    for (let round = 1; round <= rounds; round++) {
      const started = performance.now();
      await burst(server.grpcPort, gets);
      const ms = performance.now() - started;
      console.log(
        `after burst ${round} of ${connections} connections (${ms.toFixed(0)} ms): ` +
          `${mib(rssBytes(server.pid))}`,
      );
    }
    await pause(idleSeconds * 1000);
    const after = rssBytes(server.pid);
    const ratio = after / before;
    console.log(
      `after ${idleSeconds} s idle: ${mib(after)} (${await jsMemory(adminPort)}), ` +
        `${((ratio - 1) * 100).toFixed(1)}% above the pre-burst figure (target: within 25%) ` +
        (ratio <= 1.25 ? "MET" : "NOT MET"),
    );
    if (soakMinutes > 0) await soak(server.grpcPort, server.pid, gets, batches);
  } finally {
    await server.stop();
  }
}

async function soak(
  port: number,
  pid: number,
  gets: readonly Uint8Array[],
  batches: readonly Uint8Array[],
): Promise<void> {
  const end = performance.now() + soakMinutes * 60_000;
  let running = true;
  const steady = (async () => {
    const client = await RawH2Client.connect(port);
    let id = 1;
    try {
      while (running) {
        for (let i = 0; i < 50; i++, id += 2) {
          await call(client, id, GET_PATH, gets[id % gets.length]);
        }
        await call(client, id, BATCH_PATH, batches[id % batches.length]);
        id += 2;
      }
    } finally {
      await client.close().catch(() => {});
    }
  })();
  const churn = (async () => {
    while (running) {
      const tick = performance.now();
      const clients = await Promise.all(
        Array.from({ length: 50 }, () => RawH2Client.connect(port)),
      );
      await Promise.all(clients.map((c, i) => call(c, 1, GET_PATH, gets[i])));
      await Promise.all(clients.map((c) => c.close()));
      await pause(Math.max(0, 1000 - (performance.now() - tick)));
    }
  })();
  const samples: number[] = [];
  for (let minute = 1; performance.now() < end; minute++) {
    await pause(Math.min(60_000, end - performance.now()));
    samples.push(rssBytes(pid));
    console.log(`soak minute ${minute}: ${mib(samples[samples.length - 1])}`);
  }
  running = false;
  await Promise.all([steady, churn]);
  if (samples.length >= 6) {
    const growth = samples[samples.length - 1] / samples[4] - 1;
    console.log(
      `soak: RSS from minute 5 to ${samples.length} grew ${(growth * 100).toFixed(2)}% ` +
        `(target: under 2%) ${growth < 0.02 ? "MET" : "NOT MET"}`,
    );
    // RSS swings with each collection; medians of five-minute windows show the trend.
    if (samples.length >= 14) {
      const early = median(samples.slice(4, 9));
      const late = median(samples.slice(-5));
      console.log(
        `soak: median RSS of minutes 5-9 ${mib(early)}, of the last five ${mib(late)}: ` +
          `${((late / early - 1) * 100).toFixed(2)}%`,
      );
    }
  } else {
    console.log("soak: shorter than 6 minutes, no growth figure (the target needs 30)");
  }
}

await main();
