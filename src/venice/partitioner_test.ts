import assert from "node:assert/strict";
import { defaultVenicePartition } from "./partitioner.ts";

/** MD5 digest bytes computed independently of node:crypto, by the md5sum tool. */
async function md5sum(key: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("md5sum", { stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(key);
  await w.close();
  const out = await child.output();
  const hex = new TextDecoder().decode(out.stdout).split(" ")[0];
  assert.equal(hex.length, 32);
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

const toBigInt = (d: Uint8Array) => d.reduce((acc, b) => acc * 256n + BigInt(b), 0n);

const enc = new TextEncoder();
const keys = [
  new Uint8Array(0),
  enc.encode("\x06abc"), // Avro string "abc"
  new Uint8Array([0x00]),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  enc.encode("people-key-12345"),
];

Deno.test("partitions equal the MD5 digest as a 128-bit number mod the partition count", async () => {
  for (const key of keys) {
    const digest = toBigInt(await md5sum(key));
    for (const n of [1, 2, 3, 7, 16, 100, 1024, 8_388_608]) {
      assert.equal(defaultVenicePartition(key, n), Number(digest % BigInt(n)), `n=${n}`);
    }
  }
});

Deno.test("hand-checked vector: MD5 of the empty key", () => {
  // MD5("") = d41d8cd98f00b204e9800998ecf8427e; as a number it is 0 mod 3, 1 mod 7 and 14 mod 16.
  assert.equal(BigInt("0xd41d8cd98f00b204e9800998ecf8427e") % 3n, 0n);
  assert.equal(defaultVenicePartition(new Uint8Array(0), 3), 0);
  assert.equal(defaultVenicePartition(new Uint8Array(0), 7), 1);
  assert.equal(defaultVenicePartition(new Uint8Array(0), 16), 0xe);
  assert.equal(defaultVenicePartition(new Uint8Array(0), 1), 0);
});

Deno.test("partition counts above 2^23 follow Java's int overflow", () => {
  // From Java 17: DefaultVenicePartitioner.getPartitionId's loop (MessageDigest MD5, then
  // modulo = (modulo * 256 + digit) % n in int arithmetic, Math.abs) run on these keys.
  const fromJava = [134724994, 74972069, 1339400049, 156493584, 1393548444];
  keys.forEach((key, i) => assert.equal(defaultVenicePartition(key, 2_000_000_011), fromJava[i]));
});

Deno.test("invalid partition counts are rejected", () => {
  assert.throws(() => defaultVenicePartition(new Uint8Array(1), 0), RangeError);
  assert.throws(() => defaultVenicePartition(new Uint8Array(1), 1.5), RangeError);
});
