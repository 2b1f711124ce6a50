import assert from "node:assert/strict";
import { SERVER_V8_FLAGS } from "./runtime_flags.ts";

Deno.test("deno.json's rialto task starts the server with the deployed V8 flags", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  const flags = /--v8-flags=(\S+)/.exec(config.tasks.rialto)?.[1];
  assert.equal(flags, SERVER_V8_FLAGS);
});

Deno.test("this Deno and its V8 accept every deployed V8 flag", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--v8-flags=${SERVER_V8_FLAGS}`, "console.log(1)"],
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  assert.equal(text, "");
});
