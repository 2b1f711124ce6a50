/**
 * Linux TCP sockets and epoll through glibc, for the serving thread's own poller
 * (src/transport/native/socket_poller.ts): nonblocking `recv` and `send` made as plain
 * calls, no runtime op or promise between the kernel and the read path. Linux only; where
 * glibc or epoll is missing `sockets()` is null and the server listens through Deno.
 *
 * Every call returns the kernel's result; on -1 `errno()` says why.
 */

import { sizeT } from "./_native.ts";

const symbols = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  // ssize_t results read as i32 (the low half of the register): a 64-bit result costs
  // ~1.2 µs a call on Deno 2.8 (rocksdb_symbols.ts), and no length here reaches 2^31.
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

export type SocketCalls = Deno.DynamicLibrary<typeof symbols>["symbols"];

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_REUSEPORT = 15;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;

export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x8000_0000;

export const EINTR = 4;
export const EAGAIN = 11;
export const EMFILE = 24;
export const ENFILE = 23;
export const ENOBUFS = 105;
export const ENOMEM = 12;

/**
 * `struct epoll_event`: packed on x86-64 (12 bytes, the data at 4), naturally aligned
 * elsewhere (16 bytes, the data at 8).
 */
export const EPOLL_EVENT_BYTES = Deno.build.arch === "x86_64" ? 12 : 16;
export const EPOLL_EVENT_DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;

/** `recv(fd, buffer, buffer.length, flags)`. */
export function recvInto(
  calls: SocketCalls,
  fd: number,
  buffer: Uint8Array,
  flags: number,
): number {
  return calls.recv(fd, buffer, sizeT(buffer.length), flags);
}

/** `send(fd, bytes, bytes.length, flags)`. */
export function sendFrom(calls: SocketCalls, fd: number, bytes: Uint8Array, flags: number): number {
  return calls.send(fd, bytes, sizeT(bytes.length), flags);
}

let lib: Deno.DynamicLibrary<typeof symbols> | null | undefined;
let errnoView: Deno.UnsafePointerView | null = null;

/** The socket calls, or null off Linux or without glibc. */
export function sockets(): SocketCalls | null {
  if (lib === undefined) {
    try {
      lib = Deno.build.os === "linux" ? Deno.dlopen("libc.so.6", symbols) : null;
    } catch {
      lib = null;
    }
  }
  return lib?.symbols ?? null;
}

/** This thread's errno (glibc keeps one per thread; each isolate runs on its own). */
export function errno(): number {
  if (errnoView === null) {
    const at = sockets()!.__errno_location();
    if (at === null) return 0;
    errnoView = new Deno.UnsafePointerView(at);
  }
  return errnoView.getInt32();
}

/** An error for a failed call, with Deno's error class where one matches. */
export function socketError(call: string, code: number): Error {
  const message = `${call} failed: errno ${code}`;
  switch (code) {
    case 32: // EPIPE
      return new Deno.errors.BrokenPipe(message);
    case 104: // ECONNRESET
      return new Deno.errors.ConnectionReset(message);
    case 103: // ECONNABORTED
      return new Deno.errors.ConnectionAborted(message);
    case 98: // EADDRINUSE
      return new Deno.errors.AddrInUse(message);
    case 99: // EADDRNOTAVAIL
      return new Deno.errors.AddrNotAvailable(message);
    case 13: // EACCES
      return new Deno.errors.PermissionDenied(message);
    default:
      return new Error(message);
  }
}
