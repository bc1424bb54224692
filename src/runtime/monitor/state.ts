import { KllSketch, KllSketchJson, KLL_DEFAULT_K } from './sketch/kll';

/**
 * Streaming, mergeable per-column state: one pass over live values with memory bounded per
 * column (in `sketch` mode), and `merge(a, b)` of partial states from shards giving the
 * same state as one pass over the union.
 *
 * What a numeric column keeps:
 * - counters: rows, missing, type errors, non-finite, out of range (below the reference
 *   minimum or above its maximum);
 * - count, mean and M2 (Welford, merged with Chan's formula), min and max;
 * - counts on the REFERENCE's histogram bin edges (values outside go to the first/last bin);
 * - the values themselves (`exact`) or a KLL quantile sketch (`sketch`);
 * - counts of the first {@link DISTINCT_TRACK_CAP} distinct values (for the low-cardinality
 *   tests), dropped once there are more.
 *
 * What a categorical column keeps: the same counters, unknown categories (absent from the
 * reference's frequencies), and counts per category, at most `categoryCap` distinct ones
 * (later new categories are counted together as {@link OTHER_CATEGORY}).
 */

/** `exact` keeps every value; `sketch` keeps a KLL sketch; `auto` is exact up to `exactMaxValues` values per column, then a sketch. */
export type StateMode = 'exact' | 'sketch' | 'auto';

/** How many distinct numeric values are counted exactly before the tracker gives up. */
export const DISTINCT_TRACK_CAP = 32;
/** The category under which categories past the cap are counted. */
export const OTHER_CATEGORY = '__other__';

/** Options of the streaming state. */
export interface StateOptions {
  /** @default 'auto' */
  readonly mode?: StateMode;
  /** In `auto` mode, the number of values per column kept exactly before switching to a sketch. @default 100000 */
  readonly exactMaxValues?: number;
  /** KLL accuracy parameter. @default 1000 */
  readonly sketchK?: number;
  /** Distinct categories counted per categorical column. @default 10000 */
  readonly categoryCap?: number;
}

/** The reference facts a column state needs to classify values (derived once per run). */
export interface ColumnPlan {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  /** Reference histogram edges (numeric), when the reference has a histogram. */
  readonly binEdges?: Float64Array;
  readonly referenceMin?: number;
  readonly referenceMax?: number;
  /** Categories the reference saw (categorical), when its frequencies are complete. */
  readonly knownCategories?: ReadonlySet<string>;
}

/** Index of the reference bin of v: edges[i] <= v < edges[i+1], the last bin closed; clamped. */
export function binIndex(edges: Float64Array, v: number): number {
  const last = edges.length - 2;
  if (v < edges[1]) return 0;
  if (v >= edges[last]) return last;
  let lo = 1;
  let hi = last; // edges[lo] <= v < edges[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (v < edges[mid]) hi = mid;
    else lo = mid;
  }
  return lo;
}

/** Canonical string of a category value. */
export function categoryKey(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Serialised column state (what shards write and a reducer merges). */
export interface ColumnStateJson {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  readonly rows: number;
  readonly missing: number;
  readonly typeErrors: number;
  readonly nonFinite: number;
  readonly outOfRange: number;
  readonly unknownCategories: number;
  readonly count: number;
  readonly mean: number;
  readonly m2: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly histogram?: readonly number[];
  readonly values?: readonly number[];
  readonly sketch?: KllSketchJson;
  readonly distinct?: readonly (readonly [number, number])[] | null;
  readonly categories?: readonly (readonly [string, number])[];
  readonly categoryOverflow?: number;
}

/** Streaming state of one column. */
export class ColumnState {
  /** Restores a state written by {@link toJSON} for the same plan. */
  static fromJSON(plan: ColumnPlan, json: ColumnStateJson, options: StateOptions = {}): ColumnState {
    if (json.name !== plan.name || json.kind !== plan.kind) {
      throw new RangeError(`state of column '${json.name}' (${json.kind}) does not match the reference column '${plan.name}' (${plan.kind})`);
    }
    const s = new ColumnState(plan, options);
    s.rows = json.rows;
    s.missing = json.missing;
    s.typeErrors = json.typeErrors;
    s.nonFinite = json.nonFinite;
    s.outOfRange = json.outOfRange;
    s.unknownCategories = json.unknownCategories;
    s.count = json.count;
    s.mean = json.mean;
    s.m2 = json.m2;
    s.min = json.min ?? Infinity;
    s.max = json.max ?? -Infinity;
    if (s.histogram) {
      if (!json.histogram || json.histogram.length !== s.histogram.length) {
        throw new RangeError(`state of column '${plan.name}': expected ${s.histogram.length} histogram counts, got ${json.histogram?.length ?? 'none'}`);
      }
      s.histogram.set(json.histogram);
    }
    if (plan.kind === 'numeric') {
      if (json.sketch) {
        s.sketchState = KllSketch.fromJSON(json.sketch);
        s.values = undefined;
        s.nValues = 0;
      } else {
        s.sketchState = undefined;
        s.values = Float64Array.from(json.values ?? []);
        s.nValues = s.values.length;
        if (s.values.length === 0) s.values = new Float64Array(64);
      }
      s.distinct = json.distinct ? new Map(json.distinct.map(([v, c]) => [v, c])) : null;
    } else {
      s.categories = new Map((json.categories ?? []).map(([k, c]) => [k, c]));
      s.categoryOverflow = json.categoryOverflow ?? 0;
    }
    return s;
  }

  public rows = 0;
  public missing = 0;
  public typeErrors = 0;
  public nonFinite = 0;
  public outOfRange = 0;
  public unknownCategories = 0;
  /** Valid (finite numeric, or category) values. */
  public count = 0;
  public mean = 0;
  public m2 = 0;
  public min = Infinity;
  public max = -Infinity;
  /** Counts on the reference's bins (numeric with a reference histogram). */
  public histogram?: Float64Array;
  private values?: Float64Array;
  private nValues = 0;
  private sketchState?: KllSketch;
  /** Counts of the first distinct numeric values; null once more than DISTINCT_TRACK_CAP. */
  public distinct: Map<number, number> | null = new Map();
  /** Counts per category (categorical). */
  public categories?: Map<string, number>;
  public categoryOverflow = 0;
  /** Reused buffer of the finite values of a column chunk (no allocation per chunk). */
  private scratch?: Float64Array;

  private readonly mode: StateMode;
  private readonly exactMax: number;
  private readonly k: number;
  private readonly catCap: number;
  private readonly lo: number;
  private readonly hi: number;

  constructor(public readonly plan: ColumnPlan, options: StateOptions = {}) {
    this.mode = options.mode ?? 'auto';
    this.exactMax = options.exactMaxValues ?? 100_000;
    this.k = options.sketchK ?? KLL_DEFAULT_K;
    this.catCap = options.categoryCap ?? 10_000;
    this.lo = plan.referenceMin ?? -Infinity;
    this.hi = plan.referenceMax ?? Infinity;
    if (plan.kind === 'numeric') {
      if (plan.binEdges) this.histogram = new Float64Array(plan.binEdges.length - 1);
      if (this.mode === 'sketch') this.sketchState = this.newSketch();
      else this.values = new Float64Array(64);
    } else {
      this.categories = new Map();
      this.distinct = null;
    }
  }

  /** The name of the column. */
  get name(): string {
    return this.plan.name;
  }

  /** Whether numeric values are held exactly (no sketch). */
  get isExact(): boolean {
    return this.sketchState === undefined;
  }

  private newSketch(): KllSketch {
    return new KllSketch(this.k, fnv1a(this.plan.name));
  }

  /** Adds one logged value (any JSON value, or undefined when the field is absent). */
  add(value: unknown): void {
    this.rows++;
    if (value === null || value === undefined) {
      this.missing++;
      return;
    }
    if (this.plan.kind === 'numeric') {
      let v: number;
      if (typeof value === 'number') {v = value;} else if (typeof value === 'boolean') {v = value ? 1 : 0;} else {
        this.typeErrors++;
        return;
      }
      if (Number.isNaN(v)) {
        this.missing++;
        return;
      }
      if (!Number.isFinite(v)) {
        this.nonFinite++;
        return;
      }
      this.addNumber(v);
      return;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      this.typeErrors++;
      return;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      if (Number.isNaN(value)) this.missing++;
      else this.nonFinite++;
      return;
    }
    this.addCategory(categoryKey(value));
  }

  private addCategory(key: string): void {
    this.count++;
    if (this.plan.knownCategories && !this.plan.knownCategories.has(key)) this.unknownCategories++;
    const cats = this.categories!;
    const c = cats.get(key);
    if (c !== undefined) cats.set(key, c + 1);
    else if (cats.size < this.catCap) cats.set(key, 1);
    else this.categoryOverflow++;
  }

  /** Adds one finite number (numeric columns). */
  private addNumber(v: number): void {
    this.count++;
    const d = v - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (v - this.mean);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v < this.lo || v > this.hi) this.outOfRange++;
    if (this.histogram) this.histogram[binIndex(this.plan.binEdges!, v)]++;
    if (this.distinct) {
      const c = this.distinct.get(v);
      if (c !== undefined) this.distinct.set(v, c + 1);
      else if (this.distinct.size < DISTINCT_TRACK_CAP) this.distinct.set(v, 1);
      else this.distinct = null;
    }
    if (this.sketchState) {
      this.sketchState.update(v);
    } else {
      if (this.nValues === this.values!.length) {
        const grown = new Float64Array(this.values!.length * 2);
        grown.set(this.values!);
        this.values = grown;
      }
      this.values![this.nValues++] = v;
      if (this.mode === 'auto' && this.nValues > this.exactMax) this.toSketch();
    }
  }

  /**
   * Adds a column of numbers in one call (the fast path for columnar input): NaN counts as
   * missing, +-Infinity as non-finite, like {@link add}.
   */
  addNumbers(values: ArrayLike<number>): void {
    if (this.plan.kind !== 'numeric') {
      for (let i = 0; i < values.length; i++) this.add(values[i]);
      return;
    }
    const n = values.length;
    const edges = this.plan.binEdges;
    const hist = this.histogram;
    const lo = this.lo;
    const hi = this.hi;
    let min = this.min;
    let max = this.max;
    let out = 0;
    let missing = 0;
    let nonFinite = 0;
    if (!this.scratch || this.scratch.length < n) this.scratch = new Float64Array(n);
    const finite = this.scratch;
    let nf = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v !== v) {
        missing++;
        continue;
      }
      if (v === Infinity || v === -Infinity) {
        nonFinite++;
        continue;
      }
      finite[nf++] = v;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v < lo || v > hi) out++;
      if (hist) hist[binIndex(edges!, v)]++;
    }
    // mean and M2 of the chunk in two passes (no division per value), merged with Chan's formula
    if (nf > 0) {
      const cm = sum / nf;
      let cm2 = 0;
      let corr = 0;
      for (let i = 0; i < nf; i++) {
        const d = finite[i] - cm;
        cm2 += d * d;
        corr += d;
      }
      cm2 -= (corr * corr) / nf;
      const total = this.count + nf;
      const delta = cm - this.mean;
      this.m2 = this.m2 + cm2 + (delta * delta * this.count * nf) / total;
      this.mean = this.count ? this.mean + (delta * nf) / total : cm;
      this.count = total;
    }
    this.rows += n;
    this.missing += missing;
    this.nonFinite += nonFinite;
    this.outOfRange += out;
    this.min = min;
    this.max = max;
    if (this.distinct) {
      const dist = this.distinct;
      for (let i = 0; i < nf; i++) {
        const v = finite[i];
        const c = dist.get(v);
        if (c !== undefined) {dist.set(v, c + 1);} else if (dist.size < DISTINCT_TRACK_CAP) {dist.set(v, 1);} else {
          this.distinct = null;
          break;
        }
      }
    }
    if (this.sketchState) {
      this.sketchState.updateMany(finite, 0, nf);
    } else {
      if (this.nValues + nf > this.values!.length) {
        const grown = new Float64Array(Math.max(this.values!.length * 2, this.nValues + nf));
        grown.set(this.values!.subarray(0, this.nValues));
        this.values = grown;
      }
      this.values!.set(finite.subarray(0, nf), this.nValues);
      this.nValues += nf;
      if (this.mode === 'auto' && this.nValues > this.exactMax) this.toSketch();
    }
  }

  private toSketch(): void {
    const s = this.newSketch();
    s.updateMany(this.values!, 0, this.nValues);
    this.sketchState = s;
    this.values = undefined;
    this.nValues = 0;
  }

  /** Population standard deviation of the valid values. */
  get std(): number {
    return this.count ? Math.sqrt(this.m2 / this.count) : Number.NaN;
  }

  /** The KLL sketch, when the column is sketched. */
  get sketch(): KllSketch | undefined {
    return this.sketchState;
  }

  /** The valid values, sorted ascending, with weights (1 each when exact; sketch weights otherwise). */
  sortedValues(): { values: Float64Array; weights?: Float64Array; rankErrorBound: number } {
    if (this.sketchState) {
      if (this.sketchState.isExact) {
        const view = this.sketchState.sortedView();
        return { values: view.values, rankErrorBound: 0 };
      }
      const view = this.sketchState.sortedView();
      return { values: view.values, weights: view.weights, rankErrorBound: this.sketchState.rankErrorBound() };
    }
    return { values: Float64Array.from(this.values!.subarray(0, this.nValues)).sort(), rankErrorBound: 0 };
  }

  /** Estimated (sketch) or exact q-quantile of the valid values. */
  quantile(q: number): number {
    if (!this.count) return Number.NaN;
    if (this.sketchState) return this.sketchState.quantile(q);
    const sorted = Float64Array.from(this.values!.subarray(0, this.nValues)).sort();
    // linear interpolation, as numpy.quantile's default
    const pos = q * (sorted.length - 1);
    const i = Math.floor(pos);
    const f = pos - i;
    return i + 1 < sorted.length ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i];
  }

  /** Folds `other` (a state of the same column and plan) into this one. */
  merge(other: ColumnState): this {
    if (other.plan.name !== this.plan.name || other.plan.kind !== this.plan.kind) {
      throw new RangeError(`cannot merge state of column '${other.plan.name}' (${other.plan.kind}) into '${this.plan.name}' (${this.plan.kind})`);
    }
    this.rows += other.rows;
    this.missing += other.missing;
    this.typeErrors += other.typeErrors;
    this.nonFinite += other.nonFinite;
    this.outOfRange += other.outOfRange;
    this.unknownCategories += other.unknownCategories;
    if (other.count) {
      const n = this.count + other.count;
      const delta = other.mean - this.mean;
      this.m2 = this.m2 + other.m2 + (delta * delta * this.count * other.count) / n;
      this.mean = this.count ? this.mean + (delta * other.count) / n : other.mean;
      this.count = n;
    }
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (this.histogram && other.histogram) {
      if (other.histogram.length !== this.histogram.length) throw new RangeError(`column '${this.name}': histograms of ${this.histogram.length} and ${other.histogram.length} bins`);
      for (let i = 0; i < this.histogram.length; i++) this.histogram[i] += other.histogram[i];
    }
    if (this.plan.kind === 'numeric') {
      if (this.distinct && other.distinct) {
        for (const [v, c] of other.distinct) {
          const mine = this.distinct.get(v);
          if (mine !== undefined) {this.distinct.set(v, mine + c);} else if (this.distinct.size < DISTINCT_TRACK_CAP) {this.distinct.set(v, c);} else {
            this.distinct = null;
            break;
          }
        }
      } else {
        this.distinct = null;
      }
      if (other.sketchState || this.sketchState) {
        if (!this.sketchState) this.toSketch();
        if (other.sketchState) this.sketchState!.merge(other.sketchState);
        else this.sketchState!.updateMany(other.values!, 0, other.nValues);
      } else {
        const need = this.nValues + other.nValues;
        if (need > this.values!.length) {
          const grown = new Float64Array(need);
          grown.set(this.values!.subarray(0, this.nValues));
          this.values = grown;
        }
        this.values!.set(other.values!.subarray(0, other.nValues), this.nValues);
        this.nValues = need;
        if (this.mode === 'auto' && this.nValues > this.exactMax) this.toSketch();
      }
    } else {
      const cats = this.categories!;
      for (const [k, c] of other.categories!) {
        const mine = cats.get(k);
        if (mine !== undefined) cats.set(k, mine + c);
        else if (cats.size < this.catCap) cats.set(k, c);
        else this.categoryOverflow += c;
      }
      this.categoryOverflow += other.categoryOverflow;
    }
    return this;
  }

  /** Serialisable state. */
  toJSON(): ColumnStateJson {
    return {
      name: this.plan.name,
      kind: this.plan.kind,
      rows: this.rows,
      missing: this.missing,
      typeErrors: this.typeErrors,
      nonFinite: this.nonFinite,
      outOfRange: this.outOfRange,
      unknownCategories: this.unknownCategories,
      count: this.count,
      mean: this.mean,
      m2: this.m2,
      min: this.count && this.plan.kind === 'numeric' ? this.min : null,
      max: this.count && this.plan.kind === 'numeric' ? this.max : null,
      ...(this.histogram ? { histogram: Array.from(this.histogram) } : {}),
      ...(this.plan.kind === 'numeric' && !this.sketchState ? { values: Array.from(this.values!.subarray(0, this.nValues)) } : {}),
      ...(this.sketchState ? { sketch: this.sketchState.toJSON() } : {}),
      ...(this.plan.kind === 'numeric' ? { distinct: this.distinct ? [...this.distinct.entries()] : null } : {}),
      ...(this.categories ? { categories: [...this.categories.entries()], categoryOverflow: this.categoryOverflow } : {}),
    };
  }

}

/** The state of a whole window: every feature, the prediction, and row counters. */
export interface WindowStateJson {
  readonly schema: 'cdk-mlops.monitor.state/v1';
  /** Prediction records read. */
  readonly records: number;
  /** Rows (one per element of `inputs`). */
  readonly rows: number;
  /** Records that could not be parsed or did not have the PredictionRecord shape. */
  readonly badRecords: number;
  /** Rows with at least one problem (missing, type error, non-finite, unknown category). */
  readonly badRows: number;
  /** Input fields that are not features of the model, by name (capped). */
  readonly unexpectedFields: Readonly<Record<string, number>>;
  readonly features: readonly ColumnStateJson[];
  readonly prediction: ColumnStateJson;
  readonly firstTs: string | null;
  readonly lastTs: string | null;
}
