/**
 * A small multi-layer perceptron for tabular data: one or two hidden ReLU layers, trained
 * with Adam on mini-batches, L2 penalty, early stopping on a held-out fraction of the
 * training rows (stratified for classification), seeded initialisation and shuffling.
 *
 * - `mlp-classifier`: softmax output over the classes, cross-entropy loss.
 * - `mlp-regressor`: one linear output, squared loss on the standardised target (the target's
 *   mean and standard deviation are folded back into the exported output layer).
 *
 * Conventions follow scikit-learn's MLPClassifier/MLPRegressor (`solver='adam'`): Glorot
 * uniform initialisation (bound sqrt(6 / (fan_in + fan_out)), biases too), the penalty
 * `alpha/2 ||W||^2` divided by the batch size, Adam with beta1 0.9, beta2 0.999, eps 1e-8.
 * Early stopping differs: it watches the validation *loss* (not accuracy/R2) and restores the
 * weights of the best epoch. With `standardize` (the default) the inputs are standardised
 * (folded into the exported first layer).
 */
import { checkFinite, checkMatrix, checkTarget, columnScaling, encodeClasses, noScaling } from './data';
import { DenseModel, foldStandardisation, type BuiltInTrainer, type DenseLayer } from './dense';
import { defaultsOf, resolveParams, type ParamSpecs, type ResolvedParams } from './params';
import { SeededRandom } from './random';
import type { FitOptions, Matrix, Params } from './types';
import { InputError } from '../../errors';

const SPECS = {
  hidden_units: { type: 'integer', default: 64, min: 1, max: 4096, doc: 'units in each hidden layer' },
  hidden_layers: { type: 'integer', default: 1, min: 1, max: 2, doc: 'number of hidden ReLU layers' },
  learning_rate: { type: 'number', default: 1e-3, min: 0, exclusiveMin: true, max: 1, doc: 'Adam step size' },
  alpha: { type: 'number', default: 1e-4, min: 0, doc: 'L2 penalty on the weights' },
  batch_size: { type: 'integer', default: 200, min: 1, max: 1_000_000, doc: 'rows per mini-batch (capped at the training rows)' },
  max_epochs: { type: 'integer', default: 200, min: 1, max: 100_000, doc: 'most passes over the training rows' },
  early_stopping: { type: 'boolean', default: true, doc: 'hold out validation_fraction of the rows and stop when their loss stops improving' },
  validation_fraction: { type: 'number', default: 0.1, min: 0, exclusiveMin: true, max: 0.5, doc: 'fraction of the training rows held out for early stopping' },
  patience: { type: 'integer', default: 10, min: 1, max: 10_000, doc: 'epochs without an improvement of at least tol before stopping' },
  tol: { type: 'number', default: 1e-4, min: 0, doc: 'smallest loss decrease that counts as an improvement' },
  standardize: { type: 'boolean', default: true, doc: 'standardise the features before fitting (folded into the exported model)' },
} as const satisfies ParamSpecs;

type MlpParams = ResolvedParams<typeof SPECS>;

/** Weights of one layer during training (on standardised inputs). */
interface Layer {
  readonly inputs: number;
  readonly outputs: number;
  readonly w: Float64Array;
  readonly b: Float64Array;
}

/** Splits row indices into training and validation parts (stratified by `strata` when given). */
function holdOut(n: number, fraction: number, rng: SeededRandom, strata?: Int32Array): { train: Int32Array; valid: Int32Array } {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = strata ? strata[i] : 0;
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(i);
  }
  const train: number[] = [];
  const valid: number[] = [];
  for (const g of [...groups.keys()].sort((a, b) => a - b)) {
    const list = groups.get(g)!;
    rng.shuffle(list);
    // Keep at least one training row per group; hold out at least one row overall.
    const take = Math.min(list.length - 1, Math.round(list.length * fraction));
    valid.push(...list.slice(0, take));
    train.push(...list.slice(take));
  }
  if (valid.length === 0 && train.length > 1) valid.push(train.pop()!);
  return { train: Int32Array.from(train), valid: Int32Array.from(valid) };
}

class Network {
  readonly layers: Layer[];
  private readonly acts: Float64Array[];
  private readonly grads: Float64Array[];
  private readonly gw: Float64Array[];
  private readonly gb: Float64Array[];
  private readonly mw: Float64Array[];
  private readonly vw: Float64Array[];
  private readonly mb: Float64Array[];
  private readonly vb: Float64Array[];
  private step = 0;

  constructor(sizes: readonly number[], rng: SeededRandom, private readonly maxBatch: number) {
    this.layers = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const inputs = sizes[l];
      const outputs = sizes[l + 1];
      const bound = Math.sqrt(6 / (inputs + outputs));
      const w = new Float64Array(inputs * outputs);
      const b = new Float64Array(outputs);
      for (let i = 0; i < w.length; i++) w[i] = (rng.next() * 2 - 1) * bound;
      for (let i = 0; i < b.length; i++) b[i] = (rng.next() * 2 - 1) * bound;
      this.layers.push({ inputs, outputs, w, b });
    }
    this.acts = sizes.map((s) => new Float64Array(maxBatch * s));
    this.grads = sizes.map((s) => new Float64Array(maxBatch * s));
    this.gw = this.layers.map((l) => new Float64Array(l.w.length));
    this.gb = this.layers.map((l) => new Float64Array(l.b.length));
    this.mw = this.layers.map((l) => new Float64Array(l.w.length));
    this.vw = this.layers.map((l) => new Float64Array(l.w.length));
    this.mb = this.layers.map((l) => new Float64Array(l.b.length));
    this.vb = this.layers.map((l) => new Float64Array(l.b.length));
  }

  /** Loads rows `rows[from..to)` of `x` into the input activations; returns the batch size. */
  load(x: Float64Array, d: number, rows: Int32Array, from: number, to: number): number {
    const a = this.acts[0];
    for (let r = from; r < to; r++) a.set(x.subarray(rows[r] * d, rows[r] * d + d), (r - from) * d);
    return to - from;
  }

  /** Forward pass over the loaded batch; returns the output activations (logits / values). */
  forward(batch: number): Float64Array {
    const last = this.layers.length - 1;
    this.layers.forEach((layer, l) => {
      const { inputs, outputs, w, b } = layer;
      const input = this.acts[l];
      const out = this.acts[l + 1];
      for (let i = 0; i < batch; i++) {
        const oo = i * outputs;
        out.set(b, oo);
        const io = i * inputs;
        let a = 0;
        // Four inputs at a time: one read-modify-write of each output per four products.
        for (; a + 3 < inputs; a += 4) {
          const v0 = input[io + a];
          const v1 = input[io + a + 1];
          const v2 = input[io + a + 2];
          const v3 = input[io + a + 3];
          if (v0 === 0 && v1 === 0 && v2 === 0 && v3 === 0) continue;
          const w0 = a * outputs;
          const w1 = w0 + outputs;
          const w2 = w1 + outputs;
          const w3 = w2 + outputs;
          for (let o = 0; o < outputs; o++) out[oo + o] += (v0 * w[w0 + o] + v1 * w[w1 + o]) + (v2 * w[w2 + o] + v3 * w[w3 + o]);
        }
        for (; a < inputs; a++) {
          const v = input[io + a];
          if (v === 0) continue;
          const wo = a * outputs;
          for (let o = 0; o < outputs; o++) out[oo + o] += v * w[wo + o];
        }
        if (l < last) for (let o = 0; o < outputs; o++) if (out[oo + o] < 0) out[oo + o] = 0;
      }
    });
    return this.acts[this.layers.length];
  }

  /** The gradient buffer of the output layer (filled by the caller with dLoss/dOutput). */
  outputGradient(): Float64Array {
    return this.grads[this.layers.length];
  }

  /** Back-propagates the output gradient and takes one Adam step. */
  backwardAndUpdate(batch: number, p: MlpParams): void {
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const { inputs, outputs, w } = this.layers[l];
      const input = this.acts[l];
      const delta = this.grads[l + 1];
      const gw = this.gw[l];
      const gb = this.gb[l];
      gw.fill(0);
      gb.fill(0);
      for (let r = 0; r < batch; r++) {
        const oo = r * outputs;
        for (let o = 0; o < outputs; o++) gb[o] += delta[oo + o];
      }
      let i = 0;
      // Four rows at a time: one read-modify-write of each weight gradient per four products.
      for (; i + 3 < batch; i += 4) {
        const i0 = i * inputs;
        const i1 = i0 + inputs;
        const i2 = i1 + inputs;
        const i3 = i2 + inputs;
        const d0 = i * outputs;
        const d1 = d0 + outputs;
        const d2 = d1 + outputs;
        const d3 = d2 + outputs;
        for (let a = 0; a < inputs; a++) {
          const v0 = input[i0 + a];
          const v1 = input[i1 + a];
          const v2 = input[i2 + a];
          const v3 = input[i3 + a];
          if (v0 === 0 && v1 === 0 && v2 === 0 && v3 === 0) continue;
          const wo = a * outputs;
          for (let o = 0; o < outputs; o++) gw[wo + o] += (v0 * delta[d0 + o] + v1 * delta[d1 + o]) + (v2 * delta[d2 + o] + v3 * delta[d3 + o]);
        }
      }
      for (; i < batch; i++) {
        const io = i * inputs;
        const oo = i * outputs;
        for (let a = 0; a < inputs; a++) {
          const v = input[io + a];
          if (v === 0) continue;
          const wo = a * outputs;
          for (let o = 0; o < outputs; o++) gw[wo + o] += v * delta[oo + o];
        }
      }
      if (l > 0) {
        // delta of the previous layer: (delta W^T) masked by the ReLU (zero activations).
        const prev = this.grads[l];
        for (let r = 0; r < batch; r++) {
          const io = r * inputs;
          const oo = r * outputs;
          for (let a = 0; a < inputs; a++) {
            if (input[io + a] === 0) {
              prev[io + a] = 0;
              continue;
            }
            const wo = a * outputs;
            let s = 0;
            for (let o = 0; o < outputs; o++) s += delta[oo + o] * w[wo + o];
            prev[io + a] = s;
          }
        }
      }
      const scale = 1 / batch;
      for (let k = 0; k < gw.length; k++) gw[k] = gw[k] * scale + (p.alpha * w[k]) / batch;
      for (let k = 0; k < gb.length; k++) gb[k] *= scale;
    }
    this.step++;
    const beta1 = 0.9;
    const beta2 = 0.999;
    const lr = (p.learning_rate * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    this.layers.forEach((layer, l) => {
      adam(layer.w, this.gw[l], this.mw[l], this.vw[l], lr, beta1, beta2);
      adam(layer.b, this.gb[l], this.mb[l], this.vb[l], lr, beta1, beta2);
    });
  }

  snapshot(): Layer[] {
    return this.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, w: Float64Array.from(l.w), b: Float64Array.from(l.b) }));
  }

  get batchCapacity(): number {
    return this.maxBatch;
  }
}

function adam(param: Float64Array, grad: Float64Array, m: Float64Array, v: Float64Array, lr: number, beta1: number, beta2: number): void {
  for (let k = 0; k < param.length; k++) {
    const g = grad[k];
    m[k] = beta1 * m[k] + (1 - beta1) * g;
    v[k] = beta2 * v[k] + (1 - beta2) * g * g;
    param[k] -= (lr * m[k]) / (Math.sqrt(v[k]) + 1e-8);
  }
}

/** Cross-entropy of softmax(logits) (in place: logits become dLoss/dlogits). Returns the summed loss. */
function softmaxLoss(out: Float64Array, grad: Float64Array | undefined, target: Int32Array, rows: Int32Array, from: number, batch: number, k: number): number {
  let loss = 0;
  for (let i = 0; i < batch; i++) {
    const o = i * k;
    let max = out[o];
    for (let c = 1; c < k; c++) if (out[o + c] > max) max = out[o + c];
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(out[o + c] - max);
    const y = target[rows[from + i]];
    loss += Math.log(sum) + max - out[o + y];
    if (grad) {
      for (let c = 0; c < k; c++) grad[o + c] = Math.exp(out[o + c] - max) / sum - (c === y ? 1 : 0);
    }
  }
  return loss;
}

/** Half squared error (in place gradient). Returns the summed loss. */
function squaredLoss(out: Float64Array, grad: Float64Array | undefined, target: Float64Array, rows: Int32Array, from: number, batch: number): number {
  let loss = 0;
  for (let i = 0; i < batch; i++) {
    const r = out[i] - target[rows[from + i]];
    loss += 0.5 * r * r;
    if (grad) grad[i] = r;
  }
  return loss;
}

function fitMlp(name: string, task: 'classification' | 'regression', data: Matrix, y: Float64Array, params: Params, options: FitOptions): DenseModel {
  const p = resolveParams(name, SPECS, params);
  checkMatrix(data);
  const { n, d } = data;
  let classes: number[] | undefined;
  let classIndex: Int32Array | undefined;
  let target: Float64Array | undefined;
  let yMean = 0;
  let yScale = 1;
  if (task === 'classification') {
    ({ classes, index: classIndex } = encodeClasses(y, n));
  } else {
    checkTarget(y, n);
    for (let i = 0; i < n; i++) yMean += y[i];
    yMean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (y[i] - yMean) ** 2;
    yScale = Math.sqrt(v / n) || 1;
    target = new Float64Array(n);
    for (let i = 0; i < n; i++) target[i] = (y[i] - yMean) / yScale;
  }
  const { mean, scale } = p.standardize ? columnScaling(data) : (checkFinite(data), noScaling(d));
  const xs = new Float64Array(n * d);
  for (let i = 0, off = 0; i < n; i++, off += d) {
    for (let j = 0; j < d; j++) xs[off + j] = (data.x[off + j] - mean[j]) / scale[j];
  }
  const k = task === 'classification' ? classes!.length : 1;
  const rng = new SeededRandom(options.seed);
  const split = p.early_stopping && n >= 2
    ? holdOut(n, p.validation_fraction, rng, classIndex)
    : { train: Int32Array.from({ length: n }, (_, i) => i), valid: new Int32Array(0) };
  const nTrain = split.train.length;
  const batchSize = Math.min(p.batch_size, nTrain);
  const sizes = [d, ...Array.from({ length: p.hidden_layers }, () => p.hidden_units), k];
  const net = new Network(sizes, rng, Math.max(batchSize, Math.min(split.valid.length, 4096)));

  const lossOf = (rows: Int32Array, from: number, batch: number, grad?: Float64Array): number => {
    const out = net.forward(batch);
    return task === 'classification'
      ? softmaxLoss(out, grad, classIndex!, rows, from, batch, k)
      : squaredLoss(out, grad, target!, rows, from, batch);
  };
  const validationLoss = (): number => {
    let total = 0;
    const cap = net.batchCapacity;
    for (let from = 0; from < split.valid.length; from += cap) {
      const batch = net.load(xs, d, split.valid, from, Math.min(split.valid.length, from + cap));
      total += lossOf(split.valid, from, batch);
    }
    return total / split.valid.length;
  };

  const watchValidation = split.valid.length > 0;
  let best = Infinity;
  let bestEpoch = 0;
  let bestLayers: Layer[] | undefined;
  let stale = 0;
  let epoch = 0;
  let reason = `stopped after max_epochs (${p.max_epochs})`;
  const order = Int32Array.from(split.train);
  while (epoch < p.max_epochs) {
    rng.shuffle(order);
    let trainLoss = 0;
    for (let from = 0; from < nTrain; from += batchSize) {
      const batch = net.load(xs, d, order, from, Math.min(nTrain, from + batchSize));
      trainLoss += lossOf(order, from, batch, net.outputGradient());
      net.backwardAndUpdate(batch, p);
    }
    trainLoss /= nTrain;
    epoch++;
    const score = watchValidation ? validationLoss() : trainLoss;
    if (!Number.isFinite(score)) {
      reason = `diverged at epoch ${epoch} (loss ${score}); lower learning_rate`;
      break;
    }
    options.onProgress?.(
      epoch / p.max_epochs,
      `${name}: epoch ${epoch}, training loss ${trainLoss.toPrecision(6)}${watchValidation ? `, validation loss ${score.toPrecision(6)}` : ''}`,
    );
    if (score < best - p.tol) {
      best = score;
      bestEpoch = epoch;
      stale = 0;
      if (watchValidation) bestLayers = net.snapshot();
    } else if (score < best) {
      best = score;
      bestEpoch = epoch;
      stale++;
      if (watchValidation) bestLayers = net.snapshot();
    } else {
      stale++;
    }
    if (stale >= p.patience) {
      reason = `${watchValidation ? 'validation' : 'training'} loss did not improve by tol for ${p.patience} epochs`;
      break;
    }
  }
  options.onProgress?.(1, `${name}: ${reason}; best epoch ${bestEpoch}`);
  const trained = bestLayers ?? net.snapshot();
  if (!bestLayers && trained.some((l) => l.w.some((v) => !Number.isFinite(v)) || l.b.some((v) => !Number.isFinite(v)))) {
    throw new InputError(
      'params.learning_rate',
      `trainer "${name}" diverged with learning_rate = ${p.learning_rate} (non-finite weights after epoch ${epoch}); expected a smaller learning_rate${p.standardize ? '' : ', or standardize: true for features on large scales'}`,
    );
  }
  const layers: DenseLayer[] = trained.map((l, i) => {
    const relu = i < trained.length - 1;
    if (i === 0) {
      const f = foldStandardisation(l.w, l.b, l.inputs, l.outputs, mean, scale);
      return { inputs: l.inputs, outputs: l.outputs, weights: f.weights, bias: f.bias, relu };
    }
    return { inputs: l.inputs, outputs: l.outputs, weights: Float64Array.from(l.w), bias: Float64Array.from(l.b), relu };
  });
  if (task === 'regression') {
    const last = layers[layers.length - 1];
    const weights = last.weights.map((v) => v * yScale);
    const bias = last.bias.map((v) => v * yScale + yMean);
    layers[layers.length - 1] = { ...last, weights, bias };
  }
  return new DenseModel(name, layers, task === 'classification' ? 'softmax' : 'identity', { ...p }, classes, {
    epochs: epoch,
    best_epoch: bestEpoch,
    [watchValidation ? 'best_validation_loss' : 'best_training_loss']: best,
    validation_rows: split.valid.length,
    stop_reason: reason,
  });
}

/** The `mlp-classifier` trainer. */
export const mlpClassifier: BuiltInTrainer = {
  name: 'mlp-classifier',
  task: 'classification',
  defaults: defaultsOf(SPECS),
  paramSpecs: SPECS,
  fit: (data, y, params, options) => fitMlp('mlp-classifier', 'classification', data, y, params, options),
};

/** The `mlp-regressor` trainer. */
export const mlpRegressor: BuiltInTrainer = {
  name: 'mlp-regressor',
  task: 'regression',
  defaults: defaultsOf(SPECS),
  paramSpecs: SPECS,
  fit: (data, y, params, options) => fitMlp('mlp-regressor', 'regression', data, y, params, options),
};
