import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Matrix } from '../../../../src/runtime/train/trainers/types';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'fixtures');

/** A data set from test/fixtures/data: features, target (last column) and column names. */
export interface DataSet {
  readonly features: readonly string[];
  readonly x: Matrix;
  readonly y: Float64Array;
}

/** Reads one of the reference CSVs (numeric, header row, label last, no quoting). */
export function readDataSet(name: 'breast_cancer' | 'diabetes' | 'digits'): DataSet {
  const lines = fs.readFileSync(path.join(FIXTURES, 'data', `${name}.csv`), 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const d = header.length - 1;
  const n = lines.length - 1;
  const x = new Float64Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1].split(',').map(Number);
    if (cells.length !== d + 1 || cells.some((v) => !Number.isFinite(v))) throw new Error(`${name}.csv line ${i + 2} is malformed`);
    x.set(cells.slice(0, d), i * d);
    y[i] = cells[d];
  }
  return { features: header.slice(0, d), x: { x, n, d }, y };
}

/** The rows `index` of a data set. */
export function take(data: DataSet, index: readonly number[]): { x: Matrix; y: Float64Array } {
  const { d } = data.x;
  const x = new Float64Array(index.length * d);
  const y = new Float64Array(index.length);
  index.forEach((r, i) => {
    x.set(data.x.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = data.y[r];
  });
  return { x: { x, n: index.length, d }, y };
}

/** scikit-learn reference values written by test/fixtures/sklearn/make_reference.py. */
export function readReference<T>(file: 'splits' | 'models' | 'metrics'): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'sklearn', `${file}.json`), 'utf8')) as T;
}

/** Splits of the reference data sets (seeded 75/25, stratified for classification). */
export type Splits = Record<'breast_cancer' | 'diabetes' | 'digits', { train: number[]; test: number[]; seed: number }>;

/** Train and test parts of a reference data set, split as scikit-learn split them. */
export function referenceSplit(name: 'breast_cancer' | 'diabetes' | 'digits'): {
  features: readonly string[]; train: { x: Matrix; y: Float64Array }; test: { x: Matrix; y: Float64Array };
} {
  const data = readDataSet(name);
  const split = readReference<Splits>('splits')[name];
  return { features: data.features, train: take(data, split.train), test: take(data, split.test) };
}

/** What onnxruntime-node returns for a model exported by a built-in trainer. */
export interface OnnxOutputs {
  readonly label?: BigInt64Array;
  readonly probabilities?: Float32Array;
  readonly variable?: Float32Array;
  readonly dims: Readonly<Record<string, readonly number[]>>;
}

/** Runs an exported model on `x` (cast to float32) with onnxruntime-node. */
export async function runOnnx(bytes: Uint8Array, x: Matrix): Promise<OnnxOutputs> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.x), [x.n, x.d]) });
    const dims: Record<string, readonly number[]> = {};
    for (const [k, v] of Object.entries(out)) dims[k] = v.dims;
    return {
      label: out.label?.data as BigInt64Array | undefined,
      probabilities: out.probabilities?.data as Float32Array | undefined,
      variable: out.variable?.data as Float32Array | undefined,
      dims,
    };
  } finally {
    await session.release();
  }
}

/** Largest |a - b| / max(1, |b|). */
export function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

/** The same matrix with every value rounded to float32 (what an FP32 input tensor carries). */
export function float32Representable(x: Matrix): Matrix {
  return { x: Float64Array.from(Float32Array.from(x.x)), n: x.n, d: x.d };
}
