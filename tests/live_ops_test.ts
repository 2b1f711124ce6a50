/**
 * Operating a live server: config reloads, new and removed store versions, store
 * enablement through the admin CLI, and discovery (embedded and a real ZooKeeper), all
 * while reads run. No read that should succeed may fail.
 */
import assert from "node:assert/strict";
import { ReadClient } from "../src/client/read_client.ts";
import { ConfigWatcher } from "../src/config/watcher.ts";
import { resolve } from "../src/discovery/mod.ts";
import { type RialtoServer, startServer } from "../src/server.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import { decodeMultiGetResponseRecords } from "../src/venice/multiget.ts";
import { personBytes, personKey } from "./support/read_fixture.ts";
import { makeStore, peopleStore } from "./support/stores.ts";
import { waitFor } from "./support/wait.ts";
import { freePort, ZooKeeperServer, zookeeperUnavailable } from "./support/zookeeper.ts";
import { runRialto, startServe } from "./support/serve_process.ts";

const PARTITIONS = 3;
const key = (i: number) => personKey(i, PARTITIONS);

async function status(adminPort: number): Promise<
  { config: { generation: number; lastReload: { ok: boolean; error?: string } | null } }
> {
  return await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json();
}

interface LiveServer extends AsyncDisposable {
  server: RialtoServer;
  watcher: ConfigWatcher;
  client: ReadClient;
  configPath: string;
  adminPort: number;
  writeConfig(yaml: string): Promise<void>;
}

async function startLive(dataDir: string, body: string): Promise<LiveServer> {
  const configPath = `${dataDir}/rialto.yaml`;
  const adminPort = freePort();
  const header = `dataDir: ${dataDir}\nadmin:\n  port: ${adminPort}\n`;
  const writeConfig = async (yaml: string) => {
    const temp = `${configPath}.tmp`;
    await Deno.writeTextFile(temp, header + yaml);
    await Deno.rename(temp, configPath);
  };
  await writeConfig(body);
  const watcher = await ConfigWatcher.open({ path: configPath, overrides: { grpcPort: 0 } });
  const server = await startServer(watcher.config, { watcher, scanIntervalMs: 200 });
  const client = new ReadClient(`127.0.0.1:${server.grpcPort}`);
  return {
    server,
    watcher,
    client,
    configPath,
    adminPort,
    writeConfig,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.close();
      await watcher.close();
    },
  };
}

Deno.test("reloads and version swaps under a read load fail no read", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-live-" });
  try {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, 40));
    await using live = await startLive(dataDir, "quota:\n  enabled: false\n");
    let target = "people_v1";
    let reads = 0;
    const failures: string[] = [];
    let running = true;
    const reader = async (worker: number) => {
      while (running) {
        const i = (reads + worker) % 40;
        const resource = target;
        try {
          if (worker % 2 === 0) {
            const r = await live.client.get(resource, key(i).partition, key(i).keyBytes);
            if (r.errorCode !== Status.OK || !sameBytes(r.data, personBytes(i))) {
              failures.push(`get ${resource} person-${i}: ${r.errorCode} ${r.errorMessage}`);
            }
          } else {
            const r = await live.client.batchGet(resource, [key(i), key((i + 1) % 40)]);
            if (r.errorCode !== Status.OK || decodeMultiGetResponseRecords(r.data).length !== 2) {
              failures.push(`batchGet ${resource}: ${r.errorCode} ${r.errorMessage}`);
            }
          }
        } catch (error) {
          failures.push(`${resource}: ${error}`);
        }
        reads++;
      }
    };
    const readers = [0, 1, 2, 3].map(reader);
    try {
      for (let round = 0; round < 3; round++) {
        await live.writeConfig(
          `quota:\n  enabled: false\ngrpc:\n  maxKeysPerBatch: ${100 + round}\n`,
        );
        await new Promise((r) => setTimeout(r, 150));
      }
      // A push: version 2 appears, clients move to it, version 1 is removed.
      await makeStore(dataDir, peopleStore("people", 2, PARTITIONS, 40));
      await waitFor(
        "people_v2 to be served",
        () => live.server.registry.lookup("people_v2") !== undefined,
      );
      target = "people_v2";
      await new Promise((r) => setTimeout(r, 300));
      await Deno.remove(`${dataDir}/rocksdb/people_v1`, { recursive: true });
      await waitFor(
        "people_v1 to be retired",
        () => live.server.registry.lookup("people_v1") === undefined,
      );
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      running = false;
      await Promise.all(readers);
    }
    assert.deepEqual(failures, []);
    assert.ok(reads > 100, `only ${reads} reads ran`);
    const after = await live.client.get("people_v1", key(1).partition, key(1).keyBytes);
    assert.equal(after.errorCode, Status.INTERNAL_ERROR, "a removed version is no longer served");
    assert.match(after.errorMessage, /VeniceNoStoreException: Store: people_v1 does not exist\./);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("a bad config file is refused whole: old config kept, reads unaffected; a store named before its version lands is provisioned", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-badconfig-" });
  try {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, 40));
    await using live = await startLive(dataDir, "grpc:\n  maxKeysPerBatch: 2\n");
    const tooMany = [key(1), key(2), key(3)];
    const refused = async () => (await live.client.batchGet("people_v1", tooMany)).errorCode;
    assert.equal(await refused(), Status.BAD_REQUEST, "the file's limit of 2 keys is in force");
    const generation = (await status(live.adminPort)).config.generation;
    const bad: [string, RegExp][] = [
      ["grpc: [unclosed\n", /line \d+/],
      ["grpc:\n  maxKeysPerBatch: -5\n", /grpc\.maxKeysPerBatch/],
      ["surprise: true\n", /surprise/],
    ];
    for (const [yaml, why] of bad) {
      await live.writeConfig(yaml);
      await waitFor("the reload attempt", async () => {
        const s = await status(live.adminPort);
        return s.config.lastReload?.ok === false && why.test(s.config.lastReload.error ?? "");
      });
      const s = await status(live.adminPort);
      assert.equal(s.config.generation, generation, "a refused file does not become a generation");
      assert.equal(await refused(), Status.BAD_REQUEST, "the old limit stays in force");
      const r = await live.client.get("people_v1", key(4).partition, key(4).keyBytes);
      assert.equal(r.errorCode, Status.OK);
    }
    await live.writeConfig("grpc:\n  maxKeysPerBatch: 500\n");
    await waitFor(
      "the good file to apply",
      async () => (await status(live.adminPort)).config.lastReload?.ok === true,
    );
    assert.equal(await refused(), Status.OK);

    // A store named before any version of it lands is provisioned, not refused.
    const withoutVersions = async () =>
      (await (await fetch(`http://127.0.0.1:${live.adminPort}/status`)).json()).storage
        .configuredWithoutVersions;
    await live.writeConfig("stores:\n  ghost:\n    readQuotaRcuPerSecond: 10\n");
    await waitFor("the file naming ghost to apply", async () => {
      const s = await status(live.adminPort);
      return s.config.generation > generation + 1 && s.config.lastReload?.ok === true;
    });
    assert.deepEqual(await withoutVersions(), ["ghost"]);
    await makeStore(dataDir, peopleStore("ghost", 1, PARTITIONS, 5));
    await waitFor("ghost's version to land", async () => (await withoutVersions()).length === 0);
    const ghost = await live.client.get("ghost_v1", key(1).partition, key(1).keyBytes);
    assert.equal(ghost.errorCode, Status.OK, ghost.errorMessage);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** The `rialto` CLI from source (tests/support/serve_process.ts). */
const rialto = (...args: string[]) => runRialto(args);

Deno.test("the admin CLI disables and enables a store and switches discovery mode live", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-admin-" });
  try {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, 40));
    await makeStore(dataDir, peopleStore("places", 1, PARTITIONS, 40));
    await using live = await startLive(
      dataDir,
      "# Operators keep notes here.\ndiscovery:\n  mode: store   # one resource per store\n",
    );
    const config = () => live.watcher.config;
    // Each store's announcement is written on its own: wait for both.
    await waitFor(
      "store announcements",
      async () =>
        (await resolve(config(), "people")).length === 1 &&
        (await resolve(config(), "places")).length === 1,
    );

    const disabled = await rialto("admin", "disable-store", "people", "--config", live.configPath);
    assert.equal(disabled.code, 0, disabled.stderr);
    const r = await live.client.get("people_v1", key(1).partition, key(1).keyBytes);
    assert.equal(r.errorCode, Status.SERVICE_UNAVAILABLE);
    assert.match(r.errorMessage, /disabled/);
    await waitFor("people withdrawn", async () => (await resolve(config(), "people")).length === 0);
    assert.equal(
      (await live.client.get("places_v1", key(1).partition, key(1).keyBytes)).errorCode,
      Status.OK,
    );
    const text = await Deno.readTextFile(live.configPath);
    assert.match(text, /# Operators keep notes here\./);
    assert.ok(text.includes("mode: store   # one resource per store"), text);

    const stores = await rialto("admin", "stores", "--config", live.configPath);
    assert.equal(stores.code, 0, stores.stderr);
    assert.match(stores.stdout, /people/);

    const enabled = await rialto("admin", "enable-store", "people", "--config", live.configPath);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal(
      (await live.client.get("people_v1", key(1).partition, key(1).keyBytes)).errorCode,
      Status.OK,
    );
    await waitFor(
      "people announced again",
      async () => (await resolve(config(), "people")).length === 1,
    );

    const cluster = await rialto("admin", "discovery-mode", "cluster", "--config", live.configPath);
    assert.equal(cluster.code, 0, cluster.stderr);
    await waitFor(
      "the cluster announcement",
      async () => (await resolve(config(), "rialto")).length === 1,
    );
    await waitFor(
      "store announcements withdrawn",
      async () => (await resolve(config(), "people")).length === 0,
    );
    const [endpoint] = await resolve(config(), "rialto");
    assert.equal(endpoint.grpcPort, live.server.grpcPort);
    assert.deepEqual(Object.keys(endpoint.versions).sort(), ["people_v1", "places_v1"]);

    const listed = await rialto(
      "discovery",
      "list",
      "--resource",
      "rialto",
      "--config",
      live.configPath,
    );
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout)[0].grpcPort, live.server.grpcPort);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name: "ZooKeeper discovery follows the config live and survives ZooKeeper going away",
  ignore: zookeeperUnavailable !== null,
  async fn() {
    await using zk = await ZooKeeperServer.create();
    const dataDir = await Deno.makeTempDir({ prefix: "rialto-zk-" });
    try {
      await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, 40));
      const discovery = (mode: string) =>
        `discovery:\n  mode: ${mode}\n  backend: zookeeper\n  zookeeper:\n    connect: ${zk.connect}\n    rootPath: /rialto-test\n`;
      await using live = await startLive(dataDir, discovery("cluster"));
      const config = () => live.watcher.config;
      await waitFor(
        "the cluster znode",
        async () => (await resolve(config(), "rialto")).length === 1,
        15000,
      );

      await live.writeConfig(discovery("store"));
      await waitFor(
        "the store znode",
        async () => (await resolve(config(), "people")).length === 1,
        15000,
      );
      await waitFor(
        "the cluster znode withdrawn",
        async () => (await resolve(config(), "rialto")).length === 0,
        15000,
      );

      // ZooKeeper down: reads go on; announcements come back with it.
      await zk.stop();
      const r = await live.client.get("people_v1", key(2).partition, key(2).keyBytes);
      assert.equal(r.errorCode, Status.OK);
      await zk.start();
      await waitFor("the store znode after the restart", async () => {
        try {
          return (await resolve(config(), "people")).length === 1;
        } catch {
          return false;
        }
      }, 20000);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
if (zookeeperUnavailable !== null) {
  console.warn(`live_ops_test: ZooKeeper test skipped: ${zookeeperUnavailable}`);
}

Deno.test("the admin CLI finds a server whose --admin-port differs from the file's, through what the server publishes beside the file", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-published-" });
  try {
    await makeStore(dataDir, peopleStore("people", 1, PARTITIONS, 5));
    const configPath = `${dataDir}/rialto.yaml`;
    // The file names one admin port; the server is started on another.
    await Deno.writeTextFile(configPath, `dataDir: ${dataDir}\nadmin:\n  port: ${freePort()}\n`);
    const adminPort = freePort();
    const server = await startServe([
      ...["--config", configPath, "--admin-port", String(adminPort), "--grpc-port", "0"],
    ]);
    try {
      const published = JSON.parse(await Deno.readTextFile(`${configPath}.server.json`));
      assert.equal(published.adminPort, adminPort);
      const disabled = await rialto("admin", "disable-store", "people", "--config", configPath);
      assert.equal(disabled.code, 0, disabled.stderr);
      assert.match(
        disabled.stdout,
        new RegExp(`Applied by the server at http://127\\.0\\.0\\.1:${adminPort}/`),
      );
      const stores = await rialto("admin", "stores", "--config", configPath, "--json");
      assert.equal(stores.code, 0, stores.stderr);
    } finally {
      const stopped = await server.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
    }
    // Withdrawn on exit: the CLI falls back to the file's port (no server answers there).
    await assert.rejects(Deno.stat(`${configPath}.server.json`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
