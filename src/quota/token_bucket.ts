/**
 * Token buckets kept in shared memory, with Venice's semantics
 * (`com.linkedin.venice.throttle.TokenBucket`): a bucket starts full; a consume that
 * finds too few tokens takes none; only then is the bucket refilled, lazily, by
 * `refillAmount` for every whole enforcement interval that has passed, capped at its
 * capacity, and the next refill is due one interval after that refill (not aligned to
 * a grid). No timer runs anywhere.
 *
 * The state of every bucket lives in one `Int32Array` over a `SharedArrayBuffer`, so
 * several isolates (workers) can enforce one server-wide quota: token counts change by
 * compare-and-swap, refills and reconfiguration take a per-bucket spin lock held for a
 * few instructions. Times are milliseconds on the clock `nowMs()` gives, which must be
 * the same timeline in every isolate: `performance.timeOrigin + performance.now()` is.
 */

/** Int32 slots per bucket. */
const SLOTS = 8;
const TOKENS = 0;
const CAPACITY = 1;
const REFILL = 2;
const LOCK = 3;
/** The due time of the next refill, split into two int32 halves (ms fit 53 bits). */
const NEXT_HI = 4;
const NEXT_LO = 5;
/** 1 when the bucket limits anything; 0 leaves it open (no quota configured). */
const ENFORCED = 6;
/** Enforcement interval in ms: per bucket so a refill needs nothing outside the slab. */
const INTERVAL = 7;

const TWO_32 = 4294967296;
const MAX_INT32 = 2147483647;

/** The timeline every isolate agrees on, in milliseconds. */
export function sharedClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Capacity and refill of one bucket, as Venice derives them from a rate. */
export interface BucketShape {
  /** Tokens added per interval. */
  readonly refillAmount: number;
  /** Most tokens the bucket holds: refillAmount x multiplier. */
  readonly capacity: number;
  readonly intervalMs: number;
}

/**
 * Venice's `TokenBucket.tokenBucketFromRcuPerSecond` with a node responsibility of 1:
 * refill = ceil(rcuPerSecond / 1000 x intervalMs), capacity = refill x multiplier.
 */
export function bucketShapeFromRate(
  rcuPerSecond: number,
  intervalMs: number,
  multiplier: number,
): BucketShape {
  if (!Number.isFinite(rcuPerSecond) || rcuPerSecond < 0) {
    throw new RangeError(`Read quota must be a non-negative number, got ${rcuPerSecond}`);
  }
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) {
    throw new RangeError(
      `Quota enforcement interval must be a positive integer, got ${intervalMs}`,
    );
  }
  if (!Number.isInteger(multiplier) || multiplier <= 0) {
    throw new RangeError(`Quota bucket multiplier must be a positive integer, got ${multiplier}`);
  }
  const refillAmount = Math.ceil((rcuPerSecond / 1000) * intervalMs);
  const capacity = refillAmount * multiplier;
  if (capacity > MAX_INT32) {
    throw new RangeError(
      `Read quota of ${rcuPerSecond} RCU/s makes a bucket of ${capacity} tokens, more than ${MAX_INT32}`,
    );
  }
  return { refillAmount, capacity, intervalMs };
}

/** A fixed number of buckets in one shared slab. Bucket ids are small integers. */
export class TokenBucketSlab {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  readonly #s: Int32Array;
  readonly #now: () => number;

  /**
   * A new slab of `size` open buckets, or a view of an existing one (`buffer` from
   * another isolate's slab). `nowMs` defaults to `sharedClockMs`; tests pass a fake.
   */
  constructor(size: number, options: { buffer?: SharedArrayBuffer; nowMs?: () => number } = {}) {
    this.buffer = options.buffer ?? new SharedArrayBuffer(size * SLOTS * 4);
    if (this.buffer.byteLength !== size * SLOTS * 4) {
      throw new RangeError(
        `Shared quota buffer holds ${
          this.buffer.byteLength / (SLOTS * 4)
        } buckets, expected ${size}`,
      );
    }
    this.size = size;
    this.#s = new Int32Array(this.buffer);
    this.#now = options.nowMs ?? sharedClockMs;
  }

  /** Makes bucket `id` open: every consume succeeds. */
  open(id: number): void {
    const base = id * SLOTS;
    this.#lock(base);
    Atomics.store(this.#s, base + ENFORCED, 0);
    this.#unlock(base);
  }

  /**
   * Gives bucket `id` a shape and fills it, as Venice does when it builds a new bucket
   * for a changed quota. A bucket whose shape is unchanged is left as it is (returns
   * false), so unrelated reconfiguration never resets anyone's tokens.
   */
  configure(id: number, shape: BucketShape): boolean {
    const s = this.#s;
    const base = id * SLOTS;
    this.#lock(base);
    try {
      if (
        Atomics.load(s, base + ENFORCED) === 1 &&
        Atomics.load(s, base + CAPACITY) === shape.capacity &&
        Atomics.load(s, base + REFILL) === shape.refillAmount &&
        Atomics.load(s, base + INTERVAL) === shape.intervalMs
      ) {
        return false;
      }
      const next = Math.floor(this.#now()) + shape.intervalMs;
      Atomics.store(s, base + CAPACITY, shape.capacity);
      Atomics.store(s, base + REFILL, shape.refillAmount);
      Atomics.store(s, base + INTERVAL, shape.intervalMs);
      Atomics.store(s, base + NEXT_HI, Math.floor(next / TWO_32));
      Atomics.store(s, base + NEXT_LO, next % TWO_32 | 0);
      Atomics.store(s, base + TOKENS, shape.capacity);
      Atomics.store(s, base + ENFORCED, 1);
      return true;
    } finally {
      this.#unlock(base);
    }
  }

  isEnforced(id: number): boolean {
    return Atomics.load(this.#s, id * SLOTS + ENFORCED) === 1;
  }

  /** Tokens left as of the last consume or refill (Venice's getStaleTokenCount). */
  staleTokens(id: number): number {
    return Atomics.load(this.#s, id * SLOTS + TOKENS);
  }

  capacity(id: number): number {
    return Atomics.load(this.#s, id * SLOTS + CAPACITY);
  }

  refillAmount(id: number): number {
    return Atomics.load(this.#s, id * SLOTS + REFILL);
  }

  /**
   * Takes `tokens` from bucket `id` if it holds that many; an open bucket always
   * grants. Venice's `tryConsume`: try, and only when short refill and try once more.
   */
  tryConsume(id: number, tokens: number): boolean {
    const base = id * SLOTS;
    if (Atomics.load(this.#s, base + ENFORCED) === 0) return true;
    if (this.#take(base, tokens)) return true;
    this.#refill(base);
    return this.#take(base, tokens);
  }

  #take(base: number, tokens: number): boolean {
    const s = this.#s;
    for (;;) {
      const available = Atomics.load(s, base + TOKENS);
      if (available < tokens) return false;
      if (Atomics.compareExchange(s, base + TOKENS, available, available - tokens) === available) {
        return true;
      }
    }
  }

  #refill(base: number): void {
    const s = this.#s;
    const now = Math.floor(this.#now());
    this.#lock(base);
    const next = Atomics.load(s, base + NEXT_HI) * TWO_32 + (Atomics.load(s, base + NEXT_LO) >>> 0);
    if (now > next) {
      const interval = Atomics.load(s, base + INTERVAL);
      const refills = Math.floor((now - next) / interval) + 1;
      const add = refills * Atomics.load(s, base + REFILL);
      const capacity = Atomics.load(s, base + CAPACITY);
      for (;;) {
        const current = Atomics.load(s, base + TOKENS);
        const filled = current + add > capacity ? capacity : current + add;
        if (Atomics.compareExchange(s, base + TOKENS, current, filled) === current) break;
      }
      const due = now + interval;
      Atomics.store(s, base + NEXT_HI, Math.floor(due / TWO_32));
      Atomics.store(s, base + NEXT_LO, due % TWO_32 | 0);
    }
    this.#unlock(base);
  }

  #lock(base: number): void {
    // Held only for a handful of loads and stores, so spinning beats parking.
    while (Atomics.compareExchange(this.#s, base + LOCK, 0, 1) !== 0) { /* spin */ }
  }

  #unlock(base: number): void {
    Atomics.store(this.#s, base + LOCK, 0);
  }
}

/**
 * One standalone bucket (capacity = refill x multiplier, lazy refill), for callers that
 * want a single limiter rather than a slab.
 */
export class TokenBucket {
  readonly #slab: TokenBucketSlab;

  constructor(shape: BucketShape, nowMs?: () => number) {
    this.#slab = new TokenBucketSlab(1, { nowMs });
    this.#slab.configure(0, shape);
  }

  tryConsume(tokens: number): boolean {
    return this.#slab.tryConsume(0, tokens);
  }

  get staleTokenCount(): number {
    return this.#slab.staleTokens(0);
  }

  get capacity(): number {
    return this.#slab.capacity(0);
  }

  get refillAmount(): number {
    return this.#slab.refillAmount(0);
  }
}
