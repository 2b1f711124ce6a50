import { runH2load } from "./support/h2load.ts";
import { rawService } from "./support/raw_grpc.ts";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { type NativeLimits, serveNative } from "../src/transport/native/mod.ts";
import { encodeInteger, HpackDecoder } from "../src/transport/native/hpack.ts";
import { huffmanDecode, huffmanEncode } from "../src/transport/native/huffman.ts";
import { parseGrpcTimeout, percentEncode } from "../src/transport/native/grpc_wire.ts";
import {
  GrpcStatus,
  GrpcStatusError,
  type TransportServer,
  type UnaryHandler,
} from "../src/transport/types.ts";
import {
  ACK,
  concat,
  END_HEADERS,
  END_STREAM,
  frame,
  grpcMessage,
  grpcRequestFields,
  headerBlock,
  RawH2Client,
  settingsFrame,
  T,
  u32,
} from "./support/native_h2_client.ts";

// ---- Test router -----------------------------------------------------------------------

const BIG = new Uint8Array(1024 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
const SLOW_MS = 300;

/** Counts slow calls still running so that tests can wait for their timers. */
class TestRouter {
  #slowRunning = 0;
  #idle: (() => void)[] = [];

  route(path: string): UnaryHandler | undefined {
    switch (path) {
      case "/test.Echo/echo":
        return (body) => body;
      case "/test.Echo/asyncEcho":
        // Returns the very bytes it was given, after the read buffer has moved on.
        return async (body) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return body;
        };
      case "/test.Echo/fail":
        return () => {
          throw new GrpcStatusError(GrpcStatus.NOT_FOUND, 'No such key: "ü" 100%\n');
        };
      case "/test.Echo/crash":
        return () => {
          throw new Error("secret detail");
        };
      case "/test.Echo/big":
        return () => BIG;
      case "/test.Echo/peer":
        return (_body, peer) => new TextEncoder().encode(`${peer.address} ${peer.certificate}`);
      case "/test.Echo/slow":
        return async (body) => {
          this.#slowRunning++;
          await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
          if (--this.#slowRunning === 0) this.#idle.splice(0).forEach((wake) => wake());
          return body.slice();
        };
      default:
        return undefined;
    }
  }

  /** Resolves when no slow call is running. */
  idle(): Promise<void> {
    if (this.#slowRunning === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

async function withServer(
  options: {
    limits?: Partial<NativeLimits>;
    maxMessageBytes?: number;
    maxConcurrentStreams?: number;
    tls?: { cert: string; key: string };
  },
  fn: (server: TransportServer, router: TestRouter) => Promise<void>,
): Promise<void> {
  const router = new TestRouter();
  const server = await serveNative({ hostname: "127.0.0.1", port: 0, router, ...options });
  try {
    await fn(server, router);
  } finally {
    await server.close(2000);
    await router.idle();
  }
}

const text = (s: string) => new TextEncoder().encode(s);
const EOS_FLAGS = END_HEADERS | END_STREAM;

function request(
  client: RawH2Client,
  id: number,
  path: string,
  body: Uint8Array | null,
  extra: Parameters<typeof grpcRequestFields>[1] = [],
) {
  const block = headerBlock(grpcRequestFields(path, extra));
  if (body === null) return client.sendFrame(T.HEADERS, EOS_FLAGS, id, block);
  return client.send(
    concat(
      frame(T.HEADERS, END_HEADERS, id, block),
      frame(T.DATA, END_STREAM, id, grpcMessage(body)),
    ),
  );
}

function goawayCode(f: { payload: Uint8Array } | null): number {
  assert.ok(f !== null, "expected a GOAWAY frame");
  return new DataView(f.payload.buffer).getUint32(4);
}

async function commandExists(name: string): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], stdin?: string) {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(text(stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

// ---- grpc-js client ----------------------------------------------------------------------

function grpcJsClient(
  address: string,
  credentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
) {
  const methods = ["echo", "asyncEcho", "fail", "crash", "big", "slow", "nope", "peer"];
  const Client = grpc.makeGenericClientConstructor(rawService("test.Echo", methods), "Echo");
  return new Client(address, credentials, {
    "grpc.max_receive_message_length": 16 << 20,
    ...options,
  });
}

function call(
  client: grpc.Client,
  method: string,
  body: Uint8Array,
  deadlineMs?: number,
): Promise<{ status: number; body?: Uint8Array; details?: string }> {
  return new Promise((resolve) => {
    const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    // deno-lint-ignore no-explicit-any
    (client as any)[method](
      Buffer.from(body),
      new grpc.Metadata(),
      options,
      (err: grpc.ServiceError | null, res: Buffer) => {
        if (err) resolve({ status: err.code, details: err.details });
        else resolve({ status: 0, body: new Uint8Array(res) });
      },
    );
  });
}

Deno.test("grpc-js client: echo, statuses, big messages and concurrency", async () => {
  await withServer({}, async (server) => {
    const client = grpcJsClient(`127.0.0.1:${server.port}`);
    try {
      const echo = await call(client, "echo", text("hello"));
      assert.deepEqual(echo, { status: 0, body: text("hello") });
      const empty = await call(client, "echo", new Uint8Array());
      assert.deepEqual(empty, { status: 0, body: new Uint8Array() });
      const fail = await call(client, "fail", text("x"));
      assert.equal(fail.status, GrpcStatus.NOT_FOUND);
      assert.equal(fail.details, 'No such key: "ü" 100%\n');
      const crash = await call(client, "crash", text("x"));
      assert.equal(crash.status, GrpcStatus.INTERNAL);
      assert.ok(!crash.details?.includes("secret"), "internal detail must not leak");
      assert.equal((await call(client, "nope", text("x"))).status, GrpcStatus.UNIMPLEMENTED);
      const big = await call(client, "big", text("x"));
      assert.equal(big.status, 0);
      assert.deepEqual(big.body, BIG);
      // 2 MiB request: more than the server's 1 MiB stream window, so it needs WINDOW_UPDATEs.
      const large = BIG.length * 2;
      const request = new Uint8Array(large).map((_, i) => i & 0xff);
      const echoed = await call(client, "echo", request);
      assert.equal(echoed.status, 0);
      assert.deepEqual(echoed.body, request);
      const calls = Array.from(
        { length: 200 },
        (_, i) => call(client, i % 2 ? "asyncEcho" : "echo", text(`call ${i}`)),
      );
      const results = await Promise.all(calls);
      results.forEach((r, i) => assert.deepEqual(r, { status: 0, body: text(`call ${i}`) }));
      const peer = await call(client, "peer", text(""));
      assert.match(new TextDecoder().decode(peer.body), /^127\.0\.0\.1:\d+ null$/);
    } finally {
      await client.close();
    }
  });
});

Deno.test("grpc-js client: request over maxMessageBytes gets RESOURCE_EXHAUSTED", async () => {
  await withServer({ maxMessageBytes: 1000 }, async (server) => {
    const client = grpcJsClient(`127.0.0.1:${server.port}`);
    try {
      assert.equal(
        (await call(client, "echo", new Uint8Array(1001))).status,
        GrpcStatus.RESOURCE_EXHAUSTED,
      );
      assert.equal((await call(client, "echo", new Uint8Array(1000))).status, 0);
    } finally {
      await client.close();
    }
  });
});

// ---- Python grpcio (gRPC C-core) ---------------------------------------------------------

const PYTHON = "/usr/bin/python3";
const PYTHON_CLIENT = `
import sys, json, grpc
target, tls_ca = sys.argv[1], sys.argv[2]
if tls_ca:
    channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=open(tls_ca, 'rb').read()))
else:
    channel = grpc.insecure_channel(target)
out = []
for path, body, timeout in json.loads(sys.stdin.read()):
    call = channel.unary_unary(path)
    try:
        res = call(bytes.fromhex(body), timeout=timeout)
        out.append([0, res.hex() if len(res) < 64 else str(len(res)) + ':' + str(sum(res) % 65536)])
    except grpc.RpcError as e:
        out.append([e.code().value[0], e.details()])
channel.close()
print(json.dumps(out))
`;

async function pythonCalls(target: string, calls: [string, string, number | null][], tlsCa = "") {
  const r = await run(PYTHON, ["-c", PYTHON_CLIENT, target, tlsCa], JSON.stringify(calls));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as [number, string][];
}

const hasPythonGrpc =
  (await run(PYTHON, ["-c", "import grpc"]).catch(() => ({ code: 1 }))).code === 0;
const bigChecksum = `${BIG.length}:${BIG.reduce((a, b) => a + b, 0) % 65536}`;

Deno.test({
  name: "python grpcio client: echo, error, big response, unknown method",
  ignore: !hasPythonGrpc &&
    (console.log("python grpcio absent: /usr/bin/python3 -c 'import grpc' failed"), true),
  fn: async () => {
    await withServer({}, async (server) => {
      const results = await pythonCalls(`127.0.0.1:${server.port}`, [
        ["/test.Echo/echo", "68656c6c6f", null],
        ["/test.Echo/fail", "", null],
        ["/test.Echo/big", "", 10],
        ["/test.Echo/nope", "", null],
        ["/test.Echo/asyncEcho", "0102", 5],
      ]);
      assert.deepEqual(results, [
        [0, "68656c6c6f"],
        [GrpcStatus.NOT_FOUND, 'No such key: "ü" 100%\n'],
        [0, bigChecksum],
        [GrpcStatus.UNIMPLEMENTED, "Method not found: /test.Echo/nope"],
        [0, "0102"],
      ]);
    });
  },
});

// ---- nghttp, h2load, curl ----------------------------------------------------------------

async function withBodyFile(body: Uint8Array, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile({ prefix: "native_grpc_body_" });
  try {
    await Deno.writeFile(path, grpcMessage(body));
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

const hasNghttp = await commandExists("nghttp");
const hasH2load = await commandExists("h2load");
const hasCurl = await commandExists("curl");

Deno.test({
  name: "nghttp client sees the response, trailers with grpc-status, and UNIMPLEMENTED",
  ignore: !hasNghttp && (console.log("nghttp binary absent"), true),
  fn: async () => {
    await withServer({}, async (server) => {
      await withBodyFile(text("abc"), async (body) => {
        const args = (
          path: string,
        ) => [
          "-v",
          "-H",
          ":method: POST",
          "-H",
          "content-type: application/grpc",
          "-H",
          "te: trailers",
          "-d",
          body,
          `http://127.0.0.1:${server.port}${path}`,
        ];
        const ok = await run("nghttp", args("/test.Echo/echo"));
        assert.match(ok.stdout, /recv \(stream_id=\d+\) grpc-status: 0/);
        assert.match(ok.stdout, /recv HEADERS frame <length=\d+, flags=0x05/); // trailers: END_STREAM | END_HEADERS
        const missing = await run("nghttp", args("/test.Echo/nope"));
        assert.match(missing.stdout, /grpc-status: 12/);
        assert.match(missing.stdout, /grpc-message: Method not found: \/test.Echo\/nope/);
      });
    });
  },
});

Deno.test({
  name: "h2load: 2000 calls on 8 connections x 16 streams all succeed and the server keeps serving",
  ignore: !hasH2load && (console.log("h2load binary absent"), true),
  fn: async () => {
    await withServer({}, async (server) => {
      await withBodyFile(text("0123456789"), async (body) => {
        for (let round = 0; round < 2; round++) {
          const r = await runH2load({
            requests: 2000,
            clients: 8,
            streams: 16,
            bodyFile: body,
            url: `http://127.0.0.1:${server.port}/test.Echo/echo`,
          });
          assert.equal(r.code, 0, r.output);
          const { total, started, done, succeeded, failed, errored } = r.counts;
          assert.deepEqual(
            { total, started, done, succeeded, failed, errored },
            { total: 2000, started: 2000, done: 2000, succeeded: 2000, failed: 0, errored: 0 },
            r.output,
          );
        }
      });
      const client = grpcJsClient(`127.0.0.1:${server.port}`);
      try {
        assert.deepEqual(await call(client, "echo", text("still here")), {
          status: 0,
          body: text("still here"),
        });
      } finally {
        await client.close();
      }
    });
  },
});

Deno.test({
  name: "curl --http2-prior-knowledge receives grpc-status trailers",
  ignore: !hasCurl && (console.log("curl binary absent"), true),
  fn: async () => {
    await withServer({}, async (server) => {
      await withBodyFile(text("abc"), async (body) => {
        const r = await run("curl", [
          "-sS",
          "-v",
          "--http2-prior-knowledge",
          "-H",
          "content-type: application/grpc",
          "-H",
          "te: trailers",
          "--data-binary",
          `@${body}`,
          "-o",
          "/dev/null",
          `http://127.0.0.1:${server.port}/test.Echo/fail`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /< HTTP\/2 200/);
        assert.match(r.stderr, /< grpc-status: 5/);
        assert.match(r.stderr, /< grpc-message: No such key: "%C3%BC" 100%25%0A/);
        const ok = await run("curl", [
          "-sS",
          "--http2-prior-knowledge",
          "-H",
          "content-type: application/grpc",
          "--data-binary",
          `@${body}`,
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-v",
          `http://127.0.0.1:${server.port}/test.Echo/echo`,
        ]);
        assert.match(ok.stderr, /< grpc-status: 0/); // no te header: still served (see connection.ts)
      });
    });
  },
});

// ---- TLS -------------------------------------------------------------------------------

async function makeCertificates(dir: string) {
  const sh = `
set -e
cd "${dir}"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Rialto Test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=client" 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
`;
  const r = await run("sh", ["-c", sh]);
  assert.equal(r.code, 0, r.stderr);
}

const hasOpenssl = await commandExists("openssl");

Deno.test({
  name: "TLS with ALPN h2: grpc-js and python clients; half-specified mutual TLS is refused",
  ignore: !hasOpenssl && (console.log("openssl binary absent"), true),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "native_tls_" });
    try {
      await makeCertificates(dir);
      const tls = {
        cert: await Deno.readTextFile(`${dir}/server.pem`),
        key: await Deno.readTextFile(`${dir}/server.key`),
      };
      await withServer({ tls }, async (server) => {
        const ca = await Deno.readFile(`${dir}/ca.pem`);
        const client = grpcJsClient(
          `localhost:${server.port}`,
          grpc.credentials.createSsl(Buffer.from(ca)),
        );
        try {
          assert.deepEqual(await call(client, "echo", text("secure")), {
            status: 0,
            body: text("secure"),
          });
          assert.equal((await call(client, "fail", text(""))).status, GrpcStatus.NOT_FOUND);
          const big = await call(client, "big", text(""));
          assert.deepEqual(big.body, BIG);
        } finally {
          await client.close();
        }
        if (hasPythonGrpc) {
          const results = await pythonCalls(`localhost:${server.port}`, [[
            "/test.Echo/echo",
            "6869",
            null,
          ], ["/test.Echo/big", "", 10]], `${dir}/ca.pem`);
          assert.deepEqual(results, [[0, "6869"], [0, bigChecksum]]);
        } else {
          console.log("python3 grpcio absent: the TLS case ran without the gRPC C-core client");
        }
      });
      // Half-specified mutual TLS is refused rather than served as something else.
      const ca = await Deno.readTextFile(`${dir}/ca.pem`);
      for (const half of [{ ca }, { requireClientCert: true }]) {
        await assert.rejects(
          serveNative({
            hostname: "127.0.0.1",
            port: 0,
            router: new TestRouter(),
            tls: { ...tls, ...half },
          }),
          TypeError,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---- Raw protocol tests ----------------------------------------------------------------

Deno.test("bad connection preface gets GOAWAY PROTOCOL_ERROR", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port, { preface: false });
    try {
      await client.send(text("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0x1);
      assert.equal(await client.readFrame(), null, "connection closes after GOAWAY");
    } finally {
      await client.close();
    }
  });
});

Deno.test("PING is acknowledged with the same payload", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      await client.sendFrame(T.PING, 0, 0, text("12345678"));
      const ack = await client.readUntil((f) => f.type === T.PING);
      assert.equal(ack?.flags, ACK);
      assert.deepEqual(ack?.payload, text("12345678"));
    } finally {
      await client.close();
    }
  });
});

Deno.test("success is HEADERS, one DATA frame with the gRPC message, trailers with END_STREAM", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      await request(client, 1, "/test.Echo/echo", text("ping"));
      const r = await client.response(1);
      const own = r.frames.filter((f) => f.streamId === 1).map((f) => [f.type, f.flags]);
      assert.deepEqual(own, [[T.HEADERS, END_HEADERS], [T.DATA, 0], [T.HEADERS, EOS_FLAGS]]);
      assert.equal(r.headers.get(":status"), "200");
      assert.equal(r.headers.get("content-type"), "application/grpc");
      assert.equal(r.headers.get("grpc-status"), "0");
      assert.deepEqual(r.body, grpcMessage(text("ping")));
    } finally {
      await client.close();
    }
  });
});

Deno.test("request trailers: regular fields end the stream; any pseudo-header resets it", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      const withTrailers = (id: number, trailers: Parameters<typeof headerBlock>[0]) =>
        client.send(concat(
          frame(T.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields("/test.Echo/echo"))),
          frame(T.DATA, 0, id, grpcMessage(text("t"))),
          frame(T.HEADERS, EOS_FLAGS, id, headerBlock(trailers)),
        ));
      await withTrailers(1, [{ name: "x-checksum", value: "abc" }]);
      const ok = await client.response(1);
      assert.equal(ok.headers.get("grpc-status"), "0");
      assert.deepEqual(ok.body, grpcMessage(text("t")));
      for (const [i, name] of [":authority", ":scheme", ":method", ":path"].entries()) {
        const id = 3 + 2 * i;
        await withTrailers(id, [{ name, value: "x" }]);
        const r = await client.response(id);
        assert.equal(r.reset, 1, /* PROTOCOL_ERROR */ name);
      }
    } finally {
      await client.close();
    }
  });
});

Deno.test("gRPC rules: unknown method, content-type, te, compression, size, missing message", async () => {
  await withServer({ maxMessageBytes: 100 }, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      await request(client, 1, "/test.Echo/missing", text("x"));
      let r = await client.response(1);
      assert.equal(r.headers.get("grpc-status"), "12");
      assert.equal(
        r.frames.filter((f) => f.streamId === 1 && f.type === T.HEADERS).length,
        1,
        "Trailers-Only",
      );

      // A format suffix is still gRPC (application/grpc+proto).
      const withFormat = headerBlock(
        grpcRequestFields("/test.Echo/echo").map((f) =>
          "name" in f && f.name === "content-type" ? { ...f, value: "application/grpc+proto" } : f
        ),
      );
      await client.send(concat(
        frame(T.HEADERS, END_HEADERS, 3, withFormat),
        frame(T.DATA, END_STREAM, 3, grpcMessage(text("x"))),
      ));
      r = await client.response(3);
      assert.equal(r.headers.get("grpc-status"), "0");
      assert.deepEqual(r.body, grpcMessage(text("x")));

      const badType = headerBlock(
        grpcRequestFields("/test.Echo/echo").map((f) =>
          "name" in f && f.name === "content-type" ? { ...f, value: "application/json" } : f
        ),
      );
      await client.sendFrame(T.HEADERS, EOS_FLAGS, 5, badType);
      r = await client.response(5);
      assert.equal(r.headers.get(":status"), "415");

      // Missing te: served (grpc-go does the same; curl and plain HTTP tools omit it).
      const noTe = headerBlock(
        grpcRequestFields("/test.Echo/echo").filter((f) => !("name" in f && f.name === "te")),
      );
      await client.send(
        concat(
          frame(T.HEADERS, END_HEADERS, 7, noTe),
          frame(T.DATA, END_STREAM, 7, grpcMessage(text("no te"))),
        ),
      );
      r = await client.response(7);
      assert.equal(r.headers.get("grpc-status"), "0");
      assert.deepEqual(r.body, grpcMessage(text("no te")));

      // te with anything but "trailers" is malformed HTTP/2 (RFC 9113 §8.2.2).
      const badTe = headerBlock(
        grpcRequestFields("/test.Echo/echo").map((f) =>
          "name" in f && f.name === "te" ? { ...f, value: "gzip" } : f
        ),
      );
      await client.sendFrame(T.HEADERS, EOS_FLAGS, 9, badTe);
      r = await client.response(9);
      assert.equal(r.reset, 0x1);

      await client.send(
        concat(
          frame(T.HEADERS, END_HEADERS, 11, headerBlock(grpcRequestFields("/test.Echo/echo"))),
          frame(T.DATA, END_STREAM, 11, grpcMessage(text("z"), 1)),
        ),
      );
      r = await client.response(11);
      assert.equal(
        r.headers.get("grpc-status"),
        "13",
        "compressed flag without grpc-encoding is INTERNAL",
      );

      await request(client, 13, "/test.Echo/echo", null, []);
      await client.send(
        concat(
          frame(
            T.HEADERS,
            END_HEADERS,
            15,
            headerBlock(
              grpcRequestFields("/test.Echo/echo", [{ name: "grpc-encoding", value: "gzip" }]),
            ),
          ),
          frame(T.DATA, END_STREAM, 15, grpcMessage(text("z"), 1)),
        ),
      );
      r = await client.response(13);
      assert.equal(r.headers.get("grpc-status"), "13", "no message on a unary call");
      r = await client.response(15);
      assert.equal(
        r.headers.get("grpc-status"),
        "12",
        "unsupported grpc-encoding is UNIMPLEMENTED",
      );
      assert.equal(r.headers.get("grpc-accept-encoding"), "identity");

      await request(client, 17, "/test.Echo/echo", new Uint8Array(101));
      r = await client.response(17);
      assert.equal(r.headers.get("grpc-status"), "8");
    } finally {
      await client.close();
    }
  });
});

Deno.test("grpc-timeout that passes before the handler answers ends the call with DEADLINE_EXCEEDED", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      const started = Date.now();
      await request(client, 1, "/test.Echo/slow", text("late"), [{
        name: "grpc-timeout",
        value: "50m",
      }]);
      const r = await client.response(1);
      assert.equal(r.headers.get("grpc-status"), String(GrpcStatus.DEADLINE_EXCEEDED));
      assert.ok(
        Date.now() - started < SLOW_MS,
        "answered at the deadline, not when the handler finished",
      );
      await request(client, 3, "/test.Echo/slow", text("in time"), [{
        name: "grpc-timeout",
        value: "5S",
      }]);
      const ok = await client.response(3);
      assert.equal(ok.headers.get("grpc-status"), "0");
      assert.deepEqual(ok.body, grpcMessage(text("in time")));
      // Past setTimeout's 2^31-1 ms (~24.8 days) a deadline must not fire at once.
      await request(client, 5, "/test.Echo/slow", text("far off"), [{
        name: "grpc-timeout",
        value: "99999999H",
      }]);
      const far = await client.response(5);
      assert.equal(far.headers.get("grpc-status"), "0");
      assert.deepEqual(far.body, grpcMessage(text("far off")));
    } finally {
      await client.close();
    }
  });
});

Deno.test("HPACK: dynamic table entries and Huffman strings are used across requests", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      const indexed = grpcRequestFields("/test.Echo/echo").map((f) => ({
        ...f,
        index: true,
        huffman: true,
      }));
      await client.send(
        concat(
          frame(T.HEADERS, END_HEADERS, 1, headerBlock(indexed)),
          frame(T.DATA, END_STREAM, 1, grpcMessage(text("one"))),
        ),
      );
      assert.deepEqual((await client.response(1)).body, grpcMessage(text("one")));
      // The six fields are now dynamic entries 62 (te) .. 67 (:method).
      const refs = [67, 66, 65, 64, 63, 62].map((i) => ({ indexed: i }));
      await client.send(
        concat(
          frame(T.HEADERS, END_HEADERS, 3, headerBlock(refs)),
          frame(T.DATA, END_STREAM, 3, grpcMessage(text("two"))),
        ),
      );
      const second = await client.response(3);
      assert.equal(second.headers.get("grpc-status"), "0");
      assert.deepEqual(second.body, grpcMessage(text("two")));
      // A table size update to 0 evicts everything: index 62 is then a COMPRESSION_ERROR.
      await client.sendFrame(
        T.HEADERS,
        EOS_FLAGS,
        5,
        headerBlock([{ tableSize: 0 }, { indexed: 62 }]),
      );
      assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0x9);
    } finally {
      await client.close();
    }
  });
});

Deno.test("a header block split over HEADERS and CONTINUATION frames is reassembled", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      const block = headerBlock(
        grpcRequestFields("/test.Echo/echo", [{ name: "x-pad", value: "p".repeat(300) }]),
      );
      await client.send(concat(
        frame(T.HEADERS, 0, 1, block.subarray(0, 10)),
        frame(T.CONTINUATION, 0, 1, block.subarray(10, 200)),
        frame(T.CONTINUATION, END_HEADERS, 1, block.subarray(200)),
        frame(T.DATA, END_STREAM, 1, grpcMessage(text("cont"))),
      ));
      const r = await client.response(1);
      assert.equal(r.headers.get("grpc-status"), "0");
      assert.deepEqual(r.body, grpcMessage(text("cont")));
    } finally {
      await client.close();
    }
  });
});

Deno.test("client HEADER_TABLE_SIZE change is answered with a table size update", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port, { settings: [[0x1, 0]] });
    try {
      await request(client, 1, "/test.Echo/echo", text("t"));
      const headers = await client.readUntil((f) => f.type === T.HEADERS && f.streamId === 1);
      assert.equal(headers?.payload[0], 0x20);
      const trailers = await client.readUntil((f) => f.type === T.HEADERS && f.streamId === 1);
      assert.notEqual(
        trailers?.payload[0],
        0x20,
        "only the first block after the change carries it",
      );
    } finally {
      await client.close();
    }
  });
});

Deno.test("flow control: a small client window gets the response only as it opens the window", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port, {
      settings: [[0x4, 1000], [0x5, 32768]],
    });
    try {
      await request(client, 1, "/test.Echo/big", text(""));
      let received = 0;
      const drain = async () => {
        for (;;) {
          const f = await client.readFrame(300);
          if (f === null) return false;
          if (f.type === T.DATA) received += f.payload.length;
          if (f.type === T.HEADERS && f.flags & END_STREAM) return true;
        }
      };
      assert.equal(await drain(), false);
      assert.equal(received, 1000, "exactly the initial stream window");
      // INITIAL_WINDOW_SIZE changes apply to open streams by the difference (RFC 9113
      // §6.9.2): 0 makes this stream's window -1000, so 500 more still sends nothing.
      await client.send(settingsFrame([[0x4, 0]]));
      await client.sendFrame(T.WINDOW_UPDATE, 0, 1, u32(500));
      assert.equal(await drain(), false);
      assert.equal(received, 1000, "a negative stream window sends nothing");
      // 2000: the window becomes -500 + 2000 = 1500.
      await client.send(settingsFrame([[0x4, 2000]]));
      assert.equal(await drain(), false);
      assert.equal(received, 2500);
      // Stream window wide open: now the connection window (65535) is the limit.
      await client.sendFrame(T.WINDOW_UPDATE, 0, 1, u32(4 * 1024 * 1024));
      assert.equal(await drain(), false);
      assert.equal(received, 65535);
      await client.sendFrame(T.WINDOW_UPDATE, 0, 0, u32(2 * 1024 * 1024));
      assert.equal(await drain(), true);
      assert.equal(received, BIG.length + 5);
    } finally {
      await client.close();
    }
  });
});

Deno.test("flow control: a large request body is acknowledged with WINDOW_UPDATEs", async () => {
  await withServer(
    { limits: { streamWindowBytes: 65535, connectionWindowBytes: 65535 } },
    async (server) => {
      const client = await RawH2Client.connect(server.port);
      try {
        const body = new Uint8Array(300_000).map((_, i) => i % 251);
        const message = grpcMessage(body);
        await client.sendFrame(
          T.HEADERS,
          END_HEADERS,
          1,
          headerBlock(grpcRequestFields("/test.Echo/echo")),
        );
        let streamWindow = 65535;
        let connWindow = 65535;
        let offset = 0;
        let updates = 0;
        while (offset < message.length) {
          const n = Math.min(16384, message.length - offset, streamWindow, connWindow);
          if (n > 0) {
            const last = offset + n === message.length;
            await client.sendFrame(
              T.DATA,
              last ? END_STREAM : 0,
              1,
              message.subarray(offset, offset + n),
            );
            offset += n;
            streamWindow -= n;
            connWindow -= n;
            continue;
          }
          const f = await client.readUntil((f) => f.type === T.WINDOW_UPDATE);
          assert.ok(f, "server must reopen the window");
          updates++;
          const increment = new DataView(f.payload.buffer).getUint32(0);
          if (f.streamId === 0) connWindow += increment;
          else streamWindow += increment;
        }
        assert.ok(updates >= 4);
        // The echoed 300 kB must fit the client's windows too.
        await client.send(
          concat(
            frame(T.WINDOW_UPDATE, 0, 0, u32(1 << 20)),
            frame(T.WINDOW_UPDATE, 0, 1, u32(1 << 20)),
          ),
        );
        const r = await client.response(1);
        assert.equal(r.headers.get("grpc-status"), "0");
        assert.equal(r.body.length, message.length);
      } finally {
        await client.close();
      }
    },
  );
});

Deno.test("GOAWAY from the client lets open calls finish, then the connection closes", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      await request(client, 1, "/test.Echo/slow", text("finish me"));
      await client.sendFrame(T.GOAWAY, 0, 0, concat(u32(0), u32(0)));
      const r = await client.response(1);
      assert.deepEqual(r.body, grpcMessage(text("finish me")));
      assert.equal(await client.readFrame(), null);
    } finally {
      await client.close();
    }
  });
});

Deno.test("close() sends GOAWAY, drains in-flight calls, lingers for the client, and stops accepting", async () => {
  const router = new TestRouter();
  const server = await serveNative({
    hostname: "127.0.0.1",
    port: 0,
    router,
    limits: { drainLingerMs: 2000 },
  });
  const client = await RawH2Client.connect(server.port);
  try {
    await request(client, 1, "/test.Echo/slow", text("drained"));
    await client.readUntil((f) => f.type === T.SETTINGS && (f.flags & ACK) !== 0);
    const closing = server.close(5000);
    const first = await client.readUntil((f) => f.type === T.GOAWAY);
    assert.equal(new DataView(first!.payload.buffer).getUint32(0), 0x7fffffff);
    const ping = await client.readUntil((f) => f.type === T.PING);
    await client.sendFrame(T.PING, ACK, 0, ping!.payload);
    const final = await client.readUntil((f) => f.type === T.GOAWAY);
    assert.equal(new DataView(final!.payload.buffer).getUint32(0), 1);
    // A call sent as the final GOAWAY crossed it (HEADERS, then DATA) is ignored; it must
    // not be taken for a protocol error that cuts the drain short.
    await request(client, 3, "/test.Echo/echo", text("too late"));
    const r = await client.response(1);
    assert.deepEqual(r.body, grpcMessage(text("drained")));
    // Nothing left to answer: the server keeps the connection (a PING is still answered)
    // while it waits for the client to close, then gives up and closes it.
    const probe = text("lingered");
    await client.sendFrame(T.PING, 0, 0, probe);
    const ack = await client.readUntil((f) => f.type === T.PING && (f.flags & ACK) !== 0);
    assert.deepEqual(ack?.payload, probe, "the connection was closed at once");
    for (let f = await client.readFrame(); f !== null; f = await client.readFrame()) {
      assert.notEqual(f.type === T.GOAWAY ? new DataView(f.payload.buffer).getUint32(4) : 0, 1);
      assert.ok(f.streamId !== 3 || f.type === T.WINDOW_UPDATE, `no answer on stream 3`);
    }
    await closing;
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }));
  } finally {
    await client.close();
    await server.close();
    await router.idle();
  }
});

Deno.test("a drained connection closes as soon as the client closes its side", async () => {
  const router = new TestRouter();
  const server = await serveNative({
    hostname: "127.0.0.1",
    port: 0,
    router,
    limits: { drainLingerMs: 10_000 },
  });
  const client = await RawH2Client.connect(server.port);
  try {
    // The server's ACK of our SETTINGS: it has read the preface.
    await client.readUntil((f) => f.type === T.SETTINGS && (f.flags & ACK) !== 0);
    const started = performance.now();
    const closing = server.close(20_000);
    const ping = await client.readUntil((f) => f.type === T.PING);
    await client.sendFrame(T.PING, ACK, 0, ping!.payload);
    const final = await client.readUntil((f) =>
      f.type === T.GOAWAY && new DataView(f.payload.buffer).getUint32(0) !== 0x7fffffff
    );
    assert.ok(final !== null, "no final GOAWAY");
    await client.close();
    await closing;
    const took = performance.now() - started;
    assert.ok(took < 5_000, `close() took ${took.toFixed(0)} ms with the client gone`);
  } finally {
    await client.close();
    await server.close();
  }
});

// ---- Attacks -----------------------------------------------------------------------------

Deno.test("rapid reset (CVE-2023-44487): too many resets get GOAWAY ENHANCE_YOUR_CALM", async () => {
  await withServer(
    { limits: { maxResetsPerWindow: 100, resetWindowMs: 10_000 } },
    async (server) => {
      const client = await RawH2Client.connect(server.port);
      try {
        const block = headerBlock(grpcRequestFields("/test.Echo/slow"));
        const burst: Uint8Array[] = [];
        for (let id = 1; id < 2 * 300; id += 2) {
          burst.push(
            frame(T.HEADERS, END_HEADERS, id, block),
            frame(T.RST_STREAM, 0, id, u32(0x8)),
          );
        }
        await client.send(concat(...burst));
        assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0xb);
      } finally {
        await client.close();
      }
    },
  );
});

Deno.test("a client cancelling ~1,000 calls a second, and resetting streams already answered, is not cut off", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      const seen: number[] = [];
      let id = 1;
      // 2 s of: ten calls cancelled as they start (a deadline shorter than the work),
      // ten answered; and, as grpc-java does, RST_STREAM(STREAM_CLOSED) for every frame
      // that arrives on a stream the client has finished with.
      for (let tick = 0; tick < 200; tick++) {
        const burst: Uint8Array[] = [];
        for (let i = 0; i < 10; i++, id += 2) {
          burst.push(
            frame(
              T.HEADERS,
              END_HEADERS,
              id,
              headerBlock(grpcRequestFields("/test.Echo/asyncEcho")),
            ),
            frame(T.DATA, END_STREAM, id, grpcMessage(text("cancelled"))),
            frame(T.RST_STREAM, 0, id, u32(0x8)),
          );
        }
        for (let i = 0; i < 10; i++, id += 2) {
          burst.push(
            frame(T.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields("/test.Echo/echo"))),
            frame(T.DATA, END_STREAM, id, grpcMessage(text("answered"))),
          );
        }
        await client.send(concat(...burst));
        const replies: Uint8Array[] = [];
        for (let f = await client.readFrame(5); f !== null; f = await client.readFrame(5)) {
          seen.push(f.type);
          if (f.type === T.GOAWAY) break;
          if (f.streamId !== 0 && f.type !== T.RST_STREAM) {
            replies.push(frame(T.RST_STREAM, 0, f.streamId, u32(0x5)));
          }
        }
        await client.send(concat(...replies));
        if (seen.includes(T.GOAWAY)) break;
      }
      assert.ok(!seen.includes(T.GOAWAY), "no GOAWAY for a client that only cancels");
      await request(client, id, "/test.Echo/echo", text("still here"));
      assert.deepEqual((await client.response(id)).body, grpcMessage(text("still here")));
    } finally {
      await client.close();
    }
  });
});

Deno.test("rapid reset at default limits: GOAWAY ENHANCE_YOUR_CALM, logged at warning", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { capture: (record) => records.push(record) },
    loggers: [
      { category: ["rialto", "transport"], lowestLevel: "warning", sinks: ["capture"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
    reset: true,
  });
  try {
    await withServer({}, async (server) => {
      const client = await RawH2Client.connect(server.port);
      try {
        const block = headerBlock(grpcRequestFields("/test.Echo/slow"));
        const burst: Uint8Array[] = [];
        for (let id = 1; id < 2 * 20_000; id += 2) {
          burst.push(
            frame(T.HEADERS, END_HEADERS, id, block),
            frame(T.RST_STREAM, 0, id, u32(0x8)),
          );
        }
        await client.send(concat(...burst)).catch(() => {});
        assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0xb);
      } finally {
        await client.close();
      }
    });
    const warning = records.find((r) => r.level === "warning");
    assert.ok(warning, "the close is logged at warning");
    assert.match(String(warning.properties.reason), /Too many stream resets/);
  } finally {
    await reset();
  }
});

Deno.test("handlers still running for streams the client reset hold their stream slots", async () => {
  await withServer({ maxConcurrentStreams: 4 }, async (server, router) => {
    const client = await RawH2Client.connect(server.port);
    try {
      const burst: Uint8Array[] = [];
      for (let id = 1; id <= 7; id += 2) {
        burst.push(
          frame(T.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields("/test.Echo/slow"))),
          frame(T.DATA, END_STREAM, id, grpcMessage(text("work"))),
          frame(T.RST_STREAM, 0, id, u32(0x8)),
        );
      }
      await client.send(concat(...burst));
      // Four slow handlers still run: a fifth call is refused, not started.
      await request(client, 9, "/test.Echo/echo", text("fifth"));
      assert.equal((await client.response(9)).reset, 0x7);
      await router.idle();
      await request(client, 11, "/test.Echo/echo", text("later"));
      assert.deepEqual((await client.response(11)).body, grpcMessage(text("later")));
    } finally {
      await client.close();
    }
  });
});

Deno.test("CONTINUATION flood: header block bytes and frame count are capped", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      const junk = new Uint8Array(16384).fill(0x41);
      const frames = [frame(T.HEADERS, 0, 1, junk)];
      for (let i = 0; i < 8; i++) frames.push(frame(T.CONTINUATION, 0, 1, junk));
      await client.send(concat(...frames)).catch(() => {});
      assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0xb);
    } finally {
      await client.close();
    }
    const empty = await RawH2Client.connect(server.port);
    try {
      const frames = [frame(T.HEADERS, 0, 1, new Uint8Array())];
      for (let i = 0; i < 1000; i++) frames.push(frame(T.CONTINUATION, 0, 1, new Uint8Array()));
      await empty.send(concat(...frames)).catch(() => {});
      assert.equal(goawayCode(await empty.readUntil((f) => f.type === T.GOAWAY)), 0xb);
    } finally {
      await empty.close();
    }
  });
});

Deno.test("HPACK bomb: a decoded header list over the cap is refused and the connection survives", async () => {
  await withServer({}, async (server) => {
    const client = await RawH2Client.connect(server.port);
    try {
      // One 4000-byte entry, then 2000 one-byte references to it: ~8 MB decoded.
      const seed = headerBlock([{ name: "x-bomb", value: "b".repeat(4000), index: true }]);
      const refs = new Uint8Array(2000).fill(0x80 | 62);
      const block = concat(headerBlock(grpcRequestFields("/test.Echo/echo")), seed, refs);
      const frames = [
        frame(
          T.HEADERS,
          block.length <= 16384 ? EOS_FLAGS : END_STREAM,
          1,
          block.subarray(0, 16384),
        ),
      ];
      await client.send(concat(...frames));
      const r = await client.response(1);
      assert.equal(r.headers.get(":status"), "431");
      assert.equal(r.headers.get("grpc-status"), String(GrpcStatus.RESOURCE_EXHAUSTED));
      // The dynamic table stayed in step: a new request works.
      await request(client, 3, "/test.Echo/echo", text("after"));
      assert.deepEqual((await client.response(3)).body, grpcMessage(text("after")));
    } finally {
      await client.close();
    }
  });
});

Deno.test("SETTINGS flood and PING flood get GOAWAY ENHANCE_YOUR_CALM", async () => {
  await withServer({}, async (server) => {
    for (const flood of [settingsFrame([[0x3, 100]]), frame(T.PING, 0, 0, text("floodflo"))]) {
      const client = await RawH2Client.connect(server.port);
      try {
        await client.send(concat(...Array.from({ length: 1500 }, () => flood))).catch(() => {});
        assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0xb);
      } finally {
        await client.close();
      }
    }
  });
  // The queued-ack cap on its own, with the rate limit out of the way.
  await withServer(
    { limits: { maxQueuedAcks: 50, maxControlFramesPerWindow: 1e9 } },
    async (server) => {
      const client = await RawH2Client.connect(server.port);
      try {
        await client.send(
          concat(...Array.from({ length: 400 }, () => frame(T.PING, 0, 0, text("floodflo")))),
        ).catch(() => {});
        assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0xb);
      } finally {
        await client.close();
      }
    },
  );
});

Deno.test("a stream that never ends is reset after the idle timeout; excess streams are refused", async () => {
  await withServer(
    { maxConcurrentStreams: 2, limits: { streamIdleTimeoutMs: 200 } },
    async (server) => {
      const client = await RawH2Client.connect(server.port);
      try {
        const block = headerBlock(grpcRequestFields("/test.Echo/echo"));
        await client.send(
          concat(
            frame(T.HEADERS, END_HEADERS, 1, block),
            frame(T.HEADERS, END_HEADERS, 3, block),
            frame(T.HEADERS, END_HEADERS, 5, block),
          ),
        );
        const refused = await client.readUntil((f) => f.type === T.RST_STREAM);
        assert.equal(refused?.streamId, 5);
        assert.equal(new DataView(refused!.payload.buffer).getUint32(0), 0x7);
        const started = Date.now();
        const idle = await client.readUntil((f) => f.type === T.RST_STREAM, 3000);
        assert.ok(idle !== null && (idle.streamId === 1 || idle.streamId === 3));
        assert.equal(new DataView(idle.payload.buffer).getUint32(0), 0x8);
        assert.ok(Date.now() - started >= 100);
      } finally {
        await client.close();
      }
    },
  );
});

Deno.test("a slow reader that never opens its window is cut off at the outbound buffer cap", async () => {
  await withServer({ limits: { maxBufferedOutboundBytes: 3 * 1024 * 1024 } }, async (server) => {
    const client = await RawH2Client.connect(server.port, { settings: [[0x4, 0]] });
    try {
      for (let id = 1; id <= 9; id += 2) await request(client, id, "/test.Echo/big", text(""));
      assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), 0xb);
    } finally {
      await client.close();
    }
  });
});

Deno.test("oversized frames and frames on the wrong stream are connection errors", async () => {
  await withServer({}, async (server) => {
    const cases: [Uint8Array, number][] = [
      [frame(T.DATA, 0, 1, new Uint8Array(16385)), 0x6], // FRAME_SIZE_ERROR
      [frame(T.SETTINGS, 0, 1, new Uint8Array()), 0x1], // SETTINGS on a stream
      [frame(T.HEADERS, EOS_FLAGS, 2, headerBlock(grpcRequestFields("/test.Echo/echo"))), 0x1], // even id
      [frame(T.WINDOW_UPDATE, 0, 0, u32(0)), 0x1], // zero increment
      [frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)), 0x3], // window overflow
      [settingsFrame([[0x5, 100]]), 0x1], // MAX_FRAME_SIZE below 16384
    ];
    for (const [bytes, code] of cases) {
      const client = await RawH2Client.connect(server.port);
      try {
        await client.send(bytes);
        assert.equal(goawayCode(await client.readUntil((f) => f.type === T.GOAWAY)), code);
      } finally {
        await client.close();
      }
    }
  });
});

// ---- Units -------------------------------------------------------------------------------

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}

Deno.test("HPACK decoder: RFC 7541 C.4 requests with Huffman coding and a shared dynamic table", () => {
  const decoder = new HpackDecoder(4096);
  const decode = (bytes: Uint8Array) => {
    const fields: [string, string][] = [];
    assert.equal(
      decoder.decode(bytes, 0, bytes.length, { onHeader: (n, v) => fields.push([n, v]) }, 1 << 16),
      0,
    );
    return fields;
  };
  assert.deepEqual(decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ]);
  assert.equal(decoder.dynamicTableSize, 57);
  assert.deepEqual(decode(hex("8286 84be 5886 a8eb 1064 9cbf")), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ]);
  assert.equal(decoder.dynamicTableSize, 110);
  assert.deepEqual(decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")), [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ]);
  assert.equal(decoder.dynamicTableSize, 164);
  assert.equal(decoder.dynamicTableLength, 3);
});

Deno.test("HPACK decoder: repeated literal values (nghttp2's :path) decode the same each time", () => {
  const decoder = new HpackDecoder(4096);
  const decode = (bytes: number[]) => {
    const fields: [string, string][] = [];
    const block = Uint8Array.from(bytes);
    assert.equal(
      decoder.decode(block, 0, block.length, { onHeader: (n, v) => fields.push([n, v]) }, 1 << 16),
      0,
    );
    return { fields, malformed: decoder.malformed };
  };
  const literal = (value: string, huffman: boolean) => {
    const out: number[] = [];
    encodeInteger(out, 4, 4, 0); // literal without indexing, name :path (static index 4)
    const raw = Uint8Array.from(value, (c) => c.charCodeAt(0));
    const bytes = huffman ? huffmanEncode(raw) : raw;
    out.push((huffman ? 0x80 : 0) | bytes.length, ...bytes);
    return out;
  };
  const paths = ["/svc/get", "/svc/put", "/svc/get", "/svc/batchGet", "/a", "/b", "/c", "/svc/get"];
  for (let round = 0; round < 3; round++) {
    for (const path of paths) {
      for (const huffman of [true, false]) {
        assert.deepEqual(decode(literal(path, huffman)), {
          fields: [[":path", path]],
          malformed: false,
        });
      }
    }
  }
  // Same length and flag, one octet apart: each its own value. An invalid value is flagged
  // every time it comes, never remembered as valid.
  assert.deepEqual(decode(literal("/svc/gex", false)).fields, [[":path", "/svc/gex"]]);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(decode(literal("/svc\x00get", false)), {
      fields: [[":path", "/svc\x00get"]],
      malformed: true,
    });
  }
  assert.equal(decoder.dynamicTableLength, 0);
});

Deno.test("HPACK decoder: an endless integer is an overflow; an oversized entry empties the table", () => {
  const decoder = new HpackDecoder(4096);
  const sink = { onHeader: () => {} };
  const decode = (bytes: number[]) =>
    decoder.decode(Uint8Array.from(bytes), 0, bytes.length, sink, 1 << 16);
  // An indexed field whose index continues with 0x80 bytes far past 32 bits.
  assert.equal(decode([0xff, ...new Array(200).fill(0x80), 0x00]), 3 /* INTEGER_OVERFLOW */);
  const fresh = new HpackDecoder(4096);
  const literal = (name: string, value: string) => {
    const out: number[] = [0x40]; // literal with incremental indexing, new name
    encodeInteger(out, name.length, 7, 0);
    out.push(...Array.from(name, (c) => c.charCodeAt(0)));
    encodeInteger(out, value.length, 7, 0);
    out.push(...Array.from(value, (c) => c.charCodeAt(0)));
    return out;
  };
  const block = (bytes: number[]) =>
    fresh.decode(Uint8Array.from(bytes), 0, bytes.length, sink, 1 << 16);
  assert.equal(block(literal("a", "b")), 0);
  assert.equal(fresh.dynamicTableLength, 1);
  // Shrink the table to 64 octets (the 34-octet entry stays), then add a 70-octet entry:
  // RFC 7541 §4.4 empties the table and adds nothing.
  const shrink: number[] = [];
  encodeInteger(shrink, 64, 5, 0x20);
  assert.equal(block([...shrink, ...literal("n".repeat(19), "v".repeat(19))]), 0);
  assert.equal(fresh.dynamicTableLength, 0);
  assert.equal(fresh.dynamicTableSize, 0);
});

Deno.test("Huffman: every byte value round-trips; bad padding and EOS are rejected", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const encoded = huffmanEncode(all);
  const out = new Uint8Array(encoded.length * 2);
  const n = huffmanDecode(encoded, 0, encoded.length, out);
  assert.deepEqual(out.subarray(0, n), all);
  assert.equal(huffmanDecode(Uint8Array.of(0x00), 0, 1, out), -1, "padding of zeros");
  assert.equal(huffmanDecode(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4, out), -1, "EOS symbol");
  assert.equal(
    huffmanDecode(Uint8Array.of(0x1f, 0xff), 0, 2, out),
    -1,
    "padding longer than 7 bits",
  );
});

Deno.test("grpc-timeout parsing and grpc-message percent-encoding", () => {
  assert.equal(parseGrpcTimeout("100m"), 100);
  assert.equal(parseGrpcTimeout("2S"), 2000);
  assert.equal(parseGrpcTimeout("1H"), 3_600_000);
  assert.equal(parseGrpcTimeout("1500u"), 2);
  assert.equal(parseGrpcTimeout("1n"), 1);
  assert.equal(parseGrpcTimeout("123456789S"), -1);
  assert.equal(parseGrpcTimeout("10x"), -1);
  assert.equal(parseGrpcTimeout("m"), -1);
  assert.equal(percentEncode("a b%ü\n"), "a b%25%C3%BC%0A");
});
