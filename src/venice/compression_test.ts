import assert from "node:assert/strict";
import { zstdTrainDictionary } from "../../ffi/zstd.ts";
import {
  CompressionError,
  CompressionStrategy,
  CompressorCache,
  createCompressor,
} from "./compression.ts";

const enc = new TextEncoder();
const value = enc.encode(JSON.stringify({ name: "member", tags: Array(50).fill("venice") }));
const samples = Array.from(
  { length: 1000 },
  (_, i) => enc.encode(`{"id":${i},"name":"member-${i}","city":"NYC"}`),
);

async function tool(cmd: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  assert.ok(out.success, `${cmd} ${args.join(" ")}`);
  return out.stdout;
}

Deno.test("strategy ids are Venice's", () => {
  assert.deepEqual({ ...CompressionStrategy }, { NO_OP: 0, GZIP: 1, ZSTD: 2, ZSTD_WITH_DICT: 3 });
});

Deno.test("every strategy round-trips", () => {
  const dictionary = zstdTrainDictionary(samples, 8192);
  for (const s of [0, 1, 2, 3]) {
    const c = createCompressor(s, { dictionary });
    for (const v of [value, new Uint8Array(0), new Uint8Array(200_000).fill(3)]) {
      assert.deepEqual(c.decompress(c.compress(v)), v, `strategy ${s}`);
    }
    c.close();
  }
});

Deno.test("gzip from the gzip tool decompresses, and gzip reads ours", async () => {
  const gz = createCompressor(CompressionStrategy.GZIP);
  assert.deepEqual(gz.decompress(await tool("gzip", ["-c"], value)), value);
  assert.deepEqual(await tool("gzip", ["-d", "-c"], gz.compress(value)), value);
  // Java's GzipCompressor header: 1f 8b 08, flags 0.
  assert.deepEqual(Array.from(gz.compress(value).subarray(0, 4)), [0x1f, 0x8b, 0x08, 0x00]);
});

Deno.test("zstd from the zstd tool decompresses, and zstd reads ours", async () => {
  const z = createCompressor(CompressionStrategy.ZSTD);
  assert.deepEqual(z.decompress(await tool("zstd", ["-q", "-c", "-"], value)), value);
  assert.deepEqual(await tool("zstd", ["-q", "-d", "-c", "-"], z.compress(value)), value);
});

Deno.test("garbage input throws CompressionError for each compressing strategy", () => {
  const dictionary = zstdTrainDictionary(samples, 8192);
  const garbage = enc.encode("this is not compressed at all");
  for (const s of [1, 2, 3]) {
    const c = createCompressor(s, { dictionary });
    assert.throws(() => c.decompress(garbage), CompressionError, `strategy ${s}`);
    c.close();
  }
});

Deno.test("ZSTD_WITH_DICT without a dictionary and unknown strategies are refused", () => {
  assert.throws(() => createCompressor(3), CompressionError);
  assert.throws(() => createCompressor(4), RangeError);
});

Deno.test("the compressor cache shares one compressor per dictionary", () => {
  const dictionary = zstdTrainDictionary(samples, 8192);
  const cache = new CompressorCache();
  const a = cache.acquire(3, { dictionary });
  const b = cache.acquire(3, { dictionary: dictionary.slice() });
  assert.equal(a, b);
  cache.release(a);
  assert.deepEqual(b.decompress(b.compress(value)), value, "still open after one release");
  cache.release(b);
  assert.throws(() => b.compress(value), CompressionError, "closed after the last release");
  cache.close();
});

Deno.test("an empty payload decompresses to empty, as in VeniceCompressor", () => {
  const dictionary = zstdTrainDictionary(samples, 8192);
  for (const s of [0, 1, 2, 3]) {
    const c = createCompressor(s, { dictionary });
    assert.equal(c.decompress(new Uint8Array(0)).length, 0);
    c.close();
  }
});
