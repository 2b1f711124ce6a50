import assert from "node:assert/strict";
import avro from "avsc";
import requestSchema from "./schemas/MultiGetRouterRequestKeyV1.avsc.json" with { type: "json" };
import responseSchema from "./schemas/MultiGetResponseRecordV1.avsc.json" with { type: "json" };
import {
  AvroDecodeError,
  decodeMultiGetRequestKeys,
  decodeMultiGetResponseRecords,
  encodeMultiGetRequestKeys,
  encodeMultiGetResponseRecords,
  missingKeyRecord,
  MultiGetRequestKeys,
  multiGetResponseRecordSize,
  NON_EXISTING_KEY_SCHEMA_ID,
  writeMultiGetResponseRecord,
} from "./multiget.ts";

// deno-lint-ignore no-explicit-any
const requestType = avro.Type.forSchema(requestSchema as any);
// deno-lint-ignore no-explicit-any
const responseType = avro.Type.forSchema(responseSchema as any);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const u8 = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.length);

const keys = [
  { keyIndex: 0, keyBytes: new Uint8Array([2, 0x61]), partitionId: 3 },
  { keyIndex: 1, keyBytes: new Uint8Array(300).fill(7), partitionId: 0 },
  { keyIndex: 70000, keyBytes: new Uint8Array(0), partitionId: 2 ** 31 - 1 },
];

Deno.test("request keys encode exactly as avsc's MultiGetRouterRequestKeyV1 records", () => {
  const ref = concat(
    keys.map((k) => u8(requestType.toBuffer({ ...k, keyBytes: Buffer.from(k.keyBytes) }))),
  );
  assert.deepEqual(encodeMultiGetRequestKeys(keys), ref);
  assert.deepEqual(decodeMultiGetRequestKeys(ref), keys);
});

Deno.test("request parser reads until the bytes run out and reuses its arrays", () => {
  const many = Array.from({ length: 100 }, (_, i) => ({
    keyIndex: i,
    keyBytes: new Uint8Array([i, i + 1]),
    partitionId: i % 7,
  }));
  const parsed = new MultiGetRequestKeys(1);
  parsed.parse(encodeMultiGetRequestKeys(many));
  assert.equal(parsed.count, 100);
  assert.equal(parsed.partitionId[99], 99 % 7);
  assert.deepEqual(parsed.keyBytes(42), new Uint8Array([42, 43]));
  parsed.parse(encodeMultiGetRequestKeys(keys.slice(0, 1)));
  assert.equal(parsed.count, 1);
  parsed.parse(new Uint8Array(0));
  assert.equal(parsed.count, 0);
});

Deno.test("truncated request records throw AvroDecodeError", () => {
  const bytes = encodeMultiGetRequestKeys(keys);
  for (const cut of [1, 2, bytes.length - 1]) {
    assert.throws(() => new MultiGetRequestKeys().parse(bytes.subarray(0, cut)), AvroDecodeError);
  }
});

Deno.test("response records encode exactly as avsc's MultiGetResponseRecordV1 records", () => {
  const records = [
    { keyIndex: 0, value: new TextEncoder().encode("v0"), schemaId: 1 },
    { keyIndex: 5, value: new Uint8Array(200).fill(1), schemaId: 12 },
    missingKeyRecord(7),
    missingKeyRecord(0),
  ];
  const ref = concat(
    records.map((r) => u8(responseType.toBuffer({ ...r, value: Buffer.from(r.value) }))),
  );
  const ours = encodeMultiGetResponseRecords(records);
  assert.deepEqual(ours, ref);
  const back = decodeMultiGetResponseRecords(ours);
  assert.deepEqual(back, records);
  assert.equal(back[2].keyIndex, -7);
  assert.equal(back[2].schemaId, NON_EXISTING_KEY_SCHEMA_ID);
  assert.ok(Object.is(back[3].keyIndex, 0));
});

Deno.test("response records can be written in place into a pre-sized buffer", () => {
  const value = new Uint8Array([9, 9, 9]);
  const size = multiGetResponseRecordSize(-3, value.length, -1000) +
    multiGetResponseRecordSize(4, 3, 2);
  const out = new Uint8Array(size);
  let pos = writeMultiGetResponseRecord(out, 0, -3, value, -1000);
  pos = writeMultiGetResponseRecord(out, pos, 4, value, 2);
  assert.equal(pos, size);
  assert.deepEqual(decodeMultiGetResponseRecords(out).map((r) => r.keyIndex), [-3, 4]);
});

Deno.test("truncated response records throw AvroDecodeError", () => {
  const bytes = encodeMultiGetResponseRecords([{
    keyIndex: 1,
    value: new Uint8Array(4),
    schemaId: 1,
  }]);
  assert.throws(
    () => decodeMultiGetResponseRecords(bytes.subarray(0, bytes.length - 1)),
    AvroDecodeError,
  );
});
