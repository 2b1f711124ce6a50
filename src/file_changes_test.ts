import assert from "node:assert/strict";
import { join } from "node:path";
import { FileChanges, stampOf } from "./file_changes.ts";

function withFolder(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "rialto-changes-" });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const folderWatch of [true, false]) {
  Deno.test({
    name: `FileChanges tells a file written, replaced or removed (folder watch ${folderWatch})`,
    ignore: folderWatch && Deno.build.os !== "linux",
    fn: () =>
      withFolder((dir) => {
        const a = join(dir, "a.pem");
        const b = join(dir, "b.pem");
        Deno.writeTextFileSync(a, "1");
        Deno.writeTextFileSync(b, "1");
        const changes = new FileChanges([a, b], { folderWatch });
        try {
          assert.equal(changes.differs(), false);
          Deno.writeTextFileSync(b, "22");
          assert.equal(changes.differs(), true);
          assert.equal(changes.differs(), true, "still, until accepted");
          changes.accept(changes.looked);
          assert.equal(changes.differs(), false);
          Deno.writeTextFileSync(`${a}.new`, "3");
          Deno.renameSync(`${a}.new`, a);
          assert.equal(changes.differs(), true);
          changes.accept(changes.stamp());
          Deno.removeSync(b);
          assert.equal(changes.differs(), true);
          changes.accept(changes.looked);
          // Another file in the folder written: the files' stamps did not move.
          Deno.writeTextFileSync(join(dir, "other.log"), "made");
          assert.equal(changes.differs(), false);
          Deno.writeTextFileSync(join(dir, "other.log"), "written");
          assert.equal(changes.differs(), false);
          const before = changes.looksThatStat;
          for (let i = 0; i < 5; i++) assert.equal(changes.differs(), false);
          // Through the watch, a look at still folders takes no stamp; without, each does.
          assert.equal(changes.looksThatStat - before, folderWatch ? 0 : 5);
        } finally {
          changes.close();
        }
      }),
  });
}

Deno.test("FileChanges reports a change made before it began, against the stamps accepted", () => {
  withFolder((dir) => {
    const a = join(dir, "a.pem");
    Deno.writeTextFileSync(a, "1");
    const accepted = stampOf([a]);
    Deno.writeTextFileSync(a, "changed before the watch");
    const changes = new FileChanges([a], { accepted });
    try {
      assert.equal(changes.differs(), true);
      changes.close();
      assert.equal(changes.differs(), true, "closed, it takes the stamps each look");
      changes.accept(changes.looked);
      assert.equal(changes.differs(), false);
    } finally {
      changes.close();
    }
  });
});

Deno.test("FileChanges tells a file written in place through another path (a bind mount)", () => {
  withFolder((dir) => {
    Deno.mkdirSync(join(dir, "host"));
    Deno.mkdirSync(join(dir, "container"));
    const host = join(dir, "host/rialto.yaml");
    const mounted = join(dir, "container/rialto.yaml");
    Deno.writeTextFileSync(host, "1");
    Deno.linkSync(host, mounted); // One inode, two folders: what a file bind mount shows.
    const changes = new FileChanges([mounted]);
    try {
      assert.equal(changes.differs(), false);
      Deno.writeTextFileSync(host, "written on the host");
      assert.equal(changes.differs(), true);
    } finally {
      changes.close();
    }
  });
});
