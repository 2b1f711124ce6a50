/**
 * Plaintext TCP on the serving thread's own poller (socket_poller.ts): a listener that
 * hands each accepted socket over as a `ByteConn`, whose `read` and `write` call `recv`
 * and `send` at once when the socket is ready and otherwise wait for the poller's event.
 * Edge-triggered: an event means new data or new room, so a read that drains the socket
 * (a short `recv`) or a write that fills it waits for the next one.
 */
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EINTR,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOMEM,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  errno,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  recvInto,
  sendFrom,
  SHUT_WR,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  type SocketCalls,
  socketError,
  SOL_SOCKET,
  TCP_NODELAY,
} from "../../../ffi/mod.ts";
import { logger } from "../../log.ts";
import type { ByteConn } from "./connection.ts";
import { type Pollable, SocketPoller, type TurnWaiter } from "./socket_poller.ts";

const log = logger("transport");

const ONE = new Uint8Array(new Int32Array([1]).buffer);
const READ_EVENTS = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
const WRITE_EVENTS = EPOLLOUT | EPOLLHUP | EPOLLERR;
/** recv/send found the socket not ready. */
const NOT_READY = -1;
/** How long accepting pauses when the process is out of descriptors or memory (ms). */
const ACCEPT_PAUSE_MS = 100;

/** An address family's bytes: `struct sockaddr_in` or `sockaddr_in6`. */
function sockaddr(hostname: string, port: number): Uint8Array | null {
  const host = hostname === "localhost" ? "127.0.0.1" : hostname.replace(/^\[(.*)\]$/, "$1");
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4 !== null) {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    for (let i = 0; i < 4; i++) {
      const octet = Number(v4[i + 1]);
      if (octet > 255) return null;
      bytes[4 + i] = octet;
    }
    return bytes;
  }
  if (!host.includes(":")) return null;
  const words = ipv6Words(host);
  if (words === null) return null;
  const bytes = new Uint8Array(28);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  for (let i = 0; i < 8; i++) view.setUint16(8 + 2 * i, words[i], false);
  return bytes;
}

/** The eight 16-bit words of an IPv6 literal (no zone, no embedded IPv4), or null. */
function ipv6Words(host: string): number[] | null {
  const halves = host.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => part === "" ? [] : part.split(":");
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const words: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    words.push(parseInt(group, 16));
  }
  return words;
}

/** The address in a `sockaddr_in` or `sockaddr_in6`. */
function netAddr(bytes: Uint8Array): Deno.NetAddr {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const port = view.getUint16(2, false);
  if (view.getUint16(0, true) === AF_INET6) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) words.push(view.getUint16(8 + 2 * i, false).toString(16));
    // An IPv4 client of a dual-stack socket, written as Deno writes it: ::ffff:a.b.c.d.
    if (words.slice(0, 5).every((w) => w === "0") && words[5] === "ffff") {
      return { transport: "tcp", hostname: `::ffff:${bytes.subarray(20, 24).join(".")}`, port };
    }
    return { transport: "tcp", hostname: compactIpv6(words), port };
  }
  return { transport: "tcp", hostname: bytes.subarray(4, 8).join("."), port };
}

/** RFC 5952's form: the longest run of zero words (two or more) as "::". */
function compactIpv6(words: string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return words.join(":");
  return `${words.slice(0, best).join(":")}::${words.slice(best + bestLength).join(":")}`;
}

export interface SocketListenOptions {
  hostname: string;
  port: number;
  reusePort?: boolean;
  /** Each accepted connection, TCP_NODELAY set. */
  onConnection(conn: SocketConn): void;
}

/** A listening socket on the poller; accepts until closed. */
export class SocketListener implements Pollable {
  /**
   * Listens on the poller, or returns null where the poller is not to be had or the host
   * is not an address literal (or "localhost"): the caller listens through Deno then.
   */
  static listen(options: SocketListenOptions): SocketListener | null {
    const address = sockaddr(options.hostname, options.port);
    if (address === null) return null;
    const poller = SocketPoller.start();
    if (poller === null) return null;
    const calls = poller.calls;
    const family = new DataView(address.buffer).getUint16(0, true);
    const fd = calls.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw socketError("socket", errno());
    try {
      // As Deno.listen: the address reusable at once after a restart; "::" takes IPv4 too
      // where the system's default does (net.ipv6.bindv6only).
      check(calls.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, ONE, 4), "setsockopt");
      if (options.reusePort) {
        check(calls.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, ONE, 4), "setsockopt");
      }
      check(calls.bind(fd, address, address.length), "bind");
      check(calls.listen(fd, 1024), "listen");
      const bound = new Uint8Array(28);
      const length = new Uint32Array([bound.length]);
      check(calls.getsockname(fd, bound, new Uint8Array(length.buffer)), "getsockname");
      const listener = new SocketListener(poller, fd, netAddr(bound), options.onConnection);
      poller.add(fd, EPOLLIN, listener);
      return listener;
    } catch (error) {
      calls.close(fd);
      throw error;
    }
  }

  readonly addr: Deno.NetAddr;
  /** Accepts that failed (a peer gone before accept, no descriptors left). */
  acceptFailures = 0;
  readonly #poller: SocketPoller;
  readonly #fd: number;
  readonly #onConnection: (conn: SocketConn) => void;
  readonly #peer = new Uint8Array(28);
  readonly #peerLength = new Uint32Array(1);
  readonly #peerLengthBytes = new Uint8Array(this.#peerLength.buffer);
  #paused: ReturnType<typeof setTimeout> | undefined = undefined;
  #closed = false;

  private constructor(
    poller: SocketPoller,
    fd: number,
    addr: Deno.NetAddr,
    onConnection: (conn: SocketConn) => void,
  ) {
    this.#poller = poller;
    this.#fd = fd;
    this.addr = addr;
    this.#onConnection = onConnection;
  }

  onEvents(): void {
    const calls = this.#poller.calls;
    while (!this.#closed) {
      const fd = calls.accept4(this.#fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const code = errno();
        if (code === EAGAIN) return;
        if (code === EINTR) continue;
        this.acceptFailures++;
        if (code === EMFILE || code === ENFILE || code === ENOBUFS || code === ENOMEM) {
          // Level-triggered: the queue would wake the loop at once, again and again.
          log.warn("Accept failed (errno {code}); pausing accepts for {ms} ms", {
            code,
            ms: ACCEPT_PAUSE_MS,
          });
          this.#poller.modify(this.#fd, 0);
          this.#paused = setTimeout(() => {
            this.#paused = undefined;
            if (!this.#closed) this.#poller.modify(this.#fd, EPOLLIN);
          }, ACCEPT_PAUSE_MS);
          return;
        }
        log.debug("Accept failed: errno {code}", { code });
        continue;
      }
      // As Deno's accept: a peer that reset before we got here (no address left) is an
      // accept that failed, not a connection.
      this.#peerLength[0] = this.#peer.length;
      if (calls.getpeername(fd, this.#peer, this.#peerLengthBytes) !== 0) {
        const code = errno();
        calls.close(fd);
        this.acceptFailures++;
        log.debug("Accept failed: errno {code}", { code });
        continue;
      }
      calls.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, ONE, 4);
      let conn: SocketConn;
      try {
        conn = new SocketConn(this.#poller, fd, netAddr(this.#peer));
      } catch (error) {
        calls.close(fd);
        this.acceptFailures++;
        log.debug("Accept failed: {error}", { error });
        continue;
      }
      this.#onConnection(conn);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#paused !== undefined) clearTimeout(this.#paused);
    this.#poller.remove(this.#fd);
    this.#poller.calls.close(this.#fd);
  }
}

/**
 * One accepted socket as the `ByteConn` an H2Connection runs over. Busy, it reads again
 * only after the runtime's turn once one is due (socket_poller.ts).
 */
export class SocketConn implements ByteConn, Pollable, TurnWaiter {
  readonly remoteAddr: Deno.NetAddr;
  readonly #calls: SocketCalls;
  readonly #poller: SocketPoller;
  readonly #fd: number;
  #closed = false;
  /** Whether recv may find data: set by an event, cleared by a read that drained it. */
  #readable = true;
  #writable = true;
  /** The runtime turn (SocketPoller.turns) of this socket's last read that found data. */
  #readTurn = -1;
  /** Queued for the poller's next turn (`afterTurn`). */
  #waitingForTurn = false;
  readonly #reading = new Waiting<number | null>();
  readonly #writing = new Waiting<number>();

  constructor(poller: SocketPoller, fd: number, remoteAddr: Deno.NetAddr) {
    this.#poller = poller;
    this.#calls = poller.calls;
    this.#fd = fd;
    this.remoteAddr = remoteAddr;
    poller.add(fd, READ_EVENTS | EPOLLOUT | EPOLLET, this);
  }

  /** Bytes read into `buffer`, or null at the end of the stream or once closed. */
  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.resolve(null);
    if (this.#reading.bytes !== null) {
      return Promise.reject(new Deno.errors.Busy("read pending"));
    }
    if (this.#readable && !this.#mustWaitForTurn()) {
      const n = this.#recv(buffer);
      if (n !== NOT_READY) return n instanceof Error ? Promise.reject(n) : Promise.resolve(n);
    }
    return this.#reading.wait(buffer);
  }

  afterTurn(): void {
    this.#waitingForTurn = false;
    this.#readWaiting();
  }

  /**
   * Whether a read must wait for the runtime's next turn: this socket read since the last
   * one, and the next is due. If so, it is queued for it.
   */
  #mustWaitForTurn(): boolean {
    const poller = this.#poller;
    if (this.#readTurn !== poller.turns || !poller.turnDue()) return false;
    if (!this.#waitingForTurn) {
      this.#waitingForTurn = true;
      poller.readAfterTurn(this);
    }
    return true;
  }

  /** The waiting read, if any, reads now if the socket may have data and its turn allows. */
  #readWaiting(): void {
    const buffer = this.#reading.bytes;
    if (this.#closed || buffer === null || !this.#readable || this.#mustWaitForTurn()) return;
    const n = this.#recv(buffer);
    if (n !== NOT_READY) this.#reading.settle(n);
  }

  /** How many of `bytes` were written (at least one), once the socket took them. */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#writing.bytes !== null) {
      return Promise.reject(new Deno.errors.Busy("write pending"));
    }
    if (this.#writable) {
      const n = this.#send(bytes);
      if (n !== NOT_READY) return n instanceof Error ? Promise.reject(n) : Promise.resolve(n);
    }
    return this.#writing.wait(bytes);
  }

  closeWrite(): Promise<void> {
    if (!this.#closed) this.#calls.shutdown(this.#fd, SHUT_WR);
    return Promise.resolve();
  }

  /** Closes the socket; a read waiting ends with null, a write waiting fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.remove(this.#fd);
    this.#calls.close(this.#fd);
    this.#reading.settle(null);
    this.#writing.settle(new Deno.errors.BadResource("closed"));
  }

  onEvents(events: number): void {
    if (this.#closed) return;
    if (events & READ_EVENTS) {
      this.#readable = true;
      this.#readWaiting();
    }
    if (events & WRITE_EVENTS) {
      this.#writable = true;
      const bytes = this.#writing.bytes;
      if (bytes !== null) {
        const n = this.#send(bytes);
        if (n !== NOT_READY) this.#writing.settle(n);
      }
    }
  }

  /** Bytes received, null at the end of the stream, NOT_READY, or the error. */
  #recv(buffer: Uint8Array): number | null | Error {
    for (;;) {
      const n = recvInto(this.#calls, this.#fd, buffer, MSG_DONTWAIT);
      if (n > 0) {
        if (n < buffer.length) this.#readable = false;
        this.#readTurn = this.#poller.turns;
        this.#poller.noteRead();
        return n;
      }
      if (n === 0) return buffer.length === 0 ? 0 : null;
      const code = errno();
      if (code === EINTR) continue;
      if (code === EAGAIN) {
        this.#readable = false;
        return NOT_READY;
      }
      return socketError("recv", code);
    }
  }

  /** Bytes sent (at least one), NOT_READY, or the error. */
  #send(bytes: Uint8Array): number | Error {
    for (;;) {
      const n = sendFrom(this.#calls, this.#fd, bytes, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) {
        if (n < bytes.length) this.#writable = false;
        if (n > 0 || bytes.length === 0) return n;
        return NOT_READY;
      }
      const code = errno();
      if (code === EINTR) continue;
      if (code === EAGAIN) {
        this.#writable = false;
        return NOT_READY;
      }
      return socketError("send", code);
    }
  }
}

/** A read or a write waiting for the socket: its bytes and how to end it. */
class Waiting<T> {
  /** The buffer to read into or the bytes to write; null when nothing waits. */
  bytes: Uint8Array | null = null;
  #resolve: ((value: T) => void) | null = null;
  #reject: ((error: Error) => void) | null = null;

  wait(bytes: Uint8Array): Promise<T> {
    this.bytes = bytes;
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Ends the wait, if any, with `outcome`: an Error rejects. */
  settle(outcome: T | Error): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    this.bytes = null;
    this.#resolve = null;
    this.#reject = null;
    if (outcome instanceof Error) reject?.(outcome);
    else resolve?.(outcome);
  }
}

function check(result: number, call: string): void {
  if (result !== 0) throw socketError(call, errno());
}
