import assert from "node:assert/strict";
import { StreamTable } from "./stream_table.ts";

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

Deno.test("the stream table agrees with a Map through random opens and closes, as streams come and go", () => {
  for (const seed of [1, 2, 3, 4]) {
    const next = random(seed);
    const table = new StreamTable<string>(4);
    const map = new Map<number, string>();
    let nextId = 1;
    for (let step = 0; step < 20_000; step++) {
      const r = next();
      if (r < 0.45 || map.size === 0) {
        // Mostly rising odd ids, as a client opens streams; now and then one far away.
        const id = r < 0.02 ? 1 + 2 * Math.floor(next() * 1e6) : (nextId += 2);
        table.set(id, `s${id}`);
        map.set(id, `s${id}`);
      } else if (r < 0.9) {
        const ids = [...map.keys()];
        const id = ids[Math.floor(next() * ids.length)];
        assert.equal(table.delete(id), true);
        map.delete(id);
      } else {
        const id = 1 + 2 * Math.floor(next() * (nextId / 2 + 10));
        assert.equal(table.get(id), map.get(id), `get ${id} (seed ${seed}, step ${step})`);
        assert.equal(table.delete(id + 2 * 1e7), false);
      }
      assert.equal(table.size, map.size);
    }
    for (const [id, value] of map) assert.equal(table.get(id), value);
    assert.deepEqual(table.values().sort(), [...map.values()].sort());
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.get(nextId), undefined);
  }
});

Deno.test("ids that collide on their home slot are all found, and closing one keeps the others reachable", () => {
  const table = new StreamTable<number>(8);
  // 1, 17, 33: the same home slot (id >>> 1 & 7 is 0) in a table of 8.
  for (const id of [1, 17, 33, 3]) table.set(id, id);
  assert.equal(table.delete(1), true);
  for (const id of [17, 33, 3]) assert.equal(table.get(id), id);
  assert.equal(table.get(1), undefined);
  // The run wraps past the end of the slots.
  const wrapped = new StreamTable<number>(8);
  for (const id of [15, 31, 47]) wrapped.set(id, id);
  assert.equal(wrapped.delete(15), true);
  assert.equal(wrapped.get(31), 31);
  assert.equal(wrapped.get(47), 47);
});
