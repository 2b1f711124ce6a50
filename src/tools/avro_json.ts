/**
 * Avro schemas and values in Avro's JSON mapping (the form `rialto store` reads and
 * prints): unions as `{"<branch type>": value}` or `null`, bytes and fixed as strings of
 * code points 0-255. avsc does the mapping (its `fromString` coercion, `toString` back).
 *
 * Values survive byte for byte: JSON is parsed so that integers beyond +-2^53 stay exact
 * (bigints) and -0.0 keeps its sign, and longs are bigints (../venice/avro_long.ts).
 */
import avro from "avsc";
import { Buffer } from "node:buffer";
import { exactLongs } from "../venice/avro_long.ts";
import { messageOf, StoreToolError } from "./errors.ts";

export type AvroType = avro.Type;

/** Parses Avro schema JSON text; `what` names it in errors ("Key schema"). */
export function parseSchema(text: string, what: string): AvroType {
  let json: unknown;
  try {
    json = parseJsonExact(text);
  } catch (error) {
    throw new StoreToolError(`${what} is not valid JSON: ${messageOf(error)}`);
  }
  return schemaType(json, what);
}

/** An avsc type from a parsed schema. */
export function schemaType(schema: unknown, what: string): AvroType {
  try {
    // deno-lint-ignore no-explicit-any
    return avro.Type.forSchema(schema as any, exactLongs());
  } catch (error) {
    throw new StoreToolError(`${what} is not a valid Avro schema: ${messageOf(error)}`);
  }
}

/**
 * Avro binary of `json` (a value in Avro's JSON mapping) under `type`; throws a plain
 * Error saying what does not match.
 */
export function encodeJson(type: AvroType, json: unknown): Uint8Array {
  const value = fromJsonValue(type, json);
  if (!type.isValid(value)) {
    const paths: string[] = [];
    type.isValid(value, {
      errorHook: (path: string[]) => paths.push(path.length ? path.join(".") : "(top level)"),
    });
    throw new Error(`invalid at ${paths.join(", ")}`);
  }
  const buffer = type.toBuffer(value);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/**
 * JSON.parse, but an integer literal beyond +-2^53 becomes the exact bigint (JSON.parse
 * would round it). -0.0 already parses to -0.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) => {
    if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
    const source = context?.source;
    return source !== undefined && /^-?[0-9]+$/.test(source) ? BigInt(source) : value;
  });
}

/**
 * A parsed JSON value in Avro's JSON mapping as a value of `type`: what avsc's
 * `fromString` does after its own JSON.parse (avsc 5.7.9, pinned in deno.json), without
 * the JSON.stringify round trip that would drop -0.0's sign and round big longs.
 */
function fromJsonValue(type: AvroType, json: unknown): unknown {
  return (type as unknown as { _copy(value: unknown, options: { coerce: number }): unknown })
    ._copy(json, { coerce: 2 });
}

/** The value of Avro binary `bytes` under `type`, in Avro's JSON mapping. */
export function decodeToJson(type: AvroType, bytes: Uint8Array): unknown {
  const value = type.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  return JSON.parse(type.toString(value));
}
