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

export class ClosedStreams {
  readonly #capacity: number;
  /** Insertion-ordered: the first key is the oldest. */
  readonly #how = new Map<number, ClosedHow>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  record(id: number, how: ClosedHow): void {
    this.#how.set(id, how);
    if (this.#how.size > this.#capacity) {
      this.#how.delete(this.#how.keys().next().value!);
    }
  }

  /** How stream `id` closed, or undefined when it is not remembered. */
  how(id: number): ClosedHow | undefined {
    return this.#how.get(id);
  }
}
