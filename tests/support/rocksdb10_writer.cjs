/**
 * Test-only, run under Node: writes a RocksDB directory with the RocksDB 10.5 that npm's
 * `rocksdb-native` ships (tools/rocksdb10), as a Venice server on RocksJava 9.x would
 * write a partition: a newer OPTIONS file, and SST files in the block-based
 * format_version asked for. Reads one JSON request from stdin:
 *
 *   {"dir": "...", "formatVersion": 2, "entries": [["<key hex>", "<value hex>"], ...]}
 *
 * A missing directory is created; an existing one is opened and added to. The entries
 * are written and flushed, so every one is in an SST file of that format when this exits.
 */
"use strict";
const path = require("node:path");
const RocksDB = require(path.join(__dirname, "../../tools/rocksdb10/node_modules/rocksdb-native"));

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function main() {
  const { dir, formatVersion, entries } = await readStdin();
  const columnFamily = new RocksDB.ColumnFamily("default", { tableFormatVersion: formatVersion });
  const db = new RocksDB(dir, { columnFamily });
  await db.ready();
  const batch = db.write();
  for (const [key, value] of entries) batch.put(Buffer.from(key, "hex"), Buffer.from(value, "hex"));
  await batch.flush();
  await db.flush();
  await db.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
