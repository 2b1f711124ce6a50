/**
 * The store descriptor: what a standalone tier tells a Fast Client about a store besides
 * its data, kept beside the data in `<dataDir>/stores/<store>/`:
 *
 * ```
 * store.json               {"store": "people", "partitionCount": 4,
 *                           "partitioner": {"class": "...DefaultVenicePartitioner", "params": {}},
 *                           "currentVersion": 3, "batchGetLimit": 500,
 *                           "latestSupersetValueSchemaId": null}
 * key_schema.avsc          the key schema (Venice's key schema id is always 1)
 * value_schemas/<id>.avsc  one file per value schema id (a positive integer)
 * ```
 *
 * `rialto store create` writes it; for versions copied from a Venice server an operator
 * writes it by hand. `currentVersion` is where a tier starts: once
 * `rialto store current-version` has set one for the tier, that one wins. A new version
 * never moves it (the nodes' copies would disagree): swaps go through current-version. Every file is
 * checked at load (JSON, Avro schema, ids, the superset id among the value schemas) and
 * a descriptor at fault is refused whole, with the file and the reason.
 */
import { dirname, join } from "node:path";
import avro from "avsc";
import { z } from "zod";
import { writeFileAtomic } from "../config/edit.ts";
import { messageOf } from "../tools/errors.ts";
import { pathExists } from "../path_exists.ts";

export const DEFAULT_PARTITIONER_CLASS = "com.linkedin.venice.partitioner.DefaultVenicePartitioner";
/**
 * What a Venice server answers as batchGetLimit for a store that never set one
 * (Store.DEFAULT_BATCH_GET_LIMIT, ServerReadMetadataRepository); the Fast Client's bound.
 */
export const DEFAULT_BATCH_GET_LIMIT = 500;
/** Venice gives every store's key schema id 1. */
export const KEY_SCHEMA_ID = 1;

const STORE_FILE = "store.json";
const KEY_SCHEMA_FILE = "key_schema.avsc";
const VALUE_SCHEMAS_DIR = "value_schemas";

/** Venice's counts and ids are Java ints. */
const javaInt = z.number().int().positive().max(0x7fffffff);

const storeFileSchema = z.strictObject({
  store: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "Expected a Venice store name"),
  partitionCount: javaInt,
  partitioner: z.strictObject({
    class: z.string().min(1),
    params: z.record(z.string(), z.string()).default({}),
  }).prefault({ class: DEFAULT_PARTITIONER_CLASS }),
  currentVersion: javaInt.nullable().default(null),
  batchGetLimit: javaInt.default(DEFAULT_BATCH_GET_LIMIT),
  latestSupersetValueSchemaId: javaInt.nullable().default(null),
});

export interface StoreDescriptor {
  readonly store: string;
  readonly partitionCount: number;
  readonly partitionerClass: string;
  readonly partitionerParams: Readonly<Record<string, string>>;
  /** Where the tier starts; null: the newest version the tier serves whole. */
  readonly currentVersion: number | null;
  readonly batchGetLimit: number;
  readonly latestSupersetValueSchemaId: number | null;
  /** The key schema as its file says it (compact JSON). */
  readonly keySchema: string;
  /** Value schemas by id, as compact JSON, in id order. */
  readonly valueSchemas: ReadonlyMap<number, string>;
}

/** A descriptor that cannot be used, with the file at fault. */
export class StoreDescriptorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreDescriptorError";
  }
}

/** `<dataDir>/stores` */
export function storesDir(dataDir: string): string {
  return join(dataDir, "stores");
}

/** `<dataDir>/stores/<store>` */
export function storeDir(dataDir: string, store: string): string {
  return join(storesDir(dataDir), store);
}

/** A schema file's text as compact JSON, after checking it is an Avro schema. */
function checkedSchema(path: string, text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StoreDescriptorError(`"${path}" is not valid JSON: ${messageOf(error)}`);
  }
  try {
    // deno-lint-ignore no-explicit-any
    avro.Type.forSchema(json as any);
  } catch (error) {
    throw new StoreDescriptorError(`"${path}" is not an Avro schema: ${messageOf(error)}`);
  }
  return JSON.stringify(json);
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new StoreDescriptorError(`"${path}" does not exist`);
    }
    throw new StoreDescriptorError(`Cannot read "${path}": ${messageOf(error)}`);
  }
}

/** Reads and checks the descriptor of `store`; throws StoreDescriptorError at any fault. */
export async function readStoreDescriptor(
  dataDir: string,
  store: string,
): Promise<StoreDescriptor> {
  const dir = storeDir(dataDir, store);
  const storePath = join(dir, STORE_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readText(storePath));
  } catch (error) {
    if (error instanceof StoreDescriptorError) throw error;
    throw new StoreDescriptorError(`"${storePath}" is not valid JSON: ${messageOf(error)}`);
  }
  const parsed = storeFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.code === "unrecognized_keys"
      ? issue.keys.join(", ")
      : issue.path.join(".") || "(top level)";
    throw new StoreDescriptorError(`"${storePath}": ${field}: ${issue.message}`);
  }
  const file = parsed.data;
  if (file.store !== store) {
    throw new StoreDescriptorError(
      `"${storePath}" describes store "${file.store}", not "${store}"`,
    );
  }
  const keyPath = join(dir, KEY_SCHEMA_FILE);
  const keySchema = checkedSchema(keyPath, await readText(keyPath));
  const valuesDir = join(dir, VALUE_SCHEMAS_DIR);
  const ids: number[] = [];
  try {
    for await (const entry of Deno.readDir(valuesDir)) {
      if (entry.name.startsWith(".")) continue;
      const id = /^([1-9][0-9]{0,8})\.avsc$/.exec(entry.name)?.[1];
      if (!entry.isFile || id === undefined) {
        throw new StoreDescriptorError(
          `"${
            join(valuesDir, entry.name)
          }" is not a value schema: expected <id>.avsc, id a positive integer`,
        );
      }
      ids.push(Number(id));
    }
  } catch (error) {
    if (error instanceof StoreDescriptorError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      throw new StoreDescriptorError(`"${valuesDir}" does not exist: a store needs a value schema`);
    }
    throw new StoreDescriptorError(`Cannot list "${valuesDir}": ${messageOf(error)}`);
  }
  if (ids.length === 0) {
    throw new StoreDescriptorError(`"${valuesDir}" holds no <id>.avsc: a store needs one`);
  }
  const valueSchemas = new Map<number, string>();
  for (const id of ids.sort((a, b) => a - b)) {
    const path = join(valuesDir, `${id}.avsc`);
    valueSchemas.set(id, checkedSchema(path, await readText(path)));
  }
  const superset = file.latestSupersetValueSchemaId;
  if (superset !== null && !valueSchemas.has(superset)) {
    throw new StoreDescriptorError(
      `"${storePath}": latestSupersetValueSchemaId ${superset} is not among the value schemas (${
        [...valueSchemas.keys()].join(", ")
      })`,
    );
  }
  return Object.freeze({
    store,
    partitionCount: file.partitionCount,
    partitionerClass: file.partitioner.class,
    partitionerParams: Object.freeze({ ...file.partitioner.params }),
    currentVersion: file.currentVersion,
    batchGetLimit: file.batchGetLimit,
    latestSupersetValueSchemaId: superset,
    keySchema,
    valueSchemas,
  });
}

/** The descriptors under `<dataDir>/stores`, and why the others were refused. */
export interface StoreDescriptors {
  readonly stores: ReadonlyMap<string, StoreDescriptor>;
  readonly refused: readonly { readonly store: string; readonly reason: string }[];
}

/** Reads every store's descriptor; a missing `stores` dir means none. */
export async function readStoreDescriptors(dataDir: string): Promise<StoreDescriptors> {
  const stores = new Map<string, StoreDescriptor>();
  const refused: { store: string; reason: string }[] = [];
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(storesDir(dataDir))) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  for (const store of names.sort()) {
    try {
      stores.set(store, await readStoreDescriptor(dataDir, store));
    } catch (error) {
      if (!(error instanceof StoreDescriptorError)) throw error;
      refused.push({ store, reason: error.message });
    }
  }
  return { stores, refused };
}

/** What `rialto store create` knows of a store when it builds a version. */
export interface StoreDescriptorUpdate {
  readonly store: string;
  readonly version: number;
  readonly partitionCount: number;
  /** JSON text of the key schema. */
  readonly keySchema: string;
  readonly valueSchemaId: number;
  /** JSON text of the value schema. */
  readonly valueSchema: string;
}

/** Two schema texts name the same schema when their JSON is equal. */
function sameSchema(a: string, b: string): boolean {
  return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
}

/**
 * Checks that the store's descriptor can take a new version and returns what writes it:
 * a new store starts at that version, an existing one keeps its currentVersion (the swap
 * is `rialto store current-version`'s), a new value schema id is added. Refuses (StoreDescriptorError, nothing written) a key schema,
 * a partition count or a schema under an existing id that differ from what the store has.
 * `rialto store create` checks before it builds and writes once the version is in place.
 */
export async function prepareStoreDescriptor(
  dataDir: string,
  update: StoreDescriptorUpdate,
): Promise<() => Promise<void>> {
  const dir = storeDir(dataDir, update.store);
  const storePath = join(dir, STORE_FILE);
  let prior: StoreDescriptor | null = null;
  try {
    await Deno.stat(storePath);
    prior = await readStoreDescriptor(dataDir, update.store);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (prior !== null) {
    if (!sameSchema(prior.keySchema, update.keySchema)) {
      throw new StoreDescriptorError(
        `Store "${update.store}" has another key schema ("${join(dir, KEY_SCHEMA_FILE)}")`,
      );
    }
    if (prior.partitionCount !== update.partitionCount) {
      throw new StoreDescriptorError(
        `Store "${update.store}" has ${prior.partitionCount} partitions ("${storePath}"), not ${update.partitionCount}`,
      );
    }
    const known = prior.valueSchemas.get(update.valueSchemaId);
    if (known !== undefined && !sameSchema(known, update.valueSchema)) {
      throw new StoreDescriptorError(
        `Store "${update.store}" has another value schema with id ${update.valueSchemaId}`,
      );
    }
  }
  return () => writeStoreDescriptor(dir, update, prior);
}

/**
 * Writes the descriptor so that a reader (the tier's rescan) never sees half of it: a new
 * store is built in a hidden folder beside the others and renamed into place; an existing
 * one gets its new schema file before the store.json that may name it.
 */
async function writeStoreDescriptor(
  dir: string,
  update: StoreDescriptorUpdate,
  prior: StoreDescriptor | null,
): Promise<void> {
  if (prior === null && !await pathExists(dir)) {
    const building = join(dirname(dir), `.${update.store}.new-${Deno.pid}`);
    await Deno.remove(building, { recursive: true }).catch(() => {});
    try {
      await writeStoreFiles(building, update, null);
      await Deno.rename(building, dir);
      return;
    } catch (error) {
      await Deno.remove(building, { recursive: true }).catch(() => {});
      // Another writer made the store meanwhile: write in place, as for a folder left over.
      if (!await pathExists(dir)) throw error;
    }
  }
  await writeStoreFiles(dir, update, prior);
}

async function writeStoreFiles(
  dir: string,
  update: StoreDescriptorUpdate,
  prior: StoreDescriptor | null,
): Promise<void> {
  const text = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
  await Deno.mkdir(join(dir, VALUE_SCHEMAS_DIR), { recursive: true });
  const valuePath = join(dir, VALUE_SCHEMAS_DIR, `${update.valueSchemaId}.avsc`);
  if (prior?.valueSchemas.has(update.valueSchemaId) !== true) {
    await writeFileAtomic(valuePath, text(JSON.parse(update.valueSchema)));
  }
  if (prior === null) {
    await writeFileAtomic(join(dir, KEY_SCHEMA_FILE), text(JSON.parse(update.keySchema)));
  }
  await writeFileAtomic(
    join(dir, STORE_FILE),
    text({
      store: update.store,
      partitionCount: update.partitionCount,
      partitioner: {
        class: prior?.partitionerClass ?? DEFAULT_PARTITIONER_CLASS,
        params: prior?.partitionerParams ?? {},
      },
      currentVersion: prior === null ? update.version : prior.currentVersion,
      batchGetLimit: prior?.batchGetLimit ?? DEFAULT_BATCH_GET_LIMIT,
      latestSupersetValueSchemaId: prior?.latestSupersetValueSchemaId ?? null,
    }),
  );
}
