/**
 * The registry's scan of the data dir on real folders and RocksDB partitions: it lists
 * every partition only when inotify, or where there is none a few stats, say the listing
 * may have changed.
 */
import assert from "node:assert/strict";
import { partitionDir, versionDir } from "../src/storage/layout.ts";
import { type RegistrySettings, StoreRegistry } from "../src/storage/registry.ts";
import { makeStore, peopleStore } from "./support/stores.ts";

const HOUR_AGO = () => new Date(Date.now() - 3_600_000);

function settings(dataDir: string, watchFolders = true): RegistrySettings {
  return {
    watchFolders,
    dataDir,
    mode: "read-only",
    secondaryDir: null,
    blockCacheBytes: 8 << 20,
    overrides: {},
    maxStalenessMs: { default: null, stores: {} },
  };
}

/** Replaces a partition folder by a copy renamed over it, as Venice replaces one. */
async function replaceInPlace(partition: string): Promise<void> {
  const copy = `${partition}.copy`;
  await Deno.mkdir(copy);
  for await (const file of Deno.readDir(partition)) {
    await Deno.copyFile(`${partition}/${file.name}`, `${copy}/${file.name}`);
  }
  await Deno.remove(partition, { recursive: true });
  await Deno.rename(copy, partition);
}

/**
 * A partition of people_v2 replaced in place: reopened at the next sync. Then people_v1
 * removed: missed once (a rename may be under way), retired at the next scan.
 */
async function replaceThenRemove(registry: StoreRegistry, dataDir: string): Promise<void> {
  await replaceInPlace(partitionDir(dataDir, "people_v2", 0));
  assert.deepEqual((await registry.sync()).opened, ["people_v2"]);
  await registry.sync();
  await Deno.remove(versionDir(dataDir, "people_v1"), { recursive: true });
  assert.deepEqual((await registry.sync()).retired, []);
  assert.deepEqual((await registry.sync()).retired, ["people_v1"]);
}

/** Sets a folder's times to `when`, as if nothing had changed in it since. */
function backdate(path: string, when: Date): Promise<void> {
  return Deno.utime(path, when, when);
}

Deno.test("the data-dir scan trusts a settled listing stamp and sees every change that moves it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-scan-" });
  const registry = new StoreRegistry(settings(dataDir, false));
  try {
    await makeStore(dataDir, peopleStore("people", 1, 2, 10));
    const rootTime = HOUR_AGO();
    await backdate(`${dataDir}/rocksdb`, rootTime);
    await backdate(versionDir(dataDir, "people_v1"), HOUR_AGO());
    assert.deepEqual((await registry.sync()).opened, ["people_v1"]);
    await registry.sync(); // Takes the stamp of the folders the first scan listed.

    // A version whose folder time is put back: the stamp is unchanged, so no scan runs
    // and the version stays unseen. This is what the stamp saves, and why it must move.
    await makeStore(dataDir, peopleStore("people", 2, 2, 10));
    await backdate(`${dataDir}/rocksdb`, rootTime);
    assert.deepEqual((await registry.sync()).opened, []);
    assert.equal(registry.lookup("people_v2"), undefined);

    // The folder's time moves (as any entry added, removed or renamed moves it): scanned.
    await backdate(`${dataDir}/rocksdb`, new Date(rootTime.getTime() + 1000));
    assert.deepEqual((await registry.sync()).opened, ["people_v2"]);

    // A partition replaced in place, folder times left as the rename made them.
    await backdate(`${dataDir}/rocksdb`, HOUR_AGO());
    await backdate(versionDir(dataDir, "people_v2"), HOUR_AGO());
    await registry.sync();
    await registry.sync();
    await replaceThenRemove(registry, dataDir);
  } finally {
    await registry.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name: "the data-dir scan runs only when inotify saw a listed folder change",
  // Elsewhere there is no inotify: the stamps answer (the test above).
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "rialto-scan-" });
    const registry = new StoreRegistry(settings(dataDir));
    try {
      // No rocksdb folder yet: nothing to watch, so the stamps say when it comes.
      assert.deepEqual((await registry.sync()).opened, []);
      await makeStore(dataDir, peopleStore("people", 1, 2, 10));
      assert.deepEqual((await registry.sync()).opened, ["people_v1"]);
      // The watches began after that scan listed the folders: one more scan, then none.
      await registry.sync();
      const settled = registry.scans;
      for (let i = 0; i < 3; i++) await registry.sync();
      assert.equal(registry.scans, settled, "nothing changed: no scan");

      // Writes inside a partition (RocksDB's own files) are not the listing: no scan.
      await Deno.writeTextFile(`${partitionDir(dataDir, "people_v1", 0)}/LOG.old.1`, "x");
      await registry.sync();
      assert.equal(registry.scans, settled);

      // A new version, seen at once (no folder time to wait for).
      await makeStore(dataDir, peopleStore("people", 2, 2, 10));
      assert.deepEqual((await registry.sync()).opened, ["people_v2"]);
      await registry.sync();
      const afterV2 = registry.scans;
      await registry.sync();
      assert.equal(registry.scans, afterV2);

      await replaceThenRemove(registry, dataDir);

      // The whole rocksdb folder moved away and back: its own watch reports it.
      await registry.sync();
      const beforeMove = registry.scans;
      await Deno.rename(`${dataDir}/rocksdb`, `${dataDir}/rocksdb.away`);
      assert.deepEqual((await registry.sync()).retired, []);
      assert.equal(registry.scans, beforeMove + 1);
      await Deno.rename(`${dataDir}/rocksdb.away`, `${dataDir}/rocksdb`);
      await registry.sync();
      assert.ok(registry.lookup("people_v2") !== undefined, "back before the second miss");
    } finally {
      await registry.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
