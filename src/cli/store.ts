/**
 * `rialto store create|inspect`: builds store versions in Venice's layout and looks into
 * them. Argument parsing and printing only; the work is in src/tools/.
 *
 * Exit codes: 0 done, 1 the command failed (one line on stderr), 2 usage error.
 */
import { parseArgs } from "node:util";
import { parseJsonExact } from "../tools/avro_json.ts";
import { COMPRESSION_NAMES, type CompressionName } from "../tools/version_descriptor.ts";
import { messageOf } from "../tools/errors.ts";
import { formatBytes, ProgressBar } from "../tools/progress.ts";
import { createStoreVersion } from "../tools/store_create.ts";
import {
  dumpStoreVersion,
  listStoreVersions,
  lookupKey,
  type VersionSummary,
} from "../tools/store_inspect.ts";
import { resourceNameOf } from "../storage/layout.ts";
import { loadConfigFile } from "../config/load.ts";
import { setTierCurrentVersion } from "../tier/current_version.ts";

/** Inputs at least this big get a progress bar on a terminal without `--progress`. */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

const USAGE = `Usage: rialto store <create|inspect|current-version> [options]

  create           Build a store version from a JSONL file, in Venice's on-disk layout
  inspect          List store versions, dump records, or look up one key
  current-version  Swap a store's current version across a standalone tier

Run "rialto store <subcommand> --help" for its options.`;

const CREATE_USAGE =
  `Usage: rialto store create --data-dir DIR --store NAME --version N --partitions P
         --key-schema FILE.avsc --value-schema FILE.avsc --input FILE.jsonl [options]

Builds <DIR>/rocksdb/<NAME>_v<N> (one RocksDB per partition, plus the metadata partition)
and <DIR>/schemas/<NAME>_v<N>.json. The input has one {"key": ..., "value": ...} object
a line, in Avro's JSON mapping (unions as {"type": value}, bytes as strings).

Options:
  --value-schema-id N      Writer schema id stored with each value (default 1)
  --compression STRATEGY   ${COMPRESSION_NAMES.join(" | ")} (default NO_OP); plain ZSTD only
                           with --allow-plain-zstd: Venice's clients cannot read it
  --chunked                Chunking-enabled version: large values split into chunks
  --max-chunk-bytes N      Message size limit (default 972800, Venice's 950 KiB)
  --progress               Show a progress bar on stderr (default: on a terminal, for
                           inputs over 8 MiB)
  --no-progress            Never show a progress bar
  -h, --help               Show this help`;

const INSPECT_USAGE =
  `Usage: rialto store inspect --data-dir DIR [--store NAME [--version N]] [options]

Without --version, lists the store versions under DIR (all, or one store's). With --store
and --version, shows that version; --dump prints its records as JSON lines, --key prints
one record (exit code 1 when the key is absent).

Options:
  --dump        Print every record: {"partition", "key", "schemaId", "value"}
  --key JSON    Look up one key, given as JSON in Avro's JSON mapping (e.g. '"alice"')
  --limit N     With --dump, stop after N records
  --json        Print summaries as JSON instead of a table
  -h, --help    Show this help`;

const CURRENT_VERSION_USAGE = `Usage: rialto store current-version STORE N [--config FILE]

Makes version N the current version of STORE for the whole tier the config's discovery
section names (ZooKeeper, or the embedded directory): one write that every node's
/metadata answers follow. Refused, with nothing written, unless every partition of
STORE_vN is served by a live, ready node with an HTTP port. The store's descriptor is
read from the config's dataDir (<dataDir>/stores/STORE).

Options:
  -c, --config FILE   Config file (default: $RIALTO_CONFIG or ./rialto.yaml)
  -h, --help          Show this help`;

class UsageError extends Error {}

function print(line: string): void {
  console.log(line);
}

function fail(message: string): number {
  console.error(`rialto store: ${message}`);
  return 1;
}

function usageFailure(message: string, usage: string): number {
  console.error(`rialto store: ${message}\n\n${usage}`);
  return 2;
}

function parse<T extends Record<string, { type: "string" | "boolean"; short?: string }>>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
}

function wholeNumber(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${name} must be a whole number >= ${min}, got "${text}"`);
  }
  return Number(text);
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

async function readTextArg(what: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read ${what} "${path}": ${messageOf(error)}`);
  }
}

async function create(args: string[]): Promise<number> {
  const values = parse(args, {
    "data-dir": { type: "string" },
    store: { type: "string" },
    version: { type: "string" },
    partitions: { type: "string" },
    "key-schema": { type: "string" },
    "value-schema": { type: "string" },
    input: { type: "string" },
    "value-schema-id": { type: "string" },
    compression: { type: "string" },
    "allow-plain-zstd": { type: "boolean" },
    chunked: { type: "boolean" },
    "max-chunk-bytes": { type: "string" },
    progress: { type: "boolean" },
    "no-progress": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    print(CREATE_USAGE);
    return 0;
  }
  const dataDir = required("data-dir", values["data-dir"]);
  const store = required("store", values.store);
  const version = wholeNumber("version", required("version", values.version), 1)!;
  const partitions = wholeNumber("partitions", required("partitions", values.partitions), 1)!;
  const keySchemaPath = required("key-schema", values["key-schema"]);
  const valueSchemaPath = required("value-schema", values["value-schema"]);
  const input = required("input", values.input);
  const valueSchemaId = wholeNumber("value-schema-id", values["value-schema-id"], 1);
  const maxChunkBytes = wholeNumber("max-chunk-bytes", values["max-chunk-bytes"], 2);
  const compression = values.compression ?? "NO_OP";
  if (!(COMPRESSION_NAMES as readonly string[]).includes(compression)) {
    throw new UsageError(
      `--compression must be one of ${COMPRESSION_NAMES.join(", ")}, got "${compression}"`,
    );
  }
  if (values.progress && values["no-progress"]) {
    throw new UsageError("--progress and --no-progress contradict each other");
  }

  const keySchema = await readTextArg("key schema", keySchemaPath);
  const valueSchema = await readTextArg("value schema", valueSchemaPath);
  let showProgress = values.progress === true;
  if (!showProgress && !values["no-progress"] && Deno.stderr.isTerminal()) {
    try {
      showProgress = (await Deno.stat(input)).size >= PROGRESS_MIN_BYTES;
    } catch {
      // createStoreVersion reports the unreadable input.
    }
  }
  const resource = resourceNameOf(store, version);
  const bar = showProgress ? new ProgressBar(Deno.stderr, `Creating ${resource}`) : null;
  try {
    const created = await createStoreVersion({
      dataDir,
      store,
      version,
      partitions,
      keySchema,
      valueSchema,
      valueSchemaId,
      input,
      compression: compression as CompressionName,
      allowPlainZstd: values["allow-plain-zstd"] ?? false,
      chunked: values.chunked ?? false,
      maxChunkBytes,
      onProgress: bar ? (lines, done, total) => bar.update(lines, done, total) : undefined,
    });
    bar?.finish();
    const dictionary = created.dictionaryBytes === null
      ? ""
      : `, ${formatBytes(created.dictionaryBytes)} dictionary`;
    print(
      `Created ${created.resource}: ${created.records} records in ${partitions} partitions` +
        ` (${compression}${values.chunked ? `, chunked, ${created.chunkedRecords} split` : ""}` +
        `${dictionary}) at ${created.versionDir}`,
    );
    return 0;
  } finally {
    bar?.finish();
  }
}

function summaryTable(summaries: readonly VersionSummary[]): string {
  const rows = [["RESOURCE", "PARTITIONS", "KEYS", "SIZE", "SCHEMA IDS", "COMPRESSION", "CHUNKED"]];
  for (const s of summaries) {
    rows.push([
      s.resource,
      String(s.partitions.length),
      String(s.keys),
      formatBytes(s.diskBytes),
      s.schemaIds.join(",") || "-",
      s.compressionStrategy ?? "(no metadata)",
      s.chunked === null ? "-" : s.chunked ? "yes" : "no",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join(
    "\n",
  );
}

function versionDetails(s: VersionSummary): string {
  const lines = [
    `${s.resource}: ${s.partitions.length} partitions, ${s.keys} keys, ${
      formatBytes(s.diskBytes)
    } on disk`,
    `  compression: ${s.compressionStrategy ?? "(no metadata)"}${
      s.dictionaryBytes === null ? "" : ` (${formatBytes(s.dictionaryBytes)} dictionary)`
    }`,
    `  chunked: ${s.chunked === null ? "-" : s.chunked ? "yes" : "no"}`,
    `  schema ids: ${s.schemaIds.join(", ") || "-"}`,
    `  descriptor: ${s.hasDescriptor ? "yes" : "no"}`,
    "  PARTITION  KEYS  CHUNKS  SIZE",
  ];
  for (const p of s.partitions) {
    lines.push(
      `  ${String(p.partition).padEnd(9)}  ${String(p.keys).padEnd(4)}  ${
        String(p.chunks).padEnd(6)
      }  ${formatBytes(p.diskBytes)}`,
    );
  }
  return lines.join("\n");
}

async function inspect(args: string[]): Promise<number> {
  const values = parse(args, {
    "data-dir": { type: "string" },
    store: { type: "string" },
    version: { type: "string" },
    dump: { type: "boolean" },
    key: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    print(INSPECT_USAGE);
    return 0;
  }
  const dataDir = required("data-dir", values["data-dir"]);
  const version = wholeNumber("version", values.version, 1);
  const limit = wholeNumber("limit", values.limit, 0);
  if (version !== undefined && values.store === undefined) {
    throw new UsageError("--version needs --store");
  }
  if ((values.dump || values.key !== undefined) && version === undefined) {
    throw new UsageError(`--${values.dump ? "dump" : "key"} needs --store and --version`);
  }
  if (values.dump && values.key !== undefined) {
    throw new UsageError("--dump and --key are alternatives");
  }
  if (limit !== undefined && !values.dump) throw new UsageError("--limit goes with --dump");

  if (version === undefined) {
    const summaries = await listStoreVersions(dataDir, { store: values.store });
    if (values.json) print(JSON.stringify(summaries, null, 2));
    else if (summaries.length === 0) print(`No store versions under ${dataDir}/rocksdb`);
    else print(summaryTable(summaries));
    return 0;
  }
  const resource = resourceNameOf(values.store!, version);
  if (values.key !== undefined) {
    let key: unknown;
    try {
      key = parseJsonExact(values.key);
    } catch (error) {
      throw new UsageError(`--key must be JSON (a string key is '"alice"'): ${messageOf(error)}`);
    }
    const record = await lookupKey(dataDir, resource, key);
    if (record === null) return fail(`Key ${values.key} not found in ${resource}`);
    print(JSON.stringify(record));
    return 0;
  }
  if (values.dump) {
    for await (const record of dumpStoreVersion(dataDir, resource, { limit })) {
      print(JSON.stringify(record));
    }
    return 0;
  }
  const [summary] = await listStoreVersions(dataDir, { resource });
  if (summary === undefined) return fail(`Store version "${resource}" not found under ${dataDir}`);
  print(values.json ? JSON.stringify(summary, null, 2) : versionDetails(summary));
  return 0;
}

/** `rialto store current-version STORE N`: the tier's version swap. */
async function currentVersion(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  if (parsed.values.help) {
    print(CURRENT_VERSION_USAGE);
    return 0;
  }
  const [store, versionText, ...extra] = parsed.positionals;
  if (store === undefined || versionText === undefined || extra.length > 0) {
    throw new UsageError("expected STORE and N");
  }
  if (!/^[1-9][0-9]*$/.test(versionText) || Number(versionText) > 0x7fffffff) {
    throw new UsageError(`N must be a version number (a positive int), got "${versionText}"`);
  }
  const path = parsed.values.config ?? Deno.env.get("RIALTO_CONFIG") ?? "rialto.yaml";
  const { config } = await loadConfigFile(path);
  const result = await setTierCurrentVersion(config, store, Number(versionText));
  print(
    `${result.store}: current version ${result.version} for the tier (was ${
      result.previous ?? "not set"
    }); ${result.nodes} live node${result.nodes === 1 ? "" : "s"} serve it`,
  );
  return 0;
}

/** `rialto store ...`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  const usage = subcommand === "create"
    ? CREATE_USAGE
    : subcommand === "inspect"
    ? INSPECT_USAGE
    : subcommand === "current-version"
    ? CURRENT_VERSION_USAGE
    : USAGE;
  try {
    switch (subcommand) {
      case "create":
        return await create(rest);
      case "inspect":
        return await inspect(rest);
      case "current-version":
        return await currentVersion(rest);
      case "-h":
      case "--help":
      case "help":
        print(USAGE);
        return 0;
      case undefined:
        return usageFailure("missing subcommand", USAGE);
      default:
        return usageFailure(`unknown subcommand "${subcommand}"`, USAGE);
    }
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error.message, usage);
    return fail(messageOf(error));
  }
}
