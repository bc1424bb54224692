import * as fs from 'node:fs';
import type { TensorSpec } from '../runtime/registry/types';
import { parseCsv, parseParquet } from '../runtime/train/data';

/**
 * Traffic for the local loop: real rows of the data set a model was trained on, sent through the
 * endpoint's Open Inference Protocol v2 REST API, optionally shifted to make drift; every request
 * and response is kept so that a test (or a person) can check the predictions afterwards.
 */

/** The endpoint a replay talks to. */
export interface TrafficTarget {
  /** Base URL of the server (`http://127.0.0.1:<port>`). */
  readonly url: string;
  readonly model: string;
  /** Bearer token, when the server requires one. */
  readonly token?: string;
  /** The model's (first) input tensor: name, datatype, shape `[-1, d]`. */
  readonly input: TensorSpec;
}

/** One output tensor of a response. */
export interface OutputTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly (number | string | boolean)[];
}

/** One request of a replay and what came back. */
export interface ReplayedRequest {
  readonly id: string;
  /** The rows the model saw (feature values in the model's order): sent, or looked up by entity key. */
  readonly rows: readonly (readonly number[])[];
  /** Entity keys sent instead of the rows (an endpoint that looks its features up), when so. */
  readonly entityKeys?: readonly (string | number)[];
  readonly modelVersion: string;
  readonly outputs: readonly OutputTensor[];
}

/** A replay: its requests, in order. */
export interface Replay {
  readonly phase: string;
  readonly model: string;
  readonly url: string;
  readonly featureNames: readonly string[];
  readonly requests: readonly ReplayedRequest[];
}

/** Reads the feature columns of a CSV or Parquet file as numeric rows, in `featureNames` order. */
export async function loadFeatureRows(file: string, featureNames: readonly string[]): Promise<number[][]> {
  const body = fs.readFileSync(file);
  const table = /\.(parquet|pq)$/i.test(file) ? await parseParquet(body, file) : parseCsv(body, file);
  const index = featureNames.map((f) => {
    const i = table.columns.indexOf(f);
    if (i < 0) throw new Error(`${file} has no column '${f}' (the model's feature); it has ${table.columns.join(', ')}`);
    return i;
  });
  const rows: number[][] = [];
  for (let r = 0; r < table.rows; r++) {
    const row = index.map((i) => Number(table.cells[i][r]));
    if (row.every((v) => Number.isFinite(v))) rows.push(row);
  }
  if (rows.length === 0) throw new Error(`${file} has no row whose features ${featureNames.join(', ')} are all numbers`);
  return rows;
}

/** `n` rows drawn without replacement (with replacement past the table's size), seeded. */
export function sampleRows(rows: readonly number[][], n: number, seed: number): number[][] {
  let s = seed >>> 0 || 1;
  const rand = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out: number[][] = [];
  for (let k = 0; k < n; k++) out.push([...rows[order[k % order.length]]]);
  return out;
}

/** Per-column standard deviation of `rows`. */
export function columnStd(rows: readonly (readonly number[])[]): number[] {
  const d = rows[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  for (const r of rows) r.forEach((v, j) => { mean[j] += v / rows.length; });
  const sq = new Array<number>(d).fill(0);
  for (const r of rows) r.forEach((v, j) => { sq[j] += (v - mean[j]) ** 2; });
  return sq.map((v) => Math.sqrt(v / Math.max(1, rows.length - 1)));
}

/** The rows moved by `k` standard deviations per column (`std`): covariate shift. */
export function shiftRows(rows: readonly (readonly number[])[], std: readonly number[], k: number): number[][] {
  return rows.map((r) => r.map((v, j) => v + k * std[j]));
}

/** How a replay sends its rows. */
export interface ReplayOptions {
  readonly phase: string;
  /** Rows per request. */
  readonly batch: number;
  /** Request ids are `<idPrefix>-<n>`. */
  readonly idPrefix: string;
  readonly featureNames: readonly string[];
  /**
   * Send these entity keys (one per row) in the input `input` instead of the rows: the endpoint
   * looks the features up; `rows` are what it will find (recorded for the checks).
   */
  readonly entity?: { readonly input: string; readonly datatype: 'INT64' | 'BYTES'; readonly keys: readonly (string | number)[] };
}

/**
 * Sends `rows` in requests of `batch` rows to `/v2/models/<model>/infer`, one after the other,
 * with ids `<idPrefix>-<n>`; fails on any non-200 answer, naming the request and the answer.
 */
export async function replay(target: TrafficTarget, rows: readonly (readonly number[])[], o: ReplayOptions): Promise<Replay> {
  const requests: ReplayedRequest[] = [];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  const d = o.featureNames.length;
  if (o.entity && o.entity.keys.length !== rows.length) throw new Error(`${o.entity.keys.length} entity keys for ${rows.length} rows`);
  for (let start = 0, n = 0; start < rows.length; start += o.batch, n++) {
    const chunk = rows.slice(start, start + o.batch);
    const id = `${o.idPrefix}-${n}`;
    const keys = o.entity?.keys.slice(start, start + o.batch);
    const input = o.entity
      ? { name: o.entity.input, datatype: o.entity.datatype, shape: [keys!.length], data: keys }
      : { name: target.input.name, datatype: target.input.datatype, shape: [chunk.length, d], data: chunk.flat() };
    const body = { id, inputs: [input] };
    const res = await fetch(`${target.url}/v2/models/${encodeURIComponent(target.model)}/infer`, {
      method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`inference request ${id} to ${target.url} answered ${res.status}: ${text.slice(0, 500)}`);
    const answer = JSON.parse(text) as { model_version?: string; outputs?: OutputTensor[] };
    requests.push({ id, rows: chunk.map((r) => [...r]), ...(keys ? { entityKeys: keys } : {}), modelVersion: String(answer.model_version), outputs: answer.outputs ?? [] });
  }
  return { phase: o.phase, model: target.model, url: target.url, featureNames: [...o.featureNames], requests };
}
