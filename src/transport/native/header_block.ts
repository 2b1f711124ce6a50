/**
 * A header block that arrives in a HEADERS frame and CONTINUATION frames: its fragments
 * are copied together, within the connection's bounds on bytes and frames.
 */

/** Why a fragment was not taken. */
export const BLOCK_TOO_LARGE = 1;
export const TOO_MANY_FRAMES = 2;

export class HeaderBlockAssembler {
  readonly #maxBytes: number;
  readonly #maxContinuations: number;
  /** The stream whose block is being assembled; 0 when none is. */
  streamId = 0;
  /** The flags of the HEADERS frame that began it. */
  flags = 0;
  buf: Uint8Array | null = null;
  length = 0;
  #continuations = 0;

  constructor(maxBytes: number, maxContinuations: number) {
    this.#maxBytes = maxBytes;
    this.#maxContinuations = maxContinuations;
  }

  /** Begins a block from a HEADERS frame without END_HEADERS; 0 or why not. */
  begin(streamId: number, flags: number, b: Uint8Array, from: number, to: number): number {
    this.streamId = streamId;
    this.flags = flags;
    this.length = 0;
    this.#continuations = 0;
    return this.#append(b, from, to);
  }

  /** Adds a CONTINUATION frame's fragment; 0 or why not. */
  continueWith(b: Uint8Array, from: number, to: number): number {
    if (++this.#continuations > this.#maxContinuations) return TOO_MANY_FRAMES;
    return this.#append(b, from, to);
  }

  #append(b: Uint8Array, from: number, to: number): number {
    const length = this.length + (to - from);
    if (length > this.#maxBytes) return BLOCK_TOO_LARGE;
    if (this.buf === null || this.buf.length < length) {
      const grown = new Uint8Array(Math.min(this.#maxBytes, Math.max(length, 4096) * 2));
      if (this.buf !== null) grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(b.subarray(from, to), this.length);
    this.length = length;
    return 0;
  }
}
