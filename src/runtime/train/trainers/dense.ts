/**
 * A fitted feed-forward model in its exported form, shared by every built-in trainer: a chain
 * of dense layers (the input standardisation already folded into the first one) and a head
 * (sigmoid, softmax or identity). `predict` and the ONNX graph are both derived from these
 * numbers, so they cannot drift apart.
 *
 * Arithmetic (the same on both sides): the FP32 `input` is cast to float64, every layer
 * computes `h W + b` in float64, and the float64 outputs are rounded to float32 once, at the
 * end (`probabilities`, `variable`). `label` is the arg-max of the float64 probabilities (the
 * first one on a tie). `predict` rounds its float64 inputs to float32 first, as the FP32 input
 * tensor does, so it returns what the served model returns for the same row; the two differ
 * only by float64 summation order inside the matrix products (around 1e-16 relative before the
 * final rounding).
 */
import { InputError } from '../../errors';
import { OnnxGraphBuilder, TensorDataType } from '../onnx';
import type { ParamSpecs } from './params';
import {
  ONNX_INPUT, ONNX_LABEL, ONNX_PROBABILITIES, ONNX_VARIABLE,
  type FitOptions, type FittedModel, type Matrix, type Params, type Prediction, type Trainer,
} from './types';

/** One dense layer: `out = in W + b`, optionally followed by ReLU. */
export interface DenseLayer {
  readonly inputs: number;
  readonly outputs: number;
  /** Row-major `inputs x outputs`. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly relu: boolean;
}

/**
 * How the last layer's outputs become predictions: `sigmoid` (one logit, two classes:
 * probabilities `[1 - p, p]`), `softmax` (one logit per class) or `identity` (regression, one
 * output).
 */
export type DenseHead = 'sigmoid' | 'softmax' | 'identity';

/** Extra facts a trainer reports about a fit (iterations, convergence...). */
export type FitDiagnostics = Readonly<Record<string, number | boolean | string>>;

/** Version of this package, recorded as the ONNX producer version. */
export function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../../package.json') as { version: string }).version;
}

/** A {@link FittedModel} whose prediction is a {@link DenseLayer} chain and a head. */
export class DenseModel implements FittedModel {
  public readonly task: 'classification' | 'regression';
  /** Number of input features. */
  public readonly features: number;

  constructor(
    /** Name of the trainer that made it (recorded in the ONNX metadata). */
    public readonly trainer: string,
    public readonly layers: readonly DenseLayer[],
    public readonly head: DenseHead,
    public readonly params: Params,
    public readonly classes: readonly number[] | undefined,
    /** What the optimiser reported. */
    public readonly diagnostics: FitDiagnostics = {},
  ) {
    if (layers.length === 0) throw new Error('DenseModel needs at least one layer');
    for (let l = 1; l < layers.length; l++) {
      if (layers[l].inputs !== layers[l - 1].outputs) throw new Error(`DenseModel layer ${l} does not fit layer ${l - 1}`);
    }
    const last = layers[layers.length - 1];
    this.task = head === 'identity' ? 'regression' : 'classification';
    if (head === 'identity' && last.outputs !== 1) throw new Error('identity head needs one output');
    if (head === 'sigmoid' && (last.outputs !== 1 || classes?.length !== 2)) throw new Error('sigmoid head needs one output and two classes');
    if (head === 'softmax' && last.outputs !== classes?.length) throw new Error('softmax head needs one output per class');
    this.features = layers[0].inputs;
  }

  /** Predicts `data` (see the module comment for the arithmetic). */
  public predict(data: Matrix): Prediction {
    const { x, n, d } = data;
    if (d !== this.features) {
      throw new InputError('data', `has ${d} feature columns; this model was trained on ${this.features}`);
    }
    if (x.length !== n * d) throw new InputError('data', `expected n * d = ${n * d} values, got ${x.length}`);
    const width = Math.max(d, ...this.layers.map((l) => l.outputs));
    let cur = new Float64Array(width);
    let nxt = new Float64Array(width);
    const k = this.classes?.length ?? 0;
    const labels = this.task === 'classification' ? new Float64Array(n) : undefined;
    const probabilities = this.task === 'classification' ? new Float64Array(n * k) : undefined;
    const values = this.task === 'regression' ? new Float64Array(n) : undefined;
    const classes = this.classes ?? [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) cur[j] = Math.fround(x[i * d + j]);
      for (const layer of this.layers) {
        const { inputs, outputs, weights, bias, relu } = layer;
        nxt.fill(0, 0, outputs);
        for (let a = 0; a < inputs; a++) {
          const v = cur[a];
          const row = a * outputs;
          for (let o = 0; o < outputs; o++) nxt[o] += v * weights[row + o];
        }
        for (let o = 0; o < outputs; o++) {
          const t = nxt[o] + bias[o];
          nxt[o] = relu && t < 0 ? 0 : t;
        }
        const swap = cur;
        cur = nxt;
        nxt = swap;
      }
      if (this.head === 'identity') {
        values![i] = Math.fround(cur[0]);
        continue;
      }
      let best = 0;
      if (this.head === 'sigmoid') {
        const z = cur[0];
        const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        const q = 1 - p;
        probabilities![2 * i] = Math.fround(q);
        probabilities![2 * i + 1] = Math.fround(p);
        best = p > q ? 1 : 0;
      } else {
        let max = -Infinity;
        for (let c = 0; c < k; c++) if (cur[c] > max) max = cur[c];
        let sum = 0;
        for (let c = 0; c < k; c++) {
          const e = Math.exp(cur[c] - max);
          nxt[c] = e;
          sum += e;
        }
        let bestP = -1;
        for (let c = 0; c < k; c++) {
          const p = nxt[c] / sum;
          probabilities![i * k + c] = Math.fround(p);
          if (p > bestP) {
            bestP = p;
            best = c;
          }
        }
      }
      labels![i] = classes[best];
    }
    return { labels, probabilities, values };
  }

  /**
   * The ONNX graph: `input` FP32 [N, d] -> Cast(DOUBLE) -> (MatMul, Add[, Relu])* -> head.
   * Classification returns `label` INT64 [N] (a Gather of the class labels at the ArgMax of
   * the float64 probabilities) and `probabilities` FP32 [N, k]; regression `variable`
   * FP32 [N, 1]. IR version and opset: see `../onnx`.
   */
  public toOnnx(meta: { readonly modelName: string; readonly featureNames: readonly string[] }): Uint8Array {
    if (meta.featureNames.length !== this.features) {
      throw new InputError(
        'featureNames',
        `has ${meta.featureNames.length} names; this model takes ${this.features} features`,
      );
    }
    const g = new OnnxGraphBuilder(meta.modelName);
    g.input(ONNX_INPUT, TensorDataType.FLOAT, ['N', this.features]);
    let [h] = g.node('Cast', [ONNX_INPUT], { attributes: { to: { int: TensorDataType.DOUBLE } } });
    this.layers.forEach((layer, l) => {
      const w = g.initializer(`layer${l}_weights`, [layer.inputs, layer.outputs], { type: TensorDataType.DOUBLE, values: layer.weights });
      const b = g.initializer(`layer${l}_bias`, [layer.outputs], { type: TensorDataType.DOUBLE, values: layer.bias });
      [h] = g.node('MatMul', [h, w]);
      [h] = g.node('Add', [h, b]);
      if (layer.relu) [h] = g.node('Relu', [h]);
    });
    if (this.head === 'identity') {
      g.node('Cast', [h], { outputs: [ONNX_VARIABLE], attributes: { to: { int: TensorDataType.FLOAT } } });
      g.output(ONNX_VARIABLE, TensorDataType.FLOAT, ['N', 1]);
    } else {
      let probabilities: string;
      if (this.head === 'sigmoid') {
        const [p] = g.node('Sigmoid', [h]);
        const one = g.initializer('one', [], { type: TensorDataType.DOUBLE, values: [1] });
        const [q] = g.node('Sub', [one, p]);
        [probabilities] = g.node('Concat', [q, p], { attributes: { axis: { int: 1 } } });
      } else {
        [probabilities] = g.node('Softmax', [h], { attributes: { axis: { int: 1 } } });
      }
      const [index] = g.node('ArgMax', [probabilities], { attributes: { axis: { int: 1 }, keepdims: { int: 0 }, select_last_index: { int: 0 } } });
      const classes = g.initializer('classes', [this.classes!.length], { type: TensorDataType.INT64, values: this.classes! });
      g.node('Gather', [classes, index], { outputs: [ONNX_LABEL], attributes: { axis: { int: 0 } } });
      g.node('Cast', [probabilities], { outputs: [ONNX_PROBABILITIES], attributes: { to: { int: TensorDataType.FLOAT } } });
      g.output(ONNX_LABEL, TensorDataType.INT64, ['N']);
      g.output(ONNX_PROBABILITIES, TensorDataType.FLOAT, ['N', this.classes!.length]);
    }
    const metadata: Record<string, string> = {
      'cdk_mlops.trainer': this.trainer,
      'cdk_mlops.task': this.task,
      'cdk_mlops.feature_names': JSON.stringify(meta.featureNames),
      'cdk_mlops.params': JSON.stringify(this.params),
    };
    if (this.classes) metadata['cdk_mlops.classes'] = JSON.stringify(this.classes);
    return g.toBytes({
      producerVersion: packageVersion(),
      docString: `${this.trainer} (${this.task}) over ${this.features} features, exported by cdk-mlops`,
      metadata,
    });
  }
}

/**
 * Folds a standardisation `(x - mean) / scale` into a first layer whose weights act on
 * standardised inputs: `W'[j] = W[j] / scale[j]`, `b' = b - sum_j mean[j] W'[j]`.
 */
export function foldStandardisation(
  weights: Float64Array, bias: Float64Array, inputs: number, outputs: number,
  mean: Float64Array, scale: Float64Array,
): { weights: Float64Array; bias: Float64Array } {
  const w = new Float64Array(inputs * outputs);
  const b = Float64Array.from(bias);
  for (let j = 0; j < inputs; j++) {
    for (let o = 0; o < outputs; o++) {
      const v = weights[j * outputs + o] / scale[j];
      w[j * outputs + o] = v;
      b[o] -= mean[j] * v;
    }
  }
  return { weights: w, bias: b };
}

/** A built-in trainer: its models are {@link DenseModel}s (with diagnostics and layers). */
export interface BuiltInTrainer extends Trainer {
  /** Types, ranges and meaning of the hyperparameters (`defaults` holds their defaults). */
  readonly paramSpecs: ParamSpecs;
  fit(data: Matrix, y: Float64Array, params: Params, options: FitOptions): DenseModel;
}
