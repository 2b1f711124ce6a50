/**
 * A `node:tls` TLSSocket seen as the few `Deno.Conn` members an `H2Connection` uses, so
 * the HTTP/2 code runs over it unchanged.
 *
 * - `read(p)` copies queued bytes into `p` (keeping the rest of a chunk for the next
 *   read), or waits for the next chunk; null once the peer ended and the queue is empty.
 * - Inbound bytes are bounded by a cap, not by pausing: on Deno 2.8.3, `pause()` on a
 *   node:tls server socket stops the 'data' events but not the reading underneath (a
 *   peer sent 200 MB to a paused socket; the server's RSS grew by as much, its TCP
 *   receive queue stayed empty; compare denoland/deno#33524). So the socket keeps
 *   flowing into a queue we can count, and a peer that has more than `maxUnreadBytes`
 *   waiting is cut off: reads fail with a RangeError and the socket is destroyed. The
 *   cap is set above what a peer that honours HTTP/2 flow control and
 *   MAX_CONCURRENT_STREAMS can send while the connection is not reading.
 * - `write(p)` resolves once the socket is done with `p` (its write callback), so the
 *   caller may then reuse the buffer; the connection already coalesces its frames into
 *   one write and never has two writes outstanding.
 * - `closeWrite()` ends our side (close_notify, then FIN) and resolves when that is
 *   flushed, or after `CLOSE_WRITE_TIMEOUT_MS` when a peer that reads nothing keeps it
 *   from flushing; `close()` destroys the socket and ends a pending read with null.
 * - A socket error fails the pending and later reads and writes with that error.
 */
import type { TLSSocket } from "node:tls";

/** How long `closeWrite` waits for our last bytes to leave before giving up on them. */
const CLOSE_WRITE_TIMEOUT_MS = 1000;

export class NodeTlsConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly #socket: TLSSocket;
  readonly #maxUnreadBytes: number;
  readonly #chunks: Uint8Array[] = [];
  /** Bytes of `#chunks[0]` already read. */
  #head = 0;
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #readInto: Uint8Array | null = null;
  #readResolve: ((n: number | null) => void) | null = null;
  #readReject: ((error: Error) => void) | null = null;
  #writeLength = 0;
  #writeResolve: ((n: number) => void) | null = null;
  #writeReject: ((error: Error) => void) | null = null;

  constructor(socket: TLSSocket, maxUnreadBytes: number) {
    this.#socket = socket;
    this.#maxUnreadBytes = maxUnreadBytes;
    const family = socket.remoteFamily;
    this.remoteAddr = {
      transport: "tcp",
      hostname: socket.remoteAddress ?? (family === "IPv6" ? "::" : "0.0.0.0"),
      port: socket.remotePort ?? 0,
    };
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#queued > 0) return Promise.resolve(this.#take(p));
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended || this.#socket.destroyed) return Promise.resolve(null);
    if (this.#readResolve !== null) {
      return Promise.reject(new Deno.errors.Busy("A read is already pending"));
    }
    return new Promise((resolve, reject) => {
      this.#readInto = p;
      this.#readResolve = resolve;
      this.#readReject = reject;
    });
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      return Promise.reject(new Deno.errors.BadResource("The TLS socket is closed"));
    }
    if (this.#writeResolve !== null) {
      return Promise.reject(new Deno.errors.Busy("A write is already pending"));
    }
    return new Promise((resolve, reject) => {
      this.#writeLength = p.length;
      this.#writeResolve = resolve;
      this.#writeReject = reject;
      this.#socket.write(p, this.#onWritten);
    });
  }

  closeWrite(): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || socket.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, CLOSE_WRITE_TIMEOUT_MS);
      function done() {
        clearTimeout(timer);
        socket.off("finish", done);
        socket.off("close", done);
        resolve();
      }
      socket.once("finish", done);
      socket.once("close", done);
      socket.end();
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Copies queued bytes into `p`; the caller checked that some are queued. */
  #take(p: Uint8Array): number {
    let n = 0;
    const chunks = this.#chunks;
    while (n < p.length && chunks.length > 0) {
      const chunk = chunks[0];
      const available = chunk.length - this.#head;
      const count = Math.min(available, p.length - n);
      p.set(
        count === chunk.length ? chunk : chunk.subarray(this.#head, this.#head + count),
        n,
      );
      n += count;
      if (count === available) {
        chunks.shift();
        this.#head = 0;
      } else {
        this.#head += count;
      }
    }
    this.#queued -= n;
    return n;
  }

  readonly #onData = (chunk: Uint8Array): void => {
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    const resolve = this.#readResolve;
    if (resolve !== null) {
      const into = this.#readInto!;
      this.#clearRead();
      resolve(this.#take(into));
    }
    if (this.#queued > this.#maxUnreadBytes && this.#error === null) {
      this.#chunks.length = 0;
      this.#head = 0;
      this.#queued = 0;
      this.#socket.destroy(
        new RangeError(`Peer sent more than ${this.#maxUnreadBytes} bytes the server has not read`),
      );
    }
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#endRead();
  };

  readonly #onClose = (): void => {
    this.#ended = true;
    this.#endRead();
    const reject = this.#writeReject;
    if (reject !== null) {
      this.#clearWrite();
      reject(this.#error ?? new Deno.errors.BadResource("The TLS socket closed"));
    }
  };

  readonly #onError = (error: Error): void => {
    this.#error ??= error;
    const reject = this.#readReject;
    if (reject !== null) {
      this.#clearRead();
      reject(error);
    }
  };

  readonly #onWritten = (error?: Error | null): void => {
    const resolve = this.#writeResolve;
    const reject = this.#writeReject;
    if (resolve === null || reject === null) return;
    const length = this.#writeLength;
    this.#clearWrite();
    if (error) reject(error);
    else resolve(length);
  };

  /** A pending read sees the end of input (an error already failed it in `#onError`). */
  #endRead(): void {
    const resolve = this.#readResolve;
    if (resolve === null || this.#queued > 0) return;
    this.#clearRead();
    resolve(null);
  }

  #clearRead(): void {
    this.#readInto = null;
    this.#readResolve = null;
    this.#readReject = null;
  }

  #clearWrite(): void {
    this.#writeLength = 0;
    this.#writeResolve = null;
    this.#writeReject = null;
  }
}
