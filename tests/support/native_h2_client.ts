/**
 * A raw HTTP/2 client for protocol tests: hand-built frames over `Deno.connect`, and a
 * frame reader. It checks nothing itself; tests assert on what it returns.
 */

import { HpackDecoder } from "../../src/transport/native/hpack.ts";
import { huffmanEncode } from "../../src/transport/native/huffman.ts";

export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const END_STREAM = 1;
export const ACK = 1;
export const END_HEADERS = 4;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
}

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(),
) {
  const out = new Uint8Array(9 + payload.length);
  out[0] = payload.length >>> 16;
  out[1] = (payload.length >>> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId);
  out.set(payload, 9);
  return out;
}

export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function settingsFrame(settings: [number, number][]): Uint8Array {
  const payload = new Uint8Array(settings.length * 6);
  const view = new DataView(payload.buffer);
  settings.forEach(([key, value], i) => {
    view.setUint16(i * 6, key);
    view.setUint32(i * 6 + 2, value);
  });
  return frame(T.SETTINGS, 0, 0, payload);
}

/** One gRPC length-prefixed message. */
export function grpcMessage(body: Uint8Array, compressed = 0): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = compressed;
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

// ---- A small HPACK encoder -----------------------------------------------------------

function integer(out: number[], value: number, prefixBits: number, flags: number) {
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

function string(out: number[], text: string, huffman: boolean) {
  const raw = new TextEncoder().encode(text);
  const bytes = huffman ? huffmanEncode(raw) : raw;
  integer(out, bytes.length, 7, huffman ? 0x80 : 0);
  out.push(...bytes);
}

export type Field =
  | { name: string; value: string; index?: boolean; huffman?: boolean }
  | { indexed: number }
  | { tableSize: number };

/** Encodes fields as literals (optionally with incremental indexing), indices or updates. */
export function headerBlock(fields: Field[]): Uint8Array {
  const out: number[] = [];
  for (const f of fields) {
    if ("indexed" in f) integer(out, f.indexed, 7, 0x80);
    else if ("tableSize" in f) integer(out, f.tableSize, 5, 0x20);
    else {
      out.push(f.index ? 0x40 : 0x00);
      string(out, f.name, f.huffman ?? false);
      string(out, f.value, f.huffman ?? false);
    }
  }
  return Uint8Array.from(out);
}

export function grpcRequestFields(path: string, extra: Field[] = []): Field[] {
  return [
    { name: ":method", value: "POST" },
    { name: ":scheme", value: "http" },
    { name: ":path", value: path },
    { name: ":authority", value: "localhost" },
    { name: "content-type", value: "application/grpc" },
    { name: "te", value: "trailers" },
    ...extra,
  ];
}

// ---- The connection ------------------------------------------------------------------

export class RawH2Client {
  readonly conn: Deno.TcpConn;
  readonly decoder = new HpackDecoder(4096);
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;
  #pending: Promise<Uint8Array | null> | null = null;

  async #readChunk(): Promise<Uint8Array | null> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk).catch(() => null);
    return n === null ? null : chunk.subarray(0, n);
  }

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects and, unless told otherwise, sends the preface and a SETTINGS frame. */
  static async connect(
    port: number,
    options: { preface?: boolean; settings?: [number, number][] } = {},
  ): Promise<RawH2Client> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = new RawH2Client(conn);
    if (options.preface ?? true) {
      await client.send(concat(PREFACE, settingsFrame(options.settings ?? [])));
    }
    return client;
  }

  async send(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  sendFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): Promise<void> {
    return this.send(frame(type, flags, streamId, payload));
  }

  /** The next frame, or null on EOF or when `timeoutMs` passes first. */
  async readFrame(timeoutMs = 5000): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buf.length >= 9) {
        const length = (this.#buf[0] << 16) | (this.#buf[1] << 8) | this.#buf[2];
        if (this.#buf.length >= 9 + length) {
          const f: Frame = {
            type: this.#buf[3],
            flags: this.#buf[4],
            streamId: new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(5) &
              0x7fffffff,
            payload: this.#buf.slice(9, 9 + length),
          };
          this.#buf = this.#buf.slice(9 + length);
          return f;
        }
      }
      if (this.#eof) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // A read that loses the race stays pending and is picked up by the next call.
      this.#pending ??= this.#readChunk();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.#pending,
        new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (chunk === "timeout") return null;
      this.#pending = null;
      if (chunk === null) {
        this.#eof = true;
        continue;
      }
      this.#buf = concat(this.#buf, chunk);
    }
  }

  /** Reads frames until `stop` returns true for one (returned), or null on EOF/timeout. */
  async readUntil(
    stop: (f: Frame) => boolean,
    timeoutMs = 5000,
    seen?: Frame[],
  ): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.readFrame(Math.max(1, deadline - Date.now()));
      if (f === null) return null;
      seen?.push(f);
      if (stop(f)) return f;
    }
  }

  /** Decodes a complete header block from the server into a name → value map. */
  decodeHeaders(block: Uint8Array): Map<string, string> {
    const fields = new Map<string, string>();
    const error = this.decoder.decode(block, 0, block.length, {
      onHeader: (name, value) => fields.set(name, value),
    }, 1 << 20);
    if (error !== 0) throw new Error(`HPACK error ${error}`);
    return fields;
  }

  /** Frames up to END_STREAM on `streamId`: headers merged, DATA bytes concatenated. */
  async response(streamId: number, timeoutMs = 5000) {
    const headers = new Map<string, string>();
    const frames: Frame[] = [];
    const data: Uint8Array[] = [];
    let ended = false;
    let reset: number | null = null;
    let goaway: number | null = null;
    await this.readUntil((f) => {
      frames.push(f);
      if (f.type === T.GOAWAY) {
        goaway = new DataView(f.payload.buffer).getUint32(4);
        return true;
      }
      if (f.streamId !== streamId) return false;
      if (f.type === T.HEADERS) {
        for (const [k, v] of this.decodeHeaders(f.payload)) headers.set(k, v);
      }
      if (f.type === T.DATA) data.push(f.payload);
      if (f.type === T.RST_STREAM) {
        reset = new DataView(f.payload.buffer).getUint32(0);
        return true;
      }
      ended = (f.type === T.HEADERS || f.type === T.DATA) && (f.flags & END_STREAM) !== 0;
      return ended;
    }, timeoutMs);
    return {
      headers,
      body: concat(...data),
      frames,
      ended,
      reset: reset as number | null,
      goaway: goaway as number | null,
    };
  }

  /** Closes the socket and waits for the read left pending, if any. */
  async close(): Promise<void> {
    // Deno does not cancel a pending read on close(); a FIN makes the server close too.
    await this.conn.closeWrite().catch(() => {});
    try {
      this.conn.close();
    } catch {
      // Already closed by the server.
    }
    await this.#pending;
  }
}
