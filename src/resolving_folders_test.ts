import assert from "node:assert/strict";
import { join } from "node:path";
import { resolvingFolders } from "./resolving_folders.ts";

Deno.test("resolvingFolders names each link's folder on the way, then the file's", () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "rialto-resolve-" }));
  try {
    Deno.mkdirSync(join(dir, "releases/7/..v1"), { recursive: true });
    Deno.writeTextFileSync(join(dir, "releases/7/..v1/rialto.yaml"), "");
    Deno.symlinkSync("..v1", join(dir, "releases/7/..data"));
    Deno.symlinkSync("..data/rialto.yaml", join(dir, "releases/7/rialto.yaml"));
    Deno.symlinkSync(join(dir, "releases/7"), join(dir, "conf"));
    Deno.writeTextFileSync(join(dir, "plain.yaml"), "");

    assert.deepEqual(resolvingFolders(join(dir, "plain.yaml")), [dir]);
    assert.deepEqual(resolvingFolders(join(dir, "absent.yaml")), [dir]);
    assert.deepEqual(resolvingFolders(join(dir, "no/such/rialto.yaml")), [dir]);
    assert.deepEqual(resolvingFolders(join(dir, "conf/rialto.yaml")), [
      dir, // conf, an absolute link
      join(dir, "releases/7"), // rialto.yaml, then ..data, relative links
      join(dir, "releases/7/..v1"), // the file itself
    ]);
    // `..` after a link leaves its target (releases/7), as the kernel resolves it.
    Deno.symlinkSync("releases/7/..v1", join(dir, "v1"));
    assert.deepEqual(resolvingFolders(`${dir}/v1/../rialto.yaml`), [
      dir,
      join(dir, "releases/7"),
      join(dir, "releases/7/..v1"),
    ]);
    assert.equal(
      Deno.realPathSync(`${dir}/v1/../rialto.yaml`),
      join(dir, "releases/7/..v1/rialto.yaml"),
    );
    Deno.symlinkSync("loop", join(dir, "loop"));
    assert.deepEqual(resolvingFolders(join(dir, "loop")), [dir]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
