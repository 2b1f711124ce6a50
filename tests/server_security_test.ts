/**
 * Read quota, mutual TLS with per-store ACLs, and metrics, through a real server over a
 * real socket: what an operator relies on before putting Rialto in front of traffic.
 */
import assert from "node:assert/strict";
import { ReadClient } from "../src/client/read_client.ts";
import type { RialtoConfig } from "../src/config/schema.ts";
import { ConfigWatcher } from "../src/config/watcher.ts";
import { startServer } from "../src/server.ts";
import { GrpcStatus } from "../src/transport/types.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import { startAuthority } from "./support/authority.ts";
import { createTestPki, type TestPki } from "./support/certs.ts";
import { keyBytes, partitionOf, PEOPLE } from "./support/read_fixture.ts";
import { makeStore, people, PERSON_VALUE_SCHEMA, STRING_KEY_SCHEMA } from "./support/stores.ts";
import { runRialto } from "./support/serve_process.ts";
import { startTestServer, testConfig } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const people_v1 = "people_v1";
const key = {
  keyBytes: keyBytes("person-1"),
  partition: partitionOf("person-1", PEOPLE.partitions),
};

async function withPeopleStore(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "rialto-security-" });
  try {
    for (const store of ["people", "other"]) {
      await makeStore(dataDir, {
        store,
        version: 1,
        partitions: PEOPLE.partitions,
        keySchema: STRING_KEY_SCHEMA,
        valueSchema: PERSON_VALUE_SCHEMA,
        records: people(10),
      });
    }
    await fn(dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

function grpcCode(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

async function tlsClient(
  pki: TestPki,
  address: string,
  cn: string | null,
  options: { expired?: boolean; foreign?: boolean } = {},
) {
  const ca = await Deno.readFile(pki.ca.certFile);
  if (cn === null) return new ReadClient(address, { ca, serverName: "localhost" });
  const cert = await pki.issueClient({ cn, ...options });
  return new ReadClient(address, {
    ca,
    cert: await Deno.readFile(cert.certFile),
    key: await Deno.readFile(cert.keyFile),
    serverName: "localhost",
  });
}

/** Every transport does mutual TLS; the native one in one isolate and in two workers. */
const TRANSPORTS = [
  { name: "grpc-js", transport: "grpc-js", workers: 1 },
  { name: "native", transport: "native", workers: 1 },
  { name: "native, 2 workers", transport: "native", workers: 2 },
] as const;

for (const t0 of TRANSPORTS) {
  Deno.test(`mutual TLS with static ACLs over ${t0.name}: allowed, denied, no or bad certificates`, async (t) => {
    const pki = await createTestPki();
    try {
      await withPeopleStore(async (dataDir) => {
        const tls = {
          enabled: true,
          certFile: pki.server.certFile,
          keyFile: pki.server.keyFile,
          caFile: pki.ca.certFile,
        };
        await using s = await startTestServer(dataDir, {
          grpc: { tls, transport: t0.transport, workers: t0.workers },
          auth: { authorizer: "static" },
          stores: { people: { acl: { get: ["client-a"], batchGet: ["client-a"] } } },
        });

        await t.step("an allowed principal reads", async () => {
          using client = await tlsClient(pki, s.address, "client-a");
          const r = await client.get(people_v1, key.partition, key.keyBytes);
          assert.equal(r.errorCode, Status.OK);
          const batch = await client.batchGet(people_v1, [key]);
          assert.equal(batch.errorCode, Status.OK);
        });

        await t.step("a principal not in the ACL gets PERMISSION_DENIED", async () => {
          using client = await tlsClient(pki, s.address, "client-b");
          await assert.rejects(
            client.get(people_v1, key.partition, key.keyBytes),
            (e) => grpcCode(e) === GrpcStatus.PERMISSION_DENIED,
          );
        });

        await t.step("a store without an ACL denies everyone", async () => {
          using client = await tlsClient(pki, s.address, "client-a");
          await assert.rejects(
            client.get("other_v1", key.partition, key.keyBytes),
            (e) => grpcCode(e) === GrpcStatus.PERMISSION_DENIED,
          );
        });

        await t.step("a bad resource name gets INVALID_ARGUMENT", async () => {
          using client = await tlsClient(pki, s.address, "client-a");
          await assert.rejects(
            client.get("no-version-here", 0, key.keyBytes),
            (e) => grpcCode(e) === GrpcStatus.INVALID_ARGUMENT,
          );
        });

        await t.step(
          "no, expired and foreign-CA certificates never reach the handler",
          async () => {
            for (const options of [null, { expired: true }, { foreign: true }] as const) {
              using client = options === null
                ? await tlsClient(pki, s.address, null)
                : await tlsClient(pki, s.address, "client-a", options);
              await assert.rejects(
                client.get(people_v1, key.partition, key.keyBytes),
                (e) => grpcCode(e) === GrpcStatus.UNAVAILABLE,
              );
            }
          },
        );

        await t.step("an ACL change applied by reload takes effect", async () => {
          using client = await tlsClient(pki, s.address, "client-b");
          const next = structuredClone(testConfig(dataDir, {
            grpc: { tls, transport: t0.transport, workers: t0.workers },
            auth: { authorizer: "static" },
            stores: { people: { acl: { get: ["client-a", "client-b"], batchGet: [] } } },
          })) as RialtoConfig;
          await s.server.applyConfig(next);
          const r = await client.get(people_v1, key.partition, key.keyBytes);
          assert.equal(r.errorCode, Status.OK);
          await assert.rejects(
            client.batchGet(people_v1, [key]),
            (e) => grpcCode(e) === GrpcStatus.PERMISSION_DENIED,
          );
        });

        await t.step("denials are counted in /metrics", async () => {
          const text = await (await fetch(`http://127.0.0.1:${s.server.adminPort}/metrics`)).text();
          const denied = text.split("\n").find((l) => /auth.*denied.*store="people"/.test(l));
          assert.ok(denied, "an auth denial series for people");
          assert.ok(Number(denied.split(" ").at(-1)) >= 2, denied);
        });
      });
    } finally {
      await pki.cleanup();
    }
  });
}

for (const t0 of TRANSPORTS) {
  Deno.test(`an external authority over ${t0.name} decides, is cached, and can be slow, down or change`, async () => {
    const pki = await createTestPki();
    const authority = startAuthority((principal) => principal === "client-a");
    try {
      await withPeopleStore(async (dataDir) => {
        await using s = await startTestServer(dataDir, {
          grpc: {
            transport: t0.transport,
            workers: t0.workers,
            tls: {
              enabled: true,
              certFile: pki.server.certFile,
              keyFile: pki.server.keyFile,
              caFile: pki.ca.certFile,
            },
          },
          auth: {
            authorizer: "http",
            http: {
              url: authority.url,
              refreshIntervalMs: 200,
              timeoutMs: 300,
              whenUnreachable: "keep-last",
            },
          },
        });
        using a = await tlsClient(pki, s.address, "client-a");
        using b = await tlsClient(pki, s.address, "client-b");
        assert.equal((await a.get(people_v1, key.partition, key.keyBytes)).errorCode, Status.OK);
        await assert.rejects(
          b.get(people_v1, key.partition, key.keyBytes),
          (e) => grpcCode(e) === GrpcStatus.PERMISSION_DENIED,
        );
        const asked = authority.requests.length;
        for (let i = 0; i < 20; i++) await a.get(people_v1, key.partition, key.keyBytes);
        assert.ok(
          authority.requests.length - asked <= 2,
          "cached answers are not asked again per request",
        );

        // Slow: a cached answer is served without waiting for the authority.
        authority.latencyMs = 1000;
        const started = performance.now();
        assert.equal((await a.get(people_v1, key.partition, key.keyBytes)).errorCode, Status.OK);
        assert.ok(performance.now() - started < 500);
        authority.latencyMs = 0;

        // Down: keep-last keeps serving the known decision.
        await authority.stop();
        await new Promise((r) => setTimeout(r, 500));
        assert.equal((await a.get(people_v1, key.partition, key.keyBytes)).errorCode, Status.OK);

        // Back and changed its mind: the refresh picks it up.
        authority.rule = (principal) => principal === "client-b";
        authority.start();
        let flipped = false;
        for (let i = 0; i < 40 && !flipped; i++) {
          await new Promise((r) => setTimeout(r, 100));
          flipped = await b.get(people_v1, key.partition, key.keyBytes).then(
            (r) => r.errorCode === Status.OK,
            () => false,
          );
        }
        assert.ok(flipped, "client-b is allowed after the authority changed its answer");
        // Each isolate refreshes its own cache: within a few refresh intervals every one
        // denies client-a.
        let denied = false;
        for (let i = 0; i < 40 && !denied; i++) {
          denied = await a.get(people_v1, key.partition, key.keyBytes).then(
            () => false,
            (e) => grpcCode(e) === GrpcStatus.PERMISSION_DENIED,
          );
          if (!denied) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(denied, "client-a is denied after the authority changed its answer");
      });
    } finally {
      await authority.stop();
      await pki.cleanup();
    }
  });
}

Deno.test("read quota answers 429 per store and 503 for the node, and rises live", async () => {
  await withPeopleStore(async (dataDir) => {
    // 1 RCU/s with a 1 s interval and multiplier 5: a bucket of 5 tokens.
    const quota = {
      enabled: true,
      nodeCapacityRcuPerSecond: 1000,
      enforcementIntervalMs: 1000,
      bucketMultiplier: 5,
    };
    await using s = await startTestServer(dataDir, {
      quota,
      stores: { people: { readQuotaRcuPerSecond: 1 } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await s.client.get(people_v1, key.partition, key.keyBytes)).errorCode);
    }
    assert.equal(statuses.filter((c) => c === Status.OK).length, 5);
    assert.equal(statuses.filter((c) => c === Status.TOO_MANY_REQUESTS).length, 5);

    const rejected = await s.client.get(people_v1, key.partition, key.keyBytes);
    assert.equal(rejected.errorCode, Status.TOO_MANY_REQUESTS);
    assert.equal(rejected.errorMessage, "");
    // isRetryRequest does not skip the store quota: Venice's gRPC path ignores it.
    const retry = await s.client.get(people_v1, key.partition, key.keyBytes, { isRetry: true });
    assert.equal(retry.errorCode, Status.TOO_MANY_REQUESTS);
    // A batch costs its key count.
    const batch = await s.client.batchGet("other_v1", Array.from({ length: 3 }, () => key));
    assert.equal(batch.errorCode, Status.OK);

    // Raise the quota live: reads pass again at once.
    await s.server.applyConfig(
      testConfig(dataDir, { quota, stores: { people: { readQuotaRcuPerSecond: 1000 } } }),
    );
    assert.equal((await s.client.get(people_v1, key.partition, key.keyBytes)).errorCode, Status.OK);

    // The node limit: 1 RCU/s node-wide, a burst of 5, no store quota.
    await s.server.applyConfig(testConfig(dataDir, {
      quota: { ...quota, nodeCapacityRcuPerSecond: 1 },
      stores: { people: { readQuotaRcuPerSecond: null } },
    }));
    const node: number[] = [];
    for (let i = 0; i < 8; i++) {
      node.push((await s.client.get("other_v1", key.partition, key.keyBytes)).errorCode);
    }
    const overCapacity = await s.client.get("other_v1", key.partition, key.keyBytes);
    assert.equal(overCapacity.errorCode, Status.SERVICE_UNAVAILABLE);
    assert.equal(overCapacity.errorMessage, "Server over capacity");
    assert.ok(node.filter((c) => c === Status.SERVICE_UNAVAILABLE).length >= 3, String(node));

    const text = await (await fetch(`http://127.0.0.1:${s.server.adminPort}/metrics`)).text();
    const line = text.split("\n").find((l) =>
      l.startsWith("rialto_quota_rejected_request") && l.includes('store="people"')
    );
    assert.ok(line, "a quota rejection series for people");
    // Five in the loop, the one after it, and the read flagged isRetryRequest.
    assert.equal(Number(line.split(" ").at(-1)), 7);
  });
});

Deno.test("/metrics counts known traffic per store and in total", async () => {
  await withPeopleStore(async (dataDir) => {
    await using s = await startTestServer(dataDir);
    for (let i = 0; i < 7; i++) await s.client.get(people_v1, key.partition, key.keyBytes);
    const missing = keyBytes("nobody");
    for (let i = 0; i < 3; i++) {
      await s.client.get(people_v1, partitionOf("nobody", PEOPLE.partitions), missing);
    }
    await s.client.batchGet(people_v1, [key, {
      keyBytes: missing,
      partition: partitionOf("nobody", PEOPLE.partitions),
    }]);
    await s.client.batchGet("other_v1", [key]);
    await s.client.get(people_v1, 99, key.keyBytes); // partition not held: an error
    const text = await (await fetch(`http://127.0.0.1:${s.server.adminPort}/metrics`)).text();
    const value = (name: string, store: string) => {
      const line = text.split("\n").find((l) =>
        l.startsWith(`${name}{`) && l.includes(`store="${store}"`)
      );
      assert.ok(line, `${name} for ${store}`);
      return Number(line.split(" ").at(-1));
    };
    assert.equal(value("rialto_success_request_total", "people"), 10);
    assert.equal(value("rialto_key_not_found_total", "people"), 3);
    assert.equal(value("rialto_error_request_total", "people"), 1);
    assert.equal(value("rialto_multiget_success_request_total", "people"), 1);
    assert.equal(value("rialto_multiget_key_not_found_total", "people"), 1);
    assert.equal(value("rialto_multiget_success_request_total", "total"), 2);
    assert.equal(value("rialto_success_request_latency_seconds_count", "people"), 10);
    assert.match(text, /rialto_event_loop_delay_seconds/);
    assert.match(text, /rialto_gc_pause_seconds/);
  });
});

Deno.test("no config reload opens the door: an empty file, authorizer none or another principal field leave a denied principal denied", async () => {
  const pki = await createTestPki();
  try {
    await withPeopleStore(async (dataDir) => {
      const path = `${dataDir}/rialto.yaml`;
      const yaml = (auth: string, principal = "subject-cn") =>
        [
          `dataDir: ${dataDir}`,
          "grpc:",
          "  host: 127.0.0.1",
          "  port: 0",
          "  tls:",
          "    enabled: true",
          `    certFile: ${pki.server.certFile}`,
          `    keyFile: ${pki.server.keyFile}`,
          `    caFile: ${pki.ca.certFile}`,
          `    principal: ${principal}`,
          "admin:",
          "  host: 127.0.0.1",
          "  port: 0",
          "auth:",
          `  authorizer: ${auth}`,
          "stores:",
          "  people:",
          "    acl:",
          "      get: [client-a]",
          "  other:",
          "    enabled: false",
          "    acl:",
          "      get: [client-a]",
          "",
        ].join("\n");
      const good = yaml("static");
      await Deno.writeTextFile(path, good);
      await using watcher = await ConfigWatcher.open({ path, debounceMs: 20, pollIntervalMs: 100 });
      const server = await startServer(watcher.config, { watcher });
      try {
        const address = `127.0.0.1:${server.grpcPort}`;
        using denied = await tlsClient(pki, address, "client-b");
        const stillDenied = async (what: string) => {
          await assert.rejects(
            denied.get(people_v1, key.partition, key.keyBytes),
            (e) => grpcCode(e) === GrpcStatus.PERMISSION_DENIED,
            what,
          );
        };
        const reloaded = async (text: string) => {
          const before = watcher.lastReload?.at;
          await Deno.writeTextFile(path, text);
          await waitFor("the reload attempt", () => watcher.lastReload?.at !== before);
          return watcher.lastReload!;
        };
        await stillDenied("before any reload");

        for (const empty of ["", "  \n\n", "# nothing but a comment\n", "---\n"]) {
          const record = await reloaded(empty);
          assert.equal(record.ok, false, JSON.stringify(empty));
          assert.match(record.error!, /holds no settings/);
          await stillDenied(`after the file became ${JSON.stringify(empty)}`);
        }
        // A disabled store stays disabled too.
        using allowed = await tlsClient(pki, address, "client-a");
        const other = await allowed.get("other_v1", key.partition, key.keyBytes);
        assert.equal(other.errorCode, Status.SERVICE_UNAVAILABLE);

        // Put back byte for byte: /status says the file in force is applied.
        const restored = await reloaded(good);
        assert.equal(restored.ok, true);
        assert.equal(restored.error, undefined);
        const status = await (await fetch(`http://127.0.0.1:${server.adminPort}/status`)).json();
        assert.equal(status.config.lastReload.ok, true);

        for (
          const [text, field] of [[yaml("none"), "auth"], [
            yaml("static", "san-uri"),
            "grpc.tls.principal",
          ]]
        ) {
          const record = await reloaded(text);
          assert.equal(record.ok, true);
          assert.ok(record.restartRequired?.includes(field), JSON.stringify(record));
          await stillDenied(`after a reload changing ${field}`);
          const pending = (await (await fetch(`http://127.0.0.1:${server.adminPort}/status`))
            .json()).config.pendingRestart;
          assert.ok(pending.includes(field), JSON.stringify(pending));
        }
        assert.equal(watcher.config.auth.authorizer, "static");
        assert.equal(watcher.config.grpc.tls.principal, "subject-cn");
      } finally {
        await server.close();
      }
    });
  } finally {
    await pki.cleanup();
  }
});

Deno.test("rialto get and batch-get over mutual TLS take an IP address as --server, verified against the certificate's IP SAN", async () => {
  const pki = await createTestPki();
  try {
    await withPeopleStore(async (dataDir) => {
      await using s = await startTestServer(dataDir, {
        grpc: {
          host: "0.0.0.0",
          tls: {
            enabled: true,
            certFile: pki.server.certFile,
            keyFile: pki.server.keyFile,
            caFile: pki.ca.certFile,
          },
        },
      });
      const cert = await pki.issueClient({ cn: "client-a" });
      const cli = (command: string, host: string, ...keys: string[]) =>
        runRialto([
          command,
          ...["--server", `${host}:${s.server.grpcPort}`, "--data-dir", dataDir],
          ...["--store", "people", "--version", "1"],
          ...["--tls-ca", pki.ca.certFile, "--tls-cert", cert.certFile, "--tls-key", cert.keyFile],
          ...keys.flatMap((k) => ["--key", JSON.stringify(k)]),
        ]);
      const get = await cli("get", "127.0.0.1", "person-3");
      assert.equal(get.code, 0, get.stderr);
      assert.equal(JSON.parse(get.stdout).name, "Person 3");
      const batch = await cli("batch-get", "127.0.0.1", "person-1", "person-2");
      assert.equal(batch.code, 0, batch.stderr);
      // The certificate names 127.0.0.1, not 127.0.0.2: the identity check refuses it.
      const wrongIp = await cli("get", "127.0.0.2", "person-3");
      assert.notEqual(wrongIp.code, 0);
      assert.match(
        wrongIp.stderr,
        /ERR_TLS_CERT_ALTNAME_INVALID.*IP: 127\.0\.0\.2 is not in the cert/,
      );
    });
  } finally {
    await pki.cleanup();
  }
});
