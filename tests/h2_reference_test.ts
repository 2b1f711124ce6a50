/**
 * The native transport against nghttp2's own server (nghttpd), frame for frame, on the
 * RFC 9113 cases where a server must react to a peer's mistake. Each case is sent to both
 * over a raw socket; what each answers (streams answered, RST_STREAM and GOAWAY with
 * their codes) must be the same. Where they differ on purpose the case says why, and
 * both answers are still checked.
 */
import assert from "node:assert/strict";
import { serveNative } from "../src/transport/native/mod.ts";
import type { UnaryRouter } from "../src/transport/types.ts";
import {
  concat,
  END_HEADERS,
  END_STREAM,
  type Field,
  type Frame,
  frame,
  grpcMessage,
  grpcRequestFields,
  headerBlock,
  RawH2Client,
  T,
  u32,
} from "./support/native_h2_client.ts";
import { startNghttpd } from "./support/nghttpd.ts";

const CODES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
];
const PRIORITY_FLAG = 0x20;
/** nghttpd's SETTINGS_MAX_CONCURRENT_STREAMS; the native server is given the same. */
const NGHTTPD_MAX_STREAMS = 100;

/** The paths a case sends to: answered at once, answered late, answered before the body. */
interface Paths {
  readonly answered: string;
  readonly slow: string;
  readonly early: string;
}

interface Case {
  readonly name: string;
  /** Compare with nghttpd --early-response (it answers at HEADERS, then resets). */
  readonly early?: boolean;
  readonly send: (client: RawH2Client, paths: Paths) => Promise<void>;
  readonly expected: string;
  /** nghttpd's answer where it differs from ours, and why ours is what it is. */
  readonly nghttp2?: { readonly answer: string; readonly because: string };
}

const text = (s: string) => new TextEncoder().encode(s);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const request = (path: string, extra: Field[] = []) => headerBlock(grpcRequestFields(path, extra));
const message = grpcMessage(text("a"));
/** A full request on stream `id`: HEADERS, then one DATA with END_STREAM. */
const call = (id: number, path: string, extra: Field[] = []) =>
  concat(
    frame(T.HEADERS, END_HEADERS, id, request(path, extra)),
    frame(T.DATA, END_STREAM, id, message),
  );
/** Priority fields naming `dependency` (exclusive bit clear) with weight 16. */
const priority = (dependency: number) => concat(u32(dependency), new Uint8Array([15]));

const CASES: Case[] = [
  {
    name: "DATA on a stream both sides ended",
    send: async (c, p) => {
      await c.send(call(1, p.answered));
      await pause(150);
      await c.sendFrame(T.DATA, 0, 1, message);
    },
    expected: "answered(1) GOAWAY(1,STREAM_CLOSED)",
  },
  {
    name: "HEADERS on a stream both sides ended",
    send: async (c, p) => {
      await c.send(call(1, p.answered));
      await pause(150);
      await c.sendFrame(T.HEADERS, END_HEADERS | END_STREAM, 1, request(p.answered));
    },
    expected: "answered(1) GOAWAY(1,STREAM_CLOSED)",
  },
  {
    name: "DATA on a half-closed (remote) stream",
    send: (c, p) => c.send(concat(call(1, p.slow), frame(T.DATA, 0, 1, message))),
    expected: "RST(1,STREAM_CLOSED)",
    nghttp2: {
      answer: "GOAWAY(1,STREAM_CLOSED)",
      because: "RFC 9113 §5.1 makes it a stream error; nghttp2 ends the whole connection",
    },
  },
  {
    name: "a new stream with an id lower than one already open",
    send: async (c, p) => {
      await c.sendFrame(T.HEADERS, END_HEADERS, 5, request(p.answered));
      await c.send(call(3, p.answered));
    },
    expected: "GOAWAY(5,PROTOCOL_ERROR)",
    nghttp2: {
      answer: "",
      because: "RFC 9113 §5.1.1 makes it a connection error; nghttp2 drops the request, " +
        "leaving the client's call to hang until its deadline",
    },
  },
  {
    name: "a new stream with an id lower than one already closed",
    send: async (c, p) => {
      await c.send(call(5, p.answered));
      await pause(150);
      await c.send(call(3, p.answered));
    },
    expected: "answered(5) GOAWAY(5,PROTOCOL_ERROR)",
    nghttp2: { answer: "answered(5)", because: "as above" },
  },
  {
    name: "HEADERS making a stream depend on itself",
    send: (c, p) =>
      c.send(concat(
        frame(T.HEADERS, END_HEADERS | PRIORITY_FLAG, 1, concat(priority(1), request(p.answered))),
        frame(T.DATA, END_STREAM, 1, message),
      )),
    expected: "GOAWAY(0,PROTOCOL_ERROR)",
  },
  {
    name: "PRIORITY making an open stream depend on itself",
    send: async (c, p) => {
      await c.sendFrame(T.HEADERS, END_HEADERS, 1, request(p.answered));
      await c.sendFrame(T.PRIORITY, 0, 1, priority(1));
    },
    expected: "GOAWAY(1,PROTOCOL_ERROR)",
  },
  {
    name: "PRIORITY making an idle stream depend on itself",
    send: (c) => c.sendFrame(T.PRIORITY, 0, 3, priority(3)),
    expected: "GOAWAY(0,PROTOCOL_ERROR)",
  },
  {
    name: "content-length larger than the DATA sent",
    send: (c, p) => c.send(call(1, p.answered, [{ name: "content-length", value: "100" }])),
    expected: "RST(1,PROTOCOL_ERROR)",
  },
  {
    name: "content-length smaller than the DATA sent",
    send: (c, p) => c.send(call(1, p.answered, [{ name: "content-length", value: "2" }])),
    expected: "RST(1,PROTOCOL_ERROR)",
  },
  {
    name: "content-length equal to the DATA sent",
    send: (c, p) => c.send(call(1, p.answered, [{ name: "content-length", value: "6" }])),
    expected: "answered(1)",
  },
  {
    name: "streams past SETTINGS_MAX_CONCURRENT_STREAMS while their requests still arrive",
    send: async (c, p) => {
      const frames = [];
      for (let id = 1; id <= 2 * (NGHTTPD_MAX_STREAMS + 3); id += 2) {
        frames.push(frame(T.HEADERS, END_HEADERS, id, request(p.answered)));
      }
      await c.send(concat(...frames));
    },
    expected: [201, 203, 205].map((id) => `RST(${id},REFUSED_STREAM)`).join(" "),
  },
  ...([
    ["a zero WINDOW_UPDATE", frame(T.WINDOW_UPDATE, 0, 1, u32(0))],
    ["a WINDOW_UPDATE past 2^31-1", frame(T.WINDOW_UPDATE, 0, 1, u32(0x7fffffff))],
    ["a second HEADERS without END_STREAM", frame(T.HEADERS, END_HEADERS, 1, request("/x"))],
    [
      "trailers with a pseudo-header",
      frame(T.HEADERS, END_HEADERS | END_STREAM, 1, headerBlock([{ name: ":path", value: "/x" }])),
    ],
    ["the rest of the request", frame(T.DATA, END_STREAM, 1, message)],
  ] as const).map(([what, bytes]): Case => ({
    name: `after an answer before the request ended and its RST_STREAM(NO_ERROR): ${what}`,
    early: true,
    send: async (c, p) => {
      await c.sendFrame(T.HEADERS, END_HEADERS, 1, request(p.early));
      await pause(150);
      await c.send(bytes);
    },
    // RFC 9113 §5.1: frames that cross a RST_STREAM we sent are ignored.
    expected: "answered(1) RST(1,NO_ERROR)",
  })),
];

/** What a server did: streams answered, then resets and GOAWAY, in order. */
function reactionOf(frames: readonly Frame[]): string {
  return frames.flatMap((f) => {
    const view = new DataView(f.payload.buffer);
    const ended = (f.flags & END_STREAM) !== 0;
    switch (f.type) {
      case T.HEADERS:
      case T.DATA:
        return ended ? [`answered(${f.streamId})`] : [];
      case T.RST_STREAM:
        return [`RST(${f.streamId},${CODES[view.getUint32(0)]})`];
      case T.GOAWAY:
        return [`GOAWAY(${view.getUint32(0)},${CODES[view.getUint32(4)]})`];
      default:
        return [];
    }
  }).join(" ");
}

/** Runs `c` on a fresh connection; what came back until 300 ms of quiet, GOAWAY or EOF. */
async function react(port: number, c: Case, paths: Paths): Promise<string> {
  const client = await RawH2Client.connect(port);
  const frames: Frame[] = [];
  try {
    await c.send(client, paths);
    for (let f = await client.readFrame(300); f !== null; f = await client.readFrame(300)) {
      frames.push(f);
      if (f.type === T.GOAWAY) break;
    }
  } finally {
    await client.close();
  }
  return reactionOf(frames);
}

const router: UnaryRouter = {
  route(path) {
    if (path === "/test.Echo/echo") return (body) => body;
    if (path === "/test.Echo/slow") {
      return async (body) => {
        await pause(200);
        return body.slice();
      };
    }
    return undefined;
  },
};

Deno.test("HTTP/2 mistakes of a peer are answered as nghttp2 answers them, or as RFC 9113 requires where it does not", async (t) => {
  await using nghttpd = await startNghttpd();
  await using early = await startNghttpd({ earlyResponse: true });
  const server = await serveNative({
    hostname: "127.0.0.1",
    port: 0,
    router,
    maxConcurrentStreams: NGHTTPD_MAX_STREAMS,
  });
  try {
    const ours: Paths = { answered: "/test.Echo/echo", slow: "/test.Echo/slow", early: "/no/such" };
    const theirs: Paths = { answered: nghttpd.path, slow: nghttpd.path, early: nghttpd.path };
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const reference = await react(c.early ? early.port : nghttpd.port, c, theirs);
        assert.equal(reference, c.nghttp2?.answer ?? c.expected, "nghttpd's answer");
        assert.equal(
          await react(server.port, c, ours),
          c.expected,
          "the native transport's answer",
        );
      });
    }
  } finally {
    await server.close(2000);
  }
});
