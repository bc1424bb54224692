import { ColumnPlan, ColumnState, OTHER_CATEGORY, categoryKey } from './state';
import {
  AUTO_LOW_CARDINALITY_MAX,
  AUTO_SMALL_REFERENCE_MAX,
  DEFAULT_DATASET_DRIFT_SHARE,
  DEFAULT_DRIFT_THRESHOLDS,
  DriftMethodName,
  P_VALUE_METHODS,
} from '../config/monitor';
import type { ColumnReference } from '../registry/types';
import {
  PsiBand,
  chiSquareTest,
  jensenShannonDistance,
  populationStabilityIndex,
  proportionZTest,
  psiBand,
  wassersteinDistance,
  wassersteinNorm,
} from './stats/drift-tests';
import { KsMethod, ksPValue, ksStatistic } from './stats/ks';

/**
 * Per-column drift: the method chosen as Evidently chooses it (or overridden), its verdict,
 * PSI on the reference's bins for every column, and the data needed to chart reference
 * against current.
 *
 * Automatic choice (n = non-missing reference values; distinct = distinct values of
 * reference and current together):
 *
 * | reference     | column                        | method          | drift when      |
 * |---------------|-------------------------------|-----------------|-----------------|
 * | n <= 1000     | numeric, distinct > 5         | `ks`            | p < 0.05        |
 * | n <= 1000     | numeric or categorical, 3..5 distinct (categorical: any > 2) | `chisquare` | p < 0.05 |
 * | n <= 1000     | at most 2 distinct (binary)   | `z`             | p < 0.05        |
 * | n > 1000      | numeric, distinct > 5         | `wasserstein`   | score >= 0.1    |
 * | n > 1000      | categorical, or numeric <= 5 distinct | `jensenshannon` | score >= 0.1 |
 */

/** How a reference column is read for the tests (derived once per run). */
export interface ReferenceColumn {
  readonly ref: ColumnReference;
  /** Non-missing reference values. */
  readonly n: number;
  /** Sorted reference values for KS/Wasserstein (the sample, or the quantiles as a step CDF). */
  readonly sorted?: Float64Array;
  /** Weights of `sorted` (absent: one each). */
  readonly weights?: Float64Array;
  /** Whether `sorted` holds every reference value. */
  readonly complete: boolean;
  /** Population standard deviation (ddof 0). */
  readonly std?: number;
  /** Where `std` came from. */
  readonly stdSource?: 'sample' | 'reference';
  /** Histogram (numeric): the reference's, or 10 equal-width bins of the complete sample. */
  readonly histogram?: { readonly edges: Float64Array; readonly counts: readonly number[] };
  /** Counts per value (categorical; numeric with few distinct values), keys as strings. */
  readonly frequencies?: ReadonlyMap<string, number>;
  /** Distinct reference values (as the reference counted them). */
  readonly distinct: number;
}

/** Number of equal-width bins derived from a complete sample when the reference has no histogram. */
export const DERIVED_BINS = 10;
/** Numeric columns with at most this many distinct reference values are binned by value for JS/PSI (Evidently's rule). */
export const VALUE_BINNING_MAX_DISTINCT = 20;

/** Reads a reference column once: what the tests need, from whatever the reference stored. */
export function referenceColumn(ref: ColumnReference): ReferenceColumn {
  const n = ref.count;
  let sorted: Float64Array | undefined;
  let weights: Float64Array | undefined;
  let complete = false;
  let std = ref.std;
  let stdSource: 'sample' | 'reference' | undefined = std === undefined ? undefined : 'reference';
  let histogram: ReferenceColumn['histogram'];
  let frequencies: Map<string, number> | undefined;
  if (ref.frequencies) frequencies = new Map(Object.entries(ref.frequencies));
  if (ref.kind === 'numeric') {
    const sample = ref.sample?.filter((v) => Number.isFinite(v));
    if (sample && sample.length > 0) {
      sorted = Float64Array.from(sample).sort();
      complete = sample.length >= n;
      if (complete) {
        let mean = 0;
        for (const v of sorted) mean += v;
        mean /= sorted.length;
        let ss = 0;
        for (const v of sorted) ss += (v - mean) * (v - mean);
        std = Math.sqrt(ss / sorted.length);
        stdSource = 'sample';
        if (!frequencies) {
          const f = new Map<string, number>();
          for (const v of sorted) {
            const k = categoryKey(v);
            f.set(k, (f.get(k) ?? 0) + 1);
            if (f.size > VALUE_BINNING_MAX_DISTINCT) break;
          }
          if (f.size <= VALUE_BINNING_MAX_DISTINCT) frequencies = f;
        }
      }
    } else if (ref.quantiles && ref.quantiles.length) {
      // no sample: the quantiles as a discrete distribution (an approximation; documented)
      sorted = Float64Array.from([ref.min ?? ref.quantiles[0], ...ref.quantiles, ref.max ?? ref.quantiles[ref.quantiles.length - 1]]);
      const levels = ref.quantiles.length;
      weights = new Float64Array(sorted.length);
      for (let i = 1; i < sorted.length - 1; i++) weights[i] = 1 / (levels + 1);
      weights[0] = 1 / (2 * (levels + 1));
      weights[sorted.length - 1] = 1 / (2 * (levels + 1));
    }
    if (ref.histogram && ref.histogram.binEdges.length >= 2) {
      histogram = { edges: Float64Array.from(ref.histogram.binEdges), counts: ref.histogram.counts };
    } else if (complete && sorted && sorted.length) {
      const lo = sorted[0];
      const hi = sorted[sorted.length - 1];
      const edges = new Float64Array(DERIVED_BINS + 1);
      if (lo === hi) {
        for (let i = 0; i <= DERIVED_BINS; i++) edges[i] = lo - 0.5 + i / DERIVED_BINS;
      } else {
        for (let i = 0; i <= DERIVED_BINS; i++) edges[i] = lo + ((hi - lo) * i) / DERIVED_BINS;
        edges[DERIVED_BINS] = hi;
      }
      const counts = new Array<number>(DERIVED_BINS).fill(0);
      for (const v of sorted) {
        let b = DERIVED_BINS - 1;
        for (let i = 1; i < DERIVED_BINS; i++) if (v < edges[i]) { b = i - 1; break; }
        counts[b]++;
      }
      histogram = { edges, counts };
    }
  }
  return { ref, n, sorted, weights, complete, std, stdSource, histogram, frequencies, distinct: ref.distinct };
}

/** The plan of a column's streaming state, from its reference view. */
export function planFromReference(rc: ReferenceColumn): ColumnPlan {
  const ref = rc.ref;
  const freqKeys = rc.frequencies ? [...rc.frequencies.keys()] : [];
  return {
    name: ref.name,
    kind: ref.kind,
    binEdges: ref.kind === 'numeric' ? rc.histogram?.edges : undefined,
    referenceMin: ref.min ?? (rc.histogram ? rc.histogram.edges[0] : undefined),
    referenceMax: ref.max ?? (rc.histogram ? rc.histogram.edges[rc.histogram.edges.length - 1] : undefined),
    knownCategories: ref.kind === 'categorical' && rc.frequencies && freqKeys.length >= ref.distinct ? new Set(freqKeys) : undefined,
  };
}

/** Drift settings of one evaluation. */
export interface DriftOptions {
  /** Threshold per method. @default DEFAULT_DRIFT_THRESHOLDS */
  readonly thresholds?: Partial<Record<DriftMethodName, number>>;
  /** Per-column overrides. */
  readonly columns?: Readonly<Record<string, { readonly method?: DriftMethodName; readonly threshold?: number }>>;
  /** Fewest current values to test a column. @default 30 */
  readonly minCurrentValues?: number;
  /** Dataset drift when drifted share >= this. @default 0.5 */
  readonly datasetDriftShare?: number;
  /** KS p-value method. @default 'auto' */
  readonly ksMethod?: KsMethod;
}

/** Chart data of one column: proportions per bin or per category, reference and current. */
export type ColumnChart =
  | { readonly type: 'histogram'; readonly edges: readonly number[]; readonly reference: readonly number[]; readonly current: readonly number[] }
  | { readonly type: 'categories'; readonly categories: readonly string[]; readonly reference: readonly number[]; readonly current: readonly number[] };

/** Data quality of one column in the window. */
export interface ColumnQuality {
  readonly rows: number;
  readonly missing: number;
  readonly typeErrors: number;
  readonly nonFinite: number;
  readonly outOfRange: number;
  readonly unknownCategories: number;
  /** missing / rows */
  readonly missingRate: number;
  /** (typeErrors + nonFinite) / rows */
  readonly typeErrorRate: number;
  /** outOfRange / valid values */
  readonly outOfRangeRate: number;
  /** unknownCategories / valid values */
  readonly unknownCategoryRate: number;
}

/** Verdict on one column. */
export interface ColumnDrift {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  readonly method: DriftMethodName;
  /** Why this method: `auto: ...` or `override`. */
  readonly methodReason: string;
  readonly threshold: number;
  /** The method's statistic (KS D, chi-square statistic, z, normed Wasserstein, JS distance or PSI). */
  readonly statistic: number;
  /** p-value (ks, chisquare, z). */
  readonly pValue?: number;
  /** Score compared with the threshold: the p-value for tests, the statistic for distances. */
  readonly score: number;
  readonly drifted: boolean;
  /** Set when the column could not be tested (and is left out of the drifted share). */
  readonly skipped?: string;
  readonly psi: number;
  readonly psiBand: PsiBand;
  readonly referenceCount: number;
  readonly currentCount: number;
  /** Sketch mode: the current CDF's rank-error bound and the resulting bounds on the statistics. */
  readonly errorBound?: { readonly rank: number; readonly ks?: number; readonly wasserstein?: number };
  /** Whether the reference side was approximated (sample of a larger reference, or quantiles). */
  readonly referenceApproximate: boolean;
  readonly quality: ColumnQuality;
  readonly summary: {
    readonly reference: { readonly mean?: number; readonly std?: number; readonly min?: number; readonly max?: number };
    readonly current: { readonly mean?: number; readonly std?: number; readonly min?: number; readonly max?: number };
  };
  readonly chart: ColumnChart;
}

/** Dataset-level verdict. */
export interface DatasetDrift {
  readonly columns: number;
  readonly tested: number;
  readonly drifted: number;
  readonly share: number;
  readonly threshold: number;
  readonly driftedColumns: readonly string[];
  readonly datasetDrift: boolean;
}

function quality(state: ColumnState): ColumnQuality {
  const rows = state.rows;
  const valid = state.count;
  return {
    rows,
    missing: state.missing,
    typeErrors: state.typeErrors,
    nonFinite: state.nonFinite,
    outOfRange: state.outOfRange,
    unknownCategories: state.unknownCategories,
    missingRate: rows ? state.missing / rows : 0,
    typeErrorRate: rows ? (state.typeErrors + state.nonFinite) / rows : 0,
    outOfRangeRate: valid ? state.outOfRange / valid : 0,
    unknownCategoryRate: valid ? state.unknownCategories / valid : 0,
  };
}

/** Union of reference and current counts by category or value; null when not available. */
function valueCounts(rc: ReferenceColumn, state: ColumnState): { keys: string[]; ref: number[]; cur: number[] } | null {
  if (!rc.frequencies) return null;
  let cur: Map<string, number>;
  if (state.plan.kind === 'categorical') {
    cur = new Map(state.categories!);
    if (state.categoryOverflow) cur.set(OTHER_CATEGORY, (cur.get(OTHER_CATEGORY) ?? 0) + state.categoryOverflow);
  } else {
    if (!state.distinct) return null;
    cur = new Map([...state.distinct.entries()].map(([v, c]) => [categoryKey(v), c]));
  }
  const keys = [...new Set([...rc.frequencies.keys(), ...cur.keys()])];
  if (state.plan.kind === 'numeric') keys.sort((a, b) => Number(a) - Number(b));
  else keys.sort();
  return { keys, ref: keys.map((k) => rc.frequencies!.get(k) ?? 0), cur: keys.map((k) => cur.get(k) ?? 0) };
}

/** Distinct values of reference and current together, or Infinity when larger than can be counted. */
function combinedDistinct(rc: ReferenceColumn, state: ColumnState): number {
  if (state.plan.kind === 'numeric') {
    if (rc.distinct > AUTO_LOW_CARDINALITY_MAX) return rc.distinct;
    const vc = valueCounts(rc, state);
    return vc ? vc.keys.length : Infinity;
  }
  const keys = new Set<string>(rc.frequencies ? rc.frequencies.keys() : []);
  for (const k of state.categories!.keys()) keys.add(k);
  return Math.max(keys.size, rc.distinct) + (state.categoryOverflow ? 1 : 0);
}

/** Evidently's automatic choice. */
export function chooseMethod(rc: ReferenceColumn, state: ColumnState): { method: DriftMethodName; reason: string } {
  const distinct = combinedDistinct(rc, state);
  const d = Number.isFinite(distinct) ? String(distinct) : 'many';
  if (rc.n <= AUTO_SMALL_REFERENCE_MAX) {
    if (rc.ref.kind === 'numeric' && distinct > AUTO_LOW_CARDINALITY_MAX) return { method: 'ks', reason: `auto: reference of ${rc.n} <= ${AUTO_SMALL_REFERENCE_MAX} values, numeric with ${d} distinct values` };
    if (distinct > 2) return { method: 'chisquare', reason: `auto: reference of ${rc.n} <= ${AUTO_SMALL_REFERENCE_MAX} values, ${rc.ref.kind} with ${d} distinct values` };
    return { method: 'z', reason: `auto: reference of ${rc.n} <= ${AUTO_SMALL_REFERENCE_MAX} values, binary` };
  }
  if (rc.ref.kind === 'numeric' && distinct > AUTO_LOW_CARDINALITY_MAX) return { method: 'wasserstein', reason: `auto: reference of ${rc.n} > ${AUTO_SMALL_REFERENCE_MAX} values, numeric with ${d} distinct values` };
  return { method: 'jensenshannon', reason: `auto: reference of ${rc.n} > ${AUTO_SMALL_REFERENCE_MAX} values, ${rc.ref.kind === 'numeric' ? `numeric with ${d} distinct values` : 'categorical'}` };
}

/** Binned frequencies for JS/PSI and the chart: by value (categorical; numeric with few values) or on the reference bins. */
function binned(rc: ReferenceColumn, state: ColumnState): { labels: string[]; ref: number[]; cur: number[]; edges?: number[] } | null {
  if (state.plan.kind === 'categorical' || (rc.distinct <= VALUE_BINNING_MAX_DISTINCT && rc.frequencies)) {
    const vc = valueCounts(rc, state);
    if (vc) return { labels: vc.keys, ref: vc.ref, cur: vc.cur };
  }
  if (rc.histogram && state.histogram) {
    const edges = Array.from(rc.histogram.edges);
    return { labels: edges.slice(0, -1).map((e, i) => `[${e}, ${edges[i + 1]}${i === edges.length - 2 ? ']' : ')'}`), ref: rc.histogram.counts.slice(), cur: Array.from(state.histogram), edges };
  }
  return null;
}

function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total ? c / total : 0));
}

const CHART_MAX_CATEGORIES = 20;

function chartOf(b: { labels: string[]; ref: number[]; cur: number[]; edges?: number[] } | null): ColumnChart {
  if (!b) return { type: 'categories', categories: [], reference: [], current: [] };
  const r = proportions(b.ref);
  const c = proportions(b.cur);
  if (b.edges) return { type: 'histogram', edges: b.edges, reference: r, current: c };
  let idx = b.labels.map((_, i) => i);
  if (idx.length > CHART_MAX_CATEGORIES) {
    idx.sort((x, y) => (r[y] + c[y]) - (r[x] + c[x]));
    const top = idx.slice(0, CHART_MAX_CATEGORIES - 1);
    const rest = idx.slice(CHART_MAX_CATEGORIES - 1);
    top.sort((x, y) => x - y);
    const sum = (arr: number[]) => rest.reduce((a, i) => a + arr[i], 0);
    return { type: 'categories', categories: [...top.map((i) => b.labels[i]), `(${rest.length} others)`], reference: [...top.map((i) => r[i]), sum(r)], current: [...top.map((i) => c[i]), sum(c)] };
  }
  return { type: 'categories', categories: idx.map((i) => b.labels[i]), reference: idx.map((i) => r[i]), current: idx.map((i) => c[i]) };
}

/** Evaluates drift of one column. */
export function evaluateColumn(rc: ReferenceColumn, state: ColumnState, options: DriftOptions = {}): ColumnDrift {
  const override = options.columns?.[rc.ref.name];
  const auto = chooseMethod(rc, state);
  const method = override?.method ?? auto.method;
  const methodReason = override?.method ? 'override' : auto.reason;
  const threshold = override?.threshold ?? options.thresholds?.[method] ?? DEFAULT_DRIFT_THRESHOLDS[method];
  const minCurrent = options.minCurrentValues ?? 30;
  const b = binned(rc, state);
  const q = quality(state);
  const summary = {
    reference: { mean: rc.ref.mean, std: rc.std, min: rc.ref.min, max: rc.ref.max },
    current: state.plan.kind === 'numeric' && state.count
      ? { mean: state.mean, std: state.std, min: state.min, max: state.max }
      : {},
  };
  const base = {
    name: rc.ref.name,
    kind: rc.ref.kind,
    method,
    methodReason,
    threshold,
    referenceCount: rc.n,
    currentCount: state.count,
    quality: q,
    summary,
    chart: chartOf(b),
  };
  let psi = Number.NaN;
  if (b && state.count > 0 && rc.n > 0) psi = populationStabilityIndex(proportions(b.ref), proportions(b.cur));
  const skip = (why: string): ColumnDrift => ({
    ...base, statistic: Number.NaN, score: Number.NaN, drifted: false, skipped: why, psi, psiBand: psiBand(psi), referenceApproximate: !rc.complete,
  });
  if (state.count < minCurrent) return skip(`${state.count} current value(s), fewer than the ${minCurrent} needed`);
  if (rc.n === 0) return skip('the reference has no values for this column');

  let statistic: number;
  let pValue: number | undefined;
  let errorBound: ColumnDrift['errorBound'];
  let referenceApproximate = false;
  switch (method) {
    case 'ks':
    case 'wasserstein': {
      if (rc.ref.kind !== 'numeric') return skip(`method '${method}' needs a numeric column`);
      if (!rc.sorted) return skip(`the reference stores neither a sample nor quantiles, which '${method}' needs`);
      referenceApproximate = !rc.complete;
      const cur = state.sortedValues();
      if (method === 'ks') {
        const d = ksStatistic(rc.sorted, cur.values, rc.weights, cur.weights);
        // D is measured against what the reference stores: when that is a sample (or quantiles)
        // of a larger reference, the test's reference size is the sample's, not the row count
        // (with the row count, identical distributions would look significantly different).
        const refN = rc.complete ? rc.n : rc.sorted.length;
        const r = ksPValue(d, refN, state.count, options.ksMethod ?? 'auto');
        statistic = r.statistic;
        pValue = r.pValue;
        if (cur.rankErrorBound > 0) errorBound = { rank: cur.rankErrorBound, ks: cur.rankErrorBound };
      } else {
        const w = wassersteinDistance(rc.sorted, cur.values, rc.weights, cur.weights);
        statistic = wassersteinNorm(w, rc.std ?? 0);
        if (cur.rankErrorBound > 0) {
          errorBound = { rank: cur.rankErrorBound, wasserstein: wassersteinNorm(cur.rankErrorBound * (state.max - state.min), rc.std ?? 0) };
        }
      }
      break;
    }
    case 'chisquare':
    case 'z': {
      const vc = valueCounts(rc, state);
      const counts = vc ?? (b ? { keys: b.labels, ref: b.ref, cur: b.cur } : null);
      if (!counts) return skip(`no category counts for '${method}' (the reference stores no frequencies or histogram)`);
      if (method === 'chisquare') {
        const r = chiSquareTest(counts.ref, counts.cur);
        statistic = r.statistic;
        pValue = r.pValue;
      } else {
        if (counts.keys.length > 2) return skip(`method 'z' needs a binary column; found ${counts.keys.length} distinct values`);
        const nRef = counts.ref.reduce((a, x) => a + x, 0);
        const nCur = counts.cur.reduce((a, x) => a + x, 0);
        if (counts.keys.length <= 1) {
          statistic = 0;
          pValue = 1;
        } else {
          const r = proportionZTest(counts.ref[0], nRef, counts.cur[0], nCur);
          statistic = r.statistic;
          pValue = r.pValue;
        }
      }
      break;
    }
    case 'jensenshannon': {
      if (!b) return skip('no bins or categories to compare (the reference stores no histogram or frequencies)');
      statistic = jensenShannonDistance(proportions(b.ref), proportions(b.cur));
      break;
    }
    case 'psi': {
      if (!b) return skip('no bins or categories to compare (the reference stores no histogram or frequencies)');
      statistic = psi;
      break;
    }
  }
  const isP = P_VALUE_METHODS.includes(method);
  const score = isP ? pValue! : statistic;
  const drifted = isP ? score < threshold : score >= threshold;
  return {
    ...base,
    statistic,
    ...(pValue !== undefined ? { pValue } : {}),
    score,
    drifted,
    psi,
    psiBand: psiBand(psi),
    ...(errorBound ? { errorBound } : {}),
    referenceApproximate,
  };
}

/** The dataset verdict from column verdicts: drift when the drifted share of tested columns reaches the threshold. */
export function datasetDrift(columns: readonly ColumnDrift[], share: number = DEFAULT_DATASET_DRIFT_SHARE): DatasetDrift {
  const tested = columns.filter((c) => !c.skipped);
  const drifted = tested.filter((c) => c.drifted);
  const s = tested.length ? drifted.length / tested.length : 0;
  return {
    columns: columns.length,
    tested: tested.length,
    drifted: drifted.length,
    share: s,
    threshold: share,
    driftedColumns: drifted.map((c) => c.name),
    datasetDrift: tested.length > 0 && s >= share,
  };
}
