/**
 * A minimal ZooKeeper client over Deno.connect: one session, kept alive by pings,
 * re-established after connection loss, and replaced by a new session when the server
 * says the old one expired. Only what discovery needs: create, delete, exists, getData,
 * setData, getChildren. No watches, no auth, no chroot.
 *
 * Why our own: `node-zookeeper-client@1.1.3` under Deno 2.8.3 connected and created
 * ephemeral nodes, but after ZooKeeper went away and came back it stayed disconnected
 * (or, when ZooKeeper was not up at its first attempt, never connected), and it never
 * reported an expired session; discovery needs exactly those paths to work.
 *
 * Requests fail fast with CONNECTIONLOSS while disconnected; callers retry.
 */
import {
  CreateFlags,
  ErrorCode,
  OpCode,
  Reader,
  type Stat,
  writeOpenAcl,
  Writer,
  Xid,
  ZooKeeperError,
} from "./jute.ts";
import { loopTasks } from "../../metrics/loop_tasks.ts";

export type ZooKeeperState = "connecting" | "connected" | "closed";

export interface ZooKeeperClientOptions {
  /** host:port[,host:port...] */
  readonly connect: string;
  /** Requested session timeout; the server may clamp it to its min/max. */
  readonly sessionTimeoutMs: number;
  /** Limit of one TCP connect + handshake attempt. Default: min(sessionTimeout, 5 s). */
  readonly connectTimeoutMs?: number;
  /** Called on every state change; `newSession` tells a fresh session from a resumed one. */
  readonly onState?: (state: ZooKeeperState, detail: { newSession: boolean }) => void;
  /** Called with each failed connection attempt, for status pages. */
  readonly onError?: (error: Error) => void;
}

interface Pending {
  readonly op: number;
  readonly path: string | undefined;
  resolve(reader: Reader): void;
  reject(error: Error): void;
}

const PROTOCOL_VERSION = 0;
const MAX_PACKET = 16 * 1024 * 1024;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1000;

function parseHosts(connect: string): { hostname: string; port: number }[] {
  return connect.split(",").map((hostPort) => {
    const at = hostPort.lastIndexOf(":");
    const port = Number(hostPort.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new RangeError(`Invalid ZooKeeper address "${hostPort}": expected host:port`);
    }
    return { hostname: hostPort.slice(0, at).replace(/^\[(.*)\]$/, "$1"), port };
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/**
 * Ends a connection. On Deno 2.8.3 `close()` while a read is pending neither wakes the
 * read nor sends FIN; shutting the write side first sends FIN, so the server closes its
 * end and the pending read ends too.
 */
function shutdown(conn: Deno.Conn): void {
  try {
    conn.closeWrite().catch(() => {});
  } catch {
    // Already shut.
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Deno.connect with a time limit; a connection that completes too late is closed. */
function connectWithin(
  host: { hostname: string; port: number },
  ms: number,
): Promise<Deno.Conn> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`Connecting to ${host.hostname}:${host.port} timed out after ${ms} ms`));
    }, ms);
    Deno.connect({ hostname: host.hostname, port: host.port }).then((conn) => {
      clearTimeout(timer);
      if (timedOut) conn.close();
      else resolve(conn);
    }, (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Reads length-prefixed packets from a connection. */
class PacketReader {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  #chunk = new Uint8Array(64 * 1024);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next packet's payload, or null at end of stream. */
  async next(): Promise<Uint8Array | null> {
    while (true) {
      if (this.#buffer.length >= 4) {
        const length = new DataView(this.#buffer.buffer, this.#buffer.byteOffset).getInt32(0);
        if (length < 0 || length > MAX_PACKET) {
          throw new RangeError(`ZooKeeper sent a packet of ${length} bytes`);
        }
        if (this.#buffer.length >= 4 + length) {
          const payload = this.#buffer.slice(4, 4 + length);
          this.#buffer = this.#buffer.slice(4 + length);
          return payload;
        }
      }
      const n = await this.#conn.read(this.#chunk);
      if (n === null) return null;
      const joined = new Uint8Array(this.#buffer.length + n);
      joined.set(this.#buffer);
      joined.set(this.#chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = joined;
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

export class ZooKeeperClient {
  #options: ZooKeeperClientOptions;
  #hosts: { hostname: string; port: number }[];
  #hostIndex = 0;
  #state: ZooKeeperState = "connecting";
  #sessionId = 0n;
  #password: Uint8Array = new Uint8Array(16);
  #negotiatedTimeoutMs = 0;
  #lastZxid = 0n;
  #conn: Deno.Conn | null = null;
  #pending = new Map<number, Pending>();
  #xid = 1;
  #writeChain: Promise<void> = Promise.resolve();
  #abort = new AbortController();
  #loop: Promise<void>;
  #waiters = new Set<() => void>();

  constructor(options: ZooKeeperClientOptions) {
    this.#options = options;
    this.#hosts = parseHosts(options.connect);
    this.#loop = this.#run();
  }

  get state(): ZooKeeperState {
    return this.#state;
  }

  /** The current session id (0 before the first session). */
  get sessionId(): bigint {
    return this.#sessionId;
  }

  /** The session timeout the server granted. */
  get sessionTimeoutMs(): number {
    return this.#negotiatedTimeoutMs;
  }

  /** Resolves true once connected, false after `timeoutMs` or on close. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.#state === "connected") return Promise.resolve(true);
    if (this.#state === "closed") return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(this.#state === "connected");
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiters.add(done);
    });
  }

  #setState(state: ZooKeeperState, newSession = false): void {
    this.#state = state;
    this.#options.onState?.(state, { newSession });
    for (const waiter of [...this.#waiters]) waiter();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let delay = RECONNECT_MIN_MS;
    while (!signal.aborted) {
      const host = this.#hosts[this.#hostIndex];
      this.#hostIndex = (this.#hostIndex + 1) % this.#hosts.length;
      let conn: Deno.Conn | null = null;
      try {
        const connectTimeout = this.#options.connectTimeoutMs ??
          Math.min(this.#options.sessionTimeoutMs, 5000);
        conn = await connectWithin(host, connectTimeout);
        const reader = new PacketReader(conn);
        const newSession = await withTimeout(
          this.#handshake(conn, reader),
          connectTimeout,
          `ZooKeeper handshake with ${host.hostname}:${host.port}`,
        );
        this.#conn = conn;
        delay = RECONNECT_MIN_MS;
        this.#setState("connected", newSession);
        await this.#serve(conn, reader, signal);
      } catch (error) {
        if (!signal.aborted) {
          this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
        }
      } finally {
        this.#conn = null;
        if (conn) shutdown(conn);
        this.#failPending(new ZooKeeperError(ErrorCode.CONNECTION_LOSS));
      }
      if (signal.aborted) break;
      if (this.#state !== "connecting") this.#setState("connecting");
      await sleep(delay, signal);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  }

  /** Sends ConnectRequest; returns whether the session is new. Handles expiry. */
  async #handshake(conn: Deno.Conn, reader: PacketReader): Promise<boolean> {
    const request = new Writer()
      .int(PROTOCOL_VERSION)
      .long(this.#lastZxid)
      .int(this.#options.sessionTimeoutMs)
      .long(this.#sessionId)
      .buffer(this.#password)
      .bool(false)
      .packet();
    await writeAll(conn, request);
    const payload = await reader.next();
    if (payload === null) throw new Error("ZooKeeper closed the connection during the handshake");
    const r = new Reader(payload);
    r.int(); // protocol version
    const timeout = r.int();
    const sessionId = r.long();
    const password = r.buffer() ?? new Uint8Array(16);
    if (timeout <= 0) {
      // The server forgot our session: everything ephemeral is gone. Start a new one.
      const expired = this.#sessionId;
      this.#sessionId = 0n;
      this.#password = new Uint8Array(16);
      this.#lastZxid = 0n;
      throw new ZooKeeperError(
        ErrorCode.SESSION_EXPIRED,
        undefined,
        `session 0x${expired.toString(16)} expired; opening a new one`,
      );
    }
    const newSession = sessionId !== this.#sessionId;
    this.#sessionId = sessionId;
    this.#password = password;
    this.#negotiatedTimeoutMs = timeout;
    return newSession;
  }

  /** Reads replies and pings until the connection ends. */
  async #serve(conn: Deno.Conn, reader: PacketReader, signal: AbortSignal): Promise<void> {
    const pingEvery = Math.max(100, Math.floor(this.#negotiatedTimeoutMs / 3));
    let lastHeard = Date.now();
    // A read pending on a dead connection may never end (see `shutdown`), so the loop
    // also waits on this: it resolves when the client closes or the pings go unanswered.
    const stopped = Promise.withResolvers<null>();
    const stop = () => stopped.resolve(null);
    signal.addEventListener("abort", stop, { once: true });
    // Timed as a loop task: without worker isolates this loop serves the reads.
    const pinger = setInterval(
      loopTasks.timed("zookeeper-ping", () => {
        if (Date.now() - lastHeard > (this.#negotiatedTimeoutMs * 2) / 3) {
          // No reply to two pings: the server is gone even if TCP has not noticed.
          stop();
          shutdown(conn);
          return;
        }
        this.#send(new Writer().int(Xid.ping).int(OpCode.ping).packet()).catch(() => {});
      }),
      pingEvery,
    );
    try {
      while (!signal.aborted) {
        const payload = await Promise.race([reader.next(), stopped.promise]);
        if (payload === null) return;
        lastHeard = Date.now();
        const r = new Reader(payload);
        const xid = r.int();
        const zxid = r.long();
        const err = r.int();
        if (zxid > 0n) this.#lastZxid = zxid;
        if (xid === Xid.ping || xid === Xid.notification) continue;
        const pending = this.#pending.get(xid);
        if (!pending) continue;
        this.#pending.delete(xid);
        if (err !== ErrorCode.OK) {
          pending.reject(new ZooKeeperError(err, pending.path));
          if (err === ErrorCode.SESSION_EXPIRED) return;
        } else {
          pending.resolve(r);
        }
      }
    } finally {
      clearInterval(pinger);
      signal.removeEventListener("abort", stop);
    }
  }

  #failPending(error: ZooKeeperError): void {
    for (const [xid, pending] of this.#pending) {
      this.#pending.delete(xid);
      pending.reject(new ZooKeeperError(error.code, pending.path));
    }
  }

  #send(packet: Uint8Array): Promise<void> {
    const conn = this.#conn;
    if (!conn) return Promise.reject(new ZooKeeperError(ErrorCode.CONNECTION_LOSS));
    const next = this.#writeChain.then(() => writeAll(conn, packet));
    this.#writeChain = next.catch(() => {});
    return next;
  }

  #request(op: number, path: string | undefined, body: (w: Writer) => void): Promise<Reader> {
    if (this.#state !== "connected" || this.#conn === null) {
      return Promise.reject(new ZooKeeperError(ErrorCode.CONNECTION_LOSS, path));
    }
    const xid = this.#xid;
    this.#xid = this.#xid >= 0x7fffffff ? 1 : this.#xid + 1;
    const w = new Writer().int(xid).int(op);
    body(w);
    return new Promise<Reader>((resolve, reject) => {
      this.#pending.set(xid, { op, path, resolve, reject });
      this.#send(w.packet()).catch(() => {
        if (this.#pending.delete(xid)) {
          reject(new ZooKeeperError(ErrorCode.CONNECTION_LOSS, path));
        }
      });
    });
  }

  /** Creates a node; resolves to its path. */
  async create(
    path: string,
    data: Uint8Array,
    mode: "persistent" | "ephemeral",
  ): Promise<string> {
    const r = await this.#request(OpCode.create, path, (w) => {
      w.string(path).buffer(data);
      writeOpenAcl(w);
      w.int(CreateFlags[mode]);
    });
    return r.string();
  }

  /** Deletes a node (any version). */
  async delete(path: string): Promise<void> {
    await this.#request(OpCode.delete, path, (w) => w.string(path).int(-1));
  }

  /** The node's stat, or null when it does not exist. */
  async exists(path: string): Promise<Stat | null> {
    try {
      return (await this.#request(OpCode.exists, path, (w) => w.string(path).bool(false))).stat();
    } catch (error) {
      if (error instanceof ZooKeeperError && error.code === ErrorCode.NO_NODE) return null;
      throw error;
    }
  }

  async getData(path: string): Promise<{ data: Uint8Array; stat: Stat }> {
    const r = await this.#request(OpCode.getData, path, (w) => w.string(path).bool(false));
    const data = r.buffer() ?? new Uint8Array();
    return { data, stat: r.stat() };
  }

  async setData(path: string, data: Uint8Array): Promise<Stat> {
    return (await this.#request(OpCode.setData, path, (w) => w.string(path).buffer(data).int(-1)))
      .stat();
  }

  async getChildren(path: string): Promise<string[]> {
    const r = await this.#request(OpCode.getChildren, path, (w) => w.string(path).bool(false));
    const count = r.int();
    const children: string[] = [];
    for (let i = 0; i < count; i++) children.push(r.string());
    return children;
  }

  /** Creates `path` and its missing parents as persistent nodes. */
  async mkdirp(path: string): Promise<void> {
    const parts = path.split("/").filter((p) => p !== "");
    for (let i = 1; i <= parts.length; i++) {
      const at = "/" + parts.slice(0, i).join("/");
      try {
        await this.create(at, new Uint8Array(), "persistent");
      } catch (error) {
        if (!(error instanceof ZooKeeperError && error.code === ErrorCode.NODE_EXISTS)) throw error;
      }
    }
  }

  /**
   * Ends the session (its ephemeral nodes go at once) and stops reconnecting. Bounded:
   * when the server does not answer within `timeoutMs`, the socket is just closed.
   * Safe to call twice.
   */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.#state === "closed") return;
    if (this.#state === "connected") {
      try {
        await withTimeout(
          this.#request(OpCode.closeSession, undefined, () => {}),
          timeoutMs,
          "closeSession",
        );
      } catch {
        // The session times out on its own.
      }
    }
    this.#abort.abort();
    const conn = this.#conn;
    if (conn) shutdown(conn);
    await this.#loop;
    await this.#writeChain;
    this.#setState("closed");
  }
}

export { ErrorCode, ZooKeeperError };
export type { Stat };
