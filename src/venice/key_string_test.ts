import assert from "node:assert/strict";
import {
  base64UrlDecode,
  base64UrlEncode,
  decodeKeyString,
  decodeKeyStringBytes,
  encodeKeyString,
  KeyStringError,
} from "./key_string.ts";

const enc = new TextEncoder();

Deno.test("Fast Client keyStrings round-trip for every length class", () => {
  for (let n = 0; n < 40; n++) {
    const key = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 0xff);
    const ks = encodeKeyString(key);
    assert.ok(ks.endsWith("?f=b64"));
    assert.ok(!/[+/]/.test(ks), "URL-safe alphabet only");
    if (n % 3 !== 0) assert.ok(ks.includes("="), "padding is kept");
    assert.deepEqual(decodeKeyString(ks), key);
  }
});

Deno.test("base64 matches the base64 tool's output with the URL-safe alphabet", () => {
  const key = Uint8Array.from([0xfb, 0xff, 0xbf, 0x00, 0x3e, 0x3f, 0x7e]);
  const out = new Deno.Command("sh", {
    args: ["-c", "printf '\\373\\377\\277\\000\\076\\077\\176' | base64 -w0"],
    stdout: "piped",
  }).outputSync();
  const std = new TextDecoder().decode(out.stdout);
  assert.equal(base64UrlEncode(key), std.replaceAll("+", "-").replaceAll("/", "_"));
  assert.equal(encodeKeyString(key), "-_-_AD4_fg==?f=b64");
});

Deno.test("without f=b64 the key is the string's UTF-8 bytes", () => {
  assert.deepEqual(decodeKeyString("plain-key"), enc.encode("plain-key"));
  assert.deepEqual(decodeKeyString("ünï"), enc.encode("ünï"));
  assert.deepEqual(decodeKeyString("abc?f=string"), enc.encode("abc"));
  assert.deepEqual(decodeKeyString("abc?g=b64"), enc.encode("abc"));
  assert.deepEqual(decodeKeyString("a+b"), enc.encode("a+b"), "'+' stays '+' in the path");
  assert.deepEqual(decodeKeyString("a%20b"), enc.encode("a b"), "the path is percent-decoded");
});

Deno.test("query parsing follows Netty: first f wins, other params are ignored", () => {
  assert.deepEqual(decodeKeyString("AQI=?x=1&f=b64&f=string"), new Uint8Array([1, 2]));
  assert.deepEqual(decodeKeyString("AQI=?f=string&f=b64"), enc.encode("AQI="));
  assert.deepEqual(decodeKeyString("AQI=?a=1;f=b64"), new Uint8Array([1, 2]));
  assert.deepEqual(decodeKeyString("AQI=?f=%62%364"), new Uint8Array([1, 2]));
  assert.deepEqual(decodeKeyString("AQI=?f=b64#frag"), new Uint8Array([1, 2]));
  assert.deepEqual(decodeKeyString("AQI%3D?f=b64"), new Uint8Array([1, 2]));
});

Deno.test("base64 decoding accepts what java.util.Base64's URL decoder accepts", () => {
  assert.deepEqual(base64UrlDecode("AQI"), new Uint8Array([1, 2]), "no padding");
  assert.deepEqual(base64UrlDecode("AQ"), new Uint8Array([1]));
  assert.deepEqual(base64UrlDecode("AR=="), new Uint8Array([1]), "unused bits ignored");
  assert.deepEqual(base64UrlDecode(""), new Uint8Array(0));
});

Deno.test("invalid base64 throws KeyStringError", () => {
  for (
    const bad of [
      "AQ+=?f=b64", // '+' is not URL-safe
      "AQ/=?f=b64",
      "A?f=b64", // a single dangling character
      "A===?f=b64",
      "AQ=?f=b64", // missing second '='
      "AQ=x?f=b64",
      "=?f=b64",
      "AQI=AQ?f=b64", // data after padding
      "AQ I?f=b64",
      "AQ%ZZ?f=b64", // broken escape
      "AQ%2?f=b64",
      "AQ\u0101I?f=b64", // non-Latin character
      "AQ%C4%81I?f=b64", // the same, percent-encoded
    ]
  ) {
    assert.throws(() => decodeKeyString(bad), KeyStringError, bad);
  }
});

Deno.test("decodeKeyStringBytes agrees with decodeKeyString on every shape", () => {
  const inputs = [
    encodeKeyString(new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255])),
    encodeKeyString(new Uint8Array([])),
    encodeKeyString(new Uint8Array([0x3e, 0x3f])),
    "Bn5-fg==?f=b64",
    "Bn4_fg?f=b64",
    "plain-string-key",
    "percent%20escaped?f=string",
    "QUJD?x=1&f=b64",
    "héllo",
  ];
  const encoder = new TextEncoder();
  for (const input of inputs) {
    const bytes = encoder.encode(`xx${input}yy`);
    assert.deepEqual(
      decodeKeyStringBytes(bytes, 2, bytes.length - 2),
      decodeKeyString(input),
      input,
    );
    const scratch = new Uint8Array(64).fill(0xaa);
    assert.deepEqual(
      decodeKeyStringBytes(bytes, 2, bytes.length - 2, scratch),
      decodeKeyString(input),
      `${input} (into scratch)`,
    );
    assert.deepEqual(
      decodeKeyStringBytes(bytes, 2, bytes.length - 2, new Uint8Array(1)),
      decodeKeyString(input),
      `${input} (scratch too short)`,
    );
  }
  for (const bad of ["not*base64!?f=b64", "QQ=?f=b64", "Q?f=b64"]) {
    const bytes = encoder.encode(bad);
    assert.throws(() => decodeKeyStringBytes(bytes, 0, bytes.length), KeyStringError, bad);
    assert.throws(() => decodeKeyString(bad), KeyStringError, bad);
  }
});
