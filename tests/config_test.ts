import assert from "node:assert/strict";
import { join } from "node:path";
import {
  applyOverrides,
  ConfigError,
  defaultConfig,
  parseConfig,
  type RialtoConfig,
  validateConfig,
} from "../src/config/schema.ts";
import { ConfigWatcher, diffConfig } from "../src/config/watcher.ts";
import { editConfigFile, setDiscoveryMode, setStoreEnabled } from "../src/config/edit.ts";
import { sha256Hex } from "../src/config/load.ts";
import { main as adminCli } from "../src/cli/admin.ts";

const EXAMPLE = new URL("../config/rialto.example.yaml", import.meta.url);

const DEFAULTS = {
  dataDir: "./data",
  grpc: {
    host: "0.0.0.0",
    port: 7070,
    transport: "native",
    io: "poller",
    workers: null,
    maxMessageBytes: 4194304,
    maxKeysPerBatch: null,
    asyncBatchMinKeys: null,
    tls: { enabled: false, certFile: null, keyFile: null, caFile: null, principal: "subject-cn" },
  },
  admin: { host: "127.0.0.1", port: 7071 },
  http: { host: null, port: null, tierRefreshIntervalMs: 1000 },
  storage: {
    rocksdbLibrary: null,
    blockCacheBytes: 268435456,
    openMode: "read-only",
    secondaryDir: null,
    catchUpIntervalMs: 1000,
    maxStalenessMs: null,
    versions: {},
  },
  stores: {},
  quota: {
    enabled: true,
    nodeCapacityRcuPerSecond: 100000,
    enforcementIntervalMs: 10000,
    bucketMultiplier: 5,
  },
  auth: {
    authorizer: "none",
    http: { url: null, refreshIntervalMs: 30000, timeoutMs: 500, whenUnreachable: "keep-last" },
  },
  discovery: {
    mode: "cluster",
    clusterName: "rialto",
    backend: "embedded",
    advertiseHost: null,
    embedded: { dir: null },
    zookeeper: { connect: "127.0.0.1:2181", rootPath: "/rialto", sessionTimeoutMs: 10000 },
  },
  logging: { level: "info" },
};

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.issues.map((i) => i.path);
  }
  assert.fail("expected a ConfigError");
}

function leaves(value: unknown, prefix: string[] = []): [string[], unknown][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [[prefix, value]];
    return entries.flatMap(([k, v]) => leaves(v, [...prefix, k]));
  }
  return [[prefix, value]];
}

function withValue(path: string[], value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let at = root;
  for (const key of path.slice(0, -1)) at = (at[key] = {}) as Record<string, unknown>;
  at[path[path.length - 1]] = value;
  return root;
}

Deno.test("an empty file yields every documented default", () => {
  assert.deepEqual(parseConfig("", "empty.yaml"), DEFAULTS);
  assert.deepEqual(parseConfig("# only a comment\n", "c.yaml"), DEFAULTS);
  assert.deepEqual(defaultConfig(), DEFAULTS);
  assert.deepEqual(parseConfig("grpc:\nstores:\n", "nulls.yaml"), DEFAULTS);
});

Deno.test("every field rejects a value of the wrong type, naming its path", () => {
  const all = leaves(DEFAULTS);
  assert.equal(all.length, 45, "every leaf of the contract");
  for (const [path, value] of all) {
    // The nullable numbers: 42 would be a valid value there.
    const bad = [
        "grpc.workers",
        "grpc.asyncBatchMinKeys",
        "http.port",
        "grpc.maxKeysPerBatch",
        "storage.maxStalenessMs",
      ].includes(
        path.join("."),
      )
      ? "many"
      : typeof value === "string" || value === null
      ? 42
      : "not-a-number-or-bool";
    assert.deepEqual(
      issuesOf(() => validateConfig(withValue(path, bad), "t")),
      [path.join(".")],
      `field ${path.join(".")}`,
    );
  }
  assert.deepEqual(issuesOf(() => validateConfig({ grpc: { port: 70000 } }, "t")), ["grpc.port"]);
  assert.deepEqual(issuesOf(() => validateConfig({ grpc: { transport: "h3" } }, "t")), [
    "grpc.transport",
  ]);
  assert.deepEqual(
    issuesOf(() => validateConfig({ stores: { people: { enabled: "yes" } } }, "t")),
    ["stores.people.enabled"],
  );
  assert.deepEqual(issuesOf(() => validateConfig({ stores: { "a/b": {} } }, "t")), ["stores.a/b"]);
  assert.deepEqual(issuesOf(() => validateConfig({ storage: { versions: { people: {} } } }, "t")), [
    "storage.versions.people",
  ]);
});

Deno.test("fields that depend on each other are checked together", () => {
  assert.deepEqual(issuesOf(() => validateConfig({ grpc: { tls: { enabled: true } } }, "t")), [
    "grpc.tls.certFile",
    "grpc.tls.keyFile",
    "grpc.tls.caFile",
  ]);
  assert.deepEqual(issuesOf(() => validateConfig({ auth: { authorizer: "http" } }, "t")), [
    "auth.http.url",
  ]);
  assert.deepEqual(issuesOf(() => validateConfig({ storage: { openMode: "secondary" } }, "t")), [
    "storage.secondaryDir",
  ]);
});

Deno.test("unknown fields are rejected with their path", () => {
  const text =
    "grpcc: 1\ngrpc:\n  tls:\n    enable: true\nstores:\n  people:\n    acl:\n      put: []\n";
  assert.deepEqual(issuesOf(() => parseConfig(text, "typos.yaml")).toSorted(), [
    "grpc.tls.enable",
    "grpcc",
    "stores.people.acl.put",
  ]);
});

Deno.test("broken YAML reports the line and column", () => {
  try {
    parseConfig("grpc:\n  port: 7070\n  host: [unclosed\n", "broken.yaml");
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.issues[0].line !== undefined, true);
    assert.match(error.message, /^Invalid config "broken\.yaml": line \d+, column \d+: /);
  }
  assert.deepEqual(issuesOf(() => parseConfig("- a\n- b\n", "list.yaml")), [""]);
  assert.throws(() => parseConfig("a: 1\na: 2\n", "dup.yaml"), /unique/);
});

Deno.test("the parsed config is deeply frozen", () => {
  const config = parseConfig("stores:\n  people:\n    acl:\n      get: [a]\n", "t");
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.grpc.tls));
  assert.ok(Object.isFrozen(config.stores.people.acl.get));
  assert.throws(() => {
    (config.grpc as { port: number }).port = 1;
  }, TypeError);
});

Deno.test("flags override the file, the file overrides defaults", () => {
  const file = parseConfig("dataDir: /from/file\ngrpc:\n  port: 8080\n", "t");
  const both = applyOverrides(file, { grpcPort: 9090, adminPort: 9091 });
  assert.equal(both.dataDir, "/from/file");
  assert.equal(both.grpc.port, 9090);
  assert.equal(both.admin.port, 9091);
  assert.equal(both.grpc.host, "0.0.0.0");
  assert.equal(file.grpc.port, 8080, "the original is untouched");
  assert.equal(applyOverrides(file, { dataDir: "/flag" }).dataDir, "/flag");
  assert.ok(Object.isFrozen(both.grpc));
  assert.deepEqual(issuesOf(() => applyOverrides(file, { grpcPort: 70000 })), ["grpc.port"]);
});

Deno.test("the example file parses to the defaults except where it says otherwise", async () => {
  const example = parseConfig(await Deno.readTextFile(EXAMPLE), "rialto.example.yaml");
  assert.deepEqual(
    { ...example, stores: {}, storage: { ...example.storage, versions: {} } },
    DEFAULTS,
  );
  assert.deepEqual(example.stores, {
    people: {
      enabled: true,
      readQuotaRcuPerSecond: null,
      acl: { get: ["client-a"], batchGet: ["client-a"] },
    },
  });
  assert.deepEqual(example.storage.versions, {
    people_v3: { compressionStrategy: "GZIP", chunked: true },
  });
});

Deno.test("diffConfig names changed sections, paths, stores and restart-only fields", () => {
  const a = parseConfig("stores:\n  people: {}\n", "a");
  const b = parseConfig(
    "grpc:\n  port: 1\nquota:\n  enabled: false\nstores:\n  people:\n    enabled: false\n",
    "b",
  );
  const change = diffConfig(a, b);
  assert.deepEqual(change.sections.toSorted(), ["grpc", "quota", "stores"]);
  assert.deepEqual(change.paths.toSorted(), [
    "grpc.port",
    "quota.enabled",
    "stores.people.enabled",
  ]);
  assert.deepEqual(change.stores, ["people"]);
  assert.deepEqual(change.restartRequired, ["grpc.port"]);
  assert.deepEqual(diffConfig(a, a).paths, []);
});

// ---------------------------------------------------------------------------------------
// Watcher

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rialto-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Resolves with the next applied config, or rejects after `ms`. */
function nextApplied(watcher: ConfigWatcher, ms = 1000): Promise<RialtoConfig> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`No config applied within ${ms} ms`));
    }, ms);
    const off = watcher.subscribe((config) => {
      clearTimeout(timer);
      off();
      resolve(config);
    });
  });
}

async function waitForReload(watcher: ConfigWatcher, sha256: string, ms = 1500) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (watcher.lastReload?.sha256 === sha256) return watcher.lastReload;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(
    `No reload of ${sha256.slice(0, 8)} within ${ms} ms: ${JSON.stringify(watcher.lastReload)}`,
  );
}

const sha = (text: string) => sha256Hex(new TextEncoder().encode(text));

Deno.test("the watcher applies valid changes within a second and keeps the old on failure", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    await Deno.writeTextFile(path, "quota:\n  enabled: true\n");
    const watcher = await ConfigWatcher.open({
      path,
      pollIntervalMs: 2000,
      debounceMs: 50,
      validate: (c) => {
        if (c.stores.ghost) throw new Error('stores.ghost: no store "ghost" under the data dir');
      },
    });
    try {
      assert.equal(watcher.generation, 1);
      assert.equal(watcher.sha256, await sha("quota:\n  enabled: true\n"));

      let started = Date.now();
      let applied = nextApplied(watcher);
      await Deno.writeTextFile(path, "quota:\n  enabled: false\n");
      assert.equal((await applied).quota.enabled, false);
      assert.ok(Date.now() - started < 1000);
      assert.equal(watcher.generation, 2);
      assert.equal(watcher.lastReload?.ok, true);

      const broken = "quota:\n  enabled: [\n";
      await Deno.writeTextFile(path, broken);
      let record = await waitForReload(watcher, await sha(broken));
      assert.equal(record.ok, false);
      assert.match(record.error!, /line \d+, column \d+/);
      assert.equal(watcher.config.quota.enabled, false);
      assert.equal(watcher.generation, 2);

      const badField = "grpc:\n  maxKeysPerBatch: lots\n";
      await Deno.writeTextFile(path, badField);
      record = await waitForReload(watcher, await sha(badField));
      assert.equal(record.ok, false);
      assert.match(record.error!, /grpc\.maxKeysPerBatch/);
      assert.equal(watcher.config.grpc.maxKeysPerBatch, null);

      const refused = "stores:\n  ghost:\n    enabled: true\n";
      await Deno.writeTextFile(path, refused);
      record = await waitForReload(watcher, await sha(refused));
      assert.equal(record.ok, false);
      assert.match(record.error!, /stores\.ghost/);
      assert.equal(watcher.config.stores.ghost, undefined);
      assert.equal(watcher.status().generation, 2);

      // Replaced by rename, as editors and `rialto admin` do.
      started = Date.now();
      applied = nextApplied(watcher);
      await Deno.writeTextFile(join(dir, "tmp.yaml"), "quota:\n  bucketMultiplier: 7\n");
      await Deno.rename(join(dir, "tmp.yaml"), path);
      assert.equal((await applied).quota.bucketMultiplier, 7);
      assert.ok(Date.now() - started < 1000);
      assert.equal(watcher.generation, 3);
    } finally {
      await watcher.close();
    }
  });
});

Deno.test("restart-only fields keep their running value while the rest applies", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    await Deno.writeTextFile(path, "grpc:\n  port: 7070\n");
    const watcher = await ConfigWatcher.open({ path, debounceMs: 20, pollIntervalMs: 2000 });
    try {
      let change: string[] = [];
      watcher.subscribe((_config, c) => {
        change = [...c.restartRequired];
      });
      const applied = nextApplied(watcher);
      await Deno.writeTextFile(path, "grpc:\n  port: 9999\n  maxKeysPerBatch: 100\n");
      const config = await applied;
      assert.equal(config.grpc.port, 7070);
      assert.equal(config.grpc.maxKeysPerBatch, 100);
      assert.deepEqual(change, ["grpc.port"]);
      assert.deepEqual(watcher.lastReload?.restartRequired, ["grpc.port"]);
      assert.deepEqual(watcher.status().pendingRestart, ["grpc.port"]);
    } finally {
      await watcher.close();
    }
  });
});

Deno.test("the stat poll notices a change when file events are missed", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    await Deno.writeTextFile(path, "dataDir: /a\n");
    // No file events and no folder watch: the stat alone must carry the change.
    const watcher = await ConfigWatcher.open({
      path,
      debounceMs: 20,
      pollIntervalMs: 200,
      fileEvents: false,
      folderWatch: false,
    });
    try {
      const applied = nextApplied(watcher, 1500);
      await Deno.writeTextFile(path, "dataDir: /b\n");
      assert.equal((await applied).dataDir, "/b");
      assert.ok(watcher.generation >= 2);
    } finally {
      await watcher.close();
    }
  });
});

Deno.test({
  name: "the poll stats the file only when its folders changed, links swapped on the way included",
  // inotify is Linux's: elsewhere the poll stats the file each time (the test above).
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await withTempDir(async (dir) => {
      // A deploy's layout: conf/ -> releases/1, whose rialto.yaml is a Kubernetes-like
      // link through ..data to a dated folder.
      const release = (n: number, text: string) => {
        Deno.mkdirSync(join(dir, `releases/${n}/..v1`), { recursive: true });
        Deno.writeTextFileSync(join(dir, `releases/${n}/..v1/rialto.yaml`), text);
        Deno.symlinkSync("..v1", join(dir, `releases/${n}/..data`));
        Deno.symlinkSync("..data/rialto.yaml", join(dir, `releases/${n}/rialto.yaml`));
      };
      release(1, "dataDir: /a\n");
      Deno.symlinkSync("releases/1", join(dir, "conf"));
      const path = join(dir, "conf/rialto.yaml");
      const watcher = await ConfigWatcher.open({
        path,
        debounceMs: 20,
        pollIntervalMs: 50,
        fileEvents: false,
      });
      try {
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(watcher.polledStats, 0, "nothing changed, yet the poll stat'ed the file");

        let applied = nextApplied(watcher, 1500);
        Deno.writeTextFileSync(join(dir, "releases/1/..v1/rialto.yaml"), "dataDir: /b\n");
        assert.equal((await applied).dataDir, "/b", "written in place, behind two links");

        applied = nextApplied(watcher, 1500);
        Deno.mkdirSync(join(dir, "releases/1/..v2"));
        Deno.writeTextFileSync(join(dir, "releases/1/..v2/rialto.yaml"), "dataDir: /c\n");
        Deno.symlinkSync("..v2", join(dir, "releases/1/..data_tmp"));
        Deno.renameSync(join(dir, "releases/1/..data_tmp"), join(dir, "releases/1/..data"));
        assert.equal((await applied).dataDir, "/c", "..data swapped");
        Deno.removeSync(join(dir, "releases/1/..v1"), { recursive: true });

        applied = nextApplied(watcher, 1500);
        release(2, "dataDir: /d\n");
        Deno.symlinkSync("releases/2", join(dir, "conf.new"));
        Deno.renameSync(join(dir, "conf.new"), join(dir, "conf"));
        assert.equal((await applied).dataDir, "/d", "the folder link swapped");

        // Settled again: the poll goes back to reading its watch alone.
        await new Promise((r) => setTimeout(r, 200));
        const stats = watcher.polledStats;
        await new Promise((r) => setTimeout(r, 400));
        assert.equal(watcher.polledStats, stats);
      } finally {
        await watcher.close();
      }
    });
  },
});

Deno.test("a watcher will not start on an invalid file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    await Deno.writeTextFile(path, "grpc:\n  port: -1\n");
    await assert.rejects(() => ConfigWatcher.open({ path }), /grpc\.port/);
    await assert.rejects(
      () => ConfigWatcher.open({ path: join(dir, "missing.yaml") }),
      ConfigError,
    );
  });
});

// ---------------------------------------------------------------------------------------
// Editing

Deno.test("edits keep every untouched line of the example byte for byte", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    const original = await Deno.readTextFile(EXAMPLE);
    await Deno.writeTextFile(path, original);
    await Deno.chmod(path, 0o640);
    await setStoreEnabled(path, "people", false);
    await setStoreEnabled(path, "orders", false);
    const result = await setDiscoveryMode(path, "store");
    const edited = await Deno.readTextFile(path);
    assert.equal(result.sha256, await sha(edited));
    assert.equal(result.config.discovery.mode, "store");
    assert.equal(result.config.stores.people.enabled, false);
    assert.equal(result.config.stores.orders.enabled, false);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);

    const before = original.split("\n");
    const after = edited.split("\n");
    const inserted = after.indexOf("  orders:");
    assert.ok(inserted > 0);
    assert.equal(after[inserted + 1], "    enabled: false");
    const afterWithoutInsert = [...after.slice(0, inserted), ...after.slice(inserted + 2)];
    assert.equal(afterWithoutInsert.length, before.length);
    const changed = before.flatMap((line, i) => line === afterWithoutInsert[i] ? [] : [i]);
    assert.equal(changed.length, 2);
    assert.match(before[changed[0]], /^ {4}enabled: true$/);
    assert.equal(afterWithoutInsert[changed[0]], "    enabled: false");
    assert.match(afterWithoutInsert[changed[1]], /^ {2}mode: store {19}# cluster: one resource/);
    assert.equal(
      afterWithoutInsert[changed[1]].indexOf("#"),
      before[changed[1]].indexOf("#"),
      "the comment stays in its column",
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["rialto.yaml"]);
  });
});

Deno.test("an edit that would make the config invalid writes nothing", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    const text = "# keep me\nstores:\n  people:\n    enabled: true\n";
    await Deno.writeTextFile(path, text);
    await assert.rejects(() => setStoreEnabled(path, "bad/name", false), ConfigError);
    await assert.rejects(
      () => editConfigFile(path, [{ path: ["grpc", "port"], value: "x" }]),
      /grpc\.port/,
    );
    assert.equal(await Deno.readTextFile(path), text);
    await Deno.writeTextFile(path, "grpc: [\n");
    await assert.rejects(() => setDiscoveryMode(path, "store"), ConfigError);
    assert.equal(await Deno.readTextFile(path), "grpc: [\n");
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["rialto.yaml"]);
  });
});

Deno.test("editing a missing file creates it with a header comment", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "new.yaml");
    const result = await setStoreEnabled(path, "people", false);
    assert.equal(result.created, true);
    const text = await Deno.readTextFile(path);
    assert.match(text, /^# Rialto configuration/);
    assert.equal(parseConfig(text, path).stores.people.enabled, false);
    const again = await setStoreEnabled(path, "people", false);
    assert.equal(again.changed, false);
  });
});

// ---------------------------------------------------------------------------------------
// Admin CLI against a server stand-in: a real ConfigWatcher behind GET /status.

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

Deno.test("rialto admin edits, then confirms the running server applied them", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    let watcher: ConfigWatcher | null = null;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        Response.json({
          config: watcher!.status(),
          stores: Object.entries(watcher!.config.stores).map(([name, s]) => ({
            name,
            enabled: s.enabled,
            versions: [`${name}_v1`],
          })),
          discovery: { mode: watcher!.config.discovery.mode },
        }),
    );
    try {
      await Deno.writeTextFile(
        path,
        `# test server\nadmin:\n  port: ${server.addr.port}\nstores:\n  people:\n    enabled: true\n`,
      );
      watcher = await ConfigWatcher.open({
        path,
        debounceMs: 20,
        pollIntervalMs: 500,
        validate: (c) => {
          for (const name of Object.keys(c.stores)) {
            if (name !== "people" && name !== "orders") {
              throw new Error(`stores.${name}: no store "${name}" under the data dir`);
            }
          }
        },
      });

      let c = capture();
      assert.equal(
        await adminCli(["disable-store", "people", "--config", path], c.io),
        0,
        c.err.join("\n"),
      );
      assert.match(c.out.join("\n"), /Applied by the server .* \(generation 2\)/);
      assert.equal(watcher.config.stores.people.enabled, false);

      c = capture();
      assert.equal(
        await adminCli(["discovery-mode", "store", "-c", path], c.io),
        0,
        c.err.join("\n"),
      );
      assert.equal(watcher.config.discovery.mode, "store");

      c = capture();
      assert.equal(await adminCli(["enable-store", "ghost", "--config", path], c.io), 4);
      assert.match(c.err.join("\n"), /rejected it .*stores\.ghost: no store "ghost"/);
      assert.equal(watcher.config.stores.ghost, undefined);

      c = capture();
      assert.equal(await adminCli(["stores", "--config", path], c.io), 0);
      assert.match(c.out.join("\n"), /people\s+false\s+people_v1/);

      c = capture();
      assert.equal(await adminCli(["status", "--config", path], c.io), 0);
      assert.equal(JSON.parse(c.out.join("\n")).config.generation, 3);
    } finally {
      await watcher?.close();
      await server.shutdown();
    }
  });
});

Deno.test("rialto admin says when no server answered, and checks its arguments", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rialto.yaml");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await Deno.writeTextFile(path, `admin:\n  port: ${port}\n`);

    let c = capture();
    assert.equal(
      await adminCli(["disable-store", "people", "--config", path, "--timeout-ms", "300"], c.io),
      3,
    );
    assert.match(c.err.join("\n"), /no server answered at http:\/\/127\.0\.0\.1:\d+\/status/);
    assert.equal(parseConfig(await Deno.readTextFile(path), path).stores.people.enabled, false);

    c = capture();
    assert.equal(await adminCli(["stores", "--config", path, "--timeout-ms", "300"], c.io), 3);
    assert.match(c.out.join("\n"), /people\s+false/);

    for (
      const args of [["discovery-mode", "ring"], ["enable-store"], ["frobnicate"], ["--bogus"]]
    ) {
      c = capture();
      assert.equal(await adminCli([...args, "--config", path], c.io), 2, args.join(" "));
    }
    c = capture();
    assert.equal(await adminCli(["--help"], c.io), 0);
    assert.match(c.out.join("\n"), /enable-store NAME/);
  });
});
