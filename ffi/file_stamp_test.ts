import assert from "node:assert/strict";
import { fileStamp } from "./file_stamp.ts";

Deno.test("fileStamp gives the inode, size and modification time Deno's stat gives", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/config.yaml`;
    Deno.writeTextFileSync(path, "grpc:\n  port: 0\n");
    const old = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    Deno.utimeSync(path, old, old);
    const info = Deno.statSync(path);
    assert.deepEqual(fileStamp(path), {
      ino: info.ino,
      size: info.size,
      mtimeMs: old.getTime(),
    });
    assert.equal(fileStamp(dir)?.ino, Deno.statSync(dir).ino);

    // A rename over it, as editors and `rialto admin` write: another inode and size.
    Deno.writeTextFileSync(`${dir}/next`, "grpc:\n  port: 9\n  workers: 1\n");
    Deno.renameSync(`${dir}/next`, path);
    const renamed = fileStamp(path);
    assert.notEqual(renamed?.ino, info.ino);
    assert.equal(renamed?.size, Deno.statSync(path).size);
    assert.equal(fileStamp(`${dir}/missing`), null);
    assert.throws(() => fileStamp(`${path}/under-a-file`), Deno.errors.NotADirectory);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
