/**
 * Avro binary primitives (https://avro.apache.org/docs/1.11.1/specification/#binary-encoding)
 * for the few fixed records on Venice's read path, where a schema-driven library would be
 * slower than a handful of lines. `AvroReader` reads from a Uint8Array with a cursor;
 * `AvroWriter` appends to a growable buffer; the `*Size`/`write*At` functions let callers
 * size an output once and write in place.
 */

/** Raised on truncated or malformed Avro bytes; maps to BAD_REQUEST on requests. */
export class AvroDecodeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "AvroDecodeError";
  }
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();

/** Reads Avro values from `buf[pos, end)`. Reusable: call `reset` for new input. */
export class AvroReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array = new Uint8Array(0), pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  reset(buf: Uint8Array, pos = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    return this;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  /**
   * A zigzag varint `int`: at most 5 bytes, and the value must fit 32 bits (Java's
   * BinaryDecoder.readInt rejects a 6th byte; we also reject bits past the 32nd).
   */
  readInt(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.end) throw new AvroDecodeError("Truncated int");
    let b = buf[pos++];
    let n = b & 0x7f;
    if (b >= 0x80) {
      let shift = 7;
      for (;;) {
        if (pos >= this.end) throw new AvroDecodeError("Truncated int");
        b = buf[pos++];
        if (shift === 28) {
          if (b > 0x0f) throw new AvroDecodeError("Invalid int encoding: more than 32 bits");
          n |= b << 28;
          break;
        }
        n |= (b & 0x7f) << shift;
        if (b < 0x80) break;
        shift += 7;
      }
    }
    this.pos = pos;
    return (n >>> 1) ^ -(n & 1);
  }

  /**
   * A zigzag varint `long` (at most 10 bytes). Returned as a number; values beyond
   * Number.MAX_SAFE_INTEGER throw rather than lose precision. Use `readLongBigInt` for those.
   */
  readLong(): number {
    // Number arithmetic for up to 7 bytes (49 bits of zigzag, always safe); longer
    // encodings take the BigInt path.
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0; // bits 0..27
    let hi = 0; // bits 28..48, as a plain number
    for (let i = 0; i < 7; i++) {
      if (pos >= this.end) throw new AvroDecodeError("Truncated long");
      const b = buf[pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else hi += (b & 0x7f) * 2 ** (7 * i - 28);
      if (b < 0x80) {
        this.pos = pos;
        const z = hi * 2 ** 28 + lo;
        // zigzag: even -> z/2, odd -> -(z+1)/2
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
    }
    const v = this.readLongBigInt();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new AvroDecodeError(`Long ${v} is outside the safe integer range`);
    }
    return Number(v);
  }

  readLongBigInt(): bigint {
    const buf = this.buf;
    let pos = this.pos;
    let n = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.end) throw new AvroDecodeError("Truncated long");
      const b = buf[pos++];
      if (i === 9 && b > 1) throw new AvroDecodeError("Invalid long encoding: more than 64 bits");
      n |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return (n >> 1n) ^ -(n & 1n);
      }
      shift += 7n;
    }
    throw new AvroDecodeError("Invalid long encoding: more than 10 bytes");
  }

  /** A boolean byte: exactly 0 or 1. */
  readBoolean(): boolean {
    if (this.pos >= this.end) throw new AvroDecodeError("Truncated boolean");
    const b = this.buf[this.pos++];
    if (b > 1) throw new AvroDecodeError(`Invalid boolean byte ${b}`);
    return b === 1;
  }

  /**
   * The start offset of a `bytes`/`string` payload; the cursor moves past it. Together with
   * `pos` afterwards this gives the payload's range without a copy.
   */
  readBytesStart(): number {
    const len = this.readLong();
    if (len < 0) throw new AvroDecodeError(`Negative length ${len}`);
    const start = this.pos;
    if (len > this.end - start) {
      throw new AvroDecodeError(`Length ${len} at offset ${start} runs past the end (${this.end})`);
    }
    this.pos = start + len;
    return start;
  }

  /** A `bytes` value as a subarray of the input (no copy). */
  readBytes(): Uint8Array {
    const start = this.readBytesStart();
    return this.buf.subarray(start, this.pos);
  }

  /** A `string` value; invalid UTF-8 throws. */
  readString(): string {
    const start = this.readBytesStart();
    try {
      return textDecoder.decode(this.buf.subarray(start, this.pos));
    } catch {
      throw new AvroDecodeError(`Invalid UTF-8 in string at offset ${start}`);
    }
  }

  /** A `fixed` of `size` bytes as a subarray. */
  readFixed(size: number): Uint8Array {
    if (this.end - this.pos < size) throw new AvroDecodeError(`Truncated fixed(${size})`);
    const start = this.pos;
    this.pos += size;
    return this.buf.subarray(start, this.pos);
  }
}

/** Zigzag-encodes an int32 into its unsigned varint value. */
function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

/** Bytes the Avro encoding of int `n` takes (1 to 5). */
export function intSize(n: number): number {
  const z = zigzag32(n);
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes Avro int `n` at `pos`; returns the next offset. `n` must be an int32. */
export function writeIntAt(buf: Uint8Array, pos: number, n: number): number {
  let z = zigzag32(n);
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Bytes the Avro encoding of a `bytes` value of `length` takes (length prefix included). */
export function bytesSize(length: number): number {
  // Lengths are longs on the wire; below 2^31 the int and long encodings coincide.
  return intSize(length) + length;
}

/** Writes a `bytes` value at `pos`; returns the next offset. */
export function writeBytesAt(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = writeIntAt(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

function checkInt32(n: number): void {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new RangeError(`Value ${n} is not an Avro int (32-bit signed integer)`);
  }
}

/** Appends Avro values to a buffer that grows by doubling. */
export class AvroWriter {
  #buf: Uint8Array;
  #pos = 0;

  constructor(initialCapacity = 64) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.#pos;
  }

  #ensure(extra: number): void {
    const need = this.#pos + extra;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  writeInt(n: number): this {
    checkInt32(n);
    this.#ensure(5);
    this.#pos = writeIntAt(this.#buf, this.#pos, n);
    return this;
  }

  writeLong(n: number | bigint): this {
    // Within int32 the long and int encodings are identical.
    if (typeof n === "number" && (n | 0) === n) return this.writeInt(n);
    let v = BigInt(n);
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new RangeError(`Value ${n} is not an Avro long`);
    v = (v << 1n) ^ (v >> 63n); // zigzag
    if (v < 0n) v += 1n << 64n;
    this.#ensure(10);
    while (v >= 0x80n) {
      this.#buf[this.#pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#pos++] = Number(v);
    return this;
  }

  writeBoolean(b: boolean): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = b ? 1 : 0;
    return this;
  }

  writeBytes(bytes: Uint8Array): this {
    this.#ensure(5 + bytes.length);
    this.#pos = writeBytesAt(this.#buf, this.#pos, bytes);
    return this;
  }

  writeString(s: string): this {
    return this.writeBytes(textEncoder.encode(s));
  }

  writeFixed(bytes: Uint8Array, size: number): this {
    if (bytes.length !== size) {
      throw new RangeError(`Fixed value has ${bytes.length} bytes, expected ${size}`);
    }
    this.#ensure(size);
    this.#buf.set(bytes, this.#pos);
    this.#pos += size;
    return this;
  }

  /** Raw bytes with no framing. */
  writeRaw(bytes: Uint8Array): this {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    return this;
  }

  /** A copy of what was written, exactly sized. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}
