/**
 * A Venice server's life on real RocksDB files, with Rialto following as a secondary:
 * partition directories first, then VERSION_METADATA, then data (chunked, compressed),
 * then end of push. Rialto must never answer for a version whose settings it does not
 * know, and must answer as the Java server does once it does.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { CompressionStrategy } from "../src/venice/compression.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import { bigValue } from "./support/read_fixture.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { VeniceWriter } from "./support/venice_writer.ts";
import { waitFor } from "./support/wait.ts";

const RESOURCE = "life_v1";
const encoder = new TextEncoder();

interface NotServed {
  resource: string;
  state: string;
  reason: string;
  attempts: number;
}

async function notServed(rialto: TestServer): Promise<NotServed | undefined> {
  const status = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/status`)).json();
  return status.storage.notServed.find((v: NotServed) => v.resource === RESOURCE);
}

async function withLiveVersion(
  run: (venice: VeniceWriter, rialto: TestServer, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    using venice = VeniceWriter.subscribe(`${root}/data`, RESOURCE, 2);
    await using rialto = await startTestServer(`${root}/data`, {
      storage: { openMode: "secondary", secondaryDir: `${root}/secondary`, catchUpIntervalMs: 50 },
    }, { scanIntervalMs: 50 });
    await run(venice, rialto, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a version is not served before VERSION_METADATA, then serves chunked, compressed values as written", async () => {
  await withLiveVersion(async (venice, rialto) => {
    const key = encoder.encode("big");
    const get = () => rialto.client.get(RESOURCE, 1, key);

    const before = await get();
    assert.notEqual(before.errorCode, Status.OK);
    const waiting = await notServed(rialto);
    assert.equal(waiting?.state, "waiting");
    assert.match(waiting!.reason, /Waiting for VERSION_METADATA/);

    venice.startOfPush({ chunked: true, compressionStrategy: CompressionStrategy.GZIP });
    const payload = new Uint8Array(gzipSync(bigValue(300_000, 7), { level: 0 }));
    venice.put(1, key, payload, 3, 64 * 1024);
    venice.flush(1);

    await waitFor("the version to be served", async () => (await notServed(rialto)) === undefined);
    await waitFor(
      "the secondary to see the flushed value",
      async () => (await get()).errorCode === Status.OK,
    );
    const r = await get();
    assert.equal(r.schemaId, 3);
    assert.equal(r.compressionStrategy, CompressionStrategy.GZIP);
    assert.deepEqual(new Uint8Array(r.data), payload);
  });
});
