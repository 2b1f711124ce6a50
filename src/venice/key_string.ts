/**
 * The single-get `keyString` of a `VeniceClientRequest`.
 *
 * Client side: the Fast Client sends `EncodingUtils.base64EncodeToString(keyBytes) + "?f=b64"`
 * (clients/venice-client/.../fastclient/DispatchingAvroGenericStoreClient.java,
 * AbstractAvroStoreClient.B64_FORMAT), where EncodingUtils uses `Base64.getUrlEncoder()`:
 * URL-safe alphabet, with padding (internal/venice-client-common/.../utils/EncodingUtils.java).
 *
 * Server side: services/venice-server/.../listener/request/GetRouterRequest.java
 * `getKeyBytesFromUrlKeyString` hands the string to Netty's `QueryStringDecoder`: the
 * "path" is everything before the first '?' or '#', percent-decoded ('+' stays '+');
 * query parameters follow the '?', split on '&' (and ';'), each `name=value` with '+' read
 * as space. If parameter `f` is present its first value is the format
 * (internal/venice-common/.../RequestConstants.java: FORMAT_KEY "f", B64_FORMAT "b64",
 * default "string"): "b64" base64-decodes the path with `Base64.getUrlDecoder()`; any other
 * format, or none, takes the path's UTF-8 bytes. No other parameter changes the result.
 */

/** Raised when a keyString cannot be turned into key bytes; maps to BAD_REQUEST. */
export class KeyStringError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "KeyStringError";
  }
}

const textEncoder = new TextEncoder();
const lenientDecoder = new TextDecoder(); // replaces bad sequences, as java.lang.String does

/** Byte -> 6-bit value of the URL-safe alphabet, -1 elsewhere. */
const URL_SAFE_DECODE = new Int8Array(256).fill(-1);
const URL_SAFE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
for (let i = 0; i < 64; i++) URL_SAFE_DECODE[URL_SAFE_ALPHABET.charCodeAt(i)] = i;
const EQ = 0x3d;

/** Key bytes from a single-get keyString, as the Java server derives them. */
export function decodeKeyString(keyString: string): Uint8Array {
  // Fast path for the Fast Client's exact shape: "<base64url>?f=b64", nothing to unescape.
  if (keyString.endsWith("?f=b64")) {
    const path = keyString.slice(0, -6);
    if (path.indexOf("?") < 0 && path.indexOf("#") < 0 && path.indexOf("%") < 0) {
      return base64UrlDecode(path);
    }
  }
  let pathEnd = keyString.length;
  for (let i = 0; i < keyString.length; i++) {
    const c = keyString.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) {
      pathEnd = i;
      break;
    }
  }
  const pathBytes = percentDecode(keyString.slice(0, pathEnd), false);
  const format = keyString.charCodeAt(pathEnd) === 0x3f
    ? firstParam(keyString.slice(pathEnd + 1), "f")
    : undefined;
  if (format === "b64") return base64UrlDecode(latin1(pathBytes));
  // Netty builds a java String from the decoded bytes (bad UTF-8 becomes U+FFFD), then
  // Venice takes its UTF-8 bytes; for valid UTF-8 that is the identity.
  return keyString.indexOf("%") < 0
    ? pathBytes
    : textEncoder.encode(lenientDecoder.decode(pathBytes));
}

/** The keyString the Fast Client sends for `keyBytes`. */
export function encodeKeyString(keyBytes: Uint8Array): string {
  return base64UrlEncode(keyBytes) + "?f=b64";
}

/** URL-safe base64 with padding, as java.util.Base64.getUrlEncoder(). */
export function base64UrlEncode(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * Decodes like java.util.Base64.getUrlDecoder(): URL-safe alphabet only; padding optional,
 * but when present it must complete the final unit and end the input; a final unit of a
 * single character is rejected; unused low bits are ignored. Reads the string by char code,
 * so it allocates only the output.
 */
export function base64UrlDecode(src: string): Uint8Array {
  const out = new Uint8Array(base64UrlDecodedLength(src));
  base64UrlDecodeInto(src, out);
  return out;
}

/** Decoded length of well-formed input (from the characters before the first '='). */
function base64UrlDecodedLength(src: string): number {
  let dataChars = 0;
  while (dataChars < src.length && src.charCodeAt(dataChars) !== EQ) dataChars++;
  return Math.floor((dataChars * 3) / 4);
}

/** Decodes into `out` (at least `base64UrlDecodedLength(src)` long); returns the length. */
function base64UrlDecodeInto(src: string, out: Uint8Array): number {
  const bytes = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    // Anything outside Latin-1 is illegal; 0xff decodes as illegal too.
    bytes[i] = c < 256 ? c : 0xff;
  }
  return base64UrlDecodeBytes(bytes, 0, bytes.length, out);
}

/** Decodes `src[start, end)` into `out`; returns the decoded length. */
function base64UrlDecodeBytes(src: Uint8Array, start: number, n: number, out: Uint8Array): number {
  let o = 0;
  let bits = 0;
  let shiftto = 18;
  let i = start;
  for (; i < n; i++) {
    const c = src[i];
    const v = URL_SAFE_DECODE[c];
    if (v < 0) {
      if (c === EQ) {
        // "xx==" or "xxx=": Java checks the second '=' and that nothing follows.
        if ((shiftto === 6 && (i + 1 >= n || src[++i] !== EQ)) || shiftto === 18) {
          throw new KeyStringError(`Invalid base64 key: wrong 4-byte ending unit at ${i - start}`);
        }
        i++;
        break;
      }
      throw new KeyStringError(
        `Invalid base64 key: illegal character 0x${c.toString(16)} at ${i - start}`,
      );
    }
    bits |= v << shiftto;
    shiftto -= 6;
    if (shiftto < 0) {
      out[o++] = bits >> 16;
      out[o++] = bits >> 8;
      out[o++] = bits;
      shiftto = 18;
      bits = 0;
    }
  }
  if (shiftto === 6) {
    out[o++] = bits >> 16;
  } else if (shiftto === 0) {
    out[o++] = bits >> 16;
    out[o++] = bits >> 8;
  } else if (shiftto === 12) {
    throw new KeyStringError("Invalid base64 key: last unit does not have enough valid bits");
  }
  if (i < n) {
    throw new KeyStringError(`Invalid base64 key: unexpected data after padding at ${i - start}`);
  }
  return o;
}

/** "?f=b64", the suffix of every keyString the Fast Client sends. */
const B64_SUFFIX = textEncoder.encode("?f=b64");

/**
 * `decodeKeyString` on the UTF-8 bytes `buf[start, end)` of a keyString, without making
 * a string for the Fast Client's exact shape (`<base64url>?f=b64`, nothing to unescape):
 * the read path's form. Any other shape takes the general path.
 *
 * With `scratch` long enough, the key is decoded into it and the result is a view on it,
 * valid until `scratch` is written again: the hot path then allocates no backing store.
 */
export function decodeKeyStringBytes(
  buf: Uint8Array,
  start: number,
  end: number,
  scratch?: Uint8Array,
): Uint8Array {
  const pathEnd = end - B64_SUFFIX.length;
  let fast = pathEnd >= start;
  for (let i = 0; fast && i < B64_SUFFIX.length; i++) fast = buf[pathEnd + i] === B64_SUFFIX[i];
  let dataChars = 0;
  for (let i = start; fast && i < pathEnd; i++) {
    const c = buf[i];
    if (c === 0x3f /* ? */ || c === 0x23 /* # */ || c === 0x25 /* % */ || c >= 0x80) fast = false;
    else if (c !== EQ) dataChars = i - start + 1;
  }
  if (!fast) return decodeKeyString(lenientDecoder.decode(buf.subarray(start, end)));
  const bound = Math.floor((dataChars * 3) / 4);
  const out = scratch !== undefined && scratch.length >= bound ? scratch : new Uint8Array(bound);
  const length = base64UrlDecodeBytes(buf, start, pathEnd, out);
  return length === out.length ? out : out.subarray(0, length);
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return s;
}

/** The first value of query parameter `name`, or undefined (Netty semantics). */
function firstParam(query: string, name: string): string | undefined {
  const hash = query.indexOf("#");
  if (hash >= 0) query = query.slice(0, hash);
  for (const part of query.split(/[&;]/)) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    if (rawName === "") continue;
    if (lenientDecoder.decode(percentDecode(rawName, true)) !== name) continue;
    return eq < 0 ? "" : lenientDecoder.decode(percentDecode(part.slice(eq + 1), true));
  }
  return undefined;
}

/** Percent-decodes to bytes; '+' becomes a space only in query components. */
function percentDecode(s: string, plusIsSpace: boolean): Uint8Array {
  if (s.indexOf("%") < 0 && !(plusIsSpace && s.indexOf("+") >= 0)) return textEncoder.encode(s);
  const raw = textEncoder.encode(s);
  const out = new Uint8Array(raw.length);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 0x25 /* % */) {
      const hi = hexValue(raw[i + 1]);
      const lo = hexValue(raw[i + 2]);
      if (i + 2 >= raw.length || hi < 0 || lo < 0) {
        throw new KeyStringError(`Invalid escape in keyString at ${i}`);
      }
      out[o++] = (hi << 4) | lo;
      i += 2;
    } else if (c === 0x2b /* + */ && plusIsSpace) {
      out[o++] = 0x20;
    } else {
      out[o++] = c;
    }
  }
  return out.subarray(0, o);
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
