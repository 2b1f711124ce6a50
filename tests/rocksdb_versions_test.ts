/**
 * RocksDB versions: Venice writes with RocksJava 9.x, Rialto reads with Debian's 7.8. A
 * version rewritten by a newer RocksDB (10.5, from npm's rocksdb-native, run under Node)
 * is served when its tables are in a format 7.8 reads, though its OPTIONS files name
 * options 7.8 does not know; one whose tables are in format_version 6 is refused with an
 * error naming the format and the Venice setting that chooses it.
 */
import assert from "node:assert/strict";
import { RocksDB } from "../ffi/mod.ts";
import { partitionDir } from "../src/storage/layout.ts";
import { TableFormatWatch } from "../src/storage/table_format.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import { METADATA_PARTITION_ID } from "../src/venice/version_metadata.ts";
import { personBytes, personKey } from "./support/read_fixture.ts";
import { makeStore, peopleStore } from "./support/stores.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const WRITER = new URL("./support/rocksdb10_writer.cjs", import.meta.url).pathname;
const COUNT = 20;
const PARTITIONS = 2;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Writes `entries` (hex) into the RocksDB at `dir` with RocksDB 10.5, its new tables in
 * `formatVersion`; the directory is created when missing, else opened and added to.
 */
async function writeWithRocksDB10(
  dir: string,
  formatVersion: number,
  entries: [string, string][],
): Promise<void> {
  const child = new Deno.Command("node", {
    args: [WRITER],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ dir, formatVersion, entries })));
  await writer.close();
  const { code, stderr } = await child.output();
  assert.equal(code, 0, `the RocksDB 10.5 writer failed: ${new TextDecoder().decode(stderr)}`);
}

/** Rewrites the RocksDB at `dir` from scratch with RocksDB 10.5, in `formatVersion`. */
async function rewriteWithRocksDB10(dir: string, formatVersion: number): Promise<void> {
  const entries: [string, string][] = [];
  {
    using db = RocksDB.open(dir, { mode: "read-only" });
    for (const [key, value] of db.iterate()) entries.push([hex(key), hex(value)]);
  }
  await Deno.remove(dir, { recursive: true });
  await writeWithRocksDB10(dir, formatVersion, entries);
}

/** people store `store` v1, every partition (metadata included) rewritten by RocksDB 10.5. */
async function versionFromRocksDB10(dataDir: string, store: string, formatVersion: number) {
  await makeStore(dataDir, peopleStore(store, 1, PARTITIONS, COUNT));
  const resource = `${store}_v1`;
  for (const partition of [...Array(PARTITIONS).keys(), METADATA_PARTITION_ID]) {
    await rewriteWithRocksDB10(partitionDir(dataDir, resource, partition), formatVersion);
  }
  return resource;
}

async function optionsFileOf(dir: string): Promise<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith("OPTIONS-")) return await Deno.readTextFile(`${dir}/${entry.name}`);
  }
  throw new Error(`no OPTIONS file in ${dir}`);
}

async function expectAllPeople(
  rialto: TestServer,
  resource: string,
  partitions = PARTITIONS,
): Promise<void> {
  for (let i = 0; i < COUNT; i++) {
    const { keyBytes, partition } = personKey(i, partitions);
    const r = await rialto.client.get(resource, partition, keyBytes);
    assert.equal(r.errorCode, Status.OK, r.errorMessage);
    assert.deepEqual(new Uint8Array(r.data), personBytes(i));
  }
}

Deno.test("a version written by RocksDB 10.5 in format_version 2 is served, though its OPTIONS name options 7.8 does not know", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const resource = await versionFromRocksDB10(dataDir, "modern", 2);
    const dir = partitionDir(dataDir, resource, 0);
    const options = await optionsFileOf(dir);
    assert.match(options, /rocksdb_version=10\.5\./);
    assert.match(options, /format_version=2\b/);

    // Debian's RocksDB 7.8 itself, asked to load these options, finds ones it does not know.
    const copy = `${dataDir}/ldb-copy`;
    await new Deno.Command("cp", { args: ["-r", dir, copy] }).output();
    const ldb = await new Deno.Command("ldb", {
      args: [`--db=${copy}`, "--try_load_options", "scan"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(ldb.stdout) + new TextDecoder().decode(ldb.stderr);
    assert.match(said, /Could not find option/, said);

    await using rialto = await startTestServer(dataDir);
    await expectAllPeople(rialto, resource);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a version in format_version 6 is refused, naming the format and rocksdb.block.base.format.version; the others keep serving", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const future = await versionFromRocksDB10(dataDir, "future", 6);
    assert.match(await optionsFileOf(partitionDir(dataDir, future, 0)), /format_version=6\b/);
    await makeStore(dataDir, peopleStore("today", 1, PARTITIONS, COUNT));

    await using rialto = await startTestServer(dataDir);
    const status = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/status`))
      .json();
    const refused = status.storage.notServed.find((v: { resource: string }) =>
      v.resource === future
    );
    assert.ok(refused, JSON.stringify(status.storage));
    assert.match(refused.reason, /block-based format_version 6/);
    assert.match(refused.reason, /rocksdb\.block\.base\.format\.version/);

    const { keyBytes, partition } = personKey(0, PARTITIONS);
    const r = await rialto.client.get(future, partition, keyBytes);
    assert.equal(r.errorCode, Status.INTERNAL_ERROR);
    assert.equal(
      r.errorMessage,
      `Internal Error: com.linkedin.venice.exceptions.VeniceNoStoreException: Store: ${future} does not exist.`,
    );
    await expectAllPeople(rialto, "today_v1");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a secondary whose primary starts writing format_version 6 tables stops serving that partition and says why", async () => {
  const root = await Deno.makeTempDir();
  const dataDir = `${root}/data`;
  try {
    await makeStore(dataDir, peopleStore("moving", 1, 1, COUNT));
    const resource = "moving_v1";
    await using rialto = await startTestServer(dataDir, {
      storage: { openMode: "secondary", secondaryDir: `${root}/secondary`, catchUpIntervalMs: 50 },
    });
    await expectAllPeople(rialto, resource, 1);

    // The primary's next flush is a table 7.8 cannot read: a newer RocksDB took over.
    const key = new TextEncoder().encode("new-key");
    await writeWithRocksDB10(partitionDir(dataDir, resource, 0), 6, [[hex(key), "00000001"]]);
    const { keyBytes, partition } = personKey(0, 1);
    await waitFor(
      "the partition withdrawn",
      async () =>
        (await rialto.client.get(resource, partition, keyBytes)).errorCode ===
          Status.SERVICE_UNAVAILABLE,
    );
    const r = await rialto.client.get(resource, partition, keyBytes);
    assert.equal(
      r.errorMessage,
      `Partition: 0 of store: ${resource} is not served: it cannot catch up with its primary (see /status)`,
    );
    const status = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/status`))
      .json();
    const report = status.stores.find((s: { name: string }) => s.name === "moving").versions[0]
      .partitionStates[0];
    assert.equal(report.state, "behind-primary");
    assert.match(report.error, /format_version 6/);
    assert.match(report.error, /rocksdb\.block\.base\.format\.version/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a format_version 6 table seen while its primary was still writing it is found once written", async () => {
  const root = await Deno.makeTempDir();
  try {
    const source = `${root}/source`;
    await writeWithRocksDB10(source, 6, [[hex(new TextEncoder().encode("k")), "00000001"]]);
    const table = [...Deno.readDirSync(source)].find((e) => e.name.endsWith(".sst"))!.name;
    const bytes = await Deno.readFile(`${source}/${table}`);

    const followed = `${root}/followed`;
    await Deno.mkdir(followed);
    const watch = new TableFormatWatch(followed);
    // The primary has written all but the footer: nothing to tell yet.
    const path = `${followed}/${table}`;
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 20));
    assert.equal(watch.unreadable(), null);
    await Deno.writeFile(path, bytes.subarray(bytes.length - 20), { append: true });
    assert.deepEqual(watch.unreadable(), { file: path, formatVersion: 6 });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
