import assert from "node:assert/strict";
import { parseJavaProperties } from "./metadata_partition.ts";

Deno.test("java.util.Properties as Properties.store writes them: comments, separators, escapes", () => {
  const text = [
    "#Tue Dec 01 10:00:00 UTC 2026",
    "! another comment",
    "rocksdb.plain.table.format.enabled=true",
    "record.transformer.value.schema = null",
    "spaced value",
    "colon:yes",
    "escaped\\=key=v",
    "",
  ].join("\n");
  assert.deepEqual(
    Object.fromEntries(parseJavaProperties(text)),
    {
      "rocksdb.plain.table.format.enabled": "true",
      "record.transformer.value.schema": "null",
      spaced: "value",
      colon: "yes",
      "escaped=key": "v",
    },
  );
});
