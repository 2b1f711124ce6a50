/**
 * Venice's DefaultVenicePartitioner: MD5 the key bytes, then fold the 16 unsigned digest
 * bytes as a base-256 number modulo the partition count.
 * Source: linkedin/venice
 * internal/venice-client-common/src/main/java/com/linkedin/venice/partitioner/DefaultVenicePartitioner.java
 *   modulo = (modulo * 256 + (digest[i] & 0xFF)) % numPartitions;  partition = Math.abs(modulo % numPartitions)
 * The arithmetic is Java `int`: `modulo * 256` wraps once numPartitions exceeds 2^23, and
 * `| 0` reproduces that wrap so that even such counts agree with Java.
 */
import { createHash } from "node:crypto";

/** The partition Venice assigns `keyBytes` (the Avro-serialized key) among `numPartitions`. */
export function defaultVenicePartition(keyBytes: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > 0x7fffffff) {
    throw new RangeError(`Partition count must be a positive int, got ${numPartitions}`);
  }
  const digest = createHash("md5").update(keyBytes).digest();
  let modulo = 0;
  for (let i = 0; i < 16; i++) {
    modulo = ((modulo * 256 + digest[i]) | 0) % numPartitions;
  }
  return Math.abs(modulo % numPartitions);
}
