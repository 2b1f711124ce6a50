/**
 * An avsc long type whose values are bigints, so every 64-bit long survives exactly (the
 * default type refuses longs beyond +-2^53). Offsets in Venice's PartitionState and user
 * longs written by `rialto store create` both need it. Built with avsc's documented
 * `LongType.__with`; accepts a JS number or a bigint from JSON.
 */
import avro from "avsc";
import { Buffer } from "node:buffer";

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;

export const EXACT_LONG: avro.Type = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  // A number that is not an integer stays a number, which isValid then refuses.
  fromJSON: (n: number | bigint) => typeof n === "bigint" || Number.isInteger(n) ? BigInt(n) : n,
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === "bigint" && n >= MIN && n <= MAX,
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/**
 * avsc `forSchema` options that make every long an exact bigint. A fresh registry each
 * call: forSchema adds the schema's named types to it.
 */
export function exactLongs(): { registry: Record<string, avro.Type> } {
  return { registry: { long: EXACT_LONG } };
}
