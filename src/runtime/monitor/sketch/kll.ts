/**
 * A KLL quantile sketch (Karnin, Lang & Liberty, "Optimal Quantile Approximation in
 * Streams", FOCS 2016), with the level capacities of Apache DataSketches' implementation
 * (capacity k (2/3)^depth, at least 8) and lazy compaction of the lowest full level.
 *
 * Memory is O(k log(n/k)) doubles (a few thousand for the default k), whatever the number
 * of values; two sketches merge into one that summarises both inputs.
 *
 * **Error bound.** Every compaction at level h shifts the estimated rank of any point by
 * 0 or +-2^h with a fair random sign, and which levels compact when does not depend on the
 * data or the coin flips. The rank error at any point is therefore a martingale with
 * increments bounded by 2^h, and by the Azuma-Hoeffding inequality plus a union bound over
 * the at most n+1 distinct rank queries,
 *
 *   P( sup_x |rank_est(x) - rank(x)| >= t ) <= 2 (n+1) exp(-t^2 / (2 V)),  V = sum 4^h,
 *
 * summed over every compaction the sketch (and any sketch merged into it) performed. The
 * sketch tracks V exactly, so {@link KllSketch.rankErrorBound} gives a bound that holds with
 * probability at least 1 - delta for this very sketch. While no compaction has happened
 * (n below about 3k) the sketch holds every value and the bound is 0.
 */

/** Default accuracy parameter. */
export const KLL_DEFAULT_K = 1000;
const MIN_WIDTH = 8;
/**
 * Level 0 holds at least this many values before it is sorted and compacted: batching makes
 * updates cheap (one sort per batch instead of one per few values) and only lowers the error,
 * since fewer compactions happen at the bottom levels.
 */
const LEVEL0_MIN = 256;

function capacity(k: number, numLevels: number, h: number): number {
  const depth = numLevels - 1 - h;
  return Math.max(h === 0 ? LEVEL0_MIN : MIN_WIDTH, Math.round(k * (2 / 3) ** depth));
}

/** A weighted, sorted view of a sketch: values ascending, each with its weight. */
export interface SortedView {
  readonly values: Float64Array;
  readonly weights: Float64Array;
  /** Total weight (= number of values summarised). */
  readonly total: number;
}

/** The serialised form of a sketch. */
export interface KllSketchJson {
  readonly k: number;
  readonly n: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly variance: number;
  readonly rng: number;
  readonly levels: readonly (readonly number[])[];
}

/** KLL quantile sketch over finite doubles. */
export class KllSketch {
  /** Restores a sketch written by {@link toJSON}. */
  static fromJSON(json: KllSketchJson): KllSketch {
    const s = new KllSketch(json.k, json.rng);
    s.levels = [];
    s.sizes = [];
    for (const l of json.levels) {
      const buf = new Float64Array(Math.max(l.length, MIN_WIDTH * 2));
      buf.set(l);
      s.levels.push(buf);
      s.sizes.push(l.length);
    }
    if (!s.levels.length) {
      s.levels.push(new Float64Array(MIN_WIDTH * 2));
      s.sizes.push(0);
    }
    s.recomputeCapacities();
    s.retained = s.sizes.reduce((a, b) => a + b, 0);
    s.count = json.n;
    s.lo = json.min ?? Infinity;
    s.hi = json.max ?? -Infinity;
    s.v = json.variance;
    s.rng = json.rng >>> 0 || 0x9e3779b9;
    let weight = 0;
    s.sizes.forEach((sz, h) => { weight += sz * 2 ** h; });
    if (weight !== s.count) throw new RangeError(`KLL sketch: retained weight ${weight} does not match n = ${s.count}`);
    return s;
  }

  /** Accuracy parameter. */
  public readonly k: number;
  private levels: Float64Array[] = [];
  private sizes: number[] = [];
  private caps: number[] = [];
  private totalCap = 0;
  private retained = 0;
  private count = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private v = 0;
  private rng: number;
  private scratch: Float64Array = new Float64Array(MIN_WIDTH * 4);

  /**
   * @param k accuracy parameter (>= 8); the rank error falls roughly as 1/k.
   * @param seed seed of the coin flips (any 32-bit integer; 0 is replaced), so that runs repeat.
   */
  constructor(k: number = KLL_DEFAULT_K, seed = 0x9e3779b9) {
    if (!Number.isInteger(k) || k < MIN_WIDTH || k > 65535) {
      throw new RangeError(`KLL sketch: 'k' (${k}) must be an integer in [${MIN_WIDTH}, 65535]`);
    }
    this.k = k;
    this.rng = seed >>> 0 || 0x9e3779b9;
    this.addLevel();
  }

  /** Number of values summarised. */
  get n(): number {
    return this.count;
  }

  /** Smallest value seen (NaN when empty). */
  get min(): number {
    return this.count ? this.lo : Number.NaN;
  }

  /** Largest value seen (NaN when empty). */
  get max(): number {
    return this.count ? this.hi : Number.NaN;
  }

  /** Number of values retained. */
  get retainedItems(): number {
    return this.retained;
  }

  /** True while the sketch still holds every value with weight 1. */
  get isExact(): boolean {
    return this.v === 0;
  }

  /** Sum over all compactions of 4^level (the variance proxy of the rank error). */
  get varianceProxy(): number {
    return this.v;
  }

  private addLevel(): void {
    this.levels.push(new Float64Array(MIN_WIDTH * 2));
    this.sizes.push(0);
    this.recomputeCapacities();
  }

  private recomputeCapacities(): void {
    const H = this.levels.length;
    this.caps = [];
    this.totalCap = 0;
    for (let h = 0; h < H; h++) {
      const c = capacity(this.k, H, h);
      this.caps.push(c);
      this.totalCap += c;
    }
  }

  private ensure(h: number, size: number): void {
    if (this.levels[h].length < size) {
      const grown = new Float64Array(Math.max(size, this.levels[h].length * 2));
      grown.set(this.levels[h].subarray(0, this.sizes[h]));
      this.levels[h] = grown;
    }
  }

  private nextBit(): number {
    // xorshift32
    let x = this.rng;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.rng = x;
    return x & 1;
  }

  /** Adds one finite value (the caller filters NaN and infinities). */
  update(x: number): void {
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
    this.count++;
    const s = this.sizes[0];
    if (s >= this.levels[0].length) this.ensure(0, s + 1);
    this.levels[0][s] = x;
    this.sizes[0] = s + 1;
    this.retained++;
    if (this.retained >= this.totalCap) this.compressOnce();
  }

  /** Adds values[start, end) (all finite). */
  updateMany(values: ArrayLike<number>, start = 0, end: number = values.length): void {
    let i = start;
    while (i < end) {
      const room = Math.max(1, this.totalCap - this.retained);
      const take = Math.min(room, end - i);
      const s = this.sizes[0];
      this.ensure(0, s + take);
      const lvl = this.levels[0];
      let lo = this.lo;
      let hi = this.hi;
      for (let j = 0; j < take; j++) {
        const x = values[i + j];
        if (x < lo) lo = x;
        if (x > hi) hi = x;
        lvl[s + j] = x;
      }
      this.lo = lo;
      this.hi = hi;
      this.sizes[0] = s + take;
      this.retained += take;
      this.count += take;
      i += take;
      while (this.retained >= this.totalCap) this.compressOnce();
    }
  }

  /** Compacts the lowest level that has reached its capacity (or the lowest non-trivial one). */
  private compressOnce(): void {
    let h = 0;
    const H = this.levels.length;
    while (h < H && this.sizes[h] < this.caps[h]) h++;
    if (h === H) {
      h = 0;
      while (h < H - 1 && this.sizes[h] < 2) h++;
    }
    this.compactLevel(h);
  }

  private compactLevel(h: number): void {
    if (h + 1 >= this.levels.length) this.addLevel();
    const size = this.sizes[h];
    const buf = this.levels[h];
    if (h === 0) buf.subarray(0, size).sort();
    const start = size & 1; // odd one out stays at level h
    const pairs = (size - start) >> 1;
    if (pairs === 0) return;
    const offset = this.nextBit();
    // promoted items (sorted) merged into the sorted level h+1
    const up = this.levels[h + 1];
    const upSize = this.sizes[h + 1];
    let merged = this.scratch;
    if (merged.length < upSize + pairs) merged = new Float64Array(Math.max(upSize + pairs, 2 * merged.length));
    let a = 0;
    let b = 0;
    let o = 0;
    while (a < pairs && b < upSize) {
      const x = buf[start + offset + 2 * a];
      const y = up[b];
      if (x <= y) {
        merged[o++] = x;
        a++;
      } else {
        merged[o++] = y;
        b++;
      }
    }
    while (a < pairs) merged[o++] = buf[start + offset + 2 * a++];
    while (b < upSize) merged[o++] = up[b++];
    this.levels[h + 1] = merged;
    this.scratch = up;
    this.sizes[h + 1] = upSize + pairs;
    this.sizes[h] = start;
    this.retained -= pairs;
    this.v += 4 ** h;
  }

  /** Folds `other` into this sketch (other is left unchanged). */
  merge(other: KllSketch): this {
    if (other.count === 0) return this;
    while (this.levels.length < other.levels.length) this.addLevel();
    for (let h = 0; h < other.levels.length; h++) {
      const os = other.sizes[h];
      if (os === 0) continue;
      const ob = other.levels[h];
      const s = this.sizes[h];
      if (h === 0) {
        this.ensure(0, s + os);
        this.levels[0].set(ob.subarray(0, os), s);
      } else {
        const mine = this.levels[h];
        const merged = new Float64Array(Math.max(s + os, MIN_WIDTH * 2));
        let a = 0;
        let b = 0;
        let o = 0;
        while (a < s && b < os) merged[o++] = mine[a] <= ob[b] ? mine[a++] : ob[b++];
        while (a < s) merged[o++] = mine[a++];
        while (b < os) merged[o++] = ob[b++];
        this.levels[h] = merged;
      }
      this.sizes[h] = s + os;
      this.retained += os;
    }
    this.count += other.count;
    if (other.lo < this.lo) this.lo = other.lo;
    if (other.hi > this.hi) this.hi = other.hi;
    this.v += other.v;
    while (this.retained >= this.totalCap) this.compressOnce();
    return this;
  }

  /** A copy (same state, same coin-flip stream). */
  clone(): KllSketch {
    return KllSketch.fromJSON(this.toJSON());
  }

  /** Retained values, sorted, with their weights. */
  sortedView(): SortedView {
    const parts: { v: Float64Array; w: number }[] = [];
    let total = 0;
    for (let h = 0; h < this.levels.length; h++) {
      const s = this.sizes[h];
      if (!s) continue;
      const vals = Float64Array.from(this.levels[h].subarray(0, s));
      if (h === 0) vals.sort();
      parts.push({ v: vals, w: 2 ** h });
      total += s;
    }
    const idx = new Uint32Array(total);
    const values = new Float64Array(total);
    const weights = new Float64Array(total);
    let o = 0;
    for (const p of parts) {
      for (let i = 0; i < p.v.length; i++) {
        values[o] = p.v[i];
        weights[o] = p.w;
        idx[o] = o;
        o++;
      }
    }
    idx.sort((x, y) => values[x] - values[y]);
    const sv = new Float64Array(total);
    const sw = new Float64Array(total);
    for (let i = 0; i < total; i++) {
      sv[i] = values[idx[i]];
      sw[i] = weights[idx[i]];
    }
    return { values: sv, weights: sw, total: this.count };
  }

  /** Estimated fraction of values <= x. */
  cdf(x: number): number {
    if (!this.count) return Number.NaN;
    let r = 0;
    for (let h = 0; h < this.levels.length; h++) {
      const buf = this.levels[h];
      const w = 2 ** h;
      for (let i = 0; i < this.sizes[h]; i++) if (buf[i] <= x) r += w;
    }
    return r / this.count;
  }

  /** Estimated q-quantile (the smallest retained value whose estimated CDF reaches q). */
  quantile(q: number): number {
    if (!this.count) return Number.NaN;
    if (q <= 0) return this.lo;
    if (q >= 1) return this.hi;
    const view = this.sortedView();
    const target = q * view.total;
    let cum = 0;
    for (let i = 0; i < view.values.length; i++) {
      cum += view.weights[i];
      if (cum >= target) return view.values[i];
    }
    return this.hi;
  }

  /**
   * A bound on the normalised rank error sup_x |F_est(x) - F(x)| that holds with probability
   * at least 1 - delta: sqrt(2 V ln(2 (n + 1) / delta)) / n (0 while the sketch is exact).
   */
  rankErrorBound(delta = 0.01): number {
    if (this.v === 0 || this.count === 0) return 0;
    return Math.min(1, Math.sqrt(2 * this.v * Math.log((2 * (this.count + 1)) / delta)) / this.count);
  }

  /** Serialisable state. */
  toJSON(): KllSketchJson {
    return {
      k: this.k,
      n: this.count,
      min: this.count ? this.lo : null,
      max: this.count ? this.hi : null,
      variance: this.v,
      rng: this.rng,
      levels: this.levels.map((l, h) => Array.from(l.subarray(0, this.sizes[h]))),
    };
  }

}
