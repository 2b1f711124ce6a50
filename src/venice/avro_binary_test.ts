import assert from "node:assert/strict";
import avro from "avsc";
import { AvroDecodeError, AvroReader, AvroWriter, intSize } from "./avro_binary.ts";

const u8 = (b: { buffer: ArrayBufferLike; byteOffset: number; length: number }) =>
  new Uint8Array(b.buffer, b.byteOffset, b.length);

Deno.test("int encoding matches avsc across the 32-bit range", () => {
  const intType = avro.Type.forSchema("int");
  const values = [
    0,
    1,
    -1,
    63,
    -64,
    64,
    8191,
    -8192,
    8192,
    2 ** 20,
    -(2 ** 27),
    2 ** 31 - 1,
    -(2 ** 31),
  ];
  for (const v of values) {
    const ours = new AvroWriter().writeInt(v).toBytes();
    assert.deepEqual(ours, u8(intType.toBuffer(v)), `int ${v}`);
    assert.equal(ours.length, intSize(v));
    assert.equal(new AvroReader(ours).readInt(), v);
  }
});

Deno.test("long, boolean, bytes, string and fixed match avsc", () => {
  const type = avro.Type.forSchema({
    type: "record",
    name: "R",
    fields: [
      { name: "l", type: "long" },
      { name: "b", type: "boolean" },
      { name: "y", type: "bytes" },
      { name: "s", type: "string" },
      { name: "f", type: { type: "fixed", name: "F", size: 4 } },
      { name: "l2", type: "long" },
    ],
  });
  const rec = {
    l: -(2 ** 40) - 3,
    b: true,
    y: new Uint8Array([0, 255, 7]),
    s: "ünï€😀",
    f: new Uint8Array([1, 2, 3, 4]),
    l2: 2 ** 52 + 1,
  };
  const ref = u8(type.toBuffer({ ...rec, y: Buffer.from(rec.y), f: Buffer.from(rec.f) }));
  const ours = new AvroWriter(1)
    .writeLong(rec.l).writeBoolean(rec.b).writeBytes(rec.y).writeString(rec.s)
    .writeFixed(rec.f, 4).writeLong(rec.l2).toBytes();
  assert.deepEqual(ours, ref);
  const r = new AvroReader(ours);
  assert.equal(r.readLong(), rec.l);
  assert.equal(r.readBoolean(), true);
  assert.deepEqual(r.readBytes(), rec.y);
  assert.equal(r.readString(), rec.s);
  assert.deepEqual(r.readFixed(4), rec.f);
  assert.equal(r.readLong(), rec.l2);
  assert.ok(r.atEnd);
});

Deno.test("64-bit longs round-trip as BigInt", () => {
  for (const v of [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]) {
    const bytes = new AvroWriter().writeLong(v).toBytes();
    assert.equal(new AvroReader(bytes).readLongBigInt(), v);
  }
  const big = new AvroWriter().writeLong(2n ** 60n).toBytes();
  assert.throws(() => new AvroReader(big).readLong(), AvroDecodeError);
});

Deno.test("truncated and over-long values throw AvroDecodeError", () => {
  const bad: [string, number[], (r: AvroReader) => unknown][] = [
    ["empty int", [], (r) => r.readInt()],
    ["truncated int", [0x80, 0x80], (r) => r.readInt()],
    ["int with a 6th byte", [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], (r) => r.readInt()],
    ["int past 32 bits", [0xff, 0xff, 0xff, 0xff, 0x1f], (r) => r.readInt()],
    ["long over 10 bytes", Array(10).fill(0xff).concat([1]), (r) => r.readLongBigInt()],
    ["truncated long", [0x80], (r) => r.readLongBigInt()],
    ["bytes past end", [0x08, 1, 2], (r) => r.readBytes()],
    ["negative length", [0x01], (r) => r.readBytes()],
    ["boolean 2", [2], (r) => r.readBoolean()],
    ["truncated boolean", [], (r) => r.readBoolean()],
    ["truncated fixed", [1, 2], (r) => r.readFixed(16)],
    ["invalid UTF-8", [0x04, 0xc3, 0x28], (r) => r.readString()],
  ];
  for (const [name, bytes, read] of bad) {
    assert.throws(() => read(new AvroReader(new Uint8Array(bytes))), AvroDecodeError, name);
  }
});

Deno.test("writer rejects values outside the Avro int range", () => {
  assert.throws(() => new AvroWriter().writeInt(2 ** 31), RangeError);
  assert.throws(() => new AvroWriter().writeInt(1.5), RangeError);
});

Deno.test("reader honours an end bound inside a larger buffer", () => {
  const bytes = new Uint8Array([0x02, 0x04, 0x06]);
  const r = new AvroReader(bytes, 1, 2);
  assert.equal(r.readInt(), 2);
  assert.ok(r.atEnd);
  assert.throws(() => r.readInt(), AvroDecodeError);
});

Deno.test("readLong agrees with avsc at every varint length", () => {
  const longType = avro.Type.forSchema("long");
  for (let bits = 0; bits <= 52; bits++) {
    for (const v of [2 ** bits - 1, -(2 ** bits), 2 ** bits, -(2 ** bits) + 1]) {
      if (!Number.isSafeInteger(v) || Math.abs(v) > 2 ** 52) continue;
      const bytes = u8(longType.toBuffer(v));
      const r = new AvroReader(bytes);
      assert.equal(r.readLong(), v, `long ${v}`);
      assert.ok(r.atEnd);
      assert.deepEqual(new AvroWriter().writeLong(v).toBytes(), bytes);
    }
  }
});
