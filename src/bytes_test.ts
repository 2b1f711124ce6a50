import assert from "node:assert/strict";
import { copyBytes } from "./bytes.ts";

Deno.test("copyBytes copies a range to an offset, by the loop and by set alike", () => {
  for (const length of [0, 1, 100, 128, 129, 5000]) {
    const source = new Uint8Array(length + 7).map((_, i) => (i * 31 + 7) & 0xff);
    const target = new Uint8Array(length + 20).fill(0xee);
    copyBytes(target, 11, source, 5, 5 + length);
    assert.deepEqual(target.subarray(11, 11 + length), source.subarray(5, 5 + length));
    assert.ok(target.subarray(0, 11).every((b) => b === 0xee), `before, length ${length}`);
    assert.ok(target.subarray(11 + length).every((b) => b === 0xee), `after, length ${length}`);
  }
});
