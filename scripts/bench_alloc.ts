/**
 * `deno task bench:alloc`: what the read path allocates per call, and where.
 *
 * Starts `rialto serve` (native transport, one event loop, the deployed V8 flags) on the
 * bench store under V8's inspector, pinned to --server-cpus, and drives it with the C load
 * generator (open loop, --rate calls/s of --method, one connection) on --load-cpu. Over
 * the recorded window it runs V8's sampling heap profiler (HeapProfiler.startSampling,
 * objects collected by scavenges and mark-compacts kept in the profile, so short-lived
 * garbage counts) and prints:
 * - bytes allocated per call (the profile's total over the calls made in the window);
 *   with --survivors only what outlived a scavenge (what the issue's "nothing per request
 *   survives a scavenge" counts: promoted, it is what fills the old generation and brings
 *   on mark-compacts);
 * - the allocation sites by bytes per call: the function that allocated, with the
 *   nearest Rialto frame under it (where the read path asked for it);
 * - scavenges and mark-compacts during the window, from the server's own /metrics (V8
 *   runs one mark-compact when the sampler starts: "sampling profiler" in --trace-gc).
 *
 * A sampled profile: each site's figure is V8's estimate from allocations sampled every
 * --sampling-bytes on average, so sites under a few bytes per call are noise.
 */
import { parseArgs } from "node:util";
import { buildNative } from "./bench/native_build.ts";
import { rialtoServeCommand, runLoad, startPinnedServer } from "./bench/processes.ts";
import {
  batchGetPool,
  DEFAULT_CACHE_DIR,
  DEFAULT_STORE_SPEC,
  ensureStore,
  singleGetPool,
  storeDataDir,
} from "./bench/store.ts";
import { gcCounts } from "./bench/stalls.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "20000" },
    seconds: { type: "string", default: "20" },
    warmup: { type: "string", default: "5" },
    method: { type: "string", default: "get" },
    "batch-keys": { type: "string", default: "100" },
    top: { type: "string", default: "25" },
    "sampling-bytes": { type: "string", default: "256" },
    survivors: { type: "boolean", default: false },
    "server-cpus": { type: "string", default: "0" },
    "load-cpu": { type: "string", default: "1" },
    "v8-flags": { type: "string", default: "" },
    "cache-dir": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno task bench:alloc [--rate 20000] [--seconds 20] [--warmup 5]\n" +
      "  [--method get|batchGet] [--batch-keys 100] [--top 25] [--sampling-bytes 256]\n" +
      "  [--survivors] [--server-cpus 0] [--load-cpu 1] [--v8-flags FLAGS] [--cache-dir DIR]",
  );
  Deno.exit(0);
}
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const method = values.method === "batchGet" ? "batchGet" : "get";
const top = Number(values.top);
const cacheDir = values["cache-dir"] ?? DEFAULT_CACHE_DIR;
// The bench's default store, so that both share one build.
const SPEC = DEFAULT_STORE_SPEC;
const SERVICE = "/com.linkedin.venice.protocols.VeniceReadService";

const log = (line: string) => console.error(`[bench:alloc] ${line}`);

/** A port free now on 127.0.0.1 (for the inspector, which takes no port 0). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** One node of a sampled heap profile (Chrome DevTools protocol HeapProfiler). */
interface ProfileNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

/** A minimal Chrome DevTools protocol session over the inspector's WebSocket. */
class Inspector {
  #socket: WebSocket;
  #next = 1;
  #pending = new Map<number, PromiseWithResolvers<unknown>>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      const waiting = this.#pending.get(message.id);
      if (waiting === undefined) return;
      this.#pending.delete(message.id);
      if (message.error) waiting.reject(new Error(JSON.stringify(message.error)));
      else waiting.resolve(message.result);
    };
  }

  static async connect(port: number): Promise<Inspector> {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`Cannot open the inspector on port ${port}`));
    });
    return new Inspector(socket);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    const waiting = Promise.withResolvers<unknown>();
    this.#pending.set(id, waiting);
    this.#socket.send(JSON.stringify({ id, method, params }));
    return waiting.promise as Promise<T>;
  }

  close(): void {
    this.#socket.close();
  }
}

const frameName = (f: ProfileNode["callFrame"]) => {
  const file = f.url.replace(/^file:\/\/.*?\/(src|ffi|scripts)\//, "$1/");
  return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
};
const isRialto = (f: ProfileNode["callFrame"]) => /\/(src|ffi)\//.test(f.url);

/** Bytes by allocation site: the allocating frame and the nearest Rialto frame above it. */
function sites(root: ProfileNode): Map<string, number> {
  const bytes = new Map<string, number>();
  const walk = (node: ProfileNode, rialto: string | null) => {
    const here = isRialto(node.callFrame) ? frameName(node.callFrame) : rialto;
    if (node.selfSize > 0) {
      const own = frameName(node.callFrame);
      const key = here === null || here === own ? own : `${own}  <- ${here}`;
      bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(root, null);
  return bytes;
}

const dataDir = storeDataDir(cacheDir, SPEC);
await Deno.mkdir(cacheDir, { recursive: true });
await ensureStore(dataDir, SPEC, log);
const pool = method === "get"
  ? singleGetPool(SPEC, 100_000, 1)
  : batchGetPool(SPEC, 4_000, Number(values["batch-keys"]), 2);
const poolPath = `${cacheDir}/alloc-${method}.bin`;
await Deno.writeFile(poolPath, pool.bytes);
const config = `${cacheDir}/rialto-alloc.yaml`;
await Deno.writeTextFile(
  config,
  [
    `dataDir: ${JSON.stringify(dataDir)}`,
    `quota:`,
    `  enabled: false`,
    `logging:`,
    `  level: warning`,
    ``,
  ].join("\n"),
);
const loadgen = await buildNative("loadgen", cacheDir);
const command = rialtoServeCommand(config, ["--workers", "1"], values["v8-flags"]);
const inspectorPort = freePort();
command.splice(2, 0, `--inspect=127.0.0.1:${inspectorPort}`);
const server = await startPinnedServer(
  "rialto",
  values["server-cpus"],
  command,
  `${cacheDir}/rialto-alloc.log`,
);
try {
  const inspector = await Inspector.connect(inspectorPort);
  const load = (warm: number, recorded: number) =>
    runLoad(Number(values["load-cpu"]), [loadgen], [
      ...["--host", "127.0.0.1", "--port", String(server.grpcPort)],
      ...["--path", `${SERVICE}/${method}`, "--pool", poolPath],
      ...["--connections", "1", "--streams", "1", "--rate", String(rate)],
      ...["--warmup", String(warm), "--duration", String(recorded)],
      ...["--min-data", String(pool.dataBytes), "--keys-per-request", String(pool.keysPerRequest)],
    ]);
  log(`warming up: ${warmup} s at ${rate}/s`);
  await load(0, warmup);
  const gcBefore = await gcCounts(server.adminPort!);
  await inspector.send("HeapProfiler.enable");
  await inspector.send("HeapProfiler.startSampling", {
    samplingInterval: Number(values["sampling-bytes"]),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !values.survivors,
  });
  log(`sampling: ${seconds} s at ${rate}/s`);
  const result = await load(0, seconds);
  const { profile } = await inspector.send<{ profile: { head: ProfileNode } }>(
    "HeapProfiler.stopSampling",
  );
  const gcAfter = await gcCounts(server.adminPort!);
  inspector.close();
  const calls = result.allCalls;
  const bySite = [...sites(profile.head)].sort((a, b) => b[1] - a[1]);
  const total = bySite.reduce((sum, [, b]) => sum + b, 0);
  const gc = (kind: string) => (gcAfter.get(kind) ?? 0) - (gcBefore.get(kind) ?? 0);
  console.log(
    `${method} at ${rate}/s, one connection, ${
      calls.toLocaleString("en-US")
    } calls in ${seconds} s ` +
      `(${result.ok.toLocaleString("en-US")} ok): ${
        (total / calls).toFixed(values.survivors ? 2 : 0)
      } bytes ` +
      `${values.survivors ? "outliving a scavenge" : "allocated"} per call ` +
      `(sampled every ${values["sampling-bytes"]} bytes); collections in the window ` +
      `(starting the sampler asks for one mark-compact itself): ` +
      `${gc("gc:Scavenge")} scavenges, ${gc("gc:MarkSweepCompact")} mark-compacts`,
  );
  console.log(`bytes/call  share  site (allocating frame  <- nearest Rialto frame)`);
  for (const [site, bytes] of bySite.slice(0, top)) {
    console.log(
      `${(bytes / calls).toFixed(1).padStart(10)}  ${
        (100 * bytes / total).toFixed(1).padStart(4)
      }%  ${site}`,
    );
  }
} finally {
  await server.stop();
}
