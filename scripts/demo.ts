/**
 * The README's start command: builds a small demo store under ./data on first run, starts
 * `rialto serve` on its embedded defaults (gRPC 7070, admin 7071, data dir ./data), shows
 * a get and a batch get against it through `rialto get` / `rialto batch-get`, and keeps
 * serving until Ctrl-C.
 */
import { createStoreVersion } from "../src/tools/store_create.ts";
import { setupLogging } from "../src/log.ts";
import { SERVER_V8_FLAGS } from "../src/runtime_flags.ts";
import { pathExists } from "../src/path_exists.ts";

const DATA_DIR = "./data";
const STORE = "people";
const VERSION = 1;
const main = new URL("../src/main.ts", import.meta.url).pathname;

const KEY_SCHEMA = JSON.stringify("string");
const VALUE_SCHEMA = JSON.stringify({
  type: "record",
  name: "Person",
  namespace: "rialto.demo",
  fields: [
    { name: "name", type: "string" },
    { name: "age", type: "int" },
    { name: "email", type: ["null", "string"], default: null },
  ],
});

async function buildDemoStore(): Promise<void> {
  if (await pathExists(`${DATA_DIR}/rocksdb/${STORE}_v${VERSION}`)) return;
  const input = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++) {
      lines.push(JSON.stringify({
        key: `person-${i}`,
        value: {
          name: `Person ${i}`,
          age: 20 + (i % 60),
          email: i % 3 === 0 ? null : { string: `person${i}@example.com` },
        },
      }));
    }
    await Deno.writeTextFile(input, lines.join("\n") + "\n");
    const created = await createStoreVersion({
      dataDir: DATA_DIR,
      store: STORE,
      version: VERSION,
      partitions: 4,
      keySchema: KEY_SCHEMA,
      valueSchema: VALUE_SCHEMA,
      input,
      compression: "GZIP",
    });
    console.log(`demo: built ${created.resource} with ${created.records} records in ${DATA_DIR}`);
  } finally {
    await Deno.remove(input);
  }
}

async function rialto(...args: string[]): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args],
  }).output();
  const out = new TextDecoder().decode(code === 0 ? stdout : stderr).trim();
  console.log(`\n$ rialto ${args.join(" ")}\n${out}`);
}

await setupLogging("info");
await buildDemoStore();
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-all",
    "--unstable-net",
    `--v8-flags=${SERVER_V8_FLAGS}`,
    main,
    "serve",
    "--data-dir",
    DATA_DIR,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const forward = (signal: Deno.Signal) => () => server.kill(signal);
Deno.addSignalListener("SIGINT", forward("SIGINT"));
Deno.addSignalListener("SIGTERM", forward("SIGTERM"));

// The server prints one JSON line once it listens.
const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
let buffered = "";
while (!buffered.includes("\n")) {
  const { value, done } = await reader.read();
  if (done) Deno.exit((await server.status).code || 1);
  buffered += value;
}
const listening = JSON.parse(buffered.split("\n")[0]);
console.log(`demo: serving on gRPC port ${listening.grpcPort}, admin port ${listening.adminPort}`);
const where = ["--server", `127.0.0.1:${listening.grpcPort}`, "--data-dir", DATA_DIR];
await rialto("get", ...where, "--store", STORE, "--version", `${VERSION}`, "--key", '"person-7"');
await rialto(
  "batch-get",
  ...where,
  "--store",
  STORE,
  "--version",
  `${VERSION}`,
  "--key",
  '"person-1"',
  "--key",
  '"person-42"',
  "--key",
  '"nobody"',
);
const health = await fetch(`http://127.0.0.1:${listening.adminPort}/health`);
console.log(
  `\n$ curl http://127.0.0.1:${listening.adminPort}/health\n${(await health.text()).trim()}`,
);
console.log("\ndemo: the server keeps serving; Ctrl-C stops it.");
await reader.cancel();
Deno.exit((await server.status).code);
