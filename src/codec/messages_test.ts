import assert from "node:assert/strict";
import {
  ClientRequestView,
  decodeClientRequest,
  decodeServerResponse,
  encodeClientRequest,
  encodeServerResponse,
  MalformedMessageError,
  METHOD_GET,
  responseDataOffset,
  serverResponseSize,
  writeServerResponse,
} from "./messages.ts";

const enc = new TextEncoder();
const PY = "/usr/bin/python3";
const SCRIPT = new URL("./testdata/venice_pb.py", import.meta.url).pathname;

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Runs Google's protobuf runtime (python3-protobuf) as the reference implementation. */
async function python(mode: "encode" | "decode", kind: string, input: string): Promise<string> {
  const child = new Deno.Command(PY, {
    args: [SCRIPT, mode, kind],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(enc.encode(input));
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

const havePythonProtobuf = (() => {
  try {
    return new Deno.Command(PY, { args: ["-c", "import google.protobuf"] }).outputSync().success;
  } catch {
    return false;
  }
})();
const refTest = havePythonProtobuf ? Deno.test : Deno.test.ignore;
if (!havePythonProtobuf) {
  console.warn("python3 google.protobuf missing: reference-encoder tests are ignored");
}

refTest("client request encoding is byte-identical to protobuf's", async () => {
  const req = {
    partition: 300,
    keyString: "AAEC_w==?f=b64",
    keyBytes: new Uint8Array([0, 1, 2, 255]),
    resourceName: "people_v3",
    isStreamingRequest: true,
    isRetryRequest: true,
    isBatchRequest: true,
    method: "POST",
  };
  const ours = encodeClientRequest(req);
  const ref = await python(
    "encode",
    "Request",
    JSON.stringify({ ...req, keyBytes: b64(req.keyBytes) }),
  );
  assert.equal(hex(ours), ref);
  assert.deepEqual(decodeClientRequest(fromHex(ref)), req);
});

refTest("server response encoding is byte-identical to protobuf's", async () => {
  const cases = [
    {
      schemaId: 7,
      data: enc.encode("value"),
      compressionStrategy: 3,
      responseRCU: 1,
      errorCode: 200,
    },
    { schemaId: 0, errorCode: -420, errorMessage: "Key not found" },
    { schemaId: -1000, isStreamingResponse: true, responseRCU: 100000, errorCode: 200 },
    { schemaId: -2147483648, errorCode: 503, errorMessage: "Server over capacity ünïcødé" },
  ];
  for (const c of cases) {
    const ours = encodeServerResponse(
      { ...c, errorMessage: c.errorMessage ? enc.encode(c.errorMessage) : undefined },
      c.data,
    );
    const refInput: Record<string, unknown> = { ...c, errorCode: c.errorCode >>> 0 };
    if (c.data) refInput.data = b64(c.data);
    const ref = await python("encode", "Response", JSON.stringify(refInput));
    assert.equal(hex(ours), ref, JSON.stringify(c));
    const back = JSON.parse(await python("decode", "Response", hex(ours)));
    assert.equal(back.errorCode, c.errorCode >>> 0);
    assert.equal(back.schemaId, c.schemaId);
  }
});

Deno.test("errorCode -420 is written as 4294966876 and read back as -420", () => {
  const bytes = encodeServerResponse({
    errorCode: -420,
    errorMessage: enc.encode("Key not found"),
  });
  // tag 6 varint, then the 5-byte varint of 0xFFFFFE5C.
  assert.deepEqual(Array.from(bytes.subarray(0, 6)), [0x30, 0xdc, 0xfc, 0xff, 0xff, 0x0f]);
  const res = decodeServerResponse(bytes);
  assert.equal(res.errorCode, -420);
  assert.equal(res.errorMessage, "Key not found");
  assert.equal(res.data.length, 0);
});

Deno.test("proto3 defaults are omitted from the response", () => {
  assert.equal(encodeServerResponse({}).length, 0);
  assert.equal(encodeServerResponse({ schemaId: 0, responseRCU: 0 }, new Uint8Array()).length, 0);
});

Deno.test("writeServerResponse leaves the data region at responseDataOffset", () => {
  const h = { schemaId: 1, responseRCU: 2, errorCode: 200 };
  const data = enc.encode("x".repeat(200));
  const out = writeServerResponse(h, data.length);
  assert.equal(out.length, serverResponseSize(h, data.length));
  out.set(data, responseDataOffset(h, data.length));
  assert.deepEqual(out, encodeServerResponse(h, data));
  assert.deepEqual(decodeServerResponse(out).data, data);
});

Deno.test("request view decodes fields in any order, last one wins", () => {
  const a = encodeClientRequest({ resourceName: "a_v1", partition: 5 });
  const b = encodeClientRequest({ method: "GET", resourceName: "b_v2", keyString: "k" });
  const joined = new Uint8Array([...a, ...b]);
  const v = new ClientRequestView().decode(joined);
  assert.equal(v.resourceName(), "b_v2");
  assert.equal(v.partition, 5);
  assert.equal(v.keyString(), "k");
  assert.ok(v.methodIs(METHOD_GET));
  assert.equal(v.method(), "GET");
});

Deno.test("request view is reset between decodes", () => {
  const v = new ClientRequestView();
  v.decode(
    encodeClientRequest({ partition: 9, isBatchRequest: true, keyBytes: new Uint8Array([1]) }),
  );
  v.decode(encodeClientRequest({ resourceName: "s_v1" }));
  assert.equal(v.partition, 0);
  assert.equal(v.isBatchRequest, false);
  assert.equal(v.keyBytes().length, 0);
  assert.equal(v.resourceName(), "s_v1");
});

Deno.test("uint32 partition above 2^31 reads as unsigned", () => {
  const v = new ClientRequestView().decode(encodeClientRequest({ partition: 0xfffffff0 }));
  assert.equal(v.partition, 0xfffffff0);
});

Deno.test("unknown fields of every wire type are skipped", () => {
  const known = encodeClientRequest({ resourceName: "s_v1", partition: 3 });
  const unknown = [
    0x58,
    0x96,
    0x01, // field 11 varint 150
    0x61,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // field 12 I64
    0x6a,
    0x02,
    0xaa,
    0xbb, // field 13 LEN
    0x75,
    1,
    2,
    3,
    4, // field 14 I32
    0x7b,
    0x08,
    0x01,
    0x7c, // field 15 SGROUP { field 1 varint } EGROUP 15
    0x22,
    0x01,
    0x00, // field 4 (reserved, removed upstream) as LEN
    0x08 | 0x02,
    0x00, // field 1 with the wrong wire type (LEN, empty): treated as unknown
    0x98,
    0x06,
    0x01, // field 99 varint (two-byte tag)
  ];
  const msg = new Uint8Array([...unknown.slice(0, 3), ...known, ...unknown.slice(3)]);
  const v = new ClientRequestView().decode(msg);
  assert.equal(v.resourceName(), "s_v1");
  assert.equal(v.partition, 3);
});

Deno.test("malformed requests throw MalformedMessageError", () => {
  const bad: [string, number[]][] = [
    ["truncated varint", [0x08, 0x80]],
    ["truncated tag", [0x80]],
    ["varint over 10 bytes", [
      0x08,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0x01,
    ]],
    ["length past the end", [0x2a, 0x05, 0x61]],
    ["huge length", [0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ["wire type 6", [0x0e]],
    ["wire type 7", [0x0f]],
    ["field number 0", [0x00, 0x00]],
    ["stray end group", [0x0c]],
    ["unterminated group", [0x0b, 0x08, 0x01]],
    ["mismatched end group", [0x0b, 0x14]],
    ["truncated I64", [0x61, 1, 2, 3]],
    ["truncated I32", [0x75, 1]],
    ["invalid UTF-8 resourceName", [0x2a, 0x02, 0xc3, 0x28]],
    ["surrogate in keyString", [0x12, 0x03, 0xed, 0xa0, 0x80]],
    ["overlong method", [0x52, 0x02, 0xc0, 0xaf]],
  ];
  const v = new ClientRequestView();
  for (const [name, bytes] of bad) {
    assert.throws(() => v.decode(new Uint8Array(bytes)), MalformedMessageError, name);
  }
  // MalformedMessageError is a RangeError, so generic handlers can still catch it.
  assert.throws(() => v.decode(new Uint8Array([0x0f])), RangeError);
});

Deno.test("valid multi-byte UTF-8 strings are accepted", () => {
  const s = "störe_ü€𝄞_v1";
  const v = new ClientRequestView().decode(encodeClientRequest({ resourceName: s }));
  assert.equal(v.resourceName(), s);
});

Deno.test("empty request decodes to defaults", () => {
  assert.deepEqual(decodeClientRequest(new Uint8Array()), {
    partition: 0,
    keyString: "",
    keyBytes: new Uint8Array(),
    resourceName: "",
    isStreamingRequest: false,
    isRetryRequest: false,
    isBatchRequest: false,
    method: "",
  });
});

Deno.test("response decoder rejects truncated data", () => {
  const full = encodeServerResponse({ schemaId: 1 }, enc.encode("abcdef"));
  assert.throws(
    () => decodeServerResponse(full.subarray(0, full.length - 1)),
    MalformedMessageError,
  );
});
