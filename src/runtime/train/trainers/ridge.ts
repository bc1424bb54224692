/**
 * Ridge regression (least squares with an L2 penalty; `alpha = 0` is ordinary least squares),
 * solved in closed form: Cholesky on the normal equations of the centred (and, by default,
 * standardised) features.
 *
 * Objective, as scikit-learn's `Ridge(alpha)`: `||y - X w - b||^2 + alpha ||w||^2`, the
 * intercept b not penalised. With `standardize` (the default) X is standardised first (mean 0,
 * population standard deviation 1, a constant column left unscaled), so the result equals
 * `make_pipeline(StandardScaler(), Ridge(alpha))`; the scaling is folded into the exported
 * weights. A constant column gets a zero coefficient. With `alpha = 0` and collinear columns
 * the normal equations are singular and fitting fails with an error that says so.
 */
import { checkMatrix, checkTarget, columnScaling, noScaling } from './data';
import { DenseModel, foldStandardisation, type BuiltInTrainer } from './dense';
import { choleskySolve } from './linalg';
import { defaultsOf, resolveParams, type ParamSpecs } from './params';
import type { FitOptions, Matrix, Params } from './types';
import { InputError } from '../../errors';

const SPECS = {
  alpha: { type: 'number', default: 1, min: 0, doc: 'L2 penalty strength, as scikit-learn; 0 is ordinary least squares' },
  standardize: { type: 'boolean', default: true, doc: 'standardise the features before fitting (folded into the exported model)' },
} as const satisfies ParamSpecs;

/** The `ridge` trainer. */
export const ridge: BuiltInTrainer = {
  name: 'ridge',
  task: 'regression',
  defaults: defaultsOf(SPECS),
  paramSpecs: SPECS,
  fit(data: Matrix, y: Float64Array, params: Params, options: FitOptions): DenseModel {
    const p = resolveParams('ridge', SPECS, params);
    checkMatrix(data);
    checkTarget(y, data.n);
    const { x, n, d } = data;
    // Centre on the column means even without standardising (the intercept is not penalised).
    const scaling = columnScaling(data);
    const centre = scaling.mean;
    const scale = p.standardize ? scaling.scale : noScaling(d).scale;
    let ym = 0;
    for (let i = 0; i < n; i++) ym += y[i];
    ym /= n;
    const A = new Float64Array(d * d);
    const r = new Float64Array(d);
    const row = new Float64Array(d);
    for (let i = 0, off = 0; i < n; i++, off += d) {
      for (let j = 0; j < d; j++) row[j] = (x[off + j] - centre[j]) / scale[j];
      const yc = y[i] - ym;
      for (let j = 0; j < d; j++) {
        const v = row[j];
        r[j] += v * yc;
        const base = j * d;
        for (let l = 0; l <= j; l++) A[base + l] += v * row[l];
      }
      if ((i & 0xffff) === 0xffff) options.onProgress?.(i / n, `ridge: ${i} of ${n} rows accumulated`);
    }
    // Columns that are constant contribute nothing: solve without them, coefficient 0.
    const keep: number[] = [];
    for (let j = 0; j < d; j++) if (A[j * d + j] > 0) keep.push(j);
    const m = keep.length;
    const w = new Float64Array(d);
    if (m > 0) {
      const Am = new Float64Array(m * m);
      const rm = new Float64Array(m);
      for (let a = 0; a < m; a++) {
        rm[a] = r[keep[a]];
        for (let b = 0; b <= a; b++) {
          const v = A[keep[a] * d + keep[b]];
          Am[a * m + b] = v;
          Am[b * m + a] = v;
        }
        Am[a * m + a] += p.alpha;
      }
      const solution = choleskySolve(Am, rm, m);
      if (!solution) {
        throw new InputError(
          'params.alpha',
          `trainer "ridge" got alpha = ${p.alpha}, but the normal equations are singular: some feature columns are collinear; expected alpha > 0 (or drop the redundant columns)`,
        );
      }
      keep.forEach((j, a) => { w[j] = solution[a]; });
    }
    options.onProgress?.(1, `ridge: solved ${m} coefficients (${d - m} constant columns)`);
    // Exported: value = sum_j (x_j - centre_j) w_j / scale_j + ym.
    const folded = foldStandardisation(w, Float64Array.of(ym), d, 1, centre, scale);
    const layer = { inputs: d, outputs: 1, weights: folded.weights, bias: folded.bias, relu: false };
    return new DenseModel('ridge', [layer], 'identity', { ...p }, undefined, { constant_columns: d - m });
  },
};
