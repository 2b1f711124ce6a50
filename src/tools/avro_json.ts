/**
 * Avro schemas and values in Avro's JSON mapping (the form `rialto store` reads and
 * prints): unions as `{"<branch type>": value}` or `null`, bytes and fixed as strings of
 * code points 0-255. avsc does the mapping: `fromString` coerces JSON into a value of the
 * type, `toString` gives it back.
 */
import avro from "avsc";
import { Buffer } from "node:buffer";
import { messageOf, StoreToolError } from "./errors.ts";

export type AvroType = avro.Type;

/** Parses Avro schema JSON text; `what` names it in errors ("Key schema"). */
export function parseSchema(text: string, what: string): AvroType {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StoreToolError(`${what} is not valid JSON: ${messageOf(error)}`);
  }
  return schemaType(json, what);
}

/** An avsc type from a parsed schema. */
export function schemaType(schema: unknown, what: string): AvroType {
  try {
    // deno-lint-ignore no-explicit-any
    return avro.Type.forSchema(schema as any);
  } catch (error) {
    throw new StoreToolError(`${what} is not a valid Avro schema: ${messageOf(error)}`);
  }
}

/**
 * Avro binary of `json` (a value in Avro's JSON mapping) under `type`; throws a plain
 * Error saying what does not match.
 */
export function encodeJson(type: AvroType, json: unknown): Uint8Array {
  const value = type.fromString(JSON.stringify(json));
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

/** The value of Avro binary `bytes` under `type`, in Avro's JSON mapping. */
export function decodeToJson(type: AvroType, bytes: Uint8Array): unknown {
  const value = type.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  return JSON.parse(type.toString(value));
}
