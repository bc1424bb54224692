/**
 * Logistic regression with an L2 penalty, binary (one sigmoid) or multinomial (softmax over
 * all classes), fitted with L-BFGS.
 *
 * Objective, as scikit-learn's `LogisticRegression(penalty='l2', solver='lbfgs')` with the
 * same `C`, divided by the number of rows n (same minimiser; the tolerance then does not
 * depend on n):
 *
 *     f(W, b) = (1/n) sum_i loss(y_i, x_i W + b) + ||W||^2 / (2 C n)
 *
 * with the intercept b not penalised. With `standardize` (the default) the features are
 * standardised (mean 0, population standard deviation 1; a constant column is left
 * unscaled, as scikit-learn's StandardScaler does), so W and C mean what they mean in
 * `make_pipeline(StandardScaler(), LogisticRegression(C=C))`. The data is never copied: the
 * standardisation is applied to the weights in every pass (`v_j = w_j / s_j`,
 * `c = b - sum_j mu_j v_j`) and folded into the exported first layer the same way.
 *
 * Stopping: the largest component of the gradient of f at most `tol`, or a relative decrease
 * of f in one iteration below min(2.2e-9, tol^2) (SciPy's default `ftol`, tightened for small
 * `tol`: near the optimum f is within about tol^2 of its minimum), or `max_iter` iterations.
 */
import { columnScaling, checkFinite, checkMatrix, encodeClasses, noScaling, type ColumnScaling } from './data';
import { DenseModel, foldStandardisation, type BuiltInTrainer } from './dense';
import { minimizeLbfgs } from './lbfgs';
import { defaultsOf, resolveParams, type ParamSpecs } from './params';
import type { FitOptions, Matrix, Params } from './types';

const SPECS = {
  C: { type: 'number', default: 1, min: 0, exclusiveMin: true, doc: 'inverse of the L2 penalty strength, as scikit-learn' },
  tol: { type: 'number', default: 1e-4, min: 0, exclusiveMin: true, doc: 'stop when the largest gradient component of the mean loss is at most tol' },
  max_iter: { type: 'integer', default: 100, min: 1, max: 100_000, doc: 'most L-BFGS iterations' },
  standardize: { type: 'boolean', default: true, doc: 'standardise the features before fitting (folded into the exported model)' },
} as const satisfies ParamSpecs;

/** The objective and its gradient for the binary model; parameters `[w (d), b]`. */
function binaryObjective(data: Matrix, y01: Float64Array, scaling: ColumnScaling, C: number) {
  const { x, n, d } = data;
  const { mean, scale } = scaling;
  const v = new Float64Array(d);
  const G = new Float64Array(d);
  const n4 = n - (n % 4);
  const penalty = 1 / (C * n);
  return (theta: Float64Array, grad: Float64Array): number => {
    let c = theta[d];
    for (let j = 0; j < d; j++) {
      v[j] = theta[j] / scale[j];
      c -= mean[j] * v[j];
    }
    G.fill(0);
    let loss = 0;
    let R = 0;
    let off = 0;
    let i = 0;
    // Four rows at a time: four independent dot products, then one pass of gradient updates
    // while the rows are still in cache.
    for (; i < n4; i += 4, off += 4 * d) {
      const o1 = off + d;
      const o2 = o1 + d;
      const o3 = o2 + d;
      let z0 = c;
      let z1 = c;
      let z2 = c;
      let z3 = c;
      for (let j = 0; j < d; j++) {
        const w = v[j];
        z0 += x[off + j] * w;
        z1 += x[o1 + j] * w;
        z2 += x[o2 + j] * w;
        z3 += x[o3 + j] * w;
      }
      let r0: number; let r1: number; let r2: number; let r3: number;
      {
        const yy = y01[i];
        if (z0 > 0) { const e = Math.exp(-z0); loss += z0 + Math.log1p(e) - yy * z0; r0 = 1 / (1 + e) - yy; } else { const e = Math.exp(z0); loss += Math.log1p(e) - yy * z0; r0 = e / (1 + e) - yy; }
      }
      {
        const yy = y01[i + 1];
        if (z1 > 0) { const e = Math.exp(-z1); loss += z1 + Math.log1p(e) - yy * z1; r1 = 1 / (1 + e) - yy; } else { const e = Math.exp(z1); loss += Math.log1p(e) - yy * z1; r1 = e / (1 + e) - yy; }
      }
      {
        const yy = y01[i + 2];
        if (z2 > 0) { const e = Math.exp(-z2); loss += z2 + Math.log1p(e) - yy * z2; r2 = 1 / (1 + e) - yy; } else { const e = Math.exp(z2); loss += Math.log1p(e) - yy * z2; r2 = e / (1 + e) - yy; }
      }
      {
        const yy = y01[i + 3];
        if (z3 > 0) { const e = Math.exp(-z3); loss += z3 + Math.log1p(e) - yy * z3; r3 = 1 / (1 + e) - yy; } else { const e = Math.exp(z3); loss += Math.log1p(e) - yy * z3; r3 = e / (1 + e) - yy; }
      }
      R += (r0 + r1) + (r2 + r3);
      for (let j = 0; j < d; j++) G[j] += (r0 * x[off + j] + r1 * x[o1 + j]) + (r2 * x[o2 + j] + r3 * x[o3 + j]);
    }
    for (; i < n; i++, off += d) {
      let z = c;
      for (let j = 0; j < d; j++) z += x[off + j] * v[j];
      const yy = y01[i];
      let r: number;
      if (z > 0) { const e = Math.exp(-z); loss += z + Math.log1p(e) - yy * z; r = 1 / (1 + e) - yy; } else { const e = Math.exp(z); loss += Math.log1p(e) - yy * z; r = e / (1 + e) - yy; }
      R += r;
      for (let j = 0; j < d; j++) G[j] += r * x[off + j];
    }
    let ww = 0;
    for (let j = 0; j < d; j++) {
      const w = theta[j];
      ww += w * w;
      grad[j] = (G[j] - mean[j] * R) / scale[j] / n + w * penalty;
    }
    grad[d] = R / n;
    return loss / n + 0.5 * penalty * ww;
  };
}

/**
 * The objective and its gradient for the multinomial model; parameters `[W (d x k), b (k)]`.
 * Inside, weights and gradient are class-major (k x d) so that each logit is a dot product
 * kept in registers; rows go four at a time, so each gradient entry is read and written once
 * per four rows.
 */
function multinomialObjective(data: Matrix, index: Int32Array, k: number, scaling: ColumnScaling, C: number) {
  const { x, n, d } = data;
  const { mean, scale } = scaling;
  const V = new Float64Array(k * d);
  const c = new Float64Array(k);
  const G = new Float64Array(k * d);
  const R = new Float64Array(k);
  // Logits, then residuals (p - onehot), of the four rows of a block: z[r * k + q].
  const z = new Float64Array(4 * k);
  const penalty = 1 / (C * n);
  const dk = d * k;
  const n4 = n - (n % 4);

  /** Softmax loss of row `i` whose logits are z[r * k ..]; leaves the residuals there. */
  const rowLoss = (r: number, yi: number): number => {
    const o = r * k;
    let max = z[o];
    for (let q = 1; q < k; q++) if (z[o + q] > max) max = z[o + q];
    let sum = 0;
    for (let q = 0; q < k; q++) {
      const e = Math.exp(z[o + q] - max);
      z[o + q] = e;
      sum += e;
    }
    // loss = log(sum_q exp z_q) - z_y, computed with the shift: log(sum) - log(e_y).
    const loss = Math.log(sum) - Math.log(z[o + yi]);
    const inv = 1 / sum;
    for (let q = 0; q < k; q++) {
      const res = z[o + q] * inv - (q === yi ? 1 : 0);
      z[o + q] = res;
      R[q] += res;
    }
    return loss;
  };

  return (theta: Float64Array, grad: Float64Array): number => {
    for (let q = 0; q < k; q++) c[q] = theta[dk + q];
    for (let j = 0; j < d; j++) {
      for (let q = 0; q < k; q++) {
        const v = theta[j * k + q] / scale[j];
        V[q * d + j] = v;
        c[q] -= mean[j] * v;
      }
    }
    G.fill(0);
    R.fill(0);
    let loss = 0;
    let i = 0;
    let off = 0;
    for (; i < n4; i += 4, off += 4 * d) {
      const o1 = off + d;
      const o2 = o1 + d;
      const o3 = o2 + d;
      for (let q = 0; q < k; q++) {
        const vo = q * d;
        let s0 = c[q];
        let s1 = s0;
        let s2 = s0;
        let s3 = s0;
        for (let j = 0; j < d; j++) {
          const w = V[vo + j];
          s0 += x[off + j] * w;
          s1 += x[o1 + j] * w;
          s2 += x[o2 + j] * w;
          s3 += x[o3 + j] * w;
        }
        z[q] = s0;
        z[k + q] = s1;
        z[2 * k + q] = s2;
        z[3 * k + q] = s3;
      }
      loss += rowLoss(0, index[i]) + rowLoss(1, index[i + 1]) + rowLoss(2, index[i + 2]) + rowLoss(3, index[i + 3]);
      for (let q = 0; q < k; q++) {
        const r0 = z[q];
        const r1 = z[k + q];
        const r2 = z[2 * k + q];
        const r3 = z[3 * k + q];
        const go = q * d;
        for (let j = 0; j < d; j++) G[go + j] += (r0 * x[off + j] + r1 * x[o1 + j]) + (r2 * x[o2 + j] + r3 * x[o3 + j]);
      }
    }
    for (; i < n; i++, off += d) {
      for (let q = 0; q < k; q++) {
        const vo = q * d;
        let s = c[q];
        for (let j = 0; j < d; j++) s += x[off + j] * V[vo + j];
        z[q] = s;
      }
      loss += rowLoss(0, index[i]);
      for (let q = 0; q < k; q++) {
        const r = z[q];
        const go = q * d;
        for (let j = 0; j < d; j++) G[go + j] += r * x[off + j];
      }
    }
    let ww = 0;
    for (let j = 0; j < d; j++) {
      for (let q = 0; q < k; q++) {
        const w = theta[j * k + q];
        ww += w * w;
        grad[j * k + q] = (G[q * d + j] - mean[j] * R[q]) / scale[j] / n + w * penalty;
      }
    }
    for (let q = 0; q < k; q++) grad[dk + q] = R[q] / n;
    return loss / n + 0.5 * penalty * ww;
  };
}

/** The `logistic-regression` trainer. */
export const logisticRegression: BuiltInTrainer = {
  name: 'logistic-regression',
  task: 'classification',
  defaults: defaultsOf(SPECS),
  paramSpecs: SPECS,
  fit(data: Matrix, y: Float64Array, params: Params, options: FitOptions): DenseModel {
    const p = resolveParams('logistic-regression', SPECS, params);
    checkMatrix(data);
    const { classes, index } = encodeClasses(y, data.n);
    const scaling = p.standardize ? columnScaling(data) : (checkFinite(data), noScaling(data.d));
    const { d } = data;
    const k = classes.length;
    const q = k === 2 ? 1 : k;
    let objective;
    if (k === 2) {
      const y01 = new Float64Array(data.n);
      for (let i = 0; i < data.n; i++) y01[i] = index[i];
      objective = binaryObjective(data, y01, scaling, p.C);
    } else {
      objective = multinomialObjective(data, index, k, scaling, p.C);
    }
    const result = minimizeLbfgs(objective, new Float64Array(d * q + q), {
      maxIterations: p.max_iter,
      gtol: p.tol,
      ftol: Math.min(2.220446049250313e-9, p.tol * p.tol),
      onIteration: (it, f, gmax) => options.onProgress?.(
        Math.min(1, it / p.max_iter),
        `logistic-regression: iteration ${it}, loss ${f.toPrecision(8)}, max gradient ${gmax.toExponential(2)}`,
      ),
    });
    options.onProgress?.(1, `logistic-regression: ${result.reason} after ${result.iterations} iterations`);
    const folded = foldStandardisation(result.x.subarray(0, d * q), result.x.subarray(d * q), d, q, scaling.mean, scaling.scale);
    const layer = { inputs: d, outputs: q, weights: folded.weights, bias: folded.bias, relu: false };
    return new DenseModel('logistic-regression', [layer], k === 2 ? 'sigmoid' : 'softmax', { ...p }, classes, {
      iterations: result.iterations,
      evaluations: result.evaluations,
      converged: result.converged,
      stop_reason: result.reason,
      objective: result.f,
      gradient_max: result.gradientMax,
    });
  },
};
