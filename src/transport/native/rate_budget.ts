/** Events rationed per fixed time window: the abuse bounds of one connection. */
export class RateBudget {
  readonly #max: number;
  readonly #windowMs: number;
  #windowStart = 0;
  #count = 0;

  constructor(max: number, windowMs: number) {
    this.#max = max;
    this.#windowMs = windowMs;
  }

  /** Counts one event at `now` (ms); false once the window holds more than `max`. */
  spend(now: number): boolean {
    if (now - this.#windowStart > this.#windowMs) {
      this.#windowStart = now;
      this.#count = 0;
    }
    return ++this.#count <= this.#max;
  }
}
