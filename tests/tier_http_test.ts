/**
 * The Venice-compatible HTTP port of a standalone tier, on real servers over a real
 * socket: every endpoint's bytes decoded with avsc against the schemas from Venice's
 * source (the metadata record with the writer schema the port itself serves for
 * venice_system_store_SERVER_METADATA_RESPONSE), bad input to each endpoint answered as
 * Venice's server or router answers it, store descriptors checked at load, and in store
 * mode a store's metadata naming only the nodes that announce that store.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import avro from "avsc";
import { ConfigError } from "../src/config/schema.ts";
import v4 from "../src/venice/schemas/MetadataResponseRecord/v4.avsc.json" with { type: "json" };
import { createStoreVersion } from "../src/tools/store_create.ts";
import { StoreToolError } from "../src/tools/errors.ts";
import { storeDir } from "../src/tier/store_descriptor.ts";
import { CurrentVersionError, setTierCurrentVersion } from "../src/tier/current_version.ts";
import { parseAnnouncement } from "../src/discovery/announcement.ts";
import { makeStore, peopleStore, PERSON_VALUE_SCHEMA } from "./support/stores.ts";
import { startTestServer, testConfig } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const SYSTEM_STORE = "venice_system_store_SERVER_METADATA_RESPONSE";

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
  readonly text: string;
}

async function get(base: string, path: string, method = "GET"): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method });
  const body = new Uint8Array(await response.arrayBuffer());
  return {
    status: response.status,
    headers: response.headers,
    body,
    text: new TextDecoder().decode(body),
  };
}

/** The headers OutboundHttpWrapperHandler puts on every server answer. */
function assertServerHeaders(a: Answer, contentType: string, schemaId = "-1"): void {
  assert.equal(a.headers.get("content-type"), contentType);
  assert.equal(a.headers.get("x-venice-schema-id"), schemaId);
  assert.equal(a.headers.get("x-venice-compression-strategy"), "0");
  assert.equal(a.headers.get("x-venice-rcu"), "1");
}

// deno-lint-ignore no-explicit-any
type MetadataRecord = any;

function decodeMetadata(body: Uint8Array, schema: unknown = v4): MetadataRecord {
  // deno-lint-ignore no-explicit-any
  const record = avro.Type.forSchema(schema as any).fromBuffer(Buffer.from(body));
  return JSON.parse(JSON.stringify(record)); // plain objects, not avsc's record classes
}

const ACTIONS =
  "Only able to parse GET or POST requests for actions: storage, health, compute, dictionary, admin, metadata, store_properties, current_version, topic_partition_ingestion_context, host_heartbeat_lag, key_partition_profiler.";

Deno.test("the HTTP port answers every endpoint as Venice's server and router do", async () => {
  const root = await Deno.makeTempDir();
  try {
    const data = `${root}/data`;
    await makeStore(data, { ...peopleStore("people", 1, 4, 200), compression: "ZSTD_WITH_DICT" });
    await using node = await startTestServer(data, {
      http: { host: "127.0.0.1", port: 0, tierRefreshIntervalMs: 100 },
      discovery: { advertiseHost: "127.0.0.1", clusterName: "east" },
    });
    const port = node.server.httpPort!;
    const base = `http://127.0.0.1:${port}`;
    const url = `http://127.0.0.1:${port}`;

    let metadata!: Answer;
    await waitFor("this node in its own routing", async () => {
      metadata = await get(base, "/metadata/people");
      return metadata.status === 200 &&
        decodeMetadata(metadata.body).routingInfo["0"].length > 0;
    });
    assertServerHeaders(metadata, "avro/binary", "4");

    // The writer schema the port serves for the system store decodes the body.
    const schemaAnswer = await get(base, `/value_schema/${SYSTEM_STORE}/4`);
    assert.equal(schemaAnswer.status, 200);
    assert.equal(schemaAnswer.headers.get("content-type"), "application/json");
    const schemaResponse = JSON.parse(schemaAnswer.text);
    assert.deepEqual(
      { ...schemaResponse, schemaStr: undefined },
      {
        cluster: "east",
        name: SYSTEM_STORE,
        error: null,
        errorType: null,
        exceptionType: null,
        id: 4,
        derivedSchemaId: -1,
        schemaStr: undefined,
      },
    );
    assert.deepEqual(JSON.parse(schemaResponse.schemaStr), v4);
    const record = decodeMetadata(metadata.body, JSON.parse(schemaResponse.schemaStr));
    const dictionary = node.server.registry.lookup("people_v1")!.settings.compressionDictionary!;
    assert.deepEqual(record, {
      versionMetadata: {
        currentVersion: 1,
        compressionStrategy: 3,
        partitionCount: 4,
        partitionerClass: "com.linkedin.venice.partitioner.DefaultVenicePartitioner",
        partitionerParams: {},
        amplificationFactor: 1,
        storageMode: 0,
      },
      versions: [1],
      keySchema: { "1": '"string"' },
      valueSchemas: { "1": JSON.stringify(PERSON_VALUE_SCHEMA) },
      latestSuperSetValueSchemaId: -1,
      routingInfo: { "0": [url], "1": [url], "2": [url], "3": [url] },
      helixGroupInfo: { [url]: 0 },
      batchGetLimit: 500,
      externalStorageReadMode: 0,
    });
    // Ids 1-3 are the older protocol versions, as the router serves them.
    for (const id of [1, 2, 3]) {
      const older = JSON.parse((await get(base, `/value_schema/${SYSTEM_STORE}/${id}`)).text);
      assert.equal(older.id, id);
      assert.equal(JSON.parse(older.schemaStr).name, "MetadataResponseRecord");
    }

    const dict = await get(base, "/dictionary/people/1");
    assert.equal(dict.status, 200);
    assertServerHeaders(dict, "application/octet-stream");
    assert.deepEqual(dict.body, dictionary);

    const health = await get(base, "/health");
    assert.equal(health.status, 200);
    assertServerHeaders(health, "text/plain");
    assert.equal(health.text, "OK");

    const discovered = await get(base, "/discover_cluster/people");
    assert.equal(discovered.status, 200);
    assert.equal(discovered.headers.get("content-type"), "application/json");
    const d2 = {
      cluster: "east",
      name: "people",
      error: null,
      errorType: null,
      exceptionType: null,
      d2Service: "east",
      serverD2Service: "east",
      zkAddress: null,
      kafkaBootstrapServers: null,
    };
    assert.deepEqual(JSON.parse(discovered.text), d2);
    assert.deepEqual(JSON.parse((await get(base, "/discover_cluster?store_name=people")).text), d2);
    assert.equal((await get(base, `/discover_cluster/${SYSTEM_STORE}`)).status, 200);

    const valueSchema = JSON.parse((await get(base, "/value_schema/people/1")).text);
    assert.deepEqual(JSON.parse(valueSchema.schemaStr), PERSON_VALUE_SCHEMA);
    const all = JSON.parse((await get(base, "/value_schema/people")).text);
    assert.equal(all.superSetSchemaId, -1);
    assert.deepEqual(all.schemas.map((s: { id: number }) => s.id), [1]);

    // Bad input, answered as the Java server (or router) answers it.
    const cases: [string, string, number, string, string][] = [
      [
        "GET",
        "/metadata/nope",
        500,
        "text/plain",
        "Failed to populate metadata for store: nope due to: Store: nope does not exist.",
      ],
      [
        "GET",
        "/metadata",
        400,
        "text/plain",
        "not a valid request for a METADATA action: /metadata",
      ],
      [
        "GET",
        "/metadata/people/x",
        400,
        "text/plain",
        "not a valid request for a METADATA action: /metadata/people/x",
      ],
      ["GET", "/dictionary/people/2", 404, "application/octet-stream", ""],
      ["GET", "/dictionary/nope/1", 404, "application/octet-stream", ""],
      ["GET", "/dictionary/people/abc", 500, "text/plain", 'For input string: "abc"'],
      [
        "GET",
        "/dictionary/people",
        400,
        "text/plain",
        "Not a valid request for a DICTIONARY action: /dictionary/people",
      ],
      ["GET", "/nonsense", 400, "text/plain", `${ACTIONS} Cannot support action: nonsense`],
      ["GET", "/", 400, "text/plain", `${ACTIONS} Cannot parse request for: /`],
      ["PUT", "/health", 400, "text/plain", `${ACTIONS} Cannot parse request for: /health`],
      [
        "GET",
        "/value_schema/people/9",
        404,
        "text/plain",
        "Value schema doesn't exist for schema id: 9 of store: people",
      ],
      [
        "GET",
        "/discover_cluster",
        400,
        "text/plain",
        "Resource name required, valid path should be : /discover_cluster/${storeName} or /discover_cluster?store_name=${storeName}",
      ],
    ];
    for (const [method, path, status, contentType, body] of cases) {
      const a = await get(base, path, method);
      assert.equal(a.status, status, `${method} ${path}: ${a.text}`);
      assert.equal(a.headers.get("content-type"), contentType, `${method} ${path}`);
      assert.equal(a.text, body, `${method} ${path}`);
      // The server's answers carry OutboundHttpWrapperHandler's headers, the router's none.
      const router = /^\/(value_schema|discover_cluster)/.test(path);
      assert.equal(a.headers.has("x-venice-schema-id"), !router, `${method} ${path}`);
    }
    // The router prints a schema id as the path has it; it matches its endpoints exactly,
    // where the server's actions ignore case.
    assert.equal(
      (await get(base, "/value_schema/people/+09")).text,
      "Value schema doesn't exist for schema id: +09 of store: people",
    );
    assert.equal((await get(base, "/HEALTH")).text, "OK");
    assert.equal(
      (await get(base, "/Discover_Cluster/people")).text,
      `${ACTIONS} Cannot support action: Discover_Cluster`,
    );
    const unknown = await get(base, "/discover_cluster/nope");
    assert.equal(unknown.status, 404);
    assert.deepEqual(JSON.parse(unknown.text), {
      ...d2,
      cluster: null,
      name: null,
      error: "Cluster for store: nope doesn't exist",
      errorType: "STORE_NOT_FOUND",
      exceptionType: "STORE_NOT_FOUND",
      d2Service: null,
      serverD2Service: null,
    });
    assert.equal((await get(base, "/value_schema/nope/1")).status, 500);
    assert.equal((await get(base, "/value_schema/")).status, 400);
    assert.equal((await get(base, "/value_schema/people/x")).status, 500);
    // POST is accepted like GET (RouterRequestHttpHandler does not check it for metadata).
    assert.equal((await get(base, "/metadata/people", "POST")).status, 200);
    const storage = await get(base, "/storage/people_v1/0/a");
    assert.equal(storage.status, 501);
    assert.match(storage.text, /gRPC only/);
    // And the port still serves after all of it.
    assert.equal((await get(base, "/health")).text, "OK");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("store descriptors are checked at load: each fault is refused with its file and reason", async () => {
  const root = await Deno.makeTempDir();
  try {
    const data = `${root}/data`;
    await makeStore(data, peopleStore("people", 1, 2, 10));
    const write = async (store: string, files: Record<string, string>) => {
      for (const [name, text] of Object.entries(files)) {
        const path = `${storeDir(data, store)}/${name}`;
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await Deno.writeTextFile(path, text);
      }
    };
    const good = {
      "store.json": JSON.stringify({ store: "STORE", partitionCount: 2 }),
      "key_schema.avsc": '"string"',
      "value_schemas/1.avsc": '"string"',
    };
    const variant = (store: string, patch: Record<string, string>) =>
      write(store, {
        ...Object.fromEntries(
          Object.entries(good).map(([k, v]) => [k, v.replace("STORE", store)]),
        ),
        ...patch,
      });
    await variant("badjson", { "store.json": "{" });
    await variant("unknownfield", {
      "store.json": JSON.stringify({ store: "unknownfield", partitionCount: 2, partitons: 3 }),
    });
    await variant("notavro", { "value_schemas/1.avsc": '{"type": "recrod"}' });
    await variant("badid", { "value_schemas/one.avsc": '"string"' });
    await variant("superset", {
      "store.json": JSON.stringify({
        store: "superset",
        partitionCount: 2,
        latestSupersetValueSchemaId: 7,
      }),
    });
    await variant("othername", {
      "store.json": JSON.stringify({ store: "people", partitionCount: 2 }),
    });
    await variant("nokey", {});
    await Deno.remove(`${storeDir(data, "nokey")}/key_schema.avsc`);

    await using node = await startTestServer(data, { http: { host: "127.0.0.1", port: 0 } });
    const base = `http://127.0.0.1:${node.server.httpPort}`;
    const status = await (await fetch(`http://127.0.0.1:${node.server.adminPort}/status`)).json();
    const refused = Object.fromEntries(
      status.tier.refusedDescriptors.map((r: { store: string; reason: string }) => [
        r.store,
        r.reason,
      ]),
    );
    assert.deepEqual(status.tier.stores, ["people"]);
    assert.deepEqual(Object.keys(refused).sort(), [
      "badid",
      "badjson",
      "nokey",
      "notavro",
      "othername",
      "superset",
      "unknownfield",
    ]);
    assert.match(refused.badjson, /store\.json" is not valid JSON/);
    assert.match(refused.unknownfield, /partitons: Unrecognized key/);
    assert.match(refused.notavro, /value_schemas\/1\.avsc" is not an Avro schema/);
    assert.match(refused.badid, /one\.avsc" is not a value schema: expected <id>\.avsc/);
    assert.match(refused.superset, /latestSupersetValueSchemaId 7 is not among the value schemas/);
    assert.match(refused.othername, /describes store "people", not "othername"/);
    assert.match(refused.nokey, /key_schema\.avsc" does not exist/);
    const answer = await fetch(`${base}/metadata/notavro`);
    assert.equal(answer.status, 500);
    assert.equal(
      await answer.text(),
      "Failed to populate metadata for store: notavro due to: Store: notavro does not exist.",
    );

    // `rialto store create` extends a descriptor, and refuses what contradicts it.
    const input = `${root}/in.jsonl`;
    await Deno.writeTextFile(
      input,
      '{"key": "a", "value": {"name": "A", "age": 1, "email": null}}\n',
    );
    const create = (version: number, keySchema: string, partitions = 2, valueSchemaId = 1) =>
      createStoreVersion({
        dataDir: data,
        store: "people",
        version,
        partitions,
        keySchema,
        valueSchema: JSON.stringify(PERSON_VALUE_SCHEMA),
        valueSchemaId,
        input,
      });
    await assert.rejects(
      create(2, '"bytes"'),
      (e: Error) => e instanceof StoreToolError && /has another key schema/.test(e.message),
    );
    await assert.rejects(
      create(2, '"string"', 3),
      (e: Error) => e instanceof StoreToolError && /has 2 partitions .*, not 3/.test(e.message),
    );
    await create(2, '"string"', 2, 2);
    const file = JSON.parse(await Deno.readTextFile(`${storeDir(data, "people")}/store.json`));
    assert.equal(file.currentVersion, 1, "a new version is not current until swapped");
    assert.deepEqual(
      [...Deno.readDirSync(`${storeDir(data, "people")}/value_schemas`)].map((e) => e.name).sort(),
      ["1.avsc", "2.avsc"],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("in store mode a store's metadata lists only the nodes that announce that store", async () => {
  const root = await Deno.makeTempDir();
  try {
    const both = `${root}/both`;
    const ordersOnly = `${root}/orders-only`;
    await makeStore(both, { ...peopleStore("people", 1, 2, 10), compression: "ZSTD_WITH_DICT" });
    await makeStore(both, peopleStore("orders", 3, 2, 10));
    await makeStore(ordersOnly, peopleStore("orders", 3, 2, 10));
    // The second node knows of people (its descriptor) but holds none of it.
    const copied = await new Deno.Command("cp", {
      args: ["-r", storeDir(both, "people"), storeDir(ordersOnly, "people")],
    }).output();
    assert.equal(copied.code, 0);
    const patch = {
      http: { host: "127.0.0.1", port: 0, tierRefreshIntervalMs: 100 },
      discovery: {
        mode: "store",
        advertiseHost: "127.0.0.1",
        embedded: { dir: `${root}/announcements` },
      },
    };
    await using a = await startTestServer(both, patch);
    await using b = await startTestServer(ordersOnly, patch);
    const urlOf = (n: typeof a) => `http://127.0.0.1:${n.server.httpPort}`;
    const routing = async (node: typeof a, store: string) => {
      const answer = await get(urlOf(node), `/metadata/${store}`);
      assert.equal(answer.status, 200, answer.text);
      return decodeMetadata(answer.body).routingInfo;
    };
    let orders: Record<string, string[]> = {};
    await waitFor("both nodes in the orders metadata", async () => {
      orders = await routing(b, "orders");
      return orders["0"].length === 2;
    });
    assert.deepEqual(orders["0"].sort(), [urlOf(a), urlOf(b)].sort());
    // Asked of either node, people lists only the node that announces people.
    for (const node of [a, b]) {
      assert.deepEqual(await routing(node, "people"), { "0": [urlOf(a)], "1": [urlOf(a)] });
    }
    // A Fast Client asks its D2 node for the dictionary, not a holder: b, which holds no
    // people, answers with a's, fetched from a; asked as a forward, it answers from its own.
    const dictionary = a.server.registry.lookup("people_v1")!.settings.compressionDictionary!;
    const fromB = await get(urlOf(b), "/dictionary/people/1");
    assert.equal(fromB.status, 200, fromB.text);
    assert.deepEqual(fromB.body, dictionary);
    const forwarded = await fetch(`${urlOf(b)}/dictionary/people/1`, {
      headers: { "x-rialto-forwarded": "1" },
    });
    assert.equal(forwarded.status, 404);
    await forwarded.body?.cancel();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the current version: the tier's (current-version, embedded backend), else the descriptor's, else the newest served whole", async () => {
  const root = await Deno.makeTempDir();
  try {
    const data = `${root}/data`;
    await makeStore(data, peopleStore("people", 1, 2, 10));
    await makeStore(data, peopleStore("people", 2, 2, 10));
    // A descriptor an operator wrote for copied versions, naming none current.
    const storePath = `${storeDir(data, "people")}/store.json`;
    const file = JSON.parse(await Deno.readTextFile(storePath));
    assert.equal(file.currentVersion, 1);
    await Deno.writeTextFile(storePath, JSON.stringify({ ...file, currentVersion: null }));
    const patch = {
      http: { host: "127.0.0.1", port: 0, tierRefreshIntervalMs: 100 },
      discovery: { advertiseHost: "127.0.0.1", embedded: { dir: `${root}/announcements` } },
    };
    await using node = await startTestServer(data, patch);
    const base = `http://127.0.0.1:${node.server.httpPort}`;
    const current = async () => {
      const answer = await get(base, "/metadata/people");
      if (answer.status !== 200) return answer.text; // until the node reads its own announcement
      const record = decodeMetadata(answer.body);
      assert.deepEqual(record.versions, [1, 2]);
      return record.versionMetadata.currentVersion;
    };
    await waitFor("the newest version served whole", async () => await current() === 2);
    // The descriptor's, once it names one.
    await Deno.writeTextFile(storePath, JSON.stringify({ ...file, currentVersion: 1 }));
    await waitFor("the descriptor's current version", async () => await current() === 1);
    // The tier's wins over both, and a swap to a version no node serves is refused.
    const config = testConfig(data, patch);
    const swapped = await setTierCurrentVersion(config, "people", 2);
    assert.deepEqual(swapped, { store: "people", version: 2, previous: null, nodes: 1 });
    await waitFor("the tier's current version", async () => await current() === 2);
    await assert.rejects(
      setTierCurrentVersion(config, "people", 3),
      (e: Error) =>
        e instanceof CurrentVersionError &&
        /no live node serves partitions 0, 1 of 2/.test(e.message),
    );
    assert.equal(await current(), 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("mid-way through a discovery-mode switch, a store's metadata routes to nodes in either mode", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dataA = `${root}/a`;
    const dataB = `${root}/b`;
    await makeStore(dataA, peopleStore("orders", 3, 2, 10));
    await makeStore(dataB, peopleStore("orders", 3, 2, 10));
    const patch = (mode: string) => ({
      http: { host: "127.0.0.1", port: 0, tierRefreshIntervalMs: 100 },
      discovery: {
        mode,
        clusterName: "east",
        advertiseHost: "127.0.0.1",
        embedded: { dir: `${root}/announcements` },
      },
    });
    // a already switched to store mode (announced as "orders"), b not yet ("east").
    await using a = await startTestServer(dataA, patch("store"));
    await using b = await startTestServer(dataB, patch("cluster"));
    const urlOf = (n: typeof a) => `http://127.0.0.1:${n.server.httpPort}`;
    for (const node of [a, b]) {
      let routing: Record<string, string[]> = {};
      await waitFor("both nodes in the orders metadata", async () => {
        const answer = await get(urlOf(node), "/metadata/orders");
        assert.equal(answer.status, 200, answer.text);
        routing = decodeMetadata(answer.body).routingInfo;
        return routing["0"].length === 2;
      });
      assert.deepEqual(routing["1"].sort(), [urlOf(a), urlOf(b)].sort());
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the HTTP port is refused with TLS or an authorizer: it has neither", () => {
  for (
    const patch of [{ auth: { authorizer: "static" } }, {
      grpc: { tls: { enabled: true, certFile: "c", keyFile: "k", caFile: "a" } },
    }]
  ) {
    assert.throws(
      () => testConfig("/d", { http: { port: 7072 }, ...patch }),
      (e: Error) =>
        e instanceof ConfigError &&
        /http\.port: The Venice-compatible HTTP port is plaintext/.test(e.message),
    );
  }
});

Deno.test("a malformed announcement is skipped, so that it cannot break any node's metadata", () => {
  const good = {
    format: 1,
    resource: "tier",
    serverId: "h:1",
    host: "h",
    grpcPort: 1,
    ready: true,
    httpPort: 2,
    versions: { people_v1: [0, 1] },
    compressionStrategies: { people_v1: 3 },
  };
  assert.notEqual(parseAnnouncement(JSON.stringify(good)), null);
  for (
    const bad of [
      { versions: { people_v1: [1.5] } },
      { versions: { people_v1: 5 } },
      { versions: [[0]] },
      { httpPort: 70000 },
      { httpPort: "2" },
      { compressionStrategies: { people_v1: "0" } },
      { compressionStrategies: { people_v1: 9 } },
    ]
  ) {
    assert.equal(parseAnnouncement(JSON.stringify({ ...good, ...bad })), null, JSON.stringify(bad));
  }
});
