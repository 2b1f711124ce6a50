import assert from "node:assert/strict";
import { InputBuffer, SMALL_READ_BYTES } from "./input_buffer.ts";
import { READ_BUFFER_BYTES } from "./limits.ts";

/** Fills the space offered with `n` bytes of `value`, as a socket read would. */
function read(input: InputBuffer, n: number, value = 7): Uint8Array {
  const space = input.space();
  space.fill(value, 0, n);
  input.received(n);
  return space;
}

Deno.test("a quiet connection reads into a small buffer; a read that fills it moves it to a large one, eight small reads back", () => {
  const input = new InputBuffer();
  assert.equal(input.space().length, SMALL_READ_BYTES);
  read(input, SMALL_READ_BYTES);
  input.start = input.end; // all parsed
  assert.equal(input.space().length, READ_BUFFER_BYTES, "busy: large");
  for (let i = 0; i < 7; i++) {
    input.received(100);
    input.start = input.end;
    assert.equal(input.space().length, READ_BUFFER_BYTES, "a few small reads: still large");
  }
  input.received(100);
  input.start = input.end;
  assert.equal(input.space().length, SMALL_READ_BYTES, "quiet again: small");
});

Deno.test("a frame longer than the small buffer moves what is left of it to a large one", () => {
  const input = new InputBuffer();
  const space = input.space();
  // A DATA frame header announcing 10,000 bytes, and the first 91 of them.
  space.set([0x00, 0x27, 0x10, 0x00, 0x00, 0, 0, 0, 1]);
  space.fill(9, 9, 100);
  input.received(100);
  const next = input.space();
  assert.equal(input.bytes.length, READ_BUFFER_BYTES);
  assert.equal(input.end - input.start, 100);
  assert.deepEqual([...input.bytes.subarray(0, 3)], [0x00, 0x27, 0x10]);
  assert.ok(next.length >= 10_009 - 100);
});

Deno.test("a lent buffer is left as it is; the bytes not parsed yet move to another", () => {
  const input = new InputBuffer();
  const first = read(input, 50, 3);
  input.start = 20;
  input.lent = true;
  input.space();
  assert.notEqual(input.bytes.buffer, first.buffer);
  assert.equal(input.end - input.start, 30);
  assert.ok(input.bytes.subarray(input.start, input.end).every((b) => b === 3));
  first.fill(0);
  assert.ok(input.bytes.subarray(input.start, input.end).every((b) => b === 3), "a copy");
  assert.equal(input.lent, false);
});
