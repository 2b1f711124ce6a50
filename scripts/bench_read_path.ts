/**
 * `deno task bench:read-path`: the read path without any transport. ReadService.handle
 * is called in a loop on pre-encoded Fast Client requests (the same pools as
 * `deno task bench`), next to the storage calls alone, so that Rialto's own cost per
 * request (decode, gate, metrics, encode) is visible apart from RocksDB and HTTP/2.
 *
 *   deno task bench:read-path [--keys N] [--seconds S]
 */
import { parseArgs } from "node:util";
import { loadRocksDB } from "../ffi/mod.ts";
import { defaultConfig } from "../src/config/schema.ts";
import { ReadMetrics } from "../src/metrics/mod.ts";
import { Admission } from "../src/read/admission.ts";
import { ReadService } from "../src/read/read_service.ts";
import { StoreRegistry } from "../src/storage/registry.ts";
import { registrySettings } from "../src/server.ts";
import { validateConfig } from "../src/config/schema.ts";
import { decodePool } from "./bench/pool.ts";
import {
  batchGetPool,
  DEFAULT_CACHE_DIR,
  DEFAULT_STORE_SPEC,
  ensureStore,
  RESOURCE,
  singleGetPool,
  storeDataDir,
} from "./bench/store.ts";
import { ClientRequestView } from "../src/codec/messages.ts";
import { decodeKeyString } from "../src/venice/key_string.ts";
import { MultiGetRequestKeys } from "../src/venice/multiget.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    keys: { type: "string", default: String(DEFAULT_STORE_SPEC.keys) },
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
  },
});
const spec = { ...DEFAULT_STORE_SPEC, keys: Number(values.keys) };
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const dataDir = storeDataDir(DEFAULT_CACHE_DIR, spec);
await ensureStore(dataDir, spec, (line) => console.error(line));

loadRocksDB();
const config = validateConfig(
  { ...structuredClone(defaultConfig()), dataDir, quota: { enabled: false } },
  "bench",
);
const registry = new StoreRegistry({
  ...registrySettings(config),
  blockCacheBytes: 1024 * 1024 * 1024,
});
await registry.sync();
const version = registry.lookup(RESOURCE)!;
const admission = new Admission(config);
const withMetrics = new ReadService({
  registry,
  limits: { maxKeysPerBatch: 500 },
  gate: admission,
  metrics: new ReadMetrics(),
});
const bare = new ReadService({ registry, limits: { maxKeysPerBatch: 500 } });
const peer = { address: "bench", certificate: null };

const messages = (bytes: Uint8Array) => decodePool(bytes).map((frame) => frame.subarray(5));
const gets = messages(singleGetPool(spec, 50_000, 1).bytes);
const batches = messages(batchGetPool(spec, 2_000, 100, 2).bytes);
// The storage-only case reads exactly the keys of the get requests, in the same order.
const decoded = gets.map((message) => new ClientRequestView().decode(message));
const getKeys = decoded.map((view) => decodeKeyString(view.keyString()));
const getParts = decoded.map((view) => view.partition);
// Likewise for the batches: their keys and partitions, copied out of the requests.
const batchKeys = batches.map((message) => {
  const keys = new MultiGetRequestKeys().parse(new ClientRequestView().decode(message).keyBytes());
  return {
    partitions: keys.partitionId.slice(0, keys.count),
    keys: Array.from({ length: keys.count }, (_, i) => keys.keyBytes(i).slice()),
  };
});
const batchOut: (Uint8Array | null)[] = new Array(100);

/** Runs `step(i)` for `seconds`; returns µs per call. */
function measure(step: (i: number) => void): number {
  for (let i = 0; i < 20_000; i++) step(i); // warm-up: JIT and block cache
  let calls = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let j = 0; j < 1000; j++) step(calls++);
  }
  return ((performance.now() - start) * 1000) / calls;
}

const cases: [string, (i: number) => void][] = [
  ["storage get (StoreVersion.get)", (i) => {
    version.acquire();
    version.get(getParts[i % getKeys.length], getKeys[i % getKeys.length]);
    version.release();
  }],
  ["storage getMany of 100 (StoreVersion.getMany)", (i) => {
    const batch = batchKeys[i % batchKeys.length];
    version.acquire();
    version.getMany(batch.partitions, batch.keys, batchOut);
    version.release();
  }],
  ["ReadService get, no gate or metrics", (i) => void bare.handle(gets[i % gets.length], peer)],
  ["ReadService get, gate + metrics", (i) => void withMetrics.handle(gets[i % gets.length], peer)],
  [
    "ReadService batch of 100, no gate or metrics",
    (i) => void bare.handle(batches[i % batches.length], peer),
  ],
  [
    "ReadService batch of 100, gate + metrics",
    (i) => void withMetrics.handle(batches[i % batches.length], peer),
  ],
];
const results = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, step] of cases) {
    const us = measure(step);
    results.set(name, [...(results.get(name) ?? []), us]);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Read path without transport, Deno ${Deno.version.deno}, ${new Date().toISOString()}`);
console.log(
  `store ${RESOURCE}: ${spec.keys} keys, ${spec.valueBytes}-byte values, ${spec.partitions} partitions; ${rounds} rounds of ${seconds} s, medians`,
);
for (const [name, xs] of results) {
  console.log(
    `${name.padEnd(48)} ${median(xs).toFixed(2).padStart(8)} µs/call   (${
      xs.map((x) => x.toFixed(2)).join(", ")
    })`,
  );
}
await registry.close();
