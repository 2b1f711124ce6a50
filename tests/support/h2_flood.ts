/**
 * A client that keeps one HTTP/2 connection's socket full: gRPC calls to PATH written back
 * to back for SECONDS, as fast as the server takes them, its answers read and dropped.
 * Run as its own process (its writes must not wait for the server's thread):
 *
 *   deno run --allow-net tests/support/h2_flood.ts PORT PATH SECONDS
 *
 * Prints `{"sent": n, "answered": m}` (answered: frames with END_STREAM, one per call).
 */
import {
  ACK,
  concat,
  END_HEADERS,
  END_STREAM,
  frame,
  grpcMessage,
  grpcRequestFields,
  headerBlock,
  PREFACE,
  settingsFrame,
  T,
  u32,
} from "./native_h2_client.ts";

const [port, path, seconds] = [Number(Deno.args[0]), Deno.args[1], Number(Deno.args[2])];
const CALLS_PER_WRITE = 256;

const headers = headerBlock(grpcRequestFields(path));
const body = grpcMessage(new TextEncoder().encode("flood"));

/** CALLS_PER_WRITE calls on the streams from `firstId` on. */
function calls(firstId: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < CALLS_PER_WRITE; i++) {
    const id = firstId + 2 * i;
    parts.push(frame(T.HEADERS, END_HEADERS, id, headers), frame(T.DATA, END_STREAM, id, body));
  }
  return concat(...parts);
}

const conn = await Deno.connect({ hostname: "127.0.0.1", port });

// One write at a time: the reader's acknowledgements go between the calls, not into them.
let writes = Promise.resolve();
function send(bytes: Uint8Array): Promise<void> {
  writes = writes.then(async () => {
    for (let offset = 0; offset < bytes.length;) {
      offset += await conn.write(bytes.subarray(offset));
    }
  });
  return writes;
}

let answered = 0;
(async () => {
  // Frame headers only: a frame's END_STREAM flag ends one call's answer. The server's
  // SETTINGS are acknowledged.
  const chunk = new Uint8Array(256 * 1024);
  let pending = new Uint8Array(0);
  for (;;) {
    const n = await conn.read(chunk).catch(() => null);
    if (n === null) return;
    let bytes = concat(pending, chunk.subarray(0, n));
    while (bytes.length >= 9) {
      const length = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
      if (bytes.length < 9 + length) break;
      const [type, flags] = [bytes[3], bytes[4]];
      if (type === T.SETTINGS && (flags & ACK) === 0) send(frame(T.SETTINGS, ACK, 0));
      if (type === T.HEADERS && (flags & END_STREAM) !== 0) answered++;
      bytes = bytes.subarray(9 + length);
    }
    pending = bytes.slice();
  }
})();

// The connection's window as large as it goes: the answers never wait for it.
await send(
  concat(PREFACE, settingsFrame([]), frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fff_ffff - 65_535))),
);
const end = Date.now() + seconds * 1000;
let nextId = 1;
let sent = 0;
while (Date.now() < end) {
  await send(calls(nextId));
  nextId += 2 * CALLS_PER_WRITE;
  sent += CALLS_PER_WRITE;
}
// The answers still on their way, then the end.
const settle = Date.now() + 5000;
while (answered < sent && Date.now() < settle) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ sent, answered }));
// A read pending on a closed Deno conn never settles: exit rather than wait for it.
Deno.exit(0);
