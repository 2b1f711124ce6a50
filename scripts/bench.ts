/**
 * `deno task bench`: Rialto end to end over gRPC on each transport, next to a bare
 * grpc-js server on the same runtime answering fixed replies of the same size, so that
 * Rialto's cost above its transport shows. See HELP below for the flags and what is
 * measured.
 *
 * Setup: the store is built once (createStoreVersion) into a cache dir; requests are
 * pre-encoded into pools; each server runs as its own process pinned to the server
 * core(s); the load generator runs as its own process pinned to the load core, once per
 * measured run. By default that is scripts/loadgen/loadgen.c (C on libnghttp2, built
 * into the cache dir), which costs a few µs of CPU per call; the Node one
 * (scripts/bench/loadgen.ts, ~95 µs per call, ~10k calls/s at most) is kept behind
 * --loadgen node. Scenarios alternate the servers A B C A B C; rates are medians over
 * rounds, latencies come from all rounds' histograms merged.
 *
 * With --tls each Rialto server also runs as a mutual-TLS twin ("native+mTLS",
 * "grpc-js+mTLS": grpc.tls on, auth.authorizer static, the bench store's ACL allowing
 * the bench's client certificate), started next to it and alternated with it, on a
 * throwaway PKI made in the cache dir.
 */
import { parseArgs } from "node:util";
import { setupLogging } from "../src/log.ts";
import { Histogram } from "./bench/histogram.ts";
import type { LoadResult } from "./bench/loadgen.ts";
import { isolateCpus, type Isolation } from "./bench/isolate.ts";
import { buildNative } from "./bench/native_build.ts";
import {
  deployedV8Flags,
  type PinnedServer,
  pinThisProcess,
  processCpuSeconds,
  rialtoServeCommand,
  runLoad,
  runTimed,
  startPinnedServer,
} from "./bench/processes.ts";
import { formatTable, median, micros, pairedRatio, type Run, summarize } from "./bench/report.ts";
import {
  batchGetPool,
  DEFAULT_CACHE_DIR,
  DEFAULT_STORE_SPEC,
  ensureStore,
  type RequestPool,
  RESOURCE,
  singleGetPool,
  STORE,
  storeDataDir,
  type StoreSpec,
} from "./bench/store.ts";
import { decodePool, encodePool } from "./bench/pool.ts";
import {
  accountBetween,
  addStalls,
  formatStalls,
  formatTaskTimes,
  formatThreadCpu,
  fullCollections,
  NO_ACCOUNT,
  ownStalls,
  type RuntimeAccount,
  runtimeAccount,
} from "./bench/stalls.ts";
import { SERVER_V8_FLAGS } from "../src/runtime_flags.ts";
import { createTestPki, type TestPki } from "../tests/support/certs.ts";
import { h2loadArgs } from "../tests/support/h2load.ts";

/** The principal the TLS twins' ACL allows, and one it does not. */
const TLS_CLIENT_CN = "bench-client";
const TLS_DENIED_CN = "bench-denied";

/** The highest rate a `tail-<N>k` scenario may ask for, in thousands of calls/s. */
const MAX_TAIL_KILO = 200;

const HELP = `Usage: deno task bench [flags]

Builds (once) a store of --keys keys with --value-bytes values in --partitions
partitions, starts the servers under test pinned to --server-cpus, and drives each
with a load generator pinned to --load-cpu. Prints the machine, then one table.

Servers (names for --targets):
  native      rialto serve --transport native --workers N (one server per N in
              --workers)
  grpc-js     rialto serve --transport grpc-js
  bare        scripts/bench/bare_grpc_js_server.ts: grpc-js on Deno answering fixed
              replies of the same size, no storage (the transport's own ceiling)
Rialto runs with quota off.
With --tls, each native and grpc-js server also runs as "<name>+mTLS": mutual TLS
(grpc.tls, principal subject-cn), auth.authorizer static, the bench store's ACL
allowing only CN=${TLS_CLIENT_CN} for get and batchGet; the C load generator speaks
HTTP/2 over TLS (ALPN h2) with that client certificate. Before the run each one is
checked: a get and a batch get with that certificate succeed, a get with a certificate
of CN=${TLS_DENIED_CN} (same CA) is refused with PERMISSION_DENIED. bare stays h2c.

Scenarios (names for --scenarios):
  get-c1       single get, closed loop, 1 call in flight
  get-c64      single get, closed loop, 64 calls in flight
  batch-c8     batch get of --batch-keys keys, closed loop, 8 in flight
  tail-20k     the tail at a fixed load (issue 12): single get, open loop at
  tail-40k     20,000 (50 s, 1M calls) or 40,000 calls/s (25 s, 1M calls) a run,
               Rialto alternated with the floor (below); prints each round's
               p99/p99.9/p99.99/max of both, the median of the rounds' p99.99
               ratios against the 1.5x target, and Rialto's event-loop stalls
               over 1 ms by cause, its own (task:*, gc:*, ffi:*, message:*,
               preempted:own-threads) apart, V8's collections, and how long
               the periodic tasks held the loop. Each run has 10 s unrecorded at
               its rate first (the read path compiled, as in a long-running
               server). Run only when named in --scenarios; use --rounds 3 or
               more.
  tail-<N>k    the same at N,000 calls/s (N from 1 to ${MAX_TAIL_KILO}), e.g. tail-32k,
               for a sweep of rates under the same report
  get-open     single get, open loop at --rate calls/s against the native servers
               only, latency from the intended send time; NOT VALID when the rate
               was not sustained. Target: p99.99 < 1 ms at 50,000 calls/s.
               Beside the native servers it runs the machine's floor: the C
               responder (scripts/loadgen/responder.c) spinning --floor-work-us
               µs per call, on the same core under the same load, so the tail
               that this machine and generator impose shows next to Rialto's.

Flags:
  --keys N            store size (default 1000000; e.g. 50000 for a quick run)
  --value-bytes N     value size as returned by a get (default 100)
  --partitions N      (default 8)
  --batch-keys N      keys per batch get (default 100)
  --rounds N          A B C rounds per scenario (default 2)
  --scale X           multiply every run's recorded seconds (default 1; 0.1 for a
                      quick look)
  --warmup S          unrecorded seconds before each run (default 2)
  --rate R            open-loop calls/s (default 50000)
  --connections N     HTTP/2 connections the load generator spreads calls over
                      (default 1)
  --targets LIST      comma-separated servers (default native,grpc-js,bare)
  --workers LIST      comma-separated worker counts for the native server, each its
                      own server, e.g. 1,2 (default 1); passed as rialto serve
                      --workers N
  --floor-work-us LIST
                      the floor rows' spin per call in µs, comma-separated (default
                      0: answer at once; C load generator only). A tail scenario
                      compares each floor with work against the one without: e.g.
                      0,7 asks what a server with no runtime that spent a RocksDB
                      get's CPU a call (bench:storage's native readrandom) would get
  --scenarios LIST    comma-separated subset of the scenarios
  --loadgen KIND      c (default: scripts/loadgen/loadgen.c on libnghttp2), node or
                      deno (scripts/bench/loadgen.ts on node:http2)
  --server-cpus LIST  taskset CPU list for the servers (default 0)
  --multi-worker-cpus LIST
                      taskset CPU list for native servers with --workers > 1
                      (default 0-1: on 2 cores, the second worker shares its core
                      with the load generator)
  --load-cpu N        CPU for the load generator (default 1)
  --block-cache-mb N  Rialto's block cache (default 1024)
  --v8-flags FLAGS    V8 flags for the Rialto servers after the deployed ones
                      (src/runtime_flags.ts), e.g. --single-threaded-gc
  --baseline DIR      a checkout of another commit (git worktree add DIR <commit>):
                      every native server gets a twin "<name>@<commit>" run from it,
                      alternated with it round by round (A B A B), and the paired
                      throughput ratios are printed
  --cache-dir DIR     where the store, pools, binaries and logs live
                      (default \${TMPDIR:-/tmp}/rialto-bench)
  --realtime          run every server under SCHED_FIFO (chrt --fifo 10; root only), so
                      that nothing else of normal priority on its core preempts it: what
                      the tail is without the machine's other work
  --isolate           while the bench runs, move every other thread that may move (other
                      processes, kdamond, unbound kernel workqueues, interrupts) to the
                      load generator's CPU, as an operator isolates a serving core; put
                      back after (root only). Servers keep their normal priority
  --tls               add the mutual-TLS twins (C load generator only); the PKI is
                      made afresh with openssl (tests/support/certs.ts) in a temp
                      dir, removed after the run
  --compare-clients   instead of the table: each client (the C load generator,
                      Node node:http2, h2load) alternated against the trivial C
                      responder (scripts/loadgen/responder.c), get at 64 in flight,
                      with each client's CPU use: the clients' own ceilings
`;

type LoadgenKind = "c" | "node" | "deno";
type TargetKind = "native" | "grpc-js" | "bare" | "floor";

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
  targets: TargetKind[];
  workers: number[];
  floorWorkUs: number[];
  scenarios: string[] | null;
  loadgen: LoadgenKind;
  serverCpus: string;
  multiWorkerCpus: string;
  loadCpu: number;
  blockCacheMb: number;
  v8Flags: string;
  baseline: string | null;
  cacheDir: string;
  compareClients: boolean;
  tls: boolean;
  realtime: boolean;
  isolate: boolean;
}

/** The servers --targets names; the floor rows come with the get-open scenario. */
const TARGET_KINDS: readonly TargetKind[] = ["native", "grpc-js", "bare"];

function list(value: string | undefined): string[] {
  return value?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
}

function parseFlags(args: string[]): Flags | null {
  const { values } = parseArgs({
    args,
    options: {
      keys: { type: "string", default: String(DEFAULT_STORE_SPEC.keys) },
      "value-bytes": { type: "string", default: String(DEFAULT_STORE_SPEC.valueBytes) },
      partitions: { type: "string", default: String(DEFAULT_STORE_SPEC.partitions) },
      "batch-keys": { type: "string", default: "100" },
      rounds: { type: "string", default: "2" },
      scale: { type: "string", default: "1" },
      warmup: { type: "string", default: "2" },
      rate: { type: "string", default: "50000" },
      connections: { type: "string", default: "1" },
      targets: { type: "string", default: TARGET_KINDS.join(",") },
      workers: { type: "string", default: "1" },
      "floor-work-us": { type: "string", default: "0" },
      scenarios: { type: "string" },
      loadgen: { type: "string", default: "c" },
      "server-cpus": { type: "string", default: "0" },
      "multi-worker-cpus": { type: "string", default: "0-1" },
      "load-cpu": { type: "string", default: "1" },
      "block-cache-mb": { type: "string", default: "1024" },
      "v8-flags": { type: "string", default: "" },
      baseline: { type: "string" },
      "cache-dir": { type: "string" },
      "compare-clients": { type: "boolean", default: false },
      tls: { type: "boolean", default: false },
      realtime: { type: "boolean", default: false },
      isolate: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const whole = (name: string, text: string | undefined, min: number): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new RangeError(`--${name} must be a whole number >= ${min}, not "${text}"`);
    }
    return n;
  };
  const int = (name: keyof typeof values, min: number): number =>
    whole(name, values[name] as string, min);
  const positive = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!(n > 0)) throw new RangeError(`--${name} must be > 0`);
    return n;
  };
  const loadgen = values.loadgen;
  if (loadgen !== "c" && loadgen !== "node" && loadgen !== "deno") {
    throw new RangeError(`--loadgen must be c, node or deno, not "${loadgen}"`);
  }
  const targets = list(values.targets);
  for (const t of targets) {
    if (!TARGET_KINDS.includes(t as TargetKind)) {
      throw new RangeError(`Unknown target "${t}": use ${TARGET_KINDS.join(", ")}`);
    }
  }
  const scenarios = values.scenarios === undefined ? null : list(values.scenarios);
  for (const s of scenarios ?? []) {
    if (!SCENARIO_IDS.includes(s) && tailRate(s) === null) {
      throw new RangeError(
        `Unknown scenario "${s}": use ${
          SCENARIO_IDS.join(", ")
        } or tail-<N>k (N <= ${MAX_TAIL_KILO})`,
      );
    }
  }
  const workers = [...new Set(list(values.workers).map((w) => whole("workers", w, 1)))];
  const floorWorkUs = [
    ...new Set(list(values["floor-work-us"]).map((w) => whole("floor-work-us", w, 0))),
  ];
  if (workers.length === 0) throw new RangeError("--workers needs at least one count");
  if (values.tls && loadgen !== "c") {
    throw new RangeError(`--tls needs the C load generator (--loadgen c)`);
  }
  if (values.tls && !targets.some((t) => t !== "bare")) {
    throw new RangeError(`--tls needs native or grpc-js among --targets`);
  }
  for (const name of ["server-cpus", "multi-worker-cpus"] as const) {
    if (!/^[0-9,-]+$/.test(values[name])) {
      throw new RangeError(`--${name} must be a CPU list such as 0 or 0-1`);
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
    targets: targets as TargetKind[],
    workers,
    floorWorkUs,
    scenarios,
    loadgen,
    serverCpus: values["server-cpus"],
    multiWorkerCpus: values["multi-worker-cpus"],
    loadCpu: int("load-cpu", 0),
    blockCacheMb: int("block-cache-mb", 8),
    v8Flags: values["v8-flags"] as string,
    baseline: values.baseline ?? null,
    cacheDir: values["cache-dir"] ?? DEFAULT_CACHE_DIR,
    compareClients: values["compare-clients"],
    tls: values.tls,
    realtime: values.realtime,
    isolate: values.isolate,
  };
}

const SERVICE = "/com.linkedin.venice.protocols.VeniceReadService";
/** What the open-loop row is held to (VIP-3's goal for single gets). */
const OPEN_TARGET_P9999_NS = 1_000_000;
/** The offered rate counts as sustained when this share of it was answered. */
const SUSTAINED_SHARE = 0.97;

interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly pool: "get" | "batch";
  readonly mode: "closed" | "open";
  /** Calls in flight (closed loop). */
  readonly concurrency: number;
  /** Recorded seconds per run at --scale 1. */
  readonly seconds: number;
  /** Which servers it runs against. */
  readonly kinds: readonly TargetKind[];
  /** Open-loop calls/s; absent: --rate. */
  readonly rate?: number;
  /** Run only when --scenarios names it. */
  readonly onRequest?: boolean;
  /** Unrecorded seconds before each run, when not --warmup. */
  readonly warmup?: number;
}

const SCENARIO_IDS = ["get-c1", "get-c64", "batch-c8", "get-open", "tail-20k", "tail-40k"];
/** Calls a tail run records: a p99.99 over 1M samples rests on 100 calls. */
const TAIL_SAMPLES = 1_000_000;
/** Unrecorded seconds at the tail scenarios' rate before each of their runs. */
const TAIL_WARMUP_SEC = 10;

/** The rate of a `tail-<N>k` scenario id (calls/s), or null when `id` is not one. */
function tailRate(id: string): number | null {
  const match = /^tail-([1-9][0-9]*)k$/.exec(id);
  if (match === null) return null;
  const kilo = Number(match[1]);
  return kilo <= MAX_TAIL_KILO ? kilo * 1000 : null;
}

/** Issue 12's target: Rialto's p99.99 within this factor of the floor's. */
const TAIL_TARGET_RATIO = 1.5;

function tailScenario(rate: number): Scenario {
  return {
    id: `tail-${rate / 1000}k`,
    label: `tail, open ${rate.toLocaleString("en-US")}/s`,
    pool: "get",
    mode: "open",
    concurrency: 0,
    seconds: TAIL_SAMPLES / rate,
    kinds: ["native", "floor"],
    rate,
    onRequest: true,
    // The steady state: the first seconds at a new rate are V8 still compiling the read
    // path (on the same core), which a long-running server has done long before.
    warmup: TAIL_WARMUP_SEC,
  };
}

function scenarios(flags: Flags): Scenario[] {
  const every = TARGET_KINDS;
  const all: Scenario[] = [
    {
      id: "get-c1",
      label: "get, c=1",
      pool: "get",
      mode: "closed",
      concurrency: 1,
      seconds: 15,
      kinds: every,
    },
    {
      id: "get-c64",
      label: "get, c=64",
      pool: "get",
      mode: "closed",
      concurrency: 64,
      seconds: 20,
      kinds: every,
    },
    {
      id: "batch-c8",
      label: `batch ${flags.batchKeys}, c=8`,
      pool: "batch",
      mode: "closed",
      concurrency: 8,
      seconds: 10,
      kinds: every,
    },
    {
      id: "get-open",
      label: `get, open ${flags.rate.toLocaleString("en-US")}/s`,
      pool: "get",
      mode: "open",
      concurrency: 0,
      seconds: 20,
      kinds: ["native", "floor"],
    },
    tailScenario(20_000),
    tailScenario(40_000),
  ];
  // Any other tail-<N>k named, after the fixed ones.
  for (const id of flags.scenarios ?? []) {
    const rate = tailRate(id);
    if (rate !== null && !all.some((s) => s.id === id)) all.push(tailScenario(rate));
  }
  return all.filter((s) =>
    flags.scenarios === null ? !s.onRequest : flags.scenarios.includes(s.id)
  );
}

interface Pools {
  readonly get: RequestPool & { readonly path: string };
  readonly batch: RequestPool & { readonly path: string };
}

/** A server under test as the bench starts it. */
interface Target {
  readonly name: string;
  readonly kind: TargetKind;
  /** rialto serve --workers (native only; null: do not pass the flag). */
  readonly workers: number | null;
  /** The floor's CPU per call, spun (floor only). */
  readonly workUs?: number;
  /** Mutual TLS with the static authorizer (the "+mTLS" twins). */
  readonly tls: boolean;
  /** The checkout it runs from, when not this one (the --baseline twins). */
  readonly checkout?: string;
  /** That checkout's deployed V8 flags (src/runtime_flags.ts), when not this one's. */
  readonly deployedV8Flags?: string;
  /** The target it is the baseline twin of. */
  readonly twinOf?: string;
}

/** What the load generator presents to a TLS server. */
interface TlsClient {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly serverName: string;
}

/** A started server with what it is. */
interface Server extends PinnedServer {
  readonly target: Target;
  /** The bench's allowed client credentials when the server does TLS, else null. */
  readonly tls: TlsClient | null;
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

const ROOT = new URL("..", import.meta.url).pathname;

function chooseTargets(
  flags: Flags,
  baseline: { name: string; v8Flags: string } | null,
): { targets: Target[]; notes: string[] } {
  const targets: Target[] = [];
  const notes: string[] = [];
  // Each Rialto target directly followed by its TLS twin: A A+mTLS B B+mTLS C; with
  // --baseline, each native one by the same server from the other checkout.
  const add = (target: Omit<Target, "tls">) => {
    targets.push({ ...target, tls: false });
    if (flags.tls && target.kind !== "bare") {
      targets.push({ ...target, name: `${target.name}+mTLS`, tls: true });
    }
    if (baseline !== null && target.kind === "native") {
      targets.push({
        ...target,
        name: `${target.name}@${baseline.name}`,
        tls: false,
        checkout: flags.baseline!,
        deployedV8Flags: baseline.v8Flags,
        twinOf: target.name,
      });
    }
  };
  for (const kind of flags.targets) {
    if (kind !== "native") {
      add({ name: kind, kind, workers: null });
      continue;
    }
    for (const w of flags.workers) {
      const name = flags.workers.length === 1 && w === 1 ? "native" : `native w${w}`;
      add({ name, kind, workers: w });
    }
  }
  const open = scenarios(flags).some((s) => s.kinds.includes("floor"));
  if (open && flags.loadgen === "c") {
    for (const workUs of flags.floorWorkUs) {
      targets.push({ name: floorName(workUs), kind: "floor", workers: null, workUs, tls: false });
    }
  } else if (open) {
    notes.push("no floor rows: the C responder is built beside the C load generator only");
  }
  return { targets, notes };
}

/** The CPU list a target is pinned to. */
function cpusOf(target: Target, flags: Flags): string {
  return (target.workers ?? 1) > 1 ? flags.multiWorkerCpus : flags.serverCpus;
}

function floorName(workUs: number): string {
  return `C, ${workUs} µs/call`;
}

async function machineFacts(
  flags: Flags,
  dataDir: string,
  loadgen: Loadgen,
  targets: readonly Target[],
): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = cpuinfo.match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const load = Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
  const mem = Deno.systemMemoryInfo();
  const describe = (t: Target) =>
    t.kind === "bare"
      ? "bare (grpc-js, fixed replies of the same size)"
      : t.kind === "floor"
      ? `${t.name} (scripts/loadgen/responder.c --work-us ${t.workUs}, get-open only)`
      : `${t.name} (rialto serve --transport ${t.kind}${
        t.workers === null ? "" : ` --workers ${t.workers}`
      }${t.tls ? ", mutual TLS, static ACL" : ""}${
        t.checkout ? `, from ${t.checkout}, its V8 flags ${t.deployedV8Flags || "none"}` : ""
      })`;
  return [
    `Rialto read benchmark, ${new Date().toISOString()}`,
    `machine   ${cores} cores (${model}), ${(mem.total / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `Linux ${Deno.osRelease()}, load average at start ${load}`,
    `servers   Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), pinned to CPU(s) ` +
    `${flags.serverCpus}${
      targets.some((t) => (t.workers ?? 1) > 1)
        ? ` (with several workers: ${flags.multiWorkerCpus})`
        : ""
    }${flags.realtime ? ` under SCHED_FIFO (${REALTIME.join(" ")})` : ""}, V8 flags ${
      [SERVER_V8_FLAGS, flags.v8Flags].filter(Boolean).join(" ")
    }, all up, only ` +
    `the one under test gets load: ` +
    targets.map(describe).join("; "),
    `load      ${loadgen.description}, pinned to CPU ${flags.loadCpu} (with this bench's ` +
    `own threads), ` +
    `${flags.connections} HTTP/2 connection(s) (closed loop: at most one per call in ` +
    `flight), pre-encoded requests cycled, every answer ` +
    `checked (HTTP status, grpc-status, one gRPC frame, Venice errorCode, data length)`,
    `store     ${RESOURCE}: ${flags.keys.toLocaleString("en-US")} keys "key-<i>", ` +
    `${flags.valueBytes}-byte values, ${flags.partitions} partitions, NO_OP; block cache ` +
    `${flags.blockCacheMb} MiB, warmed; quota off; data in ${dataDir}`,
    `runs      ${flags.rounds} round(s), servers alternated per scenario; each run ` +
    `${flags.warmup} s unrecorded warm-up (tail scenarios ${TAIL_WARMUP_SEC} s), then its ` +
    `recorded seconds x ${flags.scale}`,
    ...(flags.tls
      ? [
        `tls       +mTLS servers: grpc.tls on (client certificate required, principal ` +
        `subject-cn), auth.authorizer static, stores.${STORE}.acl get and batchGet = ` +
        `[${TLS_CLIENT_CN}]; throwaway EC P-256 PKI (tests/support/certs.ts); the load ` +
        `generator connects over TLS (ALPN h2, --server-name localhost) with ` +
        `CN=${TLS_CLIENT_CN}, the handshake done once per connection before the run; ` +
        `bare stays h2c`,
      ]
      : []),
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

/** One run's load as the bench asks for it; each load generator spells it its own way. */
interface LoadSpec {
  readonly port: number;
  readonly method: "get" | "batchGet";
  readonly pool: RequestPool & { readonly path: string };
  readonly mode: "closed" | "open";
  readonly concurrency: number;
  readonly rate: number;
  readonly connections: number;
  readonly seconds: number;
  readonly warmup: number;
  /** Connect over TLS with these credentials (C load generator only). */
  readonly tls: TlsClient | null;
}

interface Loadgen {
  readonly kind: LoadgenKind;
  readonly description: string;
  readonly command: string[];
  args(spec: LoadSpec): string[];
}

/** scripts/loadgen/loadgen.c, built into the cache dir. */
async function cLoadgen(cacheDir: string): Promise<Loadgen> {
  const binary = await buildNative("loadgen", cacheDir);
  const version = await commandText(["sh", "-c", "dpkg-query -W -f '${Version}' libnghttp2-14"]);
  return {
    kind: "c",
    description: `scripts/loadgen/loadgen.c (C, libnghttp2 ${version}, epoll)`,
    command: [binary],
    args: (s) => {
      // Closed loop: the calls in flight spread evenly over the connections.
      const streams = Math.max(1, Math.ceil(s.concurrency / s.connections));
      return [
        "--host",
        "127.0.0.1",
        "--port",
        String(s.port),
        "--path",
        `${SERVICE}/${s.method}`,
        "--pool",
        s.pool.path,
        "--connections",
        String(s.connections),
        "--streams",
        String(streams),
        "--rate",
        String(s.mode === "open" ? s.rate : 0),
        "--warmup",
        String(s.warmup),
        "--duration",
        String(s.seconds),
        "--min-data",
        String(s.pool.dataBytes),
        "--keys-per-request",
        String(s.pool.keysPerRequest),
        ...(s.tls === null ? [] : [
          "--tls",
          "--ca",
          s.tls.caFile,
          "--cert",
          s.tls.certFile,
          "--key",
          s.tls.keyFile,
          "--server-name",
          s.tls.serverName,
        ]),
      ];
    },
  };
}

/** scripts/bench/loadgen.ts, bundled for Node or run by Deno. */
async function scriptLoadgen(kind: "node" | "deno", cacheDir: string): Promise<Loadgen> {
  const source = new URL("./bench/loadgen.ts", import.meta.url).pathname;
  const args = (s: LoadSpec) => {
    if (s.tls !== null) throw new Error("scripts/bench/loadgen.ts does not speak TLS");
    return scriptArgs(s);
  };
  const scriptArgs = (s: LoadSpec) => [
    "--target",
    `127.0.0.1:${s.port}`,
    "--path",
    `${SERVICE}/${s.method}`,
    "--pool",
    s.pool.path,
    "--mode",
    s.mode,
    "--concurrency",
    String(s.concurrency || 1),
    "--rate",
    String(s.rate),
    "--warmup",
    String(s.warmup),
    "--duration",
    String(s.seconds),
    "--connections",
    String(s.connections),
    "--min-data",
    String(s.pool.dataBytes),
    "--keys-per-request",
    String(s.pool.keysPerRequest),
  ];
  if (kind === "deno") {
    return {
      kind,
      description: `scripts/bench/loadgen.ts on Deno ${Deno.version.deno} node:http2`,
      command: [Deno.execPath(), "run", "--allow-all", source],
      args,
    };
  }
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
  const node = await commandText(["node", "--version"]);
  return {
    kind,
    description: `scripts/bench/loadgen.ts on Node ${node} node:http2`,
    command: ["node", bundle],
    args,
  };
}

function makeLoadgen(kind: LoadgenKind, cacheDir: string): Promise<Loadgen> {
  return kind === "c" ? cLoadgen(cacheDir) : scriptLoadgen(kind, cacheDir);
}

function loadSpec(
  server: PinnedServer & { readonly tls?: TlsClient | null },
  pools: Pools,
  scenario: Pick<Scenario, "pool" | "mode" | "concurrency" | "rate">,
  flags: Flags,
  seconds: number,
  warmup: number,
): LoadSpec {
  return {
    port: server.grpcPort,
    method: scenario.pool === "get" ? "get" : "batchGet",
    pool: scenario.pool === "get" ? pools.get : pools.batch,
    mode: scenario.mode,
    concurrency: scenario.concurrency,
    rate: scenario.rate ?? flags.rate,
    // Closed loop: never more connections than calls in flight (c=1 stays one call).
    connections: scenario.mode === "closed"
      ? Math.min(flags.connections, Math.max(1, scenario.concurrency))
      : flags.connections,
    seconds,
    warmup,
    tls: server.tls ?? null,
  };
}

async function measure(
  server: PinnedServer,
  loadgen: Loadgen,
  spec: LoadSpec,
  loadCpu: number,
): Promise<{ result: LoadResult; serverCpuSec: number }> {
  const before = server.cpuSeconds();
  const result = await runLoad(loadCpu, loadgen.command, loadgen.args(spec));
  return { result, serverCpuSec: server.cpuSeconds() - before };
}

/**
 * --realtime: each server in the real-time class, so that nothing of normal priority on
 * its core (other processes, kernel threads such as kdamond) preempts it; the kernel
 * still leaves 5% of the core to the others (sched_rt_runtime_us).
 */
const REALTIME = ["chrt", "--fifo", "10"];

function serverCommand(
  target: Target,
  flags: Flags,
  config: string,
  dataDir: string,
  responderBin: string | null,
): string[] {
  if (target.kind === "floor") {
    return [
      responderBin!,
      "--data-bytes",
      String(flags.valueBytes),
      "--work-us",
      String(target.workUs ?? 0),
    ];
  }
  if (target.kind === "bare") {
    return [
      Deno.execPath(),
      "run",
      "--allow-all",
      `${ROOT}scripts/bench/bare_grpc_js_server.ts`,
      "--port",
      "0",
      "--value-bytes",
      String(flags.valueBytes),
      "--batch-keys",
      String(flags.batchKeys),
    ];
  }
  return rialtoServeCommand(
    config,
    [
      "--data-dir",
      dataDir,
      "--transport",
      target.kind,
      ...(target.workers === null ? [] : ["--workers", String(target.workers)]),
    ],
    flags.v8Flags,
    target.checkout,
    target.deployedV8Flags,
  );
}

async function startServers(
  flags: Flags,
  targets: readonly Target[],
  dataDir: string,
  cacheDir: string,
  tls: BenchTls | null,
): Promise<Server[]> {
  const common = [
    `dataDir: ${JSON.stringify(dataDir)}`,
    `storage:`,
    `  blockCacheBytes: ${flags.blockCacheMb * 1024 * 1024}`,
    `quota:`,
    `  enabled: false`,
    `logging:`,
    `  level: warning`,
  ];
  const config = `${cacheDir}/rialto.yaml`;
  await Deno.writeTextFile(config, [...common, ``].join("\n"));
  let tlsConfig = "";
  if (tls !== null) {
    const pki = tls.pki;
    tlsConfig = `${cacheDir}/rialto-tls.yaml`;
    await Deno.writeTextFile(
      tlsConfig,
      [
        ...common,
        `grpc:`,
        `  tls:`,
        `    enabled: true`,
        `    certFile: ${JSON.stringify(pki.server.certFile)}`,
        `    keyFile: ${JSON.stringify(pki.server.keyFile)}`,
        `    caFile: ${JSON.stringify(pki.ca.certFile)}`,
        `    principal: subject-cn`,
        `auth:`,
        `  authorizer: static`,
        `stores:`,
        `  ${STORE}:`,
        `    acl:`,
        `      get: [${JSON.stringify(TLS_CLIENT_CN)}]`,
        `      batchGet: [${JSON.stringify(TLS_CLIENT_CN)}]`,
        ``,
      ].join("\n"),
    );
  }
  const responderBin = targets.some((t) => t.kind === "floor")
    ? await buildNative("responder", cacheDir)
    : null;
  const servers: Server[] = [];
  try {
    for (const target of targets) {
      const logName = target.name.replace(/[^a-z0-9-]+/gi, "-");
      const server = await startPinnedServer(
        target.name,
        cpusOf(target, flags),
        [
          ...(flags.realtime ? REALTIME : []),
          ...serverCommand(target, flags, target.tls ? tlsConfig : config, dataDir, responderBin),
        ],
        `${cacheDir}/${logName}.log`,
      );
      servers.push({ ...server, target, tls: target.tls ? tls!.allowed : null });
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return servers;
}

/** The throwaway PKI of a --tls run and the two clients it checks and loads with. */
interface BenchTls {
  readonly pki: TestPki;
  readonly allowed: TlsClient;
  readonly denied: TlsClient;
}

async function makeBenchTls(): Promise<BenchTls> {
  const pki = await createTestPki();
  try {
    const client = async (cn: string): Promise<TlsClient> => {
      const { certFile, keyFile } = await pki.issueClient({ cn });
      return { caFile: pki.ca.certFile, certFile, keyFile, serverName: "localhost" };
    };
    return { pki, allowed: await client(TLS_CLIENT_CN), denied: await client(TLS_DENIED_CN) };
  } catch (error) {
    await pki.cleanup();
    throw error;
  }
}

/**
 * Before the run, per TLS server: one get and one batch get with the allowed certificate
 * must succeed (answers checked as in the run), and one get with the denied principal's
 * certificate must end in grpc-status 7 (PERMISSION_DENIED). Returns a line per server.
 */
async function checkAuthorization(
  flags: Flags,
  pools: Pools,
  loadgen: Loadgen,
  servers: readonly Server[],
  tls: BenchTls | null,
): Promise<string[]> {
  const lines: string[] = [];
  for (const server of servers) {
    if (server.tls === null) continue;
    const once = async (pool: "get" | "batch", tls: TlsClient) => {
      const spec = loadSpec(server, pools, { pool, mode: "closed", concurrency: 1 }, flags, 1, 0);
      const args = [...loadgen.args({ ...spec, tls }), "--requests", "1", "--timeout", "10"];
      return await runLoad(flags.loadCpu, loadgen.command, args);
    };
    const get = await once("get", server.tls);
    const batch = await once("batch", server.tls);
    for (const [what, r] of [["get", get], ["batch get", batch]] as const) {
      if (r.requests !== 1 || r.ok !== 1) {
        throw new Error(
          `${server.name}: a ${what} with CN=${TLS_CLIENT_CN}'s certificate was not answered ` +
            `well: ${JSON.stringify(r.errors)}; see ${server.logPath}`,
        );
      }
    }
    const denied = await once("get", tls!.denied);
    if (denied.ok !== 0 || denied.errors["grpc-7"] !== 1) {
      throw new Error(
        `${server.name}: a get with CN=${TLS_DENIED_CN}'s certificate was not refused with ` +
          `PERMISSION_DENIED: ${denied.ok} ok, errors ${JSON.stringify(denied.errors)}`,
      );
    }
    lines.push(
      `mtls      ${server.name}: ${get.tls ?? "TLS"}; CN=${TLS_CLIENT_CN} get and batch get ` +
        `answered (checked), CN=${TLS_DENIED_CN} get refused with grpc-status 7 ` +
        `(PERMISSION_DENIED)`,
    );
  }
  return lines;
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

/** Fills each Rialto's block cache: the batch pool touches every data block of the store. */
async function warmRialtos(
  flags: Flags,
  pools: Pools,
  loadgen: Loadgen,
  servers: readonly Server[],
): Promise<void> {
  const seconds = Math.min(10, Math.max(2, flags.keys / 100_000));
  for (const server of servers) {
    if (server.target.kind === "bare" || server.target.kind === "floor") continue;
    log(`warming ${server.name}'s block cache with batch gets for ${seconds} s`);
    const spec = loadSpec(
      server,
      pools,
      { pool: "batch", mode: "closed", concurrency: 8 },
      flags,
      seconds,
      0,
    );
    const warm = await runLoad(flags.loadCpu, loadgen.command, loadgen.args(spec));
    const failed = warm.requests - warm.ok;
    if (failed) {
      throw new Error(
        `Warm-up of ${server.name}: ${failed} of ${warm.requests} batch gets failed: ` +
          JSON.stringify(warm.errors),
      );
    }
  }
}

async function runTable(
  flags: Flags,
  pools: Pools,
  loadgen: Loadgen,
  servers: readonly Server[],
): Promise<void> {
  const list = scenarios(flags);
  await warmRialtos(flags, pools, loadgen, servers);
  const serversOf = (s: Scenario) =>
    servers.filter((server) => s.kinds.includes(server.target.kind));
  const runs: Run[] = [];
  /**
   * Event-loop stalls during the open-loop runs: per `<scenario> / <server>` warm-up
   * included; per `<scenario> / <server> / <round>` the recorded seconds (and the last
   * second of warm-up), and per `<scenario> / <server> / <round> / warm-up` the rest.
   */
  const stalls = new Map<string, Map<string, number>>();
  /**
   * What each round of an open-loop run saw on its server (stalls.ts `accountBetween`):
   * per `<scenario> / <server> / <round>` and `... / warm-up`, keyed as the stalls are.
   */
  const accounts = new Map<string, RuntimeAccount>();
  const started = performance.now();
  for (let round = 0; round < flags.rounds; round++) {
    for (const scenario of list) {
      for (const server of serversOf(scenario)) {
        const seconds = scenario.seconds * flags.scale;
        const warmup = scenario.warmup ?? flags.warmup;
        const spec = loadSpec(server, pools, scenario, flags, seconds, warmup);
        const port = scenario.mode === "open" ? server.adminPort : null;
        const account = () => runtimeAccount(port!, server.pid, cpusOf(server.target, flags));
        const before = port === null ? null : await account();
        // Read again a second before the warm-up ends (a scrape is work for the server),
        // so that what the recorded seconds saw stands apart from the warm-up's.
        const midway = before === null || warmup < 2 ? null : new Promise<RuntimeAccount>(
          (resolve, reject) =>
            setTimeout(() => account().then(resolve, reject), (warmup - 1) * 1000),
        );
        const { result, serverCpuSec } = await measure(server, loadgen, spec, flags.loadCpu);
        if (before !== null) {
          const after = await account();
          const mid = (await midway) ?? before;
          const key = `${scenario.label} / ${server.name}`;
          const total = stalls.get(key) ?? new Map<string, number>();
          addStalls(total, before.stalls, after.stalls);
          stalls.set(key, total);
          const parts = [[`${key} / ${round} / warm-up`, before, mid], [
            `${key} / ${round}`,
            mid,
            after,
          ]] as const;
          for (const [part, from, to] of parts) accounts.set(part, accountBetween(from, to));
        }
        runs.push({ scenario: scenario.label, target: server.name, round, result, serverCpuSec });
        const h = Histogram.fromJSON(result.latency);
        log(
          `round ${round + 1}/${flags.rounds} ${scenario.label} ${server.name}: ` +
            `${result.requestsPerSec.toFixed(0)} req/s, p50 ${micros(h.percentile(50))} µs, ` +
            `p99 ${micros(h.percentile(99))} µs, p99.99 ${micros(h.percentile(99.99))} µs, ` +
            `${result.requests - result.ok} errors`,
        );
      }
    }
  }
  const measuredSec = (performance.now() - started) / 1000;
  const rows = list.flatMap((s) =>
    serversOf(s).map((server) => summarize(runs, s.label, server.name)).filter((r) => r !== null)
  );
  console.log("");
  console.log(formatTable(rows));
  console.log("");
  const bare = servers.find((s) => s.target.kind === "bare");
  for (const s of list) {
    for (const server of serversOf(s)) {
      if (!bare || server === bare || !s.kinds.includes("bare")) continue;
      const ratio = pairedRatio(runs, s.label, server.name, bare.name);
      const a = rows.find((r) => r.scenario === s.label && r.target === server.name)!;
      const b = rows.find((r) => r.scenario === s.label && r.target === bare.name)!;
      console.log(
        `${s.label}: ${server.name}/bare throughput ${(ratio * 100).toFixed(0)}% (median of ` +
          `paired rounds); p50 ${
            signed(a.latency.percentile(50) - b.latency.percentile(50))
          } µs; ` +
          `server CPU/call ${signed((a.serverCpuUsPerCall - b.serverCpuUsPerCall) * 1000)} µs`,
      );
    }
  }
  for (const s of list) {
    for (const server of serversOf(s)) {
      const base = server.target.twinOf;
      if (base === undefined) continue;
      const ratio = pairedRatio(runs, s.label, base, server.name);
      const rates = (name: string) =>
        runs.filter((r) => r.scenario === s.label && r.target === name)
          .map((r) => Math.round(r.result.requestsPerSec).toLocaleString("en-US")).join(" / ");
      console.log(
        `${s.label}: ${base} (this build) / ${server.name} throughput ${
          (ratio * 100).toFixed(0)
        }% (median of paired rounds); per round ${base} ${rates(base)} req/s, ` +
          `${server.name} ${rates(server.name)} req/s`,
      );
    }
  }
  for (const s of list) {
    for (const server of serversOf(s)) {
      const plain = server.target.tls &&
        serversOf(s).find((p) =>
          !p.target.tls && p.target.kind === server.target.kind &&
          p.target.workers === server.target.workers
        );
      if (!plain) continue;
      const ratio = pairedRatio(runs, s.label, server.name, plain.name);
      const a = rows.find((r) => r.scenario === s.label && r.target === server.name)!;
      const b = rows.find((r) => r.scenario === s.label && r.target === plain.name)!;
      console.log(
        `${s.label}: ${server.name}/${plain.name} throughput ${(ratio * 100).toFixed(0)}% ` +
          `(median of paired rounds); p50 ${
            signed(a.latency.percentile(50) - b.latency.percentile(50))
          } µs, p99 ${signed(a.latency.percentile(99) - b.latency.percentile(99))} µs; ` +
          `server CPU/call ${signed((a.serverCpuUsPerCall - b.serverCpuUsPerCall) * 1000)} µs`,
      );
    }
  }
  const floors = new Map(
    servers.filter((s) => s.target.kind === "floor").map((s) => [s.name, s.target.workUs ?? 0]),
  );
  const rateOf = (label: string) => list.find((s) => s.label === label)?.rate ?? flags.rate;
  for (const r of rows) {
    if (!r.sendLag) continue;
    const rate = rateOf(r.scenario);
    const p9999 = r.latency.percentile(99.99);
    const workUs = floors.get(r.target);
    if (workUs !== undefined) {
      const tails = `p99 ${micros(r.latency.percentile(99))} µs, p99.99 ${micros(p9999)} µs`;
      console.log(
        workUs === 0
          ? `${r.scenario} / ${r.target}: the machine's floor, a C server (responder.c) that ` +
            `answers at once and does nothing else (no GC, no runtime; its CPU per call is ` +
            `mostly the two socket calls): ${tails}; a server on this core, fed by this ` +
            `generator, can not expect a shorter tail at this rate`
          : `${r.scenario} / ${r.target}: the floor with work, the same C server spinning ` +
            `${workUs} µs per call before it answers (the CPU of work that cost, such as a ` +
            `storage read, with no runtime, no GC and no protocol code of its own): ${tails}; ` +
            `a server doing that work can not expect a shorter tail at this rate`,
      );
      continue;
    }
    const sustained = r.requestsPerSec >= SUSTAINED_SHARE * rate && r.errors === 0 &&
      r.cappedCalls === 0;
    const account = stalls.get(`${r.scenario} / ${r.target}`);
    if (account !== undefined) {
      console.log(
        `${r.scenario} / ${r.target}: event-loop stalls over 1 ms during its runs (warm-up ` +
          `included), by cause: ${formatStalls(account)}; p99.9 ` +
          `${micros(r.latency.percentile(99.9))} µs, max ${micros(r.latency.maxNs)} µs`,
      );
    }
    console.log(
      `${r.scenario} / ${r.target}: offered ${rate}/s, achieved ` +
        `${r.requestsPerSec.toFixed(0)}/s; latency counts from each call's intended send time; ` +
        `the generator's own send lag p99.9 ${micros(r.sendLag.percentile(99.9))} µs, max ` +
        `${micros(r.sendLag.maxNs)} µs (it polls when the next call is near, so its CPU ` +
        `reads high)`,
    );
    if (!sustained) {
      console.log(
        `  NOT VALID at this rate: ` +
          (r.cappedCalls > 0
            ? `${r.cappedCalls.toLocaleString("en-US")} calls fell due while the generator's ` +
              `in-flight cap was full (the server fell that far behind)`
            : `under ${SUSTAINED_SHARE * 100}% of the offered calls were answered, or some ` +
              `failed`) +
          `: the server saturated, or other processes took its core; its latencies are ` +
          `dominated by the backlog`,
      );
    } else {
      const lateGenerator = r.sendLag.percentile(99.99) > OPEN_TARGET_P9999_NS / 2;
      console.log(
        `  target p99.99 < ${micros(OPEN_TARGET_P9999_NS)} µs at ${rate}/s: ` +
          `${p9999 < OPEN_TARGET_P9999_NS ? "MET" : "NOT MET"} (p99.99 ${micros(p9999)} µs over ` +
          `${r.latency.count.toLocaleString("en-US")} calls)` +
          (lateGenerator
            ? `; the generator itself sent late (send lag p99.99 ` +
              `${micros(r.sendLag.percentile(99.99))} µs: something else ran on its core), so ` +
              `part of that tail is not the server's`
            : ""),
      );
    }
  }
  for (const s of list.filter((s) => s.id.startsWith("tail-"))) {
    const lines = tailReport(
      s,
      runs,
      servers,
      accounts,
      flags.rounds,
      s.seconds * flags.scale,
    );
    if (flags.realtime) {
      lines.push(
        `  --realtime: every server ran in the real-time class, which is not how the issue's ` +
          `targets are measured; the floor's own tail may be worse in it`,
      );
    }
    if (flags.isolate) {
      lines.push(
        `  --isolate: the machine's movable work ran off the servers' core, which is not how ` +
          `the issue's targets are measured by default`,
      );
    }
    for (const line of lines) console.log(line);
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

/**
 * Issue 12's measure for a tail scenario: per round, each Rialto server's p99, p99.9,
 * p99.99 and max next to the floor's of the same round, the ratio of the p99.99s, their
 * median against TAIL_TARGET_RATIO, and the server's stalls over 1 ms in that round.
 */
function tailReport(
  scenario: Scenario,
  runs: readonly Run[],
  servers: readonly Server[],
  accounts: ReadonlyMap<string, RuntimeAccount>,
  rounds: number,
  recordedSec: number,
): string[] {
  const floors = servers.filter((s) => s.target.kind === "floor");
  const floor = floors.find((s) => (s.target.workUs ?? 0) === 0) ?? floors[0];
  if (floor === undefined) {
    return [`${scenario.label}: no floor to compare with (C load generator only)`];
  }
  const lines: string[] = [];
  const runOf = (name: string, round: number) =>
    runs.find((r) => r.scenario === scenario.label && r.target === name && r.round === round);
  /** Each round that has both runs: its index, `name`'s run and the floor's, their p99.99 ratio. */
  const againstFloor = (name: string) => {
    const rows: { round: number; a: Run; b: Run; ratio: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const a = runOf(name, round);
      const b = runOf(floor.name, round);
      if (a === undefined || b === undefined) continue;
      const ratio = Histogram.fromJSON(a.result.latency).percentile(99.99) /
        Histogram.fromJSON(b.result.latency).percentile(99.99);
      rows.push({ round, a, b, ratio });
    }
    return rows;
  };
  const pcts = (run: Run) => {
    const h = Histogram.fromJSON(run.result.latency);
    return `p99 ${micros(h.percentile(99))}, p99.9 ${micros(h.percentile(99.9))}, p99.99 ${
      micros(h.percentile(99.99))
    }, max ${micros(h.maxNs)} µs (${h.count.toLocaleString("en-US")} calls, ${
      Math.round(run.result.requestsPerSec).toLocaleString("en-US")
    }/s)`;
  };
  for (const server of servers.filter((s) => s.target.kind === "native")) {
    const ratios: number[] = [];
    let own = 0;
    let fullGcs = 0;
    let warmupOwn = 0;
    let warmupFullGcs = 0;
    const taskTimes = new Map<string, number>();
    const threadTimes = new Map<string, number>();
    let stolen = 0;
    lines.push(
      `${scenario.label}: ${server.name} against the floor (${floor.name}), round by round:`,
    );
    for (const { round, a, b, ratio } of againstFloor(server.name)) {
      ratios.push(ratio);
      const key = `${scenario.label} / ${server.name} / ${round}`;
      const recorded = accounts.get(key) ?? NO_ACCOUNT;
      const warmup = accounts.get(`${key} / warm-up`) ?? NO_ACCOUNT;
      own += ownStalls(recorded.stalls);
      fullGcs += fullCollections(recorded.collections);
      warmupOwn += ownStalls(warmup.stalls);
      warmupFullGcs += fullCollections(warmup.collections);
      addStalls(taskTimes, new Map(), recorded.tasks);
      addStalls(threadTimes, new Map(), recorded.threads);
      stolen += recorded.steal;
      lines.push(
        `  round ${round + 1}: ${server.name} ${pcts(a)}; floor ${pcts(b)}; p99.99 ratio ` +
          `${ratio.toFixed(2)}x; stalls over 1 ms: ${formatStalls(recorded.stalls)}; ` +
          `V8 collections: ${formatStalls(recorded.collections)}; threads' CPU: ` +
          `${formatThreadCpu(recorded.threads)}; the host's steal on its CPUs: ` +
          `${recorded.steal.toFixed(2)} s; its major page faults: ${recorded.majorFaults}; the ` +
          `machine's busiest other threads: ${formatThreadCpu(recorded.others, 5)}; in the ` +
          `warm-up before: stalls ${formatStalls(warmup.stalls)}, collections ` +
          `${formatStalls(warmup.collections)}, threads' CPU ${formatThreadCpu(warmup.threads)}`,
      );
    }
    const m = median(ratios);
    lines.push(
      `  target p99.99 within ${TAIL_TARGET_RATIO}x of the floor's (median of ${ratios.length} ` +
        `rounds, >= 3 needed): ${m.toFixed(2)}x, ${
          ratios.length < 3 ? "TOO FEW ROUNDS" : m <= TAIL_TARGET_RATIO ? "MET" : "NOT MET"
        }`,
    );
    lines.push(
      `  target no stall over 1 ms of Rialto's own cause (task, gc, ffi, message, ` +
        `preempted:own-threads): ${own} in ` +
        `${ratios.length} runs of ${recordedSec.toFixed(0)} s recorded each, ${
          own === 0 ? "MET" : "NOT MET"
        } (in their warm-ups: ${warmupOwn})`,
    );
    lines.push(
      `  mark-compacts (full collections) in the recorded seconds: ${fullGcs} in ` +
        `${ratios.length} runs, in their warm-ups: ${warmupFullGcs} (the issue's target: none ` +
        `in a 60 s run at 40,000/s)`,
    );
    lines.push(
      `  periodic tasks on the serving loop in the recorded seconds (the issue's target: ~100 µs ` +
        `at most each): ${formatTaskTimes(taskTimes)}`,
    );
    lines.push(
      `  the server's threads' CPU in the recorded seconds, by thread name (the serving ` +
        `thread is main; the others share its core): ${formatThreadCpu(threadTimes)}; the ` +
        `host's steal on its CPUs: ${stolen.toFixed(2)} s`,
    );
  }
  for (const worked of floors.filter((s) => s !== floor)) {
    const values = againstFloor(worked.name).map((row) => row.ratio);
    const ratios = values.map((ratio) => `${ratio.toFixed(2)}x`);
    const m = median(values);
    lines.push(
      `${scenario.label}: ${worked.name} against the floor (${floor.name}): p99.99 ratio by ` +
        `round ${ratios.join(", ")}, median ${m.toFixed(2)}x: a server that spent only ` +
        `${worked.target.workUs} µs of CPU a call more than the floor, with nothing of a ` +
        `runtime, would ${m <= TAIL_TARGET_RATIO ? "meet" : "not meet"} the ` +
        `${TAIL_TARGET_RATIO}x target at this rate${
          values.length < 3 ? " (too few rounds to say: >= 3 needed)" : ""
        }`,
    );
  }
  return lines;
}

/** A difference in ns as signed µs. */
function signed(ns: number): string {
  return `${ns < 0 ? "-" : "+"}${micros(Math.abs(ns))}`;
}

/**
 * Each client's ceiling: the C load generator, Node's node:http2 one and h2load,
 * alternated, against the trivial C responder (far faster than any of them), get at 64
 * in flight on one connection, with each client's CPU per call.
 */
async function compareClients(flags: Flags, pools: Pools, cacheDir: string): Promise<void> {
  const responderBin = await buildNative("responder", cacheDir);
  const responder = await startPinnedServer("responder", flags.serverCpus, [
    responderBin,
    "--data-bytes",
    String(flags.valueBytes),
  ], `${cacheDir}/responder.log`);
  try {
    const clients = [await makeLoadgen("c", cacheDir), await makeLoadgen("node", cacheDir)];
    // One fixed body for every client (h2load sends one body per run).
    const frame = decodePool(await Deno.readFile(pools.get.path))[0];
    const bodyFile = `${cacheDir}/h2load-get.bin`;
    const onePool = { ...pools.get, path: `${cacheDir}/get-one.bin` };
    await Deno.writeFile(bodyFile, frame);
    await Deno.writeFile(onePool.path, encodePool([frame]));
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
          `(${(cpu * 1e6 / rps).toFixed(1)} µs/call), server ${srv.toFixed(1)} µs/call`,
      );
    };
    for (let round = 0; round < flags.rounds; round++) {
      for (const client of clients) {
        const spec = {
          ...loadSpec(responder, { ...pools, get: onePool }, scenario, flags, seconds, 1),
          connections: 1,
        };
        const { result, serverCpuSec } = await measure(responder, client, spec, flags.loadCpu);
        note(
          client.kind === "c" ? "C loadgen" : "Node node:http2",
          result.requestsPerSec,
          result.clientCpu,
          serverCpuSec * 1e6 / result.allCalls,
        );
      }
      // h2load: a fixed request count sized from the C generator's rate.
      const n = Math.max(1000, Math.round((median(results["C loadgen"].rps) || 50_000) * seconds));
      const before = processCpuSeconds(responder.pid);
      const out = await runTimed(flags.loadCpu, [
        "h2load",
        ...h2loadArgs({
          requests: n,
          clients: 1,
          streams: 64,
          bodyFile,
          url: `http://127.0.0.1:${responder.grpcPort}${SERVICE}/get`,
        }),
      ]);
      const srv = processCpuSeconds(responder.pid) - before;
      const finished = out.stdout.match(/finished in ([\d.]+)(m?s), ([\d.]+) req\/s/);
      if (!finished) throw new Error(`Cannot read h2load's output:\n${out.stdout}`);
      const sec = Number(finished[1]) / (finished[2] === "ms" ? 1000 : 1);
      note("h2load (no checks)", Number(finished[3]), out.cpuSeconds / sec, srv * 1e6 / n);
    }
    console.log("");
    console.log(
      `client              req/s  client CPU  client CPU/call  server CPU/call   (medians; ` +
        `trivial C responder, get at 64 in flight, 1 connection, ${seconds} s runs, ` +
        `${flags.rounds} rounds)`,
    );
    for (const [name, r] of Object.entries(results)) {
      const perCall = r.rps.map((rps, i) => (r.cpu[i] * 1e6) / rps);
      console.log(
        `${name.padEnd(19)} ${median(r.rps).toFixed(0).padStart(6)}  ` +
          `${(median(r.cpu) * 100).toFixed(0).padStart(9)}%  ` +
          `${median(perCall).toFixed(1).padStart(12)} µs  ${
            median(r.srv).toFixed(1).padStart(12)
          } µs`,
      );
    }
    console.log(
      `A client's ceiling on one core is about 1e6 / its CPU per call; when its CPU is under ` +
        `100% the responder (or a neighbour on its core) set the rate, not the client.`,
    );
  } finally {
    await responder.stop();
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
  await pinThisProcess(flags.loadCpu);
  const spec: StoreSpec = {
    keys: flags.keys,
    valueBytes: flags.valueBytes,
    partitions: flags.partitions,
  };
  const cacheDir = flags.cacheDir;
  const dataDir = storeDataDir(cacheDir, spec);
  await Deno.mkdir(cacheDir, { recursive: true });
  await ensureStore(dataDir, spec, log);
  const pools = await writePools(flags, spec, `${cacheDir}/pools-${flags.keys}`);
  if (flags.compareClients) {
    await compareClients(flags, pools, cacheDir);
    return 0;
  }
  const loadgen = await makeLoadgen(flags.loadgen, cacheDir);
  const baseline = flags.baseline === null ? null : {
    name: (await commandText(["git", "-C", flags.baseline, "rev-parse", "--short", "HEAD"])) ||
      "baseline",
    v8Flags: await deployedV8Flags(flags.baseline),
  };
  const { targets, notes } = chooseTargets(flags, baseline);
  console.log(await machineFacts(flags, dataDir, loadgen, targets));
  for (const note of notes) console.log(`note      ${note}`);
  const tls = targets.some((t) => t.tls) ? await makeBenchTls() : null;
  const servers = await startServers(flags, targets, dataDir, cacheDir, tls).catch(
    async (error) => {
      await tls?.pki.cleanup();
      throw error;
    },
  );
  let isolation: Isolation | null = null;
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= (async () => {
      isolation?.restore();
      await Promise.all(servers.map((s) => s.stop()));
      await tls?.pki.cleanup();
    })();
  const onSignal = () => {
    stop().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    if (flags.isolate) {
      isolation = isolateCpus({
        spareCpu: flags.loadCpu,
        keep: new Set(servers.map((s) => s.pid)),
      });
      console.log(
        `isolated  ${isolation.movedThreads} threads of other processes, ${isolation.movedIrqs} ` +
          `interrupts${isolation.movedWorkqueues ? " and the unbound workqueues" : ""} moved ` +
          `to CPU ${flags.loadCpu} for the run; ${isolation.pinnedThreads} per-CPU kernel ` +
          `threads stay`,
      );
    }
    for (const line of await checkAuthorization(flags, pools, loadgen, servers, tls)) {
      console.log(line);
    }
    await runTable(flags, pools, loadgen, servers);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await stop();
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
