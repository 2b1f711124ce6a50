import assert from "node:assert/strict";
import { BlockCache, RocksDB, RocksDBError, WriteBatch } from "./mod.ts";
import { evalJson } from "../tests/support/eval_json.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (s: string) => encoder.encode(s);
const text = (b: Uint8Array | null) => b === null ? null : decoder.decode(b);

async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rialto_rocksdb_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function openWritable(path: string, createColumnFamilies: string[] = []): RocksDB {
  return RocksDB.open(path, { mode: "read-write", createIfMissing: true, createColumnFamilies });
}

function assertRocksDBError(fn: () => unknown, code: string, includes?: string): RocksDBError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RocksDBError, `expected a RocksDBError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  if (includes !== undefined) assert.ok(caught.message.includes(includes), caught.message);
  return caught;
}

async function sstFileCount(path: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(path)) if (entry.name.endsWith(".sst")) count++;
  return count;
}

Deno.test("put, get and delete round-trip a value", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    db.put(bytes("store_key"), bytes("value-1"));
    assert.equal(text(db.get(bytes("store_key"))), "value-1");
    db.put(bytes("store_key"), bytes("value-2"));
    assert.equal(text(db.get(bytes("store_key"))), "value-2");
    db.delete(bytes("store_key"));
    assert.equal(db.get(bytes("store_key")), null);
  }));

Deno.test("a missing key reads as null and an empty value as an empty array", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    db.put(bytes("empty"), new Uint8Array(0));
    assert.equal(db.get(bytes("absent")), null);
    const empty = db.get(bytes("empty"));
    assert.ok(empty instanceof Uint8Array);
    assert.equal(empty.length, 0);
    // The same holds after a flush, when the value is read from an SST file.
    db.flush();
    assert.equal(db.get(bytes("absent")), null);
    assert.deepEqual(db.get(bytes("empty")), new Uint8Array(0));
  }));

Deno.test("binary keys with zero bytes are distinct keys", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    const keys = [
      new Uint8Array([0x61]),
      new Uint8Array([0x61, 0x00]),
      new Uint8Array([0x61, 0x00, 0x62]),
      new Uint8Array([0x00]),
      new Uint8Array([0x00, 0x00, 0xff]),
    ];
    keys.forEach((key, i) => db.put(key, new Uint8Array([i, 0, 255 - i])));
    db.flush();
    keys.forEach((key, i) => assert.deepEqual(db.get(key), new Uint8Array([i, 0, 255 - i])));
    assert.equal(db.get(new Uint8Array([0x61, 0x00, 0x63])), null);
    // A key that is a view into a bigger buffer reads only its own bytes.
    const big = new Uint8Array([9, 9, 0x61, 0x00, 0x62, 9]);
    assert.deepEqual(db.get(big.subarray(2, 5)), new Uint8Array([2, 0, 253]));
  }));

Deno.test("column families are created, written and read back separately", () =>
  withTempDir((dir) => {
    const path = `${dir}/db`;
    {
      using db = openWritable(path, ["timestamp_metadata"]);
      assert.deepEqual(db.columnFamilyNames, ["default", "timestamp_metadata"]);
      db.put(bytes("k"), bytes("value"));
      db.put(bytes("k"), bytes("replication-metadata"), "timestamp_metadata");
      db.put(bytes("only-rmd"), bytes("x"), "timestamp_metadata");
      assert.equal(text(db.get(bytes("k"))), "value");
      assert.equal(text(db.get(bytes("k"), "timestamp_metadata")), "replication-metadata");
      assert.equal(db.get(bytes("only-rmd")), null);
      assertRocksDBError(() => db.get(bytes("k"), "no_such_cf"), "InvalidArgument", "no_such_cf");
    }
    assert.deepEqual(RocksDB.listColumnFamilies(path).sort(), ["default", "timestamp_metadata"]);
    // Opening without naming column families opens them all.
    using reader = RocksDB.open(path, { mode: "read-only" });
    assert.deepEqual(reader.columnFamilyNames, ["default", "timestamp_metadata"]);
    assert.equal(text(reader.get(bytes("k"), "timestamp_metadata")), "replication-metadata");
    assert.deepEqual(
      reader.multiGet([bytes("only-rmd"), bytes("k")], "timestamp_metadata").map(text),
      [
        "x",
        "replication-metadata",
      ],
    );
  }));

Deno.test("a column family can be created on an open database", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    assert.deepEqual(db.columnFamilyNames, ["default"]);
    db.createColumnFamily("timestamp_metadata");
    db.createColumnFamily("timestamp_metadata");
    db.put(bytes("k"), bytes("v"), "timestamp_metadata");
    assert.equal(text(db.get(bytes("k"), "timestamp_metadata")), "v");
    assert.deepEqual(RocksDB.listColumnFamilies(`${dir}/db`).sort(), [
      "default",
      "timestamp_metadata",
    ]);
  }));

Deno.test("a write batch applies all of its operations together", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`, ["timestamp_metadata"]);
    db.put(bytes("old"), bytes("stale"));
    const batch = new WriteBatch()
      .put(bytes("a"), bytes("1"))
      .put(bytes("a"), bytes("1"), "timestamp_metadata")
      .delete(bytes("old"))
      .put(bytes("b"), bytes("2"));
    assert.equal(batch.count, 4);
    db.write(batch, { sync: true });
    assert.deepEqual(db.multiGet([bytes("a"), bytes("b"), bytes("old")]).map(text), [
      "1",
      "2",
      null,
    ]);
    assert.equal(text(db.get(bytes("a"), "timestamp_metadata")), "1");

    // A batch naming an unknown column family writes nothing at all.
    const bad = new WriteBatch().put(bytes("c"), bytes("3")).put(bytes("d"), bytes("4"), "nope");
    assertRocksDBError(() => db.write(bad), "InvalidArgument", "nope");
    assert.equal(db.get(bytes("c")), null);
    assert.equal(db.get(bytes("d")), null);

    // The batch copied its inputs: changing them later does not change what is written.
    const key = bytes("e");
    const later = new WriteBatch().put(key, bytes("5"));
    key[0] = 0x7a;
    db.write(later, { disableWAL: true });
    assert.equal(text(db.get(bytes("e"))), "5");
    assert.equal(db.get(bytes("z")), null);
  }));

Deno.test("multiGet returns values in order with missing keys as null and duplicates", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    for (let i = 0; i < 50; i += 2) db.put(bytes(`key-${i}`), bytes(`value-${i}`));
    db.flush();
    db.put(bytes("key-1"), bytes("in-memtable"));
    assert.deepEqual(db.multiGet([]), []);
    const keys = [
      bytes("key-4"),
      bytes("key-3"),
      bytes("key-1"),
      bytes("key-4"),
      bytes("nope"),
      bytes("key-48"),
      new Uint8Array(0),
    ];
    assert.deepEqual(db.multiGet(keys).map(text), [
      "value-4",
      null,
      "in-memtable",
      "value-4",
      null,
      "value-48",
      null,
    ]);
    // A batch larger than any before grows the shared buffers and stays correct.
    const many = Array.from({ length: 1000 }, (_, i) => bytes(`key-${i % 60}`));
    const results = db.multiGet(many);
    results.forEach((value, i) => {
      const n = i % 60;
      const expected = n === 1 ? "in-memtable" : n % 2 === 0 && n < 50 ? `value-${n}` : null;
      assert.equal(text(value), expected, `key-${n}`);
    });
  }));

Deno.test("multiGet and get return 1 MiB values intact", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    const big = (seed: number) => {
      const v = new Uint8Array(1024 * 1024);
      for (let i = 0; i < v.length; i++) v[i] = (i * 31 + seed) & 0xff;
      return v;
    };
    db.put(bytes("big-1"), big(1));
    db.put(bytes("big-2"), big(2));
    db.flush();
    const [one, missing, two] = db.multiGet([bytes("big-1"), bytes("none"), bytes("big-2")]);
    assert.equal(missing, null);
    assert.deepEqual(one, big(1));
    assert.deepEqual(two, big(2));
    assert.deepEqual(db.get(bytes("big-2")), big(2));
  }));

Deno.test("multiGetAsync matches multiGet", () =>
  withTempDir(async (dir) => {
    using db = openWritable(`${dir}/db`, ["timestamp_metadata"]);
    for (let i = 0; i < 300; i++) db.put(bytes(`k${i}`), bytes(`v${i}`));
    db.put(bytes("k1"), bytes("rmd"), "timestamp_metadata");
    db.flush();
    const keys = Array.from({ length: 400 }, (_, i) => bytes(`k${(i * 7) % 350}`));
    const [a, b] = await Promise.all([db.multiGetAsync(keys), db.multiGetAsync(keys.slice(0, 3))]);
    assert.deepEqual(a.map(text), db.multiGet(keys).map(text));
    assert.deepEqual(b.map(text), ["v0", "v7", "v14"]);
    assert.deepEqual(await db.multiGetAsync([]), []);
    assert.deepEqual((await db.multiGetAsync([bytes("k1")], "timestamp_metadata")).map(text), [
      "rmd",
    ]);
  }));

Deno.test("closing during a multiGetAsync waits for it, then closes", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/db`;
    const db = openWritable(path);
    for (let i = 0; i < 1000; i++) db.put(bytes(`k${i}`), bytes(`v${i}`));
    db.flush();
    const keys = Array.from({ length: 1000 }, (_, i) => bytes(`k${i}`));
    const pending = db.multiGetAsync(keys);
    db.close();
    assert.equal(db.closed, true);
    const values = await pending;
    assert.equal(text(values[999]), "v999");
    await assert.rejects(() => db.multiGetAsync(keys), RocksDBError);
    // The native close happened: the lock is free for a new writer.
    using again = openWritable(path);
    assert.equal(text(again.get(bytes("k5"))), "v5");
  }));

Deno.test("iterate honours prefix and start, and closes on early exit", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    for (const k of ["a1", "b1", "b2", "b3", "c1", "b\u00ff"]) db.put(bytes(k), bytes(`v-${k}`));
    db.flush();
    db.put(bytes("b0"), bytes("v-b0"));

    const all = [...db.iterate()].map(([k]) => text(k));
    assert.deepEqual(all, ["a1", "b0", "b1", "b2", "b3", "b\u00ff", "c1"]);

    const prefixed = [...db.iterate({ prefix: bytes("b") })].map(([k, v]) => [text(k), text(v)]);
    assert.deepEqual(prefixed, [
      ["b0", "v-b0"],
      ["b1", "v-b1"],
      ["b2", "v-b2"],
      ["b3", "v-b3"],
      ["b\u00ff", "v-b\u00ff"],
    ]);
    const fromB2 = [...db.iterate({ prefix: bytes("b"), start: bytes("b2") })].map(([k]) =>
      text(k)
    );
    assert.deepEqual(fromB2, ["b2", "b3", "b\u00ff"]);
    assert.deepEqual([...db.iterate({ prefix: bytes("zz") })], []);

    const seen: string[] = [];
    for (const [key] of db.iterate({ start: bytes("b") })) {
      seen.push(text(key)!);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, ["b0", "b1"]);

    // An iterator left suspended is closed with the database, and then fails cleanly.
    const suspended = db.iterate();
    assert.equal(text(suspended.next().value![0]), "a1");
    db.close();
    assertRocksDBError(() => suspended.next(), "Closed");
  }));

Deno.test("compactRange merges SST files and keeps the data", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/db`;
    using db = openWritable(path);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) db.put(bytes(`k${i}`), bytes(`r${round}-${i}`));
      db.delete(bytes(`k${round}`));
      db.flush();
    }
    assert.equal(await sstFileCount(path), 3);
    db.compactRange();
    assert.equal(await sstFileCount(path), 1);
    assert.equal(text(db.get(bytes("k50"))), "r2-50");
    assert.equal(text(db.get(bytes("k0"))), "r2-0");
    assert.equal(db.get(bytes("k2")), null);
  }));

Deno.test("a read-only open sees data written earlier and refuses writes", () =>
  withTempDir((dir) => {
    const path = `${dir}/db`;
    {
      using db = openWritable(path, ["timestamp_metadata"]);
      db.put(bytes("flushed"), bytes("1"));
      db.flush();
      db.put(bytes("in-wal"), bytes("2"));
    }
    using reader = RocksDB.open(path, { mode: "read-only" });
    assert.equal(reader.mode, "read-only");
    assert.equal(text(reader.get(bytes("flushed"))), "1");
    assert.equal(text(reader.get(bytes("in-wal"))), "2");
    const error = assertRocksDBError(
      () => reader.put(bytes("x"), bytes("y")),
      "NotSupported",
      `"${path}"`,
    );
    assert.match(error.message, /^Cannot write to RocksDB/);
    assertRocksDBError(() => reader.delete(bytes("flushed")), "NotSupported");
    assertRocksDBError(
      () => reader.write(new WriteBatch().put(bytes("x"), bytes("y"))),
      "NotSupported",
    );
    assertRocksDBError(() => reader.compactRange(), "NotSupported");
    assert.equal(reader.get(bytes("x")), null);
  }));

Deno.test("a read-only open of a missing path fails naming the path", () =>
  withTempDir((dir) => {
    const path = `${dir}/does_not_exist`;
    const error = assertRocksDBError(() => RocksDB.open(path, { mode: "read-only" }), "IOError");
    assert.ok(error.message.startsWith(`Cannot open RocksDB "${path}" read-only: `), error.message);
    assert.equal(error.path, path);
    assertRocksDBError(() => RocksDB.listColumnFamilies(path), "IOError", `"${path}"`);
    // Nothing was created by the failed open.
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
  }));

Deno.test("option mistakes are rejected before touching the disk", () =>
  withTempDir((dir) => {
    assert.throws(
      () => RocksDB.open(`${dir}/db`, { mode: "read-only", createIfMissing: true }),
      TypeError,
    );
    assert.throws(
      () => RocksDB.open(`${dir}/db`, { mode: "secondary" }),
      /needs a secondaryPath/,
    );
    assert.throws(
      () => RocksDB.open(`${dir}/db`, { mode: "read-only", createColumnFamilies: ["x"] }),
      TypeError,
    );
    assert.throws(
      () => RocksDB.open(`${dir}/db`, { mode: "read-write", blockSizeBytes: 0 }),
      RangeError,
    );
    assert.throws(() => new BlockCache(0), RangeError);
  }));

Deno.test("blockSizeBytes sets the data block size of the files written", () =>
  withTempDir(async (dir) => {
    const recordedBlockSize = async (path: string) => {
      for await (const entry of Deno.readDir(path)) {
        if (!entry.name.startsWith("OPTIONS-")) continue;
        const options = await Deno.readTextFile(`${path}/${entry.name}`);
        return Number(options.match(/^\s*block_size=(\d+)$/m)?.[1]);
      }
      return NaN;
    };
    for (
      const [name, blockSizeBytes, expected] of [["default", undefined, 4096], [
        "venice",
        16384,
        16384,
      ]] as const
    ) {
      const path = `${dir}/${name}`;
      {
        using db = RocksDB.open(path, {
          mode: "read-write",
          createIfMissing: true,
          blockSizeBytes,
        });
        for (let i = 0; i < 1000; i++) db.put(bytes(`k${i}`), bytes(`v${i}`.repeat(20)));
        db.flush();
      }
      assert.equal(await recordedBlockSize(path), expected, name);
      using reader = RocksDB.open(path, { mode: "read-only" });
      assert.equal(text(reader.get(bytes("k999"))), "v999".repeat(20));
    }
  }));

Deno.test("a secondary sees the primary's writes only after catching up", () =>
  withTempDir((dir) => {
    const path = `${dir}/primary`;
    using primary = openWritable(path, ["timestamp_metadata"]);
    primary.put(bytes("before"), bytes("1"));
    primary.flush();
    using secondary = RocksDB.open(path, { mode: "secondary", secondaryPath: `${dir}/secondary` });
    assert.equal(text(secondary.get(bytes("before"))), "1");

    primary.put(bytes("after-wal"), bytes("2"));
    primary.put(bytes("after-flush"), bytes("3"), "timestamp_metadata");
    primary.flush();
    primary.put(bytes("after-wal"), bytes("4"));
    assert.equal(secondary.get(bytes("after-wal")), null);
    assert.equal(secondary.get(bytes("after-flush"), "timestamp_metadata"), null);

    secondary.tryCatchUpWithPrimary();
    assert.equal(text(secondary.get(bytes("after-wal"))), "4");
    assert.equal(text(secondary.get(bytes("after-flush"), "timestamp_metadata")), "3");
    assertRocksDBError(() => secondary.put(bytes("x"), bytes("y")), "NotSupported");
  }));

Deno.test("close is safe twice and a closed database throws instead of crashing", () =>
  withTempDir(async (dir) => {
    const db = openWritable(`${dir}/db`);
    db.put(bytes("k"), bytes("v"));
    db.close();
    db.close();
    db[Symbol.dispose]();
    assert.equal(db.closed, true);
    const key = bytes("k");
    assertRocksDBError(() => db.get(key), "Closed", `RocksDB "${dir}/db" is closed`);
    assertRocksDBError(() => db.getInto(key, new Uint8Array(4)), "Closed");
    assertRocksDBError(() => db.multiGet([key]), "Closed");
    assertRocksDBError(() => db.put(key, key), "Closed");
    assertRocksDBError(() => db.delete(key), "Closed");
    assertRocksDBError(() => db.write(new WriteBatch()), "Closed");
    assertRocksDBError(() => db.flush(), "Closed");
    assertRocksDBError(() => db.compactRange(), "Closed");
    assertRocksDBError(() => db.tryCatchUpWithPrimary(), "Closed");
    assertRocksDBError(() => db.iterate().next(), "Closed");
    await assert.rejects(() => db.multiGetAsync([key]), RocksDBError);
  }));

Deno.test("getInto copies into the caller's buffer only when the value fits", () =>
  withTempDir((dir) => {
    using db = openWritable(`${dir}/db`);
    db.put(bytes("k"), bytes("hello"));
    const target = new Uint8Array(8).fill(0xee);
    assert.equal(db.getInto(bytes("k"), target.subarray(2)), 5);
    assert.deepEqual(target, new Uint8Array([0xee, 0xee, ...bytes("hello"), 0xee]));
    const small = new Uint8Array(3);
    assert.equal(db.getInto(bytes("k"), small), 5);
    assert.deepEqual(small, new Uint8Array(3));
    assert.equal(db.getInto(bytes("missing"), target), -1);
  }));

Deno.test("one block cache serves several databases and outlives its handle", () =>
  withTempDir((dir) => {
    const cache = new BlockCache(8 * 1024 * 1024);
    const paths = [`${dir}/a`, `${dir}/b`];
    for (const path of paths) {
      using db = openWritable(path);
      for (let i = 0; i < 2000; i++) db.put(bytes(`${path}-${i}`), new Uint8Array(100).fill(i));
      db.flush();
    }
    const readers = paths.map((path) => RocksDB.open(path, { blockCache: cache }));
    try {
      const before = cache.usageBytes;
      readers.forEach((db, n) =>
        assert.deepEqual(db.get(bytes(`${paths[n]}-7`)), new Uint8Array(100).fill(7))
      );
      assert.ok(cache.usageBytes > before, `cache usage ${before} -> ${cache.usageBytes}`);
      cache.close();
      cache.close();
      // The databases keep their own reference: reads still work after the handle closed.
      assert.deepEqual(readers[1].get(bytes(`${paths[1]}-9`)), new Uint8Array(100).fill(9));
      assertRocksDBError(() => RocksDB.open(paths[0], { blockCache: cache }), "Closed");
    } finally {
      readers.forEach((db) => db.close());
    }
  }));

Deno.test("library lookup tries the override, the configured path and system names in order", async () => {
  const libraryUrl = new URL("./library.ts", import.meta.url).href;
  const symbolsUrl = new URL("./rocksdb_symbols.ts", import.meta.url).href;
  const modUrl = new URL("./mod.ts", import.meta.url).href;
  // A symbol no library has makes every candidate fail, so the error must list them all.
  const script = `
    import { openLibrary } from "${libraryUrl}";
    import { ROCKSDB_LIBRARY_NAMES } from "${symbolsUrl}";
    import { loadRocksDB, RocksDB } from "${modUrl}";
    const out = {};
    try {
      openLibrary(ROCKSDB_LIBRARY_NAMES,
        { rocksdb_no_such_symbol: { parameters: [], result: "void" } }, "/configured/librocksdb.so");
    } catch (error) { out.message = error.message; out.name = error.name; }
    // With the override broken, loading still falls through to the system names.
    loadRocksDB({ libraryPath: "/configured/librocksdb.so" });
    try { RocksDB.listColumnFamilies("/nonexistent/db"); } catch (error) { out.afterLoad = error.name; }
    console.log(JSON.stringify(out));
  `;
  const { value: out } = await evalJson<{ name: string; afterLoad: string; message: string }>(
    script,
    { env: { ROCKSDB_LIB: "/nonexistent/librocksdb.so" } },
  );
  assert.equal(out.name, "LibraryNotFoundError");
  // The library loaded, so the listing reached RocksDB and failed there.
  assert.equal(out.afterLoad, "RocksDBError");
  const message: string = out.message;
  const expected = [
    "/nonexistent/librocksdb.so",
    "/configured/librocksdb.so",
    ...(Deno.build.os === "darwin"
      ? ["librocksdb.dylib", "/opt/homebrew/lib/librocksdb.dylib"]
      : ["librocksdb.so", "librocksdb.so.7.8", "/usr/lib/x86_64-linux-gnu/librocksdb.so.7.8"]),
  ];
  let at = -1;
  for (const path of expected) {
    const found = message.indexOf(`  ${path}: `);
    assert.ok(found > at, `"${path}" missing or out of order in:\n${message}`);
    at = found;
  }
  assert.match(message, /Set ROCKSDB_LIB/);
});
