/**
 * How each recently closed stream closed, which decides what a later frame on it means
 * (RFC 9113 §5.1, "closed"):
 * - ENDED: both sides sent END_STREAM. The peer knows the stream is over, so DATA or
 *   HEADERS on it is a connection error of type STREAM_CLOSED.
 * - RESET: a RST_STREAM was sent or received, or the stream was refused or ignored.
 *   Frames the peer sent before it saw that may still arrive and are ignored.
 *
 * A stream id at or below the highest one seen that is in neither list was never opened
 * (it was skipped, or closed too long ago to be remembered); HEADERS on it is a
 * connection error of type PROTOCOL_ERROR (§5.1.1). Only the latest `capacity` are kept,
 * so memory stays bounded whatever the peer does.
 */

export const ENDED = 1;
export const RESET = 2;
export type ClosedHow = typeof ENDED | typeof RESET;

/**
 * A ring of the latest endings: recording one writes two array slots (a stream closes on
 * every call, so nothing is allocated); looking one up scans the ring, which happens only
 * for frames on streams that are gone.
 */
export class ClosedStreams {
  readonly #ids: Int32Array;
  readonly #how: Uint8Array;
  #next = 0;

  constructor(capacity: number) {
    this.#ids = new Int32Array(capacity);
    this.#how = new Uint8Array(capacity);
  }

  record(id: number, how: ClosedHow): void {
    this.#ids[this.#next] = id;
    this.#how[this.#next] = how;
    this.#next = (this.#next + 1) % this.#ids.length;
  }

  /** How stream `id` closed, or undefined when it is not remembered. */
  how(id: number): ClosedHow | undefined {
    // Stream ids are odd, so the zeros of unused slots never match.
    const at = this.#ids.lastIndexOf(id);
    return at < 0 ? undefined : this.#how[at] as ClosedHow;
  }
}
