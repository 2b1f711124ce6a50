/**
 * The version descriptor: what a client needs besides the data to read a version built by
 * `rialto store create`, at `<dataDir>/schemas/<store>_v<N>.json`:
 *
 * ```json
 * { "store": "people", "version": 3, "partitionCount": 4,
 *   "keySchema": "string",
 *   "valueSchemas": { "1": { "type": "record", ... } },
 *   "compressionStrategy": "ZSTD_WITH_DICT", "chunked": false }
 * ```
 *
 * Schemas are JSON values (not strings). `compressionStrategy` is the name of Venice's
 * CompressionStrategy. The ZSTD_WITH_DICT dictionary is not here: it lives in the version
 * metadata (partition 1000000000), where Venice keeps it.
 */
import { z } from "zod";
import { parseResourceName } from "../storage/layout.ts";
import { messageOf, StoreToolError } from "./errors.ts";

export const COMPRESSION_NAMES = ["NO_OP", "GZIP", "ZSTD", "ZSTD_WITH_DICT"] as const;
export type CompressionName = typeof COMPRESSION_NAMES[number];

const descriptorSchema = z.object({
  store: z.string().min(1),
  version: z.number().int().positive(),
  partitionCount: z.number().int().positive(),
  keySchema: z.unknown().refine((s) => s !== undefined, "keySchema is required"),
  valueSchemas: z.record(z.string().regex(/^-?[0-9]+$/), z.unknown()),
  compressionStrategy: z.enum(COMPRESSION_NAMES),
  chunked: z.boolean(),
});

export interface VersionDescriptor {
  readonly store: string;
  readonly version: number;
  readonly partitionCount: number;
  /** The key schema as parsed JSON. */
  readonly keySchema: unknown;
  /** Value schemas by schema id (decimal string), as parsed JSON. */
  readonly valueSchemas: Readonly<Record<string, unknown>>;
  readonly compressionStrategy: CompressionName;
  readonly chunked: boolean;
}

/** `<dataDir>/schemas` */
export function schemasDir(dataDir: string): string {
  return `${dataDir}/schemas`;
}

/** `<dataDir>/schemas/<resource>.json` */
export function descriptorPath(dataDir: string, resource: string): string {
  return `${schemasDir(dataDir)}/${resource}.json`;
}

/** The descriptor as written: two-space JSON and a final newline. */
export function formatVersionDescriptor(descriptor: VersionDescriptor): string {
  return JSON.stringify(
    {
      store: descriptor.store,
      version: descriptor.version,
      partitionCount: descriptor.partitionCount,
      keySchema: descriptor.keySchema,
      valueSchemas: descriptor.valueSchemas,
      compressionStrategy: descriptor.compressionStrategy,
      chunked: descriptor.chunked,
    },
    null,
    2,
  ) + "\n";
}

/**
 * Reads and checks the descriptor of `resource` (e.g. `"people_v3"`). Throws
 * StoreToolError when it is missing, unreadable, malformed or names another version.
 */
export async function readVersionDescriptor(
  dataDir: string,
  resource: string,
): Promise<VersionDescriptor> {
  const path = descriptorPath(dataDir, resource);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new StoreToolError(`No version descriptor for "${resource}": "${path}" does not exist`);
    }
    throw new StoreToolError(`Cannot read version descriptor "${path}": ${messageOf(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StoreToolError(`Version descriptor "${path}" is not valid JSON: ${messageOf(error)}`);
  }
  const parsed = descriptorSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StoreToolError(
      `Version descriptor "${path}" is malformed: ${
        issue.path.join(".") || "(top level)"
      }: ${issue.message}`,
    );
  }
  const descriptor = parsed.data as VersionDescriptor;
  const name = parseResourceName(resource);
  if (name === null || name.store !== descriptor.store || name.version !== descriptor.version) {
    throw new StoreToolError(
      `Version descriptor "${path}" describes "${descriptor.store}_v${descriptor.version}", not "${resource}"`,
    );
  }
  return Object.freeze(descriptor);
}
