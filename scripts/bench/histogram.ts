/**
 * A log-linear latency histogram in the spirit of HdrHistogram: values are integer
 * nanoseconds; each power of two is split into 128 equal sub-buckets, so a reported
 * percentile is at most 1/128 (0.8%) above the true value. Values up to 2^38 ns (275 s)
 * are recorded to that precision; larger ones are clamped to it and counted.
 *
 * No dependencies and no runtime APIs, so the load generator (run by Node) and the bench
 * (run by Deno) share it; histograms cross the process boundary as sparse JSON.
 */

/** log2 of the sub-buckets in the first (linear) range; half of them per later range. */
const SUB_BITS = 8;
const SUB_COUNT = 1 << SUB_BITS; // 256
const HALF = SUB_COUNT >> 1; // 128
const MAX_MAGNITUDE = 30; // the top range covers [2^37, 2^38) ns
const BUCKETS = (MAX_MAGNITUDE + 1) * HALF + HALF;
const MAX_VALUE_NS = 2 ** (MAX_MAGNITUDE + SUB_BITS) - 1;

/** The JSON shape of a histogram: `[index, count]` pairs for non-empty buckets. */
export interface HistogramJson {
  readonly buckets: [number, number][];
  readonly count: number;
  readonly minNs: number;
  readonly maxNs: number;
  readonly sumNs: number;
  readonly clamped: number;
}

function bucketOf(ns: number): number {
  if (ns < SUB_COUNT) return ns;
  const magnitude = 31 - Math.clz32(ns) - (SUB_BITS - 1); // >= 1
  return magnitude * HALF + (ns >>> magnitude);
}

function bucketOfLarge(ns: number): number {
  // Above 2^31 Math.clz32 and >>> no longer apply; fall back to floating point.
  const magnitude = Math.floor(Math.log2(ns)) - (SUB_BITS - 1);
  return magnitude * HALF + Math.floor(ns / 2 ** magnitude);
}

/** The highest value that lands in bucket `index` (what percentiles report). */
function upperEdge(index: number): number {
  if (index < SUB_COUNT) return index;
  const magnitude = Math.floor(index / HALF) - 1;
  const sub = index - magnitude * HALF;
  return (sub + 1) * 2 ** magnitude - 1;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  minNs = Infinity;
  maxNs = 0;
  sumNs = 0;
  /** Values above the recordable range, recorded as the maximum. */
  clamped = 0;

  /** Records one value in nanoseconds (rounded; negatives count as 0). */
  record(ns: number): void {
    let v = ns > 0 ? Math.round(ns) : 0;
    if (v > MAX_VALUE_NS) {
      v = MAX_VALUE_NS;
      this.clamped++;
    }
    this.counts[v < 0x80000000 ? bucketOf(v) : bucketOfLarge(v)]++;
    this.count++;
    this.sumNs += v;
    if (v < this.minNs) this.minNs = v;
    if (v > this.maxNs) this.maxNs = v;
  }

  /** Value at percentile `p` (0-100], in ns, as the bucket's upper edge (capped at max). */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(upperEdge(i), this.maxNs);
    }
    return this.maxNs;
  }

  meanNs(): number {
    return this.count ? this.sumNs / this.count : NaN;
  }

  add(other: Histogram): this {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sumNs += other.sumNs;
    this.clamped += other.clamped;
    if (other.count) {
      this.minNs = Math.min(this.minNs, other.minNs);
      this.maxNs = Math.max(this.maxNs, other.maxNs);
    }
    return this;
  }

  toJSON(): HistogramJson {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]) buckets.push([i, this.counts[i]]);
    return {
      buckets,
      count: this.count,
      minNs: this.count ? this.minNs : 0,
      maxNs: this.maxNs,
      sumNs: this.sumNs,
      clamped: this.clamped,
    };
  }

  static fromJSON(json: HistogramJson): Histogram {
    const h = new Histogram();
    for (const [i, c] of json.buckets) {
      if (!Number.isInteger(i) || i < 0 || i >= BUCKETS) {
        throw new RangeError(`Histogram bucket ${i} is out of range`);
      }
      h.counts[i] += c;
    }
    h.count = json.count;
    h.minNs = json.count ? json.minNs : Infinity;
    h.maxNs = json.maxNs;
    h.sumNs = json.sumNs;
    h.clamped = json.clamped;
    return h;
  }
}
