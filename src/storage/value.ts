/**
 * A value as Venice stores it: a 4-byte big-endian signed writer schema id, then the
 * payload (Avro, compressed with the version's strategy). The storage layer hands out
 * values in this same shape, reassembled when chunked, so nothing is copied to strip
 * or re-add the prefix. (`withSchemaHeader` in venice/chunking.ts builds one.)
 */
import { CorruptValueError } from "./errors.ts";

export { SCHEMA_HEADER_LENGTH as SCHEMA_ID_BYTES } from "../venice/chunking.ts";
import { SCHEMA_HEADER_LENGTH as SCHEMA_ID_BYTES } from "../venice/chunking.ts";

/** The writer schema id of a stored value. */
export function schemaIdOf(stored: Uint8Array): number {
  if (stored.length < SCHEMA_ID_BYTES) {
    throw new CorruptValueError(
      `Stored value has ${stored.length} bytes, fewer than its ${SCHEMA_ID_BYTES}-byte schema id`,
    );
  }
  return (stored[0] << 24) | (stored[1] << 16) | (stored[2] << 8) | stored[3];
}

/** The payload of a stored value, without copying. */
export function payloadOf(stored: Uint8Array): Uint8Array {
  return stored.subarray(SCHEMA_ID_BYTES);
}
