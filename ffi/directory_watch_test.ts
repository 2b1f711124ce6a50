import assert from "node:assert/strict";
import { Change, DirectoryWatch } from "./directory_watch.ts";

Deno.test({
  name: "DirectoryWatch reports a watched folder's entries changing, and nothing deeper",
  // inotify is Linux's: elsewhere `open` is null and the registry keeps its stamps.
  ignore: Deno.build.os !== "linux",
  fn: async (t) => {
    const watch = DirectoryWatch.open();
    assert.ok(watch !== null, "no inotify on Linux");
    const dir = Deno.makeTempDirSync({ prefix: "rialto-watch-" });
    try {
      const a = `${dir}/a`;
      const b = `${dir}/b`;
      Deno.mkdirSync(`${a}/inner`, { recursive: true });
      Deno.mkdirSync(b);

      await t.step("new watches are reported as added, then the same folders are not", () => {
        assert.deepEqual(watch.watch([a, b]), { unwatched: [], added: true });
        assert.deepEqual(watch.watch([a, b]), { unwatched: [], added: false });
        assert.equal(watch.changed(), false);
      });

      await t.step("entries added, renamed and removed; a file written deeper is not", () => {
        Deno.writeTextFileSync(`${a}/inner/file`, "x");
        assert.equal(watch.changed(), false);
        Deno.mkdirSync(`${a}/p0`);
        assert.equal(watch.changed(), true);
        assert.equal(watch.changed(), false, "changed() drains what was queued");
        Deno.renameSync(`${a}/p0`, `${a}/p1`);
        assert.equal(watch.changed(), true);
        Deno.removeSync(`${a}/p1`);
        assert.equal(watch.changed(), true);
        Deno.writeTextFileSync(`${b}/f`, "y");
        assert.equal(watch.changed(), true);
        Deno.writeTextFileSync(`${b}/f`, "z");
        Deno.chmodSync(`${b}/f`, 0o600);
        assert.equal(watch.changed(), false, "a file there written: not an entry changing");
      });

      await t.step("a folder let go is not reported; one deleted is, and then absent", () => {
        watch.watch([a]);
        Deno.mkdirSync(`${b}/q`);
        assert.equal(watch.changed(), false);
        watch.watch([a, b]);
        assert.equal(watch.changed(), false);
        Deno.removeSync(b, { recursive: true });
        assert.equal(watch.changed(), true);
        assert.deepEqual(watch.watch([a, b]), { unwatched: [b], added: false });
      });

      await t.step("a folder moved away is reported, and its path watched anew", () => {
        Deno.renameSync(a, `${dir}/a-old`);
        assert.equal(watch.changed(), true);
        Deno.mkdirSync(a);
        assert.deepEqual(watch.watch([a]), { unwatched: [], added: true });
        Deno.mkdirSync(`${dir}/a-old/x`);
        assert.equal(watch.changed(), false, "the old folder is no longer watched");
        Deno.mkdirSync(`${a}/x`);
        assert.equal(watch.changed(), true);
      });

      await t.step("a file is refused (not a folder), and said to need another look", () => {
        Deno.writeTextFileSync(`${dir}/plain`, "");
        assert.deepEqual(watch.watch([a, `${dir}/plain`]), {
          unwatched: [`${dir}/plain`],
          added: true,
        });
      });
    } finally {
      watch.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "DirectoryWatch with files reports a file written or its mode set, in its folder or itself",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const watch = DirectoryWatch.open({ files: true });
    assert.ok(watch !== null, "no inotify on Linux");
    const dir = Deno.makeTempDirSync({ prefix: "rialto-watch-" });
    try {
      Deno.mkdirSync(`${dir}/inner`);
      Deno.writeTextFileSync(`${dir}/f`, "x");
      watch.watch([dir]);
      assert.equal(watch.changes(), Change.NONE);
      Deno.writeTextFileSync(`${dir}/f`, "y");
      assert.equal(watch.changes(), Change.WRITTEN);
      Deno.chmodSync(`${dir}/f`, 0o600);
      assert.equal(watch.changes(), Change.WRITTEN);
      Deno.writeTextFileSync(`${dir}/g`, "new");
      assert.equal(watch.changes(), Change.ENTRIES, "a file made is an entry, written or not");
      Deno.writeTextFileSync(`${dir}/inner/g`, "deeper");
      assert.equal(watch.changed(), false, "a file written deeper is not reported");
      Deno.renameSync(`${dir}/f`, `${dir}/h`);
      assert.equal(watch.changed(), true);

      // A file watched itself: written in place through a link in an unwatched folder (as
      // a file bind-mounted into a container is), which its folder's watch does not see.
      Deno.linkSync(`${dir}/h`, `${dir}/inner/h`);
      assert.equal(watch.changed(), false);
      Deno.writeTextFileSync(`${dir}/inner/h`, "through the other path");
      assert.equal(watch.changed(), false, "the folder's watch alone sees nothing");
      assert.deepEqual(watch.watch([dir, `${dir}/h`]), { unwatched: [], added: true });
      Deno.writeTextFileSync(`${dir}/inner/h`, "again");
      assert.equal(watch.changed(), true);
    } finally {
      watch.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
