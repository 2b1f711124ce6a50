import assert from "node:assert/strict";
import { join } from "node:path";
import { validateConfig } from "../src/config/schema.ts";
import {
  buildAnnouncements,
  Discovery,
  discoveryReport,
  embeddedDir,
  readEmbedded,
  resolve,
  serverIdentity,
} from "../src/discovery/mod.ts";
import { main as discoveryCli } from "../src/cli/discovery.ts";
import { runRialto } from "./support/serve_process.ts";

const held = { people_v3: [2, 0, 1], people_v4: [0], orders_v7: [0] };

function configFor(dir: string, mode: "cluster" | "store", disabled: string[] = []) {
  return validateConfig({
    dataDir: dir,
    grpc: { port: 7070 },
    stores: Object.fromEntries(disabled.map((s) => [s, { enabled: false }])),
    discovery: { mode, clusterName: "east", advertiseHost: "10.0.0.5" },
  }, "test");
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(at: string, prefix: string) {
    for await (const e of Deno.readDir(at)) {
      if (e.isDirectory) await walk(join(at, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  }
  await walk(dir, "");
  return out.sort();
}

Deno.test("announcements follow the mode and leave disabled stores out", () => {
  const config = configFor("/d", "cluster");
  const id = serverIdentity(config, { startedAt: new Date(0) });
  assert.equal(id.serverId, "10.0.0.5:7070");
  const [cluster, ...more] = buildAnnouncements(config, id, held, true, {
    people_v3: 3,
    orders_v7: 0,
    gone_v1: 1,
  });
  assert.equal(more.length, 0);
  assert.deepEqual(cluster, {
    format: 1,
    resource: "east",
    mode: "cluster",
    serverId: "10.0.0.5:7070",
    host: "10.0.0.5",
    grpcPort: 7070,
    tls: false,
    httpPort: null,
    ready: true,
    versions: { orders_v7: [0], people_v3: [0, 1, 2], people_v4: [0] },
    compressionStrategies: { orders_v7: 0, people_v3: 3 },
    startedAt: "1970-01-01T00:00:00.000Z",
    pid: Deno.pid,
  });
  const perStore = buildAnnouncements(configFor("/d", "store"), id, held, false);
  assert.deepEqual(perStore.map((a) => [a.resource, a.versions, a.ready]), [
    ["orders", { orders_v7: [0] }, false],
    ["people", { people_v3: [0, 1, 2], people_v4: [0] }, false],
  ]);
  const withoutOrders = buildAnnouncements(configFor("/d", "store", ["orders"]), id, held, true);
  assert.deepEqual(withoutOrders.map((a) => a.resource), ["people"]);
  const clusterWithout = buildAnnouncements(configFor("/d", "cluster", ["people"]), id, held, true);
  assert.deepEqual(clusterWithout[0].versions, { orders_v7: [0] });
});

Deno.test("embedded discovery publishes, switches modes, withdraws and closes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rialto-disc-" });
  const discovery = Discovery.open(configFor(dir, "cluster"), { retryMinMs: 20 });
  try {
    const id = serverIdentity(configFor(dir, "cluster"));
    const root = embeddedDir(configFor(dir, "cluster"));
    assert.equal(root, join(dir, "discovery"));

    discovery.publish(buildAnnouncements(configFor(dir, "cluster"), id, held, true));
    assert.equal(await discovery.settled(2000), true);
    assert.deepEqual(await files(root), ["east/10.0.0.5:7070.json"]);
    const stored = JSON.parse(await Deno.readTextFile(join(root, "east", "10.0.0.5:7070.json")));
    assert.equal(stored.grpcPort, 7070);
    assert.equal(stored.pid, Deno.pid);

    discovery.publish(buildAnnouncements(configFor(dir, "store"), id, held, true));
    assert.equal(await discovery.settled(2000), true);
    assert.deepEqual(await files(root), ["orders/10.0.0.5:7070.json", "people/10.0.0.5:7070.json"]);
    assert.deepEqual(await resolve(configFor(dir, "store"), "east"), []);

    discovery.publish(buildAnnouncements(configFor(dir, "store", ["people"]), id, held, true));
    assert.equal(await discovery.settled(2000), true);
    assert.deepEqual(await files(root), ["orders/10.0.0.5:7070.json"]);

    const report = discoveryReport(discovery);
    assert.equal(report.status.backend, "embedded");
    assert.equal(report.status.connected, true);
    assert.equal(report.status.pending, false);
    assert.deepEqual(report.status.announced, ["orders"]);
    assert.deepEqual(report.announcements.map((a) => a.resource), ["orders"]);
    assert.doesNotThrow(() => JSON.stringify(report));

    await discovery.close();
    assert.deepEqual(await files(root), []);
  } finally {
    await discovery.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("another process resolves embedded announcements with `rialto discovery list`", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rialto-disc-" });
  const discovery = Discovery.open(configFor(dir, "store"));
  try {
    const configFile = join(dir, "rialto.yaml");
    await Deno.writeTextFile(
      configFile,
      `dataDir: ${dir}\ndiscovery:\n  mode: store\n  advertiseHost: 10.0.0.5\n`,
    );
    const id = serverIdentity(configFor(dir, "store"));
    discovery.publish(buildAnnouncements(configFor(dir, "store"), id, held, true));
    assert.equal(await discovery.settled(2000), true);

    const output = await runRialto([
      "discovery",
      "list",
      "--resource",
      "people",
      "--config",
      configFile,
    ]);
    assert.equal(output.code, 0, output.stderr);
    const endpoints = JSON.parse(output.stdout);
    assert.deepEqual(
      endpoints.map((e: { host: string; grpcPort: number }) => [e.host, e.grpcPort]),
      [
        ["10.0.0.5", 7070],
      ],
    );
    assert.deepEqual(endpoints[0].versions, { people_v3: [0, 1, 2], people_v4: [0] });

    const lines: string[] = [];
    const code = await discoveryCli(["list"], {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    assert.equal(code, 2);
    assert.match(lines.join("\n"), /--resource/);
  } finally {
    await discovery.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("embedded readers skip announcements of processes that are gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rialto-disc-" });
  try {
    const child = new Deno.Command("true").spawn();
    await child.status;
    const config = configFor(dir, "cluster");
    const live = buildAnnouncements(config, serverIdentity(config), held, true)[0];
    const dead = { ...live, serverId: "10.0.0.6:7070", host: "10.0.0.6", pid: child.pid };
    await Deno.mkdir(join(dir, "discovery", "east"), { recursive: true });
    for (const a of [live, dead]) {
      await Deno.writeTextFile(
        join(dir, "discovery", "east", `${a.serverId}.json`),
        JSON.stringify(a),
      );
    }
    await Deno.writeTextFile(join(dir, "discovery", "east", "junk.json"), "{not json");
    const found = await readEmbedded(join(dir, "discovery"), "east");
    assert.deepEqual(found.map((a) => a.serverId), ["10.0.0.5:7070"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing backend never throws into the caller and shows in status", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rialto-disc-" });
  // A file where the announcement directory should be: every write fails until it goes.
  await Deno.writeTextFile(join(dir, "discovery"), "in the way");
  const config = configFor(dir, "cluster");
  const discovery = Discovery.open(config, { retryMinMs: 20, retryMaxMs: 100 });
  try {
    discovery.publish(buildAnnouncements(config, serverIdentity(config), held, true));
    assert.equal(await discovery.settled(300), false);
    const status = discovery.status();
    assert.equal(status.pending, true);
    assert.ok(status.failures >= 1);
    assert.ok(status.lastError !== null);
    await Deno.remove(join(dir, "discovery"));
    assert.equal(await discovery.settled(3000), true);
    assert.deepEqual((await resolve(config, "east")).map((e) => e.serverId), ["10.0.0.5:7070"]);
  } finally {
    await discovery.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reconfigure moves announcements to a new directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rialto-disc-" });
  const config = configFor(dir, "cluster");
  const discovery = Discovery.open(config);
  try {
    discovery.publish(buildAnnouncements(config, serverIdentity(config), held, true));
    assert.equal(await discovery.settled(2000), true);
    const moved = validateConfig({
      dataDir: dir,
      discovery: {
        clusterName: "east",
        advertiseHost: "10.0.0.5",
        embedded: { dir: join(dir, "b") },
      },
    }, "test");
    await discovery.reconfigure(moved);
    assert.equal(await discovery.settled(2000), true);
    assert.deepEqual(await files(join(dir, "b")), ["east/10.0.0.5:7070.json"]);
    assert.deepEqual(await files(join(dir, "discovery")), []);
  } finally {
    await discovery.close();
    await Deno.remove(dir, { recursive: true });
  }
});
