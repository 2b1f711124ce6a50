/**
 * `rialto get` and `rialto batch-get`: read keys from a running server the way the Fast
 * Client does, and print the values as JSON (null for a missing key). The store's
 * schemas and partition count come from the descriptor `rialto store create` wrote
 * under the data dir; a ZSTD_WITH_DICT dictionary from the version's metadata partition.
 */
import { parseArgs } from "node:util";
import { RocksDB } from "../../ffi/mod.ts";
import { ReadClient } from "../client/read_client.ts";
import { StoreClient } from "../client/store_client.ts";
import { partitionDir, resourceNameOf } from "../storage/layout.ts";
import { parseJsonExact } from "../tools/avro_json.ts";
import { readVersionDescriptor } from "../tools/version_descriptor.ts";
import {
  decodeStoreVersionState,
  METADATA_PARTITION_ID,
  VERSION_METADATA_KEY,
} from "../venice/version_metadata.ts";

const COMMON = `  --server HOST:PORT   the gRPC address (default 127.0.0.1:7070)
  --data-dir DIR       where the store's descriptor is (<dir>/schemas/<store>_v<N>.json)
  --store NAME --version N
  --tls-ca FILE --tls-cert FILE --tls-key FILE   mutual TLS
  --streaming          (batch-get) ask for streaming-mode records`;

const GET_HELP = `Usage: rialto get --store NAME --version N --key JSON [options]

Prints the value of one key (in Avro's JSON mapping), or null when it is missing.
${COMMON}
`;
const BATCH_HELP =
  `Usage: rialto batch-get --store NAME --version N --key JSON [--key JSON ...] [options]

Prints a JSON array of {"key", "value"} in request order; value is null when missing.
${COMMON}
`;

const OPTIONS = {
  server: { type: "string", default: "127.0.0.1:7070" },
  "data-dir": { type: "string", default: "./data" },
  store: { type: "string" },
  version: { type: "string" },
  key: { type: "string", multiple: true },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  streaming: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function readDictionary(dataDir: string, resource: string): Uint8Array | null {
  const path = partitionDir(dataDir, resource, METADATA_PARTITION_ID);
  try {
    Deno.statSync(path);
  } catch {
    return null;
  }
  using db = RocksDB.open(path, { mode: "read-only" });
  const bytes = db.get(VERSION_METADATA_KEY);
  return bytes ? decodeStoreVersionState(bytes).compressionDictionary ?? null : null;
}

async function run(args: string[], batch: boolean): Promise<number> {
  const help = batch ? BATCH_HELP : GET_HELP;
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  const version = Number(values.version);
  const keys = values.key ?? [];
  if (
    !values.store || !Number.isInteger(version) || version < 1 || keys.length === 0 ||
    (!batch && keys.length > 1)
  ) {
    console.error(
      `--store, --version and ${batch ? "at least one" : "one"} --key are required\n\n${help}`,
    );
    return 2;
  }
  let parsedKeys: unknown[];
  try {
    parsedKeys = keys.map((k) => parseJsonExact(k));
  } catch (error) {
    console.error(`A --key is not valid JSON: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  const dataDir = values["data-dir"];
  const resource = resourceNameOf(values.store, version);
  let read: ReadClient | undefined;
  let store: StoreClient | undefined;
  try {
    const descriptor = await readVersionDescriptor(dataDir, resource);
    const tls = values["tls-ca"]
      ? {
        ca: await Deno.readFile(values["tls-ca"]),
        cert: values["tls-cert"] ? await Deno.readFile(values["tls-cert"]) : undefined,
        key: values["tls-key"] ? await Deno.readFile(values["tls-key"]) : undefined,
      }
      : undefined;
    read = new ReadClient(values.server, tls);
    store = new StoreClient(read, descriptor, readDictionary(dataDir, resource));
    if (batch) {
      const found = await store.batchGet(parsedKeys, { streaming: values.streaming });
      console.log(JSON.stringify(parsedKeys.map((key, i) => ({ key, value: found[i] })), null, 2));
    } else {
      console.log(JSON.stringify(await store.get(parsedKeys[0]), null, 2));
    }
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    store?.close();
    read?.close();
  }
}

export const getMain = (args: string[]): Promise<number> => run(args, false);
export const batchGetMain = (args: string[]): Promise<number> => run(args, true);
