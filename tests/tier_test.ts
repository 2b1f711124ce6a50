/**
 * A standalone tier with no JVM server or router: three `rialto serve` processes on this
 * machine announcing to a real ZooKeeper, and a Java client on Debian's grpc-java and
 * Avro that bootstraps the way the Fast Client's RequestBasedMetadata does (discovery,
 * metadata, the metadata schema, the dictionary, health) from one node, then reads
 * single and batch gets for keys over every partition over gRPC. It keeps reading while a
 * node dies and another starts, and across a version swap made with
 * `rialto store current-version`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeStore, people, peopleStore } from "./support/stores.ts";
import { runRialto, type ServeProcess, startServe } from "./support/serve_process.ts";
import { freePort, ZooKeeperServer, zookeeperUnavailable } from "./support/zookeeper.ts";
import {
  buildTierClient,
  type MetadataReport,
  type Round,
  startTierClient,
  type TierClientProcess,
} from "./support/java_tier_client.ts";

const STORE = "people";
const PARTITIONS = 4;
const KEYS = 120;
const METADATA_PARTITION = 1000000000;

/** The name of person i in version v: each version's values differ. */
const nameIn = (i: number, version: number) =>
  version === 1 ? `Person ${i}` : `Person ${i} v${version}`;

function versionRecords(version: number) {
  return people(KEYS).map((r, i) => ({
    key: r.key,
    value: { ...(r.value as Record<string, unknown>), name: nameIn(i, version) },
  }));
}

async function copy(from: string, to: string): Promise<void> {
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  const out = await new Deno.Command("cp", { args: ["-r", from, to] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** A node's data dir: the store's descriptor and, of each version, some partitions. */
async function nodeData(source: string, dir: string, partitions: readonly number[]) {
  await copy(join(source, "stores"), join(dir, "stores"));
  for (const version of [1, 2]) {
    const resource = `${STORE}_v${version}`;
    for (const p of [...partitions, METADATA_PARTITION]) {
      await copy(
        join(source, "rocksdb", resource, `${resource}_${p}`),
        join(dir, "rocksdb", resource, `${resource}_${p}`),
      );
    }
  }
}

/**
 * The first report the client makes after the first `since` (by default, from now on) that
 * satisfies `ok`. Reports made before do not count: they may predate what is being waited
 * for. A caller that acts and then waits takes `since` before it acts: the client may
 * report the change before the action's own call returns.
 */
async function next<T>(
  client: TierClientProcess,
  reports: () => T[],
  what: string,
  ok: (report: T) => boolean,
  timeoutMs: number,
  since = reports().length,
): Promise<T> {
  let seen = since;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const all = reports();
    const found = all.slice(seen).find(ok);
    if (found !== undefined) return found;
    seen = all.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `Timed out waiting for ${what}; last: ${JSON.stringify(reports().at(-1))}\n` +
      client.stderr().slice(-3000),
  );
}

if (zookeeperUnavailable !== null) {
  console.log(`Skipping the tier test: ${zookeeperUnavailable}`);
}

Deno.test({
  name:
    "a three-node tier serves a Java client that bootstraps from one node, through a node's death, a new node and a version swap",
  ignore: zookeeperUnavailable !== null,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "rialto-tier-" });
    const zk = await ZooKeeperServer.create();
    const nodes = new Map<string, ServeProcess>();
    try {
      const source = join(root, "source");
      const [classpath] = await Promise.all([
        buildTierClient(join(root, "java")),
        (async () => {
          for (const version of [1, 2]) {
            await makeStore(source, {
              ...peopleStore(STORE, version, PARTITIONS, KEYS),
              records: versionRecords(version),
              compression: version === 1 ? "ZSTD_WITH_DICT" : "GZIP",
            });
          }
        })(),
      ]);
      // Swaps are explicit in a tier: building version 2 left the descriptor at 1.
      const descriptorPath = join(source, "stores", STORE, "store.json");
      assert.equal(JSON.parse(await Deno.readTextFile(descriptorPath)).currentVersion, 1);

      // Fixed ports, so that the client's gRPC map (GrpcClientConfig's) is whole up front.
      const ports = new Map(
        ["a", "b", "c", "d"].map((name) => [name, { http: freePort(), grpc: freePort() }]),
      );
      const configFor = (name: string) => join(root, name, "rialto.yaml");
      const start = async (name: string, partitions: readonly number[]) => {
        const dir = join(root, name);
        await nodeData(source, join(dir, "data"), partitions);
        await Deno.writeTextFile(
          configFor(name),
          JSON.stringify({
            dataDir: join(dir, "data"),
            grpc: { host: "127.0.0.1", port: ports.get(name)!.grpc, workers: 1 },
            admin: { host: "127.0.0.1", port: 0 },
            http: { host: "127.0.0.1", port: ports.get(name)!.http, tierRefreshIntervalMs: 200 },
            discovery: {
              clusterName: "tier",
              backend: "zookeeper",
              advertiseHost: "127.0.0.1",
              zookeeper: { connect: zk.connect, rootPath: "/rialto", sessionTimeoutMs: 2000 },
            },
          }),
        );
        const node = await startServe(["--config", configFor(name)]);
        nodes.set(name, node);
        return node;
      };
      const a = await start("a", [0, 1, 2]);
      const b = await start("b", [1, 2, 3]);
      const c = await start("c", [0, 3]);
      const url = (n: ServeProcess) => `127.0.0.1:${n.httpPort}`;
      const grpcMap = [...ports.values()]
        .map((p) => `127.0.0.1:${p.http}=127.0.0.1:${p.grpc}`).join(",");

      const keysFile = join(root, "keys.tsv");
      await Deno.writeTextFile(
        keysFile,
        people(KEYS).map((r, i) => `${r.key}\t${nameIn(i, 1)}\t1\t${nameIn(i, 2)}\t2`).join("\n") +
          "\n",
      );
      await using client = startTierClient(classpath, [
        "--bootstrap",
        `http://${url(a)}`,
        "--store",
        STORE,
        "--keys",
        keysFile,
        "--grpc-map",
        grpcMap,
        "--refresh-ms",
        "300",
        "--round-ms",
        "100",
      ]);
      const replicasOf = (m: MetadataReport, p: number) =>
        [...(m.replicas[String(p)] ?? [])].sort();
      const nextMetadata = (
        what: string,
        ok: (m: MetadataReport) => boolean,
        ms: number,
        since?: number,
      ) => next(client, () => client.metadata(), what, ok, ms, since);
      const nextRound = (what: string, ok: (r: Round) => boolean, ms: number) =>
        next(client, () => client.rounds(), what, ok, ms);
      const whole = (r: Round) =>
        r.single.ok === KEYS && r.batch.ok === KEYS && r.single.wrong + r.batch.wrong === 0;
      const http = (n: ServeProcess) => `http://${url(n)}`;

      // Bootstrapped from a alone, it sees every node's partitions of version 1.
      const first = await nextMetadata(
        "every node's partitions of version 1",
        (m) => m.version === 1 && replicasOf(m, 3).length === 2 && replicasOf(m, 0).length === 2,
        60_000,
      );
      assert.equal(first.partitionCount, PARTITIONS);
      assert.equal(first.compressionStrategy, 3);
      assert.ok(first.dictionaryBytes! > 0, "the ZSTD dictionary came from /dictionary");
      assert.deepEqual(replicasOf(first, 0), [http(a), http(c)].sort());
      assert.deepEqual(replicasOf(first, 1), [http(a), http(b)].sort());
      assert.deepEqual(replicasOf(first, 3), [http(b), http(c)].sort());
      assert.equal(first.healthFailed, 0);
      await nextRound("a whole round of version 1", (r) => r.version === 1 && whole(r), 20_000);

      // b dies (no goodbye): its session times out, the others stop listing it.
      let since = client.metadata().length;
      await b.stop("SIGKILL");
      nodes.delete("b");
      const withoutB = await nextMetadata(
        "metadata without b",
        (m) => ![0, 1, 2, 3].some((p) => replicasOf(m, p).includes(http(b))),
        15_000,
        since,
      );
      assert.deepEqual(replicasOf(withoutB, 3), [http(c)]);
      await nextRound("a whole round without b", whole, 10_000);

      // d joins with b's partitions; the client learns of it at its next refresh.
      since = client.metadata().length;
      const d = await start("d", [1, 2, 3]);
      await nextMetadata(
        "metadata with d",
        (m) => replicasOf(m, 3).includes(http(d)),
        15_000,
        since,
      );

      // A swap to a version the tier does not serve whole is refused, nothing written.
      const refused = await runRialto([
        "store",
        "current-version",
        STORE,
        "3",
        "-c",
        configFor("a"),
      ]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(
        refused.stderr,
        /people_v3 is not served whole by the tier.*partitions 0, 1, 2, 3 of 4/,
      );
      since = client.metadata().length;
      const swapped = await runRialto([
        "store",
        "current-version",
        STORE,
        "2",
        "-c",
        configFor("c"),
      ]);
      assert.equal(swapped.code, 0, swapped.stderr);
      assert.match(
        swapped.stdout,
        /people: current version 2 for the tier \(was not set\); 3 live nodes/,
      );
      const second = await nextMetadata("version 2", (m) => m.version === 2, 15_000, since);
      assert.equal(second.compressionStrategy, 1);
      await nextRound("a whole round of version 2", (r) => r.version === 2 && whole(r), 10_000);

      const summary = await client.stop();
      console.log(`the Java client's summary: ${JSON.stringify(summary)}`);
      assert.deepEqual(summary.versionsRead, [1, 2]);
      assert.equal(summary.single.wrong, 0, JSON.stringify(summary));
      assert.equal(summary.batch.wrong, 0, JSON.stringify(summary));
      // Reads to b after it died were retried on the other replica of their partition.
      assert.equal(summary.single.failed, 0, JSON.stringify(summary));
      assert.equal(summary.batch.failed, 0, JSON.stringify(summary));
      assert.ok(summary.rounds > 20, JSON.stringify(summary));
    } finally {
      for (const node of nodes.values()) await node.stop();
      await zk.dispose();
      await Deno.remove(root, { recursive: true });
    }
  },
});
