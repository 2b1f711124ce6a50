import assert from "node:assert/strict";
import { CHECKOUT, deployedV8Flags, rialtoServeCommand } from "../scripts/bench/processes.ts";
import { SERVER_V8_FLAGS } from "../src/runtime_flags.ts";

/** A commit whose deployed V8 flags differ from today's: only --max-semi-space-size=4. */
const OLD_COMMIT = "81bc6f5";

async function git(...args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command("git", { args: ["-C", CHECKOUT, ...args], stderr: "piped" })
    .output();
}

Deno.test({
  name: "a --baseline checkout's servers start with that commit's deployed V8 flags",
  // A shallow clone may not hold the old commit: the test is then reported ignored, not passed.
  ignore: !(await git("cat-file", "-e", `${OLD_COMMIT}^{commit}`)).success,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rialto-baseline-" });
    const worktree = `${dir}/checkout`;
    const added = await git("worktree", "add", "--detach", worktree, OLD_COMMIT);
    assert.ok(added.success, new TextDecoder().decode(added.stderr));
    try {
      const old = await deployedV8Flags(worktree);
      assert.equal(old, "--max-semi-space-size=4");
      assert.equal(await deployedV8Flags(CHECKOUT), SERVER_V8_FLAGS);

      const command = rialtoServeCommand("/c.yaml", [], "--trace-gc", worktree, old);
      assert.ok(
        command.includes("--v8-flags=--max-semi-space-size=4,--trace-gc"),
        command.join(" "),
      );
      assert.ok(command.includes(`${worktree}/src/main.ts`), command.join(" "));
      const own = rialtoServeCommand("/c.yaml");
      assert.ok(own.includes(`--v8-flags=${SERVER_V8_FLAGS}`), own.join(" "));

      await assert.rejects(deployedV8Flags(dir), /Cannot read the deployed V8 flags/);
    } finally {
      await git("worktree", "remove", "--force", worktree);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
