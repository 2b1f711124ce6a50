import assert from "node:assert/strict";
import {
  zstdCompress,
  zstdDecompress,
  ZstdDictionary,
  ZstdError,
  zstdTrainDictionary,
  zstdVersion,
} from "./zstd.ts";

const enc = new TextEncoder();

function sampleRecords(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    enc.encode(
      JSON.stringify({
        id: i,
        name: `member-${i}`,
        title: ["engineer", "manager", "analyst"][i % 3],
        city: "Sunnyvale",
      }),
    ));
}

async function run(cmd: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  return out.stdout;
}

const haveZstdCli = (() => {
  try {
    return new Deno.Command("zstd", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!haveZstdCli) console.warn("zstd CLI missing: CLI interoperability tests are ignored");
const cliTest = haveZstdCli ? Deno.test : Deno.test.ignore;

Deno.test("libzstd loads and reports a 1.x version", () => {
  assert.match(zstdVersion(), /^1\.\d+\.\d+$/);
});

Deno.test("zstd round-trips empty, small and large inputs", () => {
  const big = new Uint8Array(3 << 20).map((_, i) => (i * 7) % 251);
  for (
    const input of [new Uint8Array(0), enc.encode("a"), enc.encode("hello ".repeat(1000)), big]
  ) {
    const c = zstdCompress(input, 3);
    assert.deepEqual(zstdDecompress(c), input);
  }
});

Deno.test("compressed frames record their content size (Venice needs it)", () => {
  const c = zstdCompress(enc.encode("x".repeat(500)));
  // Frame header descriptor: Frame_Content_Size_flag (bits 7-6) or Single_Segment_flag set.
  const fhd = c[4];
  assert.ok((fhd & 0xc0) !== 0 || (fhd & 0x20) !== 0, `descriptor 0x${fhd.toString(16)}`);
});

cliTest("frames from the zstd CLI decompress, with and without a content size", async () => {
  const data = enc.encode("venice ".repeat(10000));
  // Piped stdin: the CLI does not know the size, so the frame omits it (streaming path).
  const piped = await run("zstd", ["-q", "-c", "-"], data);
  assert.equal(piped[4] & 0xe0, 0, "the piped frame has no content size");
  assert.deepEqual(zstdDecompress(piped), data);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/in`, data);
    const out = await new Deno.Command("zstd", { args: ["-q", "-c", `${dir}/in`], stdout: "piped" })
      .output();
    assert.deepEqual(zstdDecompress(out.stdout), data);
    // And the CLI reads what we write.
    await Deno.writeFile(`${dir}/ours.zst`, zstdCompress(data));
    const back = await new Deno.Command("zstd", {
      args: ["-q", "-d", "-c", `${dir}/ours.zst`],
      stdout: "piped",
    }).output();
    assert.deepEqual(back.stdout, data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("garbage and truncated input throw ZstdError", () => {
  assert.throws(() => zstdDecompress(enc.encode("definitely not zstd")), ZstdError);
  assert.throws(() => zstdDecompress(new Uint8Array(0)), ZstdError);
  const c = zstdCompress(enc.encode("hello world ".repeat(100)));
  assert.throws(() => zstdDecompress(c.subarray(0, c.length - 3)), ZstdError);
  const corrupt = c.slice();
  corrupt[corrupt.length - 5] ^= 0xff;
  corrupt[10] ^= 0xff;
  assert.throws(() => zstdDecompress(corrupt), ZstdError);
});

Deno.test("a trained dictionary compresses and decompresses, and is needed to decompress", () => {
  const samples = sampleRecords(2000);
  const dictBytes = zstdTrainDictionary(samples, 16 * 1024);
  assert.ok(dictBytes.length > 0 && dictBytes.length <= 16 * 1024);
  // ZDICT dictionaries start with the zstd dictionary magic 0xEC30A437 (little endian).
  assert.deepEqual(Array.from(dictBytes.subarray(0, 4)), [0x37, 0xa4, 0x30, 0xec]);
  using dict = new ZstdDictionary(dictBytes, 3);
  const value = samples[1234];
  const c = dict.compress(value);
  assert.ok(c.length < zstdCompress(value).length, "the dictionary helps");
  assert.deepEqual(dict.decompress(c), value);
  assert.throws(
    () => zstdDecompress(c),
    ZstdError,
    "a frame that needs a dictionary fails without it",
  );
});

cliTest("dictionary frames interoperate with the zstd CLI", async () => {
  const samples = sampleRecords(2000);
  const dictBytes = zstdTrainDictionary(samples, 16 * 1024);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/dict`, dictBytes);
    using dict = new ZstdDictionary(dictBytes);
    const piped = await run("zstd", ["-q", "-c", "-D", `${dir}/dict`, "-"], samples[7]);
    assert.deepEqual(dict.decompress(piped), samples[7]);
    await Deno.writeFile(`${dir}/v.zst`, dict.compress(samples[8]));
    const back = await new Deno.Command("zstd", {
      args: ["-q", "-d", "-c", "-D", `${dir}/dict`, `${dir}/v.zst`],
      stdout: "piped",
    }).output();
    assert.deepEqual(back.stdout, samples[8]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a closed dictionary refuses work and closing twice is safe", () => {
  const dict = new ZstdDictionary(zstdTrainDictionary(sampleRecords(1000), 8192));
  dict.close();
  dict.close();
  assert.throws(() => dict.compress(enc.encode("x")), ZstdError);
});

Deno.test("training with too little data throws ZstdError", () => {
  assert.throws(() => zstdTrainDictionary([enc.encode("a"), enc.encode("b")], 4096), ZstdError);
});
