/**
 * The read side of a connection: the buffer socket reads fill and frames are parsed from,
 * in place. A quiet connection reads into a small buffer of its own; a read that fills it
 * (a busy peer) or a frame larger than it moves the connection to a large buffer from a
 * pool shared by the isolate's connections, given back once everything in it is parsed
 * and several reads in a row were small. So a thousand idle connections hold a thousand small
 * buffers, not a thousand large ones, and a burst of busy ones reuses the pool's.
 *
 * When a handler keeps a view of the buffer (a request message that arrived whole in one
 * DATA frame), the buffer is lent: the next read goes to another one, and the lent one is
 * never reused (it is left to the garbage collector).
 */
import { FRAME_HEADER_BYTES } from "./frames.ts";
import { READ_BUFFER_BYTES } from "./limits.ts";

/** The buffer a quiet connection reads into: a few requests' worth. */
export const SMALL_READ_BYTES = 4 * 1024;
/** A large buffer goes back after this many reads in a row that a small one would hold. */
const QUIET_READS_BEFORE_SMALL = 8;
/** Large buffers kept for reuse by the isolate's connections. */
const POOLED_LARGE_BUFFERS = 32;
const largePool: Uint8Array[] = [];

function takeLarge(): Uint8Array {
  return largePool.pop() ?? new Uint8Array(READ_BUFFER_BYTES);
}

function giveLarge(buffer: Uint8Array): void {
  if (largePool.length < POOLED_LARGE_BUFFERS) largePool.push(buffer);
}

export class InputBuffer {
  /** The connection's own small buffer; null once lent away (a new one is made). */
  #small: Uint8Array | null = new Uint8Array(SMALL_READ_BYTES);
  bytes: Uint8Array = this.#small!;
  /** The first byte not yet parsed. */
  start = 0;
  /** One past the last byte read. */
  end = 0;
  /** A view of `bytes` outlives the frame it came in. */
  lent = false;
  /** `bytes` came from the large pool. */
  #large = false;
  /** The last read filled all the space it was given: more is likely waiting. */
  #filled = false;
  /** Reads in a row of at most half a small buffer. */
  #quietReads = 0;
  #offered = 0;

  /** Makes room for the next read and returns where it may write. */
  space(): Uint8Array {
    const remaining = this.end - this.start;
    const wantLarge = this.#filled || this.#pendingFrameBytes() > SMALL_READ_BYTES ||
      (this.#large && this.#quietReads < QUIET_READS_BEFORE_SMALL);
    if (this.lent || (this.#large !== wantLarge && this.#canSwitch(remaining))) {
      this.#moveTo(wantLarge, remaining);
    } else if (remaining === 0) {
      this.start = 0;
      this.end = 0;
    } else if (this.bytes.length - this.end < this.#minimumSpace()) {
      this.bytes.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.end = remaining;
    }
    const space = this.bytes.subarray(this.end);
    this.#offered = space.length;
    return space;
  }

  /** `n` bytes were read into the space `space()` returned. */
  received(n: number): void {
    this.end += n;
    this.#filled = n === this.#offered;
    this.#quietReads = n <= SMALL_READ_BYTES / 2 ? this.#quietReads + 1 : 0;
  }

  /** The whole of the frame whose header starts the unparsed bytes, or 0 when unknown. */
  #pendingFrameBytes(): number {
    const b = this.bytes;
    const p = this.start;
    if (this.end - p < 3) return 0;
    return FRAME_HEADER_BYTES + ((b[p] << 16) | (b[p + 1] << 8) | b[p + 2]);
  }

  /** Room the next read needs at the end: the rest of a pending frame, or some. */
  #minimumSpace(): number {
    return Math.max(this.#pendingFrameBytes() - (this.end - this.start), 1024);
  }

  /** A small buffer holds what is left only when it is little; a large one always does. */
  #canSwitch(remaining: number): boolean {
    return !this.#large || remaining <= SMALL_READ_BYTES / 2;
  }

  #moveTo(large: boolean, remaining: number): void {
    large ||= remaining > SMALL_READ_BYTES;
    if (this.lent && this.bytes === this.#small) this.#small = null;
    const next = large ? takeLarge() : (this.#small ??= new Uint8Array(SMALL_READ_BYTES));
    if (next !== this.bytes) next.set(this.bytes.subarray(this.start, this.end));
    else next.copyWithin(0, this.start, this.end);
    if (this.#large && !this.lent) giveLarge(this.bytes);
    this.bytes = next;
    this.#large = large;
    this.lent = false;
    this.start = 0;
    this.end = remaining;
  }
}
