/**
 * Secondary mode as an operator sets it up: a live primary (WAL off on data partitions,
 * as Venice writes) and a `storage.secondaryDir` that Rialto fills itself.
 */
import assert from "node:assert/strict";
import { RocksDB, WriteBatch } from "../ffi/mod.ts";
import { partitionDir } from "../src/storage/layout.ts";
import { VeniceReadResponseStatus as Status } from "../src/venice/status.ts";
import { startTestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const RESOURCE = "live_v1";
const encoder = new TextEncoder();

/** A value in Venice's stored shape: schema id 1, then the payload. */
function stored(payload: string): Uint8Array {
  const bytes = encoder.encode(payload);
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setInt32(0, 1);
  out.set(bytes, 4);
  return out;
}

/** A primary for partition 0 of live_v1, holding one flushed key. */
function openPrimary(dataDir: string): RocksDB {
  const path = partitionDir(dataDir, RESOURCE, 0);
  Deno.mkdirSync(path, { recursive: true });
  const primary = RocksDB.open(path, { mode: "read-write", createIfMissing: true });
  primary.put(encoder.encode("k"), stored("flushed-1"));
  primary.flush();
  return primary;
}

async function followsPrimary(secondaryDir: string, dataDir: string): Promise<void> {
  using primary = openPrimary(dataDir);
  await using rialto = await startTestServer(dataDir, {
    storage: { openMode: "secondary", secondaryDir, catchUpIntervalMs: 50 },
  });
  const read = () => rialto.client.get(RESOURCE, 0, encoder.encode("k"));
  const first = await read();
  assert.equal(first.errorCode, Status.OK, first.errorMessage);
  assert.equal(new TextDecoder().decode(first.data), "flushed-1");
  assert.ok(Deno.statSync(`${secondaryDir}/${RESOURCE}/${RESOURCE}_0`).isDirectory);

  primary.write(new WriteBatch().put(encoder.encode("k"), stored("flushed-2")), {
    disableWAL: true,
  });
  primary.flush();
  await waitFor("the secondary to catch up with a flush", async () => {
    const r = await read();
    return new TextDecoder().decode(r.data) === "flushed-2";
  });
}

Deno.test("secondary mode creates a secondaryDir that does not exist yet, and follows the primary", async () => {
  const root = await Deno.makeTempDir();
  try {
    await followsPrimary(`${root}/not-yet/secondary`, `${root}/data`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("secondary mode fills an existing, empty secondaryDir, and follows the primary", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/secondary`);
    await followsPrimary(`${root}/secondary`, `${root}/data`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("secondary mode says why it cannot make its directory, does not serve the version, and keeps serving", async () => {
  const root = await Deno.makeTempDir();
  try {
    // A file where a directory must go: mkdir fails even for root.
    await Deno.writeTextFile(`${root}/blocked`, "");
    using _primary = openPrimary(`${root}/data`);
    await using rialto = await startTestServer(`${root}/data`, {
      storage: { openMode: "secondary", secondaryDir: `${root}/blocked` },
    });
    const r = await rialto.client.get(RESOURCE, 0, encoder.encode("k"));
    assert.notEqual(r.errorCode, Status.OK);
    const status = await (await fetch(`http://127.0.0.1:${rialto.server.adminPort}/status`))
      .json();
    const pending = status.storage.notServed.find((v: { resource: string }) =>
      v.resource === RESOURCE
    );
    assert.match(
      pending.reason,
      new RegExp(`Cannot create the secondary directory ".*/blocked/${RESOURCE}/${RESOURCE}_0"`),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
