/**
 * The load generator: speaks gRPC unary calls straight over `node:http2` (POST,
 * content-type application/grpc, te: trailers, pre-encoded 5-byte-prefixed frames from a
 * pool file), checks every answer (HTTP status, `grpc-status`, Venice `errorCode`, data
 * length), and records latencies in a log-linear histogram. It prints one JSON line
 * with the results on stdout.
 *
 * It is meant to run in its own process on its own core: bundled by the bench and run by
 * Node (the lightest HTTP/2 client measured here), or run by Deno directly for the
 * client comparison. It uses only `node:` modules for that reason.
 *
 *   closed loop: --mode closed --concurrency N   N calls always in flight
 *   open loop:   --mode open --rate R            a call every 1/R s; latency counts from
 *                the intended send time, so a stalled server is charged for the calls it
 *                delayed (no coordinated omission); the send lag is reported apart.
 *
 * Both run --warmup seconds unrecorded, then --duration seconds recorded. Calls started in
 * the recorded window are recorded; throughput is their count over the time from the
 * window's start to the last one's completion.
 */
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { Histogram, type HistogramJson } from "./histogram.ts";
import { decodePool } from "./pool.ts";
import { checkVeniceResponse } from "./response_check.ts";

export interface LoadResult {
  readonly runtime: string;
  readonly mode: "closed" | "open";
  /** Recorded calls, failed ones included. */
  readonly requests: number;
  /** Every call made, warm-up included (to divide a server's CPU time by). */
  readonly allCalls: number;
  readonly ok: number;
  /** Failed calls by kind ("grpc-14", "venice-500", "stream-ERR_HTTP2_STREAM_ERROR", ...). */
  readonly errors: Record<string, number>;
  readonly keysPerRequest: number;
  readonly elapsedSec: number;
  readonly requestsPerSec: number;
  /** Latency of successful calls, ns. */
  readonly latency: HistogramJson;
  /** Open loop only: actual minus intended send time, ns. */
  readonly sendLag: HistogramJson | null;
  /**
   * Open loop, C load generator only: recorded calls that fell due while its in-flight cap
   * was reached, i.e. sent late because the server had fallen that far behind.
   */
  readonly cappedCalls?: number;
  /** CPU time of this process over the recorded window / its wall time (1.0 = one core). */
  readonly clientCpu: number;
  /** C load generator: the TLS version and cipher with --tls ("TLSv1.3 ..."), else null. */
  readonly tls?: string | null;
}

interface Options {
  target: string;
  path: string;
  pool: string;
  mode: "closed" | "open";
  concurrency: number;
  rate: number;
  warmup: number;
  duration: number;
  connections: number;
  minData: number;
  keysPerRequest: number;
  maxInflight: number;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: "string" },
      path: { type: "string" },
      pool: { type: "string" },
      mode: { type: "string", default: "closed" },
      concurrency: { type: "string", default: "1" },
      rate: { type: "string", default: "1000" },
      warmup: { type: "string", default: "1" },
      duration: { type: "string", default: "5" },
      connections: { type: "string", default: "1" },
      "min-data": { type: "string", default: "0" },
      "keys-per-request": { type: "string", default: "1" },
      "max-inflight": { type: "string", default: "10000" },
    },
    strict: true,
  });
  const num = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new RangeError(`--${name} must be >= ${min}`);
    return n;
  };
  if (!values.target || !values.path || !values.pool) {
    throw new TypeError(
      "--target HOST:PORT, --path /pkg.Service/method and --pool FILE are required",
    );
  }
  if (values.mode !== "closed" && values.mode !== "open") {
    throw new TypeError(`--mode must be closed or open, not "${values.mode}"`);
  }
  return {
    target: values.target,
    path: values.path,
    pool: values.pool,
    mode: values.mode,
    concurrency: num("concurrency", 1),
    rate: num("rate", 1),
    warmup: num("warmup", 0),
    duration: num("duration", 0.1),
    connections: num("connections", 1),
    minData: num("min-data", 0),
    keysPerRequest: num("keys-per-request", 1),
    maxInflight: num("max-inflight", 1),
  };
}

type Done = (failure: string | null) => void;

/** One gRPC unary call; `done` runs exactly once, when the answer ended or failed. */
function call(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
  minData: number,
  done: Done,
): void {
  const req = session.request(headers, { endStream: false });
  let first: Uint8Array | null = null;
  let more: Uint8Array[] | null = null;
  let httpStatus = 0;
  let grpcStatus: unknown = undefined;
  let finished = false;
  const finish = (failure: string | null) => {
    if (finished) return;
    finished = true;
    done(failure);
  };
  req.on("response", (h) => {
    httpStatus = Number(h[":status"]);
    if (h["grpc-status"] !== undefined) grpcStatus = h["grpc-status"]; // trailers-only
  });
  req.on("data", (chunk: Uint8Array) => {
    if (first === null) first = chunk;
    else (more ??= [first]).push(chunk);
  });
  req.on("trailers", (t) => {
    grpcStatus = t["grpc-status"];
  });
  req.on("end", () => {
    if (httpStatus !== 200) return finish(`http-${httpStatus}`);
    if (grpcStatus === undefined) return finish("no-grpc-status");
    if (String(grpcStatus) !== "0") return finish(`grpc-${grpcStatus}`);
    let frame: Uint8Array = first ?? new Uint8Array(0);
    if (more !== null) {
      let size = 0;
      for (const c of more) size += c.length;
      frame = new Uint8Array(size);
      let pos = 0;
      for (const c of more) {
        frame.set(c, pos);
        pos += c.length;
      }
    }
    finish(checkVeniceResponse(frame, minData));
  });
  req.on("error", (e: Error & { code?: string }) => finish(`stream-${e.code ?? e.message}`));
  req.on("close", () => finish("stream-closed-early"));
  req.end(body);
}

function connect(target: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${target}`, {
      settings: { initialWindowSize: 16 * 1024 * 1024, enablePush: false },
    });
    session.once("connect", () => {
      session.setLocalWindowSize(64 * 1024 * 1024);
      resolve(session);
    });
    session.once("error", reject);
  });
}

async function run(o: Options): Promise<LoadResult> {
  const frames = decodePool(new Uint8Array(readFileSync(o.pool)));
  if (frames.length === 0) throw new RangeError(`Pool ${o.pool} is empty`);
  const sessions: http2.ClientHttp2Session[] = [];
  for (let i = 0; i < o.connections; i++) sessions.push(await connect(o.target));
  for (const s of sessions) {
    s.on("error", (e) => console.error(`loadgen: session error: ${e.message}`));
  }
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": o.path,
    "content-type": "application/grpc",
    "te": "trailers",
  };
  let next = Math.floor(Math.random() * frames.length);
  let sessionTurn = 0;
  const nextCall = (done: Done) => {
    const body = frames[next];
    next = next + 1 === frames.length ? 0 : next + 1;
    const session = sessions[sessionTurn];
    sessionTurn = sessionTurn + 1 === sessions.length ? 0 : sessionTurn + 1;
    call(session, headers, body, o.minData, done);
  };

  const latency = new Histogram();
  const sendLag = new Histogram();
  const errors: Record<string, number> = {};
  let requests = 0;
  let ok = 0;
  let lastDone = 0;
  const start = performance.now();
  const measureFrom = start + o.warmup * 1000;
  const measureUntil = measureFrom + o.duration * 1000;
  let cpuAtMeasure: ReturnType<typeof process.cpuUsage> | null = null;

  let allCalls = 0;
  const account = (recorded: boolean, from: number, failure: string | null) => {
    allCalls++;
    if (!recorded) return;
    const now = performance.now();
    lastDone = now;
    requests++;
    if (failure === null) {
      ok++;
      latency.record((now - from) * 1e6);
    } else {
      errors[failure] = (errors[failure] ?? 0) + 1;
    }
  };

  await new Promise<void>((resolve) => {
    let inflight = 0;
    if (o.mode === "closed") {
      let workers = o.concurrency;
      const worker = () => {
        const t0 = performance.now();
        if (t0 >= measureUntil) {
          if (--workers === 0) resolve();
          return;
        }
        const recorded = t0 >= measureFrom;
        if (recorded && cpuAtMeasure === null) cpuAtMeasure = process.cpuUsage();
        nextCall((failure) => {
          account(recorded, t0, failure);
          worker();
        });
      };
      for (let i = 0; i < o.concurrency; i++) worker();
    } else {
      const interval = 1000 / o.rate;
      let intended = start;
      let stopped = false;
      const tick = () => {
        let now = performance.now();
        while (intended <= now && intended < measureUntil && inflight < o.maxInflight) {
          const at = intended;
          intended += interval;
          const recorded = at >= measureFrom;
          if (recorded) {
            if (cpuAtMeasure === null) cpuAtMeasure = process.cpuUsage();
            sendLag.record((now - at) * 1e6);
          }
          inflight++;
          nextCall((failure) => {
            inflight--;
            account(recorded, at, failure);
            if (stopped && inflight === 0) resolve();
          });
          now = performance.now();
        }
        if (intended >= measureUntil) {
          stopped = true;
          if (inflight === 0) resolve();
          return;
        }
        // Sleep while the next send is far off; spin (letting I/O run) when it is close.
        const wait = intended - now;
        if (wait > 1.5 && inflight < o.maxInflight) setTimeout(tick, wait - 1);
        else setImmediate(tick);
      };
      tick();
    }
  });

  const cpu = process.cpuUsage(cpuAtMeasure ?? undefined);
  const elapsedSec = Math.max(lastDone - measureFrom, 1) / 1000;
  for (const s of sessions) s.close();
  return {
    runtime: "Deno" in globalThis ? "deno" : `node ${process.version}`,
    mode: o.mode,
    requests,
    allCalls,
    ok,
    errors,
    keysPerRequest: o.keysPerRequest,
    elapsedSec,
    requestsPerSec: requests / elapsedSec,
    latency: latency.toJSON(),
    sendLag: o.mode === "open" ? sendLag.toJSON() : null,
    clientCpu: (cpu.user + cpu.system) / 1e6 / elapsedSec,
  };
}

if (import.meta.main || !("Deno" in globalThis)) {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`loadgen: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  }
  const watchdog = setTimeout(() => {
    console.error("loadgen: gave up waiting for answers (server stalled?)");
    process.exit(1);
  }, (options.warmup + options.duration + 60) * 1000);
  run(options).then((result) => {
    clearTimeout(watchdog);
    process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
  }, (error) => {
    console.error(`loadgen: ${error instanceof Error ? error.stack : error}`);
    process.exit(1);
  });
}
