/**
 * The single executable: scripts/compile.ts refuses, fast and saying why, when it has no
 * denort to build on; and where it has one (DENORT_BIN, or Deno's cache) the binary it
 * builds runs `--help`, `store create` and `serve`, answers a get, and loads the same
 * librocksdb as a run from source. Without a denort the build test is registered as
 * ignored with the reason; no binary is ever faked.
 */
import assert from "node:assert/strict";
import { ReadClient } from "../src/client/read_client.ts";
import { keyBytes } from "./support/read_fixture.ts";
import { defaultVenicePartition } from "../src/venice/partitioner.ts";
import { DenortUnavailableError, findBaseRuntime, type Target } from "../scripts/compile.ts";
import { REPO_ROOT, runRialto, startServe } from "./support/serve_process.ts";
import { pathExists } from "../src/path_exists.ts";

const COMPILE_SCRIPT = `${REPO_ROOT}scripts/compile.ts`;
const HOST_TARGET = Deno.build.target as Target;

/** Runs scripts/compile.ts with `env` replacing DENORT_BIN (undefined: unset). */
async function runCompile(args: string[], denortBin: string | undefined) {
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  if (denortBin !== undefined) env.DENORT_BIN = denortBin;
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", COMPILE_SCRIPT, ...args],
    cwd: REPO_ROOT,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(15 * 60_000),
  }).output();
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    seconds: (performance.now() - started) / 1000,
  };
}

/** The librocksdb file a running process has mapped (Linux), resolved to its real path. */
async function mappedRocksDB(pid: number): Promise<string> {
  const maps = await Deno.readTextFile(`/proc/${pid}/maps`);
  const line = maps.split("\n").find((l) => /\/librocksdb[^/]*$/.test(l));
  assert.ok(line, `process ${pid} has no librocksdb mapped`);
  return await Deno.realPath(line.slice(line.indexOf("/")));
}

// Decided once, up front: can this machine build a binary without downloading?
let buildSkipReason: string | null = null;
let noDenortReason: string | null = null;
try {
  const runtime = await findBaseRuntime(HOST_TARGET);
  if (runtime.source === "download") {
    buildSkipReason = `DENORT_BIN is not set and denort is not cached; this test does not ` +
      `download it (${runtime.url} is reachable: set DENORT_BIN or run deno task compile once)`;
  }
} catch (error) {
  if (!(error instanceof DenortUnavailableError)) throw error;
  buildSkipReason = error.message;
  if (!Deno.env.get("DENORT_BIN")) noDenortReason = error.message;
}
if (buildSkipReason) console.log(`Skipping the compiled-binary test: ${buildSkipReason}`);

Deno.test({
  name: "compile fails within seconds, naming DENORT_BIN, when no denort is at hand",
  // Only meaningful where the download is unreachable and nothing is cached.
  ignore: noDenortReason === null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "rialto-compile-" });
    try {
      const output = `${dir}/rialto`;
      const r = await runCompile(["--output", output], undefined);
      assert.equal(r.code, 1, r.stderr);
      // Unreachable, or reachable without this denort (HTTP 4xx): both name DENORT_BIN.
      assert.match(r.stderr, /DENORT_BIN is not set and /);
      assert.match(r.stderr, /Set DENORT_BIN to a denort/);
      assert.ok(r.seconds < 30, `it took ${r.seconds.toFixed(1)} s`);
      assert.equal(await pathExists(output), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("compile refuses a DENORT_BIN that is not a denort for the target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rialto-compile-" });
  try {
    const output = `${dir}/rialto`;
    const notABinary = `${dir}/denort`;
    await Deno.writeTextFile(notABinary, "#!/bin/sh\necho not a runtime\n");
    const cases: [string[], string, RegExp][] = [
      [[], `${dir}/absent`, /DENORT_BIN is set to ".*absent", which cannot be read/],
      [[], notABinary, /not an ELF or Mach-O executable, not a denort for/],
      [[], Deno.execPath(), /the deno CLI itself, not a denort runtime/],
    ];
    await Promise.all(cases.map(async ([args, denortBin, message]) => {
      const r = await runCompile(["--output", output, ...args], denortBin);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(r.seconds < 30, `it took ${r.seconds.toFixed(1)} s`);
    }));
    assert.equal(await pathExists(output), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile accepts only Rialto's targets", async () => {
  for (const args of [["--target", "x86_64-pc-windows-msvc"], ["--bogus"]]) {
    const r = await runCompile(args, undefined);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Usage: deno task compile/);
  }
});

Deno.test({
  name: "the compiled binary creates a store, serves it and finds librocksdb like deno run",
  ignore: buildSkipReason !== null,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "rialto-binary-" });
    try {
      const binary = `${dir}/rialto`;
      const dataDir = `${dir}/data`;
      await t.step("deno task compile builds it", async () => {
        const r = await runCompile(["--output", binary], Deno.env.get("DENORT_BIN"));
        assert.equal(r.code, 0, r.stderr);
        assert.ok((await Deno.stat(binary)).isFile);
      });

      await t.step("--help prints rialto's usage", async () => {
        const r = await runRialto(["--help"], { command: [binary] });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Usage: rialto <command>/);
        assert.match(r.stdout, /serve/);
      });

      await t.step("store create builds a store version", async () => {
        const r = await runRialto([
          "store",
          "create",
          "--data-dir",
          dataDir,
          "--store",
          "people",
          "--version",
          "1",
          "--partitions",
          "2",
          "--key-schema",
          `${REPO_ROOT}tests/testdata/person_key.avsc`,
          "--value-schema",
          `${REPO_ROOT}tests/testdata/person_value.avsc`,
          "--input",
          `${REPO_ROOT}tests/testdata/people.jsonl`,
          "--no-progress",
        ], { command: [binary] });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(await pathExists(`${dataDir}/rocksdb/people_v1/people_v1_0`));
      });

      await t.step("serve answers a get, with the same librocksdb as deno run", async () => {
        const args = ["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"];
        await using compiled = await startServe(args, { command: [binary] });
        await using fromSource = await startServe(args);
        for (const server of [compiled, fromSource]) {
          using client = new ReadClient(server.address);
          const key = keyBytes("alice");
          const r = await client.get("people_v1", defaultVenicePartition(key, 2), key);
          assert.equal(r.errorCode, 200, r.errorMessage);
          assert.ok(r.data.length > 0);
          const missing = await client.get("people_v1", 0, keyBytes("nobody"));
          assert.equal(missing.errorCode, -420);
        }
        if (Deno.build.os === "linux") {
          assert.equal(
            await mappedRocksDB(compiled.child.pid),
            await mappedRocksDB(fromSource.child.pid),
          );
        }
      });

      await t.step("the compiled binary's get command reads through it", async () => {
        await using server = await startServe(
          ["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"],
          { command: [binary] },
        );
        const r = await runRialto([
          "get",
          "--server",
          server.address,
          "--data-dir",
          dataDir,
          "--store",
          "people",
          "--version",
          "1",
          "--key",
          '"alice"',
        ], { command: [binary] });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), {
          name: "Alice",
          age: 34,
          email: { string: "alice@example.com" },
        });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
