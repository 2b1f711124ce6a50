/**
 * Storage read path: Rialto's FFI binding against native `db_bench` on the same DB.
 *
 *   deno run --allow-all scripts/bench_storage.ts [--keys N] [--reads R] [--rounds K]
 *                                                 [--dir DIR] [--cache-mb M]
 *
 * Builds (or reuses) a DB with `db_bench fillrandom` (N keys of 16 bytes, 100-byte
 * values), collects its keys with the iterator, then alternates FFI and native runs
 * K times and prints medians. Both sides read with one thread pinned to core 1, the
 * same block cache size (big enough for the whole DB), bloom filters of 10 bits, a
 * cache warmed by a full scan first, and the same key mix: uniform over [0, N) in
 * db_bench's key format, so the same share of lookups miss.
 */

import { BlockCache, RocksDB } from "../ffi/mod.ts";

interface Args {
  keys: number;
  reads: number;
  rounds: number;
  dir: string;
  cacheMb: number;
}

function parseArgs(argv: string[]): Args {
  const value = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at === -1 ? undefined : argv[at + 1];
  };
  const keys = Number(value("keys") ?? 1_000_000);
  const reads = Number(value("reads") ?? Math.min(keys, 300_000));
  const rounds = Number(value("rounds") ?? 5);
  const cacheMb = Number(value("cache-mb") ?? 512);
  for (const [name, n] of Object.entries({ keys, reads, rounds, cacheMb })) {
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`--${name} must be > 0`);
  }
  const dir = value("dir") ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/rialto_bench_storage_${keys}`;
  return { keys, reads, rounds, dir, cacheMb };
}

const BATCH = 100;
const BATCHES_PER_ROUND_MIN = 20;

async function commandExists(name: string): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("sh", { args: ["-c", `command -v ${name}`] })
      .output();
    return code === 0;
  } catch {
    return false;
  }
}

async function run(argv: string[]): Promise<string> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(
      `Command failed (${out.code}): ${argv.join(" ")}\n${
        new TextDecoder().decode(out.stderr)
      }${stdout}`,
    );
  }
  return stdout;
}

// db_bench's key for integer k at --key_size=16: 8 bytes big-endian, then '0' padding.
function dbBenchKey(k: number): Uint8Array {
  const key = new Uint8Array(16).fill(0x30);
  new DataView(key.buffer).setBigUint64(0, BigInt(k));
  return key;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const pin = await commandExists("taskset");
  // Pin this process (FFI runs) to the core db_bench gets, once.
  if (pin && Deno.env.get("RIALTO_BENCH_PINNED") !== "1") {
    const child = await new Deno.Command("taskset", {
      args: [
        "-c",
        "1",
        Deno.execPath(),
        "run",
        "--allow-all",
        new URL(import.meta.url).pathname,
        ...Deno.args,
      ],
      env: { RIALTO_BENCH_PINNED: "1" },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    Deno.exit(child.code);
  }
  const taskset = pin ? ["taskset", "-c", "1"] : [];
  const cacheBytes = args.cacheMb * 1024 * 1024;
  const common = [
    `--num=${args.keys}`,
    "--value_size=100",
    "--key_size=16",
    `--db=${args.dir}`,
    "--bloom_bits=10",
    `--cache_size=${cacheBytes}`,
    "--threads=1",
    "--seed=1",
  ];

  let exists = false;
  try {
    exists = Deno.statSync(`${args.dir}/CURRENT`).isFile;
  } catch { /* not built yet */ }
  if (!exists) {
    console.log(`Building ${args.keys} keys in ${args.dir} with db_bench fillrandom...`);
    await run(["db_bench", "--benchmarks=fillrandom", ...common]);
  }

  const cache = new BlockCache(cacheBytes);
  using db = RocksDB.open(args.dir, { mode: "read-only", blockCache: cache, bloomBitsPerKey: 10 });

  // Collect the keys; the scan also warms the block cache, as readseq does for db_bench.
  const t0 = performance.now();
  const existing: Uint8Array[] = [];
  for (const [key] of db.iterate()) existing.push(key);
  const scanMs = performance.now() - t0;
  if (existing.length === 0) throw new Error(`No keys in ${args.dir}`);
  if (existing[0].length !== 16) throw new Error("Keys are not db_bench 16-byte keys");

  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
  const mixKeys = Array.from(
    { length: args.reads },
    () => dbBenchKey(Math.floor(random() * args.keys)),
  );
  const existingKeys = Array.from(
    { length: args.reads },
    () => existing[Math.floor(random() * existing.length)],
  );
  const batchCount = Math.max(BATCHES_PER_ROUND_MIN, Math.floor(args.reads / BATCH));
  const batches = Array.from(
    { length: batchCount },
    () => Array.from({ length: BATCH }, () => dbBenchKey(Math.floor(random() * args.keys))),
  );
  const found = mixKeys.filter((k) => db.get(k) !== null).length;

  const ffiGet = (keys: Uint8Array[]) => () => {
    const start = performance.now();
    let hits = 0;
    for (let i = 0; i < keys.length; i++) if (db.get(keys[i]) !== null) hits++;
    if (hits === -1) console.log(hits);
    return (performance.now() - start) * 1000 / keys.length;
  };
  const ffiMultiGet = () => {
    const start = performance.now();
    for (const batch of batches) db.multiGet(batch);
    return (performance.now() - start) * 1000 / (batches.length * BATCH);
  };
  const ffiMultiGetAsync = async () => {
    const start = performance.now();
    for (const batch of batches) await db.multiGetAsync(batch);
    return (performance.now() - start) * 1000 / (batches.length * BATCH);
  };
  const nativeRun = async (benchmark: string, extra: string[] = []) => {
    const out = await run([
      ...taskset,
      "db_bench",
      "--use_existing_db=1",
      "--readonly",
      `--benchmarks=readseq,${benchmark}`,
      `--reads=${args.reads}`,
      ...common,
      ...extra,
    ]);
    const line = out.split("\n").find((l) => l.startsWith(`${benchmark} `));
    const match = line?.match(/([\d.]+) micros\/op/);
    if (!match) throw new Error(`No "${benchmark}" micros/op line in db_bench output:\n${out}`);
    return Number(match[1]);
  };

  const rows = {
    getExisting: [] as number[],
    getMix: [] as number[],
    readrandom: [] as number[],
    multiGet: [] as number[],
    multiGetAsync: [] as number[],
    multireadrandom: [] as number[],
  };
  // Warm the JIT before measuring.
  ffiGet(mixKeys.slice(0, 20_000))();
  ffiMultiGet();
  await ffiMultiGetAsync();
  for (let round = 1; round <= args.rounds; round++) {
    rows.getMix.push(ffiGet(mixKeys)());
    rows.readrandom.push(await nativeRun("readrandom"));
    rows.multiGet.push(ffiMultiGet());
    rows.multireadrandom.push(
      await nativeRun("multireadrandom", [`--batch_size=${BATCH}`, "--multiread_batched=true"]),
    );
    rows.multiGetAsync.push(await ffiMultiGetAsync());
    rows.getExisting.push(ffiGet(existingKeys)());
    console.log(`round ${round}/${args.rounds} done`);
  }

  const fmt = (n: number) => n.toFixed(3).padStart(8);
  // The machine drifts between rounds, so the ratio is taken within each round (the FFI
  // and native runs sat next to each other) and the median of those is reported.
  const ratio = (ffi: number[], native: number[]) =>
    `${median(ffi.map((f, i) => f / native[i])).toFixed(2)}x`;
  console.log();
  console.log(
    `DB ${args.dir}: ${existing.length} keys (db_bench --num=${args.keys}, 16 B keys, ` +
      `100 B values), scan ${scanMs.toFixed(0)} ms; block cache ${args.cacheMb} MiB, ` +
      `bloom 10 bits; ${pin ? "taskset -c 1" : "not pinned"}; ${args.reads} reads a run, ` +
      `${batches.length} batches of ${BATCH}; medians of ${args.rounds} alternating rounds; ` +
      `${(100 * found / mixKeys.length).toFixed(1)}% of the key mix found.`,
  );
  console.log();
  console.log("| measurement (medians)                    |   FFI µs | native µs | FFI/native |");
  console.log("|------------------------------------------|----------|-----------|------------|");
  const row = (name: string, ffi: number[], native?: number[]) =>
    console.log(
      `| ${name.padEnd(40)} | ${fmt(median(ffi))} | ${
        native === undefined ? "".padStart(9) : fmt(median(native)).padStart(9)
      } | ${native === undefined ? "".padStart(10) : ratio(ffi, native).padStart(10)} |`,
    );
  row("get, µs/op (db_bench key mix)", rows.getMix, rows.readrandom);
  row("get, µs/op (existing keys only)", rows.getExisting);
  row(`multiGet, µs/key (batches of ${BATCH})`, rows.multiGet, rows.multireadrandom);
  row(`multiGetAsync, µs/key (batches of ${BATCH})`, rows.multiGetAsync, rows.multireadrandom);
  console.log();
  console.log(
    "native: db_bench --use_existing_db=1 --readonly --benchmarks=readseq,readrandom | " +
      `readseq,multireadrandom --batch_size=${BATCH} --multiread_batched=true (µs per key).`,
  );
  console.log(
    "raw (µs): " +
      Object.entries(rows).map(([k, v]) => `${k} [${v.map((x) => x.toFixed(2)).join(" ")}]`)
        .join("; "),
  );
  cache.close();
}

if (import.meta.main) await main();
