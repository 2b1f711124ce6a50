/**
 * `deno task bench`: Rialto end to end over gRPC, next to a bare grpc-js server on the
 * same runtime answering fixed replies of the same size, so that Rialto's cost above its
 * transport shows. See HELP below for the flags and what is measured.
 *
 * Setup: the store is built once (createStoreVersion) into a cache dir; requests are
 * pre-encoded into pools; each server runs as its own process pinned to core 0; the load
 * generator (scripts/bench/loadgen.ts, bundled and run by Node's node:http2) runs as its
 * own process pinned to core 1, once per measured run. Scenarios alternate the two
 * servers A B A B; rates are medians over rounds, latencies come from all rounds'
 * histograms merged.
 */
import { parseArgs } from "node:util";
import { setupLogging } from "../src/log.ts";
import { Histogram } from "./bench/histogram.ts";
import type { LoadResult } from "./bench/loadgen.ts";
import {
  type PinnedServer,
  processCpuSeconds,
  runLoad,
  runTimed,
  startPinnedServer,
} from "./bench/processes.ts";
import { formatTable, median, micros, pairedRatio, type Run, summarize } from "./bench/report.ts";
import {
  batchGetPool,
  ensureStore,
  type RequestPool,
  RESOURCE,
  singleGetPool,
  type StoreSpec,
} from "./bench/store.ts";
import { decodePool } from "./bench/pool.ts";

const HELP = `Usage: deno task bench [flags]

Builds (once) a store of --keys keys with --value-bytes values in --partitions
partitions, starts \`rialto serve\` and a bare grpc-js server (scripts/bench/
bare_grpc_js_server.ts) pinned to core 0, and drives each with a load generator
pinned to core 1. Prints the machine, then one table.

Scenarios (names for --scenarios):
  get-c1       single get, closed loop, 1 call in flight
  get-c64      single get, closed loop, 64 calls in flight
  batch-c8     batch get of --batch-keys keys, closed loop, 8 in flight
  get-open     single get, open loop at --rate calls/s, latency from the intended
               send time

Flags:
  --keys N            store size (default 1000000; e.g. 50000 for a quick run)
  --value-bytes N     value size as returned by a get (default 100)
  --partitions N      (default 8)
  --batch-keys N      keys per batch get (default 100)
  --rounds N          A B rounds per scenario (default 2)
  --scale X           multiply every run's recorded seconds (default 1; 0.1 for a
                      quick look)
  --warmup S          unrecorded seconds before each run (default 2)
  --rate R            open-loop calls/s (default 2000)
  --connections N     HTTP/2 connections the load generator spreads calls over
                      (default 1)
  --scenarios LIST    comma-separated subset of the scenarios
  --only NAME         rialto or bare
  --loadgen RT        node (default) or deno: which runtime runs the load generator
  --transport T       Rialto's grpc.transport setting (default: the config default)
  --block-cache-mb N  Rialto's block cache (default 1024)
  --cache-dir DIR     where the store, pools and logs live
                      (default \${TMPDIR:-/tmp}/rialto-bench)
  --compare-clients   instead of the table: the bare server's get at 64 in flight,
                      driven by each client (Node node:http2, Deno node:http2,
                      h2load), alternated, with each client's CPU use
`;

interface Flags {
  keys: number;
  valueBytes: number;
  partitions: number;
  batchKeys: number;
  rounds: number;
  scale: number;
  warmup: number;
  rate: number;
  connections: number;
  scenarios: string[] | null;
  only: string | null;
  loadgen: "node" | "deno";
  transport: string | null;
  blockCacheMb: number;
  cacheDir: string;
  compareClients: boolean;
}

function parseFlags(args: string[]): Flags | null {
  const { values } = parseArgs({
    args,
    options: {
      keys: { type: "string", default: "1000000" },
      "value-bytes": { type: "string", default: "100" },
      partitions: { type: "string", default: "8" },
      "batch-keys": { type: "string", default: "100" },
      rounds: { type: "string", default: "2" },
      scale: { type: "string", default: "1" },
      warmup: { type: "string", default: "2" },
      rate: { type: "string", default: "2000" },
      connections: { type: "string", default: "1" },
      scenarios: { type: "string" },
      only: { type: "string" },
      loadgen: { type: "string", default: "node" },
      transport: { type: "string" },
      "block-cache-mb": { type: "string", default: "1024" },
      "cache-dir": { type: "string" },
      "compare-clients": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const int = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new RangeError(`--${name} must be a whole number >= ${min}`);
    }
    return n;
  };
  const positive = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!(n > 0)) throw new RangeError(`--${name} must be > 0`);
    return n;
  };
  if (values.loadgen !== "node" && values.loadgen !== "deno") {
    throw new RangeError(`--loadgen must be node or deno`);
  }
  if (values.only && values.only !== "rialto" && values.only !== "bare") {
    throw new RangeError(`--only must be rialto or bare`);
  }
  const scenarios = values.scenarios?.split(",").map((s) => s.trim()).filter(Boolean) ?? null;
  for (const s of scenarios ?? []) {
    if (!SCENARIO_IDS.includes(s)) {
      throw new RangeError(`Unknown scenario "${s}": use ${SCENARIO_IDS.join(", ")}`);
    }
  }
  return {
    keys: int("keys", 100),
    valueBytes: int("value-bytes", 66),
    partitions: int("partitions", 1),
    batchKeys: int("batch-keys", 1),
    rounds: int("rounds", 1),
    scale: positive("scale"),
    warmup: Number(values.warmup) >= 0 ? Number(values.warmup) : 2,
    rate: positive("rate"),
    connections: int("connections", 1),
    scenarios,
    only: values.only ?? null,
    loadgen: values.loadgen,
    transport: values.transport ?? null,
    blockCacheMb: int("block-cache-mb", 8),
    cacheDir: values["cache-dir"] ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/rialto-bench`,
    compareClients: values["compare-clients"],
  };
}

const SERVICE = "/com.linkedin.venice.protocols.VeniceReadService";
const SERVER_CORE = 0;
const LOAD_CORE = 1;

interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly pool: "get" | "batch";
  readonly mode: "closed" | "open";
  readonly concurrency: number;
  /** Recorded seconds per run at --scale 1. */
  readonly seconds: number;
}

const SCENARIO_IDS = ["get-c1", "get-c64", "batch-c8", "get-open"];

function scenarios(flags: Flags): Scenario[] {
  const all: Scenario[] = [
    { id: "get-c1", label: "get, c=1", pool: "get", mode: "closed", concurrency: 1, seconds: 20 },
    {
      id: "get-c64",
      label: "get, c=64",
      pool: "get",
      mode: "closed",
      concurrency: 64,
      seconds: 35,
    },
    {
      id: "batch-c8",
      label: `batch ${flags.batchKeys}, c=8`,
      pool: "batch",
      mode: "closed",
      concurrency: 8,
      seconds: 15,
    },
    {
      id: "get-open",
      label: `get, open ${flags.rate}/s`,
      pool: "get",
      mode: "open",
      concurrency: 0,
      seconds: 20,
    },
  ];
  return all.filter((s) => flags.scenarios === null || flags.scenarios.includes(s.id));
}

interface Pools {
  readonly get: RequestPool & { readonly path: string };
  readonly batch: RequestPool & { readonly path: string };
}

const log = (line: string) => console.error(`bench: ${line}`);

async function commandText(argv: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(argv[0], { args: argv.slice(1), stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "unknown";
  }
}

async function machineFacts(flags: Flags, dataDir: string): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = cpuinfo.match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const node = await commandText(["node", "--version"]);
  const load = Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
  const mem = Deno.systemMemoryInfo();
  return [
    `Rialto read benchmark, ${new Date().toISOString()}`,
    `machine   ${cores} cores (${model}), ${(mem.total / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `Linux ${Deno.osRelease()}, load average at start ${load}`,
    `servers   Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), grpc-js (deno.json), ` +
    `pinned to core ${SERVER_CORE}; both stay up, only the one under test gets load`,
    `load      scripts/bench/loadgen.ts on ${
      flags.loadgen === "node" ? `Node ${node} node:http2` : `Deno ${Deno.version.deno} node:http2`
    }, pinned to core ${LOAD_CORE}, ${flags.connections} HTTP/2 connection(s), ` +
    `pre-encoded requests, every answer checked (grpc-status, Venice errorCode, data length)`,
    `store     ${RESOURCE}: ${flags.keys.toLocaleString("en-US")} keys "key-<i>", ` +
    `${flags.valueBytes}-byte values, ${flags.partitions} partitions, NO_OP; block cache ` +
    `${flags.blockCacheMb} MiB, warmed; data in ${dataDir}`,
    `runs      ${flags.rounds} round(s), A B per scenario (A = rialto, B = bare grpc-js with fixed ` +
    `replies of the same size); each run ${flags.warmup} s unrecorded warm-up, then its ` +
    `recorded seconds x ${flags.scale}`,
  ].join("\n");
}

async function writePools(flags: Flags, spec: StoreSpec, dir: string): Promise<Pools> {
  await Deno.mkdir(dir, { recursive: true });
  const get = singleGetPool(spec, Math.min(100_000, spec.keys * 4), 1);
  const batch = batchGetPool(spec, Math.min(4_000, spec.keys), flags.batchKeys, 2);
  const getPath = `${dir}/get.bin`;
  const batchPath = `${dir}/batch-${flags.batchKeys}.bin`;
  await Deno.writeFile(getPath, get.bytes);
  await Deno.writeFile(batchPath, batch.bytes);
  return { get: { ...get, path: getPath }, batch: { ...batch, path: batchPath } };
}

/** The command that runs the load generator under the chosen runtime. */
async function loadgenCommand(flags: Flags, cacheDir: string): Promise<string[]> {
  const source = new URL("./bench/loadgen.ts", import.meta.url).pathname;
  if (flags.loadgen === "deno") return [Deno.execPath(), "run", "--allow-all", source];
  const bundle = `${cacheDir}/loadgen.mjs`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", source, "-o", bundle],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(
      `deno bundle of the load generator failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return ["node", bundle];
}

function loadArgs(
  server: PinnedServer,
  pool: Pools["get"],
  scenario: Pick<Scenario, "pool" | "mode" | "concurrency">,
  flags: Flags,
  seconds: number,
  warmup: number,
): string[] {
  return [
    "--target",
    `127.0.0.1:${server.grpcPort}`,
    "--path",
    `${SERVICE}/${scenario.pool === "get" ? "get" : "batchGet"}`,
    "--pool",
    pool.path,
    "--mode",
    scenario.mode,
    "--concurrency",
    String(scenario.concurrency || 1),
    "--rate",
    String(flags.rate),
    "--warmup",
    String(warmup),
    "--duration",
    String(seconds),
    "--connections",
    String(flags.connections),
    "--min-data",
    String(pool.dataBytes),
    "--keys-per-request",
    String(pool.keysPerRequest),
  ];
}

async function measure(
  server: PinnedServer,
  loadgen: string[],
  args: string[],
): Promise<{ result: LoadResult; serverCpuSec: number }> {
  const before = server.cpuSeconds();
  const result = await runLoad(LOAD_CORE, loadgen, args);
  return { result, serverCpuSec: server.cpuSeconds() - before };
}

async function startServers(
  flags: Flags,
  dataDir: string,
  cacheDir: string,
): Promise<PinnedServer[]> {
  const root = new URL("..", import.meta.url).pathname;
  const servers: PinnedServer[] = [];
  try {
    if (flags.only !== "bare") {
      const config = `${cacheDir}/rialto.yaml`;
      await Deno.writeTextFile(
        config,
        [
          `dataDir: ${JSON.stringify(dataDir)}`,
          ...(flags.transport ? [`grpc:`, `  transport: ${flags.transport}`] : []),
          `storage:`,
          `  blockCacheBytes: ${flags.blockCacheMb * 1024 * 1024}`,
          `quota:`,
          `  enabled: false`,
          `logging:`,
          `  level: warning`,
          ``,
        ].join("\n"),
      );
      servers.push(
        await startPinnedServer("rialto", SERVER_CORE, [
          Deno.execPath(),
          "run",
          "--allow-all",
          "--unstable-net",
          `${root}src/main.ts`,
          "serve",
          "--config",
          config,
          "--data-dir",
          dataDir,
          "--grpc-port",
          "0",
          "--admin-port",
          "0",
        ], `${cacheDir}/rialto.log`),
      );
    }
    if (flags.only !== "rialto") {
      servers.push(
        await startPinnedServer("bare", SERVER_CORE, [
          Deno.execPath(),
          "run",
          "--allow-all",
          `${root}scripts/bench/bare_grpc_js_server.ts`,
          "--port",
          "0",
          "--value-bytes",
          String(flags.valueBytes),
          "--batch-keys",
          String(flags.batchKeys),
        ], `${cacheDir}/bare.log`),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return servers;
}

function errorNotes(runs: readonly Run[]): string[] {
  const notes: string[] = [];
  const byKey = new Map<string, Record<string, number>>();
  for (const r of runs) {
    for (const [kind, n] of Object.entries(r.result.errors)) {
      const key = `${r.scenario} / ${r.target}`;
      const kinds = byKey.get(key) ?? {};
      kinds[kind] = (kinds[kind] ?? 0) + n;
      byKey.set(key, kinds);
    }
  }
  for (const [key, kinds] of byKey) {
    notes.push(
      `errors in ${key}: ${Object.entries(kinds).map(([k, n]) => `${k} x${n}`).join(", ")}`,
    );
  }
  return notes;
}

async function runTable(
  flags: Flags,
  pools: Pools,
  loadgen: string[],
  servers: PinnedServer[],
): Promise<void> {
  const list = scenarios(flags);
  const rialto = servers.find((s) => s.name === "rialto");
  if (rialto) {
    // Fill the block cache: the batch pool touches every data block of the store.
    const seconds = Math.min(10, Math.max(2, flags.keys / 100_000));
    log(`warming Rialto's block cache with batch gets for ${seconds} s`);
    const warm = await runLoad(
      LOAD_CORE,
      loadgen,
      loadArgs(
        rialto,
        pools.batch,
        { pool: "batch", mode: "closed", concurrency: 8 },
        flags,
        seconds,
        0,
      ),
    );
    const failed = warm.requests - warm.ok;
    if (failed) {
      throw new Error(
        `Warm-up: ${failed} of ${warm.requests} batch gets failed: ${JSON.stringify(warm.errors)}`,
      );
    }
  }
  const runs: Run[] = [];
  const started = performance.now();
  for (let round = 0; round < flags.rounds; round++) {
    for (const scenario of list) {
      for (const server of servers) {
        const pool = scenario.pool === "get" ? pools.get : pools.batch;
        const seconds = scenario.seconds * flags.scale;
        const args = loadArgs(server, pool, scenario, flags, seconds, flags.warmup);
        const { result, serverCpuSec } = await measure(server, loadgen, args);
        runs.push({ scenario: scenario.label, target: server.name, round, result, serverCpuSec });
        const h = Histogram.fromJSON(result.latency);
        log(
          `round ${round + 1}/${flags.rounds} ${scenario.label} ${server.name}: ` +
            `${result.requestsPerSec.toFixed(0)} req/s, p50 ${micros(h.percentile(50))} µs, ` +
            `p99 ${micros(h.percentile(99))} µs, ${result.requests - result.ok} errors`,
        );
      }
    }
  }
  const measuredSec = (performance.now() - started) / 1000;
  const rows = list.flatMap((s) =>
    servers.map((server) => summarize(runs, s.label, server.name)).filter((r) => r !== null)
  );
  console.log("");
  console.log(formatTable(rows));
  console.log("");
  if (rialto && servers.length === 2) {
    for (const s of list) {
      const ratio = pairedRatio(runs, s.label, "rialto", "bare");
      const a = rows.find((r) => r.scenario === s.label && r.target === "rialto")!;
      const b = rows.find((r) => r.scenario === s.label && r.target === "bare")!;
      console.log(
        `${s.label}: rialto/bare throughput ${(ratio * 100).toFixed(0)}% (median of paired ` +
          `rounds); p50 ${signed(a.latency.percentile(50) - b.latency.percentile(50))} µs; ` +
          `server CPU/call ${signed((a.serverCpuUsPerCall - b.serverCpuUsPerCall) * 1000)} µs`,
      );
    }
  }
  for (const r of rows) {
    if (r.sendLag) {
      console.log(
        `${r.scenario} / ${r.target}: offered ${flags.rate}/s, achieved ` +
          `${r.requestsPerSec.toFixed(0)}/s; send lag (actual - intended send time) p99.99 ` +
          `${micros(r.sendLag.percentile(99.99))} µs, max ${micros(r.sendLag.maxNs)} µs ` +
          `(included in its latencies; the generator spins between sends, so its CPU reads 100%)`,
      );
      if (r.requestsPerSec < 0.95 * flags.rate || r.sendLag.percentile(99) > 5e6) {
        console.log(
          `  NOT VALID at this rate: calls could not be sent on time (the server saturated, or ` +
            `other processes took the load core); its latencies are dominated by the backlog`,
        );
      }
    }
  }
  for (const r of rows) {
    if (r.sendLag === null && r.clientCpu > 0.8) {
      console.log(
        `${r.scenario} / ${r.target}: the load generator used ${(r.clientCpu * 100).toFixed(0)}% ` +
          `of its core; its own queueing is in these latencies and may cap the rate`,
      );
    }
  }
  for (const note of errorNotes(runs)) console.log(note);
  console.log(
    `Latencies are µs per call, from all rounds merged (log-linear histogram, <= 0.8% ` +
      `high); a p99.99 over fewer than 1,000,000 samples rests on under 100 calls. ` +
      `Measured for ${measuredSec.toFixed(0)} s; load average now ${
        Deno.loadavg().map((n) => n.toFixed(2)).join(" ")
      }.`,
  );
}

/** A difference in ns as signed µs. */
function signed(ns: number): string {
  return `${ns < 0 ? "-" : "+"}${micros(Math.abs(ns))}`;
}

/** Which client can drive the bare server hardest: each client, alternated. */
async function compareClients(
  flags: Flags,
  pools: Pools,
  cacheDir: string,
  servers: PinnedServer[],
): Promise<void> {
  const bare = servers.find((s) => s.name === "bare");
  if (!bare) throw new Error("--compare-clients needs the bare server (drop --only rialto)");
  const nodeCmd = await loadgenCommand({ ...flags, loadgen: "node" }, cacheDir);
  const denoCmd = await loadgenCommand({ ...flags, loadgen: "deno" }, cacheDir);
  const frame = decodePool(await Deno.readFile(pools.get.path))[0];
  const bodyFile = `${cacheDir}/h2load-get.bin`;
  await Deno.writeFile(bodyFile, frame);
  const seconds = 8 * flags.scale;
  const scenario = { pool: "get", mode: "closed", concurrency: 64 } as const;
  const results: Record<string, { rps: number[]; cpu: number[]; srv: number[] }> = {};
  const note = (name: string, rps: number, cpu: number, srv: number) => {
    const r = results[name] ??= { rps: [], cpu: [], srv: [] };
    r.rps.push(rps);
    r.cpu.push(cpu);
    r.srv.push(srv);
    log(
      `${name}: ${rps.toFixed(0)} req/s, client CPU ${(cpu * 100).toFixed(0)}% ` +
        `(${(cpu * 1e6 / rps).toFixed(0)} µs/call), server ${srv.toFixed(0)} µs/call`,
    );
  };
  for (let round = 0; round < flags.rounds; round++) {
    for (
      const [name, cmd] of [["node node:http2", nodeCmd], ["deno node:http2", denoCmd]] as const
    ) {
      const args = loadArgs(bare, pools.get, scenario, flags, seconds, flags.warmup);
      const { result, serverCpuSec } = await measure(bare, cmd, args);
      note(name, result.requestsPerSec, result.clientCpu, serverCpuSec * 1e6 / result.allCalls);
    }
    // h2load: a fixed request count sized from the others, 64 streams on 1 connection.
    const guess = median(results["node node:http2"].rps) || 10_000;
    const n = Math.max(1000, Math.round(guess * seconds));
    const before = processCpuSeconds(bare.pid);
    const out = await runTimed(LOAD_CORE, [
      "h2load",
      "-n",
      String(n),
      "-c",
      "1",
      "-m",
      "64",
      "-d",
      bodyFile,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `http://127.0.0.1:${bare.grpcPort}${SERVICE}/get`,
    ]);
    const srv = processCpuSeconds(bare.pid) - before;
    const finished = out.stdout.match(/finished in ([\d.]+)(m?s), ([\d.]+) req\/s/);
    if (!finished) throw new Error(`Cannot read h2load's output:\n${out.stdout}`);
    const sec = Number(finished[1]) / (finished[2] === "ms" ? 1000 : 1);
    note("h2load (no checks)", Number(finished[3]), out.cpuSeconds / sec, srv * 1e6 / n);
  }
  console.log("");
  console.log(
    `client              req/s  client CPU  client CPU/call  server CPU/call   (medians; ` +
      `bare get, 64 in flight, 1 connection, ${seconds} s runs, ${flags.rounds} rounds)`,
  );
  for (const [name, r] of Object.entries(results)) {
    const perCall = r.rps.map((rps, i) => (r.cpu[i] * 1e6) / rps);
    console.log(
      `${name.padEnd(19)} ${median(r.rps).toFixed(0).padStart(5)}  ` +
        `${(median(r.cpu) * 100).toFixed(0).padStart(9)}%  ` +
        `${median(perCall).toFixed(0).padStart(12)} µs  ${
          median(r.srv).toFixed(0).padStart(12)
        } µs`,
    );
  }
}

async function main(): Promise<number> {
  let flags: Flags | null;
  try {
    flags = parseFlags(Deno.args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (flags === null) {
    console.log(HELP);
    return 0;
  }
  await setupLogging("warning");
  const spec: StoreSpec = {
    keys: flags.keys,
    valueBytes: flags.valueBytes,
    partitions: flags.partitions,
  };
  const cacheDir = flags.cacheDir;
  const dataDir = `${cacheDir}/store-${flags.keys}x${flags.valueBytes}b-${flags.partitions}p`;
  await Deno.mkdir(cacheDir, { recursive: true });
  await ensureStore(dataDir, spec, log);
  const pools = await writePools(flags, spec, `${cacheDir}/pools-${flags.keys}`);
  const loadgen = await loadgenCommand(flags, cacheDir);
  console.log(await machineFacts(flags, dataDir));
  const servers = await startServers(flags, dataDir, cacheDir);
  const stop = () => Promise.all(servers.map((s) => s.stop()));
  const onSignal = () => {
    stop().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    if (flags.compareClients) await compareClients(flags, pools, cacheDir, servers);
    else await runTable(flags, pools, loadgen, servers);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await stop();
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
