/**
 * Discovery against a real ZooKeeper (Debian's package), started once for this file and
 * stopped in `finally`. Without the package the test is reported as ignored, with why.
 */
import assert from "node:assert/strict";
import { validateConfig } from "../src/config/schema.ts";
import {
  buildAnnouncements,
  Discovery,
  type Endpoint,
  resolve,
  serverIdentity,
} from "../src/discovery/mod.ts";
import { ZooKeeperClient } from "../src/discovery/zk/client.ts";
import { ZooKeeperServer, zookeeperUnavailable } from "./support/zookeeper.ts";

const held = { people_v3: [2, 0, 1], orders_v7: [0] };

async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 8000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `Timed out waiting for ${what}; last value ${JSON.stringify(last)}, last error ${lastError}`,
  );
}

const ids = (endpoints: Endpoint[]) => endpoints.map((e) => e.serverId);
if (zookeeperUnavailable !== null) {
  console.log(`Skipping the ZooKeeper test: ${zookeeperUnavailable}`);
}

Deno.test({
  name: "zookeeper discovery announces, switches, withdraws and survives ZooKeeper restarts",
  ignore: zookeeperUnavailable !== null,
  async fn(t) {
    const zk = await ZooKeeperServer.create();
    const discoveries: Discovery[] = [];
    try {
      const config = (mode: "cluster" | "store", disabled: string[] = []) =>
        validateConfig({
          grpc: { port: 7070 },
          stores: Object.fromEntries(disabled.map((s) => [s, { enabled: false }])),
          discovery: {
            mode,
            clusterName: "east",
            backend: "zookeeper",
            advertiseHost: "10.0.0.5",
            zookeeper: { connect: zk.connect, rootPath: "/rialto/test", sessionTimeoutMs: 2000 },
          },
        }, "test");
      const identity = serverIdentity(config("cluster"));
      const open = (mode: "cluster" | "store") => {
        const d = Discovery.open(config(mode), { retryMinMs: 50, retryMaxMs: 300 });
        discoveries.push(d);
        return d;
      };

      await t.step("the client speaks to the real server", async () => {
        const client = new ZooKeeperClient({ connect: zk.connect, sessionTimeoutMs: 2000 });
        try {
          assert.equal(await client.waitConnected(5000), true);
          await client.mkdirp("/probe/a");
          await client.create("/probe/a/e", new TextEncoder().encode("x"), "ephemeral");
          assert.deepEqual(await client.getChildren("/probe/a"), ["e"]);
          const { data, stat } = await client.getData("/probe/a/e");
          assert.equal(new TextDecoder().decode(data), "x");
          assert.equal(stat.ephemeralOwner, client.sessionId);
          await client.delete("/probe/a/e");
          assert.equal(await client.exists("/probe/a/e"), null);
        } finally {
          await client.close();
        }
      });

      const discovery = open("cluster");
      await t.step("cluster mode announces one resource that a client resolves", async () => {
        discovery.publish(buildAnnouncements(config("cluster"), identity, held, true));
        assert.equal(await discovery.settled(8000), true, JSON.stringify(discovery.status()));
        const endpoints = await resolve(config("cluster"), "east");
        assert.equal(endpoints.length, 1);
        assert.equal(endpoints[0].host, "10.0.0.5");
        assert.equal(endpoints[0].grpcPort, 7070);
        assert.deepEqual(endpoints[0].versions, { orders_v7: [0], people_v3: [0, 1, 2] });
        const status = discovery.status();
        assert.equal(status.backend, "zookeeper");
        assert.equal(status.connected, true);
        assert.deepEqual(status.announced, ["east"]);
      });

      await t.step("switching to store mode withdraws the cluster resource", async () => {
        discovery.publish(buildAnnouncements(config("store"), identity, held, true));
        assert.equal(await discovery.settled(8000), true);
        assert.deepEqual(await resolve(config("store"), "east"), []);
        const people = await resolve(config("store"), "people");
        assert.deepEqual(ids(people), ["10.0.0.5:7070"]);
        assert.deepEqual(people[0].versions, { people_v3: [0, 1, 2] });
        assert.deepEqual(ids(await resolve(config("store"), "orders")), ["10.0.0.5:7070"]);
      });

      await t.step("disabling a store withdraws its announcement", async () => {
        discovery.publish(buildAnnouncements(config("store", ["orders"]), identity, held, true));
        assert.equal(await discovery.settled(8000), true);
        assert.deepEqual(await resolve(config("store"), "orders"), []);
        assert.equal((await resolve(config("store"), "people")).length, 1);
      });

      await t.step("after ZooKeeper restarts keeping its data, announcements remain", async () => {
        await zk.restart();
        await waitFor("people", () => resolve(config("store"), "people"), (e) => e.length === 1);
        await waitFor("reconnect", () => Promise.resolve(discovery.status()), (s) => s.connected);
      });

      await t.step("after ZooKeeper loses all state, the new session re-announces", async () => {
        await zk.restart({ wipeData: true });
        const people = await waitFor(
          "re-announcement",
          () => resolve(config("store"), "people"),
          (e) => e.length === 1,
        );
        assert.deepEqual(people[0].versions, { people_v3: [0, 1, 2] });
        assert.deepEqual(await resolve(config("store"), "orders"), []);
      });

      await t.step("close withdraws everything", async () => {
        await discovery.close();
        assert.deepEqual(await resolve(config("store"), "people"), []);
      });

      await t.step(
        "ZooKeeper absent at start: status shows why, announcements follow",
        async () => {
          await zk.stop();
          const late = open("cluster");
          late.publish(buildAnnouncements(config("cluster"), identity, held, true));
          const status = await waitFor(
            "a visible error",
            () => Promise.resolve(late.status()),
            (s) => s.lastError !== null,
            5000,
          );
          assert.equal(status.connected, false);
          assert.equal(status.pending, true);
          assert.match(status.lastError!.message, /Not connected to ZooKeeper/);
          await zk.start();
          assert.equal(await late.settled(8000), true, JSON.stringify(late.status()));
          assert.deepEqual(ids(await resolve(config("cluster"), "east")), ["10.0.0.5:7070"]);
          assert.equal(late.status().connected, true);
          await late.close();
          assert.deepEqual(await resolve(config("cluster"), "east"), []);
        },
      );
    } finally {
      for (const d of discoveries) await d.close();
      await zk.dispose();
    }
  },
});
