import { ReferenceColumn, planFromReference, referenceColumn } from './drift';
import { ColumnState, ColumnStateJson, StateOptions, WindowStateJson } from './state';
import type { ReferenceStatistics } from '../registry/types';

/** How many distinct unexpected input field names are counted. */
const UNEXPECTED_FIELDS_CAP = 100;

/** Reference columns of a model, read once per run. */
export interface ReferenceColumns {
  readonly features: readonly ReferenceColumn[];
  readonly prediction: ReferenceColumn;
}

/** Reads every column of a reference once. */
export function referenceColumns(reference: ReferenceStatistics): ReferenceColumns {
  return { features: reference.features.map(referenceColumn), prediction: referenceColumn(reference.prediction) };
}

/**
 * The streaming state of one window of prediction logs: a {@link ColumnState} per feature and
 * for the prediction, plus record-level counters. Feed it records (`addRecord`, any parsed
 * JSON value: malformed ones are counted, never thrown) or columns (`addColumns`, the fast
 * path); merge partial windows from shards with `merge`.
 */
export class WindowState {
  /** Restores a window written by {@link toJSON} against the same reference. */
  static fromJSON(reference: ReferenceColumns, json: WindowStateJson, options: StateOptions = {}): WindowState {
    if (json.schema !== 'cdk-mlops.monitor.state/v1') throw new RangeError(`monitor state: unknown schema ${JSON.stringify(json.schema)}; expected 'cdk-mlops.monitor.state/v1'`);
    const w = new WindowState(reference, options);
    if (json.features.length !== w.features.length) throw new RangeError(`monitor state has ${json.features.length} features; the reference has ${w.features.length}`);
    w.records = json.records;
    w.rows = json.rows;
    w.badRecords = json.badRecords;
    w.badRows = json.badRows;
    for (const [k, c] of Object.entries(json.unexpectedFields)) w.unexpectedFields.set(k, c);
    const restore = (st: ColumnState, j: ColumnStateJson) => ColumnState.fromJSON(st.plan, j, w.options);
    const features = w.features.map((f, i) => restore(f, json.features[i]));
    w.features.splice(0, w.features.length, ...features);
    (w as { prediction: ColumnState }).prediction = restore(w.prediction, json.prediction);
    w.byName.clear();
    for (const f of w.features) w.byName.set(f.name, f);
    w.firstTs = json.firstTs;
    w.lastTs = json.lastTs;
    return w;
  }

  public records = 0;
  public rows = 0;
  public badRecords = 0;
  public badRows = 0;
  public readonly unexpectedFields = new Map<string, number>();
  public readonly features: ColumnState[];
  public readonly prediction: ColumnState;
  public firstTs: string | null = null;
  public lastTs: string | null = null;
  private readonly byName: Map<string, ColumnState>;

  constructor(public readonly reference: ReferenceColumns, private readonly options: StateOptions = {}) {
    this.features = reference.features.map((rc) => new ColumnState(planFromReference(rc), options));
    this.prediction = new ColumnState(planFromReference(reference.prediction), options);
    this.byName = new Map(this.features.map((f) => [f.name, f]));
  }

  private problems(): number {
    let p = 0;
    for (const f of this.features) p += f.missing + f.typeErrors + f.nonFinite + f.unknownCategories;
    return p;
  }

  /**
   * Adds one prediction record (the parsed JSON of one log line). Returns false, counting it
   * in `badRecords`, when it does not have the PredictionRecord shape (no `inputs` array, or
   * `outputs` of another length); rows with bad values are counted per column and in
   * `badRows`.
   */
  addRecord(record: unknown): boolean {
    this.records++;
    const r = record as { inputs?: unknown; outputs?: unknown; ts?: unknown } | null;
    if (r === null || typeof r !== 'object' || !Array.isArray(r.inputs) || (r.outputs !== undefined && (!Array.isArray(r.outputs) || r.outputs.length !== r.inputs.length))) {
      this.badRecords++;
      return false;
    }
    if (typeof r.ts === 'string') {
      if (this.firstTs === null || r.ts < this.firstTs) this.firstTs = r.ts;
      if (this.lastTs === null || r.ts > this.lastTs) this.lastTs = r.ts;
    }
    const outputs = r.outputs as unknown[] | undefined;
    for (let i = 0; i < r.inputs.length; i++) {
      const row = r.inputs[i] as Record<string, unknown> | null;
      this.rows++;
      const before = this.problems();
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        for (const f of this.features) f.add(undefined);
      } else {
        for (const f of this.features) f.add(row[f.name]);
        for (const key of Object.keys(row)) {
          if (!this.byName.has(key)) {
            const c = this.unexpectedFields.get(key);
            if (c !== undefined) this.unexpectedFields.set(key, c + 1);
            else if (this.unexpectedFields.size < UNEXPECTED_FIELDS_CAP) this.unexpectedFields.set(key, 1);
          }
        }
      }
      if (this.problems() !== before) this.badRows++;
      this.prediction.add(outputs ? outputs[i] : undefined);
    }
    return true;
  }

  /** Counts a log line that could not be parsed as JSON. */
  addUnparsable(): void {
    this.records++;
    this.badRecords++;
  }

  /**
   * Adds whole columns (the fast path for columnar data): one array per feature, all of the
   * same length, and optionally the predictions. Every value must be a number (NaN = missing).
   */
  addColumns(columns: Readonly<Record<string, ArrayLike<number>>>, predictions?: ArrayLike<number>): void {
    let n = -1;
    for (const f of this.features) {
      const col = columns[f.name];
      if (!col) throw new RangeError(`addColumns: no column '${f.name}'`);
      if (n < 0) n = col.length;
      else if (col.length !== n) throw new RangeError(`addColumns: column '${f.name}' has ${col.length} values, expected ${n}`);
    }
    for (const f of this.features) f.addNumbers(columns[f.name]);
    if (predictions) this.prediction.addNumbers(predictions);
    this.rows += Math.max(0, n);
  }

  /** Folds a partial window of the same reference into this one. */
  merge(other: WindowState): this {
    if (other.features.length !== this.features.length) throw new RangeError(`cannot merge a window of ${other.features.length} features into one of ${this.features.length}`);
    this.records += other.records;
    this.rows += other.rows;
    this.badRecords += other.badRecords;
    this.badRows += other.badRows;
    for (const [k, c] of other.unexpectedFields) {
      const mine = this.unexpectedFields.get(k);
      if (mine !== undefined) this.unexpectedFields.set(k, mine + c);
      else if (this.unexpectedFields.size < UNEXPECTED_FIELDS_CAP) this.unexpectedFields.set(k, c);
    }
    this.features.forEach((f, i) => f.merge(other.features[i]));
    this.prediction.merge(other.prediction);
    if (other.firstTs !== null && (this.firstTs === null || other.firstTs < this.firstTs)) this.firstTs = other.firstTs;
    if (other.lastTs !== null && (this.lastTs === null || other.lastTs > this.lastTs)) this.lastTs = other.lastTs;
    return this;
  }

  /** Serialisable state (what a shard writes). */
  toJSON(): WindowStateJson {
    return {
      schema: 'cdk-mlops.monitor.state/v1',
      records: this.records,
      rows: this.rows,
      badRecords: this.badRecords,
      badRows: this.badRows,
      unexpectedFields: Object.fromEntries(this.unexpectedFields),
      features: this.features.map((f) => f.toJSON()),
      prediction: this.prediction.toJSON(),
      firstTs: this.firstTs,
      lastTs: this.lastTs,
    };
  }

}
