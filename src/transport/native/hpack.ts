/**
 * HPACK (RFC 7541): the decoder for request header blocks, with its dynamic table, and
 * the few encoder primitives the server needs. The server never indexes what it sends
 * (literal without indexing), so its own encoder keeps no dynamic table; see
 * `TABLE_SIZE_UPDATE_ZERO` for how it answers a peer that shrinks SETTINGS_HEADER_TABLE_SIZE.
 */

import { huffmanDecode } from "./huffman.ts";

/** RFC 7541 Appendix A; index 1 is STATIC_NAMES[1]. */
export const STATIC_NAMES: readonly string[] = [
  "",
  ":authority",
  ":method",
  ":method",
  ":path",
  ":path",
  ":scheme",
  ":scheme",
  ":status",
  ":status",
  ":status",
  ":status",
  ":status",
  ":status",
  ":status",
  "accept-charset",
  "accept-encoding",
  "accept-language",
  "accept-ranges",
  "accept",
  "access-control-allow-origin",
  "age",
  "allow",
  "authorization",
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "content-length",
  "content-location",
  "content-range",
  "content-type",
  "cookie",
  "date",
  "etag",
  "expect",
  "expires",
  "from",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "last-modified",
  "link",
  "location",
  "max-forwards",
  "proxy-authenticate",
  "proxy-authorization",
  "range",
  "referer",
  "refresh",
  "retry-after",
  "server",
  "set-cookie",
  "strict-transport-security",
  "transfer-encoding",
  "user-agent",
  "vary",
  "via",
  "www-authenticate",
];

const STATIC_VALUES: readonly string[] = (() => {
  const v = new Array<string>(62).fill("");
  v[2] = "GET";
  v[3] = "POST";
  v[4] = "/";
  v[5] = "/index.html";
  v[6] = "http";
  v[7] = "https";
  v[8] = "200";
  v[9] = "204";
  v[10] = "206";
  v[11] = "304";
  v[12] = "400";
  v[13] = "404";
  v[14] = "500";
  v[16] = "gzip, deflate";
  return v;
})();

const STATIC_COUNT = 61;

/** Receives the decoded fields of one header block, in order. */
export interface HeaderSink {
  onHeader(name: string, value: string): void;
}

/** Decoding failures; all are connection errors of type COMPRESSION_ERROR (RFC 9113 §4.3). */
export const HpackError = {
  NONE: 0,
  TRUNCATED: 1,
  BAD_INDEX: 2,
  INTEGER_OVERFLOW: 3,
  BAD_HUFFMAN: 4,
  BAD_TABLE_SIZE_UPDATE: 5,
} as const;
export type HpackErrorCode = typeof HpackError[keyof typeof HpackError];

const ENTRY_OVERHEAD = 32;

/**
 * The last few literal values decoded, by their encoded octets: nghttp2 (h2load, curl,
 * nghttp) never indexes `:path`, so each of its calls repeats the same literal, and a
 * match costs a byte compare instead of Huffman decoding, validation and a new string.
 */
class LiteralCache {
  static readonly ENTRIES = 4;
  static readonly MAX_OCTETS = 128;
  readonly #octets = new Uint8Array(LiteralCache.ENTRIES * LiteralCache.MAX_OCTETS);
  // Encoded length with the Huffman flag folded in (length * 2 + huffman); -1 when empty.
  readonly #keys = new Int32Array(LiteralCache.ENTRIES).fill(-1);
  readonly #values: string[] = new Array<string>(LiteralCache.ENTRIES).fill("");
  #next = 0;

  /** The cached value of the literal `block[start, start + length)`, or undefined. */
  find(block: Uint8Array, start: number, length: number, huffman: boolean): string | undefined {
    if (length > LiteralCache.MAX_OCTETS) return undefined;
    const key = length * 2 + (huffman ? 1 : 0);
    const octets = this.#octets;
    for (let e = 0; e < LiteralCache.ENTRIES; e++) {
      if (this.#keys[e] !== key) continue;
      const base = e * LiteralCache.MAX_OCTETS;
      let i = 0;
      while (i < length && octets[base + i] === block[start + i]) i++;
      if (i === length) return this.#values[e];
    }
    return undefined;
  }

  /** Remembers a valid literal and its value, replacing the oldest entry. */
  remember(block: Uint8Array, start: number, length: number, huffman: boolean, value: string) {
    if (length > LiteralCache.MAX_OCTETS) return;
    const e = this.#next;
    this.#next = (e + 1) % LiteralCache.ENTRIES;
    this.#octets.set(block.subarray(start, start + length), e * LiteralCache.MAX_OCTETS);
    this.#keys[e] = length * 2 + (huffman ? 1 : 0);
    this.#values[e] = value;
  }
}

/**
 * One decoder per connection. Field names and values are decoded once into strings and
 * kept as strings in the dynamic table, so a request whose fields are all indexed (what
 * grpc-java, grpc-js and grpc-core send after the first call) costs no string building;
 * repeated literal values hit a small cache.
 */
export class HpackDecoder {
  /** SETTINGS_HEADER_TABLE_SIZE this endpoint advertised: the ceiling for updates. */
  readonly settingsMaxSize: number;
  #maxSize: number;
  #size = 0;
  // Ring buffer of entries, newest at #head; capacity fits settingsMaxSize / 32 entries.
  #names: string[];
  #values: string[];
  #sizes: Int32Array;
  #head = 0;
  #count = 0;
  #mask: number;
  #scratch = new Uint8Array(256);
  #pos = 0;
  readonly #literals = new LiteralCache();

  /** Set by `decode`: the fields' octet count plus 32 each (RFC 9113 §6.5.2) exceeded the cap. */
  listTooLarge = false;
  /** Set by `decode`: a field name or value is not allowed in HTTP/2 (RFC 9113 §8.2.1). */
  malformed = false;

  constructor(settingsMaxSize = 4096) {
    this.settingsMaxSize = settingsMaxSize;
    this.#maxSize = settingsMaxSize;
    let capacity = 1;
    while (capacity < settingsMaxSize / ENTRY_OVERHEAD + 1) capacity *= 2;
    this.#names = new Array<string>(capacity).fill("");
    this.#values = new Array<string>(capacity).fill("");
    this.#sizes = new Int32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Current dynamic table size in octets (for tests). */
  get dynamicTableSize(): number {
    return this.#size;
  }

  /** Number of dynamic table entries (for tests). */
  get dynamicTableLength(): number {
    return this.#count;
  }

  /**
   * Decodes one complete header block, calling `sink.onHeader` for each field while the
   * running header list size stays within `maxListSize`. Past it, decoding goes on
   * (the dynamic table must stay in step with the peer's encoder) but fields are dropped
   * and `listTooLarge` is set, so a block that expands enormously (an HPACK bomb) costs
   * time proportional to its encoded size and no memory.
   */
  decode(
    block: Uint8Array,
    start: number,
    end: number,
    sink: HeaderSink,
    maxListSize: number,
  ): HpackErrorCode {
    this.listTooLarge = false;
    this.malformed = false;
    this.#pos = start;
    let listSize = 0;
    let fieldSeen = false;
    while (this.#pos < end) {
      const b = block[this.#pos];
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed field (§6.1).
        const index = this.#integer(block, end, 7);
        if (index <= 0) return index === 0 ? HpackError.BAD_INDEX : -index as HpackErrorCode;
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index];
          value = STATIC_VALUES[index];
        } else {
          const slot = this.#slot(index);
          if (slot < 0) return HpackError.BAD_INDEX;
          name = this.#names[slot];
          value = this.#values[slot];
        }
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block.
        if (fieldSeen) return HpackError.BAD_TABLE_SIZE_UPDATE;
        const size = this.#integer(block, end, 5);
        if (size < 0) return -size as HpackErrorCode;
        if (size > this.settingsMaxSize) return HpackError.BAD_TABLE_SIZE_UPDATE;
        this.#maxSize = size;
        this.#evict(0);
        continue;
      } else {
        // Literal: with incremental indexing (01), without indexing (0000), never (0001).
        const incremental = (b & 0xc0) === 0x40;
        const index = this.#integer(block, end, incremental ? 6 : 4);
        if (index < 0) return -index as HpackErrorCode;
        if (index === 0) {
          const n = this.#string(block, end, true);
          if (n === null) return this.#lastError;
          name = n;
        } else if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index];
        } else {
          const slot = this.#slot(index);
          if (slot < 0) return HpackError.BAD_INDEX;
          name = this.#names[slot];
        }
        const v = this.#string(block, end, false);
        if (v === null) return this.#lastError;
        value = v;
        if (incremental) this.#insert(name, value);
      }
      fieldSeen = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > maxListSize) {
        this.listTooLarge = true;
      } else {
        sink.onHeader(name, value);
      }
    }
    return HpackError.NONE;
  }

  #lastError: HpackErrorCode = HpackError.NONE;

  /** RFC 7541 §5.1; returns the value, or the negated error code (0 is never an error). */
  #integer(block: Uint8Array, end: number, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = block[this.#pos++] & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      // Past 28 bits of shift the value can only overflow (or, for zero bytes, never end).
      if (shift > 28) return -HpackError.INTEGER_OVERFLOW;
      if (this.#pos >= end) return -HpackError.TRUNCATED;
      const b = block[this.#pos++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (value > 0x7fffffff) return -HpackError.INTEGER_OVERFLOW;
      if ((b & 0x80) === 0) return value;
    }
  }

  /** A string literal (§5.2) as a latin1 string; null with #lastError on failure. */
  #string(block: Uint8Array, end: number, isName: boolean): string | null {
    if (this.#pos >= end) {
      this.#lastError = HpackError.TRUNCATED;
      return null;
    }
    const huffman = (block[this.#pos] & 0x80) !== 0;
    const length = this.#integer(block, end, 7);
    if (length < 0) {
      this.#lastError = -length as HpackErrorCode;
      return null;
    }
    const start = this.#pos;
    if (end - start < length) {
      this.#lastError = HpackError.TRUNCATED;
      return null;
    }
    this.#pos = start + length;
    if (!isName) {
      const cached = this.#literals.find(block, start, length, huffman);
      if (cached !== undefined) return cached;
    }
    let bytes: Uint8Array;
    let from: number;
    let to: number;
    if (huffman) {
      const need = Math.ceil(length * 8 / 5);
      if (this.#scratch.length < need) this.#scratch = new Uint8Array(need * 2);
      const n = huffmanDecode(block, start, start + length, this.#scratch);
      if (n < 0) {
        this.#lastError = HpackError.BAD_HUFFMAN;
        return null;
      }
      bytes = this.#scratch;
      from = 0;
      to = n;
    } else {
      bytes = block;
      from = start;
      to = start + length;
    }
    if (isName) {
      if (!validName(bytes, from, to)) this.malformed = true;
      return latin1(bytes, from, to);
    }
    const value = latin1(bytes, from, to);
    if (validValue(bytes, from, to)) this.#literals.remember(block, start, length, huffman, value);
    else this.malformed = true;
    return value;
  }

  /** Ring slot of dynamic index (62 = newest), or -1 when out of range. */
  #slot(index: number): number {
    const i = index - STATIC_COUNT - 1;
    if (i >= this.#count) return -1;
    return (this.#head + i) & this.#mask;
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#maxSize) {
      // §4.4: an entry larger than the table empties it and is not added.
      this.#evict(0);
      return;
    }
    this.#evict(this.#maxSize - size);
    this.#head = (this.#head - 1) & this.#mask;
    this.#names[this.#head] = name;
    this.#values[this.#head] = value;
    this.#sizes[this.#head] = size;
    this.#count++;
    this.#size += size;
  }

  /** Drops the oldest entries until the table size is at most `limit`. */
  #evict(limit: number): void {
    while (this.#count > 0 && this.#size > Math.max(0, limit)) {
      const oldest = (this.#head + this.#count - 1) & this.#mask;
      this.#size -= this.#sizes[oldest];
      this.#names[oldest] = "";
      this.#values[oldest] = "";
      this.#count--;
    }
  }
}

/** Lower-case token characters, or a leading ':' for pseudo-headers (RFC 9113 §8.2.1). */
function validName(bytes: Uint8Array, from: number, to: number): boolean {
  if (from === to) return false;
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c <= 0x20 || c >= 0x7f || (c >= 0x41 && c <= 0x5a)) return false;
    if (c === 0x3a && i !== from) return false;
  }
  return true;
}

/** No NUL, CR or LF, and no leading or trailing space or tab (RFC 9113 §8.2.1). */
function validValue(bytes: Uint8Array, from: number, to: number): boolean {
  if (from === to) return true;
  const first = bytes[from];
  const last = bytes[to - 1];
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  if (to - from <= 4096) {
    return String.fromCharCode.apply(null, bytes.subarray(from, to) as unknown as number[]);
  }
  let s = "";
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(to, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

// ---- Encoder primitives -------------------------------------------------------------

/** A dynamic table size update to 0 (§6.3): the server's encoder never uses the table. */
export const TABLE_SIZE_UPDATE_ZERO = 0x20;

/** Appends an HPACK integer with the given prefix bits and first-byte flags. */
export function encodeInteger(out: number[], value: number, prefixBits: number, flags: number) {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** Appends a raw (non-Huffman) string literal of latin1/ASCII text. */
export function encodeString(out: number[], text: string) {
  encodeInteger(out, text.length, 7, 0);
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i) & 0xff);
}

/** Literal without indexing (§6.2.2), name by static index (0 = literal name). */
export function encodeLiteral(out: number[], nameIndex: number, name: string, value: string) {
  encodeInteger(out, nameIndex, 4, 0);
  if (nameIndex === 0) encodeString(out, name);
  encodeString(out, value);
}
