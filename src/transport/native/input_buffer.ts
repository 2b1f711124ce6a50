/**
 * The read side of a connection: one reusable buffer that socket reads fill and frames
 * are parsed from, in place. When a handler keeps a view of it (a request message that
 * arrived whole in one DATA frame), the buffer is lent: the next read goes to a fresh
 * one and the lent bytes stay as they are.
 */
import { DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_BYTES } from "./frames.ts";
import { READ_BUFFER_BYTES } from "./limits.ts";

export class InputBuffer {
  bytes = new Uint8Array(READ_BUFFER_BYTES);
  /** The first byte not yet parsed. */
  start = 0;
  /** One past the last byte read. */
  end = 0;
  /** A view of `bytes` outlives the frame it came in. */
  lent = false;

  /** Makes room for the next read and returns where it may write. */
  space(): Uint8Array {
    const remaining = this.end - this.start;
    if (this.lent) {
      const fresh = new Uint8Array(READ_BUFFER_BYTES);
      fresh.set(this.bytes.subarray(this.start, this.end));
      this.bytes = fresh;
      this.lent = false;
      this.start = 0;
      this.end = remaining;
    } else if (remaining === 0) {
      this.start = 0;
      this.end = 0;
    } else if (this.bytes.length - this.end < DEFAULT_MAX_FRAME_SIZE + FRAME_HEADER_BYTES) {
      this.bytes.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.end = remaining;
    }
    return this.bytes.subarray(this.end);
  }
}
