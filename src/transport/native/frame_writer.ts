/**
 * The write side of a connection: frames accumulate in `out`; `flush()` sends them in one
 * socket write. Two buffers swap, so that frames made while a write is in flight wait in
 * the other one. PING and SETTINGS acks are tracked from queued to written, so that a
 * peer that sends them faster than it reads can be cut off.
 */
import { OUT_BUFFER_BYTES, OutBuffer } from "./frames.ts";

/** A buffer one burst grew past this is replaced by a fresh small one once written. */
const KEPT_OUT_BUFFER_BYTES = 64 * 1024;

/** The socket side the writer needs. */
export interface WritableConn {
  write(bytes: Uint8Array): Promise<number>;
}

/** What the writer tells its connection. */
export interface WriterEvents {
  /** A write failed; the writer has stopped. */
  writeFailed(error: unknown): void;
  /** Everything queued is written (or the writer stopped). */
  drained(): void;
}

export class FrameWriter {
  /** Where frames go now; swapped at every write, so always read it afresh. */
  out = new OutBuffer();
  #spare = new OutBuffer();
  #writing = false;
  #startedAt = 0;
  /** Bytes of the buffer in flight (`#spare` while writing) already written. */
  #offset = 0;
  #stopped = false;
  #drainWaiter: (() => void) | null = null;
  /** Acks queued in `out`, and in the write in flight. */
  queuedAcks = 0;
  #acksInFlight = 0;
  readonly #conn: WritableConn;
  readonly #events: WriterEvents;

  constructor(conn: WritableConn, events: WriterEvents) {
    this.#conn = conn;
    this.#events = events;
  }

  get writing(): boolean {
    return this.#writing;
  }

  /** When the write in flight began (performance.now()). */
  get writeStartedAt(): number {
    return this.#startedAt;
  }

  /** Acks not yet written, queued or in flight. */
  get unwrittenAcks(): number {
    return this.queuedAcks + this.#acksInFlight;
  }

  /** Bytes framed and not yet written. */
  get bufferedBytes(): number {
    return this.out.len + (this.#writing ? this.#spare.len : 0);
  }

  flush(): void {
    if (this.#writing || this.out.len === 0 || this.#stopped) return;
    this.#writing = true;
    this.#writeNext();
  }

  /** Resolves when the write in flight completes (or the writer stops). */
  untilWritten(): Promise<void> {
    return new Promise((resolve) => this.#drainWaiter = resolve);
  }

  /** No more writes; a caller waiting in `untilWritten` is released. */
  stop(): void {
    this.#stopped = true;
    this.#wakeWaiter();
  }

  // The write loop is a chain of callbacks made once, not an async function: that would
  // allocate its own promise and an await's on every call (bench:alloc).

  /** Swaps the buffers and writes what was queued; finishes when nothing is. */
  #writeNext(): void {
    if (this.out.len === 0 || this.#stopped) return this.#finish();
    const pending = this.out;
    this.out = this.#spare;
    this.#spare = pending;
    this.#acksInFlight = this.queuedAcks;
    this.queuedAcks = 0;
    this.#startedAt = performance.now();
    this.#offset = 0;
    this.#writeSome();
  }

  #writeSome(): void {
    const pending = this.#spare;
    let written: Promise<number>;
    try {
      written = this.#conn.write(pending.buf.subarray(this.#offset, pending.len));
    } catch (error) {
      return this.#failed(error);
    }
    written.then(this.#wrote, this.#failed);
  }

  readonly #wrote = (n: number): void => {
    const pending = this.#spare;
    this.#offset += n;
    if (this.#offset < pending.len && !this.#stopped) return this.#writeSome();
    pending.len = 0;
    this.#acksInFlight = 0;
    // Do not keep a buffer that one large burst grew.
    if (pending.buf.length > KEPT_OUT_BUFFER_BYTES) pending.buf = new Uint8Array(OUT_BUFFER_BYTES);
    this.#writeNext();
  };

  readonly #failed = (error: unknown): void => {
    if (!this.#stopped) this.#events.writeFailed(error);
    this.#finish();
  };

  #finish(): void {
    this.#writing = false;
    this.#wakeWaiter();
    this.#events.drained();
  }

  #wakeWaiter(): void {
    if (this.#drainWaiter === null) return;
    const wake = this.#drainWaiter;
    this.#drainWaiter = null;
    wake();
  }
}
